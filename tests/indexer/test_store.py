"""indexer/store.py: generations behind the index symlink."""
from __future__ import annotations

from pathlib import Path

from indexer import store


def test_generations_made_within_one_second_are_pruned_oldest_first(tmp_path: Path) -> None:
    # generation names sort in creation order, also within one second (a rebuild of a few
    # hundred articles takes less than that); prune keeps the live one and the newest other
    for i in range(5):
        path = tmp_path / f"index{i}"
        gens = [store.new_generation(path) for _ in range(4)]
        store.swap_in(path, gens[-1])
        removed = store.prune_generations(path, keep=2)
        assert sorted(removed) == sorted(gens[:2])
        assert set(store.generations_dir(path).iterdir()) == set(gens[2:])
        assert store.live_dir(path) == gens[-1]


def test_prune_keeps_only_the_live_generation_with_keep_1(tmp_path: Path) -> None:
    path = tmp_path / "index"
    gens = [store.new_generation(path) for _ in range(3)]
    store.swap_in(path, gens[1])
    assert sorted(store.prune_generations(path, keep=1)) == sorted([gens[0], gens[2]])
    assert list(store.generations_dir(path).iterdir()) == [gens[1]]
