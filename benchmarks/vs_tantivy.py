"""The same corpus and query strings through tantivy: the "speed of light" of an embedded
engine, next to ours, measured in the same process, mode by mode, back to back.

(Named vs_tantivy.py, not tantivy.py: a script's directory comes first on sys.path and
would shadow the `tantivy` package.)  tantivy is a benchmark-only dependency (the `bench`
extra: `pip install tantivy==0.27.0`).

Tantivy index (same documents as the latency index, the synthetic dates included):
    title, body        normalize_text(...) of the original (NFC, tone placement, quotes),
                       tantivy's `default` tokenizer: split on non-alphanumeric characters,
                       drop tokens over 40 bytes, lowercase. On Vietnamese that yields the
                       same syllables as our `syllables` stream (no word segmentation);
                       positions kept; stored, for snippets.
    title_f, body_f    indexer.normalize.fold of the same text, same tokenizer: the
                       accent-insensitive stream.
    category           `raw` tokenizer, fast field (terms aggregation = facet counts)
    year               u64 fast field; date: date fast field (range filter)
Query translation (same semantics as ours, simplified): every whitespace-separated token
is required; a token is Should[title^2, body, title_f^1.2*0.5, body_f*0.5] of its
lowercased syllable; a token with several alphanumeric parts (10/2006, Q.1) and a "quoted
phrase" are phrase queries over the same four fields. Modes, as in latency.py:
    plain      search top 10 with count=True (exact total), 10 stored documents fetched
    facets     + aggregate(terms on category and year) over the same query
    highlight  + SnippetGenerator on title and body for the 10 hits
    date       + Must(range_query on date)
    all        everything above
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common as c  # noqa: E402
from benchmarks import latency  # noqa: E402
from benchmarks.querymix import Query  # noqa: E402

TARGET_RATIO = 10.0
_ALNUM = re.compile(r"[^\W_]+")


def _tantivy():
    import tantivy

    return tantivy


def build_schema():
    tv = _tantivy()
    sb = tv.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw")
    for f in ("title", "body"):
        sb.add_text_field(f, stored=True, tokenizer_name="default", index_option="position")
        sb.add_text_field(f + "_f", stored=False, tokenizer_name="default", index_option="position")
    sb.add_text_field("category", stored=True, tokenizer_name="raw", fast=True)
    sb.add_unsigned_field("year", stored=False, indexed=True, fast=True)
    sb.add_date_field("date", stored=True, indexed=True, fast=True)
    return sb.build()


def ensure_index(ix: c.BenchIndex, rebuild: bool = False, log=print) -> tuple[Path, dict[str, Any]]:
    """The tantivy twin of a benchmark index, cached next to it."""
    from indexer.normalize import fold, normalize_text

    tv = _tantivy()
    path = ix.path.parent / (ix.path.name + "-tantivy")
    marker = path.parent / (path.name + ".built.json")
    if not rebuild and marker.exists():
        return path, json.loads(marker.read_text())
    if path.exists():
        import shutil

        shutil.rmtree(path)
    path.mkdir(parents=True)
    log(f"building the tantivy index of {ix.name} in {path}")
    schema = build_schema()
    index = tv.Index(schema, path=str(path))
    writer = index.writer(heap_size=512_000_000, num_threads=0)
    t0 = time.perf_counter()
    n = 0
    for rec in c.iter_records(ix.corpus, ix.docs):
        title = normalize_text(rec.get("title") or "")
        body = normalize_text(rec.get("body") or "")
        if not title.strip() and not body.strip():
            continue
        doc = tv.Document()
        doc.add_text("id", rec["id"])
        doc.add_text("title", title)
        doc.add_text("body", body)
        doc.add_text("title_f", fold(title))
        doc.add_text("body_f", fold(body))
        cats = rec.get("category") or []
        for cat in [cats] if isinstance(cats, str) else cats:
            doc.add_text("category", cat)
        if rec.get("date"):
            d = dt.date.fromisoformat(rec["date"][:10])
        elif ix.dates:
            d = c.synthetic_date(rec["id"])
        else:
            d = None
        if d is not None:
            doc.add_unsigned("year", d.year)
            doc.add_date("date", dt.datetime(d.year, d.month, d.day))
        writer.add_document(doc)
        n += 1
    writer.commit()
    writer.wait_merging_threads()
    secs = time.perf_counter() - t0
    info = {"docs": n, "seconds": round(secs, 1), "docs_per_s": round(n / secs, 1)}
    marker.write_text(json.dumps(info))
    log(f"  {n} documents in {secs:.1f} s ({n / secs:.0f} docs/s, normalize + fold in Python)")
    return path, info


class TantivySearch:
    def __init__(self, path: Path) -> None:
        tv = _tantivy()
        self.tv = tv
        self.index = tv.Index.open(str(path))
        self.index.reload()
        self.schema = self.index.schema
        self.searcher = self.index.searcher()

    def _token_query(self, parts: list[str], folded: list[str]):
        tv, schema = self.tv, self.schema
        Q = tv.Query
        alts = []
        for field, boost, words in (("title", 2.0, parts), ("body", 1.0, parts),
                                    ("title_f", 1.0, folded), ("body_f", 0.5, folded)):
            if len(words) == 1:
                q = Q.term_query(schema, field, words[0])
            else:
                q = Q.phrase_query(schema, field, words)
            alts.append((tv.Occur.Should, Q.boost_query(q, boost)))
        return Q.boolean_query(alts)

    def query(self, text: str):
        from indexer.normalize import fold, normalize_text

        tv = self.tv
        text = normalize_text(text)
        clauses = []
        for m in re.finditer(r'"([^"]*)"|(\S+)', text):
            chunk = m.group(1) if m.group(1) is not None else m.group(2)
            tokens = [chunk] if m.group(1) is not None else [chunk]
            for tok in tokens:
                parts = [p.lower() for p in _ALNUM.findall(tok) if len(p.encode()) <= 40]
                if parts:
                    clauses.append((tv.Occur.Must, self._token_query(parts, [fold(p) for p in parts])))
        if not clauses:
            return tv.Query.all_query()
        return clauses[0][1] if len(clauses) == 1 else tv.Query.boolean_query(clauses)

    def search(self, q: Query, mode: str) -> int:
        tv = self.tv
        m = latency.MODES[mode]
        query = self.query(q.q)
        if m["dates"] and q.date_from:
            lo = dt.datetime.fromisoformat(q.date_from)
            hi = dt.datetime.fromisoformat(q.date_to) + dt.timedelta(days=1)
            rng = tv.Query.range_query(self.schema, "date", tv.FieldType.Date, lo, hi,
                                       include_lower=True, include_upper=False)
            query = tv.Query.boolean_query([(tv.Occur.Must, query), (tv.Occur.Must, rng)])
        s = self.searcher
        res = s.search(query, 10, count=True)
        docs = [s.doc(addr) for _, addr in res.hits]
        if m["facets"]:
            s.aggregate(query, {"category": {"terms": {"field": "category", "size": 100}},
                                "year": {"terms": {"field": "year", "size": 100}}})
        if m["highlight"] and docs:
            for field in ("title", "body"):
                gen = tv.SnippetGenerator.create(s, query, self.schema, field)
                gen.set_max_num_chars(240)
                for d in docs:
                    gen.snippet_from_doc(d).to_html()
        return res.count


def measure_tantivy(ts: TantivySearch, mix: list[Query], mode: str) -> list[dict[str, Any]]:
    out = []
    for q in mix:
        t0 = time.perf_counter()
        total = ts.search(q, mode)
        out.append({"q": q.q, "kind": q.kind, "ms": (time.perf_counter() - t0) * 1000.0, "total": total})
    return out


def run(quick: bool = False, rebuild: bool = False, log=print) -> dict[str, Any]:
    from config.settings import load_settings
    from search.engine import Engine

    bix = c.vntc_index(quick)
    ours_path = c.ensure_index(bix, rebuild, log)
    tv_path, tv_info = ensure_index(bix, rebuild, log)
    mix = latency.vntc_mix(quick)
    engine = Engine(ours_path, load_settings().search)
    ts = TantivySearch(tv_path)
    log(f"tantivy: {ts.searcher.num_docs} documents; ours: {engine.doc_count()}; warming up both")
    for mode in ("all", "plain"):
        latency.measure(engine, mix, mode)
        measure_tantivy(ts, mix, mode)
    modes: dict[str, Any] = {}
    for mode in latency.MODES:
        gc.collect()
        with c.LoadMonitor() as load:
            ours = latency.measure(engine, mix, mode)
            theirs = measure_tantivy(ts, mix, mode)
        o, t = latency.summarise(ours), latency.summarise(theirs)
        agree = sum(1 for a, b in zip(ours, theirs) if a["total"] == b["total"])
        modes[mode] = {
            "ours": o, "tantivy": t, "load": load.summary(),
            "ratio_p50": round(o["p50"] / t["p50"], 1), "ratio_p95": round(o["p95"] / t["p95"], 1),
            "ratio_p99": round(o["p99"] / t["p99"], 1), "same_total": agree,
        }
        log(f"  {mode:9s} ours p95 {o['p95']:7.1f} ms, tantivy p95 {t['p95']:6.2f} ms: "
            f"{modes[mode]['ratio_p95']:.1f}x  (same hit count for {agree}/{len(mix)} queries)")
    engine.close()
    return {"benchmark": "tantivy", "quick": quick, "machine": c.machine(), "queries": len(mix),
            "docs": ts.searcher.num_docs, "tantivy_index": tv_info, "target_ratio_all_p95": TARGET_RATIO,
            "modes": modes}


def markdown(data: dict[str, Any]) -> str:
    rows = []
    for mode, r in data["modes"].items():
        o, t = r["ours"], r["tantivy"]
        rows.append([f"`{mode}`", f"{o['p50']:.1f} / {o['p95']:.1f} / {o['p99']:.1f}",
                     f"{t['p50']:.2f} / {t['p95']:.2f} / {t['p99']:.2f}", f"{r['ratio_p50']:.1f}x",
                     f"**{r['ratio_p95']:.1f}x**", f"{r['same_total']}/{data['queries']}", c.load_text(r["load"])])
    table = c.md_table(["mode", "ours p50 / p95 / p99 ms", "tantivy p50 / p95 / p99 ms", "p50 ratio",
                        "p95 ratio", "same total hits", "load average"], rows, "lrrrrrl")
    all_ratio = data["modes"]["all"]["ratio_p95"]
    verdict = "met" if all_ratio <= data["target_ratio_all_p95"] else "**missed**"
    ti = data["tantivy_index"]
    return f"""`.venv/bin/python benchmarks/run.py --only tantivy` (machine: {c.machine_line(data['machine'])}).

Same {data['docs']:,} documents (VNTC with the synthetic dates) and the same {data['queries']} query strings,
tantivy 0.27 through its Python binding, measured in the same process right after ours, mode
by mode. Tantivy index: title and body as `normalize_text` output (NFC, tone placement) with
tantivy's `default` tokenizer (split on non-alphanumerics, lowercase: on Vietnamese that is our
syllable stream, no word segmentation), plus `fold`ed copies for accent-free queries; category
as a raw fast field and year/date as fast fields. Each query token is required and matches its
syllable in title, body or their folded copies; codes with several parts and "quoted phrases"
are phrase queries. Modes as in the latency table: plain = top 10 with exact count and the 10
stored documents; facets = + a terms aggregation on category and year; highlight = +
`SnippetGenerator` on title and body; date = + a date range clause; all = everything.
Building it took {ti['seconds']:.0f} s ({ti['docs_per_s']:.0f} docs/s, Python-side normalize + fold
included). "same total hits" counts queries where both engines report the same number of hits
(they differ where our analysis differs: word-level matching, stopwords, restored accents).

Target: `all` p95 at most {data['target_ratio_all_p95']:.0f}x tantivy's: {all_ratio:.1f}x, {verdict}.

{table}
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args(argv)
    data = run(args.quick, args.rebuild)
    print(markdown(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
