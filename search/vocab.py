"""The index's own vocabulary, for one index generation: accent restoration and spelling.

Users often type Vietnamese without diacritics ("huyen uy an phu"). Folded matching finds
such documents, but ranks a "huyền" as high as a "huyện". The index vocabulary knows which
accented syllables exist and how common they are, and the words stream knows which
syllable pairs form words ("huyện_ủy"), so the likely accented query can be restored from
the index itself. The same lookups serve did-you-mean and autocomplete (`search.suggest`).

Everything is built lazily on first use and belongs to one searcher (an explicit cache
object owned by the engine's generation, never a global): a new commit gets a new one,
built from per-segment counts that outlive generations (`search.segstats`), so a commit
only reads the segments it wrote, and its syllable totals start from the previous
generation's with only the segments written or merged away since added or subtracted
(`syllable_totals`).
"""
from __future__ import annotations

import bisect
import math
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

from indexer.normalize import fold
from indexer.schema import TEXT_FIELDS
from search.postings import segment_key
from search.segstats import MAX_SYLLABLE, SegmentStats

__all__ = ["Vocabulary", "Completion", "SyllableTotals", "syllable_totals", "is_plain", "edits1"]

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


@dataclass(frozen=True, slots=True)
class Completion:
    """An autocomplete entry: display text ("huyện ủy"), its folded key, document frequency."""

    key: str
    text: str
    df: int


# --- syllable totals of a generation ------------------------------------------------------

@dataclass(frozen=True)
class SyllableTotals:
    """Syllable document frequencies added up over a set of segments (title, summary and
    body, each counted), and every indexed accented form of each folded key, most frequent
    first. Never modified once built: the next generation starts from it."""

    segments: frozenset[str] | None  # None: a segment without a key (cannot be updated)
    df: dict[str, int]
    by_fold: dict[str, list[tuple[str, int]]]
    total: int  # sum of df: the bigram model's N


def _ranked(items: list[tuple[str, int]]) -> list[tuple[str, int]]:
    return sorted(items, key=lambda x: (-x[1], x[0]))


def _full(leaves: Sequence, keys: list[str | None], stats: SegmentStats) -> SyllableTotals:
    df: dict[str, int] = defaultdict(int)
    for leaf in leaves:
        for field in TEXT_FIELDS:
            for term, n in stats.counts(leaf, field, "syllables").items():
                df[term] += n
    by_fold: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for term, n in df.items():
        by_fold[fold(term)].append((term, n))
    segments = None if None in keys else frozenset(k for k in keys if k is not None)
    return SyllableTotals(segments, dict(df), {k: _ranked(v) for k, v in by_fold.items()},
                          sum(df.values()))


def _update(base: SyllableTotals, leaves: Sequence, keys: list[str], stats: SegmentStats
            ) -> SyllableTotals | None:
    """`base` with the segments gone since subtracted and the new ones added, or None when
    adding everything up anew is as cheap (most segments changed) or a gone segment's
    tables were evicted."""
    assert base.segments is not None
    current = dict(zip(keys, leaves))
    added = [leaf for key, leaf in current.items() if key not in base.segments]
    removed = [key for key in base.segments if key not in current]
    if not added and not removed:
        return base
    if len(added) + len(removed) > max(1, len(current) // 2):
        return None
    gone = [stats.cached_counts(key, field, "syllables") for key in removed for field in TEXT_FIELDS]
    if any(table is None for table in gone):
        return None
    df = dict(base.df)
    total = base.total
    changed: set[str] = set()
    for table in gone:
        assert table is not None
        for term, n in table.items():
            left = df.get(term, 0) - n
            if left > 0:
                df[term] = left
            else:
                df.pop(term, None)
        total -= sum(table.values())
        changed.update(table)
    for leaf in added:
        for field in TEXT_FIELDS:
            table = stats.counts(leaf, field, "syllables")
            for term, n in table.items():
                df[term] = df.get(term, 0) + n
            total += sum(table.values())
            changed.update(table)
    by_key: dict[str, set[str]] = defaultdict(set)
    for term in changed:
        by_key[fold(term)].add(term)
    by_fold = dict(base.by_fold)  # (lists are replaced, never changed in place)
    for key, terms in by_key.items():
        terms.update(t for t, _ in base.by_fold.get(key, ()))
        items = [(t, df[t]) for t in terms if t in df]
        if items:
            by_fold[key] = _ranked(items)
        else:
            by_fold.pop(key, None)
    return SyllableTotals(frozenset(current), df, by_fold, total)


def syllable_totals(leaves: Sequence, stats: SegmentStats,  # whoosh leaf readers
                    base: SyllableTotals | None = None) -> SyllableTotals:
    """The syllable totals of `leaves`: from `base` (the previous generation's) updated by
    the segments a commit wrote or merged away, else added up from every segment."""
    keys = [segment_key(leaf) for leaf in leaves]
    if base is not None and base.segments is not None and None not in keys:
        updated = _update(base, leaves, [k for k in keys if k is not None], stats)
        if updated is not None:
            return updated
    return _full(leaves, keys, stats)


class Vocabulary:
    """Lookups over one searcher's lexicon; thread-safe lazy construction."""

    def __init__(self, searcher, stats: SegmentStats | None = None,  # noqa: ANN001 - whoosh Searcher
                 base: SyllableTotals | None = None) -> None:
        self._searcher = searcher
        self._reader = searcher.reader()
        self._stats = stats if stats is not None else SegmentStats(0)  # 0: read, keep nothing
        self._lock = threading.Lock()
        self._titles: list[Completion] | None = None
        self._title_keys: list[str] | None = None
        self._word_df: dict[str, int] = {}
        self._pair_df: dict[tuple[str, str], int] = {}
        self._base = base  # the previous generation's totals, to start from
        self._totals: SyllableTotals | None = None

    # --- document frequencies ----------------------------------------------------------

    def _leaves(self) -> list:
        return [r for r, _ in self._reader.leaf_readers()]

    def _scan(self, field: str, kind: str) -> Iterable[tuple[str, int]]:
        """(term, doc frequency) of the `kind` terms of `field` in each segment (summed per
        term by callers)."""
        for leaf in self._leaves():
            yield from self._stats.counts(leaf, field, kind).items()

    def _syllables(self) -> SyllableTotals:
        """The syllable totals, built on first use (from the previous generation's)."""
        if self._totals is None:
            with self._lock:
                if self._totals is None:
                    self._totals = syllable_totals(self._leaves(), self._stats, self._base)
                    self._base = None
        return self._totals

    def totals(self) -> SyllableTotals | None:
        """What the next generation's vocabulary starts from: these totals once built,
        else the ones this vocabulary was to start from."""
        return self._totals or self._base

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

    def _build_titles(self) -> None:
        df: dict[str, int] = defaultdict(int)
        for term, n in self._scan("title", "alpha"):
            df[term] += n
        for term, n in self._scan("title_w", "words"):
            df[term.replace("_", " ")] += n
        entries = sorted(
            (Completion(fold(text), text, n) for text, n in df.items()), key=lambda c: c.key
        )
        self._titles = entries
        self._title_keys = [c.key for c in entries]

    def completions(self, folded_prefix: str, limit: int = 50) -> list[Completion]:
        """Title syllables and words whose folded form starts with `folded_prefix`, by df."""
        if self._titles is None:
            with self._lock:
                if self._titles is None:
                    self._build_titles()
        assert self._titles is not None and self._title_keys is not None
        keys = self._title_keys
        lo = bisect.bisect_left(keys, folded_prefix)
        hi = bisect.bisect_left(keys, folded_prefix + "\uffff", lo)
        found = self._titles[lo:hi]
        if len(found) > limit:
            found = sorted(found, key=lambda c: -c.df)[:limit]
        return sorted(found, key=lambda c: (-c.df, c.text))
