"""A byte-bounded LRU cache: what every cache of the search side is made of (decoded
postings per segment, and per index generation joined document numbers, term scores, term
masks and stored documents)."""
from __future__ import annotations

import threading
from collections import OrderedDict

__all__ = ["ByteLRU"]


class ByteLRU:
    """Values of a known size in bytes (`sizeof`, by default their `nbytes`), least
    recently used evicted past a byte budget; thread-safe (a value computed twice by racing
    threads is kept once)."""

    def __init__(self, max_bytes: int, sizeof=None) -> None:  # noqa: ANN001 - (value) -> int
        self._max = max_bytes
        self._sizeof = sizeof or (lambda v: int(v.nbytes))
        self._lock = threading.Lock()
        self._items: OrderedDict = OrderedDict()
        self.nbytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key, compute):  # noqa: ANN001, ANN201 - any hashable key; () -> value
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return found
            self.misses += 1
        found = compute()
        size = self._sizeof(found)
        if size <= self._max:
            with self._lock:
                if key not in self._items:
                    self._items[key] = found
                    self.nbytes += size
                    while self.nbytes > self._max and self._items:
                        _, old = self._items.popitem(last=False)
                        self.nbytes -= self._sizeof(old)
        return found

    def peek(self, key):  # noqa: ANN001, ANN201
        """The cached value of `key`, or None; never computes (not counted as hit or miss)."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def __len__(self) -> int:
        return len(self._items)
