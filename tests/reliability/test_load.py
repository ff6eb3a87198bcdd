"""The short version of benchmarks/load_with_writes.py: ~20 s of the realistic query mix with
concurrent API writes against the real server on 127.0.0.1, over the ~3,000-article base
index. Zero errors; every acknowledged write applied; throughput and p99 reported (the
full 60-s run and its figures are in docs/reliability.md)."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.reliability.conftest import PYTHON, ROOT, child_env, requires_corpus

pytestmark = [pytest.mark.slow, requires_corpus]

SCRIPT = ROOT / "benchmarks" / "load_with_writes.py"


def test_load_with_concurrent_writes_has_no_errors(base_index, tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    done = subprocess.run(
        [PYTHON, str(SCRIPT), "--index", str(base_index.path), "--seconds", "20", "--readers", "4",
         "--write-rate", "4", "--json", str(out)],
        cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=300)
    print("\n" + done.stdout.strip())
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    result = json.loads(out.read_text("utf-8"))
    reads, writes = result["reads"], result["writes"]
    assert result["errors"] == 0 and reads["errors"] == 0 and writes["errors"] == 0
    assert result["listening"] == ["127.0.0.1"]
    assert reads["requests"] >= 40, reads  # it really ran (loose: the CI machine is shared)
    assert set(reads["statuses"]) <= {"200", "404"}
    assert writes["acknowledged"] >= 20 and writes["applied"] == writes["acknowledged"]
    assert reads["p99_ms"] < 10_000, reads  # a sanity bound, not a performance target
