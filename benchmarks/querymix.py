"""A realistic, deterministic query mix built from the indexed corpus itself.

Seeded (`random.Random(seed)`), so every run and every engine gets the same strings:
    words     1-4 consecutive words of a title (on the segmenter's word boundaries, at
              most 6 syllables), with their diacritics                      (35%)
    unaccent  the same kind of run typed without diacritics (indexer.normalize.fold)  (25%)
    code      a code or number that occurs in a title, alone or with the word after it:
              half with letters (H5N1, G8, A380, Q.1, PMU18), half numbers
              (10/2006, 1.000, 2007)                                        (20%)
    phrase    a "quoted phrase" of 2-3 consecutive title syllables          (20%)
Word runs never cross punctuation (what a user would copy from a headline) and are
lowercase (what users type; the engine is case-insensitive anyway). Dates for the date
filter mode are windows of 7, 30, 90 or 365 days around the date of a random indexed
document (a second RNG, so the query strings do not depend on the dates).
"""
from __future__ import annotations

import datetime as dt
import random
import re
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

from indexer.normalize import fold, normalize_text

__all__ = ["Query", "build_mix", "KINDS"]

KINDS = {"words": 0.35, "unaccent": 0.25, "code": 0.20, "phrase": 0.20}
_WORD = re.compile(r"[^\W\d_]+")  # a run of letters: one Vietnamese syllable
_CODE = re.compile(r"(?<![\w/.-])(?=[\w./-]*\d)[A-Za-z0-9][\w]*(?:[./-][\w]+)*(?![\w/-])")
_SPLIT = re.compile(r"[,;:!?()\[\]\"“”'‘’…|]+|\s[-–—]\s|\.\s")


@dataclass(frozen=True)
class Query:
    q: str
    kind: str
    date_from: str | None = None  # ISO date of the window for date-filter modes
    date_to: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _runs(title: str) -> list[list[str]]:
    """Runs of consecutive letter-only words between punctuation."""
    out = []
    for chunk in _SPLIT.split(title):
        words = chunk.split()
        run: list[str] = []
        for w in words:
            if _WORD.fullmatch(w):
                run.append(w.lower())
            else:
                if run:
                    out.append(run)
                run = []
        if run:
            out.append(run)
    return out


def _codes(title: str) -> list[tuple[str, str | None]]:
    """(code, following word or None) for every token with a digit in the title."""
    out = []
    for m in _CODE.finditer(title):
        code = m.group().rstrip(".")
        if len(code) < 2 or len(code) > 20:
            continue
        if code.isdigit() and len(code) < 3:  # "2", "15": no user searches for those alone
            continue
        after = title[m.end():].split()
        nxt = after[0].lower() if after and _WORD.fullmatch(after[0]) else None
        out.append((code, nxt))
    return out


def _window(rng: random.Random, run: list[str], n: int) -> list[str]:
    n = min(n, len(run))
    i = rng.randrange(len(run) - n + 1)
    return run[i:i + n]


def build_mix(titles: Iterable[str], n: int = 500, seed: int = 20240611,
              dates: list[dt.date] | None = None) -> list[Query]:
    """`n` queries drawn from `titles`, each with a date window around one of `dates`
    (see the module docstring)."""
    rng = random.Random(seed)
    date_rng = random.Random(seed + 1)
    titles = [normalize_text(t) for t in titles if t and t.strip()]
    runs = [r for t in titles for r in _runs(t)]
    long_runs = [r for r in runs if len(r) >= 2]
    codes = [c for t in titles for c in _codes(t)]
    # codes weighted by how often they occur (what people look for), but capped so that
    # years ("2006") do not make up the whole class
    seen: Counter[str] = Counter()
    pools: dict[bool, list[tuple[str, str | None]]] = {True: [], False: []}
    for code, nxt in codes:
        if seen[code] < 5:
            pools[any(ch.isalpha() for ch in code)].append((code, nxt))
            seen[code] += 1
    from indexer.segment import get_segmenter

    seg = get_segmenter()
    kinds = list(KINDS)
    weights = [KINDS[k] for k in kinds]
    out: list[Query] = []
    qseen: set[str] = set()
    attempts = 0
    while len(out) < n and attempts < n * 50:
        attempts += 1
        kind = rng.choices(kinds, weights)[0]
        if kind in ("words", "unaccent"):
            length = rng.choices((1, 2, 3, 4), (0.30, 0.35, 0.22, 0.13))[0]
            seg_words = [w.text.lower() for w in seg.words(" ".join(rng.choice(runs)))]
            words = _window(rng, seg_words, length)
            while len(words) > 1 and sum(len(w.split()) for w in words) > 6:
                words = words[:-1]
            q = " ".join(words)
            if kind == "unaccent":
                q = fold(q)
                if q == " ".join(words):  # had no diacritics: not this class
                    continue
        elif kind == "code":
            pool = pools[rng.random() < 0.5] or pools[True] or pools[False]
            if not pool:
                continue
            code, nxt = rng.choice(pool)
            q = code if (nxt is None or rng.random() < 0.5) else f"{code} {nxt}"
        else:
            words = _window(rng, rng.choice(long_runs), rng.choice((2, 2, 3)))
            if len(words) < 2:
                continue
            q = '"' + " ".join(words) + '"'
        if q in qseen:
            continue
        qseen.add(q)
        date_from = date_to = None
        if dates:
            anchor = date_rng.choice(dates)
            days = date_rng.choice((7, 30, 90, 365))
            start = anchor - dt.timedelta(days=date_rng.randrange(days))
            date_from, date_to = start.isoformat(), (start + dt.timedelta(days=days - 1)).isoformat()
        out.append(Query(q, kind, date_from, date_to))
    return out


def load_or_build(path: Path, records_fn, n: int, seed: int, corpus: str) -> list[Query]:
    """The mix cached in `path` (JSON) when it was built with the same parameters;
    `records_fn()` gives (title, date or None) of every indexed document."""
    import json

    params = {"n": n, "seed": seed, "corpus": corpus, "version": 2}
    if path.exists():
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("params") == params:
            return [Query(**q) for q in data["queries"]]
    records = list(records_fn())
    mix = build_mix((t for t, _ in records), n, seed, [d for _, d in records if d is not None])
    path.parent.mkdir(parents=True, exist_ok=True)
    counts = Counter(q.kind for q in mix)
    path.write_text(json.dumps({"params": params, "kinds": dict(counts),
                                "queries": [q.as_dict() for q in mix]},
                               ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return mix
