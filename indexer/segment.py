"""Vietnamese word segmentation with pyvi's CRF model, fast and with offsets.

We run pyvi's trained model (`indexer.crf_model`) ourselves instead of calling
`ViTokenizer.tokenize` (python-crfsuite's tagger stays open as the reference the tests
compare with):
- offsets: we segment our own tokens (`indexer.tokens`), so every word knows its span
  (`Segmenter.words`); the indexer, which needs no offsets, takes a path without a token
  or word object per syllable (`Segmenter.index_words`);
- speed: pyvi rebuilds a feature dict per syllable and crfsuite looks every attribute up
  by name; here each distinct token's features are scored once (the model's weights read
  from its bytes) and cached, a document's scores are added up by numpy, and Viterbi over
  the two labels runs on them, adding the weights in crfsuite's order so the floats, and
  the labels, are the same (checked against crfsuite and stock pyvi in the tests and the
  benchmark).
"""
from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from itertools import compress

import numpy as np
import pycrfsuite

from indexer import crf_model
from indexer.tokens import _PART, Kind, RawToken, _scan, code_parts, scan_texts, split_tokens

__all__ = ["Word", "IndexWords", "Segmenter", "segment", "get_segmenter"]

MAX_CHUNK = 256  # tokens per CRF call; long lines are cut at sentence punctuation
CACHE_TOKENS = 500_000  # distinct tokens whose features and weights are kept (then reset)
_NEIGHBOUR_WEIGHTS = 3  # a neighbour's attributes: lower(), istitle(), isupper()


@dataclass(slots=True)
class Word:
    """A segmented word (one or more syllables) or a protected token, in normalized offsets."""

    text: str
    start: int
    end: int
    kind: Kind
    parts: tuple[RawToken, ...]  # the syllables, or a code's alphanumeric parts

    @property
    def is_compound(self) -> bool:
        return self.kind is Kind.SYLLABLE and len(self.parts) > 1


@dataclass(slots=True)
class IndexWords:
    """What indexing needs of a segmented text (`Segmenter.index_words`): `words` as
    `Segmenter.words` gives them, without offsets and without single syllables."""

    parts: list[str]  # every syllable and every protected token's part, in order
    words: list[tuple[Kind, str]]  # each multi-syllable word (its syllables joined by "_")
    # and each protected token (its text), in order


def _attr(name: str) -> bytes:
    return name.encode("utf-8", "surrogatepass")  # a lone surrogate names no attribute


_BI_LEFT, _TRI_LEFT = _attr("-1:word.bi_gram()"), _attr("-2:word.tri_gram()")
_BI_RIGHT, _TRI_RIGHT = _attr("+1:word.bi_gram()"), _attr("+2:word.tri_gram()")


_Info = tuple[str, tuple[bytes, ...], tuple[bytes, ...], tuple[bytes, ...], int, int]


class Segmenter:
    """Labels token sequences B_W/I_W with pyvi's CRF and groups them into words.

    Items go to crfsuite as tuples of attribute names in bytes (no UTF-8 encoding per call),
    keeping only attributes the model knows, in pyvi's order (so the weights add up in the
    same order, to the same floats).

    Each distinct token gets a column in a weight table (its own score per label, its
    weights as a left and as a right neighbour, padded with 0.0 to three) and its syllable's
    id in pyvi's n-grams, so the scores of a whole document's tokens are added up by numpy,
    line by line in crfsuite's order; only Viterbi's recursion runs token by token in
    Python."""

    def __init__(self) -> None:
        data, self._bigrams, self._trigrams, self._known = crf_model.model()
        # first two syllables of each trigram: most pairs are not, so most trigram
        # lookups are skipped
        self._tri_heads = frozenset(t.rsplit(" ", 1)[0] for t in self._trigrams)
        self._tagger = pycrfsuite.Tagger()
        # The token cache and the weight table are shared by the threads of a server process
        # (requests, the spool applier): a token's column is allocated, written and read
        # (until the cache is reset) under this lock. Without it, two threads took the same
        # column, or one past the table's end (IndexError: 500s and failed writes under load).
        self._lock = threading.Lock()
        self._tagger.open_inmemory(data)
        known = self._known
        self._bi_left = (_BI_LEFT,) if _BI_LEFT in known else ()
        self._tri_left = (_TRI_LEFT,) if _TRI_LEFT in known else ()
        self._bi_right = (_BI_RIGHT,) if _BI_RIGHT in known else ()
        self._tri_right = (_TRI_RIGHT,) if _TRI_RIGHT in known else ()
        weights = crf_model.weights()
        if weights.labels != ("B_W", "I_W"):
            raise ValueError(f"unexpected labels in pyvi's model: {weights.labels}")
        self._weights = weights.state
        self._trans = weights.transitions
        none = (0.0, 0.0)  # a flag the model has no weight for adds nothing (x + 0.0 == x)
        self._flag_weights = tuple(weights.state.get(a, none) for a in (_BI_LEFT, _TRI_LEFT, _BI_RIGHT, _TRI_RIGHT))
        # pyvi's n-grams as integer keys over the ids of their syllables (from 1; 0 is in
        # none): the flags of a document's tokens are looked up all at once
        ids: dict[str, int] = {}
        grams = [[ids.setdefault(x, len(ids) + 1) for x in g.split(" ")]
                 for g in sorted(self._bigrams) + sorted(self._trigrams)]
        self._syllable_ids = ids
        width = self._gram_width = len(ids) + 1
        self._bigram_keys = np.unique([a * width + b for a, b in grams[:len(self._bigrams)]])
        self._trigram_keys = np.unique([(a * width + b) * width + c for a, b, c in grams[len(self._bigrams):]])
        # token text -> (lower, own attributes, as left neighbour, as right neighbour, join,
        #                column in the weight table)
        self._cache: dict[str, _Info] = {}
        # the weight table, a column per token (column 0 is all zeros: "no neighbour" at a
        # sequence's ends), lines: own B_W, I_W; as left neighbour
        # B_W x 3, I_W x 3; as right neighbour B_W x 3, I_W x 3 (a gather of columns gives
        # contiguous lines)
        self._table = np.zeros((2 + 4 * _NEIGHBOUR_WEIGHTS, 1024))
        self._syllable_id = np.zeros(1024, dtype=np.int64)  # the lower-case text's n-gram id

    def _info(self, word: str) -> _Info:
        info = self._cache.get(word)
        if info is None:
            low = word.lower()
            up, title = word.isupper(), word.istitle()
            # pyvi's word2features, attribute by attribute, in its order
            own = ["bias", "word.lower():" + low]
            if up:
                own.append("word.isupper()")
            if title:
                own.append("word.istitle()")
            if word.isdigit():
                own.append("word.isdigit()")
            left = ["-1:word.lower():" + low]  # features of the next token
            right = ["+1:word.lower():" + low]  # features of the previous token
            if title:
                left.append("-1:word.istitle()")
                right.append("+1:word.istitle()")
            if up:
                left.append("-1:word.isupper()")
                right.append("+1:word.isupper()")
            known = self._known
            # how the token may join a word, pyvi's rule in `tokenize`: an I_W syllable is
            # glued to the previous one unless either is punctuation (here: no syllable,
            # e.g. a code) or starts with a digit, or it is capitalised and the previous is
            # not. So 0: never; 1: a lowercase syllable; 2: a capitalised one; k joins k-1
            # when 0 < join[k] <= join[k-1].
            syllable = word[:1].isalnum() and (word.isalnum() or _PART.fullmatch(word) is not None)
            join = 0 if not syllable or word[0].isdigit() else 2 if word[0].istitle() else 1
            own_a = tuple(a for a in map(_attr, own) if a in known)
            left_a = tuple(a for a in map(_attr, left) if a in known)
            right_a = tuple(a for a in map(_attr, right) if a in known)
            col = len(self._cache) + 1  # (a reset cache starts again from 1)
            if col == len(self._syllable_id):
                self._grow()
            weights = self._weights
            b = i = 0.0  # summed in item order from zero, as crfsuite does
            for a in own_a:
                wb, wi = weights.get(a, (0.0, 0.0))
                b += wb
                i += wi
            column = [b, i]
            for attrs in (left_a, right_a):
                got = [weights[a] for a in attrs if a in weights]
                got += [(0.0, 0.0)] * (_NEIGHBOUR_WEIGHTS - len(got))
                column += [w[0] for w in got] + [w[1] for w in got]
            self._table[:, col] = column
            self._syllable_id[col] = self._syllable_ids.get(low, 0)
            info = self._cache[word] = (low, own_a, left_a, right_a, join, col)
        return info

    def _grow(self) -> None:
        cols = len(self._syllable_id)
        table = np.zeros((len(self._table), 2 * cols))
        table[:, :cols] = self._table
        self._table = table
        self._syllable_id = np.concatenate((self._syllable_id, np.zeros(cols, dtype=np.int64)))

    def _infos(self, words: list[str]) -> list[_Info]:
        """The tokens' infos; their columns stay valid until the next call (a full cache is reset
        before one, never during it). Called, and the columns used, under `_lock`."""
        cache = self._cache
        infos = list(map(cache.get, words))
        if None in infos:
            if len(cache) + len(words) > CACHE_TOKENS:
                cache.clear()
            infos = list(map(self._info, words))
        return infos

    def _items(self, infos: list[_Info]) -> list[tuple[bytes, ...]]:
        """The crfsuite items of pyvi's `sent2features(words)`, known attributes only."""
        n = len(infos)
        if n == 1:
            return [infos[0][1]]
        # lefts[i]: what item i gets from i-1; rights[i]: from i+1 (pyvi's order: the
        # neighbour's attributes, then the bigram flag, then the trigram flag)
        lefts = [()] + [i[2] for i in infos[:-1]]
        rights = [i[3] for i in infos[1:]] + [()]
        bi, tri = self._flags(infos)
        for k in range(n - 1):
            if bi[k]:
                lefts[k + 1] += self._bi_left
                rights[k] += self._bi_right
        for k in range(n - 2):
            if tri[k]:
                lefts[k + 2] += self._tri_left
                rights[k] += self._tri_right
        return [i[1] + left + right for i, left, right in zip(infos, lefts, rights)]

    def _flags(self, infos: list[_Info]) -> tuple[list[bool], list[bool]]:
        """pyvi's n-gram flags: bi[k] when tokens k, k+1 are a dictionary bigram, tri[k]
        when k..k+2 are a trigram (padded to the sequence's length)."""
        lows = [i[0] for i in infos]
        pairs = [a + " " + b for a, b in zip(lows, lows[1:])]  # pairs[k]: tokens k, k+1
        bigrams, heads, trigrams = self._bigrams, self._tri_heads, self._trigrams
        bi = [p in bigrams for p in pairs] + [False]
        tri = [p in heads and p + " " + c in trigrams for p, c in zip(pairs, lows[2:])] + [False, False]
        return bi, tri

    def features(self, words: list[str]) -> list[list[str]]:
        """pyvi's `sent2features` as attribute lists, limited to the attributes the model
        knows (the others carry no weight): what `labels` hands to crfsuite."""
        with self._lock:
            items = self._items(self._infos(words)) if words else []
        return [[a.decode("utf-8", "surrogatepass") for a in item] for item in items]

    def labels(self, words: list[str]) -> list[str]:
        if not words:
            return []
        with self._lock:
            path = self._viterbi(self._infos(words), [len(words)])[0]
        return ["I_W" if inside else "B_W" for inside in path]

    def _scores(self, infos: list[_Info], sizes: list[int]) -> tuple[list[float], list[float]]:
        """Each token's score per label (B_W, I_W) for sequences of `sizes` tokens laid end
        to end in `infos`: from zero, its own attributes' weights (summed once per distinct
        token), the left neighbour's, the bigram and trigram flags on the left, the right
        neighbour's and the flags on the right, the order of crfsuite's additions (so the
        same floats). Sequences are laid out with column 0 (zeros, syllable id 0: in no
        n-gram) before, between and after them: x + 0.0 == x."""
        tokens = np.fromiter([i[5] for i in infos], dtype=np.intp, count=len(infos))
        cols = np.insert(tokens, np.cumsum([0] + sizes), 0)  # cols[q]: the column at place q
        syl = self._syllable_id[cols]
        width = self._gram_width
        pairs = syl[:-1] * width + syl[1:]
        bi = _among(pairs, self._bigram_keys)  # bi[q]: places q, q + 1 are a bigram
        tri = _among(pairs[:-1] * width + syl[2:], self._trigram_keys)  # q .. q + 2
        tri_left = np.concatenate((_NO, tri[:-1]))  # (for the places 1 .. len - 2)
        tri_right = np.concatenate((tri[1:], _NO))
        bi_left, bi_right = bi[:-1], bi[1:]
        lines = self._table.take(cols, axis=1)
        k = _NEIGHBOUR_WEIGHTS
        (bi_lb, bi_li), (tri_lb, tri_li), (bi_rb, bi_ri), (tri_rb, tri_ri) = self._flag_weights
        scores = []
        for label, (bi_lw, tri_lw, bi_rw, tri_rw) in enumerate(
                ((bi_lb, tri_lb, bi_rb, tri_rb), (bi_li, tri_li, bi_ri, tri_ri))):
            score = lines[label, 1:-1].copy()
            for line in lines[2 + label * k:2 + label * k + k, :-2]:  # the left neighbour's
                score += line
            score += bi_left * bi_lw
            score += tri_left * tri_lw
            for line in lines[2 + 2 * k + label * k:2 + 2 * k + label * k + k, 2:]:  # the right's
                score += line
            score += bi_right * bi_rw
            score += tri_right * tri_rw
            scores.append(score.tolist())
        return scores[0], scores[1]

    def _viterbi(self, infos: list[_Info], sizes: list[int]) -> list[list[int]]:
        """crfsuite's Viterbi (crf1dc_viterbi) on the items `_items` builds, for sequences
        of `sizes` tokens laid end to end in `infos`: per sequence, 1 for I_W. Ties go to
        the lower label, as there."""
        (t_bb, t_bi), (t_ib, t_ii) = self._trans
        scores_b, scores_i = self._scores(infos, sizes)
        out: list[list[int]] = []
        start = -1  # a separator's score sits between two sequences
        for n in sizes:
            start += 1
            stop = start + n
            from_b_of: list[int] = []
            from_i_of: list[int] = []
            push_b, push_i = from_b_of.append, from_i_of.append
            p_b, p_i = scores_b[start], scores_i[start]
            for b, i in zip(scores_b[start + 1:stop], scores_i[start + 1:stop]):
                x, y = p_b + t_bb, p_i + t_ib
                if x < y:
                    push_b(1)
                    b += y
                else:
                    push_b(0)
                    b += x
                x, y = p_b + t_bi, p_i + t_ii
                if x < y:
                    push_i(1)
                    p_i = y + i
                else:
                    push_i(0)
                    p_i = x + i
                p_b = b
            label = 1 if p_b < p_i else 0
            path = [label]
            for from_b, from_i in zip(reversed(from_b_of), reversed(from_i_of)):
                label = from_i if label else from_b
                path.append(label)
            path.reverse()
            out.append(path)
            start = stop
        return out

    def _joins(self, infos: list[_Info], sizes: list[int]) -> list[bool]:
        """Per token, in order: does it join the token before it into one word? For
        sequences of `sizes` tokens laid end to end in `infos`: labelled I_W, not a
        sequence's first token, and pyvi's joining rule on the pair (see `_info`)."""
        inside = [x for path in self._viterbi(infos, sizes) for x in (0, *path[1:])]
        joinable = [i[4] for i in infos]
        out = [False] * len(infos)
        for k in compress(range(len(infos)), inside):
            out[k] = 0 < joinable[k] <= joinable[k - 1]
        return out

    def index_words(self, text: str) -> IndexWords:
        """`words(text)` reduced to what the index keeps (see IndexWords), the indexer's hot
        path: no token or word objects (tests/indexer/test_segment.py compares the two)."""
        lines = []
        texts_of_all: list[str] = []
        sizes: list[int] = []
        punct = Kind.PUNCT
        for line in text.split("\n"):  # tokens and words never span a line
            texts, kinds = scan_texts(line)
            if not texts:
                continue
            if len(texts) < MAX_CHUNK:
                sizes.append(len(texts))
            else:
                ends = [i for i, k in kinds.items() if k is punct and texts[i] in _SENTENCE_END]
                sizes += [stop - start for start, stop in _ranges(len(texts), ends)]
            lines.append((texts, kinds))
            texts_of_all += texts
        out = IndexWords([], [])
        if not sizes:
            return out
        with self._lock:
            joins_previous = self._joins(self._infos(texts_of_all), sizes)
        at = 0  # the line's first token in the document
        parts, words = out.parts, out.words
        syllable, find_parts = Kind.SYLLABLE, _PART.findall
        for texts, kinds in lines:
            n = len(texts)
            groups = _compounds(list(compress(range(n), joins_previous[at:at + n])))
            at += n
            if not kinds:
                parts += texts
                words += [(syllable, "_".join(texts[a:b + 1])) for a, b in groups.items()]
                continue
            for k in sorted(groups.keys() | kinds.keys()):
                kind = kinds.get(k)
                if kind is None:
                    words.append((syllable, "_".join(texts[k:groups[k] + 1])))
                elif kind is not punct:
                    words.append((kind, texts[k]))
            for k, piece in enumerate(texts):
                kind = kinds.get(k)
                if kind is None:
                    parts.append(piece)
                elif kind is not punct:
                    parts += find_parts(piece)
        return out

    def words(self, text: str, tokens: list[RawToken] | None = None) -> list[Word]:
        """Segment normalized `text` (or its given tokens) into words; punctuation dropped."""
        runs = _line_runs(text) if tokens is None else _chunks(text, tokens)
        chunks = [chunk for run in runs for chunk in _cut(run)]
        if not chunks:
            return []
        sizes = list(map(len, chunks))
        with self._lock:
            infos = self._infos([t.text for chunk in chunks for t in chunk])
            joins_previous = self._joins(infos, sizes)
        out: list[Word] = []
        extend = out.extend
        syllable, punct = Kind.SYLLABLE, Kind.PUNCT
        at = 0  # the chunk's first token
        for chunk in chunks:
            joins = list(compress(range(len(chunk)), joins_previous[at:at + len(chunk)]))
            at += len(chunk)
            if not joins:
                extend(_singles(chunk))
                continue
            groups = _compounds(joins)
            skip = groups.keys() | joins
            words = [
                None if k in skip or t.kind is punct
                else Word(t.text, t.start, t.end, syllable, (t,)) if t.kind is syllable
                else Word(t.text, t.start, t.end, t.kind, tuple(code_parts(t)))
                for k, t in enumerate(chunk)
            ]
            for first, last in groups.items():
                start, end = chunk[first].start, chunk[last].end
                words[first] = Word(text[start:end], start, end, syllable,
                                    tuple(chunk[first:last + 1]))
            extend(filter(None, words))
        return out


def _compounds(joins: list[int]) -> dict[int, int]:
    """The multi-syllable words, first token -> last token, from the tokens that join the
    one before them (increasing)."""
    groups: dict[int, int] = {}
    first = -2
    for k in joins:
        if groups.get(first) == k - 1:
            groups[first] = k
        else:
            first = k - 1
            groups[first] = k
    return groups


_NO = np.zeros(1)


def _among(keys: np.ndarray, table: np.ndarray) -> np.ndarray:
    """1.0 where a key is in the sorted `table`, else 0.0."""
    at = np.minimum(np.searchsorted(table, keys), len(table) - 1)
    return (table[at] == keys).astype(float)


def _singles(tokens: list[RawToken]) -> list[Word]:
    """One word per token, punctuation dropped."""
    syllable, punct = Kind.SYLLABLE, Kind.PUNCT
    return [
        Word(t.text, t.start, t.end, syllable, (t,)) if t.kind is syllable
        else Word(t.text, t.start, t.end, t.kind, tuple(code_parts(t)))
        for t in tokens if t.kind is not punct
    ]


_SENTENCE_END = frozenset(".!?;:")


def _line_runs(text: str):
    """The tokens of each line of normalized `text` that has any (tokens never span a line)."""
    if "\n" not in text:
        tokens = split_tokens(text)
        if tokens:
            yield tokens
        return
    base = 0
    for line in text.split("\n"):
        run: list[RawToken] = []
        _scan(line, base, run.append)
        if run:
            yield run
        base += len(line) + 1


def _chunks(text: str, tokens: list[RawToken]):
    """Given tokens, grouped by line (a line break in the gap before a token starts a run)."""
    run: list[RawToken] = []
    prev_end = 0
    for tok in tokens:
        if run and text.find("\n", prev_end, tok.start) != -1:
            yield run
            run = []
        run.append(tok)
        prev_end = tok.end
    if run:
        yield run


def _cut(run: list[RawToken]):
    """Token runs to tag: at most ~MAX_CHUNK tokens, cut after sentence punctuation (or
    hard at 4 * MAX_CHUNK); see `_ranges`."""
    n = len(run)
    if n < MAX_CHUNK:
        yield run
        return
    punct = Kind.PUNCT
    ends = [i for i, t in enumerate(run) if t.kind is punct and t.text in _SENTENCE_END]
    for start, stop in _ranges(n, ends):
        yield run[start:stop]


def _ranges(n: int, ends: list[int]) -> list[tuple[int, int]]:
    """The [start, stop) chunks of a run of n tokens with sentence ends at `ends`
    (increasing): found from the ends' indexes, not by growing each chunk a token at a
    time (tests/indexer/test_segment.py compares both)."""
    if n < MAX_CHUNK:
        return [(0, n)]
    hard = 4 * MAX_CHUNK
    out = []
    start = 0
    for end in [*ends, n]:  # (no token at n: only hard cuts before it)
        while end - start >= hard:  # the chunk reaches 4 * MAX_CHUNK tokens before `end`
            out.append((start, start + hard))
            start += hard
        if end < n and end - start + 1 >= MAX_CHUNK:
            out.append((start, end + 1))
            start = end + 1
    if start < n:
        out.append((start, n))
    return out


@functools.lru_cache(maxsize=1)
def get_segmenter() -> Segmenter:
    """The process's segmenter (an explicit cache: one tagger per process, made on first use)."""
    return Segmenter()


def segment(text: str) -> list[Word]:
    """Words of normalized `text` with offsets into it."""
    return get_segmenter().words(text)
