"""Schema values: the indexer's fast term encoding equals Whoosh's encoding of `analyze`."""
from __future__ import annotations

from collections import defaultdict
from itertools import islice
from pathlib import Path

import pytest
from whoosh import formats
from whoosh.system import pack_uint

from indexer.analysis import Token, analyze, index_terms
from indexer.record import Article
from indexer.schema import STREAMS, Postings, encode_syllables_and_folded, encode_terms, indexed_text

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
DANTRI = SHARED / "unc-dantri-news"

TEXTS = [
    "",
    "Chỉ thị số 03-CT/TW ngày 30/12/2014 của Ban Bí thư về học tập",
    "Huyện ủy An Phú: 1.250.000 đồng, 541.000 bài; TP.HCM và Hà Nội",
    "hoà hòa thuỷ thủy ủy uỷ Ủy ban học tập học tập học tập",
    "Luật số 52/2014/QH13 " * 300,  # one term in hundreds of positions
]


def _reference(tokens: list[Token], positions: bool) -> Postings:
    """What the indexer encoded before `encode_terms`: Token objects through Whoosh's formats."""
    poses: dict[str, list[int]] = defaultdict(list)
    for t in tokens:
        poses[t.text].append(t.pos)
    out = Postings()
    encode = formats.Positions().encode
    for term, plist in poses.items():
        value = encode(plist) if positions else pack_uint(len(plist))
        out.append((term.encode("utf-8"), len(plist), float(len(plist)), value))
    return out


def _check(text: str) -> None:
    analysis, terms = analyze(text), index_terms(text)
    for stream, (_, positions) in STREAMS.items():
        assert encode_terms(getattr(terms, stream), positions) == _reference(getattr(analysis, stream), positions), stream
    # prepare's way for the two positional streams: the same postings, in the same order
    assert encode_syllables_and_folded(terms.syllables, terms.folded) == (
        encode_terms(terms.syllables, True), encode_terms(terms.folded, True))


@pytest.mark.parametrize("text", TEXTS)
def test_encode_terms_equals_whoosh_formats_on_analyze(text: str) -> None:
    _check(text)


@pytest.mark.skipif(not any(DANTRI.glob("corpus.jsonl*")), reason="shared data absent")
def test_encode_terms_equals_whoosh_formats_on_news() -> None:
    from indexer.sources.jsonl import read_jsonl

    path = next(DANTRI.glob("corpus.jsonl*"))
    articles = [a for a in islice(read_jsonl(path), 30) if isinstance(a, Article)]
    assert len(articles) == 30
    for article in articles:
        _check(indexed_text(article))


def test_counts_above_one_byte() -> None:
    postings = encode_terms(["a"] * 300 + ["b"], positions=False)
    assert postings == [(b"a", 300, 300.0, pack_uint(300)), (b"b", 1, 1.0, pack_uint(1))]


def test_positions_far_into_a_long_text() -> None:
    # a term met once keeps a cached value below 65,536 positions, is encoded beyond
    terms = ["x"] * 70_000 + ["y", "z"] + ["x"]
    got = dict((t, v) for t, _, _, v in encode_terms(terms, positions=True))
    fmt = formats.Positions()
    assert got[b"y"] == fmt.encode([70_000]) and got[b"z"] == fmt.encode([70_001])
    assert got[b"x"] == fmt.encode([*range(70_000), 70_002])
    assert dict((t, v) for t, _, _, v in encode_terms(["a", "b", "a"], positions=True)) == {
        b"a": fmt.encode([0, 2]), b"b": fmt.encode([1])}


def test_folded_positions_of_several_spellings_are_merged_in_order() -> None:
    syllables = ["hòa", "hoa", "x", "hoà", "hòa"]
    folded = ["hoa", "hoa", "x", "hoa", "hoa"]
    got, got_f = encode_syllables_and_folded(syllables, folded)
    fmt = formats.Positions()
    assert got_f == [(b"hoa", 4, 4.0, fmt.encode([0, 1, 3, 4])), (b"x", 1, 1.0, fmt.encode([2]))]
    assert [t for t, *_ in got] == [s.encode() for s in ("hòa", "hoa", "x", "hoà")]
