"""read_jsonl: the shared corpora, every kind of bad line, compression, runaway lines."""
from __future__ import annotations

import datetime as dt
import gzip
import itertools
import json
import lzma
import tracemalloc
from pathlib import Path

import pytest

from indexer.record import Article, RecordError
from indexer.sources.jsonl import DEFAULT_MAX_RECORD_BYTES, read_jsonl

SHARED = Path(__file__).resolve().parents[4] / "shared"
DATA = SHARED / "data"


def corpus(rel: str) -> Path:
    path = DATA / rel
    if not path.exists():
        pytest.skip(f"{path} not present")
    return path


def good(i: int, **extra: object) -> str:
    return json.dumps({"id": f"d{i}", "title": f"Tiêu đề {i}", "body": f"Nội dung {i}", **extra},
                      ensure_ascii=False)


def split(items: list[Article | RecordError]) -> tuple[list[Article], list[RecordError]]:
    return ([x for x in items if isinstance(x, Article)],
            [x for x in items if isinstance(x, RecordError)])


def write(tmp_path: Path, name: str, lines: list[str | bytes]) -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join((x if isinstance(x, bytes) else x.encode("utf-8")) + b"\n"
                              for x in lines))
    return path


# --- the real corpora ----------------------------------------------------------------------

def test_vlc_laws_gz() -> None:
    articles, errors = split(list(read_jsonl(corpus("vlc-vietnamese-laws/corpus.jsonl.gz"))))
    assert errors == [] and len(articles) == 109
    civil = next(a for a in articles if a.id == "vlc-bo-luat-dan-su")
    assert civil.title == "Bộ luật Dân sự"
    assert civil.date == dt.datetime(2015, 11, 24)
    assert civil.categories == ["Bộ luật"]
    assert civil.doc_number == "91/2015/QH13"  # the corpus's own field, kept
    assert civil.url == "" and civil.source.startswith("Vietnamese Legal Corpus")
    assert civil.body.startswith("QUỐC HỘI") and len(civil.body) > 100_000
    assert sum(a.date is not None for a in articles) == 106
    # 13 laws lack the field: the reader fills it from the header where there is one.
    filled = {a.id: a.doc_number for a in articles}
    assert filled["vlc-luat-luat-su"] == "65/2006/QH11"
    assert filled["vlc-luat-cong-ty"] == "47-LCT/HĐNN8"
    assert sum(bool(n) for n in filled.values()) == 107
    assert all(a.extras == {} for a in articles)


def test_alqac_plain_keeps_extras_and_text_only_in_title() -> None:
    articles, errors = split(list(read_jsonl(corpus("alqac-legal-retrieval/corpus.jsonl"))))
    assert errors == [] and len(articles) == 2249
    first = articles[0]
    assert set(first.extras) == {"law", "article"}
    assert first.categories == [first.extras["law"]]
    # 39 constitution-style articles have their whole text in the title and an empty body;
    # 5 of them are judged relevant in qrels.txt, so they must be indexed, not rejected.
    hp1 = next(a for a in articles if a.id == "HP-1")
    assert hp1.body == "" and hp1.title.startswith("Hiến pháp - Điều 1.")
    assert sum(a.body == "" for a in articles) == 39


def test_vire_passages_without_titles_are_read() -> None:
    articles, errors = split(list(read_jsonl(corpus("vire-qa-retrieval/virhe4qa/corpus.jsonl"))))
    assert errors == [] and len(articles) == 297
    assert all(a.title == "" and a.body for a in articles)
    assert all(a.categories == [] and a.date is None for a in articles)


def test_dantri_gz_dates_and_categories() -> None:
    articles, errors = split(list(read_jsonl(corpus("unc-dantri-news/corpus.jsonl.gz"))))
    assert errors == [] and len(articles) == 2653
    assert all(isinstance(a.date, dt.datetime) for a in articles)
    assert all(a.url.startswith("https://dantri.com.vn/") for a in articles)
    assert {len(a.categories) for a in articles} == {1}
    assert all(set(a.extras) == {"category_en"} for a in articles)


@pytest.mark.parametrize("rel", ["baomoi-news-2017/corpus.jsonl.xz", "vntc-news/corpus.jsonl.xz"])
def test_big_xz_corpora_stream(rel: str) -> None:
    """Only the head is read: the reader is lazy, so this costs a few hundred records."""
    head = list(itertools.islice(read_jsonl(corpus(rel)), 300))
    articles, errors = split(head)
    assert errors == [] and len(articles) == 300
    assert len({a.id for a in articles}) == 300
    if rel.startswith("vntc"):
        assert {"newspaper", "split", "title_synthetic"} <= set(articles[0].extras)
        assert isinstance(articles[0].extras["title_synthetic"], bool)
    else:
        assert all(a.url.startswith("http://www.baomoi.com/a/c/") for a in articles)


# --- bad records ---------------------------------------------------------------------------

BAD_LINES: list[tuple[str | bytes, str]] = [
    ('{"id": "x", "title": "t", "body": ', "invalid JSON"),
    ("[1, 2, 3]", "a document must be a JSON object, not an array"),
    ('"just a string"', "a document must be a JSON object, not a string"),
    ('{"title": "t", "body": "b"}', "field 'id' is required"),
    ('{"id": null, "title": "t", "body": "b"}', "field 'id' is required"),
    ('{"id": "  ", "title": "t", "body": "b"}', "field 'id' is blank"),
    ('{"id": 17, "title": "t", "body": "b"}', "field 'id' must be a string, not a number"),
    ('{"id": " a", "title": "t", "body": "b"}', "field 'id' must have no control characters"),
    ('{"id": "a\\u0007b", "title": "t", "body": "b"}', "field 'id' must have no control characters"),
    (json.dumps({"id": "x" * 513, "title": "t", "body": "b"}),
     "field 'id' is longer than 512 characters"),
    ('{"id": "a", "body": "b"}', "field 'title' is required"),
    ('{"id": "a", "title": "t"}', "field 'body' is required"),
    ('{"id": "a", "title": " ", "body": ""}', "fields 'title' and 'body' are both empty"),
    ('{"id": "a", "title": null, "body": null}', "field 'title' must be a string, not null"),
    ('{"id": "a", "title": ["t"], "body": "b"}', "field 'title' must be a string, not an array"),
    ('{"id": "a", "title": "t", "body": 5}', "field 'body' must be a string, not a number"),
    ('{"id": "a", "title": "t", "body": "b", "url": 1}',
     "field 'url' must be a string or null, not a number"),
    ('{"id": "a", "title": "t", "body": "b", "author": {}}',
     "field 'author' must be a string or null, not an object"),
    ('{"id": "a", "title": "t", "body": "b", "category": 3}',
     "field 'category' must be a string or an array of strings, not a number"),
    ('{"id": "a", "title": "t", "body": "b", "category": ["x", 1]}',
     "field 'category' must be a string or an array of strings; the array holds a number"),
    (json.dumps({"id": "a", "title": "t", "body": "b", "category": [f"c{i}" for i in range(101)]}),
     "field 'category' has 101 values: at most 100 categories per document"),
    (json.dumps({"id": "a", "title": "t", "body": "b", "category": ["c" * 201]}),
     "field 'category' has a value longer than 200 characters"),
    ('{"id": "a", "title": "t", "body": "b", "date": "hôm qua"}',
     "field 'date' cannot be read: unrecognised date"),
    ('{"id": "a", "title": "t", "body": "b", "date": "31/02/2014"}',
     "field 'date' cannot be read: impossible date '31/02/2014': day is out of range"),
    ('{"id": "a", "title": "t", "body": "b", "date": 20141230}',
     "field 'date' must be a string or null, not a number"),
    ('{"id": "a", "title": "t", "body": "b", "date": "  "}', "field 'date' is blank"),
    ('{"id": "a", "title": "t", "body": "b", "extras": [1]}',
     "field 'extras' must be an object or null, not an array"),
    (b'{"id": "a", "title": "Ti\xeau \xc4\x91\xe1\xbb", "body": "b"}', "invalid UTF-8 at byte"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
]


def test_every_bad_line_is_reported_with_its_line_and_reading_goes_on(tmp_path: Path) -> None:
    lines: list[str | bytes] = [good(1)]  # line n holds d<n> or a bad record
    for bad, _ in BAD_LINES:
        lines.append(bad)
        lines.append(good(len(lines) + 1))
    path = write(tmp_path, "mixed.jsonl", lines)
    items = list(read_jsonl(path))
    articles, errors = split(items)
    assert [a.id for a in articles] == [f"d{n}" for n in range(1, len(lines) + 1, 2)]
    assert len(errors) == len(BAD_LINES)
    for n, (error, (_, reason)) in enumerate(zip(errors, BAD_LINES)):
        assert error.where == f"{path}:{2 * n + 2}"
        assert reason in error.reason, (error.where, error.reason)
        assert str(error).startswith(f"{path}:{2 * n + 2}: ")
    # Errors come in file order, between the records around them.
    assert isinstance(items[1], RecordError) and isinstance(items[2], Article)


def test_blank_lines_bom_crlf_and_missing_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf" + good(1).encode() + b"\r\n"
        + b"\r\n   \n\t\n"
        + good(2).encode() + b"\r\n"
        + good(3).encode()  # no final newline
    )
    articles, errors = split(list(read_jsonl(path)))
    assert errors == []
    assert [a.id for a in articles] == ["d1", "d2", "d3"]
    assert articles[1].body == "Nội dung 2"


def test_fields_and_extras(tmp_path: Path) -> None:
    record = {
        "id": "p-1", "title": "Tiêu đề", "body": "Nội dung", "date": "30/12/2014 07:42",
        "category": ["Xây dựng Đảng", "", "Thời sự"], "url": "https://example.vn/a",
        "source": "portal", "summary": "Tóm tắt", "author": "Thành Nhân",
        "views": 1639, "tags": ["a", "b"], "meta": {"k": [1, None]}, "note": None,
    }
    path = write(tmp_path, "f.jsonl", [json.dumps(record, ensure_ascii=False)])
    (article,) = read_jsonl(path)
    assert isinstance(article, Article)
    assert article.date == dt.datetime(2014, 12, 30, 7, 42)
    assert article.categories == ["Xây dựng Đảng", "Thời sự"]
    assert (article.url, article.source, article.summary, article.author) == (
        "https://example.vn/a", "portal", "Tóm tắt", "Thành Nhân")
    # Every unknown key is kept as it was, nulls and nested values included.
    assert article.extras == {"views": 1639, "tags": ["a", "b"], "meta": {"k": [1, None]},
                              "note": None}


def test_nulls_are_empty_values(tmp_path: Path) -> None:
    record = {"id": "n", "title": "t", "body": "b", "date": None, "category": None, "url": None,
              "source": None, "summary": None, "author": None, "doc_number": None}
    (article,) = read_jsonl(write(tmp_path, "n.jsonl", [json.dumps(record)]))
    assert isinstance(article, Article)
    assert (article.date, article.categories, article.url, article.doc_number) == (None, [], "", "")
    assert article.extras == {}


def test_doc_number_is_filled_kept_or_unprefixed(tmp_path: Path) -> None:
    header = "QUỐC HỘI\n\nSố: 52/2014/QH13\n\nHà Nội, ngày 19 tháng 06 năm 2014\n\nLUẬT"
    lines = [
        json.dumps({"id": "a", "title": "Luật Hôn nhân và gia đình", "body": header}),
        json.dumps({"id": "b", "title": "Chỉ thị số 03-CT/TW về học tập", "body": "x"}),
        json.dumps({"id": "c", "title": "t", "body": header, "doc_number": "Số: 1/2000/QH10"}),
        json.dumps({"id": "d", "title": "t", "body": header, "doc_number": "99/XYZ"}),
        json.dumps({"id": "e", "title": "Tin thời sự", "body": "Không có số."}),
    ]
    numbers = {a.id: a.doc_number for a in read_jsonl(write(tmp_path, "d.jsonl", lines))}
    assert numbers == {"a": "52/2014/QH13", "b": "03-CT/TW", "c": "1/2000/QH10", "d": "99/XYZ",
                       "e": ""}


def test_dot_json_one_object_per_line(tmp_path: Path) -> None:
    path = write(tmp_path, "export.json", [good(1), good(2)])
    assert [a.id for a in read_jsonl(path)] == ["d1", "d2"]


# --- compression ---------------------------------------------------------------------------

@pytest.mark.parametrize(("suffix", "opener"), [(".jsonl.gz", gzip.open), (".jsonl.xz", lzma.open)])
def test_compressed_with_errors_keep_line_numbers(tmp_path: Path, suffix: str, opener) -> None:
    path = tmp_path / f"c{suffix}"
    with opener(path, "wb") as fh:
        fh.write("\n".join([good(1), "not json", "", good(4)]).encode() + b"\n")
    articles, errors = split(list(read_jsonl(path)))
    assert [a.id for a in articles] == ["d1", "d4"]
    assert [e.where for e in errors] == [f"{path}:2"]
    assert "invalid JSON" in errors[0].reason


def test_truncated_gzip_reports_and_keeps_earlier_records(tmp_path: Path) -> None:
    data = gzip.compress("".join(good(i) + "\n" for i in range(2000)).encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    articles, errors = split(list(read_jsonl(path)))
    assert 0 < len(articles) < 2000
    assert [a.id for a in articles] == [f"d{i}" for i in range(len(articles))]
    assert len(errors) == 1 and "cannot read file" in errors[0].reason
    assert errors[0].where == f"{path}:{len(articles) + 1}"


def test_not_gzip_at_all(tmp_path: Path) -> None:
    path = tmp_path / "fake.jsonl.gz"
    path.write_bytes(good(1).encode())
    (error,) = read_jsonl(path)
    assert isinstance(error, RecordError) and "cannot read file" in error.reason


def test_missing_file(tmp_path: Path) -> None:
    (error,) = read_jsonl(tmp_path / "absent.jsonl")
    assert isinstance(error, RecordError)
    assert error.where == str(tmp_path / "absent.jsonl") and error.reason == "no such file"


# --- size cap ------------------------------------------------------------------------------

def test_size_cap_boundaries(tmp_path: Path) -> None:
    cap = 200
    def sized(n: int, i: int) -> str:
        base = good(i, pad="")
        return base[:-2] + "x" * (n - len(base.encode())) + '"}'
    exact, over = sized(cap, 1), sized(cap + 1, 2)
    assert len(exact.encode()) == cap and len(over.encode()) == cap + 1
    path = tmp_path / "cap.jsonl"
    path.write_bytes((exact + "\r\n" + over + "\r\n" + good(3) + "\n" + over).encode())
    items = list(read_jsonl(path, max_record_bytes=cap))
    articles, errors = split(items)
    assert [a.id for a in articles] == ["d1", "d3"]
    assert [e.where for e in errors] == [f"{path}:2", f"{path}:4"]
    assert all(f"record of {cap + 1} bytes exceeds max_record_bytes={cap}" in e.reason
               for e in errors)


def test_fifty_megabyte_line_is_skipped_without_loading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl"
    big = 50 * 1024 * 1024
    with path.open("wb") as fh:
        fh.write(good(1).encode() + b"\n")
        head, tail = b'{"id": "huge", "title": "t", "body": "', b'"}'
        fh.write(head)
        chunk = b"a" * (1024 * 1024)
        for _ in range(big // len(chunk)):
            fh.write(chunk)
        fh.write(tail + b"\n")
        fh.write(good(3).encode() + b"\n")
    assert DEFAULT_MAX_RECORD_BYTES == 10 * 1024 * 1024
    tracemalloc.start()
    try:
        items = list(read_jsonl(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    articles, errors = split(items)
    assert [a.id for a in articles] == ["d1", "d3"]
    assert len(errors) == 1 and errors[0].where == f"{path}:2"
    size = len(head) + big + len(tail)
    assert f"record of {size} bytes exceeds max_record_bytes=" in errors[0].reason
    # At most one capped chunk (10 MB) is held at a time, never the 50 MB line.
    assert peak < 25 * 1024 * 1024, peak
