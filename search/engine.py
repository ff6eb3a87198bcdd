"""The search engine used by the HTTP API, the CLI and the evaluation harness.

One `Engine` per process serves many requests. It keeps one open generation of the index
(a Whoosh searcher plus the caches that belong to it: vocabulary, facet value sets, date
order) and swaps it when the index changes on disk, either by a new commit or by an atomic
swap of the index directory symlink. Requests hold a reference to the generation they
started with, so a swap never closes a searcher that is still in use.

Per request: the exact matching set is a boolean mask computed from decoded, cached posting
lists (`search.postings`, `search.docsets`); the top page*per_page is ranked with BM25F by
numpy term-at-a-time scoring (`search.fastrank`; Whoosh's collector only for positional
queries); facets count mask intersections with cached value masks (`search.facets`); date
filters and date sorting use a per-generation array of dates. Nothing iterates over the
matching documents in Python.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import html
import os
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from whoosh import collectors
from whoosh import index as windex
from whoosh.searching import Searcher
from whoosh.util.times import datetime_to_long

from config.settings import SearchSettings
from indexer import whoosh_mmap
from indexer.embedding import E5Encoder, Encoder, VectorStore, vectors_dir
from indexer.normalize import normalize_text
from indexer.schema import TEXT_FIELDS
from indexer.synonyms import SynonymTable, load_synonyms
from search.docsets import DocSets, Mask, TermMasks, docnums, mask_of
from search.errors import IndexUnavailable, InvalidRequest
from search.facets import FACET_FIELDS, FacetCache, FacetValue
from search.fastrank import FastRanker, flat_terms
from search.lru import ByteLRU
from search.postings import PostingCache
from search.segstats import SegmentStats
from search.highlight import Highlighter
from search.query import CompiledQuery, HighlightTerms, QueryContext, compile_query, load_stopwords
from search.ranking import RankingParams
from search.semantic import QueryVectors, SemanticParams, rerank
from search.suggest import autocomplete, did_you_mean
from search.syntax import parse
from search.vocab import VocabState, Vocabulary

__all__ = [
    "SearchRequest", "Hit", "FacetValue", "SearchResult", "Engine", "RankingParams", "SORTS",
]

SORTS = ("relevance", "newest", "oldest")
USE_QUALITY = True  # block-max skipping in the top-N collector
_MAX_LONG = 1 << 63

whoosh_mmap.install()


@dataclass(frozen=True)
class SearchRequest:
    q: str = ""
    categories: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    sort: str = "relevance"  # relevance | newest | oldest
    page: int = 1
    per_page: int = 10
    highlight: bool = True
    facets: bool = True


@dataclass(frozen=True)
class Hit:
    id: str
    title: str
    title_html: str  # escaped title, query terms in <mark>
    snippet: str  # escaped HTML excerpt, query terms in <mark>, "…" where cut
    url: str
    date: str | None  # ISO date
    category: list[str]
    author: str
    score: float


@dataclass(frozen=True)
class SearchResult:
    query: str
    total: int
    page: int
    per_page: int
    took_ms: float
    hits: list[Hit]
    facets: dict[str, list[FacetValue]]  # keys "category", "year"
    suggestion: str | None  # did-you-mean, diacritic-aware


# --- one open index generation -------------------------------------------------------------

class _Generation:
    """A searcher and its caches; closed when retired and no request uses it any more."""

    def __init__(self, real: Path, ix: windex.Index, ranking: RankingParams,
                 postings: PostingCache, settings: SearchSettings, stats: SegmentStats,
                 base: VocabState | None = None) -> None:
        self.real = real
        self.ix = ix
        self.searcher = ix.searcher(weighting=ranking.weighting())
        self.reader = self.searcher.reader()
        self.generation = self.reader.generation()
        if self.generation is None:
            self.generation = ix.latest_generation()
        try:
            ino = os.stat(real).st_ino
        except OSError:
            ino = 0
        digest = hashlib.sha1(f"{real}:{ino}:{self.generation}".encode()).hexdigest()[:10]
        self.version = f"{self.generation}-{digest}"
        n = self.reader.doc_count_all()
        self.live: Mask = mask_of(self.reader.all_doc_ids(), n)
        self.postings = postings.view(self.reader, settings.joined_cache_mb << 20)
        self.vocab = Vocabulary(self.searcher, stats, base)  # base: the previous generation's
        self.facets = FacetCache(self.searcher, self.live)
        self.fast = FastRanker(self.searcher, self.postings, settings.score_cache_mb << 20, stats)
        self.masks = TermMasks(self.live, settings.mask_cache_mb << 20)
        self.vectors = VectorStore(vectors_dir(real))  # passage vectors, if `vnsearch embed` ran
        # stored fields of documents shown in results (decompressed and unpickled once;
        # read-only: shared between requests)
        self._stored = ByteLRU(settings.stored_cache_mb << 20, _stored_size)
        self.refs = 0
        self.retired = False
        self._lock = threading.Lock()
        self._searchers: dict[RankingParams, Searcher] = {ranking: self.searcher}
        self._fields: tuple[str, ...] | None = None
        self._dates: tuple[np.ndarray, Mask] | None = None

    def searcher_for(self, ranking: RankingParams) -> Searcher:
        """A searcher on the same reader with the given weights (same docnums)."""
        s = self._searchers.get(ranking)
        if s is None:
            s = Searcher(self.reader, weighting=ranking.weighting(), closereader=False)
            with self._lock:
                if len(self._searchers) > 16:
                    self._searchers = {k: v for k, v in list(self._searchers.items())[:1]}
                self._searchers[ranking] = s
        return s

    def stored_fields(self, docnum: int) -> dict:
        """A document's stored fields (cached: do not modify)."""
        return self._stored.get(docnum, lambda: self.searcher.stored_fields(docnum))

    def text_fields(self) -> tuple[str, ...]:
        """Text fields with any content (an empty summary field costs matchers for nothing)."""
        if self._fields is None:
            present = tuple(f for f in TEXT_FIELDS if f in self.reader.schema
                            and self.reader.field_length(f) > 0)
            self._fields = present or TEXT_FIELDS
        return self._fields

    def dates(self) -> tuple[np.ndarray, Mask]:
        """(date per docnum as Whoosh's sortable long, mask of live dated documents)."""
        if self._dates is None:
            with self._lock:
                if self._dates is None:
                    self._dates = self._build_dates()
        return self._dates

    def _build_dates(self) -> tuple[np.ndarray, Mask]:
        values = np.zeros(len(self.live), dtype=np.int64)
        for leaf, offset in self.reader.leaf_readers():
            if not leaf.has_column("date"):
                continue
            col = leaf.column_reader("date", translate=False)
            n = leaf.doc_count_all()
            # an undated document holds the column's default (2**64 - 1): undated, see `dated`
            values[offset:offset + n] = np.fromiter(
                (v if v and v < _MAX_LONG else 0 for v in col), dtype=np.int64, count=n)
        dated = np.zeros(len(self.live), dtype=bool)
        for docs in self.facets.values("year").values():
            dated |= docs
        return values, dated

    def close(self) -> None:
        try:
            self.searcher.close()
        except Exception:  # already closed or files gone: nothing left to release
            pass


# --- request handling ---------------------------------------------------------------------

def _validate(req: SearchRequest, st: SearchSettings) -> None:
    if not isinstance(req.q, str):
        raise InvalidRequest("q", "must be a string")
    if len(req.q) > st.max_query_chars:
        raise InvalidRequest("q", f"longer than {st.max_query_chars} characters")
    if req.sort not in SORTS:
        raise InvalidRequest("sort", f"must be one of {', '.join(SORTS)}")
    if not isinstance(req.page, int) or isinstance(req.page, bool) or req.page < 1:
        raise InvalidRequest("page", "must be an integer >= 1")
    if (not isinstance(req.per_page, int) or isinstance(req.per_page, bool)
            or not 1 <= req.per_page <= st.max_per_page):
        raise InvalidRequest("per_page", f"must be an integer from 1 to {st.max_per_page}")
    if req.page * req.per_page > st.max_depth:
        raise InvalidRequest("page", f"results deeper than {st.max_depth} are not available")
    for name in ("date_from", "date_to"):
        value = getattr(req, name)
        if value is not None and not isinstance(value, dt.date):
            raise InvalidRequest(name, "must be a date")
    if req.date_from and req.date_to and _as_date(req.date_from) > _as_date(req.date_to):
        raise InvalidRequest("date_from", "is after date_to")
    cats = req.categories
    if isinstance(cats, str) or not all(isinstance(c, str) for c in cats):
        raise InvalidRequest("categories", "must be a list of strings")
    if len(cats) > 100 or any(len(c) > 200 for c in cats):
        raise InvalidRequest("categories", "too many or too long")


def _as_date(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _stored_size(fields: dict) -> int:
    """About what a stored document takes in memory (its strings dominate)."""
    return 400 + sum(sys.getsizeof(v) for v in fields.values())


def _iso(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return None


def _categories(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [c.strip() for c in str(value).split(",") if c.strip()]


class Engine:
    """Search over one index directory (see the module docstring)."""

    def __init__(self, index_dir: Path, settings: SearchSettings | None = None,
                 ranking: RankingParams | None = None, encoder: Encoder | None = None) -> None:
        self.index_dir = Path(index_dir)
        self.settings = settings or SearchSettings()
        self.ranking = ranking or RankingParams()
        self.semantic = SemanticParams(self.settings.semantic_candidates, self.settings.semantic_weight)
        # the query encoder is loaded on the first wordy query against an index with vectors
        self.query_vectors = QueryVectors(encoder or E5Encoder())
        self._encoder_failed = False
        self._lock = threading.RLock()
        self._gen: _Generation | None = None
        self._last_check = 0.0
        self._synonyms: SynonymTable | None = None
        self._synonyms_loaded = False
        self._stopwords = load_stopwords()
        self._postings = PostingCache(self.settings.posting_cache_mb << 20,
                                     self.settings.positions_cache_mb << 20)
        # per segment, like the postings: what each generation's vocabulary and field
        # lengths are added up from
        self._stats = SegmentStats(self.settings.stats_cache_mb << 20)

    # --- generations ------------------------------------------------------------------

    def _open(self, base: VocabState | None = None) -> _Generation:
        path = self.index_dir
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):
            raise IndexUnavailable(f"index directory {path} does not exist") from None
        if not real.is_dir():
            raise IndexUnavailable(f"{path} is not a directory")
        try:
            if not windex.exists_in(str(real)):
                raise IndexUnavailable(f"no index in {path}")
            ix = windex.open_dir(str(real))
            return _Generation(real, ix, self.ranking, self._postings, self.settings, self._stats, base)
        except IndexUnavailable:
            raise
        except Exception as e:  # corrupt or half-written index
            raise IndexUnavailable(f"cannot open index in {path}: {e}") from e

    def _swap(self, new: _Generation) -> None:
        with self._lock:
            old, self._gen = self._gen, new
            if old is not None:
                old.retired = True
                if old.refs == 0:
                    old.close()

    @contextmanager
    def _use(self) -> Iterator[_Generation]:
        """The current generation, held open for the block; every read comes through here,
        so every read sees a new commit within refresh_interval."""
        self._maybe_refresh()
        with self._lock:
            if self._gen is None:
                self._gen = self._open()
                self._last_check = time.monotonic()
            gen = self._gen
            gen.refs += 1
        try:
            yield gen
        finally:
            with self._lock:
                gen.refs -= 1
                if gen.retired and gen.refs == 0:
                    gen.close()

    def refresh(self) -> bool:
        """Reopen if the index changed on disk (new commit, or the directory swapped)."""
        with self._lock:
            self._last_check = time.monotonic()
            gen = self._gen
            if gen is None:
                try:
                    self._gen = self._open()
                except IndexUnavailable:
                    return False
                return True
        try:
            real = self.index_dir.resolve(strict=True)
            changed = real != gen.real
            if not changed:
                changed = gen.ix.latest_generation() != gen.generation
        except Exception:  # mid-swap or gone: keep serving what is open
            return False
        if not changed:
            gen.vectors.reload()  # `vnsearch embed` appends to the live generation
            return False
        try:
            new = self._open(gen.vocab.state())
        except IndexUnavailable:
            return False
        self._swap(new)
        return True

    def _maybe_refresh(self) -> None:
        if self._gen is not None and time.monotonic() - self._last_check >= self.settings.refresh_interval:
            self.refresh()

    def close(self) -> None:
        with self._lock:
            gen, self._gen = self._gen, None
            if gen is not None:
                gen.retired = True
                if gen.refs == 0:
                    gen.close()

    def version(self) -> str:
        with self._use() as gen:
            return gen.version

    def doc_count(self) -> int:
        with self._use() as gen:
            return gen.searcher.doc_count()

    # --- documents ----------------------------------------------------------------------

    def get_document(self, doc_id: str) -> dict | None:
        """All stored fields of a document: date as ISO, categories as a list."""
        with self._use() as gen:
            docnum = gen.searcher.document_number(id=doc_id)
            if docnum is None:
                return None
            return self._document(gen.searcher.stored_fields(docnum))

    @staticmethod
    def _document(stored: dict) -> dict:
        doc = {
            "id": stored.get("id", ""),
            "title": stored.get("title", "") or "",
            "summary": stored.get("summary", "") or "",
            "body": stored.get("body", "") or "",
            "date": _iso(stored.get("date")),
            "category": _categories(stored.get("category")),
            "author": stored.get("author", "") or "",
            "url": stored.get("url", "") or "",
            "source": stored.get("source", "") or "",
            "doc_number": stored.get("doc_number", "") or "",
            "extras": dict(stored.get("extras") or {}),
        }
        return doc

    # --- search -------------------------------------------------------------------------

    def _synonym_table(self) -> SynonymTable | None:
        if not self._synonyms_loaded:
            try:
                self._synonyms = load_synonyms(self.settings.synonyms)
            except (OSError, ValueError):
                self._synonyms = None
            self._synonyms_loaded = True
        return self._synonyms

    def _context(self, gen: _Generation) -> QueryContext:
        return QueryContext(
            ranking=self.ranking,
            vocab=gen.vocab,
            synonyms=self._synonym_table(),
            stopwords=self._stopwords,
            max_terms=self.settings.max_query_terms,
            resolve_category=lambda name: gen.facets.resolve("category", name),
            bigrams="body_b" in gen.searcher.schema,
            fields=gen.text_fields(),
        )

    def _filter(self, gen: _Generation, req: SearchRequest, comp: CompiledQuery) -> Mask | None:
        """Documents allowed by the request's and the query's filters (None: all)."""
        allowed: Mask | None = None

        def narrow(docs: Mask) -> None:
            nonlocal allowed
            allowed = docs if allowed is None else (allowed & docs)

        if req.categories:
            values: list[str] = []
            for name in req.categories:
                values.extend(gen.facets.resolve("category", name))
            narrow(gen.facets.docs("category", set(values)))
        if comp.categories or comp.unmatched_category:
            narrow(gen.facets.docs("category", set(comp.categories)))
        if req.date_from or req.date_to:
            values, dated = gen.dates()
            docs = dated
            if req.date_from:
                start = dt.datetime.combine(_as_date(req.date_from), dt.time(0))
                docs = docs & (values >= datetime_to_long(start))
            if req.date_to:
                end = dt.datetime.combine(_as_date(req.date_to), dt.time.max)
                docs = docs & (values <= datetime_to_long(end))
            narrow(docs)
        if comp.excluded_categories:
            base = gen.live if allowed is None else allowed
            allowed = base & ~gen.facets.docs("category", set(comp.excluded_categories))
        return allowed

    @staticmethod
    def _matching(ds: DocSets, match, comp: CompiledQuery,  # noqa: ANN001 - whoosh query
                  allowed: Mask | None) -> Mask:
        docs = ds.of(match)
        if comp.exclude is not None:
            docs = docs & ~ds.of(comp.exclude)
        if allowed is not None:
            docs = docs & allowed
        return docs

    @staticmethod
    def _by_date(gen: _Generation, docs: Mask, n: int, newest: bool) -> list[int]:
        """The first n of `docs` by date, ties and undated documents (last) by docnum."""
        values, dated = gen.dates()
        cand = np.flatnonzero(docs & dated)
        if len(cand) > n:  # keep every candidate tied with the n-th date, then sort exactly
            keyed = -values[cand] if newest else values[cand]
            cut = np.partition(keyed, n - 1)[n - 1]
            cand = cand[keyed <= cut]
        vals = values[cand]
        order = np.lexsort((-cand if newest else cand, -vals if newest else vals))
        out = cand[order][:n].tolist()
        if len(out) < n:
            rest = np.flatnonzero(docs & ~dated)
            rest = rest[::-1] if newest else rest
            out += rest[: n - len(out)].tolist()
        return out

    def search(self, req: SearchRequest) -> SearchResult:
        st = self.settings
        _validate(req, st)
        started = time.perf_counter()
        with self._use() as gen:
            searcher = gen.searcher_for(self.ranking)
            parsed = parse(req.q, st.max_query_chars)
            ctx = self._context(gen)
            comp = compile_query(parsed, ctx) if not parsed.is_empty else CompiledQuery()
            ds = DocSets(searcher, gen.live, gen.postings, gen.masks)
            allowed = self._filter(gen, req, comp)
            match, scored = comp.match, comp.scored
            docs = self._matching(ds, match, comp, allowed)
            if not docs.any() and comp.relaxed is not None:
                match, scored = comp.relaxed, comp.relaxed_scored
                docs = self._matching(ds, match, comp, allowed)
            total = int(np.count_nonzero(docs))
            limit = req.page * req.per_page
            sort = req.sort if comp.has_terms else ("oldest" if req.sort == "oldest" else "newest")
            ranked: list[tuple[int, float]] = []
            if total and sort == "relevance":
                semantic = self._semantic_query(gen, comp, parsed.text)
                depth = max(limit, self.semantic.candidates) if semantic is not None else limit
                ranked = self._rank(gen, searcher, scored, docs, depth)
                if semantic is not None:
                    ranked = rerank(ranked, semantic, gen.vectors, gen.stored_fields, self.semantic)
            elif total:
                ranked = [(d, 0.0) for d in self._by_date(gen, docs, limit, sort == "newest")]
            page = ranked[(req.page - 1) * req.per_page:limit]
            hl = Highlighter(comp.highlight if req.highlight else HighlightTerms(), st.snippet_chars)
            hits = [self._hit(gen.stored_fields(d), score, hl) for d, score in page]
            facets: dict[str, list[FacetValue]] = {}
            if req.facets:
                every = (allowed is None and match is None and comp.exclude is None)
                for name in FACET_FIELDS:
                    facets[name] = gen.facets.counts(name, None if every else docs)
            suggestion = None
            if comp.has_terms:
                suggestion = did_you_mean(
                    comp, gen.vocab, total,
                    lambda text: self._count(gen, ds, ctx, text, allowed), parsed.text,
                )
        took = (time.perf_counter() - started) * 1000.0
        return SearchResult(parsed.text, total, req.page, req.per_page, round(took, 3),
                            hits, facets, suggestion)

    def _semantic_query(self, gen: _Generation, comp: CompiledQuery, text: str) -> np.ndarray | None:
        """The query's vector when semantic re-ranking applies (a wordy query, an index
        with passage vectors, the setting on), else None. Unaccented input is encoded with
        its accents restored, like the passages it is compared with; tone placement and
        Unicode form are normalized first, so variants get the same vector."""
        if not (self.settings.semantic and comp.wordy and len(gen.vectors) and not self._encoder_failed):
            return None
        if comp.restored != comp.syllables:
            text = " ".join(comp.restored)
        try:
            return self.query_vectors.get(normalize_text(text))
        except (ImportError, OSError, RuntimeError) as exc:  # no usable model: terms alone
            self._encoder_failed = True
            print(f"vnsearch: semantic re-ranking off, the query encoder failed: {exc}", file=sys.stderr)
            return None

    def _rank(self, gen: _Generation, searcher: Searcher, scored,  # noqa: ANN001 - whoosh query
              docs: Mask, limit: int) -> list[tuple[int, float]]:
        """Top `limit` of `docs` by score: term-at-a-time with numpy when the scoring query
        is made of terms only (`search.fastrank`), else Whoosh's collector."""
        terms = flat_terms(scored)
        if terms is not None:
            return gen.fast.rank(terms, docs, limit, self.ranking)
        return self._rank_whoosh(searcher, scored, docs, limit)

    @staticmethod
    def _rank_whoosh(searcher: Searcher, scored, docs: Mask,  # noqa: ANN001 - whoosh query
                     limit: int) -> list[tuple[int, float]]:
        """Whoosh's top-N collector. Its matcher replacement (the collector's `replace`
        optimisation) drops documents of later segments that belong in the top N, so it is
        off; block-quality skipping stays (measured exact, see tests)."""
        top = collectors.TopCollector(limit=limit, usequality=USE_QUALITY, replace=0)
        col = collectors.FilterCollector(top, allow=set(docnums(docs).tolist()))
        searcher.search_with_collector(scored, col)
        return [(h.docnum, h.score) for h in col.results()]

    def _count(self, gen: _Generation, ds: DocSets, ctx: QueryContext, text: str,
               allowed: Mask | None) -> int:
        comp = compile_query(parse(text, self.settings.max_query_chars), ctx)
        if comp.match is None:
            return 0
        return int(np.count_nonzero(self._matching(ds, comp.match, comp, allowed)))

    @staticmethod
    def _hit(stored: dict, score: float, hl: Highlighter) -> Hit:
        title = stored.get("title", "") or ""
        snippet = hl.best_snippet([stored.get("summary", "") or "", stored.get("body", "") or ""])
        return Hit(
            id=stored.get("id", ""),
            title=title,
            title_html=hl.mark_all(title) if hl.active else html.escape(title, quote=True),
            snippet=snippet.html,
            url=stored.get("url", "") or "",
            date=_iso(stored.get("date")),
            category=_categories(stored.get("category")),
            author=stored.get("author", "") or "",
            score=float(score),
        )

    # --- autocomplete -------------------------------------------------------------------

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        """Completions of a typed prefix from title vocabulary; diacritics optional."""
        if not isinstance(prefix, str) or not prefix.strip():
            return []
        limit = max(1, min(int(limit), 50))
        prefix = prefix[: self.settings.max_query_chars]
        with self._use() as gen:
            return autocomplete(gen.vocab, prefix, limit)
