"""Semantic re-ranking: the term ranking's top candidates re-scored with passage vectors.

Term matching finds the candidates and stays in charge of what matches (filters, required
terms, phrases); for questions and other wordy queries the top `candidates` of its ranking
are then re-scored by mixing their term score with the cosine between the query's vector
and each passage's (`indexer.embedding`). Both scores are standardized over the candidates
(z-scores: BM25 sums and cosines live on unrelated scales) and averaged with
`weight` on the dense side. A candidate without a vector yet keeps its term score with a
dense z of 0 (the candidates' mean).

Only wordy queries (questions, or more content terms than the all-terms-required limit):
on a name, a code or a two-word topic the terms say what is wanted, and encoding the query
costs about 15 ms of CPU, five times a keyword search.

Measured on vimedaqa (1,000 medical questions), nDCG@10: terms 85.74, e5-small alone
86.52, this fusion (weight 0.5) 89.4; docs/evaluation.md has every set.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from indexer.embedding import Encoder, VectorStore, content_key, stored_passage

__all__ = ["SemanticParams", "fuse", "QueryVectors", "rerank"]


@dataclass(frozen=True)
class SemanticParams:
    candidates: int = 100  # the term ranking's top N are re-scored
    weight: float = 0.5  # share of the dense z-score in the fused score


def _z(values: np.ndarray) -> np.ndarray:
    if values.size == 0:
        return values
    sd = float(values.std())
    return (values - values.mean()) / sd if sd > 1e-12 else np.zeros_like(values)


def fuse(lexical: np.ndarray, dense: np.ndarray, has_vector: np.ndarray, weight: float) -> np.ndarray:
    """Fused scores of candidates: (1 - weight) z(lexical) + weight z(dense), the dense
    z-scores taken over the candidates that have a vector (0 for the others)."""
    dense_z = np.zeros(len(lexical), dtype=np.float64)
    if has_vector.any():
        dense_z[has_vector] = _z(dense[has_vector].astype(np.float64))
    return (1.0 - weight) * _z(lexical.astype(np.float64)) + weight * dense_z


class QueryVectors:
    """Query text -> vector, the most recent `size` kept (paging re-asks the same query)."""

    def __init__(self, encoder: Encoder, size: int = 256) -> None:
        self.encoder = encoder
        self.size = size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def get(self, text: str) -> np.ndarray:
        with self._lock:
            vec = self._cache.get(text)
            if vec is not None:
                self._cache.move_to_end(text)
                return vec
        vec = self.encoder.query(text)
        with self._lock:
            self._cache[text] = vec
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return vec


def rerank(ranked: Sequence[tuple[int, float]], query_vector: np.ndarray, store: VectorStore,
           stored: Callable[[int], dict], params: SemanticParams) -> list[tuple[int, float]]:
    """`ranked` (docnum, term score), best first: its first `params.candidates` re-scored
    and re-sorted, the rest after them in their order. Scores become the fused ones (the
    rest's on the same scale, below the head's)."""
    head = list(ranked[: params.candidates])
    if len(head) < 2:
        return list(ranked)
    keys = [content_key(stored_passage(stored(docnum))) for docnum, _ in head]
    vectors, found = store.vectors(keys)
    if not found.any():
        return list(ranked)
    dense = np.zeros(len(head), dtype=np.float32)
    dense[found] = vectors @ query_vector
    lexical = np.array([score for _, score in head], dtype=np.float64)
    fused = fuse(lexical, dense, found, params.weight)
    order = sorted(range(len(head)), key=lambda i: (-fused[i], i))
    out = [(head[i][0], float(fused[i])) for i in order]
    # the rest keep their order, scored on the same scale and never above the head
    mean, sd = float(lexical.mean()), float(lexical.std()) or 1.0
    floor = out[-1][1]
    for docnum, score in ranked[params.candidates:]:
        floor = min((1.0 - params.weight) * (score - mean) / sd, floor - 1e-6)
        out.append((docnum, floor))
    return out
