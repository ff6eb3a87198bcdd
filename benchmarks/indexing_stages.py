"""Where an indexed article's CPU goes, stage by stage, in one process.

    .venv/bin/python benchmarks/indexing_stages.py [--docs 4000] [--corpus PATH]

The end-to-end benchmark (`benchmarks/indexing.py`) gives docs/s and the CPU of the writer
and of the analysis workers; this one splits that CPU by stage on the first N articles of a
corpus, each stage run on its own over the same articles (after one untimed pass that
warms the segmenter's syllable cache, as a long run has it), so the sum can be set against
the budget that 300 docs/s on 2 cores allows (2 x 1000 / 300 = 6.7 ms per article, with
both cores busy all the time):
- read: xz decompression, JSON, record checks (`read_jsonl`);
- normalize, segment (tokens + CRF labels, `Segmenter.index_words`), term streams (the rest of
  `index_terms`), posting encoding (`encode_terms`, `encode_syllables_and_folded`): the analysis workers' `prepare`;
- writing them as one segment: what each pool worker does with its prepared batch
  (`indexer.parts.write_part`; the main process then only adopts the file in a commit);
- merging, for reference, outside the sum: the same articles written as two segments, then
  merged into one (every posting decoded and encoded again). A bulk build no longer merges
  its 4,000-article segments (`merge_policy.merge_tiered`); API writes' small segments do.
The sum is what one article costs the pipeline as it runs: read in the main process,
prepared and written by a worker (prepared articles no longer cross processes).
"""
from __future__ import annotations

import argparse
import gc
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import common as c  # noqa: E402
from indexer.analysis import index_terms  # noqa: E402
from indexer.build import BuildStats, _write_batch  # noqa: E402
from indexer.normalize import normalize  # noqa: E402
from indexer.parts import write_part  # noqa: E402
from indexer.schema import encode_syllables_and_folded, encode_terms, field_texts, prepare  # noqa: E402
from indexer.segment import get_segmenter  # noqa: E402
from indexer.store import open_or_create, open_writer  # noqa: E402

BUDGET_MS = 2 * 1000 / 300


def _cpu(fn) -> tuple[float, object]:  # noqa: ANN001
    """CPU seconds of fn(), cyclic GC paused: the stages' outputs are kept for the next
    stage here (millions of containers a full collection would walk again and again),
    where a run passes each article on; the writer pauses GC itself (`store.gc_paused`)."""
    gc.collect()
    gc.disable()
    try:
        start = time.process_time()
        out = fn()
        return time.process_time() - start, out
    finally:
        gc.enable()


def measure(corpus: Path, docs: int) -> list[tuple[str, float]]:
    """(stage, ms of CPU per article), in pipeline order."""
    segmenter = get_segmenter()
    gc.freeze()  # as the workers do after loading the model (`indexer.build._warm_up`)
    t_read, articles = _cpu(lambda: list(c.iter_corpus(corpus, docs)))
    texts = [indexed for a in articles for _, indexed, _ in field_texts(a)]  # what prepare analyses
    for a in articles:  # untimed: fill the segmenter's syllable cache, warm in a long run
        prepare(a)
    t_norm, norms = _cpu(lambda: [normalize(t) for t in texts])
    t_seg, _ = _cpu(lambda: [segmenter.index_words(n.text) for n in norms])
    t_terms, terms = _cpu(lambda: [index_terms(t) for t in texts])
    t_enc, _ = _cpu(lambda: [(encode_syllables_and_folded(x.syllables, x.folded),
                              encode_terms(x.words, False), encode_terms(x.bigrams, False))
                             for x in terms])
    t_prep, prepared = _cpu(lambda: {a.id: prepare(a) for a in articles})
    tmp = Path(tempfile.mkdtemp(prefix="vnsearch-stages-"))
    try:
        (tmp / "parts").mkdir()
        t_write, _ = _cpu(lambda: write_part(articles, str(tmp / "parts"),
                                             lambda a: (a.id, prepared[a.id])))
        ix2 = open_or_create(tmp / "two")
        items = list(prepared.items())
        half = len(items) // 2
        _write_batch(ix2, dict(items[:half]), 30.0, BuildStats())
        _write_batch(ix2, dict(items[half:]), 30.0, BuildStats())

        def merge() -> None:
            with open_writer(ix2, 30.0) as writer:
                writer.commit(optimize=True)

        t_merge, _ = _cpu(merge)
        assert len(ix2._segments()) == 1  # noqa: SLF001 - the merge happened
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    n = len(articles)
    per = lambda s: 1000 * s / n  # noqa: E731
    return [
        ("read (xz, JSON, records)", per(t_read)),
        ("normalize", per(t_norm)),
        ("segment (tokens, CRF labels)", per(t_seg)),
        ("term streams (rest of index_terms)", per(t_terms - t_norm - t_seg)),
        ("encode postings", per(t_enc)),
        ("= prepare (worker)", per(t_prep)),
        ("write the batch as a segment (worker)", per(t_write)),
        ("(merge, per article merged: not in a bulk build)", per(t_merge)),
    ]


def markdown(rows: list[tuple[str, float]], docs: int, corpus: Path) -> str:
    total = sum(ms for name, ms in rows if not name.startswith(("=", "(")))
    lines = [f"{docs:,} articles of `{corpus.parent.name}`; {c.machine_line(c.machine())}.",
             "", "| stage | ms of CPU per article |", "| --- | ---: |"]
    lines += [f"| {name} | {ms:.2f} |" for name, ms in rows]
    lines += [f"| **sum** (prepare counted through its parts; merge left out) | **{total:.2f}** |",
              f"| budget for 300 docs/s on 2 cores | {BUDGET_MS:.2f} |"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--docs", type=int, default=4000)
    p.add_argument("--corpus", type=Path, default=c.VNTC)
    args = p.parse_args(argv)
    rows = measure(args.corpus, args.docs)
    print(markdown(rows, args.docs, args.corpus))
    return 0


if __name__ == "__main__":
    sys.exit(main())
