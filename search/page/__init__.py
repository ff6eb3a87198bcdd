"""The portal's server-rendered search page: `GET /` and its static files.

The app factory mounts it with `search.page.register(app, engine)`; it needs nothing
else (the `/suggest` endpoint that autocomplete calls belongs to the JSON API).
"""
from __future__ import annotations

from typing import Any

from search.page.resource import SearchPage, StaticFiles

__all__ = ["register", "SearchPage", "StaticFiles"]


def register(app: Any, engine: Any, **options: Any) -> SearchPage:
    """Add `/` and `/static/{name}` to a falcon.App; `options` go to SearchPage (per_page, ...)."""
    static = StaticFiles()
    page = SearchPage(engine, static=static, **options)
    app.add_route("/", page)
    app.add_route("/static/{name}", static)
    return page
