"""Autocomplete and did-you-mean, from the index's own vocabulary (`search.vocab`).

Autocomplete: the last one to three typed syllables (the last possibly partial) are matched
by accent-folded prefix against title syllables and title words, so "huyen u" completes to
"huyện ủy"; typed accents must agree, missing accents are free. Ranked by how many
documents use the completion.

Did-you-mean: for a query typed without accents, the accented query restored from the
index ("hoc tap" -> "học tập"); for a query with few or no hits, per-syllable correction
(same folded form first, then folded edit distance 1) kept only if it finds more documents.
"""
from __future__ import annotations

import math
import re
import unicodedata
from typing import Callable

from indexer.normalize import fold, normalize_text
from search.query import CompiledQuery
from search.vocab import Vocabulary, is_plain

__all__ = ["autocomplete", "did_you_mean", "correct_syllables", "unknown", "FEW_HITS"]

FEW_HITS = 3  # below this many hits a spelling correction is looked for
_SYLLABLE = re.compile(r"[^\W_]+")
_TONE_MARKS = dict.fromkeys(map(ord, "\u0300\u0301\u0303\u0309\u0323"))


def _base(s: str) -> str:
    """Without tone marks but with vowel marks: "huyện" -> "huyên"."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", s).translate(_TONE_MARKS))


def _compatible(typed: list[str], cand: list[str], partial_last: bool) -> bool:
    if len(cand) < len(typed):
        return False
    for i, t in enumerate(typed):
        c = cand[i]
        last = partial_last and i == len(typed) - 1
        if last:
            if not fold(c).startswith(fold(t)):
                return False
            if not is_plain(t) and not (c.startswith(t) or _base(c).startswith(_base(t))):
                return False
        elif fold(c) != fold(t) or (not is_plain(t) and c != t):
            return False
    return True


def autocomplete(vocab: Vocabulary, prefix: str, limit: int = 8) -> list[str]:
    """Up to `limit` completions of `prefix`, most used first."""
    text = normalize_text(prefix).lower()
    tokens = _SYLLABLE.findall(text)
    if not tokens:
        return []
    partial = not text[-1:].isspace()
    scored: dict[str, tuple[int, int]] = {}
    for k in (3, 2, 1):
        if k > len(tokens):
            continue
        head, tail = tokens[:-k], tokens[-k:]
        key = fold(" ".join(tail)) + ("" if partial else " ")
        head_text = vocab.restore(head) if head else []
        for c in vocab.completions(key, limit * 8):
            words = c.text.split(" ")
            if not _compatible(tail, words, partial):
                continue
            if not partial and len(words) <= len(tail):
                continue  # after a space, only longer words are completions
            full = " ".join([*head_text, c.text])
            rank = (k, c.df)
            if full not in scored or scored[full] < rank:
                scored[full] = rank
        if len(scored) >= limit:
            break
    ordered = sorted(scored.items(), key=lambda x: (-x[1][0], -x[1][1], x[0]))
    return [text for text, _ in ordered[:limit]]


def unknown(vocab: Vocabulary, syllable: str) -> bool:
    """A syllable the index has never seen, in its accents or (typed plain) in any accents."""
    if not syllable.isalpha():
        return False
    if is_plain(syllable):
        return not vocab.accented(syllable) and vocab.syllable_df(syllable) == 0
    return vocab.syllable_df(syllable) == 0


def correct_syllables(vocab: Vocabulary, syllables: list[str]) -> list[str]:
    """Per-syllable spelling correction against the index vocabulary, chosen in context.

    A known syllable stays (plain ones get their likely accents); an unknown one may
    become a syllable with the same folded form (wrong accents; preferred) or one at folded
    edit distance 1 (a typo); pairs that the index knows as words decide between them."""
    options: list[list[tuple[str, float]]] = []
    for s in syllables:
        if not s.isalpha():
            options.append([(s, 0.0)])
        elif not unknown(vocab, s) and not is_plain(s):
            options.append([(s, 0.0)])
        elif not unknown(vocab, s):
            cands = vocab.accented(s)[:4]
            opts = [(t, math.log1p(n)) for t, n in cands]
            if not any(t == s for t, _ in opts):
                opts.append((s, math.log1p(vocab.syllable_df(s))))
            options.append(opts)
        else:
            same = [(t, math.log1p(n) + 2.0) for t, n in vocab.accented(fold(s))[:4]]
            near = [(t, math.log1p(n)) for t, n in vocab.near(fold(s))[:6]]
            opts = list({t: w for t, w in near + same}.items())  # same-fold wins ties
            options.append(opts or [(s, 0.0)])
    return vocab.best_path(options)


def _substitute(text: str, pairs: list[tuple[str, str]]) -> str:
    """Replace the typed syllables, in order, inside the query text (keeps its syntax)."""
    pairs = [(a, b) for a, b in pairs if a.isalpha()]
    i = 0

    def repl(m: re.Match) -> str:
        nonlocal i
        tok = m.group()
        if i < len(pairs) and tok.lower() == pairs[i][0]:
            new = pairs[i][1]
            i += 1
            if tok[:1].isupper():
                new = new[:1].upper() + new[1:]
            return new
        return tok

    return _SYLLABLE.sub(repl, text)


def did_you_mean(comp: CompiledQuery, vocab: Vocabulary, total: int,
                 count: Callable[[str], int], text: str | None = None) -> str | None:
    """A better query string, or None. `count(query)` gives a query's number of hits."""
    typed = comp.syllables
    if not typed:
        return None
    base = text if text is not None else " ".join(typed)
    if total < FEW_HITS or any(unknown(vocab, s) for s in typed):
        corrected = correct_syllables(vocab, typed)
        if corrected != typed:
            cand = _substitute(base, list(zip(typed, corrected))) if text else " ".join(corrected)
            if count(cand) > total:
                return cand
    restored = comp.restored
    if restored != typed and any(is_plain(t) for t, r in zip(typed, restored) if t != r):
        cand = _substitute(base, list(zip(typed, restored))) if text else " ".join(restored)
        if cand.lower() != base.lower() and count(cand) > 0:
            return cand
    return None
