"""pyvi's CRF model, read from its bytes: no sklearn-crfsuite, no temp file.

pyvi 0.1.1 ships `models/pyvi3.pkl`, a pickled sklearn-crfsuite CRF whose state holds the
crfsuite model file (FOMC), and `models/words.txt`, the bigram and trigram dictionary its
features look up. Importing pyvi unpickles the model into a temp file that a forked child
deletes on exit; here the bytes are read once per process instead, and the segmenter
(`indexer.segment`) reads the attribute names and weights out of them.
"""
from __future__ import annotations

import functools
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CrfWeights", "pyvi_model_dir", "model", "model_attributes", "model_weights", "weights"]


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


def model_attributes(data: bytes) -> frozenset[bytes]:
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


def model_weights(data: bytes) -> CrfWeights:
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
def model() -> tuple[bytes, frozenset[str], frozenset[str], frozenset[bytes]]:
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
    return data, frozenset(bi), frozenset(tri), model_attributes(data)


@functools.lru_cache(maxsize=1)
def weights() -> CrfWeights:
    """The model's weights (read once per process, like `model`)."""
    return model_weights(model()[0])
