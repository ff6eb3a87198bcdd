"""`vnsearch eval`: metrics, query variants, the qrels and corpus formats, the command end to end."""
from __future__ import annotations

import gzip
import json
import math
import unicodedata
from pathlib import Path

import pytest

from search.cli import main as cli_main
from search.evaluate import VARIANTS, corpus_file, load_qrels, load_queries, metrics


def test_metrics_of_known_rankings() -> None:
    runs = [
        (["a", "b", "c"], {"a"}),  # first: everything 1
        (["x", "a"], {"a"}),  # second: P@1 0, RR 1/2, DCG 1/log2(3)
        (["a", "y"], {"a", "z"}),  # one of two relevant first: ideal DCG has two terms
        ([], {"q"}),  # nothing found
    ]
    got = metrics(runs)
    assert got["queries"] == 4
    assert got["P@1"] == 50.0
    assert got["MRR@10"] == round(100 * (1 + 0.5 + 1 + 0) / 4, 2)
    ndcg = (1 + 1 / math.log2(3) + 1 / (1 + 1 / math.log2(3)) + 0) / 4
    assert got["nDCG@10"] == round(100 * ndcg, 2)
    assert got["R@10"] == round(100 * (1 + 1 + 0.5 + 0) / 4, 2)


def test_metrics_cut_at_10_and_100() -> None:
    ranked = [f"d{i}" for i in range(150)]
    got = metrics([(ranked, {"d10"}), (ranked, {"d120"})])
    assert got["R@10"] == 0.0 and got["MRR@10"] == 0.0 and got["nDCG@10"] == 0.0
    assert got["R@100"] == 50.0  # d10 within the top 100, d120 not


def test_unaccented_variant_strips_every_diacritic() -> None:
    assert VARIANTS["unaccented"]("Huyện ủy An Phú đã Đồng ý") == "Huyen uy An Phu da Dong y"


@pytest.mark.parametrize("text, swapped", [
    ("hòa bình", "hoà bình"),
    ("Thủy lợi", "Thuỷ lợi"),
    ("khỏe mạnh", "khoẻ mạnh"),
    ("ủy ban", "uỷ ban"),  # the brief's own pair: ủy/uỷ
    ("quý", "quý"),  # "qu" is a consonant: not the uy of thủy
    ("Hà Nội", "Hà Nội"),  # nothing to swap
])
def test_tones_variant_swaps_the_tone_placement_of_oa_oe_uy(text: str, swapped: str) -> None:
    assert VARIANTS["tones"](text) == swapped
    assert VARIANTS["tones"](swapped) == unicodedata.normalize("NFC", text)


def test_nfd_variant_is_the_same_text_decomposed() -> None:
    q = "Nghị quyết 05-NQ/TU của Tỉnh ủy"
    nfd = VARIANTS["nfd"](q)
    assert nfd != q and unicodedata.normalize("NFC", nfd) == q


def test_qrels_keep_relevant_pairs_only(tmp_path: Path) -> None:
    path = tmp_path / "qrels.txt"
    path.write_text("q1 0 d1 1\nq1 0 d2 2\nq2 0 d3 0\n\nq3 0 d4 1\n", encoding="utf-8")
    assert load_qrels(path) == {"q1": {"d1", "d2"}, "q3": {"d4"}}


def test_corpus_file_finds_plain_or_compressed_jsonl(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        corpus_file(tmp_path)
    (tmp_path / "corpus.jsonl.gz").write_bytes(gzip.compress(b"{}\n"))
    assert corpus_file(tmp_path) == tmp_path / "corpus.jsonl.gz"


def _retrieval_set(root: Path) -> Path:
    docs = [
        ("d1", "Huyện ủy An Phú", "Huyện ủy An Phú họp bàn kế hoạch phát triển kinh tế năm 2025."),
        ("d2", "Hòa bình và hữu nghị", "Hội nghị bàn về hòa bình, hợp tác và hữu nghị giữa các nước."),
        ("d3", "Thủy lợi nội đồng", "Tỉnh đầu tư công trình thủy lợi nội đồng cho mùa khô."),
        ("d4", "Chỉ thị 03-CT/TW", "Chỉ thị số 03-CT/TW về tăng cường công tác tuyên truyền."),
    ]
    queries = [("q1", "huyện ủy An Phú"), ("q2", "hòa bình hữu nghị"), ("q3", "công trình thủy lợi"),
               ("q4", "Chỉ thị 03-CT/TW")]
    root.mkdir()
    with open(root / "corpus.jsonl", "w", encoding="utf-8") as f:
        for doc_id, title, body in docs:
            f.write(json.dumps({"id": doc_id, "title": title, "body": body}, ensure_ascii=False) + "\n")
    with open(root / "queries.jsonl", "w", encoding="utf-8") as f:
        for qid, q in queries:
            f.write(json.dumps({"qid": qid, "query": q}, ensure_ascii=False) + "\n")
    (root / "qrels.txt").write_text("".join(f"q{i} 0 d{i} 1\n" for i in range(1, 5)), encoding="utf-8")
    return root


def test_eval_command_prints_every_metric_for_every_variant(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    root = _retrieval_set(tmp_path / "set")
    assert cli_main(["eval", str(root), "--variant", "all", "--json",
                     "--index", str(tmp_path / "index")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == set(VARIANTS)
    for scores in out.values():
        assert set(scores) == {"P@1", "MRR@10", "nDCG@10", "R@10", "R@100", "queries"}
        assert scores["queries"] == 4
    # each query names its own document: found first however it is typed
    assert out["accented"]["P@1"] == 100.0
    assert out["unaccented"]["P@1"] == 100.0
    assert out["tones"] == out["nfd"] == out["accented"]
    # --index reuses the index built by the first run
    assert cli_main(["eval", str(root), "--json", "--index", str(tmp_path / "index")]) == 0
    assert json.loads(capsys.readouterr().out) == out["accented"]


def test_eval_command_rejects_an_unknown_variant(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    root = _retrieval_set(tmp_path / "set")
    assert cli_main(["eval", str(root), "--variant", "reversed"]) == 1
    assert "unknown variant 'reversed'" in capsys.readouterr().err


def test_eval_command_names_what_is_missing_or_malformed(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    assert cli_main(["eval", str(tmp_path / "nowhere")]) == 1
    assert "has no corpus.jsonl[.gz|.xz], queries.jsonl, qrels.txt" in capsys.readouterr().err
    root = _retrieval_set(tmp_path / "set")
    (root / "qrels.txt").unlink()
    assert cli_main(["eval", str(root)]) == 1
    assert capsys.readouterr().err.strip().endswith("has no qrels.txt")
    (root / "qrels.txt").write_text("q1 0 d1 1\nq2 d2 1\n", encoding="utf-8")
    assert cli_main(["eval", str(root), "--index", str(tmp_path / "index")]) == 1
    assert f"{root / 'qrels.txt'}:2: expected 'qid 0 docid relevance'" in capsys.readouterr().err
    (root / "qrels.txt").write_text("q1 0 d1 1\n", encoding="utf-8")
    with open(root / "queries.jsonl", "a", encoding="utf-8") as f:
        f.write('{"qid": "q9"\n')
    assert cli_main(["eval", str(root), "--index", str(tmp_path / "index")]) == 1
    assert f"{root / 'queries.jsonl'}:5: not JSON" in capsys.readouterr().err


def test_qrels_and_queries_with_bad_lines_name_them(tmp_path: Path) -> None:
    queries = tmp_path / "queries.jsonl"
    queries.write_text('{"qid": "q1", "query": "hòa bình"}\n\n["q2"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"queries.jsonl:3: a query needs"):
        load_queries(queries)
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("q1 0 d1 1\n\nq1 0 d2 x\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"qrels.txt:3: expected"):
        load_qrels(qrels)
    qrels.write_text("q1 0 d1 1\nbroken line\n", encoding="utf-8")  # not skipped: it would change the scores
    with pytest.raises(ValueError, match=r"qrels.txt:2: expected"):
        load_qrels(qrels)
