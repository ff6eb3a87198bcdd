"""The writer's inverter: same bytes as Whoosh's own segment writer, new segments and merges."""
from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Any

import pytest
from whoosh.codec.whoosh3 import W3Codec
from whoosh.writing import MERGE_SMALL, SegmentWriter

from indexer import store
from indexer.inverter import TermPool
from indexer.record import Article
from indexer.schema import prepare
from indexer.sources.jsonl import read_jsonl

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
DANTRI = SHARED / "unc-dantri-news"

pytestmark = pytest.mark.skipif(not any(DANTRI.glob("corpus.jsonl*")), reason="shared data absent")



@pytest.fixture(scope="module")
def prepared() -> list[tuple[str, dict]]:
    path = next(DANTRI.glob("corpus.jsonl*"))
    articles = [a for a in islice(read_jsonl(path), 48) if isinstance(a, Article)]
    assert len(articles) == 48
    for a in articles:  # shorter bodies keep the test quick; several blocks per term remain
        a.body = a.body[:3000]
    return [(a.id, prepare(a)) for a in articles]


class _StockWriter(SegmentWriter):
    """Whoosh's writer as it is (its pool, its merge), for comparison."""


def _segment_files(index_path: Path) -> list[dict[str, bytes]]:
    ix = store.open_index(index_path)
    out = []
    with ix.reader() as reader:
        for leaf, _ in reader.leaf_readers():
            segment, storage = leaf._segment, leaf._storage  # noqa: SLF001
            # every file of the segment (terms, postings, stored fields, lengths, columns),
            # by its name without the random segment id
            # (not the compound .seg holding them, whose header names the segment)
            names = [n for n in storage.list()
                     if n.startswith(segment.make_filename("")) and not n.endswith(".seg")]
            files = {n[len(segment.make_filename("")):]: storage.open_file(n).read() for n in names}
            assert {".trm", ".pst"} <= set(files)
            files["docs"] = leaf.doc_count_all()
            files["deleted"] = sorted(segment.deleted_docs() or ())
            out.append(files)
    return out


def _build(tmp_path: Path, name: str, batches: list, writer: type, codec: dict, policy: Any,
           monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    index_path = tmp_path / name
    with monkeypatch.context() as m:
        m.setattr(store, "_Writer", writer)
        m.setattr(store, "_codec", lambda: W3Codec(**codec))
        ix = store.open_or_create(index_path)
        for batch in batches:
            with store.open_writer(ix, 5) as w:
                if isinstance(batch, str):  # delete a document
                    w.delete_by_term("id", batch)
                else:
                    for _, doc in batch:
                        w.update_document(**doc)
                w.commit(mergetype=policy)
    return _segment_files(index_path)


# Ours (no compression), and zlib with 4-posting blocks, where most lists span several
# blocks; our tiered merges, and Whoosh's default policy (the API's applier commits with it),
# which closes each segment's reader as soon as it is added.
@pytest.mark.parametrize("codec, policy", [({"compression": 0}, store.merge_tiered),
                                           ({"compression": 3, "blocklimit": 4}, store.merge_tiered),
                                           ({"compression": 0}, MERGE_SMALL)])
def test_same_files_as_whoosh_writer_with_merges_and_deletions(
        tmp_path: Path, prepared: list, codec: dict, policy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # 12 batches of 4: with merge_tiered the 9th commit merges 8 segments (MERGE_FACTOR)
    # into its own. Re-adding documents and deleting one leaves deletions in segments that
    # are merged later.
    batches: list = [prepared[i:i + 4] for i in range(0, 48, 4)]
    batches.insert(3, prepared[:2] + prepared[5:7])
    batches.insert(5, prepared[10][0])
    ours = _build(tmp_path, "ours", batches, store._Writer, codec, policy, monkeypatch)
    whoosh = _build(tmp_path, "whoosh", batches, _StockWriter, codec, policy, monkeypatch)
    assert [s["docs"] for s in ours] == [s["docs"] for s in whoosh]
    assert max(s["docs"] for s in ours) > 4  # segments were merged
    if policy is store.merge_tiered:
        # the first segment merged 8 segments and the commit's new batch, and dropped the 4
        # replaced documents and the deleted one
        assert ours[0]["docs"] == 9 * 4 - 4 - 1 and not ours[0]["deleted"]
    for mine, theirs in zip(ours, whoosh):
        assert mine.keys() == theirs.keys()
        for name in mine:
            assert mine[name] == theirs[name], name


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
