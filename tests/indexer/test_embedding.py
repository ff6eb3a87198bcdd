"""Passage vectors: the real encoder, the content-keyed store and its crash rules, and the
incremental embedding pass over an index."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.build import BuildOptions, index_articles
from indexer.embedding import (DIM, E5Encoder, VectorStore, content_key, embed_index, passage_text,
                               vectors_dir)
from indexer.record import Article
from indexer.store import live_dir


class HashEncoder:
    """Deterministic stand-in: a unit vector from the text's hash; counts its calls."""

    dim = DIM

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def passages(self, texts):  # noqa: ANN001, ANN201
        self.encoded.extend(texts)
        return np.stack([self._vec(t) for t in texts])

    def query(self, text: str) -> np.ndarray:
        return self._vec(text)

    @staticmethod
    def _vec(text: str) -> np.ndarray:
        v = np.random.default_rng(int(content_key(text)[:8], 16)).standard_normal(DIM).astype(np.float32)
        return v / np.linalg.norm(v)


def test_passage_text_and_key() -> None:
    assert passage_text(" Tiêu đề ", " Nội dung. ") == "Tiêu đề\nNội dung."
    assert len(passage_text("t", "x" * 10_000)) == 2000
    assert content_key("a") == content_key("a") != content_key("b")


def test_store_round_trip_and_reload(tmp_path: Path) -> None:
    store = VectorStore(tmp_path / "v")
    assert len(store) == 0 and store.get("k") is None
    vecs = np.eye(3, DIM, dtype=np.float32)
    store.add(["a", "b", "c"], vecs)
    assert len(store) == 3 and "b" in store
    assert np.array_equal(store.get("b"), vecs[1].astype(np.float16))
    found, mask = store.vectors(["c", "zz", "a"])
    assert mask.tolist() == [True, False, True] and found.dtype == np.float32
    assert np.array_equal(found, vecs[[2, 0]])
    reader = VectorStore(tmp_path / "v")
    store.add(["d"], vecs[:1])
    assert len(reader) == 3 and reader.reload() and len(reader) == 4
    assert not reader.reload()  # nothing new
    store.add(["a"], -vecs[:1])  # a key added again: its last vector wins
    reader.reload()
    assert np.array_equal(reader.get("a"), -vecs[0].astype(np.float16))


def test_store_ignores_what_a_killed_append_left(tmp_path: Path) -> None:
    store = VectorStore(tmp_path / "v")
    store.add(["a", "b"], np.ones((2, DIM), dtype=np.float32))
    # killed after writing rows but before their keys; and mid-way through a key line
    with open(tmp_path / "v" / "vectors.f16", "ab") as f:
        f.write(np.full((3, DIM), 7, dtype=np.float16).tobytes())
    with open(tmp_path / "v" / "keys.txt", "a") as f:
        f.write("half")
    fresh = VectorStore(tmp_path / "v")
    assert len(fresh) == 2 and "half" not in fresh
    store.add(["c"], np.full((1, DIM), 2, dtype=np.float32))  # the next writer cuts the unkeyed rows
    fresh.reload()
    assert np.array_equal(fresh.get("c"), np.full(DIM, 2, dtype=np.float16))
    assert (tmp_path / "v" / "vectors.f16").stat().st_size == 3 * DIM * 2


def test_store_refuses_bad_shapes(tmp_path: Path) -> None:
    store = VectorStore(tmp_path / "v")
    with pytest.raises(ValueError):
        store.add(["a", "b"], np.ones((1, DIM)))
    with pytest.raises(ValueError):
        store.add(["a"], np.ones((1, 5)))
    assert len(store) == 0


def _index(path: Path, n: int, start: int = 0) -> Path:
    arts = [Article(id=f"d{i}", title=f"Bài số {i}", body=f"Nội dung bài số {i} về giáo dục và y tế.")
            for i in range(start, start + n)]
    index_articles(arts, path, BuildOptions(workers=1, progress="quiet"))
    live = live_dir(path)
    assert live is not None
    return live


def test_embedding_pass_is_incremental_and_resumable(tmp_path: Path) -> None:
    live = _index(tmp_path / "ix", 7)
    enc = HashEncoder()
    done: list[tuple[int, int]] = []
    stats = embed_index(live, enc, batch_size=3, progress=lambda d, t: done.append((d, t)))
    assert (stats.documents, stats.encoded, stats.present) == (7, 7, 0)
    assert done == [(3, 7), (6, 7), (7, 7)]  # committed batch by batch
    store = VectorStore(vectors_dir(live))
    key = content_key(passage_text("Bài số 2", "Nội dung bài số 2 về giáo dục và y tế."))
    assert np.allclose(store.get(key), HashEncoder._vec(enc.encoded[2]), atol=1e-3)
    _index(tmp_path / "ix", 2, start=7)  # two new articles
    again = embed_index(live, enc)
    assert (again.documents, again.encoded, again.present) == (9, 2, 7)
    assert len(enc.encoded) == 9


def test_seed_store_spares_encoding_known_passages(tmp_path: Path) -> None:
    seed = VectorStore(tmp_path / "cache")
    first = embed_index(_index(tmp_path / "a", 5), HashEncoder(), seed=seed)
    assert first.encoded == 5 and len(seed) == 5  # new vectors go to the seed too
    enc = HashEncoder()
    second = embed_index(_index(tmp_path / "b", 6), enc, seed=seed)
    assert (second.copied, second.encoded) == (5, 1) and len(enc.encoded) == 1


def test_the_real_encoder_reads_vietnamese() -> None:
    enc = E5Encoder()
    passages = enc.passages([
        "Thuốc có thể gây nhức đầu, chóng mặt, buồn nôn; thận trọng khi lái xe.",
        "Đội tuyển bóng đá Việt Nam thắng 2-0 trong trận chung kết.",
    ])
    assert passages.shape == (2, DIM) and passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-3)
    q = enc.query("Thuốc này có những tác dụng phụ nào?")
    assert q.shape == (DIM,)
    side_effects, football = passages @ q
    assert side_effects > football + 0.02
    assert enc.passages([]).shape == (0, DIM)


def test_damaged_files_leave_an_empty_store_not_an_error(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    d = tmp_path / "v"
    d.mkdir()
    (d / "keys.txt").write_text("a\nb\n")  # keys, but no vectors file
    assert len(VectorStore(d)) == 0 and "unreadable" in caplog.text
    (d / "vectors.f16").write_bytes(np.ones(DIM, dtype=np.float16).tobytes())  # one row for two keys
    store = VectorStore(d)
    assert len(store) == 1 and "a" in store and "b" not in store
    (d / "keys.txt").write_bytes(b"\xff\xfe\n")
    assert len(VectorStore(d)) == 0
