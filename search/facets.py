"""Facet counts (category, year) over the full set of matching documents.

Whoosh's `groupedby` collects facets document by document in Python, for every match.
The values of these fields are few (tens of categories, tens of years), so instead each
value's documents are read once per index generation as a boolean mask, and a query's
counts are `count_nonzero(value_mask & result_mask)`: microseconds per value. A document with several
categories counts once in each (overlapping facets), as `FieldFacet(allow_overlap=True)`.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import AbstractSet

import numpy as np

from indexer.normalize import fold, normalize_text
from search.docsets import Mask, mask_of
from search.postings import read_postings

__all__ = ["FacetValue", "FacetCache", "FACET_FIELDS"]

FACET_FIELDS = ("category", "year")


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int


class FacetCache:
    """Per-generation value -> document set maps for the facet fields (built lazily)."""

    def __init__(self, searcher, live: Mask) -> None:  # noqa: ANN001 - whoosh Searcher
        self._searcher = searcher
        self._live = live
        self._lock = threading.Lock()
        self._values: dict[str, dict[str, Mask]] = {}

    def values(self, fieldname: str) -> dict[str, Mask]:
        """value -> live (not deleted) documents having it."""
        found = self._values.get(fieldname)
        if found is None:
            with self._lock:
                found = self._values.get(fieldname)
                if found is None:
                    found = self._build(fieldname)
                    self._values[fieldname] = found
        return found

    def _build(self, fieldname: str) -> dict[str, Mask]:
        s = self._searcher
        out: dict[str, Mask] = {}
        if fieldname not in s.schema:
            return out
        n = len(self._live)
        for raw in s.reader().lexicon(fieldname):
            value = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            docs = mask_of(read_postings(s.reader(), fieldname, value).ids, n) & self._live
            if docs.any():
                out[value] = docs
        return out

    def docs(self, fieldname: str, values: AbstractSet[str] | tuple[str, ...]) -> Mask:
        """Documents having any of `values` in `fieldname`."""
        table = self.values(fieldname)
        out = np.zeros(len(self._live), dtype=bool)
        for v in values:
            found = table.get(v)
            if found is not None:
                out |= found
        return out

    def counts(self, fieldname: str, docset: Mask | None) -> list[FacetValue]:
        """Counts per value within mask `docset` (None: all documents), count desc then value."""
        table = self.values(fieldname)
        if docset is None:
            items = [(v, int(np.count_nonzero(d))) for v, d in table.items()]
        else:
            items = []
            for v, d in table.items():
                n = int(np.count_nonzero(docset & d))
                if n:
                    items.append((v, n))
        items.sort(key=lambda x: (-x[1], x[0]))
        return [FacetValue(v, n) for v, n in items]

    def resolve(self, fieldname: str, name: str) -> list[str]:
        """Index values matching a user-typed value: exact, else ignoring case and accents."""
        table = self.values(fieldname)
        name = normalize_text(name).strip()
        if name in table:
            return [name]
        key = fold(name.lower())
        return sorted(v for v in table if fold(normalize_text(v).lower()) == key)
