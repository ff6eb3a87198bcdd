"""Split normalized text into syllables, punctuation and protected tokens.

pyvi's own syllabizer cuts "03-CT/TW" into five pieces and "TP.HCM" into two; for search
these codes are keys, so they come out here as one protected token (kind CODE, NUMBER, DATE,
URL or EMAIL) whose alphanumeric parts stay searchable on their own.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

__all__ = ["Kind", "RawToken", "split_tokens", "code_parts"]


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


_TOKEN = re.compile(
    r"""
    (?P<url>(?:https?|ftp)://[^\s<>"'\]\[]*[^\s<>"'\]\[.,;:!?)]
           |www\.[^\s<>"'\]\[]*[^\s<>"'\]\[.,;:!?)])
   |(?P<email>[^\W_][\w.+-]*@[^\W_][\w-]*(?:\.[\w-]+)+)
   |(?P<compound>[^\W_]+(?:(?:[-/.]|(?<=\d),(?=\d))[^\W_]+)+)
   |(?P<word>[^\W_]+)
   |(?P<punct>[^\w\s]|_)
    """,
    re.VERBOSE,
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)+")
_DATE = re.compile(r"(?:0?[1-9]|[12]\d|3[01])[/.-](?:0?[1-9]|1[0-2])[/.-](?:1[89]|20)\d\d")
_PART = re.compile(r"[^\W_]+")


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
    append = out.append
    for m in _TOKEN.finditer(text):
        group = m.lastgroup
        s, e = m.span()
        if group == "word":
            append(RawToken(m.group(), s, e, Kind.SYLLABLE))
        elif group == "punct":
            append(RawToken(m.group(), s, e, Kind.PUNCT))
        elif group == "compound":
            tok = m.group()
            kind = _compound_kind(tok)
            if kind is not None:
                append(RawToken(tok, s, e, kind))
            else:
                for sub in re.finditer(r"[^\W_]+|[^\w\s]", tok):
                    sk = Kind.SYLLABLE if sub.group()[0].isalnum() else Kind.PUNCT
                    append(RawToken(sub.group(), s + sub.start(), s + sub.end(), sk))
        elif group == "url":
            append(RawToken(m.group(), s, e, Kind.URL))
        else:
            append(RawToken(m.group(), s, e, Kind.EMAIL))
    return out


def code_parts(token: RawToken) -> list[RawToken]:
    """The alphanumeric parts of a protected token, as syllables with their own offsets."""
    return [
        RawToken(p.group(), token.start + p.start(), token.start + p.end(), Kind.SYLLABLE)
        for p in _PART.finditer(token.text)
    ]
