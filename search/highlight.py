"""Snippets and highlighted titles, with exact offsets into the stored original text.

Marks are the query's syllables and codes as the index sees them: `search.termfind` finds
them in the normalized text (accents, tone placement, NFD and legacy encodings all map to
one form) with one pattern of folded terms, equal to tokenising with
`indexer.analysis.syllable_terms` (tested against it), and maps them back, so "Huyện uỷ" in
a document is found for "huyen uy" and the mark covers exactly the original characters.
Everything from the document is escaped with `html.escape(quote=True)`; the only markup is
our own <mark>...</mark>.

A text of up to `SCAN_CHARS` (any news article) whose offsets normalization keeps is
matched exactly in one pass, and its window is chosen from those matches, phrases
included. Longer documents (a law of 500k characters), and texts that normalization would
change (HTML entities), are scanned instead: candidate positions are found with the same
pattern over the folded original text (C speed), the window is chosen from them, and
only the chosen region is normalized and matched exactly.
"""
from __future__ import annotations

import html
import unicodedata
from dataclasses import dataclass, field
from typing import Sequence


from indexer.normalize import fold, length_preserving
from search.query import HighlightTerms
from search.termfind import TermFinder
from search.window import Match, best_window, best_window_of_matches

__all__ = ["Snippet", "Highlighter", "render", "SCAN_CHARS"]

SCAN_CHARS = 20_000  # tokenise at most this much of a document in one go
MAX_REGEX_HITS = 1_500
# from this many hits the numpy window (`best_window_of_matches`) is faster than the Python
# pass; below it, numpy's fixed cost per call dominates (measured: 110 us at 5 hits, same
# as the Python pass at about 70)
NUMPY_WINDOW_HITS = 64
ELLIPSIS = "…"


@dataclass(frozen=True)
class Snippet:
    """A window [start, end) of the original text with marked spans, and its HTML."""

    start: int
    end: int
    marks: tuple[tuple[int, int], ...]
    html: str
    score: float = 0.0


def render(text: str, start: int, end: int, marks: Sequence[tuple[int, int]]) -> str:
    """Escaped text[start:end] with <mark> around each (clipped) span, "…" where cut."""
    esc = html.escape
    out: list[str] = [ELLIPSIS] if start > 0 and text[:start].strip() else []
    pos = start
    for s, e in marks:
        s, e = max(s, start), min(e, end)
        if s >= e or s < pos:
            continue
        out.append(esc(text[pos:s], quote=True))
        out.append("<mark>")
        out.append(esc(text[s:e], quote=True))
        out.append("</mark>")
        pos = e
    out.append(esc(text[pos:end], quote=True))
    if end < len(text) and text[end:].strip():
        out.append(ELLIPSIS)
    return "".join(out)


def _merge(spans: list[tuple[int, int]], text: str) -> list[tuple[int, int]]:
    """Overlapping spans, and spans separated by plain spaces only, become one mark."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and (s <= out[-1][1] or (text[out[-1][1]:s].strip(" ") == "" and s - out[-1][1] <= 2)):
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
            continue
        out.append((s, e))
    return out


def _widen(text: str, lo: int, hi: int, limit: int) -> tuple[int, int]:
    """[lo, hi) clipped to the text and widened to whitespace (at most `limit` more on each
    side), so that no syllable or entity is cut."""
    lo, hi = max(0, lo), min(len(text), hi)
    stop = max(0, lo - limit)
    while lo > stop and not text[lo - 1].isspace():
        lo -= 1
    stop = min(len(text), hi + limit)
    while hi < stop and not text[hi].isspace():
        hi += 1
    return lo, hi


@dataclass
class Highlighter:
    terms: HighlightTerms
    snippet_chars: int = 240
    _phrase_keys: list[tuple[str, ...]] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        t = self.terms
        self._exact = set(t.exact)
        self._folded = set(t.folded) | {fold(x) for x in t.exact}
        keys = {tuple(fold(w) for w in p) for p in t.phrases if len(p) > 1}
        self._phrase_keys = sorted(keys, key=len, reverse=True)
        self._bigrams = {k[i:i + 2] for k in keys for i in range(len(k) - 1)}
        # stopwords are only marked inside phrases, so they are looked for only when a phrase
        # can use them
        self._finder = TermFinder(self._folded | {w for k in keys for w in k})

    @property
    def active(self) -> bool:
        return bool(self._exact or self._folded)

    # --- matching ----------------------------------------------------------------------

    def _weight(self, term: str, folded: str) -> float:
        """A found term's weight: 1.0 with the query's accents, 0.6 folded only, 0.0 not a
        term of its own (a stopword the pattern has for phrases)."""
        return 1.0 if term in self._exact else 0.6 if folded in self._folded else 0.0

    def _matches(self, text: str, offset: int = 0) -> list[Match]:
        """Query-term occurrences in `text` (offsets shifted by `offset`), phrase-marked,
        sorted by start, longest first (as `TermFinder.find` gives them; phrases are
        sorted in)."""
        occ = self._finder.find(text, offset)
        exact, folded = self._exact, self._folded  # (`_weight`, inline: a call per hit)
        out = [Match(o.start, o.end, o.folded, 1.0 if o.term in exact else 0.6)
               for o in occ if o.term in exact or o.folded in folded]
        # a term found with its exact accents is not also marked in other accents
        exact_keys = {m.key for m in out if m.weight >= 1.0}
        if exact_keys and len(exact_keys) < len(out):
            out = [m for m in out if m.weight >= 1.0 or m.key not in exact_keys]
        if self._phrase_keys:
            # runs of syllables with no other syllable between them (a code's parts, not
            # the code itself)
            syl = [o for o in occ if o.syllable]
            keys = [o.folded for o in syl]
            found = len(out)
            for phrase in self._phrase_keys:
                n = len(phrase)
                first = phrase[0]
                for i in range(len(keys) - n + 1):
                    if (keys[i] == first and tuple(keys[i:i + n]) == phrase
                            and all(o.joined for o in syl[i + 1:i + n])):
                        out.append(Match(syl[i].start, syl[i + n - 1].end,
                                         " ".join(phrase), 1.0, True))
            if len(out) > found:
                out.sort(key=lambda m: (m.start, -m.end))
        return out

    def _best_window(self, matches: list[Match]) -> tuple[int, int, float]:
        """[start, end) of at most snippet_chars covering the best-scoring matches, and its
        score (`search.window`)."""
        return best_window(matches, self.snippet_chars, self._bigrams)

    def _frame(self, text: str, first: int, last: int) -> tuple[int, int]:
        """Pad the match span to ~snippet_chars with context, cut at word boundaries."""
        width = self.snippet_chars
        n = len(text)
        span = last - first
        lead = max(0, min(first, (width - span) // 4)) if span < width else 0
        start = first - lead
        end = min(n, max(last, start + width))
        if end == n:
            start = max(0, min(start, n - width, first))
        if start > 0:
            ws = text.rfind(" ", start, first + 1)
            nl = text.rfind("\n", start, first + 1)
            cut = max(ws, nl)
            if cut != -1:
                start = cut + 1
        if end < n:
            ws = max(text.rfind(" ", last, end + 1), text.rfind("\n", last, end + 1))
            if ws > last:
                end = ws
        while start < first and text[start].isspace():
            start += 1
        while end > last and text[end - 1].isspace():
            end -= 1
        return start, end

    # --- public ----------------------------------------------------------------------

    def lead(self, text: str) -> Snippet:
        """The start of a text (no match), cut at a word boundary."""
        width = self.snippet_chars
        start = len(text) - len(text.lstrip())
        if len(text) - start <= width:
            end = len(text.rstrip())
        else:
            limit = start + width
            end = max(text.rfind(" ", start, limit + 1), text.rfind("\n", start, limit + 1))
            if end <= start:
                end = limit
            while end > start and text[end - 1].isspace():
                end -= 1
        start = min(start, end)
        return Snippet(start, end, (), render(text, start, end, ()), 0.0)

    def snippet(self, text: str) -> Snippet:
        """The best window of `text` for the query, marked; the text's lead if no match."""
        if not text:
            return Snippet(0, 0, (), "", 0.0)
        if not self.active:
            return self.lead(text)
        lo, hi = 0, len(text)  # the part of the text the matches come from
        # (matching a text with entities exactly would normalize all of it: 1.2 ms for each
        # of the 2% of news bodies in results that have one, measured)
        if len(text) <= 4 * self.snippet_chars or (len(text) <= SCAN_CHARS and length_preserving(text)):
            matches = self._matches(text)
        else:
            matches, lo, hi = self._matches_long(text)
        if not matches:
            return self.lead(text)
        first, last, score = self._best_window(matches)
        start, end = self._frame(text, first, last)
        if start < lo or end > hi:  # the frame reaches past the tokenised region: mark all of it
            a, b = _widen(text, start, end, self.snippet_chars)
            matches = self._matches(text[a:b], a)
        spans = [(m.start, m.end) for m in matches if m.start >= start and m.end <= end]
        marks = tuple(_merge(spans, text))
        return Snippet(start, end, marks, render(text, start, end, marks), score)

    def _matches_long(self, text: str) -> tuple[list[Match], int, int]:
        """Matches of a long text, and the [lo, hi) they were found in: the term pattern over
        the folded original text (`TermFinder.scan`), each hit weighed on its normalized
        form (`TermFinder.forms`), picks the best window (with numpy past
        NUMPY_WINDOW_HITS hits), and only the stretch a snippet frame around it can cover is
        matched exactly (NFC text; other forms fall back to a bounded prefix)."""
        finder = self._finder
        if not finder.active:
            return [], 0, 0
        if not unicodedata.is_normalized("NFC", text):
            return self._matches(text[:SCAN_CHARS]), 0, min(len(text), SCAN_CHARS)
        hits: list[Match] = []
        for s, e in finder.scan(text):
            term, folded = finder.forms(text[s:e])  # (memoised per spelling)
            weight = self._weight(term, folded)
            if weight:  # (0: a stopword only phrases use)
                hits.append(Match(s, e, folded, weight))
                if len(hits) >= MAX_REGEX_HITS:
                    break
        if not hits:
            return [], 0, 0
        if len(hits) < NUMPY_WINDOW_HITS:
            first, last, _ = self._best_window(hits)
        else:
            first, last, _ = best_window_of_matches(hits, self.snippet_chars, self._bigrams)
        # a frame starts at most a quarter of the width before its first match and is one
        # width long (`_frame`)
        width = self.snippet_chars
        lo, hi = _widen(text, first - width // 4, max(last, first + width), width)
        return self._matches(text[lo:hi], lo), lo, hi

    def mark_all(self, text: str) -> str:
        """The whole text (a title) escaped, every query-term occurrence marked."""
        if not text:
            return ""
        if not self.active:
            return html.escape(text, quote=True)
        matches = self._matches(text[:SCAN_CHARS])
        marks = _merge([(m.start, m.end) for m in matches], text)
        return render(text, 0, len(text), marks)

    def best_snippet(self, texts: Sequence[str]) -> Snippet:
        """The best-scoring snippet among several texts (summary, body), else the lead."""
        best: Snippet | None = None
        for text in texts:
            if not text:
                continue
            snip = self.snippet(text)
            if best is None or snip.score > best.score:
                best = snip
        return best or Snippet(0, 0, (), "", 0.0)
