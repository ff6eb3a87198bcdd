"""Ranking weights, in one dataclass so the evaluation harness can vary them.

Scores are BM25F per indexed field (Whoosh sums the per-field BM25 scores), each term
query boosted by field weight x stream weight: title above summary above body, multi-
syllable words above single syllables above accent-folded syllables, plus bonuses for
consecutive syllables found as a phrase and for the whole query found close together.
Scores use BM25's own idf, ln(1 + (N - df + 0.5) / (df + 0.5)), not Whoosh's +1 variant,
raised to `idf_power` (1.5) so that a question's one rare name outweighs its many common words.

Measured with these defaults and semantic re-ranking off (the term ranking alone, nDCG@10
accented / unaccented; plain syllable BM25 in brackets, accented): ALQAC legal retrieval
90.20 / 89.55 (84.08), vimedaqa 85.74 / 82.35 (83.69), virhe4qa 86.60 / 85.24 (81.05),
alqac-qa 96.94 / 96.62 (94.40); tone-swapped and NFD queries score as accented. With the
re-ranking of `search.semantic` on top (the `/search` default): 90.38, 89.39, 87.45,
97.47. Full table: docs/evaluation.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from whoosh import scoring

from indexer.schema import STREAMS, TEXT_FIELDS

__all__ = ["RankingParams", "RobertsonBM25F"]


class RobertsonBM25F(scoring.BM25F):
    """BM25F with the probabilistic (Robertson-Sparck Jones) idf of BM25, as Lucene and the
    reference BM25 compute it: ln(1 + (N - df + 0.5) / (df + 0.5)).

    Whoosh's default idf, ln(N / (df + 1)) + 1, adds 1 to every term: a syllable found in a
    third of the documents then weighs 2.1 instead of 0.9, so a question's many common
    syllables ("thuốc", "tác dụng", "có thể") outvote the one rare name it is about.

    `idf_power` raises that idf to a power (1 is plain BM25). Above 1 it sharpens the
    contrast between rare and common terms, as Lucene's classic TF-IDF did by squaring idf:
    for "Thuốc Bifril có thể gây ra những tác dụng phụ gì?", the passage on another drug
    that "có thể gây ra các tác dụng phụ" no longer outranks the one passage of 1,000 that
    names Bifril."""

    def __init__(self, B: float = 0.75, K1: float = 1.2, idf_power: float = 1.0,
                 **kwargs: float) -> None:
        super().__init__(B=B, K1=K1, **kwargs)
        self.idf_power = idf_power

    def idf(self, searcher, fieldname, text):  # noqa: ANN001 - whoosh API
        parent = searcher.get_parent()
        df = parent.doc_frequency(fieldname, text)
        n = parent.doc_count_all()
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5)) ** self.idf_power


@dataclass(frozen=True)
class RankingParams:
    # field weights
    title: float = 0.3  # on top of the body fields, which index the whole article
    summary: float = 0.2  # below the title's bonus: title > summary > body
    body: float = 1.0
    # stream weights (multiplied by the field weight)
    word: float = 0.2  # "học_tập", whole codes "03-ct/tw"
    syllable: float = 1.0  # exact lowercase syllables
    folded: float = 0.02  # accent-insensitive recall; scores little: accents are restored instead
    restored: float = 0.8  # accents restored from the index for unaccented input (x stream)
    synonym: float = 0.8  # alternatives from config/synonyms.txt (x stream)
    stopword: float = 0.5  # function words in free text (never dropped from phrases)
    # proximity
    phrase: float = 0.6  # each pair of consecutive query syllables found as a phrase
    title_phrase: float = 0.0  # the same in the title: the body fields already hold the title
    proximity: float = 0.0  # the whole run of query syllables within `proximity_slop`
    proximity_slop: int = 4
    doc_number: float = 6.0  # the query is the document's own number (52/2014/QH13)
    # matching: up to this many content terms must all match; longer queries rank by
    # BM25 over any term, requiring at least `min_match` of them (0 disables)
    and_max_terms: int = 4
    and_questions: bool = False  # questions ("...là gì?") rank by any term: answers reword them
    min_match: float = 0.0
    # BM25
    K1: float = 0.7  # below Anserini's 0.9: each occurrence also scores in the word and pair streams
    B: float = 0.75
    title_B: float = 0.5
    summary_B: float = 0.6
    body_B: float = 0.75
    idf: str = "robertson"  # "robertson" (BM25's own) or "whoosh" (ln(N/(df+1)) + 1)
    idf_power: float = 1.5  # the robertson idf raised to this power (1: plain BM25)

    def field_weight(self, text_field: str) -> float:
        return float(getattr(self, text_field))

    def phrase_weight(self, text_field: str) -> float:
        """Weight of a consecutive-pair match in `text_field` (before the field weight)."""
        return self.title_phrase if text_field == "title" else self.phrase

    def weighting(self) -> scoring.BM25F:
        """BM25F with a per-field B for every indexed stream of every text field."""
        per_field = {}
        for text_field in TEXT_FIELDS:
            b = getattr(self, text_field + "_B")
            for suffix, _ in STREAMS.values():
                per_field[f"{text_field}{suffix}_B"] = b
        if self.idf == "whoosh":
            if self.idf_power != 1.0:
                raise ValueError("idf_power applies to the robertson idf only")
            return scoring.BM25F(B=self.B, K1=self.K1, **per_field)
        return RobertsonBM25F(B=self.B, K1=self.K1, idf_power=self.idf_power, **per_field)
