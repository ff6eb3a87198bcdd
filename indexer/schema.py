"""The Whoosh schema, and the conversion of analysed articles into its field values.

Each text field (title, summary, body) becomes four indexed fields, one per term stream of
`indexer.analysis` (suffixes below), so that exact-accent and word matches can be weighted
above folded and syllable matches at query time. Analysis happens in worker processes:
`prepare` turns an Article into ready-made posting tuples that the segment writer only has
to append (`PreAnalyzed.index` yields them as they are).
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from functools import lru_cache
from pickle import dumps
from typing import Any, Iterator

from whoosh import analysis as wanalysis
from whoosh import fields, formats
from whoosh.system import pack_uint

from indexer.analysis import analyze, index_terms, joined_terms
from indexer.record import Article

try:  # the postings' encoding in C (indexer/_encode.c), built by `pip install -e .`
    from indexer import _encode
except ImportError:  # a source tree run without building it: the Python code alone
    _encode = None

__all__ = [
    "SCHEMA_VERSION", "TEXT_FIELDS", "STREAMS", "PreAnalyzed", "Postings", "build_schema",
    "prepare", "field_texts", "field_name", "encode_terms", "encode_syllables_and_folded",
]

SCHEMA_VERSION = 3
TEXT_FIELDS = ("title", "summary", "body")
# stream -> (field suffix, keeps positions for phrase queries)
STREAMS: dict[str, tuple[str, bool]] = {
    "syllables": ("", True),
    "words": ("_w", False),
    "folded": ("_f", True),
    "bigrams": ("_b", False),
}


def field_name(text_field: str, stream: str) -> str:
    return text_field + STREAMS[stream][0]


class Postings(list):
    """Pre-encoded (term bytes, freq, weight, value bytes) tuples for one field of one doc."""


class StreamAnalyzer(wanalysis.Analyzer):
    """Whoosh analyzer running our pipeline and emitting one term stream (used only when a
    plain string reaches a field, e.g. from Whoosh's own tools; the indexer pre-analyses)."""

    def __init__(self, stream: str) -> None:
        self.stream = stream

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StreamAnalyzer) and other.stream == self.stream

    def __call__(self, value: str, positions: bool = False, chars: bool = False,
                 start_pos: int = 0, start_char: int = 0, **kwargs: Any):
        tok = wanalysis.Token(positions, chars, **kwargs)
        for t in getattr(analyze(value), self.stream):
            tok.text = t.text
            tok.boost = 1.0
            if positions:
                tok.pos = start_pos + t.pos
            if chars:
                tok.startchar = start_char + t.start
                tok.endchar = start_char + t.end
            yield tok


class PreAnalyzed(fields.FieldType):
    """A scorable text field that accepts `Postings` made by `prepare`."""

    def __init__(self, stream: str, positions: bool, stored: bool = False) -> None:
        fmt = formats.Positions() if positions else formats.Frequency()
        super().__init__(fmt, StreamAnalyzer(stream), scorable=True, stored=stored)
        self.stream = stream

    def index(self, value: Any, **kwargs: Any):
        if isinstance(value, Postings):
            return iter(value)
        return super().index(value, **kwargs)


def build_schema() -> fields.Schema:
    spec: dict[str, fields.FieldType] = {
        "id": fields.ID(stored=True, unique=True),
        "category": fields.KEYWORD(stored=True, commas=True, scorable=False, lowercase=False),
        "date": fields.DATETIME(stored=True, sortable=True),
        "year": fields.ID(sortable=True),
        "month": fields.ID(sortable=True),
        "author": fields.STORED(),
        "url": fields.STORED(),
        "source": fields.ID(stored=True),
        "doc_number": fields.ID(stored=True),
        "doc_number_key": fields.ID(),
        "extras": fields.STORED(),
    }
    for text_field in TEXT_FIELDS:
        for stream, (suffix, positions) in STREAMS.items():
            spec[text_field + suffix] = PreAnalyzed(stream, positions, stored=(suffix == ""))
    return fields.Schema(**spec)


_ONE_POSITION_MAX = 1 << 16


@lru_cache(maxsize=None)  # explicit cache: at most _ONE_POSITION_MAX small byte strings
def _one_position(pos: int) -> bytes:
    """`formats.Positions().encode([pos])`: most terms of a document occur once."""
    return pack_uint(1) + dumps([pos], 2)


@lru_cache(maxsize=4096)
def _count_value(n: int) -> bytes:
    return pack_uint(n)


def _positions_value(plist: list[int]) -> bytes:
    """`formats.Positions().encode(plist)`: the count, then the pickled position deltas."""
    if len(plist) == 1 and plist[0] < _ONE_POSITION_MAX:
        return _one_position(plist[0])
    return pack_uint(len(plist)) + dumps([b - a for a, b in zip((0, *plist), plist)], 2)


def _positions(terms: list[str]) -> dict[str, list[int]]:
    """Each term's positions (list indexes), terms in order of first occurrence."""
    poses: dict[str, list[int]] = {}
    get = poses.get
    for i, term in enumerate(terms):
        plist = get(term)
        if plist is None:
            poses[term] = [i]
        else:
            plist.append(i)
    return poses


def encode_terms(terms: list[str], positions: bool) -> Postings:
    """Group a stream's terms (position = list index) into Whoosh posting tuples: what
    `Format.word_values` would yield (checked in tests/indexer/test_schema.py)."""
    out = Postings()
    if not positions and _encode is not None and _encode.counts(terms, _count_value, out):
        return out  # (the same postings, made in C)
    if positions:
        out.extend((term.encode("utf-8"), len(plist), float(len(plist)), _positions_value(plist))
                   for term, plist in _positions(terms).items())
    else:
        out.extend((term.encode("utf-8"), n, float(n), _count_value(n))
                   for term, n in Counter(terms).items())
    return out


def encode_syllables_and_folded(syllables: list[str], folded: list[str]) -> tuple[Postings, Postings]:
    """`encode_terms` of the syllable and the folded stream (both with positions), which
    run in step: the i-th folded term is the i-th syllable's folded form. The folded
    postings come from the syllable postings: a folded term met by one syllable term
    (most: "học" -> "hoc") has its positions and value; the positions of several ("hòa",
    "hoà", "hoa" -> "hoa") are merged. That saves a pass over the tokens and most of the
    folded values' encoding (0.75 -> 0.56 ms per VNTC article for all four streams).
    Made in C where it takes the input (lists of str of one length; indexer/_encode.c, the
    same postings with the same cached value objects: tests/indexer/test_encode.py)."""
    if _encode is not None:
        out, out_f = Postings(), Postings()
        if _encode.syllables_and_folded(syllables, folded, _one_position, _ONE_POSITION_MAX, out, out_f):
            return out, out_f
    fold_of = dict(zip(syllables, folded))
    out = Postings()
    append = out.append
    groups: dict[str, tuple[list[int], bytes | None]] = {}
    get = groups.get
    for term, plist in _positions(syllables).items():
        n = len(plist)
        value = _positions_value(plist)
        append((term.encode("utf-8"), n, float(n), value))
        f = fold_of[term]
        seen = get(f)
        groups[f] = (plist, value) if seen is None else (seen[0] + plist, None)
    out_f = Postings()
    append = out_f.append
    for f, (plist, value) in groups.items():
        if value is None:
            plist.sort()  # (a list of its own: made by the concatenation above)
            value = _positions_value(plist)
        n = len(plist)
        append((f.encode("utf-8"), n, float(n), value))
    return out, out_f


def doc_number_key(number: str) -> str:
    """Comparable form of a document number: 'Số: 52/2014/QH13' -> '52/2014/qh13'."""
    number = number.strip()
    if number.lower().startswith("số"):
        number = number[2:].lstrip(" :.")
    return number.lower()


def indexed_text(article: Article) -> str:
    """What the body fields index: the whole article (title, summary, body). BM25 then sees
    each document whole, and the title fields add a boost on top (measured on ALQAC:
    nDCG@10 86.1 with title and body scored apart, 90.1 with the body fields holding the
    whole text). The stored body stays the article's own body."""
    return "\n".join(t for t in (article.title, article.summary, article.body) if t)


def field_texts(article: Article) -> Iterator[tuple[str, str, str]]:
    """(text field, the text it indexes, the text it stores) of each text field with
    something to index: the body field indexes the whole article (`indexed_text`)."""
    for text_field in TEXT_FIELDS:
        text = getattr(article, text_field) or ""
        indexed = indexed_text(article) if text_field == "body" else text
        if indexed:
            yield text_field, indexed, text


def prepare(article: Article) -> dict[str, Any]:
    """Field values for `writer.add_document` / `update_document`, heavy work included."""
    doc: dict[str, Any] = {"id": article.id}
    # each text analysed once: the body fields index the whole article (`indexed_text`),
    # whose terms are its parts' terms joined (`joined_terms`)
    own = {f: index_terms(t) for f in TEXT_FIELDS if (t := getattr(article, f))}
    for text_field, indexed, text in field_texts(article):
        terms = joined_terms(list(own.values())) if text_field == "body" else own[text_field]
        doc[field_name(text_field, "syllables")], doc[field_name(text_field, "folded")] = \
            encode_syllables_and_folded(terms.syllables, terms.folded)
        doc[field_name(text_field, "words")] = encode_terms(terms.words, False)
        doc[field_name(text_field, "bigrams")] = encode_terms(terms.bigrams, False)
        doc["_stored_" + text_field] = text  # never the postings
    if article.categories:
        doc["category"] = ",".join(c.replace(",", " ") for c in article.categories)
    if article.date is not None:
        date = article.date
        if isinstance(date, dt.date) and not isinstance(date, dt.datetime):
            date = dt.datetime(date.year, date.month, date.day)
        doc["date"] = date
        doc["year"] = f"{date.year:04d}"
        doc["month"] = f"{date.year:04d}-{date.month:02d}"
    for name in ("author", "url", "source", "doc_number"):
        value = getattr(article, name)
        if value:
            doc[name] = value
    if article.doc_number:
        doc["doc_number_key"] = doc_number_key(article.doc_number)
    if article.extras:
        doc["extras"] = article.extras
    return doc
