"""Vietnamese word segmentation with pyvi's CRF model, fast and with offsets.

We run pyvi's trained model (pyvi 0.1.1, `models/pyvi3.pkl`) through python-crfsuite
directly instead of calling `ViTokenizer.tokenize`:
- offsets: we segment our own tokens (`indexer.tokens`), so every word knows its span;
- speed: pyvi rebuilds a feature dict per syllable; here the per-syllable features are
  cached strings, which crfsuite takes as-is (the same attributes, so the same labels);
- fork safety: importing pyvi unpickles a model into a temp file that a forked child
  deletes on exit; we read the model bytes once and open the tagger in memory.
"""
from __future__ import annotations

import functools
import pickle
from dataclasses import dataclass
from pathlib import Path

import pycrfsuite

from indexer.tokens import Kind, RawToken, code_parts, split_tokens

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


@functools.lru_cache(maxsize=1)
def _model() -> tuple[bytes, frozenset[str], frozenset[str]]:
    """The CRF model bytes and pyvi's bigram/trigram dictionaries (read once per process)."""
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
    return data, frozenset(bi), frozenset(tri)


class Segmenter:
    """Labels token sequences B_W/I_W with pyvi's CRF and groups them into words."""

    def __init__(self) -> None:
        data, self._bigrams, self._trigrams = _model()
        self._tagger = pycrfsuite.Tagger()
        self._tagger.open_inmemory(data)
        # token text -> (lower, own features, features as left neighbour, as right neighbour)
        self._cache: dict[str, tuple[str, list[str], list[str], list[str]]] = {}

    def _info(self, word: str) -> tuple[str, list[str], list[str], list[str]]:
        info = self._cache.get(word)
        if info is None:
            low = word.lower()
            up, title = word.isupper(), word.istitle()
            own = ["bias", "word.lower():" + low]
            if up:
                own.append("word.isupper()")
            if title:
                own.append("word.istitle()")
            if word.isdigit():
                own.append("word.isdigit()")
            left = ["-1:word.lower():" + low]
            right = ["+1:word.lower():" + low]
            if title:
                left.append("-1:word.istitle()")
                right.append("+1:word.istitle()")
            if up:
                left.append("-1:word.isupper()")
                right.append("+1:word.isupper()")
            info = (low, own, left, right)
            if len(self._cache) < 500_000:
                self._cache[word] = info
        return info

    def features(self, words: list[str]) -> list[list[str]]:
        """pyvi's `sent2features`, as attribute lists (same attributes, same weights)."""
        infos = [self._info(w) for w in words]
        lows = [i[0] for i in infos]
        n = len(words)
        bi = [False] + [lows[i - 1] + " " + lows[i] in self._bigrams for i in range(1, n)]
        tri = [False, False] + [
            lows[i - 2] + " " + lows[i - 1] + " " + lows[i] in self._trigrams for i in range(2, n)
        ]
        out = []
        for i in range(n):
            f = list(infos[i][1])
            if i > 0:
                f += infos[i - 1][2]
                if bi[i]:
                    f.append("-1:word.bi_gram()")
                if i > 1 and tri[i]:
                    f.append("-2:word.tri_gram()")
            if i < n - 1:
                f += infos[i + 1][3]
                if bi[i + 1]:
                    f.append("+1:word.bi_gram()")
                if i < n - 2 and tri[i + 2]:
                    f.append("+2:word.tri_gram()")
            out.append(f)
        return out

    def labels(self, words: list[str]) -> list[str]:
        if not words:
            return []
        return self._tagger.tag(self.features(words))

    def words(self, text: str, tokens: list[RawToken] | None = None) -> list[Word]:
        """Segment normalized `text` (or its given tokens) into words; punctuation dropped."""
        if tokens is None:
            tokens = split_tokens(text)
        out: list[Word] = []
        for chunk in _chunks(text, tokens):
            labels = self.labels([t.text for t in chunk])
            group: list[RawToken] = []
            for tok, label in zip(chunk, labels):
                if group and label == "I_W" and _joinable(group[-1], tok):
                    group.append(tok)
                    continue
                if group:
                    out.append(_word(text, group))
                group = [tok]
            if group:
                out.append(_word(text, group))
        return [w for w in out if w.kind is not Kind.PUNCT]


def _joinable(prev: RawToken, tok: RawToken) -> bool:
    """pyvi's rule for gluing an I_W syllable to the previous one."""
    return (
        prev.kind is Kind.SYLLABLE
        and tok.kind is Kind.SYLLABLE
        and not prev.text[0].isdigit()
        and not tok.text[0].isdigit()
        and not (tok.text[0].istitle() and not prev.text[0].istitle())
    )


def _word(text: str, group: list[RawToken]) -> Word:
    first, last = group[0], group[-1]
    if first.kind is Kind.SYLLABLE:
        return Word(text[first.start:last.end], first.start, last.end, Kind.SYLLABLE, tuple(group))
    return Word(first.text, first.start, first.end, first.kind, tuple(code_parts(first)))


_SENTENCE_END = frozenset(".!?;:")


def _chunks(text: str, tokens: list[RawToken]):
    """Token runs to tag: never across a line break, at most ~MAX_CHUNK tokens."""
    chunk: list[RawToken] = []
    prev_end = 0
    for tok in tokens:
        if chunk and "\n" in text[prev_end:tok.start]:
            yield chunk
            chunk = []
        chunk.append(tok)
        prev_end = tok.end
        if len(chunk) >= MAX_CHUNK and tok.kind is Kind.PUNCT and tok.text in _SENTENCE_END:
            yield chunk
            chunk = []
        elif len(chunk) >= 4 * MAX_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@functools.lru_cache(maxsize=1)
def get_segmenter() -> Segmenter:
    """The process's segmenter (an explicit cache: one tagger per process, made on first use)."""
    return Segmenter()


def segment(text: str) -> list[Word]:
    """Words of normalized `text` with offsets into it."""
    return get_segmenter().words(text)
