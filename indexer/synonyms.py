"""Abbreviation and synonym groups (config/synonyms.txt), matched on analysed units.

Applied at query time in both directions: a query containing any form of a group also
searches for the other forms, so "UBND" finds "Ủy ban nhân dân" and the other way round.
Forms are analysed with the same pipeline as text (normalize + tokens), so case, tone
placement and NFD do not matter, and a code like "TP.HCM" is one unit.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from indexer.normalize import normalize_text
from indexer.tokens import _PART, Kind, split_tokens

__all__ = ["SynonymTable", "units", "load_synonyms"]


def units(text: str) -> tuple[str, ...]:
    """Lowercase syllables and whole codes of `text`, punctuation dropped."""
    return tuple(t.text.lower() for t in split_tokens(normalize_text(text)) if t.kind is not Kind.PUNCT)


@dataclass(frozen=True)
class Expansion:
    start: int  # unit index in the query where the matched form starts
    end: int
    alternatives: tuple[tuple[str, ...], ...]  # the group's other forms, as units


class SynonymTable:
    def __init__(self, groups: list[list[tuple[str, ...]]]) -> None:
        self._groups = groups
        self._by_form: dict[tuple[str, ...], int] = {}
        for i, group in enumerate(groups):
            for form in group:
                self._by_form.setdefault(form, i)
        # A code form also matches as its parts: whether "TP.HCM" is one unit depends on
        # case (the tokenizer keeps "TP.HCM" whole but splits "tp.hcm", as it must split
        # "v.v." or "kinh tế-xã hội"), and queries are typed in any case.
        for i, group in enumerate(groups):
            for form in group:
                if len(form) == 1:
                    parts = tuple(_PART.findall(form[0]))
                    if len(parts) > 1:
                        self._by_form.setdefault(parts, i)
        self._longest = max((len(f) for f in self._by_form), default=0)

    @classmethod
    def parse(cls, text: str, where: str = "synonyms") -> "SynonymTable":
        groups: list[list[tuple[str, ...]]] = []
        for lineno, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            forms = [units(f) for f in line.split(" = ")]
            forms = [f for f in forms if f]
            if len(forms) < 2:
                raise ValueError(f"{where}:{lineno}: a group needs two forms separated by ' = '")
            groups.append(list(dict.fromkeys(forms)))
        return cls(groups)

    def __len__(self) -> int:
        return len(self._groups)

    def expansions(self, query_units: list[str] | tuple[str, ...]) -> list[Expansion]:
        """Longest matches, left to right, of any form in the query's units."""
        out: list[Expansion] = []
        i, n = 0, len(query_units)
        while i < n:
            for size in range(min(self._longest, n - i), 0, -1):
                form = tuple(query_units[i:i + size])
                group = self._by_form.get(form)
                if group is not None:
                    alts = tuple(f for f in self._groups[group] if f != form)
                    out.append(Expansion(i, i + size, alts))
                    i += size
                    break
            else:
                i += 1
        return out


def load_synonyms(path: Path) -> SynonymTable:
    return SynonymTable.parse(Path(path).read_text(encoding="utf-8"), str(path))
