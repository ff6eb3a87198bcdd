"""The bulk term dictionary writer: Whoosh's OrderedHashWriter bytes, written in bulk."""
from __future__ import annotations

import io
import random

import pytest
from whoosh.filedb.filetables import OrderedHashReader, OrderedHashWriter, _hash_functions
from whoosh.filedb.structfile import StructFile

from indexer.termhash import add_rows, bulk_hash_tables


class _Unclosing(io.BytesIO):
    def close(self) -> None:  # keep the bytes readable after the writer closes its file
        pass


def _written(rows: list[tuple[bytes, bytes]], bulk: bool, hashtype: int, chunk: int) -> bytes:
    f = _Unclosing()
    writer = OrderedHashWriter(StructFile(f))  # (its header names md5 whatever hashfn is)
    writer.hashfn = _hash_functions[hashtype]
    if bulk:
        bulk_hash_tables(writer)
        for i in range(0, len(rows), chunk):
            add_rows(writer, rows[i:i + chunk])
    else:
        for key, value in rows:
            writer.add(key, value)
    writer.close()
    return f.getvalue()


@pytest.mark.parametrize("hashtype", [0, 1])  # md5 (Whoosh's default), crc32 (cdb fails on bytes)
def test_same_bytes_as_whoosh_with_offsets_past_16_bits(hashtype: int) -> None:
    rng = random.Random(hashtype)
    keys = sorted({rng.randbytes(rng.randint(1, 12)) for _ in range(9000)})
    rows = [(k, rng.randbytes(rng.randint(0, 30))) for k in keys]  # ~300 kB: offsets > 2**16
    ours = _written(rows, True, hashtype, 1000)
    assert ours == _written(rows, False, hashtype, 1000)
    if hashtype == 0:
        reader = OrderedHashReader(StructFile(io.BytesIO(ours)), len(ours))
        for key, value in rng.sample(rows, 50):
            assert reader[key] == value
        assert list(reader.keys()) == keys


def test_keys_must_increase_across_calls() -> None:
    writer = OrderedHashWriter(StructFile(_Unclosing()))
    add_rows(writer, [(b"b", b"1"), (b"c", b"2")])
    with pytest.raises(ValueError, match="Keys must increase"):
        add_rows(writer, [(b"c", b"3")])
