"""Exact result sets of the match queries, computed with set algebra over posting lists.

Whoosh's compound matchers step through documents one at a time in Python; reading each
term's posting list once and combining them with C-level set operations is much faster
for the unscored "which documents match" question (total hits, facet counts, filters).
The ranked top N is still Whoosh's job (`searcher.search(scored, filter=docset)`).
"""
from __future__ import annotations

from whoosh import query as wq

__all__ = ["DocSets"]


class DocSets:
    """Evaluates And/Or/AndNot/AndMaybe/Term/Phrase trees to sets of global docnums.

    One instance per request: it memoises term posting sets, which repeat across the
    fields and alternatives of a compiled query."""

    def __init__(self, searcher, all_docs: frozenset[int]) -> None:  # noqa: ANN001
        self._searcher = searcher
        self._all = all_docs
        self._memo: dict[tuple, frozenset[int] | set[int]] = {}

    def _term(self, fieldname: str, text: str) -> frozenset[int] | set[int]:
        key = ("t", fieldname, text)
        found = self._memo.get(key)
        if found is None:
            s = self._searcher
            if fieldname not in s.schema or s.reader().doc_frequency(fieldname, text) == 0:
                found = frozenset()
            else:
                found = set(s.docs_for_query(wq.Term(fieldname, text)))
            self._memo[key] = found
        return found

    def of(self, q: wq.Query | None) -> set[int] | frozenset[int]:
        """The documents `q` matches (deleted documents excluded)."""
        if q is None:
            return self._all
        if q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
            return frozenset()
        if isinstance(q, wq.Term):
            return self._term(q.fieldname, q.text)
        if isinstance(q, wq.Every):
            return self._all
        if isinstance(q, wq.AndNot):
            return set(self.of(q.a)) - self.of(q.b)
        if isinstance(q, wq.AndMaybe):
            return self.of(q.a)
        if isinstance(q, wq.And):
            sets = []
            for sub in sorted(q.subqueries, key=self._estimate):
                found = self.of(sub)
                if not found:
                    return frozenset()
                sets.append(found)
            sets.sort(key=len)
            out = set(sets[0])
            for other in sets[1:]:
                out &= other
                if not out:
                    break
            return out
        if isinstance(q, wq.Or):
            subs = [self.of(sub) for sub in q.subqueries]
            minmatch = getattr(q, "minmatch", 0) or 0
            if minmatch > 1:
                counts: dict[int, int] = {}
                for found in subs:
                    for d in found:
                        counts[d] = counts.get(d, 0) + 1
                return {d for d, c in counts.items() if c >= minmatch}
            out: set[int] = set()
            for found in subs:
                out |= found
            return out
        if isinstance(q, wq.Phrase):
            # cheap pre-check: every word must occur, else no positions to read
            for word in q.words:
                if not self._term(q.fieldname, word):
                    return frozenset()
            key = ("p", q.fieldname, tuple(q.words), q.slop)
            found = self._memo.get(key)
            if found is None:
                found = self._phrase(q)
                self._memo[key] = found
            return found
        return set(self._searcher.docs_for_query(q))

    def _phrase(self, q: wq.Phrase) -> set[int] | frozenset[int]:
        """Documents containing the phrase. With a bigram stream (<field>_b: adjacent
        syllable pairs) a two-word phrase is one posting list; longer phrases intersect
        their pairs first and read positions only when some document has them all."""
        bigram_field = q.fieldname + "_b"
        words = list(q.words)
        if q.slop == 1 and len(words) > 1 and bigram_field in self._searcher.schema:
            found: set[int] | frozenset[int] | None = None
            for a, b in zip(words, words[1:]):
                docs = self._term(bigram_field, f"{a} {b}")
                found = set(docs) if found is None else found & docs
                if not found:
                    return frozenset()
            if len(words) == 2 or found is None:
                return found or frozenset()
        return set(self._searcher.docs_for_query(q))

    def _estimate(self, q: wq.Query) -> int:
        try:
            return q.estimate_size(self._searcher.reader())
        except Exception:  # some query types cannot estimate
            return 1 << 30
