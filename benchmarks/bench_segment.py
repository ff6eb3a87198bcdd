"""Segmentation throughput: stock pyvi vs our Segmenter vs the analysis chains (query and index).

    .venv/bin/python benchmarks/bench_segment.py [--docs 2000] [--runs 3] [--data DIR]
        [--no-freeze] [--profile words|analyze|index] [--only none|stock|words|analyze|index]

Sample: the first N documents of vntc-news/corpus.jsonl.xz (title and body, as two texts
per document). Every engine gets the same texts, one call per text, in one process; the
best of `--runs` timed runs is reported, wall-clock and CPU time (the CPU numbers are the
steadier ones on a shared machine). The syllable count (the denominator of every
rate) is the number of tokens pyvi's own `sylabelize` finds in the sample, line by line,
so the rates are directly comparable.

Before timing, an identical-output check: for every non-empty line of the sample, our
`Segmenter.labels` on pyvi's syllables equals stock pyvi's CRF labels.
"""
from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import importlib.metadata
import json
import lzma
import os
import platform
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_DATA = ROOT.parent / "shared" / "data"


def load_sample(data: Path, docs: int) -> list[str]:
    texts: list[str] = []
    with lzma.open(data / "vntc-news" / "corpus.jsonl.xz", "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= docs:
                break
            rec = json.loads(line)
            for key in ("title", "body"):
                if rec.get(key):
                    texts.append(rec[key])
    return texts


def cpu_model() -> str:
    from benchmarks.common import cpu_model as common_cpu_model

    return common_cpu_model()


def versions() -> str:
    out = []
    for pkg in ("pyvi", "python-crfsuite"):
        try:
            out.append(f"{pkg} {importlib.metadata.version(pkg)}")
        except importlib.metadata.PackageNotFoundError:
            out.append(f"{pkg} ?")
    return ", ".join(out)


def best_of(runs: int, fn, texts: list[str]) -> tuple[float, float]:
    """Best wall-clock and best CPU (process) seconds over `runs` passes."""
    wall = cpu = float("inf")
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        for t in texts:
            fn(t)
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--profile", choices=("words", "analyze", "index"), default=None,
                    help="print a cProfile of one pass instead of the benchmark")
    ap.add_argument("--only", choices=("none", "stock", "words", "analyze", "index"), default=None,
                    help="load everything, run one pass of one engine and exit (for "
                         "instruction counts: valgrind --tool=callgrind, minus --only none)")
    ap.add_argument("--no-freeze", action="store_true",
                    help="leave the loaded modules and models in the GC's view (see below)")
    args = ap.parse_args(argv)

    from pyvi import ViTokenizer as vt_module

    from indexer.analysis import analyze, index_terms
    from indexer.normalize import normalize_text
    from indexer.segment import Segmenter

    VT = vt_module.ViTokenizer
    texts = load_sample(args.data, args.docs)
    seg = Segmenter()
    # Segmenter.words takes normalized text; normalizing is part of (3), not of (2).
    norm_texts = [normalize_text(t) for t in texts]

    if args.only:
        fn, sample = {"none": (None, texts), "stock": (vt_module.tokenize, texts),
                      "words": (seg.words, norm_texts), "analyze": (analyze, texts),
                      "index": (index_terms, texts)}[args.only]
        seg.words(norm_texts[0]), analyze(texts[0]), index_terms(texts[0]), vt_module.tokenize(texts[0])  # warm up
        if fn is not None:
            for t in sample:
                fn(t)
        return 0

    if args.profile:
        fn = {"words": seg.words, "analyze": analyze, "index": index_terms}[args.profile]
        sample = norm_texts if args.profile == "words" else texts
        prof = cProfile.Profile()
        prof.enable()
        for t in sample:
            fn(t)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(20)
        return 0

    # identical-output check and the common syllable count
    lines = [line for t in texts for line in t.split("\n") if line.strip()]
    syllables = 0
    mismatches = 0
    for line in lines:
        syls = VT.sylabelize(line)[1]
        syllables += len(syls)
        if not syls:
            continue
        stock = list(VT.model.predict([VT.sent2features(syls, False)])[0])
        if seg.labels(syls) != stock:
            mismatches += 1
    chars = sum(len(t) for t in texts)

    # Everything is loaded now (pyvi imports sklearn/scipy/numpy; our model and caches);
    # freeze that heap so that the GC's full collections, triggered by the objects the
    # engines allocate, do not re-scan it on every pass (the same for all three engines;
    # a pre-forking indexer does the same). --no-freeze measures without it.
    gc.collect()
    if not args.no_freeze:
        gc.freeze()
    results = [
        ("stock `pyvi.ViTokenizer.tokenize`", best_of(args.runs, vt_module.tokenize, texts)),
        ("`indexer.segment.Segmenter.words` (normalized text)",
         best_of(args.runs, seg.words, norm_texts)),
        ("`indexer.analysis.analyze` (whole chain)", best_of(args.runs, analyze, texts)),
        ("`indexer.analysis.index_terms` (the indexer's chain, no offsets)",
         best_of(args.runs, index_terms, texts)),
    ]
    stock_wall, stock_cpu = results[0][1]

    print(f"Sample: first {args.docs} vntc-news documents, {len(texts)} texts (title, body), "
          f"{len(lines):,} lines, {chars:,} characters, {syllables:,} pyvi syllables")
    print(f"Machine: nproc {len(os.sched_getaffinity(0))}, {cpu_model()}; "
          f"Python {platform.python_version()}; {versions()}; "
          f"{dt.datetime.now().strftime('%Y-%m-%d %H:%M')}; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; "
          f"gc {'not frozen' if args.no_freeze else 'frozen after loading'}")
    print(f"Identical labels (ours vs stock CRF, pyvi syllables): "
          f"{len(lines) - mismatches:,}/{len(lines):,} lines"
          + ("" if mismatches == 0 else f"  ** {mismatches} MISMATCHES **"))
    print()
    print(f"| engine | best of {args.runs} wall (s) | syllables/s (wall) | vs stock | "
          f"best CPU (s) | syllables/s (CPU) | vs stock |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, (wall, cpu) in results:
        print(f"| {name} | {wall:.2f} | {syllables / wall:,.0f} | {stock_wall / wall:.2f}x | "
              f"{cpu:.2f} | {syllables / cpu:,.0f} | {stock_cpu / cpu:.2f}x |")
    return 1 if mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
