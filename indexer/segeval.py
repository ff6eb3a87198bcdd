"""Word segmentation quality against UD Vietnamese-VTB gold: our chain vs stock pyvi.

    .venv/bin/python -m indexer.segeval [--split dev] [--data DIR]

Gold: `{split}.seg.txt` (one sentence per line, the syllables of a word joined by '_') and
`{split}.raw.txt` (the same sentence as plain syllables). A word is its character span in
the raw line; a predicted word is correct when its span is exactly a gold word's span.

- chain: `indexer.normalize` + `indexer.segment.Segmenter.words` on the raw line, spans
  mapped back to the raw line. Protected tokens (codes, numbers, dates) are one word;
  punctuation is not a word (the chain drops it), each punctuation character is one token.
- pyvi: stock `pyvi.ViTokenizer.tokenize` on the raw line, its '_'-joined words located in
  the raw line.

The main numbers leave out punctuation-only words on both sides (gold and predicted), since
the chain does not produce them; the "with punctuation" rows count them too (for the chain:
one word per punctuation character, so gold "..." costs it a miss and three false hits).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["evaluate", "main", "prf", "gold_spans", "locate", "chain_spans", "pyvi_spans"]

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ud-vtb-wordseg"

Span = tuple[int, int]


def locate(line: str, words: list[list[str]]) -> list[Span]:
    """Character spans in `line` of consecutive words, each a list of its pieces."""
    spans = []
    pos = 0
    for pieces in words:
        start = None
        for piece in pieces:
            i = line.find(piece, pos)
            if i < 0:
                raise ValueError(f"{piece!r} not found in {line!r} after {pos}")
            if start is None:
                start = i
            pos = i + len(piece)
        if start is not None:
            spans.append((start, pos))
    return spans


def gold_spans(raw: str, seg: str) -> list[Span]:
    return locate(raw, [w.split("_") for w in seg.split()])


def _is_punct(line: str, span: Span) -> bool:
    return not any(c.isalnum() for c in line[span[0]:span[1]])


def prf(correct: int, predicted: int, gold: int) -> dict[str, float | int]:
    p = correct / predicted if predicted else 0.0
    r = correct / gold if gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "correct": correct, "predicted": predicted,
            "gold": gold}


def chain_spans(raw: str) -> list[Span]:
    """Our chain's words (and punctuation tokens) as spans of the raw line."""
    from indexer.normalize import normalize
    from indexer.segment import get_segmenter
    from indexer.tokens import Kind, split_tokens

    norm = normalize(raw)
    tokens = split_tokens(norm.text)
    spans = [(w.start, w.end) for w in get_segmenter().words(norm.text, tokens)]
    spans += [(t.start, t.end) for t in tokens if t.kind is Kind.PUNCT]
    return sorted(norm.span(s, e) for s, e in spans)


def pyvi_spans(raw: str) -> list[Span]:
    from pyvi import ViTokenizer

    out = ViTokenizer.tokenize(raw)
    return locate(raw, [w.split("_") for w in out.split()])


def _score(lines: list[tuple[str, list[Span], list[Span]]], with_punct: bool) -> dict:
    correct = predicted = gold_n = 0
    for raw, gold, pred in lines:
        if not with_punct:
            gold = [s for s in gold if not _is_punct(raw, s)]
            pred = [s for s in pred if not _is_punct(raw, s)]
        gold_set = set(gold)
        correct += sum(1 for s in set(pred) if s in gold_set)
        predicted += len(pred)
        gold_n += len(gold)
    return prf(correct, predicted, gold_n)


def evaluate(split_path_raw: str | Path, split_path_seg: str | Path) -> dict:
    """P/R/F1 of the chain and of stock pyvi on one split.

    Returns {"sentences", "chain", "pyvi", "chain_with_punct", "pyvi_with_punct"}, each
    system an dict of precision, recall, f1 (fractions) and the counts behind them."""
    raws = Path(split_path_raw).read_text(encoding="utf-8").splitlines()
    segs = Path(split_path_seg).read_text(encoding="utf-8").splitlines()
    if len(raws) != len(segs):
        raise ValueError(f"{split_path_raw} has {len(raws)} lines, {split_path_seg} {len(segs)}")
    chain, stock = [], []
    for raw, seg in zip(raws, segs):
        if not raw.strip():
            continue
        gold = gold_spans(raw, seg)
        chain.append((raw, gold, chain_spans(raw)))
        stock.append((raw, gold, pyvi_spans(raw)))
    return {
        "sentences": len(chain),
        "chain": _score(chain, False),
        "pyvi": _score(stock, False),
        "chain_with_punct": _score(chain, True),
        "pyvi_with_punct": _score(stock, True),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m indexer.segeval", description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="dev")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help="directory with {split}.raw.txt and {split}.seg.txt")
    args = ap.parse_args(argv)
    raw, seg = args.data / f"{args.split}.raw.txt", args.data / f"{args.split}.seg.txt"
    for p in (raw, seg):
        if not p.exists():
            print(f"missing {p}", file=sys.stderr)
            return 2
    r = evaluate(raw, seg)
    print(f"Word segmentation, UD Vietnamese-VTB {args.split} ({r['sentences']} sentences)")
    print()
    print("| system | words | precision | recall | F1 | gold words | predicted | correct |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for key, name, words in (
        ("chain", "chain (normalize + Segmenter)", "no punctuation"),
        ("pyvi", "stock pyvi.ViTokenizer.tokenize", "no punctuation"),
        ("chain_with_punct", "chain (normalize + Segmenter)", "with punctuation"),
        ("pyvi_with_punct", "stock pyvi.ViTokenizer.tokenize", "with punctuation"),
    ):
        m = r[key]
        print(f"| {name} | {words} | {100 * m['precision']:.2f} | {100 * m['recall']:.2f} | "
              f"{100 * m['f1']:.2f} | {m['gold']} | {m['predicted']} | {m['correct']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
