"""Would word vectors trained on our own corpora close the lexical gap? A probe on the baseline BM25.

    .venv/bin/python benchmarks/embedding_probe.py [--unit syllables|words] [--out FILE] [SET_DIR ...]

Most of vimedaqa's misses are vocabulary mismatches (docs/lexical-gap.md), and the
pretrained Vietnamese models that would match meaning (PhoW2V, multilingual sentence
encoders) live on hosts this machine cannot reach. What can be built here is word2vec
(gensim, `bench` extra) trained on the text we have: the news corpora (VNTC, Báo Mới,
Dân trí), the 109 laws, and the passages of the four retrieval sets (documents only,
never a question). Two uses are tried, both on `../shared/tools/bm25_reference.py`'s
syllables, idf and k1/b, so the baseline column is that tool's run and any gain is the
method's alone:

- *expansion* (`x/n/beta`): each query syllable brings its `n` nearest syllables whose
  cosine is at least `x`, weighted `beta * cosine` (the query's own syllables weigh 1);
- *fusion* (`dense lambda`): the first 100 passages of the baseline are ranked again by
  BM25 / (its best score) + `lambda` * cosine of idf-weighted mean vectors of the query
  and the passage (the passage's whole text).

With `--unit words` the unit is the word instead of the syllable: every text (training
text, passages, questions) is segmented by our chain (`indexer.segment`, pyvi's model;
"bệnh nhân" -> "bệnh_nhân"), BM25 runs over those words with the reference's k1/b and idf,
and the vectors are word vectors, so "bệnh_nhân" can bring "người_bệnh". Its baseline
column is that word BM25, not the reference's syllable run.

Every setting is reported; none is picked on the score of one set.
"""
from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import BAOMOI, CACHE, DANTRI, DATA, VNTC  # noqa: E402
from benchmarks.baseline_runs import ReferenceBM25, load_reference  # noqa: E402
from benchmarks.compare_eval import DEFAULT_SETS, write_report  # noqa: E402
from benchmarks.feedback_probe import gain_table  # noqa: E402
from indexer.normalize import normalize  # noqa: E402
from indexer.record import Article  # noqa: E402
from indexer.segment import segment  # noqa: E402
from indexer.sources.jsonl import read_jsonl  # noqa: E402
from search.evaluate import load_qrels, load_queries, ndcg_at_10  # noqa: E402

LAWS = DATA / "vlc-vietnamese-laws"
# (min cosine, neighbours per syllable, weight): small to large expansions
EXPANSIONS = [(0.7, 1, 0.3), (0.6, 3, 0.3), (0.5, 5, 0.2), (0.5, 5, 0.5)]
FUSIONS = [0.1, 0.3, 0.5]
WORK = CACHE / "embedding-probe"


def word_tokens(text: str) -> list[str]:
    """A text as lowercased words, syllables joined by "_" ("Bệnh nhân" -> "bệnh_nhân")."""
    out = []
    for line in text.split("\n"):
        for w in segment(normalize(line).text):
            t = w.text.lower().replace(" ", "_")
            if any(ch.isalnum() for ch in t):
                out.append(t)
    return out


def _tokenizer(unit: str):  # noqa: ANN202
    return load_reference().tokens if unit == "syllables" else word_tokens


class Sentences:
    """The paragraphs of every training file's titles, summaries and bodies as `tokens`
    gives them (re-iterable, for gensim's epochs)."""

    def __init__(self, files: list[Path], tokens: Callable[[str], list[str]]) -> None:
        self.files = files
        self.tokens = tokens

    def __iter__(self) -> Iterator[list[str]]:
        for path in self.files:
            for doc in read_jsonl(path):
                if not isinstance(doc, Article):  # a bad record: not training text
                    continue
                for text in (doc.title, doc.summary, doc.body):
                    for para in (text or "").split("\n"):
                        toks = self.tokens(para)
                        if len(toks) > 1:
                            yield toks


def training_files(sets: list[Path]) -> list[Path]:
    files = [VNTC, BAOMOI, DANTRI]
    files += sorted(p for p in LAWS.glob("*.jsonl*"))
    for s in sets:
        files += sorted(s.glob("corpus.jsonl*"))
    return [f for f in files if f.exists()]


def _segment_file(path: Path) -> str:
    """One training file segmented into words, one line per paragraph (a worker's job)."""
    out = WORK / (path.name.split(".")[0] + "-" + path.parent.name + ".words.txt")
    if not out.exists():
        with open(str(out) + ".tmp", "w", encoding="utf-8") as f:
            for toks in Sentences([path], word_tokens):
                f.write(" ".join(toks) + "\n")
        Path(str(out) + ".tmp").rename(out)
    return str(out)


def train(sets: list[Path], unit: str):  # noqa: ANN201 - gensim KeyedVectors
    from gensim.models import KeyedVectors, Word2Vec

    model_path = WORK / f"w2v-{unit}.model"
    if model_path.exists():
        return KeyedVectors.load(str(model_path))
    WORK.mkdir(parents=True, exist_ok=True)
    started = time.time()
    params = dict(vector_size=100, window=5, min_count=3, sg=1, negative=5, sample=1e-4,
                  workers=2, epochs=3, seed=1)
    if unit == "syllables":
        model = Word2Vec(Sentences(training_files(sets), _tokenizer(unit)), **params)
    else:  # segmenting is the slow part: once, in 2 processes, then gensim reads the files
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(2) as pool:
            parts = list(pool.map(_segment_file, training_files(sets)))
        joined = WORK / "words.txt"
        with open(joined, "wb") as f:
            for part in parts:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, f)
        print(f"segmented in {time.time() - started:.0f} s", flush=True)
        model = Word2Vec(corpus_file=str(joined), **params)
    print(f"trained in {time.time() - started:.0f} s: {len(model.wv)} {unit}, "
          f"{model.corpus_total_words:,} tokens", flush=True)
    model.wv.save(str(model_path))
    return model.wv


def _mean_vector(wv, tf: Counter, idf: dict[str, float]) -> np.ndarray | None:  # noqa: ANN001
    vecs, weights = [], []
    for t, c in tf.items():
        if t in wv.key_to_index:
            vecs.append(wv.get_vector(t, norm=True))
            weights.append(c * idf.get(t, 0.0))
    if not vecs or not sum(weights):
        return None
    v = np.average(np.array(vecs), axis=0, weights=weights)
    n = np.linalg.norm(v)
    return v / n if n else None


def probe(set_dir: Path, wv, unit: str) -> dict[str, float]:  # noqa: ANN001
    tokens = _tokenizer(unit)
    corpus = ReferenceBM25.load(set_dir, tokens)
    qrels = load_qrels(set_dir / "qrels.txt")
    queries = [q for q in load_queries(set_dir / "queries.jsonl") if q["qid"] in qrels]
    doc_vecs = [_mean_vector(wv, tf, corpus.idf) for tf in corpus.tfs]
    neighbours: dict[str, list[tuple[str, float]]] = {}  # each unit's `most` nearest
    most = max(n for _, n, _ in EXPANSIONS)
    sums: Counter = Counter()
    for q in queries:
        terms = Counter(set(tokens(q["query"])))
        ranked = corpus.rank(terms)
        rel = qrels[q["qid"]]
        sums["baseline"] += ndcg_at_10([corpus.ids[i] for i, _ in ranked[:10]], rel)
        for x, n, beta in EXPANSIONS:
            weights: dict[str, float] = dict(terms)
            for t in terms:
                if t not in neighbours:
                    neighbours[t] = wv.most_similar(t, topn=most) if t in wv.key_to_index else []
                for other, cos in neighbours[t][:n]:
                    if cos >= x and other not in terms:
                        weights[other] = max(weights.get(other, 0.0), beta * cos)
            again = corpus.rank(weights)
            sums[f"{x}/{n}/{beta}"] += ndcg_at_10([corpus.ids[i] for i, _ in again[:10]], rel)
        qv = _mean_vector(wv, terms, corpus.idf)
        top = ranked[:100]
        best = top[0][1] if top else 1.0
        for lam in FUSIONS:
            if qv is None:
                fused = top
            else:
                fused = sorted(((i, s / best + lam * (float(qv @ doc_vecs[i]) if doc_vecs[i] is not None else 0.0))
                                for i, s in top), key=lambda x: -x[1])
            sums[f"dense {lam}"] += ndcg_at_10([corpus.ids[i] for i, _ in fused[:10]], rel)
    return {k: 100 * v / max(1, len(queries)) for k, v in sums.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sets", nargs="*", type=Path, default=DEFAULT_SETS)
    p.add_argument("--unit", choices=["syllables", "words"], default="syllables")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    out = args.out or ROOT / "docs" / f"embedding-probe-{args.unit}.md"
    wv = train(list(DEFAULT_SETS), args.unit)
    columns = (["baseline"] + [f"{x}/{n}/{b}" for x, n, b in EXPANSIONS]
               + [f"dense {lam}" for lam in FUSIONS])
    lines = [
        f"# Word vectors from our own corpora on BM25 over {args.unit}: a probe",
        "",
        f"Generated {dt.date.today().isoformat()} by:",
        "",
        f"    .venv/bin/python benchmarks/embedding_probe.py --unit {args.unit}",
        "",
        f"Skip-gram word2vec (gensim; 100 dimensions, window 5, 3 epochs) over {len(wv):,}",
        f"{args.unit} of the news corpora, the laws and the retrieval sets' passages (no question).",
        "nDCG@10 of BM25 (`../shared/tools/bm25_reference.py`'s k1, b and idf"
        + (", its syllables: its own run)" if args.unit == "syllables" else
           ", over our segmentation's words)"),
        "and of the same ranking with the query expanded by each unit's nearest units (min",
        "cosine / neighbours / weight) or re-ranked with a dense cosine (`dense` lambda); see",
        "the script's docstring.",
        "",
    ]
    best_gain = gain_table(lines, columns, args.sets, lambda set_dir: probe(set_dir, wv, args.unit))
    if all(g < 0.5 for g in best_gain.values()):
        lines.append("No setting gains half a point on any set, so `/search` does not use these vectors.")
    write_report(out, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
