"""indexer.crf_model: pyvi's crfsuite model read from its bytes (attributes, weights)."""
from __future__ import annotations

import re
import struct

import pytest

from indexer.crf_model import model, model_attributes, model_weights
from indexer.segment import Segmenter


@pytest.fixture(scope="module")
def seg() -> Segmenter:
    return Segmenter()


def test_model_attribute_table_is_read_from_the_model_bytes() -> None:
    data, bigrams, trigrams, known = model()
    num_attrs = struct.unpack_from("<I", data, 24)[0]
    assert len(known) == num_attrs > 6000
    assert {b"bias", b"word.istitle()", b"-1:word.bi_gram()", b"+2:word.tri_gram()"} <= known
    assert "học tập" in bigrams and len(trigrams) > 1000
    with pytest.raises(ValueError):
        model_attributes(b"not a model" + bytes(64))


def test_model_weights_match_crfsuites_own_dump(seg: Segmenter, tmp_path) -> None:  # noqa: ANN001
    w = model_weights(model()[0])
    assert w.labels == ("B_W", "I_W")
    seg._tagger.dump(str(tmp_path / "dump.txt"))  # crfsuite's text dump, 6 decimals
    dump = (tmp_path / "dump.txt").read_text(encoding="utf-8")
    trans = re.findall(r"^  \(1\) (\S+) --> (\S+): ([-+]?\d+\.\d+)$", dump, re.M)
    assert len(trans) == 4
    for src, dst, weight in trans:
        assert w.transitions[w.labels.index(src)][w.labels.index(dst)] == pytest.approx(float(weight), abs=1e-6)
    # (attribute names may hold a line break, so only one-line entries are compared here;
    # the property test below checks the labels against crfsuite's tagger on everything)
    state = re.findall(r"^  \(0\) (.+) --> (B_W|I_W): ([-+]?\d+\.\d+)$", dump, re.M)
    assert len(state) > 10_000
    for attr, label, weight in state:
        assert w.state[attr.encode("utf-8")][w.labels.index(label)] == pytest.approx(float(weight), abs=1e-6)
    with pytest.raises(ValueError):
        model_weights(b"lCRF" + bytes(60))
