"""User query string -> structured query: the query syntax.

Why not whoosh.qparser: it splits on spaces before analysis, so Vietnamese words (two or
more syllables), codes ("03-CT/TW") and accent-free input cannot be handled as units. Here
the syntax layer only finds "phrases", -exclusions, OR, and field:term prefixes; every
free-text run is left whole for `search.query` to analyze as the documents are.

Syntax never fails: unbalanced quotes, stray operators, a lone '-', 'OR' at either end and
wildcards degrade to plain text (wildcard characters are punctuation, so they are ignored;
no Whoosh wildcard query is ever built).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from indexer.normalize import normalize_text

__all__ = ["Atom", "Clause", "ParsedQuery", "parse", "clean_query", "FIELD_PREFIXES"]

FIELD_PREFIXES = {"title": ("title",), "body": ("body",), "category": ()}
_FIELD_RE = re.compile(r"(title|body|category):", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Atom:
    """One syntactic item: a bare token (or merged run of them) or a quoted phrase."""

    text: str
    phrase: bool = False
    field: str | None = None  # "title" | "body" | "category" | None (all text fields)
    negated: bool = False


@dataclass(frozen=True)
class Clause:
    """Alternatives joined by OR (one alternative for most clauses); all clauses are ANDed."""

    alternatives: tuple[Atom, ...]


@dataclass(frozen=True)
class ParsedQuery:
    text: str  # the cleaned, normalized query
    clauses: tuple[Clause, ...] = ()
    excluded: tuple[Atom, ...] = ()
    categories: tuple[str, ...] = ()
    excluded_categories: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.clauses or self.excluded or self.categories or self.excluded_categories)


def _repair(text: str) -> str:
    """Legacy encodings (TCVN3, VNI, ...) pasted into the box, if the repair module exists."""
    try:
        from indexer.legacy import repair_text  # type: ignore[import-not-found]
    except ImportError:
        return text
    try:
        return repair_text(text)
    except Exception:  # a repair bug must not break searching
        return text


def clean_query(q: str, max_chars: int) -> str:
    """Repaired, normalized (NFC, tone placement, quotes), control-free, at most max_chars."""
    q = q[: max_chars * 4]  # bound the work before repair; exact cap below
    q = _repair(q)
    q = _CONTROL.sub(" ", q)
    q = normalize_text(unicodedata.normalize("NFC", q))
    q = q[:max_chars]
    return q.strip()


_OR = object()


def _lex(s: str) -> list[object]:
    """Atoms and OR markers, left to right; never raises."""
    items: list[object] = []
    i, n = 0, len(s)
    while i < n:
        if s[i].isspace():
            i += 1
            continue
        negated = False
        if s[i] == "-" and i + 1 < n and (s[i + 1] == '"' or s[i + 1].isalpha()):
            negated = True
            i += 1
        fieldname = None
        m = _FIELD_RE.match(s, i)
        if m and m.end() < n and not s[m.end()].isspace():
            fieldname = m.group(1).lower()
            i = m.end()
        if s[i] == '"':
            j = s.find('"', i + 1)
            if j == -1:  # unbalanced quote: drop it, the rest is plain text
                s = s[:i] + " " + s[i + 1:]
                continue
            text = s[i + 1:j].strip()
            i = j + 1
            if text:
                items.append(Atom(text, True, fieldname, negated))
            continue
        j = i
        while j < n and not s[j].isspace():
            j += 1
        text = s[i:j]
        i = j
        if text == "OR" and not negated and fieldname is None:
            items.append(_OR)
        elif text:
            items.append(Atom(text, False, fieldname, negated))
    return items


def parse(q: str, max_chars: int = 500) -> ParsedQuery:
    """Structure of a user query; malformed syntax degrades to plain text."""
    text = clean_query(q or "", max_chars)
    items = _lex(text)
    # OR binds the atoms on either side; OR at the ends, doubled, or next to an exclusion
    # is ignored.
    groups: list[list[Atom]] = []
    pending_or = False
    for item in items:
        if item is _OR:
            pending_or = bool(groups) and not groups[-1][-1].negated
            continue
        assert isinstance(item, Atom)
        if pending_or and not item.negated and groups:
            groups[-1].append(item)
        else:
            groups.append([item])
        pending_or = False
    clauses: list[Clause] = []
    excluded: list[Atom] = []
    cats: list[str] = []
    excats: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            clauses.append(Clause((Atom(" ".join(run)),)))
            run.clear()

    for group in groups:
        if len(group) == 1:
            atom = group[0]
            if atom.field == "category":
                (excats if atom.negated else cats).append(atom.text)
                continue
            if atom.negated:
                excluded.append(atom)
                continue
            if not atom.phrase and atom.field is None:
                run.append(atom.text)
                continue
            flush()
            clauses.append(Clause((atom,)))
            continue
        flush()
        alts = []
        for atom in group:
            if atom.field == "category":
                cats.append(atom.text)
            else:
                alts.append(atom)
        if alts:
            clauses.append(Clause(tuple(alts)))
    flush()
    return ParsedQuery(text, tuple(clauses), tuple(excluded), tuple(cats), tuple(excats))
