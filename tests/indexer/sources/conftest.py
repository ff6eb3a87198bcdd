"""Fixtures of the portal tests: the seed text export and its parse."""
from __future__ import annotations

import pytest

from indexer.record import Article
from indexer.sources.portal_text import parse_portal_text
from tests.indexer.sources.seed_page import SEED


@pytest.fixture(scope="module")
def seed_text() -> str:
    if not SEED.exists():
        pytest.skip(f"{SEED} not present")
    return SEED.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def seed(seed_text: str) -> Article:
    return parse_portal_text(seed_text, "seed-id")
