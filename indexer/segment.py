"""Vietnamese word segmentation with pyvi's CRF model, fast and with offsets.

We run pyvi's trained model (pyvi 0.1.1, `models/pyvi3.pkl`) ourselves instead of calling
`ViTokenizer.tokenize` (python-crfsuite's tagger stays open as the reference the tests
compare with):
- offsets: we segment our own tokens (`indexer.tokens`), so every word knows its span;
- speed: pyvi rebuilds a feature dict per syllable and crfsuite looks every attribute up
  by name; here each distinct token's features are scored once (the model's weights read
  from its bytes, `CrfWeights`) and cached, and Viterbi over the two labels runs on those
  scores, adding the weights in crfsuite's order so the floats, and the labels, are the
  same (checked against crfsuite and stock pyvi in the tests and the benchmark);
- fork safety: importing pyvi unpickles a model into a temp file that a forked child
  deletes on exit; we read the model bytes once (and open the tagger in memory).
"""
from __future__ import annotations

import functools
import pickle
import struct
from dataclasses import dataclass
from itertools import compress
from pathlib import Path

import pycrfsuite

from indexer.tokens import _PART, Kind, RawToken, _scan, code_parts, split_tokens

__all__ = ["Word", "Segmenter", "segment", "get_segmenter", "pyvi_model_dir"]

MAX_CHUNK = 256  # tokens per CRF call; long lines are cut at sentence punctuation


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


def pyvi_model_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("pyvi")
    if spec is None or spec.origin is None:
        raise RuntimeError("pyvi is not installed")
    return Path(spec.origin).parent / "models"


class _Stub:
    """Stands in for the sklearn-crfsuite/numpy objects in pyvi's pickle; keeps their state."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.state: dict = {}

    def __setstate__(self, state: dict) -> None:
        self.state = state


class _ModelUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # noqa: ANN201 - pickle protocol
        if module.startswith(("sklearn_crfsuite", "pycrfsuite", "numpy")):
            return _Stub
        if (module, name) == ("_codecs", "encode"):
            import codecs

            return codecs.encode
        raise pickle.UnpicklingError(f"unexpected class in pyvi model: {module}.{name}")


def _cqdb_strings(data: bytes, offset: int) -> list[bytes]:
    """The strings of a CQDB (crfsuite's string <-> id database) at `offset`, in id order."""
    chunk, _size, _flag, _order, count, bwd = struct.unpack_from("<4sIIIII", data, offset)
    if chunk != b"CQDB":
        raise ValueError("not a crfsuite model: no CQDB at the attribute offset")
    refs = struct.unpack_from(f"<{count}I", data, offset + bwd)
    out = []
    for ref in refs:
        _id, size = struct.unpack_from("<II", data, offset + ref)
        out.append(data[offset + ref + 8:offset + ref + 8 + size - 1])  # without the NUL
    return out


def _model_attributes(data: bytes) -> frozenset[bytes]:
    """The attribute names a crfsuite model (FOMC, version 100) knows.

    crfsuite drops attributes it does not know when it reads an item, so leaving them out
    beforehand gives the same scores (and the same labels) for less work."""
    magic, _size, kind, _version = struct.unpack_from("<4sI4sI", data, 0)
    if magic != b"lCRF" or kind != b"FOMC":
        raise ValueError("not a crfsuite FOMC model")
    off_attrs = struct.unpack_from("<I", data, 36)[0]
    return frozenset(_cqdb_strings(data, off_attrs))


@dataclass(frozen=True, slots=True)
class CrfWeights:
    """The weights of a crfsuite FOMC model: per attribute, one weight per label (0.0
    where it has none), and the label-to-label transition weights."""

    labels: tuple[str, ...]
    state: dict[bytes, tuple[float, ...]]
    transitions: tuple[tuple[float, ...], ...]  # [from][to]


def _model_weights(data: bytes) -> CrfWeights:
    """Read the features chunk of a crfsuite model (crf1d_model.c: 'FEAT', then per feature
    type, src, dst as uint32 and the weight as a double; type 0 is attribute -> label)."""
    num_labels, _num_attrs, off_features, off_labels, off_attrs = struct.unpack_from("<IIIII", data, 20)
    labels = tuple(b.decode("utf-8") for b in _cqdb_strings(data, off_labels))
    attrs = _cqdb_strings(data, off_attrs)
    chunk, _size, count = struct.unpack_from("<4sII", data, off_features)
    if chunk != b"FEAT" or len(labels) != num_labels:
        raise ValueError("not a crfsuite model: no FEAT chunk")
    state: dict[bytes, list[float]] = {}
    trans = [[0.0] * num_labels for _ in range(num_labels)]
    for kind, src, dst, weight in struct.iter_unpack("<IIId", data[off_features + 12:off_features + 12 + 20 * count]):
        if kind == 0:
            state.setdefault(attrs[src], [0.0] * num_labels)[dst] += weight
        else:
            trans[src][dst] += weight
    return CrfWeights(labels, {a: tuple(w) for a, w in state.items()}, tuple(map(tuple, trans)))


@functools.lru_cache(maxsize=1)
def _model() -> tuple[bytes, frozenset[str], frozenset[str], frozenset[bytes]]:
    """The CRF model bytes, pyvi's bigram/trigram dictionaries and the model's attribute
    names (read once per process)."""
    models = pyvi_model_dir()
    with open(models / "pyvi3.pkl", "rb") as f:
        crf = _ModelUnpickler(f).load()
    data = crf.state["modelfile"].state["__FILE_RESOURCE_DATA__"]
    bi, tri = set(), set()
    for line in (models / "words.txt").read_text(encoding="utf-8").split("\n"):
        n = line.count(" ")
        if n == 1:
            bi.add(line)
        elif n == 2:
            tri.add(line)
    return data, frozenset(bi), frozenset(tri), _model_attributes(data)


@functools.lru_cache(maxsize=1)
def _weights() -> CrfWeights:
    """The model's weights (read once per process, like `_model`)."""
    return _model_weights(_model()[0])


def _attr(name: str) -> bytes:
    return name.encode("utf-8", "surrogatepass")  # a lone surrogate names no attribute


_BI_LEFT, _TRI_LEFT = _attr("-1:word.bi_gram()"), _attr("-2:word.tri_gram()")
_BI_RIGHT, _TRI_RIGHT = _attr("+1:word.bi_gram()"), _attr("+2:word.tri_gram()")


_Pair = tuple[float, float]  # a weight or score per label: B_W, I_W
_Info = tuple[str, tuple[bytes, ...], tuple[bytes, ...], tuple[bytes, ...], int,
              _Pair, tuple[_Pair, ...], tuple[_Pair, ...]]


class Segmenter:
    """Labels token sequences B_W/I_W with pyvi's CRF and groups them into words.

    Items go to crfsuite as tuples of attribute names in bytes (no UTF-8 encoding per call),
    keeping only attributes the model knows, in pyvi's order (so the weights add up in the
    same order, to the same floats)."""

    def __init__(self) -> None:
        data, self._bigrams, self._trigrams, self._known = _model()
        # first two syllables of each trigram: most pairs are not, so most trigram
        # lookups are skipped
        self._tri_heads = frozenset(t.rsplit(" ", 1)[0] for t in self._trigrams)
        self._tagger = pycrfsuite.Tagger()
        self._tagger.open_inmemory(data)
        known = self._known
        self._bi_left = (_BI_LEFT,) if _BI_LEFT in known else ()
        self._tri_left = (_TRI_LEFT,) if _TRI_LEFT in known else ()
        self._bi_right = (_BI_RIGHT,) if _BI_RIGHT in known else ()
        self._tri_right = (_TRI_RIGHT,) if _TRI_RIGHT in known else ()
        weights = _weights()
        if weights.labels != ("B_W", "I_W"):
            raise ValueError(f"unexpected labels in pyvi's model: {weights.labels}")
        self._weights = weights.state
        self._trans = weights.transitions
        none = (0.0, 0.0)  # a flag the model has no weight for adds nothing (x + 0.0 == x)
        self._flag_weights = tuple(weights.state.get(a, none) for a in (_BI_LEFT, _TRI_LEFT, _BI_RIGHT, _TRI_RIGHT))
        # token text -> (lower, own attributes, as left neighbour, as right neighbour, join,
        #                own score per label, left-neighbour weights, right-neighbour weights)
        self._cache: dict[str, _Info] = {}

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
            weights = self._weights
            b = i = 0.0  # summed in item order from zero, as crfsuite does
            for a in own_a:
                wb, wi = weights.get(a, (0.0, 0.0))
                b += wb
                i += wi
            info = (low, own_a, left_a, right_a, join, (b, i),
                    tuple(weights[a] for a in left_a if a in weights),
                    tuple(weights[a] for a in right_a if a in weights))
            if len(self._cache) < 500_000:
                self._cache[word] = info
        return info

    def _infos(self, words: list[str]) -> list[_Info]:
        get = self._cache.get
        infos = [get(w) for w in words]
        if None in infos:
            infos = [self._info(w) for w in words]
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
        items = self._items(self._infos(words)) if words else []
        return [[a.decode("utf-8", "surrogatepass") for a in item] for item in items]

    def labels(self, words: list[str]) -> list[str]:
        if not words:
            return []
        return ["I_W" if inside else "B_W" for inside in self._viterbi(self._infos(words))]

    def _viterbi(self, infos: list[_Info]) -> list[int]:
        """crfsuite's Viterbi (crf1dc_viterbi) on the items `_items` builds: 1 for I_W.

        Each token's score per label adds, from zero and in the item's order, its own
        attributes' weights (summed once per distinct token), the left neighbour's, the
        bigram and trigram flags on the left, the right neighbour's and the flags on the
        right: the same additions in the same order as crfsuite, so the same floats; ties
        go to the lower label, as there."""
        n = len(infos)
        bi, tri = self._flags(infos)
        (bi_lb, bi_li), (tri_lb, tri_li), (bi_rb, bi_ri), (tri_rb, tri_ri) = self._flag_weights
        (t_bb, t_bi), (t_ib, t_ii) = self._trans
        back: list[tuple[int, int]] = []
        push = back.append
        p_b = p_i = 0.0
        for k in range(n):
            b, i = infos[k][5]
            if k:
                for wb, wi in infos[k - 1][6]:
                    b += wb
                    i += wi
                if bi[k - 1]:
                    b += bi_lb
                    i += bi_li
                if k > 1 and tri[k - 2]:
                    b += tri_lb
                    i += tri_li
            if k + 1 < n:
                for wb, wi in infos[k + 1][7]:
                    b += wb
                    i += wi
                if bi[k]:
                    b += bi_rb
                    i += bi_ri
                if tri[k]:
                    b += tri_rb
                    i += tri_ri
            if not k:
                p_b, p_i = b, i
                continue
            x, y = p_b + t_bb, p_i + t_ib
            from_b, n_b = (1, y + b) if x < y else (0, x + b)
            x, y = p_b + t_bi, p_i + t_ii
            from_i, n_i = (1, y + i) if x < y else (0, x + i)
            push((from_b, from_i))
            p_b, p_i = n_b, n_i
        label = 1 if p_b < p_i else 0
        out = [label]
        for from_b, from_i in reversed(back):
            label = from_i if label else from_b
            out.append(label)
        out.reverse()
        return out

    def words(self, text: str, tokens: list[RawToken] | None = None) -> list[Word]:
        """Segment normalized `text` (or its given tokens) into words; punctuation dropped."""
        runs = _line_runs(text) if tokens is None else _chunks(text, tokens)
        out: list[Word] = []
        extend = out.extend
        viterbi, infos_of = self._viterbi, self._infos
        syllable, punct = Kind.SYLLABLE, Kind.PUNCT
        for run in runs:
            for chunk in _cut(run):
                infos = infos_of([t.text for t in chunk])
                # k joins k-1 into one word: I_W, and pyvi's joining rule on the pair
                joins = [
                    k for k in compress(range(len(chunk)), viterbi(infos))
                    if k and 0 < infos[k][4] <= infos[k - 1][4]
                ]
                if not joins:
                    extend(_singles(chunk))
                    continue
                # the multi-syllable words, first token -> last token
                groups: dict[int, int] = {}
                first = -2
                for k in joins:
                    if groups.get(first) == k - 1:
                        groups[first] = k
                    else:
                        first = k - 1
                        groups[first] = k
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
    hard at 4 * MAX_CHUNK). The cuts are found from the sentence ends' indexes, not by
    growing each chunk a token at a time (tests/indexer/test_segment.py compares both)."""
    n = len(run)
    if n < MAX_CHUNK:
        yield run
        return
    punct, hard = Kind.PUNCT, 4 * MAX_CHUNK
    ends = [i for i, t in enumerate(run) if t.kind is punct and t.text in _SENTENCE_END]
    ends.append(n)  # (no token there: only hard cuts before it)
    start = 0
    for end in ends:
        while end - start >= hard:  # the chunk reaches 4 * MAX_CHUNK tokens before `end`
            yield run[start:start + hard]
            start += hard
        if end < n and end - start + 1 >= MAX_CHUNK:
            yield run[start:end + 1]
            start = end + 1
    if start < n:
        yield run[start:]


@functools.lru_cache(maxsize=1)
def get_segmenter() -> Segmenter:
    """The process's segmenter (an explicit cache: one tagger per process, made on first use)."""
    return Segmenter()


def segment(text: str) -> list[Word]:
    """Words of normalized `text` with offsets into it."""
    return get_segmenter().words(text)
