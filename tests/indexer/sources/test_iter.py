"""iter_articles: directory walking order, dispatch by suffix, unsupported and missing paths."""
from __future__ import annotations

import gzip
import json
import lzma
from pathlib import Path

import pytest

from indexer.record import Article, RecordError
from indexer.sources import SUPPORTED_SUFFIXES, iter_articles, reader_for
from indexer.sources.jsonl import read_jsonl
from indexer.sources.portal import read_portal_file

SHARED = Path(__file__).resolve().parents[4] / "shared"
SEED = SHARED / "seeds" / "portal-article-an-giang-2014.txt"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def record(doc_id: str) -> str:
    return json.dumps({"id": doc_id, "title": f"Tin {doc_id}", "body": "Nội dung."}) + "\n"


HTML = ("<html><head><title>Tin {n} | Cổng thông tin</title>"
        "<link rel='canonical' href='https://portal.example.vn/tin/{n}'></head><body>"
        "<div><p>Đây là nội dung bài viết số {n}, đủ dài để được coi là một đoạn văn thật sự, "
        "có dấu phẩy, có chấm câu.</p></div></body></html>")


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    (root / "b" / "deep").mkdir(parents=True)
    (root / "a").mkdir()
    (root / ".cache").mkdir()
    (root / "z.jsonl").write_text(record("z1") + record("z2"), encoding="utf-8")
    (root / "a" / "2.json").write_text(record("a2"), encoding="utf-8")
    (root / "a" / "10.jsonl.gz").write_bytes(gzip.compress(record("a10").encode()))
    (root / "b" / "page.HTML").write_text(HTML.format(n=7), encoding="utf-8")
    (root / "b" / "deep" / "x.jsonl.xz").write_bytes(lzma.compress(record("x").encode()))
    (root / "b" / "deep" / "y.htm").write_text(HTML.format(n=8), encoding="utf-8")
    (root / "README.md").write_text("# not a corpus", encoding="utf-8")
    (root / "a" / "notes.docx").write_bytes(b"PK\x03\x04")
    (root / ".cache" / "old.jsonl").write_text(record("hidden"), encoding="utf-8")
    (root / ".hidden.jsonl").write_text(record("hidden2"), encoding="utf-8")
    return root


def ids(items: list[Article | RecordError]) -> list[str]:
    return [x.id if isinstance(x, Article) else f"ERR {x.where}" for x in items]


def test_directory_walk_is_sorted_recursive_and_skips_the_rest(tree: Path) -> None:
    items = list(iter_articles([tree]))
    assert all(isinstance(x, Article) for x in items), items
    # Path order: names sorted at each level, a directory's files where its name sorts
    # ("10.jsonl.gz" < "2.json": by name, not number); README.md, notes.docx and hidden
    # entries are skipped silently.
    assert ids(items) == [
        "a10", "a2",                                   # a/
        "x", "https://portal.example.vn/tin/8",        # b/deep/
        "https://portal.example.vn/tin/7",             # b/page.HTML
        "z1", "z2",                                    # z.jsonl
    ]
    assert ids(list(iter_articles([tree]))) == ids(items)  # same order on every run


def test_symlinked_directories_are_not_followed_inside_a_tree(tree: Path) -> None:
    (tree / "b" / "loop").symlink_to(tree, target_is_directory=True)
    items = list(iter_articles([tree]))
    assert len(items) == 7  # the loop adds nothing and does not recurse forever
    assert ids(list(iter_articles([tree / "b" / "loop" / "a"]))) == ["a10", "a2"]


def test_explicit_paths_keep_their_order(tree: Path) -> None:
    items = list(iter_articles([tree / "z.jsonl", tree / "a", tree / "b" / "deep" / "y.htm"]))
    assert ids(items) == ["z1", "z2", "a10", "a2", "https://portal.example.vn/tin/8"]


def test_unsupported_explicit_file_and_missing_path_are_errors(tree: Path) -> None:
    missing = tree / "nope.jsonl"
    items = list(iter_articles([tree / "README.md", missing, tree / "z.jsonl"]))
    first, second, *rest = items
    assert isinstance(first, RecordError) and first.where == str(tree / "README.md")
    assert "unsupported file type" in first.reason and ".jsonl.gz" in first.reason
    assert isinstance(second, RecordError) and second.where == str(missing)
    assert second.reason == "no such file or directory"
    assert ids(rest) == ["z1", "z2"]


def test_a_directory_with_nothing_to_index_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("# không phải bài viết", encoding="utf-8")
    (tmp_path / ".hidden.jsonl").write_text(record("h"), encoding="utf-8")
    (err,) = iter_articles([tmp_path])
    assert isinstance(err, RecordError) and err.where == str(tmp_path)
    assert err.reason.startswith("no file to index in this directory") and ".jsonl" in err.reason


def test_errors_from_readers_pass_through(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text(record("ok") + "{oops\n", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    items = list(iter_articles([tmp_path]))
    assert ids(items) == ["ok", f"ERR {tmp_path / 'bad.jsonl'}:2", f"ERR {tmp_path / 'empty.txt'}"]


@pytest.mark.parametrize(
    ("name", "reader"),
    [("c.jsonl", read_jsonl), ("c.JSONL.GZ", read_jsonl), ("c.jsonl.xz", read_jsonl),
     ("c.json", read_jsonl), ("p.txt", read_portal_file), ("p.html", read_portal_file),
     ("p.htm", read_portal_file), ("c.json.gz", None), ("c.xz", None), ("c.csv", None),
     ("jsonl", None)],
)
def test_reader_for(name: str, reader) -> None:
    assert reader_for(Path(name)) is reader
    assert (reader is not None) == name.lower().endswith(SUPPORTED_SUFFIXES)


def test_real_seed_and_fixtures_together(tmp_path: Path) -> None:
    if not SEED.exists():
        pytest.skip(f"{SEED} not present")
    items = list(iter_articles([SEED, FIXTURES]))
    assert all(isinstance(x, Article) for x in items), items
    titles = {x.title for x in items if isinstance(x, Article)}
    assert len(items) == 3 and len(titles) == 1
    assert [x.id for x in items if isinstance(x, Article)] == [
        str(SEED.resolve()),
        "https://angiang.dcs.vn/xaydungdang/Lists/TinTucMoRong/DispForm.aspx?ID=2914",
        str((FIXTURES / "portal-an-giang-sharepoint.html").resolve()),
    ]


def test_real_corpus_directory() -> None:
    laws = SHARED / "data" / "vlc-vietnamese-laws"
    if not laws.exists():
        pytest.skip(f"{laws} not present")
    items = list(iter_articles([laws]))
    assert len(items) == 109 and all(isinstance(x, Article) for x in items)
    assert items[0].id == "vlc-bo-luat-dan-su"
