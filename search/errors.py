"""Errors the search layer raises on purpose; the HTTP layer maps them to status codes."""
from __future__ import annotations

__all__ = ["SearchError", "InvalidRequest", "IndexUnavailable"]


class SearchError(Exception):
    """Base class of the errors below."""


class InvalidRequest(SearchError, ValueError):
    """A request parameter is out of range or malformed (HTTP 400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class IndexUnavailable(SearchError):
    """The index directory is missing, empty or unreadable (HTTP 503)."""
