"""One set of document rules: a corpus line (read_jsonl) and an API body (document_to_article,
PUT and POST /documents) give the same Article, or the same error, for the same object."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from indexer.record import Article, RecordError, article_from_dict
from indexer.sources.jsonl import read_jsonl
from search.api.validation import ItemError, document_to_article

LAW_HEADER = ("QUỐC HỘI\n\nCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\n\nSố: 52/2014/QH13\n\n"
              "Hà Nội, ngày 19 tháng 06 năm 2014\n\nLUẬT\n\nHÔN NHÂN VÀ GIA ĐÌNH")

SAME = [
    # doc_number found in the body's header (the API used to leave it empty)
    {"id": "law-1", "title": "Luật Hôn nhân và gia đình", "body": LAW_HEADER, "date": "2014-06-19"},
    # doc_number given with its "Số:" prefix (the API used to keep the prefix)
    {"id": "law-2", "title": "Luật", "body": "x", "doc_number": "Số: 52/2014/QH13"},
    {"id": "law-3", "title": "Luật", "body": LAW_HEADER, "doc_number": "  91/2015/QH13 "},
    # doc_number found in the title
    {"id": "ct-1", "title": "Chỉ thị số 03-CT/TW về học tập", "body": "Nội dung"},
    {"id": "news-1", "title": "Tin thời sự", "body": "Không có số.", "date": "30/12/2014 07:42",
     "category": [" Thời sự ", "", "Pháp luật"], "url": "https://example.vn/a", "source": "s",
     "summary": "Tóm tắt", "author": "PV", "views": 12, "tags": ["a"],
     "extras": {"lang": "vi", "views": 0}},
    {"id": "n", "title": "", "body": "b", "date": None, "category": None, "url": None,
     "source": None, "summary": None, "author": None, "doc_number": None, "extras": None},
    {"id": "s", "title": "t", "body": "", "category": "  Kinh tế  "},
]

BAD = [
    ["not", "an", "object"],
    {"title": "t", "body": "b"},
    {"id": 5, "title": "t", "body": "b"},
    {"id": " ", "title": "t", "body": "b"},
    {"id": "x" * 513, "title": "t", "body": "b"},
    {"id": "a\nb", "title": "t", "body": "b"},
    {"id": "a", "body": "b"},
    {"id": "a", "title": None, "body": "b"},
    {"id": "a", "title": " ", "body": ""},
    {"id": "a", "title": "t", "body": "b", "date": ""},
    {"id": "a", "title": "t", "body": "b", "date": "12/30/2014"},
    {"id": "a", "title": "t", "body": "b", "category": [1]},
    {"id": "a", "title": "t", "body": "b", "category": ["c"] * 101},
    {"id": "a", "title": "t", "body": "b", "category": "c" * 201},
    {"id": "a", "title": "t", "body": "b", "url": 1},
    {"id": "a", "title": "t", "body": "b", "extras": "x"},
]


def through_jsonl(tmp_path: Path, obj: object) -> Article | RecordError:
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(obj, ensure_ascii=False) + "\n", encoding="utf-8")
    (item,) = read_jsonl(path)
    return item


@pytest.mark.parametrize("obj", SAME, ids=[o["id"] for o in SAME])
def test_the_same_object_gives_the_same_article_on_both_paths(tmp_path, obj):
    from_corpus = through_jsonl(tmp_path, obj)
    assert isinstance(from_corpus, Article), from_corpus
    assert document_to_article(obj) == from_corpus  # POST /documents item
    assert document_to_article({k: v for k, v in obj.items() if k != "id"}, obj["id"]) == from_corpus  # PUT
    assert document_to_article(obj, obj["id"]) == from_corpus  # PUT with the id repeated in the body
    assert article_from_dict(obj) == from_corpus


def test_what_the_shared_rules_make_of_the_examples(tmp_path):
    got = {o["id"]: through_jsonl(tmp_path, o) for o in SAME}
    assert {i: a.doc_number for i, a in got.items()} == {
        "law-1": "52/2014/QH13", "law-2": "52/2014/QH13", "law-3": "91/2015/QH13",
        "ct-1": "03-CT/TW", "news-1": "", "n": "", "s": ""}
    news = got["news-1"]
    assert news.date == dt.datetime(2014, 12, 30, 7, 42)
    assert news.categories == ["Thời sự", "Pháp luật"]
    # extras merged with the unknown keys, which win over the same key in 'extras'
    assert news.extras == {"lang": "vi", "views": 12, "tags": ["a"]}
    assert got["n"].extras == {} and got["n"].categories == [] and got["n"].date is None
    assert got["s"].categories == ["Kinh tế"]


@pytest.mark.parametrize("obj", BAD, ids=range(len(BAD)))
def test_a_bad_object_gets_the_same_message_on_both_paths(tmp_path, obj):
    from_corpus = through_jsonl(tmp_path, obj)
    assert isinstance(from_corpus, RecordError)
    with pytest.raises(ItemError) as api:
        document_to_article(obj)
    assert str(api.value) == from_corpus.reason
    with pytest.raises(ValueError) as shared:
        article_from_dict(obj)
    assert str(shared.value) == from_corpus.reason
    # every message names what is wrong: the field, or the document as a whole
    assert "field" in from_corpus.reason or "document" in from_corpus.reason


def test_only_the_api_compares_the_url_id_with_the_body_id():
    obj = {"id": "other", "title": "t", "body": "b"}
    with pytest.raises(ItemError, match="field 'id' differs from the id in the URL"):
        document_to_article(obj, "x")
    # The shared function takes the id it is given; the comparison is the API's concern.
    assert article_from_dict(obj, "x").id == "x"


@pytest.mark.parametrize("doc_id", ["\u0085", "\u00a0", "a b", "luật/45:2013", "x" * 512, "\u2028x",
                                    "", " ", "\u0000", "a\tb", " a", "a ", "\u007f", "x" * 513])
def test_an_id_is_accepted_exactly_when_the_published_pattern_accepts_it(tmp_path, doc_id):
    """ID_PATTERN (and ID_MAX_CHARS) is what the OpenAPI spec publishes: the rules must not be
    stricter (Python's str.strip() also strips U+0085 and U+00A0) nor looser than it."""
    from indexer.record import valid_id

    obj = {"id": doc_id, "title": "t", "body": "b"}
    item = through_jsonl(tmp_path, obj)
    assert isinstance(item, Article) == valid_id(doc_id), item
    if not valid_id(doc_id):
        assert "field 'id'" in item.reason
