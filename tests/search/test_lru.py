"""The byte-bounded LRU behind every search-side cache."""
from __future__ import annotations

from search.lru import ByteLRU


class _Sized:
    def __init__(self, nbytes: int) -> None:
        self.nbytes = nbytes


def test_byte_lru_evicts_least_recent_and_skips_oversized() -> None:
    lru = ByteLRU(100)
    made: list[str] = []

    def make(key: str, size: int):  # noqa: ANN202
        return lambda: made.append(key) or _Sized(size)

    a = lru.get("a", make("a", 40))
    lru.get("b", make("b", 40))
    assert lru.get("a", make("a", 40)) is a and lru.hits == 1  # "a" is now the most recent
    lru.get("c", make("c", 40))  # over budget: "b", the least recently used, goes
    assert lru.nbytes == 80 and len(lru) == 2
    lru.get("a", make("a", 40))
    lru.get("b", make("b", 40))
    assert made == ["a", "b", "c", "b"]
    lru.get("huge", make("huge", 101))  # larger than the budget: returned, never kept
    assert len(lru) == 2 and lru.nbytes == 80 and lru.misses == 5 and lru.hits == 2
