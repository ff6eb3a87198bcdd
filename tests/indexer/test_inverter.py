"""The writer's inverter: same bytes as Whoosh's own segment writer, new segments and merges.

Whoosh's W3PostingsWriter pickles a block's data with protocol 2; ours uses
`blocks.BLOCK_PROTOCOL` (3: bytes as bytes). The reference writer here is Whoosh's with
only that protocol changed (`_whoosh_block_protocol`), so everything else is compared byte
for byte; segments written at protocol 2 (indexes made before) are read and merged too."""
from __future__ import annotations

import io
import pickle
import zlib
from itertools import accumulate, islice
from pathlib import Path
from typing import Any

import pytest
from whoosh.codec import whoosh3
from whoosh.codec.whoosh3 import W3Codec
from whoosh.util.numeric import length_to_byte
from whoosh.writing import MERGE_SMALL, OPTIMIZE, SegmentWriter

from indexer import blocks, merge_policy, store
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


def _whoosh_block_protocol(m: pytest.MonkeyPatch, protocol: int) -> None:
    """Whoosh's W3 codec with its blocks' data (a 3-tuple: ids, weights, values) pickled at
    `protocol`; its block info (a 6-tuple) and everything else as they are."""
    def dumps(obj: Any, proto: int = 2) -> bytes:
        return pickle.dumps(obj, protocol if isinstance(obj, tuple) and len(obj) == 3 else proto)

    m.setattr(whoosh3, "dumps", dumps)


def _postings(leaf: Any, blocklimit: int) -> dict[tuple[str, bytes], tuple]:
    """Every (field, term) of a segment: its term info and its postings (docnum, weight,
    value), deleted documents included. Checks on the way that each block's own info (count,
    last docnum, max weight, length bytes) is what its postings give."""
    terms = leaf._terms  # noqa: SLF001
    names = {fieldid: name for name, fieldid in terms._fieldmap.items()}  # noqa: SLF001
    out = {}
    for key, valbytes in terms._tindex.items():  # noqa: SLF001
        field, term = names[int.from_bytes(key[:2], "big")], key[2:]
        ti = leaf.term_info(field, term)
        offset, length = blocks.EXTENT.unpack_from(valbytes, blocks.TERMINFO.size)
        raw = terms._postfile.get(offset, length)  # noqa: SLF001
        postings = []
        f = io.BytesIO(raw)
        f.seek(4)
        while True:
            size = int.from_bytes(f.read(4), "big", signed=True)
            end = f.tell() + abs(size)
            count, last, maxweight, comp, minbyte, maxbyte = pickle.load(f)
            data = raw[f.tell():end]
            deltas, weights, values = pickle.loads(zlib.decompress(data) if comp else data)
            ids = list(accumulate(deltas))
            weights = ([1.0] * count if weights is None else [weights] * count
                       if isinstance(weights, float) else list(weights))
            assert count == len(ids) <= blocklimit and last == ids[-1]
            assert maxweight == max(weights)
            lens = [length_to_byte(leaf.doc_field_length(d, field, 0)) for d in ids]
            assert (minbyte, maxbyte) == (min([x for x in lens if x], default=0), max(lens))
            postings += zip(ids, weights)
            if size < 0:
                break
            f.seek(end)
        m = leaf.postings(field, term)
        m = getattr(m, "child", m)  # deleted documents too
        values = []
        while m.is_active():
            values.append(m.value())
            m.next()
        assert len(values) == len(postings)
        out[(field, term)] = ((ti.weight(), ti.doc_frequency(), ti.min_length(), ti.max_length(),
                               ti.max_weight(), ti.min_id(), ti.max_id()), postings, values)
    return out


def _segment_files(index_path: Path, blocklimit: int = 128) -> list[dict[str, Any]]:
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
            files["postings"] = _postings(leaf, blocklimit)
            out.append(files)
    return out


def _build(tmp_path: Path, name: str, batches: list, writer: type, codec: dict, policy: Any,
           monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    index_path = tmp_path / name
    with monkeypatch.context() as m:
        m.setattr(store, "_Writer", writer)
        m.setattr(store, "_codec", lambda: W3Codec(**codec))
        _whoosh_block_protocol(m, blocks.BLOCK_PROTOCOL)
        ix = store.open_or_create(index_path)
        for batch in batches:
            with store.open_writer(ix, 5) as w:
                if isinstance(batch, str):  # delete a document
                    w.delete_by_term("id", batch)
                else:
                    for _, doc in batch:
                        w.update_document(**doc)
                w.commit(mergetype=policy)
    return _segment_files(index_path, codec.get("blocklimit", 128))


# Ours (no compression), and zlib with 4-posting blocks, where most lists span several
# blocks; our tiered merges, and Whoosh's default policy (MERGE_SMALL, which the API's
# applier used before), which closes each segment's reader as soon as it is added.
@pytest.mark.parametrize("codec, policy", [({"compression": 0}, merge_policy.merge_tiered),
                                           ({"compression": 3, "blocklimit": 4}, merge_policy.merge_tiered),
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
    if policy is merge_policy.merge_tiered:
        # the first segment merged 8 segments and the commit's new batch, and dropped the 4
        # replaced documents and the deleted one
        assert ours[0]["docs"] == 9 * 4 - 4 - 1 and not ours[0]["deleted"]
    for mine, theirs in zip(ours, whoosh):
        assert mine.keys() == theirs.keys()
        for name in mine:
            assert mine[name] == theirs[name], name


def _numbered_batches() -> list[list[tuple[str, dict]]]:
    """300 short documents in three batches of 100: shared words, and a numbered word
    ("mục{i}") and number of their own."""
    words = ["nhà", "nước", "học", "tập", "kinh", "tế", "xã", "hội", "văn", "hóa"]
    docs = [Article(id=f"d{i}", title=f"{words[i % 10]} {words[i % 7]}",
                    body=f"{words[i % 3]} {words[i % 10]} mục{i} số {i} {words[(i * 7) % 10]}")
            for i in range(300)]
    return [[(a.id, prepare(a)) for a in docs[k:k + 100]] for k in (0, 100, 200)]


@pytest.mark.parametrize("codec", [{"compression": 0}, {"compression": 0, "blocklimit": 4}])
def test_merge_copies_lists_of_segments_without_deletions_as_whoosh_would_encode_them(
        tmp_path: Path, codec: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    # 300 short documents in three segments, merged as they come: past docnum 255 the
    # shifted first docnum of a block needs a longer pickle opcode; the numbered words live
    # in one segment (their lists copied), the shared ones in several (decoded, encoded)
    batches = _numbered_batches()
    copied = []
    copy = blocks.ListEncoder.copy
    monkeypatch.setattr(blocks.ListEncoder, "copy",
                        lambda self, plist: copied.append(copy(self, plist)) or copied[-1])
    # the last commit merges the first two segments with its own batch
    ours = _build(tmp_path, "ours", batches, store._Writer, codec, OPTIMIZE, monkeypatch)
    whoosh = _build(tmp_path, "whoosh", batches, _StockWriter, codec, OPTIMIZE, monkeypatch)
    assert sum(x is not None for x in copied) > 1000  # most lists were copied, not re-encoded
    assert [s["docs"] for s in ours] == [s["docs"] for s in whoosh] == [300]
    assert ours[0].keys() == whoosh[0].keys()
    for name in ours[0]:
        assert ours[0][name] == whoosh[0][name], name


def test_segments_written_at_protocol_2_read_and_merge_as_before(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # an index whose first two segments were written before BLOCK_PROTOCOL 3 (Whoosh's
    # protocol 2): merged with a new batch, its lists copied or re-encoded, it holds the
    # same postings as an index written at protocol 3 throughout
    batches = _numbered_batches()
    protocols = []
    dumps = blocks._dumps
    monkeypatch.setattr(blocks, "_dumps", lambda obj, proto: protocols.append(proto) or dumps(obj, proto))
    real = blocks._blockenc
    if real is not None:  # the C encoder: its last argument is the protocol

        class Spy:
            MAGIC = real.MAGIC

            def blocks(self, *args: Any) -> Any:
                protocols.append(args[-1])
                return real.blocks(*args)

            def encode_field(self, *args: Any) -> Any:
                protocols.append(args[-1])
                return real.encode_field(*args)

        monkeypatch.setattr(blocks, "_blockenc", Spy())

    def build(name: str, first: int) -> list[dict[str, Any]]:
        index_path = tmp_path / name
        ix = store.open_or_create(index_path)
        for n, batch in enumerate(batches):
            monkeypatch.setattr(blocks, "BLOCK_PROTOCOL", first if n < 2 else 3)
            with store.open_writer(ix, 5) as w:
                for _, doc in batch:
                    w.update_document(**doc)
                w.commit(mergetype=OPTIMIZE if n == 2 else merge_policy.merge_tiered)
        return _segment_files(index_path)

    old = build("old", 2)
    assert 2 in protocols and 3 in protocols
    new = build("new", 3)
    assert [s["docs"] for s in old] == [s["docs"] for s in new] == [300]
    assert old[0]["postings"] == new[0]["postings"]
    assert old[0][".pst"] != new[0][".pst"]  # (copied lists keep their protocol-2 blocks)
