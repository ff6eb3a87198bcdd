"""Structured query (`search.syntax`) -> Whoosh queries.

Every free-text run goes through the same analysis pipeline as the documents (words of
two or more syllables, protected codes, accent folding).

Compilation makes three Whoosh queries:
    match   what a document must contain (no boosters) -> the exact result set
    scored  match plus optional boosters (words, phrases, proximity) -> the ranking
    exclude documents to remove
Each free-text syllable matches its exact form, its accent-folded form (lower weight) and,
for accent-free input, the accented form restored from the index vocabulary (a bit below
typed accents). Synonym groups add their other forms as phrase alternatives.
"""
from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from whoosh import query as wq

from indexer.analysis import Analysis, analyze, analyze_normalized
from indexer.normalize import fold, normalize, normalize_text
from indexer.segment import Word, get_segmenter
from indexer.schema import TEXT_FIELDS
from indexer.synonyms import SynonymTable
from indexer.tokens import Kind
from search.ranking import RankingParams
from search.syntax import FIELD_PREFIXES, Atom, ParsedQuery
from search.vocab import Vocabulary, is_plain

__all__ = [
    "load_stopwords", "QueryContext", "CompiledQuery", "HighlightTerms", "compile_query",
    "STOPWORDS_FILE",
]

STOPWORDS_FILE = Path(__file__).resolve().parent.parent / "config" / "stopwords.txt"


# --- stopwords --------------------------------------------------------------------------------

@functools.lru_cache(maxsize=4)
def load_stopwords(path: Path = STOPWORDS_FILE) -> frozenset[str]:
    """Function words (normalized, lowercase); missing file -> none."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return frozenset()
    out = set()
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            out.add(normalize_text(line).lower())
    return frozenset(out)


# --- compilation ------------------------------------------------------------------------------

@dataclass
class HighlightTerms:
    """What the highlighter marks: exact and folded syllables, whole codes, phrases."""

    exact: set[str] = field(default_factory=set)
    folded: set[str] = field(default_factory=set)
    phrases: list[tuple[str, ...]] = field(default_factory=list)
    stop: set[str] = field(default_factory=set)  # marked only inside phrases


@dataclass
class QueryContext:
    ranking: RankingParams = field(default_factory=RankingParams)
    vocab: Vocabulary | None = None
    synonyms: SynonymTable | None = None
    stopwords: frozenset[str] = frozenset()
    max_terms: int = 32
    resolve_category: Callable[[str], list[str]] | None = None
    bigrams: bool = True  # the index has the adjacent-pair stream (<field>_b)
    fields: tuple[str, ...] = TEXT_FIELDS  # text fields that have content in the index


@dataclass
class CompiledQuery:
    match: wq.Query | None = None  # None: every document (browse, or only exclusions)
    scored: wq.Query | None = None
    relaxed: wq.Query | None = None  # OR of the free-text terms, for a zero-hit retry
    relaxed_scored: wq.Query | None = None
    exclude: wq.Query | None = None
    categories: tuple[str, ...] = ()  # from category: in the query (any of them)
    excluded_categories: tuple[str, ...] = ()
    highlight: HighlightTerms = field(default_factory=HighlightTerms)
    syllables: list[str] = field(default_factory=list)  # typed free-text syllables
    restored: list[str] = field(default_factory=list)  # same, with accents restored
    has_terms: bool = False  # some positive term survived analysis
    unmatched_category: bool = False  # category: named a value absent from the index
    wordy: bool = False  # free text that asks or describes (a question, or more content
    #                      terms than and_max_terms): what semantic re-ranking is for


@dataclass
class _Unit:
    text: str  # lowercase syllable or whole code
    parts: tuple[str, ...]  # exact-field syllables (the code's parts for codes)
    code: bool
    stop: bool
    restored: str | None = None


@dataclass
class _Slot:
    match: wq.Query
    stop: bool


def _or(qs: Sequence[wq.Query]) -> wq.Query:
    qs = [q for q in qs if q is not None]
    if not qs:
        return wq.NullQuery
    return qs[0] if len(qs) == 1 else wq.Or(list(qs))


def _and(qs: Sequence[wq.Query]) -> wq.Query:
    qs = [q for q in qs if q is not None]
    if not qs:
        return wq.NullQuery
    return qs[0] if len(qs) == 1 else wq.And(list(qs))


def _seq(fieldname: str, words: Sequence[str], boost: float, slop: int = 1) -> wq.Query:
    if len(words) == 1:
        return wq.Term(fieldname, words[0], boost=boost)
    return wq.Phrase(fieldname, list(words), slop=slop, boost=boost)


class _Compiler:
    def __init__(self, ctx: QueryContext) -> None:
        self.ctx = ctx
        self.p = ctx.ranking
        self.budget = max(1, ctx.max_terms)
        self.hl = HighlightTerms()
        self.syllables: list[str] = []
        self.restored: list[str] = []

    def _fields(self, prefix: str | None) -> tuple[str, ...]:
        wanted = FIELD_PREFIXES.get(prefix or "", ()) or TEXT_FIELDS
        return tuple(f for f in wanted if f in self.ctx.fields)

    # units ------------------------------------------------------------------------------

    def _units(self, words: list[Word]) -> list[_Unit]:
        units: list[_Unit] = []
        for word in words:
            if self.budget <= 0:
                break
            if word.kind is Kind.SYLLABLE:
                for part in word.parts:
                    if self.budget <= 0:
                        break
                    low = part.text.lower()
                    units.append(_Unit(low, (low,), False, low in self.ctx.stopwords))
                    self.budget -= 1
            else:
                parts = tuple(p.text.lower() for p in word.parts)
                if parts:
                    units.append(_Unit(word.text.lower(), parts, True, False))
                    self.budget -= 1
        return units

    def _restore(self, units: list[_Unit]) -> None:
        vocab = self.ctx.vocab
        if vocab is None or not any(not u.code and is_plain(u.text) for u in units):
            return
        restored = vocab.restore([u.text for u in units], function_words=self.ctx.stopwords)
        for u, r in zip(units, restored):
            if r != u.text:
                u.restored = r
                u.stop = r in self.ctx.stopwords  # "gi" typed for "gì"

    # queries per unit --------------------------------------------------------------------

    def _unit_query(self, u: _Unit, fields: Sequence[str], factor: float = 1.0) -> wq.Query:
        p = self.p
        if u.stop:
            factor *= p.stopword
        alts: list[wq.Query] = []
        for f in fields:
            w = p.field_weight(f) * factor
            if u.code:
                alts.append(wq.Term(f + "_w", u.text, boost=w * p.word))
                alts.append(_seq(f, u.parts, w * p.syllable))
                if any(x.isalpha() for x in u.parts):  # digits fold to themselves: no gain
                    alts.append(_seq(f + "_f", [fold(x) for x in u.parts], w * p.folded))
            else:
                alts.append(wq.Term(f, u.text, boost=w * p.syllable))
                alts.append(wq.Term(f + "_f", fold(u.text), boost=w * p.folded))
                if u.restored:
                    alts.append(wq.Term(f, u.restored, boost=w * p.syllable * p.restored))
        if u.code:
            if "/" in u.text or "-" in u.text:
                alts.append(wq.Term("doc_number_key", u.text, boost=p.doc_number * factor))
            if u.text.replace(".", "").isdigit():  # 1.639 is also indexed as 1639
                for f in fields:
                    alts.append(wq.Term(f + "_w", u.text.replace(".", ""),
                                        boost=p.field_weight(f) * factor * p.word))
        return _or(alts)

    def _text_alternative(self, text: str, fields: Sequence[str], factor: float) -> wq.Query:
        """A synonym form as a phrase (exact syllables) or a whole-code/word term."""
        a = analyze(text)
        syl = [t.text for t in a.syllables]
        if not syl:
            return wq.NullQuery
        alts: list[wq.Query] = []
        p = self.p
        for f in fields:
            w = p.field_weight(f) * factor
            alts.append(_seq(f, syl, w * p.syllable))
            for t in a.words:
                alts.append(wq.Term(f + "_w", t.text, boost=w * p.word))
        self.hl.phrases.append(tuple(syl))
        self.hl.exact.update(syl)
        return _or(alts)

    # clauses -----------------------------------------------------------------------------

    def free_text(self, text: str, fields: Sequence[str]) -> tuple[list[_Slot], list[wq.Query]]:
        """Slots (what must match, one per unit or synonym span) and optional boosters."""
        norm = normalize(text)
        words = get_segmenter().words(norm.text)
        analysis = analyze_normalized(norm, words=words)
        units = self._units(words)
        if not units:
            return [], []
        self._restore(units)
        p = self.p
        slots: list[_Slot] = []
        expansions = self.ctx.synonyms.expansions([u.text for u in units]) if self.ctx.synonyms else []
        by_start = {e.start: e for e in expansions}
        i = 0
        while i < len(units):
            e = by_start.get(i)
            if e is not None:
                span = units[e.start:e.end]
                orig = _and([self._unit_query(u, fields) for u in span])
                alts = [self._text_alternative(" ".join(form), fields, p.synonym)
                        for form in e.alternatives]
                slots.append(_Slot(_or([orig, *alts]), all(u.stop for u in span)))
                i = e.end
            else:
                u = units[i]
                slots.append(_Slot(self._unit_query(u, fields), u.stop))
                i += 1
        # highlight terms and did-you-mean material
        for u in units:
            target = self.hl.stop if u.stop else self.hl.exact
            target.update(u.parts if u.code else (u.text,))
            if u.code:
                target.add(u.text)
            if not u.stop:
                self.hl.folded.update(fold(x) for x in u.parts)
            if u.restored:
                (self.hl.stop if u.stop else self.hl.exact).add(u.restored)
            self.syllables.append(u.text)
            self.restored.append(u.restored or u.text)
        if len(units) > 1:
            self.hl.phrases.append(tuple(x for u in units for x in u.parts))
        boosters = self._boosters(units, analysis, fields)
        return slots, boosters

    def _boosters(self, units: list[_Unit], analysis: Analysis, fields: Sequence[str]) -> list[wq.Query]:
        p = self.p
        out: list[wq.Query] = []
        words = {t.text for t in analysis.words if "_" in t.text}
        for f in fields:
            w = p.field_weight(f)
            for word in sorted(words):
                out.append(wq.Term(f + "_w", word, boost=w * p.word))
        # restored words: consecutive restored syllables that the index knows as a word
        vocab = self.ctx.vocab
        for a, b in zip(units, units[1:]):
            if a.code or b.code or not (a.restored or b.restored):
                continue
            word = f"{a.restored or a.text}_{b.restored or b.text}"
            if word not in words and vocab is not None and vocab.word_df(word) > 0:
                for f in fields:
                    out.append(wq.Term(f + "_w", word, boost=p.field_weight(f) * p.word * p.restored))
        # consecutive syllables as phrases (a term of the bigram stream when the index has
        # one: no positions to read); the whole run close together
        if p.phrase > 0 or p.title_phrase > 0:
            for a, b in zip(units, units[1:]):
                if a.code or b.code or (a.stop and b.stop):
                    continue
                pairs = [((a.text, b.text), 1.0)]
                if a.restored or b.restored:
                    pairs.append(((a.restored or a.text, b.restored or b.text), p.restored))
                for f in fields:
                    w = p.field_weight(f) * p.phrase_weight(f)
                    if w <= 0:
                        continue
                    for pair, factor in pairs:
                        if self.ctx.bigrams:
                            out.append(wq.Term(f + "_b", " ".join(pair), boost=w * factor))
                        else:
                            out.append(wq.Phrase(f, list(pair), boost=w * factor))
        flat = [x for u in units for x in u.parts]
        if p.proximity > 0 and 3 <= len(flat) <= 8:
            restored_flat = [x for u in units for x in ((u.restored,) if u.restored else u.parts)]
            for f in fields:
                w = p.field_weight(f) * p.proximity
                out.append(wq.Phrase(f, flat, slop=p.proximity_slop, boost=w))
                if restored_flat != flat:
                    out.append(wq.Phrase(f, restored_flat, slop=p.proximity_slop, boost=w * p.restored))
        return out

    def phrase(self, text: str, fields: Sequence[str]) -> tuple[wq.Query | None, list[wq.Query]]:
        """A quoted phrase: exact syllables in order (accent-free phrases match folded)."""
        a = analyze(text)
        syl = [t.text for t in a.syllables][: max(self.budget, 1)]
        if not syl:
            return None, []
        self.budget -= len(syl)
        folded = [fold(s) for s in syl]
        plain = all(not s.isalpha() or is_plain(s) for s in syl)
        p = self.p
        alts: list[wq.Query] = []
        boosters: list[wq.Query] = []
        restored = syl
        if plain and self.ctx.vocab is not None:
            restored = self.ctx.vocab.restore(syl)
        for f in fields:
            w = p.field_weight(f)
            alts.append(_seq(f, syl, w * p.syllable * (1 + p.phrase)))
            if plain and any(x.isalpha() for x in syl):  # all digits: the folded stream adds nothing
                alts.append(_seq(f + "_f", folded, w * p.folded * (1 + p.phrase)))
                if restored != syl:
                    boosters.append(_seq(f, restored, w * p.syllable * p.restored * (1 + p.phrase)))
        self.hl.phrases.append(tuple(syl))
        self.hl.exact.update(syl)
        if plain:
            self.hl.folded.update(folded)
            self.hl.exact.update(restored)
        self.syllables.extend(syl)
        self.restored.extend(restored)
        return _or(alts), boosters

    def exclusion(self, atom: Atom) -> wq.Query | None:
        """Documents to drop: accented input excludes exactly, accent-free input folded."""
        fields = self._fields(atom.field)
        a = analyze(atom.text)
        syl = [t.text for t in a.syllables]
        if not syl:
            return None
        plain = all(not s.isalpha() or is_plain(s) for s in syl)
        terms = [fold(s) for s in syl] if plain else syl
        suffix = "_f" if plain else ""
        return _or([_seq(f + suffix, terms, 1.0) for f in fields])


def _without_phrases(q: wq.Query) -> wq.Query:
    """The scoring form of a query: positional phrases become bigram-stream terms.

    Phrase matchers read positions and cannot skip blocks by score, which makes Whoosh
    score every candidate; ANDed adjacent-pair terms (<field>_b) carry the same evidence
    cheaply. Folded phrases (no bigram stream) become ANDed folded terms; sloppy
    proximity phrases are dropped (the bigram boosters replace them). The match query
    keeps the exact phrases, so the result set is unchanged."""
    if isinstance(q, wq.Phrase):
        if q.slop > 1:
            return wq.NullQuery
        words = list(q.words)
        if q.fieldname.endswith("_f"):
            terms = [wq.Term(q.fieldname, w, boost=q.boost) for w in dict.fromkeys(words)]
        else:
            pairs = dict.fromkeys(f"{a} {b}" for a, b in zip(words, words[1:]))
            terms = [wq.Term(q.fieldname + "_b", pair, boost=q.boost) for pair in pairs]
        return _and(terms)  # whoosh ignores a compound query's own boost
    if isinstance(q, wq.BinaryQuery):
        a, b = _without_phrases(q.a), _without_phrases(q.b)
        if b is wq.NullQuery and isinstance(q, wq.AndMaybe):
            return a
        out = copy.copy(q)
        out.a, out.b = a, b
        return out
    if isinstance(q, wq.CompoundQuery):
        subs = [_without_phrases(c) for c in q.subqueries]
        subs = [c for c in subs if c is not wq.NullQuery]
        if not subs:
            return wq.NullQuery
        out = copy.copy(q)
        out.subqueries = subs
        return out
    return q


QUESTION_WORDS = frozenset({"gì", "nào", "đâu", "sao", "bao", "nhiêu", "ai", "mấy"})


def _is_question(text: str, syllables: Sequence[str]) -> bool:
    """A question (ends in "?" or asks with gì/nào/đâu/sao/bao nhiêu/ai/mấy)."""
    return text.rstrip().endswith("?") or any(s in QUESTION_WORDS for s in syllables)


def compile_query(parsed: ParsedQuery, ctx: QueryContext) -> CompiledQuery:
    """Whoosh queries for a parsed query (see the module docstring)."""
    comp = _Compiler(ctx)
    p = ctx.ranking
    hard_match: list[wq.Query] = []  # phrases, fielded terms, OR groups: always required
    hard_scored: list[wq.Query] = []
    slots: list[_Slot] = []  # free-text units: all required for short queries
    boosters: list[wq.Query] = []
    for clause in parsed.clauses:
        alt_match: list[wq.Query] = []
        alt_scored: list[wq.Query] = []
        for atom in clause.alternatives:
            fields = comp._fields(atom.field)
            if atom.phrase:
                m, extra = comp.phrase(atom.text, fields)
                if m is None:
                    continue
                alt_match.append(m)
                alt_scored.append(_or([m, *extra]) if extra else m)
            else:
                s, b = comp.free_text(atom.text, fields)
                if not s:
                    continue
                if len(clause.alternatives) == 1 and atom.field is None:
                    slots.extend(s)
                    boosters.extend(b)
                    continue
                m = _and([x.match for x in s])
                alt_match.append(m)
                alt_scored.append(wq.AndMaybe(m, _or(b)) if b else m)
        if alt_match:
            hard_match.append(_or(alt_match))
            hard_scored.append(_or(alt_scored))
    out = CompiledQuery(highlight=comp.hl, syllables=comp.syllables, restored=comp.restored)
    # categories named in the query, resolved against the index's values
    for names, target in ((parsed.categories, "categories"), (parsed.excluded_categories, "excluded_categories")):
        values: list[str] = []
        for name in names:
            found = ctx.resolve_category(name) if ctx.resolve_category else [name]
            if not found and target == "categories":
                out.unmatched_category = True
            values.extend(found)
        setattr(out, target, tuple(dict.fromkeys(values)))
    excl = [q for q in (comp.exclusion(a) for a in parsed.excluded) if q is not None]
    out.exclude = _or(excl) if excl else None
    content = [s for s in slots if not s.stop] or slots
    optional = [s.match for s in slots if s.stop and content is not slots]
    soft: wq.Query | None = None
    relaxed_soft: wq.Query | None = None
    question = not p.and_questions and _is_question(parsed.text, comp.restored)
    out.wordy = bool(slots) and (question or len(content) > p.and_max_terms)
    if slots:
        if len(content) <= p.and_max_terms and not question:
            soft = _and([s.match for s in content])
            if len(content) > 1:
                relaxed_soft = _or([s.match for s in content])
        else:
            soft = _or([s.match for s in content])
            if p.min_match > 0:
                soft = wq.Or([s.match for s in content], minmatch=max(1, round(p.min_match * len(content))))
    match_parts = hard_match + ([soft] if soft is not None else [])
    if not match_parts:
        return out
    out.has_terms = True
    out.match = _and(match_parts)
    # the scoring forms, strict and relaxed alike: positional phrases become bigram terms
    scoring = _without_phrases if ctx.bigrams else (lambda q: q)
    hard_scored = [scoring(q) for q in hard_scored]
    extra = [q for q in map(scoring, optional + boosters) if q is not wq.NullQuery]

    def ranked(soft_match: wq.Query | None) -> wq.Query:
        scored = _and(hard_scored + ([scoring(soft_match)] if soft_match is not None else []))
        return wq.AndMaybe(scored, _or(extra)) if extra else scored

    out.scored = ranked(soft)
    if relaxed_soft is not None:
        out.relaxed = _and(hard_match + [relaxed_soft])
        out.relaxed_scored = ranked(relaxed_soft)
    return out
