"""Indexing throughput, end to end: read (xz JSONL), normalize, segment, write, commit.

Each corpus is indexed from scratch by a fresh child process running what
`vnsearch index --rebuild --quiet` runs: `index_articles(read_jsonl(path), ...)` with
`BuildOptions(workers=0 (one analysis process per CPU), rebuild=True)`. VNTC articles
get their synthetic date on the way (`common.synthetic_date`: three tiny fields more per
document), so that this run's output is also the shared 84k index the query benchmarks
use (/tmp/vnsearch-bench/vntc). Measured:
- docs/s = indexed documents / wall time of `index_articles` (includes the pool start,
  every commit, and the final atomic swap);
- CPU seconds of the main process and of the worker pool (getrusage SELF / CHILDREN);
- memory: ru_maxrss of the main process, the largest ru_maxrss of any worker
  (getrusage CHILDREN), and the peak of the summed VmRSS of the whole process tree,
  sampled from /proc every 0.25 s (shared pages count in every process, so the sum
  is an upper bound);
- on-disk size of the finished index.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common as c  # noqa: E402

TARGET_DOCS_PER_S = 300.0


def _dir_size(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


def _child(corpus: Path, out: Path, limit: int | None, workers: int, dates: bool) -> None:
    from indexer.build import BuildOptions, index_articles

    stats = index_articles(c.iter_corpus(corpus, limit, dates), out,
                           BuildOptions(workers=workers, rebuild=True, progress="quiet"))
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        "indexed": stats.indexed, "added": stats.added, "updated": stats.updated,
        "rejected": stats.rejected, "commits": stats.commits, "seconds": stats.seconds,
        "main_cpu_s": me.ru_utime + me.ru_stime, "pool_cpu_s": kids.ru_utime + kids.ru_stime,
        "main_maxrss_kb": me.ru_maxrss, "worker_maxrss_kb": kids.ru_maxrss,
        "rejects": [f"{e.where}: {e.reason}" for e in stats.rejects[:5]],
    }))


def run_one(ix: c.BenchIndex, workers: int = 0, log=print) -> dict[str, Any]:
    out, corpus, limit, name = ix.path, ix.corpus, ix.docs, ix.name
    c.marker_path(ix).unlink(missing_ok=True)
    if out.exists() or out.is_symlink():
        if out.is_symlink():
            out.unlink()
        else:
            shutil.rmtree(out)
    gens = out.parent / (out.name + ".generations")
    if gens.exists():
        shutil.rmtree(gens)
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(corpus), str(out),
           str(limit or 0), str(workers), "1" if ix.dates else "0"]
    log(f"indexing {name} ({limit or 'all'} docs) ...")
    with c.LoadMonitor() as load:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=str(c.ROOT))
        sampler = c.TreeRssSampler(proc.pid).start()
        stdout, _ = proc.communicate()
        sampler.stop()
        wall = time.monotonic() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"indexing child failed ({proc.returncode})")
    res = json.loads(stdout.strip().splitlines()[-1])
    c.write_marker(ix, {"docs": res["indexed"], "rejected": res["rejected"],
                        "seconds": round(res["seconds"], 1)})
    res.update({
        "corpus": str(corpus), "limit": limit, "index": str(out), "synthetic_dates": ix.dates,
        "schema_version": c.schema_version(), "workers": workers or os.cpu_count(),
        "process_wall_s": round(wall, 2),
        "docs_per_s": round(res["indexed"] / res["seconds"], 1),
        "peak_tree_rss_mb": round(sampler.peak_total_kb / 1024, 1),
        "peak_main_rss_mb_sampled": round(sampler.peak_main_kb / 1024, 1),
        "peak_worker_rss_mb_sampled": round(sampler.peak_child_kb / 1024, 1),
        "processes": sampler.max_procs,
        "main_maxrss_mb": round(res["main_maxrss_kb"] / 1024, 1),
        "worker_maxrss_mb": round(res["worker_maxrss_kb"] / 1024, 1),
        "index_mb": round(_dir_size(out.resolve()) / 1024 / 1024, 1),
        "load": load.summary(),
    })
    cpu = res["main_cpu_s"] + res["pool_cpu_s"]
    res["cpu_utilisation"] = round(cpu / res["seconds"], 2)
    log(f"  {res['indexed']} docs in {res['seconds']:.1f} s = {res['docs_per_s']:.0f} docs/s; "
        f"main CPU {res['main_cpu_s']:.0f} s, pool CPU {res['pool_cpu_s']:.0f} s; "
        f"peak tree RSS {res['peak_tree_rss_mb']} MB; load {c.load_text(res['load'])}")
    return res


def run(quick: bool = False, log=print) -> dict[str, Any]:
    limit = c.QUICK_DOCS if quick else None
    baomoi = c.BenchIndex("baomoi" + ("-quick" if quick else ""), c.BAOMOI,
                          c.CACHE / ("indexing-baomoi" + (f"-{limit}" if quick else "")), limit, False)
    results = {
        "vntc": run_one(c.vntc_index(quick), log=log),  # also the query benchmarks' index
        "baomoi": run_one(baomoi, log=log),
    }
    return {"benchmark": "indexing", "quick": quick, "machine": c.machine(),
            "target_docs_per_s": TARGET_DOCS_PER_S, "results": results}


def markdown(data: dict[str, Any]) -> str:
    m = data["machine"]
    rows = []
    for name, label in (("vntc", "VNTC"), ("baomoi", "Báo Mới")):
        r = data["results"].get(name)
        if not r:
            continue
        ok = "met" if r["docs_per_s"] >= data["target_docs_per_s"] else "**missed**"
        rows.append([label, f"{r['indexed']:,}", f"{r['seconds']:.0f}", f"**{r['docs_per_s']:.0f}**", ok,
                     f"{r['main_cpu_s']:.0f} / {r['pool_cpu_s']:.0f}", f"{r['cpu_utilisation']:.2f}",
                     f"{r['main_maxrss_mb']:.0f}", f"{r['worker_maxrss_mb']:.0f}",
                     f"{r['peak_tree_rss_mb']:.0f}", f"{r['index_mb']:.0f}", c.load_text(r["load"])])
    table = c.md_table(
        ["corpus", "docs", "wall s", "docs/s", "target 300", "CPU s main / pool", "cores busy",
         "main maxRSS MB", "worker maxRSS MB", "peak tree RSS MB", "index MB", "load average"],
        rows, "lrrrlrrrrrrl")
    return f"""`.venv/bin/python benchmarks/run.py --only indexing` (machine: {c.machine_line(m)}).

What runs: a fresh process per corpus calls `index_articles(read_jsonl(corpus), dir,
BuildOptions(workers=0, rebuild=True))`, the code path of `vnsearch index --rebuild --quiet`:
xz decompression and JSON parsing in the main process; in {data['results']['vntc']['workers']} pool workers (at lower
priority), each taking a whole batch of 4,000 documents (`BuildOptions.batch_size`; the
last full batch and the rest are cut so that both workers finish together,
`indexer/batching.py`): normalization, segmentation, posting encoding, inversion and
writing the batch as a segment (`indexer/parts.py`, `indexer/inverter.py`, `indexer/blocks.py`,
`indexer/termpool.py`, `indexer/termhash.py`); in the main process, in batch order:
adopting each segment in a commit under the tiered merge policy (`merge_policy.merge_tiered`:
segments of 4,000 documents merge 32 at a time, so neither build merges), then the atomic swap. docs/s is documents
over the wall time of the whole run. Memory: `ru_maxrss` of the main process and of the
largest worker (`getrusage` SELF / CHILDREN), and the peak of the summed VmRSS of the
process tree sampled from /proc every 0.25 s (an upper bound: shared pages count once per
process). "cores busy" is (main + pool CPU seconds) / wall seconds.

{table}
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", nargs=5, metavar=("CORPUS", "OUT", "LIMIT", "WORKERS", "DATES"))
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    if args.child:
        corpus, out, limit, workers, dates = args.child
        _child(Path(corpus), Path(out), int(limit) or None, int(workers), dates == "1")
        return 0
    print(json.dumps(run(args.quick), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
