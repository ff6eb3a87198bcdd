"""The index's own vocabulary, for one index generation: accent restoration and spelling.

Users often type Vietnamese without diacritics ("huyen uy an phu"). Folded matching finds
such documents, but ranks a "huyền" as high as a "huyện". The index vocabulary knows which
accented syllables exist and how common they are, and the words stream knows which
syllable pairs form words ("huyện_ủy"), so the likely accented query can be restored from
the index itself. The same lookups serve did-you-mean and autocomplete (`search.suggest`).

Everything is built lazily on first use and belongs to one searcher (an explicit cache
object owned by the engine's generation, never a global): a new commit gets a new one,
built from per-segment counts that outlive generations (`search.segstats`), so a commit
only reads the segments it wrote, and its sums (syllables, title completions) start from
the previous generation's with only the segments written or merged away since added or
subtracted (`search.totals`).
"""
from __future__ import annotations

import bisect
import math
import threading
from dataclasses import replace
from typing import Sequence

from indexer.normalize import fold
from indexer.schema import TEXT_FIELDS
from search.segstats import MAX_SYLLABLE, SegmentStats
from search.totals import Completion, SyllableTotals, TitleTable, VocabState, syllable_totals, title_table

__all__ = ["Vocabulary", "Completion", "VocabState", "is_plain", "edits1"]

CANDIDATES = 6  # accented candidates kept per folded syllable
PAIR_MU = 100.0  # Dirichlet prior of the bigram model (pseudo-occurrences of the first syllable)
_ALPHABET = "abcdefghijklmnopqrstuvwxyz"


def is_plain(syllable: str) -> bool:
    """True for an alphabetic syllable typed without any diacritic ("huyen", "an")."""
    return syllable.isalpha() and fold(syllable) == syllable


def edits1(word: str) -> set[str]:
    """All ASCII strings at edit distance 1 (Norvig's generator); folded syllables are short."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    out |= {a + c + b[1:] for a, b in splits if b for c in _ALPHABET}
    out |= {a + c + b for a, b in splits for c in _ALPHABET}
    out.discard(word)
    return out


class Vocabulary:
    """Lookups over one searcher's lexicon; thread-safe lazy construction."""

    def __init__(self, searcher, stats: SegmentStats | None = None,  # noqa: ANN001 - whoosh Searcher
                 base: VocabState | None = None) -> None:
        self._searcher = searcher
        self._reader = searcher.reader()
        self._stats = stats if stats is not None else SegmentStats(0)  # 0: read, keep nothing
        self._lock = threading.Lock()
        self._word_df: dict[str, int] = {}
        self._pair_df: dict[tuple[str, str], int] = {}
        self._base = base or VocabState()  # the previous generation's sums, to start from
        self._totals: SyllableTotals | None = None
        self._titles: TitleTable | None = None

    # --- document frequencies ----------------------------------------------------------

    def _leaves(self) -> list:
        return [r for r, _ in self._reader.leaf_readers()]

    def _syllables(self) -> SyllableTotals:
        """The syllable totals, built on first use (from the previous generation's)."""
        if self._totals is None:
            with self._lock:
                if self._totals is None:
                    self._totals = syllable_totals(self._leaves(), self._stats, self._base.syllables)
                    self._base = replace(self._base, syllables=None)  # let the old one go
        return self._totals

    def _title_table(self) -> TitleTable:
        """The title completions, built on first use (from the previous generation's)."""
        if self._titles is None:
            with self._lock:
                if self._titles is None:
                    self._titles = title_table(self._leaves(), self._stats, self._base.titles)
                    self._base = replace(self._base, titles=None)
        return self._titles

    def state(self) -> VocabState:
        """What the next generation's vocabulary starts from: each sum once built here,
        else the one this vocabulary was to start from. (Waits for a build in progress.)"""
        with self._lock:
            return VocabState(self._totals or self._base.syllables, self._titles or self._base.titles)

    def syllable_df(self, term: str) -> int:
        """Documents (title, summary or body; counted per field) containing syllable `term`."""
        n = self._syllables().df.get(term)
        if n is None:  # numbers, codes: not in the alphabetic map
            n = sum(self._reader.doc_frequency(f, term) for f in TEXT_FIELDS)
        return n

    def word_df(self, word: str) -> int:
        """Documents whose words stream contains `word` ("huyện_ủy"); memoised."""
        n = self._word_df.get(word)
        if n is None:
            n = sum(self._reader.doc_frequency(f + "_w", word) for f in TEXT_FIELDS)
            if len(self._word_df) < 100_000:
                self._word_df[word] = n
        return n

    def pair_df(self, a: str, b: str) -> int:
        """Documents in which syllable `a` is directly followed by `b`: the adjacent-pair
        stream ("<field>_b", every pair of neighbouring syllables, counted per field like
        `syllable_df`), or, in an index without it, the words stream ("a_b")."""
        key = (a, b)
        n = self._pair_df.get(key)
        if n is None:
            fields = [f + "_b" for f in TEXT_FIELDS if f + "_b" in self._reader.schema]
            if fields:
                n = sum(self._reader.doc_frequency(f, f"{a} {b}") for f in fields)
            else:
                n = self.word_df(f"{a}_{b}")
            if len(self._pair_df) < 200_000:
                self._pair_df[key] = n
        return n

    def pair_bonus(self, a: str, b: str) -> float:
        """log P(b | a) / P(b) under a bigram model of the index with Dirichlet smoothing:
        P(b | a) = (pairs(a b) + mu P(b)) / (df(a) + mu), P(b) = df(b) / N. Positive when
        the index has `b` after `a` more often than chance, about log(mu / (df(a) + mu))
        (a small penalty) when never. Added to log-frequency priors it makes the Viterbi
        path the most likely sequence under the bigram model."""
        total = max(1, self._syllables().total)
        p_b = (self.syllable_df(b) + 0.5) / total
        df_a = self.syllable_df(a)
        p_b_a = (self.pair_df(a, b) + PAIR_MU * p_b) / (df_a + PAIR_MU)
        return math.log(p_b_a / p_b)

    def accented(self, folded: str) -> list[tuple[str, int]]:
        """Indexed syllables whose folded form is `folded`, most frequent first."""
        return self._syllables().by_fold.get(folded, [])[:CANDIDATES]

    def near(self, folded: str) -> list[tuple[str, int]]:
        """Indexed syllables at folded edit distance 1 from `folded`, most frequent first."""
        by_fold = self._syllables().by_fold
        if not folded.isascii() or len(folded) > MAX_SYLLABLE:
            return []
        out: list[tuple[str, int]] = []
        for cand in edits1(folded):
            out.extend(by_fold.get(cand, ()))
        out.sort(key=lambda x: (-x[1], x[0]))
        return out[:CANDIDATES]

    # --- accent restoration -----------------------------------------------------------

    def restore(self, syllables: Sequence[str], *, beam: int = 4,
                function_words: frozenset[str] = frozenset()) -> list[str]:
        """The most likely accented form of each syllable.

        Only plain (unaccented) syllables change. Candidates are indexed syllables with the
        same folded form; a sequence scores the log document frequency of each syllable
        plus, for each consecutive pair, how much more often the index has the second
        syllable right after the first than by chance (`pair_bonus`, from the adjacent-
        pair stream): "lieu dung" becomes "liều dùng", not the more frequent "liệu dụng".
        A candidate in `function_words` counts as at least as frequent as its most frequent
        alternative: documents answer questions, so their counts understate question and
        function words ("nhu the nao" is "như thế nào", not the medical "não").
        """
        if not any(is_plain(s) for s in syllables):
            return list(syllables)
        options: list[list[tuple[str, float]]] = []
        for s in syllables:
            if is_plain(s):
                cands = self.accented(s)[:beam]
                opts = [(t, math.log1p(n)) for t, n in cands]
                if not any(t == s for t, _ in opts):
                    opts.append((s, math.log1p(self.syllable_df(s)) if cands else 0.0))
                if function_words and any(t in function_words for t, _ in opts):
                    top = max(score for _, score in opts)
                    opts = [(t, top if t in function_words else score) for t, score in opts]
            else:
                opts = [(s, 0.0)]
            options.append(opts)
        return self.best_path(options)

    def best_path(self, options: list[list[tuple[str, float]]]) -> list[str]:
        """Viterbi over per-position (syllable, prior) options; each consecutive pair of
        syllables adds its `pair_bonus` (only where a choice is open at either side)."""
        if not options:
            return []
        best: list[tuple[float, list[str]]] = [(score, [t]) for t, score in options[0]]
        for i in range(1, len(options)):
            nxt: list[tuple[float, list[str]]] = []
            ambiguous = len(options[i]) > 1 or len(options[i - 1]) > 1
            for t, score in options[i]:
                top: tuple[float, list[str]] | None = None
                for prev_score, path in best:
                    bonus = 0.0
                    prev = path[-1]
                    if ambiguous and prev.isalpha() and t.isalpha():
                        bonus = self.pair_bonus(prev, t)
                    total = prev_score + score + bonus
                    if top is None or total > top[0]:
                        top = (total, path)
                assert top is not None
                nxt.append((top[0], top[1] + [t]))
            best = nxt
        return max(best, key=lambda x: x[0])[1]

    # --- autocomplete -------------------------------------------------------------------

    def completions(self, folded_prefix: str, limit: int = 50) -> list[Completion]:
        """Title syllables and words whose folded form starts with `folded_prefix`, by df."""
        table = self._title_table()
        keys = table.keys
        lo = bisect.bisect_left(keys, folded_prefix)
        hi = bisect.bisect_left(keys, folded_prefix + "\uffff", lo)
        found = table.entries[lo:hi]
        if len(found) > limit:
            found = sorted(found, key=lambda c: -c.df)[:limit]
        return sorted(found, key=lambda c: (-c.df, c.text))
