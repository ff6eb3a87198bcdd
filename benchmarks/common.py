"""Shared helpers of the benchmark suite (`benchmarks/run.py`).

Machine and version facts for every results table, load-average waiting, percentiles,
process-tree memory sampling from /proc, the corpus paths, the cached 84k-article VNTC
index the query benchmarks share, raw JSON output and the markdown sections of
docs/benchmarks.md this suite owns.
"""
from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import platform
import re
import sys
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DATA = Path(os.environ.get("VNSEARCH_BENCH_DATA", ROOT.parent / "shared" / "data"))
VNTC = DATA / "vntc-news" / "corpus.jsonl.xz"
BAOMOI = DATA / "baomoi-news-2017" / "corpus.jsonl.xz"
DANTRI = DATA / "unc-dantri-news" / "corpus.jsonl.gz"
CACHE = Path(os.environ.get("VNSEARCH_BENCH_CACHE", "/tmp/vnsearch-bench"))
RESULTS_DIR = ROOT / "docs" / "benchmarks"
RESULTS_MD = ROOT / "docs" / "benchmarks.md"
QUICK_DOCS = 3000  # documents of each corpus under --quick

# --- machine, versions, load ---------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def version_of(pkg: str) -> str:
    try:
        return importlib.metadata.version(pkg)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def loadavg() -> tuple[float, float, float]:
    return os.getloadavg()


def machine() -> dict[str, Any]:
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu_model(),
        "mem_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "whoosh": version_of("whoosh-reloaded"),
        "pyvi": version_of("pyvi"),
        "python-crfsuite": version_of("python-crfsuite"),
        "tantivy": version_of("tantivy"),
        "falcon": version_of("falcon"),
        "gunicorn": version_of("gunicorn"),
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "loadavg": [round(x, 2) for x in loadavg()],
    }


def machine_line(m: dict[str, Any]) -> str:
    return (f"nproc {m['nproc']}, {m['cpu']}, {m['mem_gb']} GB; Python {m['python']}, "
            f"Whoosh-Reloaded {m['whoosh']}, pyvi {m['pyvi']}, python-crfsuite "
            f"{m['python-crfsuite']}, tantivy {m['tantivy']}, falcon {m['falcon']}, "
            f"gunicorn {m['gunicorn']}; {m['date']}")


def wait_for_load(max_load: float, timeout: float, log: Callable[[str], None] = print) -> float:
    """Wait (up to `timeout` s) until the 1-minute load average is below `max_load`;
    returns the load average when measuring starts (possibly still above the limit)."""
    deadline = time.monotonic() + timeout
    load = loadavg()[0]
    if load < max_load or timeout <= 0:
        return load
    log(f"load average {load:.2f} >= {max_load}; waiting up to {timeout:.0f} s")
    while time.monotonic() < deadline:
        time.sleep(5)
        load = loadavg()[0]
        if load < max_load:
            break
    log(f"load average now {load:.2f}")
    return load


class LoadMonitor:
    """Samples the 1-minute load average during a measurement (min / max / mean)."""

    def __init__(self, interval: float = 2.0) -> None:
        self.interval = interval
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            self.samples.append(loadavg()[0])
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> "LoadMonitor":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(loadavg()[0])

    def summary(self) -> dict[str, float]:
        s = self.samples or [loadavg()[0]]
        return {"start": round(s[0], 2), "end": round(s[-1], 2), "max": round(max(s), 2),
                "mean": round(sum(s) / len(s), 2)}


def load_text(load: dict[str, float]) -> str:
    return f"{load['start']:.2f} at start, {load['end']:.2f} at end, max {load['max']:.2f}"


# --- statistics ----------------------------------------------------------------------------


def percentile(sorted_values: list[float], p: float) -> float:
    """Linear-interpolated percentile of already sorted values (p in 0..100)."""
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def latency_summary(ms: Iterable[float]) -> dict[str, float]:
    v = sorted(ms)
    return {
        "n": len(v),
        "mean": round(sum(v) / len(v), 3) if v else float("nan"),
        "p50": round(percentile(v, 50), 3),
        "p95": round(percentile(v, 95), 3),
        "p99": round(percentile(v, 99), 3),
        "max": round(v[-1], 3) if v else float("nan"),
    }


# --- /proc memory --------------------------------------------------------------------------


def proc_status_kb(pid: int, key: str = "VmRSS") -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat), 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def children_of(pid: int) -> list[int]:
    """Direct children, from /proc/<pid>/task/*/children."""
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    out.extend(int(x) for x in f.read().split())
            except OSError:
                pass
    except OSError:
        pass
    return out


def process_tree(pid: int) -> list[int]:
    out = [pid]
    i = 0
    while i < len(out):
        out.extend(children_of(out[i]))
        i += 1
    return out


class TreeRssSampler:
    """Samples VmRSS of a process and all its descendants; keeps the peak of the sum and
    the peak of each process (shared pages count once per process: an upper bound)."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_total_kb = 0
        self.peak_main_kb = 0
        self.peak_child_kb = 0
        self.max_procs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = process_tree(self.pid)
            sizes = {p: proc_status_kb(p) for p in pids}
            total = sum(sizes.values())
            self.peak_total_kb = max(self.peak_total_kb, total)
            self.peak_main_kb = max(self.peak_main_kb, sizes.get(self.pid, 0))
            kids = [v for p, v in sizes.items() if p != self.pid]
            if kids:
                self.peak_child_kb = max(self.peak_child_kb, max(kids))
            self.max_procs = max(self.max_procs, len(pids))
            self._stop.wait(self.interval)

    def start(self) -> "TreeRssSampler":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


# --- corpora -------------------------------------------------------------------------------


def synthetic_date(doc_id: str) -> dt.date:
    """A deterministic date in 2006-2007 (VNTC's years) from the id: VNTC has no dates,
    and a news index without dates would make the date filter and the year facet free."""
    return dt.date(2006, 1, 1) + dt.timedelta(days=zlib.crc32(doc_id.encode()) % 730)


def iter_corpus(path: Path, limit: int | None = None, dates: bool = False) -> Iterator[Any]:
    """Articles (and RecordErrors) of a JSONL corpus through the indexer's own reader;
    `dates` gives undated articles their `synthetic_date`."""
    from indexer.sources.jsonl import read_jsonl
    from indexer.record import Article

    for i, item in enumerate(read_jsonl(path)):
        if limit is not None and i >= limit:
            return
        if dates and isinstance(item, Article) and item.date is None:
            d = synthetic_date(item.id)
            item.date = dt.datetime(d.year, d.month, d.day)
        yield item


def iter_records(path: Path, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Raw JSON records of a corpus (for the query mix and tantivy)."""
    import gzip
    import lzma

    opener = lzma.open if path.name.endswith(".xz") else gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if limit is not None and i >= limit:
                return
            if line.strip():
                yield json.loads(line)


@dataclass(frozen=True)
class BenchIndex:
    name: str
    corpus: Path
    path: Path
    docs: int | None  # None: the whole corpus
    dates: bool  # synthetic dates for undated articles


def vntc_index(quick: bool) -> BenchIndex:
    """The shared query-benchmark index: VNTC with synthetic 2006-2007 dates."""
    if quick:
        return BenchIndex("vntc-quick", VNTC, CACHE / f"vntc-{QUICK_DOCS}", QUICK_DOCS, True)
    return BenchIndex("vntc", VNTC, CACHE / "vntc", None, True)


def dantri_index(quick: bool) -> BenchIndex:
    return BenchIndex("dantri", DANTRI, CACHE / "dantri", QUICK_DOCS if quick else None, False)


def schema_version() -> int:
    from indexer.schema import SCHEMA_VERSION

    return SCHEMA_VERSION


def marker_path(ix: BenchIndex) -> Path:
    return ix.path.parent / (ix.path.name + ".built.json")


def write_marker(ix: BenchIndex, stats: dict[str, Any]) -> None:
    marker_path(ix).write_text(json.dumps({
        **stats, "schema_version": schema_version(), "synthetic_dates": ix.dates,
        "built": dt.datetime.now().isoformat(timespec="seconds")}))


def index_is_current(ix: BenchIndex) -> bool:
    """Built by a finished run with the schema version of the code as it is now."""
    from whoosh import index as windex

    marker = marker_path(ix)
    if not (marker.exists() and ix.path.exists()):
        return False
    try:
        info = json.loads(marker.read_text())
    except ValueError:
        return False
    return (info.get("schema_version") == schema_version()
            and windex.exists_in(str(ix.path.resolve())))


def ensure_index(ix: BenchIndex, rebuild: bool = False, log: Callable[[str], None] = print) -> Path:
    """Build the cached index once (kept outside the repo, reused unless rebuild or the
    schema version changed)."""
    from indexer.build import BuildOptions, index_articles

    if not rebuild and index_is_current(ix):
        return ix.path
    log(f"building the {ix.name} index in {ix.path} (cached for later runs)")
    marker_path(ix).unlink(missing_ok=True)
    stats = index_articles(iter_corpus(ix.corpus, ix.docs, ix.dates), ix.path,
                           BuildOptions(workers=0, rebuild=True, progress="quiet"))
    write_marker(ix, {"docs": stats.indexed, "rejected": stats.rejected,
                      "seconds": round(stats.seconds, 1)})
    log(f"  {stats.summary()}")
    return ix.path


# --- output --------------------------------------------------------------------------------


def write_json(name: str, data: dict[str, Any], quick: bool) -> Path:
    """docs/benchmarks/<name>.json (quick runs go to the cache dir: not results)."""
    out_dir = CACHE / "quick-results" if quick else RESULTS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def update_markdown_section(title: str, body: str, path: Path = RESULTS_MD,
                            keep_first: str = "## Segmentation throughput") -> None:
    """Replace (or append) the `## title` section of docs/benchmarks.md.

    Sections owned by others (the segmentation section) are kept byte for byte; new
    sections go after them, in the order they are first written."""
    header = f"## {title}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## .*$", re.MULTILINE)
    starts = [m.start() for m in pattern.finditer(text)] + [len(text)]
    new_section = header + "\n\n" + body.strip() + "\n\n"
    for i, s in enumerate(starts[:-1]):
        line_end = text.find("\n", s)
        line = text[s:line_end if line_end != -1 else len(text)]
        if line.strip() == header:
            text = text[:s] + new_section + text[starts[i + 1]:]
            break
    else:
        if not text.endswith("\n\n"):
            text = text.rstrip("\n") + "\n\n"
        text += new_section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def md_table(headers: list[str], rows: list[list[Any]], align: str | None = None) -> str:
    align = align or "l" + "r" * (len(headers) - 1)
    sep = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(sep) + " |"]
    for r in rows:
        lines.append("| " + " | ".join(str(x) for x in r) + " |")
    return "\n".join(lines)
