"""Split normalized text into syllables, punctuation and protected tokens.

pyvi's own syllabizer cuts "03-CT/TW" into five pieces and "TP.HCM" into two; for search
these codes are keys, so they come out here as one protected token (kind CODE, NUMBER, DATE,
URL or EMAIL) whose alphanumeric parts stay searchable on their own.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

from indexer.normalize import MARK_RANGES

__all__ = ["Kind", "RawToken", "split_tokens", "scan_texts", "code_parts"]


class Kind(str, Enum):
    SYLLABLE = "syl"
    CODE = "code"  # 03-CT/TW, 52/2014/QH13, NĐ-CP, TP.HCM, H5N1
    NUMBER = "num"  # 1.639, 3,5
    DATE = "date"  # 30/12/2014
    URL = "url"
    EMAIL = "email"
    PUNCT = "punct"


@dataclass(slots=True)
class RawToken:
    text: str
    start: int  # offsets into the normalized text
    end: int
    kind: Kind


_M = MARK_RANGES  # a combining mark belongs to the letter before it
# a syllable: a letter or digit, then letters, digits and combining marks
_W = rf"[^\W_](?:[^\W_]|[{_M}])*"

_TOKEN = re.compile(
    rf"""
    (?P<url>(?:https?|ftp)://[^\s<>"'\]\[]*[^\s<>"'\]\[.,;:!?)]
           |www\.[^\s<>"'\]\[]*[^\s<>"'\]\[.,;:!?)])
   |(?P<email>[^\W_][\w.+{_M}-]*@[^\W_][\w{_M}-]*(?:\.[\w{_M}-]+)+)
   |(?P<compound>{_W}(?:(?:[-/.]|(?<=\d),(?=\d)){_W})+)
   |(?P<word>{_W})
   |(?P<punct>[^\w\s]|_)
    """,
    re.VERBOSE,
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)+")
_DATE = re.compile(r"(?:0?[1-9]|[12]\d|3[01])[/.-](?:0?[1-9]|1[0-2])[/.-](?:1[89]|20)\d\d")
_PART = re.compile(_W)
_SUBPART = re.compile(rf"{_W}|[^\w\s]")
_DOT_WORD = re.compile(rf"\.({_W})")


def _glued_sentence(text: str) -> int:
    """Where a joined token is two sentences glued at a period, '21/6/2004.Rất' or
    'TP.Vũng': the index of the first '.' before a capitalised word; 0 if none (codes put
    capitals only after the '.': TP.HCM, T.Ư)."""
    if "." in text:
        for m in _DOT_WORD.finditer(text):
            word = m.group(1)
            if word[0].isupper() and any(c.islower() for c in word):
                return m.start()
    return 0


def _compound_kind(text: str) -> Kind | None:
    """Which protected kind a joined token like 'a-b/c' is, or None to split it."""
    if any(c.isdigit() for c in text):
        if _DATE.fullmatch(text):
            return Kind.DATE
        if _NUMBER.fullmatch(text):
            return Kind.NUMBER
        return Kind.CODE
    letters = [c for c in text if c.isalpha()]
    if letters and all(c.isupper() for c in letters):
        # CT/TW, NĐ-CP, TP.HCM; but a hyphenated pair of capitalised words is not a code.
        parts = _PART.findall(text)
        if all(len(p) <= 8 for p in parts):
            return Kind.CODE
    if "." in text and "/" not in text and "-" not in text:
        parts = _PART.findall(text)  # Tp.HCM, T.Ư
        if parts[0][:1].isupper() and any(len(p) >= 2 and p.isupper() for p in parts):
            if all(len(p) <= 6 for p in parts):
                return Kind.CODE
    return None


def split_tokens(text: str) -> list[RawToken]:
    """Tokens of the normalized text in order; whitespace is dropped."""
    out: list[RawToken] = []
    _scan(text, 0, out.append)
    return out


def scan_texts(text: str) -> tuple[list[str], dict[int, Kind]]:
    """The tokens' texts in order, and the kind of each that is not a syllable (by index):
    what indexing needs, without an object per token.

    Fast path: no token crosses whitespace and every alternative of `_TOKEN` depends only
    on the text up to the next whitespace, so the text is cut at whitespace (str.split is
    C-speed and uses the same whitespace as the regex's \\s) and a piece that is all
    alphanumeric is one syllable; the rest go through the regex (`_scan_piece`). A
    property test checks this equals one regex scan over the whole text.
    """
    texts: list[str] = []
    kinds: dict[int, Kind] = {}
    append = texts.append
    category = unicodedata.category
    punct, syllable = Kind.PUNCT, Kind.SYLLABLE
    for piece in text.split():
        if piece.isalnum():
            append(piece)
        # one punctuation character after or before a syllable ("Minh," "(TGAG"): no
        # alternative of _TOKEN can span it, so it is the regex's word + punct (a trailing
        # combining mark is not punctuation: it belongs to the syllable)
        elif piece[:-1].isalnum() and category(piece[-1])[0] != "M":
            append(piece[:-1])
            kinds[len(texts)] = punct
            append(piece[-1])
        elif piece[1:].isalnum():
            kinds[len(texts)] = punct
            append(piece[0])
            append(piece[1:])
        else:
            tokens: list[RawToken] = []
            _scan_piece(piece, 0, tokens.append)
            for tok in tokens:
                if tok.kind is not syllable:
                    kinds[len(texts)] = tok.kind
                append(tok.text)
    return texts, kinds


def _scan(text: str, base: int, append) -> None:  # noqa: ANN001 - list.append
    """Append the tokens of `text` (offsets shifted by `base`) in order: `scan_texts`'
    tokens, each found from the end of the one before (only whitespace lies between)."""
    texts, kinds = scan_texts(text)
    find = text.find
    kind_of = kinds.get
    syllable = Kind.SYLLABLE
    pos = 0
    for i, piece in enumerate(texts):
        start = find(piece, pos)
        pos = start + len(piece)
        append(RawToken(piece, base + start, base + pos, kind_of(i, syllable)))


def _scan_piece(text: str, base: int, append) -> None:  # noqa: ANN001 - list.append
    for m in _TOKEN.finditer(text):
        group = m.lastgroup
        s, e = m.span()
        s += base
        e += base
        if group == "word":
            append(RawToken(m.group(), s, e, Kind.SYLLABLE))
        elif group == "punct":
            append(RawToken(m.group(), s, e, Kind.PUNCT))
        elif group == "compound":
            tok = m.group()
            cut = _glued_sentence(tok)
            if cut:
                _scan_piece(tok[:cut], s, append)
                append(RawToken(".", s + cut, s + cut + 1, Kind.PUNCT))
                _scan_piece(tok[cut + 1:], s + cut + 1, append)
                continue
            kind = _compound_kind(tok)
            if kind is not None:
                append(RawToken(tok, s, e, kind))
            else:
                for sub in _SUBPART.finditer(tok):
                    sk = Kind.SYLLABLE if sub.group()[0].isalnum() else Kind.PUNCT
                    append(RawToken(sub.group(), s + sub.start(), s + sub.end(), sk))
        elif group == "url":
            append(RawToken(m.group(), s, e, Kind.URL))
        else:
            append(RawToken(m.group(), s, e, Kind.EMAIL))


def code_parts(token: RawToken) -> list[RawToken]:
    """The alphanumeric parts of a protected token, as syllables with their own offsets."""
    return [
        RawToken(p.group(), token.start + p.start(), token.start + p.end(), Kind.SYLLABLE)
        for p in _PART.finditer(token.text)
    ]
