"""`vnsearch` subcommands in process: exit codes, what they print, and failures that name
their cause (bad records with file:line, a full disk, a missing index)."""
from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from search.cli import EXIT_FAIL, EXIT_OK, EXIT_REJECTS, main

ARTICLES = [
    {"id": "a1", "title": "Huyện ủy An Phú học tập và làm theo Bác",
     "body": "Thực hiện Chỉ thị số 03-CT/TW của Bộ Chính trị, Huyện ủy An Phú đã triển khai.",
     "date": "2014-12-30", "category": "Xây dựng Đảng"},
    {"id": "a2", "title": "Giải bóng đá thiếu niên", "body": "Đội tuyển huyện giành giải nhất.",
     "date": "2015-03-01", "category": "Thể thao"},
    {"id": "a3", "title": "Luật số 52/2014/QH13", "body": "Luật Hôn nhân và gia đình được Quốc hội thông qua.",
     "date": "2014-06-19", "category": "Pháp luật"},
]


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "articles.jsonl"
    lines = [json.dumps(a, ensure_ascii=False) for a in ARTICLES]
    lines.insert(2, "{not json")  # line 3
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def index(tmp_path: Path, corpus: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "index"
    assert main(["index", "--index", str(path), "--workers", "1", "--quiet", str(corpus)]) == EXIT_REJECTS
    capsys.readouterr()
    return path


def test_index_commits_the_good_records_and_names_the_bad_line(tmp_path: Path, corpus: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "index"
    code = main(["index", "--index", str(path), "--workers", "1", "--quiet", str(corpus)])
    out, err = capsys.readouterr()
    assert code == EXIT_REJECTS
    assert out.startswith(f"indexed {path}")
    assert f"rejected {corpus}:3" in err
    rejects = path.with_name("index.rejects.jsonl")
    assert "rejects.jsonl" in err and rejects.exists()
    assert main(["search", "--index", str(path), "--json", "bóng đá"]) == EXIT_OK
    assert [h["id"] for h in json.loads(capsys.readouterr().out)["hits"]] == ["a2"]


def test_search_json_is_the_api_body(index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--index", str(index), "--json", "huyen", "uy", "an", "phu"]) == EXIT_OK
    body = json.loads(capsys.readouterr().out)
    assert body["query"] == "huyen uy an phu" and body["total"] == 1
    hit = body["hits"][0]
    assert hit["id"] == "a1" and hit["date"].startswith("2014-12-30")
    assert "<mark>Huyện ủy An Phú</mark>" in hit["title_html"]
    assert body["facets"]["category"] == [{"value": "Xây dựng Đảng", "count": 1}]


def test_search_codes_filters_and_text_output(index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--index", str(index), "--json", "52/2014/QH13"]) == EXIT_OK
    assert [h["id"] for h in json.loads(capsys.readouterr().out)["hits"]] == ["a3"]
    assert main(["search", "--index", str(index), "--json", "--category", "Thể thao", "huyện"]) == EXIT_OK
    assert [h["id"] for h in json.loads(capsys.readouterr().out)["hits"]] == ["a2"]
    assert main(["search", "--index", str(index), "--json", "--date-from", "2015-01-01", "huyện"]) == EXIT_OK
    assert [h["id"] for h in json.loads(capsys.readouterr().out)["hits"]] == ["a2"]
    assert main(["search", "--index", str(index), "--sort", "newest", "huyện"]) == EXIT_OK
    text = capsys.readouterr().out
    assert text.index("id: a2") < text.index("id: a1")  # 2015 before 2014
    assert "[Huyện] ủy An Phú" in text  # matches bracketed


def test_bad_arguments_and_missing_index(tmp_path: Path, index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["search", "--index", str(index), "--date-from", "30/12/2014", "a"])
    assert exc.value.code == 2 and "not a date (YYYY-MM-DD): '30/12/2014'" in capsys.readouterr().err
    assert main(["search", "--index", str(index), "--page", "0", "a"]) == EXIT_FAIL
    assert capsys.readouterr().err.startswith("vnsearch search: ")
    assert main(["search", "--index", str(tmp_path / "none"), "a"]) == EXIT_FAIL
    assert capsys.readouterr().err.startswith("vnsearch search: ")
    assert main(["index", "--index", str(index), str(tmp_path / "missing.jsonl")]) == EXIT_FAIL
    assert "no such file or directory" in capsys.readouterr().err


def test_delete(index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--index", str(index), "--json", "giải bóng đá"]) == EXIT_OK
    assert [h["id"] for h in json.loads(capsys.readouterr().out)["hits"]] == ["a2"]
    assert main(["delete", "--index", str(index), "a2"]) == EXIT_OK
    assert "deleted 1 document(s)" in capsys.readouterr().out
    assert main(["delete", "--index", str(index), "a2", "zz"]) == EXIT_FAIL
    out, err = capsys.readouterr()
    assert "not found: a2" in err and "not found: zz" in err
    assert main(["search", "--index", str(index), "--json", "giải bóng đá"]) == EXIT_OK
    assert "a2" not in [h["id"] for h in json.loads(capsys.readouterr().out)["hits"]]


@pytest.mark.parametrize("rebuild, says", [
    (False, "every batch committed before it is kept"),
    (True, "the live index was not changed"),
])
def test_a_disk_error_says_what_was_kept(index: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str], rebuild: bool, says: str) -> None:
    import indexer.build

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(index / "x.seg"))

    monkeypatch.setattr(indexer.build, "build", full)
    args = ["index", "--index", str(index), "--quiet", str(corpus)] + (["--rebuild"] if rebuild else [])
    assert main(args) == EXIT_FAIL
    err = capsys.readouterr().err
    assert err.startswith(f"vnsearch index: No space left on device: {index / 'x.seg'}; {says}")
    assert "Traceback" not in err


def test_serve_runs_gunicorn_with_the_settings(index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    seen: dict = {}

    def execve(path, argv, env):  # noqa: ANN001
        seen.update(path=path, argv=argv, env=env)
        raise SystemExit(0)

    monkeypatch.setattr(os, "execve", execve)
    with pytest.raises(SystemExit):
        main(["serve", "--index", str(index), "--port", "8123", "--workers", "3"])
    assert seen["argv"][1:4] == ["-m", "gunicorn", "-c"]
    assert seen["argv"][4].endswith("config/gunicorn.conf.py")
    assert seen["argv"][-1] == "search.api.wsgi:application"
    env = seen["env"]
    assert env["VNSEARCH_INDEX_PATH"] == str(index.resolve())
    assert env["VNSEARCH_SERVER_PORT"] == "8123" and env["VNSEARCH_WORKERS"] == "3"


def test_embed_encodes_each_passage_once(tmp_path: Path, corpus: Path, index: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from indexer.embedding import VectorStore, vectors_dir

    assert main(["embed", "--index", str(index), "--quiet"]) == EXIT_OK  # the real encoder
    assert capsys.readouterr().out.strip() == (
        f"embedded {index}: 3 documents, 3 encoded, 0 already had a vector")
    assert len(VectorStore(vectors_dir(index))) == 3
    assert main(["embed", "--index", str(index), "--quiet"]) == EXIT_OK
    assert "0 encoded, 3 already had a vector" in capsys.readouterr().out
    # a question now ranks with the vectors; the answer to it comes first either way
    assert main(["search", "--index", str(index), "--json", "Luật hôn nhân được thông qua khi nào?"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["hits"][0]["id"] == "a3"
    fresh = tmp_path / "fresh"
    assert main(["index", "--index", str(fresh), "--workers", "1", "--quiet", "--embed", str(corpus)]) == EXIT_REJECTS
    assert "3 encoded" in capsys.readouterr().out
    assert main(["embed", "--index", str(tmp_path / "nothing"), "--quiet"]) == EXIT_FAIL
    assert "no index in" in capsys.readouterr().err


def test_a_rebuild_copies_unchanged_passages_from_the_previous_generation(
        tmp_path: Path, corpus: Path, index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["embed", "--index", str(index), "--quiet"]) == EXIT_OK
    capsys.readouterr()
    assert main(["index", "--index", str(index), "--workers", "1", "--quiet", "--rebuild",
                 "--embed", str(corpus)]) == EXIT_REJECTS
    out = capsys.readouterr().out
    assert "0 encoded, 0 already had a vector, 3 copied from the previous generation" in out
