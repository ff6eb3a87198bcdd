"""Normalization of Vietnamese text, keeping a map back to the original characters.

Index terms and query terms are made from the normalized text; highlights must land on the
original text. So `normalize` returns both, with per-character spans. Length-preserving
rules (tone placement, quotes, dashes, spaces) keep the identity map; the rare
length-changing ones (NFD input, HTML entities, zero-width characters) take a slow path
that records where each normalized character came from.
"""
from __future__ import annotations

import html
import re
import unicodedata
from array import array
from dataclasses import dataclass

__all__ = ["Normalized", "normalize", "normalize_text", "fold", "canonical_tones"]


@dataclass(frozen=True, slots=True)
class Normalized:
    """Normalized text plus, per character, the [start, end) span it came from."""

    text: str
    original: str
    starts: array | None = None  # None: identity map (same length, same positions)
    ends: array | None = None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) of the normalized slice [start, end)."""
        if self.starts is None or self.ends is None:
            return start, end
        if start >= end:
            pos = self.starts[start] if start < len(self.starts) else len(self.original)
            return pos, pos
        return self.starts[start], self.ends[end - 1]


# --- length-preserving rules -------------------------------------------------------------

_ONE_TO_ONE = str.maketrans(
    {
        **{c: '"' for c in "\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033\uff02"},
        **{c: "'" for c in "\u2018\u2019\u201a\u201b\u2032\u00b4\uff07"},
        **{c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"},
        **{c: " " for c in "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
                           "\u2009\u200a\u202f\u205f\u3000\t\x0b\x0c"},
    }
)

_TONES = "\u0300\u0301\u0309\u0303\u0323"  # huyền, sắc, hỏi, ngã, nặng


def _tone_moves() -> dict[str, str]:
    """'oà' -> 'òa', 'uỷ' -> 'ủy', ... for the two-vowel endings oa, oe, uy (all cases)."""
    moves: dict[str, str] = {}
    for first, seconds in (("o", "ae"), ("u", "y")):
        for f in (first, first.upper()):
            for s in seconds + seconds.upper():
                for tone in _TONES:
                    new_style = f + unicodedata.normalize("NFC", s + tone)
                    old_style = unicodedata.normalize("NFC", f + tone) + s
                    moves[new_style] = old_style
    return moves


_TONE_MOVES = _tone_moves()
# A new-style ending: not after q (quý keeps its mark on y), and no letter after it
# (with a final consonant both styles put the mark on the second vowel: hoàn, thuyền).
_NEW_STYLE = re.compile(
    "(?<![qQ])(" + "|".join(sorted(_TONE_MOVES, key=len, reverse=True)) + r")(?!\w)"
)


def canonical_tones(text: str) -> str:
    """Put tone marks of open oa/oe/uy syllables on the first vowel (hoà -> hòa, uỷ -> ủy)."""
    return _NEW_STYLE.sub(lambda m: _TONE_MOVES[m.group(1)], text)


# --- length-changing rules (slow path) -----------------------------------------------------

_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_NEEDS_SLOW_PATH = re.compile(r"&(?:#[0-9xX]|[A-Za-z][A-Za-z0-9]{1,31};)|[\u200b\u200c\u200d\u2060\ufeff\u00ad]")


def _length_changing(text: str) -> tuple[str, array, array]:
    """NFC per character cluster, entities decoded, zero-width removed, with spans."""
    out: list[str] = []
    starts = array("l")
    ends = array("l")
    combining = unicodedata.combining
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "&":
            m = _ENTITY.match(text, i)
            if m:
                decoded = html.unescape(m.group())
                if decoded != m.group():
                    decoded = unicodedata.normalize("NFC", decoded)
                    out.append(decoded)
                    starts.extend([i] * len(decoded))
                    ends.extend([m.end()] * len(decoded))
                    i = m.end()
                    continue
        if c in _ZERO_WIDTH:
            i += 1
            continue
        j = i + 1
        while j < n and combining(text[j]):
            j += 1
        piece = text[i:j] if j - i > 1 else c
        if j - i > 1 or not unicodedata.is_normalized("NFC", piece):
            piece = unicodedata.normalize("NFC", piece)
        out.append(piece)
        starts.extend([i] * len(piece))
        ends.extend([j] * len(piece))
        i = j
    return "".join(out), starts, ends


def normalize(text: str) -> Normalized:
    """Apply every normalization rule; keep the map to `text`'s characters."""
    if unicodedata.is_normalized("NFC", text) and not _NEEDS_SLOW_PATH.search(text):
        return Normalized(canonical_tones(text.translate(_ONE_TO_ONE)), text)
    norm, starts, ends = _length_changing(text)
    return Normalized(canonical_tones(norm.translate(_ONE_TO_ONE)), text, starts, ends)


def normalize_text(text: str) -> str:
    """`normalize(text).text`, for callers that need no offsets (queries, synonyms)."""
    return normalize(text).text


# --- accent folding --------------------------------------------------------------------------

def _fold_table() -> dict[int, str]:
    table: dict[int, str] = {ord("đ"): "d", ord("Đ"): "D"}
    for cp in list(range(0x00C0, 0x0250)) + list(range(0x1E00, 0x1F00)):
        ch = chr(cp)
        base = unicodedata.normalize("NFD", ch)[0]
        if base != ch and base.isascii() and base.isalpha():
            table[cp] = base
    for cp in range(0x0300, 0x0370):  # stray combining marks
        table[cp] = ""
    return table


_FOLD = _fold_table()


def fold(text: str) -> str:
    """Strip Vietnamese diacritics: 'Huyện ủy' -> 'Huyen uy', 'đ' -> 'd'."""
    return text.translate(_FOLD)
