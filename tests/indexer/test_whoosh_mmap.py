"""Zero-copy segment reads: the stream behaves like a file, and real indexes use it."""
from __future__ import annotations

import io
import pickle
from array import array

from whoosh.filedb import compound

from indexer import whoosh_mmap
from indexer.build import BuildOptions, index_articles
from indexer.record import Article
from indexer.whoosh_mmap import ViewBufferFile


def test_stream_reads_seeks_lines_pickles_and_arrays() -> None:
    payload = b"first line\nsecond\n" + pickle.dumps({"a": 1}) + array("i", [1, 2, 3]).tobytes()
    f = ViewBufferFile(memoryview(payload))
    assert f.read(5) == b"first"
    assert f.tell() == 5
    f.seek(0)
    assert f.readline() == b"first line\n"
    assert f.readline() == b"second\n"
    assert f.read_pickle() == {"a": 1}
    arr = array("i")
    arr.fromfile(f.file, 3)
    assert list(arr) == [1, 2, 3]
    assert f.read(10) == b""
    f.seek(-4, io.SEEK_END)
    assert f.read() == array("i", [3]).tobytes()
    assert f.get(0, 5) == b"first"
    sub = f.subset(6, 4)
    assert isinstance(sub, ViewBufferFile) and sub.read() == b"line"


def test_buffer_is_not_copied() -> None:
    data = bytearray(b"x" * 1000)
    f = ViewBufferFile(memoryview(data))
    data[0:1] = b"y"  # a view, not a copy: the change is visible
    assert f.read(1) == b"y"


def test_opened_segments_use_the_view_file(tmp_path) -> None:
    whoosh_mmap.install()
    assert compound.BufferFile is ViewBufferFile
    arts = [Article(id=str(i), title=f"Huyện ủy An Phú {i}", body="Học tập và làm theo " * 20)
            for i in range(30)]
    index_articles(iter(arts), tmp_path / "ix", BuildOptions(workers=1, batch_size=10, progress="quiet"))
    from whoosh import index as windex

    ix = windex.open_dir(str((tmp_path / "ix").resolve()))
    with ix.searcher() as searcher:
        assert searcher.doc_count() == 30
        assert searcher.reader().doc_frequency("title", "huyện") == 30
        docs = list(searcher.document_numbers(id="7"))
        assert searcher.stored_fields(docs[0])["title"] == "Huyện ủy An Phú 7"
