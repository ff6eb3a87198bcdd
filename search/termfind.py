"""Find the query's syllables and codes in a stored text, with exact original offsets.

The highlighter used to tokenise every text it marks with the indexing tokenizer
(`indexer.analysis.syllable_terms`) and keep the tokens that are query terms, and to
compile an accent-insensitive pattern per query (about 2.8 ms: a character class per
letter). A query has a handful of terms, so here the text is folded and lowercased once
(length-preserving, through a code-point table) and one pattern of plain folded terms
finds them at C speed; only those few hits go through Python.

Same answer as the tokenizer (tests/search/test_termfind.py checks it against
`syllable_terms` on news articles and arbitrary text):
- the text searched is `normalize(text).text` (NFC, canonical tone placement, legacy
  encodings decoded), and offsets map back to the original through its span map; a text
  whose normalization keeps every offset (most stored text: NFC, no entities) is searched
  as it is, its folded copy with normalize's one-to-one rules, and each hit is normalized
  on its own (tone placement and those rules never look past a syllable's letters), which
  saves normalizing the whole text;
- a hit is a whole syllable: no letter or digit (or combining mark) on either side, as a
  syllable token ends at anything that is not one ("_" included);
- a hit that is a code ("03-CT/TW", "TP.HCM") also gives its alphanumeric parts, as a
  code token does; a code of the query found inside a longer one ("9/2005" in
  "14/9/2005") is one hit, where the tokenizer gave only the longer code's parts;
- a hit's terms are `term_forms` of its text, the same (lowercase, folded) forms the
  index gives it.
"""
from __future__ import annotations

import re
import sys
from typing import Iterable, Iterator, NamedTuple, Sequence

import numpy as np

from indexer.analysis import syllable_terms, term_forms
from indexer.normalize import MARK_SPANS, ONE_FOR_ONE, fold, length_preserving, normalize, normalize_text
from indexer.tokens import Kind, RawToken, code_parts

__all__ = ["Occurrence", "TermFinder", "fold_lower"]

_ALNUM = re.compile(r"[^\W_]")
_MARK_HOLDER = "\ue000"  # a private-use character stands in for a combining mark


def _mark_table() -> np.ndarray:
    """Code point -> is a combining mark (Mn, Mc, Me), from `MARK_SPANS`; the last entry
    (every code point past the table) is False."""
    table = np.zeros(MARK_SPANS[-1][1] + 2, dtype=bool)
    for lo, hi in MARK_SPANS:
        table[lo:hi + 1] = True
    table.setflags(write=False)
    return table


_IS_MARK = _mark_table()


def _fold_lower_table() -> np.ndarray:
    """Code point -> code point of `fold(c).lower()` where that is one character (so the
    text keeps its length and every offset), a combining mark -> _MARK_HOLDER, the
    non-ASCII one-to-one rules of `normalize` (dashes, quotes, spaces) applied, else itself.
    All of Unicode (4.4 MB), so that a lookup needs no range check. (`fold` changes only
    Latin letters below U+2000 and marks.)"""
    table = np.arange(sys.maxunicode + 1, dtype=np.uint32)
    for cp in range(0x80, 0x2000):
        f = fold(chr(cp)).lower()  # lower again: 'İ' stays (its lowercase is two characters)
        if len(f) == 1:
            table[cp] = ord(f)
    for ch, to in ONE_FOR_ONE.items():
        if not ch.isascii():  # (ASCII ones turn blanks into spaces: never part of a hit)
            table[ord(ch)] = ord(to)
    table[:len(_IS_MARK) - 1][_IS_MARK[:-1]] = ord(_MARK_HOLDER)
    table.setflags(write=False)
    return table


_FOLD_LOWER = _fold_lower_table()


def _fold(text: str) -> tuple[str, bool]:
    """(fold_lower(text), whether the text has a combining mark or a private-use U+E000)."""
    low = text.lower()
    if len(low) != len(text):  # 'İ'.lower() is two characters: such letters stay as they are
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    if low.isascii():
        return low, False
    codes = np.frombuffer(low.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    out = _FOLD_LOWER.take(codes).tobytes().decode("utf-32-le", "surrogatepass")
    return out, _MARK_HOLDER in out


def fold_lower(text: str) -> str:
    """`text` lowercased and accent-folded character by character, same length:
    'Huyện Uỷ' -> 'huyen uy' ('đ' -> 'd'); a combining mark becomes U+E000 (never a letter
    to a pattern). A table lookup in numpy: str.translate with a dict costs about 120 ns
    per character (68 ms for a 560k-character law)."""
    return _fold(text)[0]


def _is_mark(ch: str) -> bool:
    return bool(_IS_MARK[min(ord(ch), len(_IS_MARK) - 1)])


def _compile(folded_terms: Iterable[str]) -> re.Pattern | None:
    """One pattern for all (fold_lower'ed) terms over fold_lower'ed text, longest first (a
    code before its own parts), shaped `[first chars](?<!alnum.)(?:(?<=t)erm1|...)(?!alnum)`: it starts
    with a plain character class, so the regex engine skips positions that cannot start a
    hit, and it has no per-letter accent classes, so compiling it is cheap."""
    terms = sorted(folded_terms, key=lambda t: (-len(t), t))
    if not terms:
        return None
    firsts = "".join(sorted({t[0] for t in terms}))
    alts = [f"(?<={re.escape(t[0])}){re.escape(t[1:])}" for t in terms]
    return re.compile(f"[{re.escape(firsts)}](?<![^\\W_].)(?:{'|'.join(alts)})(?![^\\W_])")


class Occurrence(NamedTuple):  # a tuple: made for every hit
    """A syllable or code of the text that may be a query term, in original offsets."""

    term: str  # lowercase, as indexed
    folded: str
    start: int
    end: int
    syllable: bool  # a syllable (alphanumeric): part of phrase runs; a whole code is not
    joined: bool  # no other syllable between the previous occurrence and this one


_Piece = tuple[str, str, int, int, bool, bool]  # lower, folded, start, end, syllable, inherits joined


class TermFinder:
    """The occurrences of a fixed set of (folded) terms in any text."""

    def __init__(self, folded_terms: Iterable[str]) -> None:
        self._terms = frozenset(t for t in folded_terms if t)  # as the tokenizer folds them
        self._regex = _compile({fold_lower(t) for t in self._terms})
        # explicit cache, per finder (one query): a hit's text -> its pieces; the hits of a
        # query are a few spellings of its terms, so most hits are a dictionary lookup
        self._pieces: dict[str, tuple[_Piece, ...]] = {}

    @property
    def active(self) -> bool:
        return self._regex is not None

    def find(self, text: str, offset: int = 0) -> list[Occurrence]:
        """Occurrences in `text` in order (a code, then its parts), offsets + `offset`."""
        if self._regex is None or not text:
            return []
        if length_preserving(text):  # the usual case: no need to normalize all of it
            folded, has_mark = _fold(text)
            if not has_mark:
                return self._occurrences(text, folded, None, None, offset)
        norm = normalize(text)
        t = norm.text
        folded, has_mark = _fold(t)
        if has_mark:  # a mark no letter absorbed ("b\u0308c"): syllables the pattern cannot
            return self._find_by_tokens(text, offset)  # see
        return self._occurrences(t, folded, norm.starts, norm.ends, offset)

    def _occurrences(self, t: str, folded: str, starts: Sequence[int] | None,
                     ends: Sequence[int] | None, offset: int) -> list[Occurrence]:
        """The hits of the pattern in `folded` (fold_lower of `t`); `t` is the normalized
        text, or a text whose normalization keeps every offset (then each hit is normalized
        on its own: tone placement and the one-to-one rules look no further than a
        syllable's own letters). starts/ends map `t` back to the original (None: same)."""
        identity = starts is None or ends is None
        out: list[Occurrence] = []
        append = out.append
        memo = self._pieces
        alnum = _ALNUM.search
        prev_end = -1
        for s, e in self._spans(t, folded):
            raw = t[s:e]
            pieces = memo.get(raw) or self._split(raw)
            # joined: only spaces (the usual case) or nothing alphanumeric since the last hit
            joined = prev_end >= 0 and (t[prev_end:s].isspace() or alnum(t, prev_end, s) is None)
            prev_end = e
            for low, key, a, b, syllable, inherits in pieces:
                a, b = s + a, s + b
                if not identity:
                    a, b = starts[a], ends[b - 1]
                append(Occurrence(low, key, a + offset, b + offset, syllable,
                                  joined if inherits else True))
        return out

    def forms(self, raw: str) -> tuple[str, str]:
        """(lowercase, folded) term of a hit's text, normalized (as `find` gives it)."""
        return (self._pieces.get(raw) or self._split(raw))[0][:2]

    def _split(self, raw: str) -> tuple[_Piece, ...]:
        """A hit's pieces: itself (normalized), and a code's alphanumeric parts as the code
        token gives them; offsets relative to the hit."""
        key = raw
        raw = normalize_text(raw)  # of a normalized hit: itself; of a length-preserving text's hit: the same length
        pieces = [(raw, 0, len(raw))]
        if not raw.isalnum():
            pieces += [(p.text, p.start, p.end) for p in code_parts(RawToken(raw, 0, len(raw), Kind.CODE))]
        out = tuple((*term_forms(piece), a, b, piece.isalnum(), i <= 1)
                    for i, (piece, a, b) in enumerate(pieces))
        if len(self._pieces) < 4096:
            self._pieces[key] = out
        return out

    def _find_by_tokens(self, text: str, offset: int) -> list[Occurrence]:
        """`find` through the indexing tokenizer (texts with stray combining marks)."""
        out: list[Occurrence] = []
        terms = self._terms
        index = -1  # syllable count so far
        last = -2  # index of the last syllable kept
        for term, folded, s, e in syllable_terms(text):
            syllable = term.isalnum()
            index += syllable
            if folded in terms:
                out.append(Occurrence(term, folded, s + offset, e + offset, syllable,
                                      syllable and last == index - 1))
                if syllable:
                    last = index
        return out

    def scan(self, text: str) -> Iterator[tuple[int, int]]:
        """[start, end) of every hit in `text` as it is (no normalization: for choosing a
        window in a long NFC text; `find` on that window gives the exact occurrences)."""
        if self._regex is None or not text:
            return iter(())
        folded, has_mark = _fold(text)
        return self._spans(text, folded, has_mark)

    def _spans(self, t: str, folded: str, has_mark: bool = False) -> Iterator[tuple[int, int]]:
        if len(folded) != len(t):  # cannot happen (the table is 1:1); never misalign
            raise AssertionError("fold_lower changed the text's length")
        if not has_mark:
            return (m.span() for m in self._regex.finditer(folded))
        n = len(t)
        return (m.span() for m in self._regex.finditer(folded)
                if not (m.end() < n and _is_mark(t[m.end()])))  # a stray mark goes on
