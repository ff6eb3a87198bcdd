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
from html.entities import html5

__all__ = ["Normalized", "normalize", "normalize_text", "fold", "canonical_tones", "length_preserving"]


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


def _mark_spans() -> tuple[tuple[int, int], ...]:
    """The combining marks (Mn, Mc, Me) as inclusive code point ranges.

    Marks matter twice: NFC composes them with the letter before (see _CLUSTER), and the
    ones NFC leaves (stray or doubled diacritics, letters with no precomposed form) belong
    to that letter's syllable (indexer.tokens), not to punctuation."""
    out = []
    category = unicodedata.category
    for lo, hi in ((0, 0x20000), (0xE0000, 0xE1000)):  # the planes that have marks
        first = None
        for cp in range(lo, hi + 1):
            is_mark = cp < hi and category(chr(cp))[0] == "M"
            if is_mark and first is None:
                first = cp
            elif not is_mark and first is not None:
                out.append((first, cp - 1))
                first = None
    return tuple(out)


MARK_SPANS = _mark_spans()
# the same as regex class ranges: '\U00000300-\U0000036f...'
MARK_RANGES = "".join(f"\\U{a:08x}-\\U{b:08x}" if b > a else f"\\U{a:08x}" for a, b in MARK_SPANS)


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

ONE_FOR_ONE: dict[str, str] = {chr(k): v for k, v in _ONE_TO_ONE.items()}
_ONE_TO_ONE_CHARS = re.compile("[" + "".join(map(re.escape, ONE_FOR_ONE)) + "]")


def _one_to_one(text: str) -> str:
    """What text.translate(_ONE_TO_ONE) gives, faster: str.translate looks up every
    non-ASCII character in the table, the regex finds the few that are in it."""
    if _ONE_TO_ONE_CHARS.search(text) is None:
        return text
    return _ONE_TO_ONE_CHARS.sub(lambda m: ONE_FOR_ONE[m.group()], text)


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
# A new-style ending: not after q (quý keeps its mark on y), and no letter, digit or mark
# after it (with a final consonant both styles put the mark on the second vowel: hoàn,
# thuyền). The syllable ends where the tokenizer ends it: "_" ends it like any punctuation
# ("hoà_bình" is "hòa_bình", as its syllables are on their own), a stray mark does not.
# (Written to start with a plain character class, [oOuU], so the regex engine can skip to
# candidate positions; a pattern starting with the lookbehind is tried at every position.)
_NEW_STYLE = re.compile(
    "[oOuU](?<![qQ].)"
    "(?:(?<=[oO])[" + "".join(sorted({k[1] for k in _TONE_MOVES if k[0] in "oO"})) + "]"
    "|(?<=[uU])[" + "".join(sorted({k[1] for k in _TONE_MOVES if k[0] in "uU"})) + "])"
    r"(?![^\W_]|[" + MARK_RANGES + "])"
)


def canonical_tones(text: str) -> str:
    """Put tone marks of open oa/oe/uy syllables on the first vowel (hoà -> hòa, uỷ -> ủy)."""
    return _NEW_STYLE.sub(lambda m: _TONE_MOVES[m.group()], text)


# --- length-changing rules (slow path) -----------------------------------------------------

_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# (an entity's start and the zero-width characters are looked for separately: one regex
# with both alternatives has no literal prefix and tries every position, 7x slower)
_ENTITY_START = re.compile(r"&(?:#[0-9xX]|[A-Za-z][A-Za-z0-9]{1,31};)")
_ENTITY_OR_ZERO_WIDTH = re.compile(_ENTITY.pattern + "|[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
# A cluster for NFC: a character and the marks after it (and Hangul vowel/final jamo, the
# only non-marks that compose with what precedes them). Nothing composes or reorders across
# cluster boundaries, so NFC cluster by cluster is NFC of the whole. Characters below
# U+0300 are NFC on their own, so a lone one needs no look.
_CLUSTER = re.compile(f"(?s).[{MARK_RANGES}\u1161-\u1175\u11a8-\u11c2]+|[^\x00-\u02ff]")


def _decode_entity(entity: str) -> str | None:
    """The text of an HTML entity like '&amp;' or '&#7879;', None if it names nothing
    ('&ampx;' is not '&' + 'x;': html.unescape's legacy prefix rule is not applied)."""
    if entity[1] == "#":
        return html.unescape(entity)
    return html5.get(entity[1:])


def _length_changing(text: str) -> tuple[str, array, array]:
    """Entities decoded, zero-width removed, then NFC by cluster; with spans.

    Entities and zero-width characters go first, so that a mark written as '&#768;' or
    after a zero-width space still composes with its letter ('y&#768;' -> 'ỳ')."""
    # 1. entities and zero-width characters: `mid`, and each of its characters' span
    pieces: list[str] = []
    starts = array("l")
    ends = array("l")
    done = 0
    for m in _ENTITY_OR_ZERO_WIDTH.finditer(text):
        s, e = m.span()
        decoded = _decode_entity(m.group()) if e - s > 1 else ""
        if decoded is None:
            continue
        pieces.append(text[done:s])
        starts.extend(range(done, s))
        ends.extend(range(done + 1, s + 1))
        decoded = "".join(c for c in decoded if c not in _ZERO_WIDTH)
        pieces.append(decoded)
        starts.extend([s] * len(decoded))
        ends.extend([e] * len(decoded))
        done = e
    pieces.append(text[done:])
    starts.extend(range(done, len(text)))
    ends.extend(range(done + 1, len(text) + 1))
    mid = "".join(pieces)
    if unicodedata.is_normalized("NFC", mid):
        return mid, starts, ends
    # 2. NFC by cluster; a cluster's characters all get the span of the whole cluster
    out: list[str] = []
    new_starts = array("l")
    new_ends = array("l")
    nfc = unicodedata.normalize
    done = 0
    for m in _CLUSTER.finditer(mid):
        s, e = m.span()
        cluster = m.group()
        piece = nfc("NFC", cluster)
        if piece == cluster:
            continue  # copied with the text around it
        out.append(mid[done:s])
        new_starts.extend(starts[done:s])
        new_ends.extend(ends[done:s])
        out.append(piece)
        new_starts.extend([starts[s]] * len(piece))
        new_ends.extend([ends[e - 1]] * len(piece))
        done = e
    out.append(mid[done:])
    new_starts.extend(starts[done:])
    new_ends.extend(ends[done:])
    return "".join(out), new_starts, new_ends


def length_preserving(text: str) -> bool:
    """Whether `normalize(text)` keeps every offset (NFC, no entity, no zero-width
    character): its text is then `canonical_tones` of `text` with `ONE_FOR_ONE` applied,
    character for character."""
    return (unicodedata.is_normalized("NFC", text) and _ENTITY_START.search(text) is None
            and not any(z in text for z in _ZERO_WIDTH))


def normalize(text: str) -> Normalized:
    """Apply every normalization rule; keep the map to `text`'s characters."""
    if length_preserving(text):
        return Normalized(canonical_tones(_one_to_one(text)), text)
    norm, starts, ends = _length_changing(text)
    return Normalized(canonical_tones(_one_to_one(norm)), text, starts, ends)


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
