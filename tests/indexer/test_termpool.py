"""The pool of a new segment's postings: grouped by field and term, in docnum order."""
from __future__ import annotations

from indexer.termpool import TermPool, unpool


def test_pool_groups_postings_by_field_and_term() -> None:
    pool = TermPool()
    pool.add(("body", b"xa", 0, 2.0, b"v1"))
    pool.add(("body", b"an", 0, 1.0, None))
    pool.add(("body", b"xa", 3, 1.0, b"v2"))
    pool.add(("title", b"xa", 3, 1.0, b""))
    assert list(pool.terms("body")) == [(b"an", ([0], [1.0], [b""])),
                                       (b"xa", ([0, 3], [2.0, 1.0], [b"v1", b"v2"]))]
    assert list(pool.terms("title")) == [(b"xa", ([3], [1.0], [b""]))]
    assert list(pool.terms("nope")) == []
    pool.cleanup()
    assert pool.fields == {}


def test_add_field_keeps_a_documents_postings_and_returns_its_length() -> None:
    pool = TermPool()
    first = [(b"to", 2, 2.0, b"p2"), (b"an", 1, 1.0, b"p1")]
    assert pool.add_field("body", 0, first) == 3
    assert pool.add_field("body", 1, iter([(b"to", 4, 4.0, b"p4")])) == 4  # any iterable
    assert pool.add_field("body", 2, []) == 0
    pooled = dict(pool.pooled("body"))
    assert list(pooled) == [b"an", b"to"]  # term byte order
    assert pooled[b"to"] == [0, first[0], 1, (b"to", 4, 4.0, b"p4")]  # docnum, posting, ...
    assert unpool(pooled[b"to"]) == ([0, 1], [2.0, 4.0], [b"p2", b"p4"])


def test_terms_are_in_byte_order_not_text_order() -> None:
    pool = TermPool()
    terms = ["z", "á", "a", "ă", "b"]
    pool.add_field("f", 0, [(t.encode(), 1, 1.0, None) for t in terms])
    assert [t for t, _ in pool.terms("f")] == sorted(t.encode() for t in terms)
