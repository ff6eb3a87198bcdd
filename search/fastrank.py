"""Top-N ranking by term-at-a-time BM25F with numpy, for queries made only of terms.

Whoosh scores document at a time through a tree of Python matchers: for a short query
matching 10k of 40k documents that took 0.5-1 s, and 10 s for a long question (measured).
Here each term's posting list comes as arrays from the generation's `PostingCache`, BM25
is computed for all its documents at once and added into a dense score array, and the top N of the
result set are picked with argpartition: tens of milliseconds.

The score of a document is the sum, over the query's terms it contains, of
boost x BM25F(term, field) with the same idf, K1, per-field B and average field length as
`whoosh.scoring.BM25F`: equal to Whoosh's score whenever every matching term's subtree
matches (always for flat OR/AND queries; a term of an unmatched AND branch also counts
here). Queries with positional phrases keep Whoosh's own scoring (`supports`).
"""
from __future__ import annotations

import threading
from collections import defaultdict
import numpy as np
from whoosh import query as wq

from search.docsets import Mask
from search.lru import ByteLRU
from search.postings import ReaderPostings
from search.ranking import RankingParams
from search.segstats import SegmentStats

__all__ = ["FastRanker", "flat_terms"]

def flat_terms(q: wq.Query) -> dict[tuple[str, str], float] | None:
    """(field, text) -> summed boost of every Term in `q`, or None if `q` has other leaves."""
    out: dict[tuple[str, str], float] = defaultdict(float)
    stack = [q]
    while stack:
        node = stack.pop()
        if isinstance(node, wq.Term):
            out[(node.fieldname, node.text)] += node.boost
        elif isinstance(node, (wq.And, wq.Or, wq.AndMaybe, wq.AndNot)):
            if isinstance(node, wq.AndNot):
                stack.append(node.a)  # the excluded side never scores
            else:
                stack.extend(node.children())
        elif node is wq.NullQuery or isinstance(node, type(wq.NullQuery)):
            continue
        else:
            return None
    return dict(out)


class FastRanker:
    """Per-generation caches (field lengths) and the ranking itself; thread-safe."""

    #: a term's scores are looked up for the candidates rather than added for its whole
    #: posting list when the list is this many times longer than the candidates (the
    #: benchmark mix, in one process, 20 alternating passes: rank 0.81 ms per query with
    #: scatter-adds only, 0.67-0.68 with 16 or 64, 0.81 with 4)
    gather_ratio: float = 32

    def __init__(self, searcher, postings: ReaderPostings,  # noqa: ANN001 - whoosh Searcher
                 score_bytes: int = 0, stats: SegmentStats | None = None) -> None:
        self._searcher = searcher
        self._cache = postings
        # per term, its BM25F contribution to each document of its postings: idf, field
        # lengths and the parameters are fixed for a generation, so only the boost varies
        # between queries (most of the arithmetic of a ranking, measured)
        self._parts = ByteLRU(score_bytes) if score_bytes > 0 else None
        self._reader = searcher.reader()
        self._n = self._reader.doc_count_all()
        self._lock = threading.Lock()
        self._lengths: dict[str, np.ndarray] = {}
        self._stats = stats if stats is not None else SegmentStats(0)  # 0: read, keep nothing

    def _field_lengths(self, field: str) -> np.ndarray:
        found = self._lengths.get(field)
        if found is not None:
            return found
        with self._lock:
            found = self._lengths.get(field)
            if found is None:
                found = np.zeros(self._n, dtype=np.float64)
                for leaf, offset in self._reader.leaf_readers():  # (per segment: `search.segstats`)
                    found[offset:offset + leaf.doc_count_all()] = self._stats.lengths(leaf, field)
                self._lengths[field] = found
        return found

    def _part(self, field: str, text: str, params: RankingParams) -> np.ndarray:
        """BM25F of the term for each document of its postings (before the boost)."""
        s = self._searcher
        p = self._cache.get(field, text)
        tf = p.tf.astype(np.float64)
        if not s.schema[field].scorable:
            return tf
        k1 = params.K1
        b = params.weighting()._field_B.get(field, params.B)  # noqa: SLF001
        avg = s.avg_field_length(field) or 1.0
        idf = s.idf(field, text)
        lengths = self._field_lengths(field)[p.ids]
        part = idf * (tf * (k1 + 1)) / (tf + k1 * ((1 - b) + b * lengths / avg))
        part.setflags(write=False)
        return part

    def rank(self, terms: dict[tuple[str, str], float], docs: Mask, limit: int,
             params: RankingParams) -> list[tuple[int, float]]:
        """The top `limit` of the documents in mask `docs` by summed BM25F of `terms`, ties
        by docnum."""
        cand = np.flatnonzero(docs)
        if not len(cand) or limit <= 0:
            return []
        s = self._searcher
        scores = np.zeros(self._n, dtype=np.float64)
        for (field, text), boost in terms.items():
            if not boost or field not in s.schema:
                continue
            ids = self._cache.ids(field, text)
            if not len(ids):
                continue
            if self._parts is None:
                part = self._part(field, text, params)
            else:
                part = self._parts.get((params, field, text), lambda: self._part(field, text, params))
            if len(cand) * self.gather_ratio < len(ids):
                # few candidates, a long posting list: find the candidates in it (binary
                # search) instead of adding all of it; the same products, added to each
                # document in the same term order, so the same sums to the last bit
                at = np.minimum(np.searchsorted(ids, cand), len(ids) - 1)
                has = ids[at] == cand
                scores[cand[has]] += boost * part[at[has]]
            else:
                # (ufunc.at: no gathered copy; numpy >= 2 made it the faster scatter-add,
                # about 0.6x the time of `scores[ids] += ...` on the benchmark mix, same sums)
                np.add.at(scores, ids, boost * part)
        cand_scores = scores[cand]
        if len(cand) > limit:
            top = np.argpartition(-cand_scores, limit - 1)[:limit]
            # include every candidate tied with the N-th score, so the docnum tiebreak is exact
            cut = cand_scores[top].min()
            top = np.nonzero(cand_scores >= cut)[0]
            cand, cand_scores = cand[top], cand_scores[top]
        order = np.lexsort((cand, -cand_scores))[:limit]
        return [(int(cand[i]), float(cand_scores[i])) for i in order]
