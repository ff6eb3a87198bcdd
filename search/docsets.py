"""Exact result sets of the match queries, as boolean masks over document numbers.

Whoosh's compound matchers step through documents one at a time in Python. Here each
term's posting list comes decoded from the generation's `PostingCache` and becomes a
boolean mask over all document numbers; And/Or/AndNot are `&`, `|`, `& ~` on masks, and
counts are `count_nonzero`: a few microseconds per operation on 100k documents, whatever
the number of matches. Deleted documents are removed by and-ing with the live mask.
The ranked top N is `search.fastrank`'s job (or Whoosh's collector for positional queries).
"""
from __future__ import annotations

import numpy as np
from whoosh import formats
from whoosh import query as wq

from search.lru import ByteLRU
from search.postings import ReaderPostings, read_only

__all__ = ["DocSets", "Mask", "TermMasks", "mask_of", "docnums"]

Mask = np.ndarray  # dtype bool, one entry per document number of the generation


def mask_of(ids, n: int) -> Mask:  # noqa: ANN001 - any iterable of docnums
    """A mask with True at each docnum in `ids`."""
    out = np.zeros(n, dtype=bool)
    arr = ids if isinstance(ids, np.ndarray) else np.fromiter(ids, dtype=np.int64)
    if len(arr):
        out[arr] = True
    return out


def docnums(mask: Mask) -> np.ndarray:
    """The document numbers set in `mask`, ascending."""
    return np.flatnonzero(mask)


class TermMasks:
    """Per index generation: the live documents of frequent terms as bit-packed masks.

    Making a term's mask scatters its document numbers into a fresh array: 8 us for 500
    documents, 78 us for 50,000 of 84k (measured), every time a query names the term. A
    packed mask is n/8 bytes (10.5 kB on 84k documents) and unpacks in about 6 us whatever
    the term, so terms in at least `min_docs` documents are kept packed in an LRU of
    `max_bytes`; rarer terms cost less to scatter than to unpack."""

    def __init__(self, live: Mask, max_bytes: int, min_docs: int = 2048) -> None:
        self._live = live
        self._n = len(live)
        self.min_docs = min_docs
        self._packed = ByteLRU(max_bytes) if max_bytes > 0 else None

    def of(self, key: tuple[str, str], ids: np.ndarray) -> Mask:
        """The live documents among `ids` (the postings of the term `key`), as a mask."""
        if self._packed is None or len(ids) < self.min_docs:
            return mask_of(ids, self._n) & self._live
        packed = self._packed.get(key, lambda: read_only(np.packbits(mask_of(ids, self._n) & self._live)))
        return np.unpackbits(packed, count=self._n).view(bool)


class DocSets:
    """Evaluates And/Or/AndNot/AndMaybe/Term/Phrase trees to masks of live documents.

    One instance per request: it memoises masks, which repeat across the fields and
    alternatives of a compiled query."""

    def __init__(self, searcher, live: Mask, postings: ReaderPostings,  # noqa: ANN001
                 masks: TermMasks | None = None) -> None:
        self._searcher = searcher
        self._live = live
        self._n = len(live)
        self._postings = postings
        self._masks = masks if masks is not None else TermMasks(live, 0)
        self._memo: dict[tuple, Mask] = {}
        self._none = np.zeros(self._n, dtype=bool)

    @property
    def live(self) -> Mask:
        return self._live

    def _term(self, fieldname: str, text: str) -> Mask:
        key = ("t", fieldname, text)
        found = self._memo.get(key)
        if found is None:
            if fieldname not in self._searcher.schema:
                found = self._none
            else:
                ids = self._postings.ids(fieldname, text)
                found = self._none if not len(ids) else self._masks.of((fieldname, text), ids)
            self._memo[key] = found
        return found

    def of(self, q: wq.Query | None) -> Mask:
        """The live documents `q` matches (a mask; never modify it in place)."""
        if q is None:
            return self._live
        if q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
            return self._none
        if isinstance(q, wq.Term):
            return self._term(q.fieldname, q.text)
        if isinstance(q, wq.Every):
            return self._live
        if isinstance(q, wq.AndNot):
            return self.of(q.a) & ~self.of(q.b)
        if isinstance(q, wq.AndMaybe):
            return self.of(q.a)
        if isinstance(q, wq.And):
            out: Mask | None = None
            for sub in q.subqueries:
                found = self.of(sub)
                out = found if out is None else (out & found)
                if not out.any():
                    return self._none
            return self._live if out is None else out
        if isinstance(q, wq.Or):
            subs = [self.of(sub) for sub in q.subqueries]
            if not subs:
                return self._none
            minmatch = getattr(q, "minmatch", 0) or 0
            if minmatch > 1:
                counts = np.sum(np.stack(subs), axis=0, dtype=np.int32)
                return counts >= minmatch
            out = subs[0]
            for found in subs[1:]:
                out = out | found
            return out
        if isinstance(q, wq.Phrase):
            # cheap pre-check: every word must occur, else no positions to read
            for word in q.words:
                if not self._term(q.fieldname, word).any():
                    return self._none
            key = ("p", q.fieldname, tuple(q.words), q.slop)
            found = self._memo.get(key)
            if found is None:
                found = self._phrase(q)
                self._memo[key] = found
            return found
        return self._whoosh(q)

    def _adjacent(self, field: str, words: list[str], ids: np.ndarray) -> Mask:
        """The documents among `ids` (each containing every word) where the words occur at
        consecutive positions, in order.

        Vectorised over the candidates: word k's positions in candidate c become keys
        c << 32 | (position - k + len(words)), where the phrase would begin; the phrase
        holds in the candidates whose keys every word shares (rarest word first)."""
        lists = []
        for k, word in enumerate(words):
            got = self._postings.positions_at(field, word, ids)
            if got is None:  # a candidate without the word's positions: Whoosh decides
                return self._whoosh_verify(wq.Phrase(field, words, slop=1), ids)
            lists.append((len(got[0]), k, got))
        lists.sort(key=lambda item: item[0])
        shift = len(words)
        cand = np.arange(len(ids), dtype=np.int64)
        common: np.ndarray | None = None
        for _, k, (flat, lens) in lists:
            # positions ascend within a candidate and candidates ascend: keys come sorted, unique
            keys = (np.repeat(cand, lens) << 32) | (flat.astype(np.int64) - k + shift)
            common = keys if common is None else np.intersect1d(common, keys, assume_unique=True)
            if not len(common):
                return self._none
        assert common is not None
        return mask_of(ids[np.unique(common >> 32)], self._n) & self._live

    def _whoosh(self, q: wq.Query) -> Mask:
        """Whoosh's own matcher, for query types without a vectorised path."""
        return mask_of(self._searcher.docs_for_query(q), self._n) & self._live

    def _phrase(self, q: wq.Phrase) -> Mask:
        """Documents containing the phrase. Candidates first, from masks: with a bigram
        stream (<field>_b: adjacent syllable pairs) the documents having every pair (for two
        words that is the answer), else those having every word. Positions are then read
        only for the candidates (`_verify`)."""
        bigram_field = q.fieldname + "_b"
        words = list(q.words)
        if q.slop == 1 and len(words) > 1 and bigram_field in self._searcher.schema:
            found: Mask | None = None
            for a, b in zip(words, words[1:]):
                docs = self._term(bigram_field, f"{a} {b}")
                found = docs if found is None else (found & docs)
                if not found.any():
                    return self._none
            assert found is not None
            if len(words) == 2:
                return found
            return self._verify(q, found)
        cand = self._live
        for word in words:
            cand = cand & self._term(q.fieldname, word)
        known = self._none
        if q.fieldname.endswith("_f") and q.slop == 1 and len(words) > 1:
            # a folded phrase holds wherever its words occur literally in the unfolded field
            # ("tp hcm" in body): those come from bigram masks, only the rest needs positions
            exact = wq.Phrase(q.fieldname[:-2], words, slop=1)
            if exact.fieldname in self._searcher.schema:
                known = self.of(exact) & cand
        rest = cand & ~known
        return known | self._verify(q, rest) if rest.any() else known

    def _verify(self, q: wq.Query, cand: Mask) -> Mask:
        """The candidates where the phrase holds. Exact phrases (slop 1) read the words'
        positions for the candidates only (`PositionLists`, cached per segment);
        other phrases use Whoosh's positional matcher, visited with skip_to."""
        ids = np.flatnonzero(cand)
        if not len(ids):
            return self._none
        if isinstance(q, wq.Phrase) and q.slop == 1:
            fmt = self._searcher.schema[q.fieldname].format
            if isinstance(fmt, formats.Positions):
                return self._adjacent(q.fieldname, list(q.words), ids)
        return self._whoosh_verify(q, ids)

    def _whoosh_verify(self, q: wq.Query, ids: np.ndarray) -> Mask:
        m = q.matcher(self._searcher)
        out: list[int] = []
        for d in ids.tolist():
            if not m.is_active():
                break
            if m.id() < d:
                m.skip_to(d)
                if not m.is_active():
                    break
            if m.id() == d:
                out.append(d)
        return mask_of(out, self._n) & self._live
