"""Snippets and highlighted titles, with exact offsets into the stored original text.

Marks come from the same syllable analysis as the index (`indexer.analysis.syllable_terms`,
no CRF), so "Huyện uỷ" in a document is found for "huyen uy" and the mark covers exactly
the original characters, whatever their normalization form. Everything from the document
is escaped with `html.escape(quote=True)`; the only markup is our own <mark>...</mark>.

Documents can be long (a law of 500k characters): full tokenisation is bounded to
`SCAN_CHARS`; beyond that, candidate positions are found with one regular expression over
the accent-folded text (C speed), and only the chosen region is tokenised.
"""
from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Sequence

from indexer.analysis import syllable_terms
from indexer.normalize import fold
from search.query import HighlightTerms

__all__ = ["Snippet", "Highlighter", "render", "SCAN_CHARS"]

SCAN_CHARS = 20_000  # tokenise at most this much of a document in one go
MAX_REGEX_HITS = 1_500
ELLIPSIS = "…"


@dataclass(frozen=True)
class Snippet:
    """A window [start, end) of the original text with marked spans, and its HTML."""

    start: int
    end: int
    marks: tuple[tuple[int, int], ...]
    html: str
    score: float = 0.0


@dataclass(slots=True)
class _Match:
    start: int
    end: int
    key: str  # folded term: distinct query terms count once
    weight: float  # exact-accent match 1.0, folded-only less
    phrase: bool = False


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


def _variants() -> dict[str, str]:
    """Folded letter -> regex class of every letter that folds to it (both cases)."""
    groups: dict[str, set[str]] = {}
    for cp in list(range(0x00C0, 0x0250)) + list(range(0x1E00, 0x1F00)):
        ch = chr(cp)
        base = fold(ch)
        if base != ch and len(base) == 1 and base.isascii() and base.isalpha():
            groups.setdefault(base.lower(), set()).update((ch, ch.lower(), ch.upper()))
    return {b: "[" + b + b.upper() + "".join(sorted(c for c in v if len(c) == 1)) + "]"
            for b, v in groups.items()}


_VARIANTS = _variants()


def _accent_pattern(folded_term: str) -> str:
    """Regex matching `folded_term` with any diacritics on any letter (NFC text)."""
    return "".join(_VARIANTS.get(c, re.escape(c)) for c in folded_term.lower())


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
    _regex: re.Pattern | None = field(default=None, init=False, repr=False)
    _phrase_keys: list[tuple[str, ...]] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        t = self.terms
        self._exact = set(t.exact)
        self._folded = set(t.folded) | {fold(x) for x in t.exact}
        keys = {tuple(fold(w) for w in p) for p in t.phrases if len(p) > 1}
        self._phrase_keys = sorted(keys, key=len, reverse=True)
        self._bigrams = {k[i:i + 2] for k in keys for i in range(len(k) - 1)}
        words = sorted({w for w in self._folded if w}, key=len, reverse=True)
        if words:
            self._regex = re.compile(
                r"(?<!\w)(?:" + "|".join(_accent_pattern(w) for w in words) + r")(?!\w)",
                re.IGNORECASE,
            )

    @property
    def active(self) -> bool:
        return bool(self._exact or self._folded)

    # --- matching ----------------------------------------------------------------------

    def _matches(self, text: str, offset: int = 0) -> list[_Match]:
        """Query-term occurrences in `text` (offsets shifted by `offset`), phrase-marked."""
        toks = syllable_terms(text)
        out: list[_Match] = []
        exact, folded = self._exact, self._folded
        for term, fterm, s, e in toks:
            if term in exact:
                out.append(_Match(s + offset, e + offset, fterm, 1.0))
            elif fterm in folded:
                out.append(_Match(s + offset, e + offset, fterm, 0.6))
        # a term found with its exact accents is not also marked in other accents
        exact_keys = {m.key for m in out if m.weight >= 1.0}
        out = [m for m in out if m.weight >= 1.0 or m.key not in exact_keys]
        if self._phrase_keys:
            # syllables only (a code's whole token is followed by its parts): phrase runs
            syl = [(f, s, e) for t, f, s, e in toks if t.isalnum()]
            keys = [f for f, _, _ in syl]
            for phrase in self._phrase_keys:
                n = len(phrase)
                first = phrase[0]
                for i in range(len(keys) - n + 1):
                    if keys[i] == first and tuple(keys[i:i + n]) == phrase:
                        out.append(_Match(syl[i][1] + offset, syl[i + n - 1][2] + offset,
                                          " ".join(phrase), 1.0, True))
        out.sort(key=lambda m: (m.start, -m.end))
        return out

    def _best_window(self, matches: list[_Match], length: int) -> tuple[int, int, float]:
        """[start, end) of at most snippet_chars covering the best-scoring matches."""
        width = self.snippet_chars
        best = (0, 0, -1.0)
        j = 0
        n = len(matches)
        for i in range(n):
            j = max(j, i)
            while j + 1 < n and matches[j + 1].end - matches[i].start <= width:
                j += 1
            seen: dict[str, float] = {}
            phrase_bonus = 0.0
            prev: _Match | None = None
            for m in matches[i:j + 1]:
                if m.phrase:
                    phrase_bonus += 0.75 * m.weight
                else:
                    if seen.get(m.key, 0.0) < m.weight:
                        seen[m.key] = m.weight
                    if (prev is not None and m.start - prev.end <= 2
                            and (prev.key, m.key) in self._bigrams):
                        phrase_bonus += 0.5
                    prev = m
            score_terms = sum(seen.values())
            span = max(m.end for m in matches[i:j + 1]) - matches[i].start
            # tighter clusters win ties
            score = score_terms + min(phrase_bonus, 3.0) - span / (width * 100.0)
            if score > best[2]:
                best = (matches[i].start, max(m.end for m in matches[i:j + 1]), score)
        return best

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
        if len(text) <= 4 * self.snippet_chars:
            matches = self._matches(text)
        else:
            matches, lo, hi = self._matches_long(text)
        if not matches:
            return self.lead(text)
        first, last, score = self._best_window(matches, len(text))
        start, end = self._frame(text, first, last)
        if start < lo or end > hi:  # the frame reaches past the tokenised region: mark all of it
            a, b = _widen(text, start, end, self.snippet_chars)
            matches = self._matches(text[a:b], a)
        spans = [(m.start, m.end) for m in matches if m.start >= start and m.end <= end]
        marks = tuple(_merge(spans, text))
        return Snippet(start, end, marks, render(text, start, end, marks), score)

    def _matches_long(self, text: str) -> tuple[list[_Match], int, int]:
        """Matches of a long text, and the [lo, hi) they were found in: an
        accent-insensitive regex over the original text picks the best window, and only the
        stretch a snippet frame around it can cover is tokenised (NFC text; other forms fall
        back to a bounded prefix)."""
        if self._regex is None:
            return [], 0, 0
        if not unicodedata.is_normalized("NFC", text):
            return self._matches(text[:SCAN_CHARS]), 0, min(len(text), SCAN_CHARS)
        hits = []
        for m in self._regex.finditer(text):
            low = m.group().lower()
            hits.append(_Match(m.start(), m.end(), fold(low), 1.0 if low in self._exact else 0.6))
            if len(hits) >= MAX_REGEX_HITS:
                break
        if not hits:
            return [], 0, 0
        first, last, _ = self._best_window(hits, len(text))
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
