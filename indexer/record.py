"""The article record every source produces and the index stores."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Article:
    """One document to index. Text fields are Unicode (legacy encodings already converted)."""

    id: str
    title: str
    body: str
    summary: str = ""
    date: dt.datetime | None = None
    categories: list[str] = field(default_factory=list)
    author: str = ""
    url: str = ""
    source: str = ""
    doc_number: str = ""
    extras: dict[str, Any] = field(default_factory=dict)


class RecordError(ValueError):
    """A source record that cannot be indexed; `where` is "file:line" (or the path)."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason
