"""indexer.segeval: word-level P/R/F1 against gold segmentation, our chain vs stock pyvi."""
from __future__ import annotations

from pathlib import Path

import pytest

from indexer.segeval import chain_spans, evaluate, gold_spans, locate, main, prf, pyvi_spans
from tests.indexer.test_normalize import DATA, need


def write_split(tmp_path: Path, raw: list[str], seg: list[str], split: str = "tiny") -> tuple[Path, Path]:
    r, s = tmp_path / f"{split}.raw.txt", tmp_path / f"{split}.seg.txt"
    r.write_text("\n".join(raw) + "\n", encoding="utf-8")
    s.write_text("\n".join(seg) + "\n", encoding="utf-8")
    return r, s


def test_prf() -> None:
    m = prf(1, 2, 3)
    assert m["precision"] == pytest.approx(1 / 2)
    assert m["recall"] == pytest.approx(1 / 3)
    assert m["f1"] == pytest.approx(2 * (1 / 2) * (1 / 3) / (1 / 2 + 1 / 3)) == pytest.approx(0.4)
    assert prf(0, 0, 5)["f1"] == 0.0 and prf(0, 3, 0)["recall"] == 0.0


def test_spans() -> None:
    raw = "Hồ Chí Minh học tập ."
    assert gold_spans(raw, "Hồ_Chí_Minh học_tập .") == [(0, 11), (12, 19), (20, 21)]
    assert locate("a b a", [["a"], ["b", "a"]]) == [(0, 1), (2, 5)]
    with pytest.raises(ValueError):
        locate("a b", [["c"]])
    # both systems on a sentence they agree on
    assert chain_spans(raw) == pyvi_spans(raw) == [(0, 11), (12, 19), (20, 21)]


def test_f1_on_a_tiny_hand_made_example(tmp_path: Path) -> None:
    # Both systems segment the raw lines as [Hồ Chí Minh] [học tập] [.] and
    # [Chỉ thị] [03-CT/TW] (chain: the code is one word) or [03] [-] [CT] [/] [TW] (pyvi).
    raw = ["Hồ Chí Minh học tập .", "Chỉ thị 03-CT/TW"]
    # gold (made up so that the systems are partly wrong): 'học' and 'tập' apart
    seg = ["Hồ_Chí_Minh học tập .", "Chỉ_thị 03-CT/TW"]
    r, s = write_split(tmp_path, raw, seg)
    result = evaluate(r, s)
    assert result["sentences"] == 2
    # no punctuation: gold words HCM, học, tập, Chỉ thị, 03-CT/TW = 5
    chain = result["chain"]
    assert (chain["correct"], chain["predicted"], chain["gold"]) == (3, 4, 5)  # HCM, Chỉ thị, code
    assert chain["precision"] == pytest.approx(3 / 4) and chain["recall"] == pytest.approx(3 / 5)
    assert chain["f1"] == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    pyvi = result["pyvi"]
    # pyvi: HCM, học tập, Chỉ thị, 03, CT, TW (punctuation-only '-' '/' left out) -> 2 of 6
    assert (pyvi["correct"], pyvi["predicted"], pyvi["gold"]) == (2, 6, 5)
    assert pyvi["f1"] == pytest.approx(2 * (2 / 6) * (2 / 5) / (2 / 6 + 2 / 5))
    # with punctuation: gold has '.' too (6 words); chain predicts '.' as well
    assert (result["chain_with_punct"]["correct"], result["chain_with_punct"]["gold"]) == (4, 6)
    assert result["pyvi_with_punct"]["predicted"] == 9  # + '.', '-', '/'


def test_mismatched_files(tmp_path: Path) -> None:
    r, s = write_split(tmp_path, ["a b", "c"], ["a_b"])
    with pytest.raises(ValueError):
        evaluate(r, s)


def test_main_prints_a_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_split(tmp_path, ["Hồ Chí Minh học tập ."], ["Hồ_Chí_Minh học_tập ."], split="dev")
    assert main(["--data", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| chain (normalize + Segmenter) | no punctuation | 100.00 | 100.00 | 100.00 |" in out
    assert main(["--data", str(tmp_path), "--split", "nope"]) == 2


def test_dev_f1_within_a_point_of_stock_pyvi() -> None:
    ud = need(DATA / "ud-vtb-wordseg")
    result = evaluate(ud / "dev.raw.txt", ud / "dev.seg.txt")
    assert result["sentences"] == 800
    chain, pyvi = result["chain"], result["pyvi"]
    assert chain["gold"] == pyvi["gold"] > 9000
    assert chain["f1"] >= pyvi["f1"] - 0.01, (chain, pyvi)
    assert chain["f1"] > 0.95  # pyvi's published ~97-98 F1 is on VLSP 2013; here ~96.8
