"""The analysis pipeline: original text -> index terms with positions and original offsets.

One pipeline for documents and queries, as named steps:
    normalize  (indexer.normalize)  NFC, tone placement, entities, quotes; keeps offsets
    tokens     (indexer.tokens)     syllables, punctuation, protected codes
    segment    (indexer.segment)    pyvi CRF words
    terms      (here)               four term streams, kept apart so they score apart:
        syllables      lowercase syllables and code parts (recall, phrases)
        words          multi-syllable words "học_tập", whole codes "03-ct/tw" (precision)
        folded         syllables without diacritics (queries typed without accents)
        bigrams        adjacent syllable pairs "học tập" (proximity; +4.8 nDCG@10 on ALQAC)
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from indexer.normalize import Normalized, fold, normalize
from indexer.segment import Word, get_segmenter
from indexer.tokens import Kind, RawToken, code_parts, split_tokens

__all__ = ["Token", "Analysis", "IndexTerms", "analyze", "analyze_normalized", "index_terms",
           "syllable_terms", "term_forms", "word_term", "joined_terms"]


@dataclass(slots=True)
class Token:
    """One index term occurrence: `start`/`end` are offsets into the original text."""

    text: str
    pos: int
    start: int
    end: int


@dataclass(slots=True)
class Analysis:
    syllables: list[Token] = field(default_factory=list)
    words: list[Token] = field(default_factory=list)
    folded: list[Token] = field(default_factory=list)
    bigrams: list[Token] = field(default_factory=list)


_THOUSANDS = re.compile(r"\d{1,3}(?:\.\d{3})+")


_FORMS: dict[str, tuple[str, str]] = {}  # explicit cache: syllable -> (lower, folded)


def _forms(syllable: str) -> tuple[str, str]:
    low = syllable.lower()
    forms = (low, fold(low))
    if len(_FORMS) < 200_000:
        _FORMS[syllable] = forms
    return forms


def term_forms(text: str) -> tuple[str, str]:
    """(lowercase, folded) term of a syllable or code, as every stream indexes it."""
    return _FORMS.get(text) or _forms(text)


def word_term(word: Word) -> str:
    """The words-stream term of a word: syllables joined by '_', or the whole code."""
    if word.kind is Kind.SYLLABLE:
        return "_".join(p.text for p in word.parts).lower()
    return word.text.lower()


def analyze_normalized(norm: Normalized, *, words: list[Word] | None = None) -> Analysis:
    """Term streams of already-normalized text (`words` from the segmenter, or computed)."""
    text = norm.text
    if words is None:
        words = get_segmenter().words(text)
    out = Analysis()
    starts, ends = norm.starts, norm.ends
    identity = starts is None or ends is None
    syllable = Kind.SYLLABLE
    # words stream: multi-syllable words and whole codes, at the word's position
    append = out.words.append
    for word_pos, word in enumerate(words):
        if word.kind is not syllable or len(word.parts) > 1:
            ws, we = (word.start, word.end) if identity else (starts[word.start], ends[word.end - 1])
            append(Token(word_term(word), word_pos, ws, we))
            if word.kind is Kind.NUMBER and _THOUSANDS.fullmatch(word.text):
                append(Token(word.text.replace(".", ""), word_pos, ws, we))
    # syllable and folded streams: every syllable and code part, numbered in order
    parts = [p for w in words for p in w.parts]
    get = _FORMS.get
    forms = [get(p.text) or _forms(p.text) for p in parts]
    if identity:
        syllables = [Token(f[0], i, p.start, p.end) for i, (f, p) in enumerate(zip(forms, parts))]
    else:  # parts are never empty
        syllables = [Token(f[0], i, starts[p.start], ends[p.end - 1])
                     for i, (f, p) in enumerate(zip(forms, parts))]
    out.syllables = syllables
    out.folded = [Token(f[1], t.pos, t.start, t.end) for f, t in zip(forms, syllables)]
    out.bigrams = bigram_tokens(syllables)
    return out


@dataclass(slots=True)
class IndexTerms:
    """The four streams' term texts, as indexing needs them: a syllable's or folded
    syllable's position is its index in the list; words and bigrams are indexed without
    positions. Same terms as `analyze` gives, without a Token object per occurrence."""

    syllables: list[str]
    words: list[str]
    folded: list[str]
    bigrams: list[str]


def index_terms(text: str) -> IndexTerms:
    """`analyze(text)`'s term texts (see IndexTerms), for the indexer's hot path."""
    segmented = get_segmenter().index_words(normalize(text).text)
    number = Kind.NUMBER
    word_terms: list[str] = []
    append = word_terms.append
    for kind, word in segmented.words:  # as word_term: "_"-joined syllables, or the code
        append(word.lower())
        if kind is number and _THOUSANDS.fullmatch(word):
            append(word.replace(".", ""))
    get = _FORMS.get
    forms = [get(p) or _forms(p) for p in segmented.parts]
    syllables = [f[0] for f in forms]
    return IndexTerms(syllables, word_terms, [f[1] for f in forms],
                      bigram_terms(syllables))


def joined_terms(parts: list[IndexTerms]) -> IndexTerms:
    """`index_terms` of the parts' texts joined by line breaks, from each part's own terms.
    Analysis is line-local: normalization maps characters within a line, and tokens and
    words never span a line break (`segment._line_runs`), so the joined text's syllables,
    words and folded syllables are the parts' in order, and its bigrams are the pairs of
    the joined syllables (one more across each break). The indexer analyses an article's
    title once for the title fields and the body fields (which index the whole article);
    tests/indexer/test_analysis.py checks the equality on generated texts and on news."""
    if len(parts) == 1:
        return parts[0]
    syllables = [t for p in parts for t in p.syllables]
    return IndexTerms(syllables, [t for p in parts for t in p.words],
                      [t for p in parts for t in p.folded],
                      bigram_terms(syllables))


def bigram_terms(syllables: list[str]) -> list[str]:
    """The bigrams stream's terms: adjacent syllable pairs (`bigram_tokens` without
    positions and offsets)."""
    return [a + " " + b for a, b in zip(syllables, syllables[1:])]


def bigram_tokens(syllables: list[Token]) -> list[Token]:
    """Adjacent syllable pairs, positioned at their first syllable."""
    return [Token(a.text + " " + b.text, a.pos, a.start, b.end)
            for a, b in zip(syllables, syllables[1:])]


def analyze(text: str) -> Analysis:
    """Run the whole pipeline on original text."""
    return analyze_normalized(normalize(text))


def syllable_terms(text: str) -> list[tuple[str, str, int, int]]:
    """(term, folded term, original start, end) for each syllable and whole code, without
    the CRF: cheap enough to run on stored documents at query time for highlighting."""
    norm = normalize(text)
    starts, ends = norm.starts, norm.ends
    identity = starts is None or ends is None
    get = _FORMS.get
    syllable, punct = Kind.SYLLABLE, Kind.PUNCT
    out: list[tuple[str, str, int, int]] = []
    append = out.append
    for tok in split_tokens(norm.text):
        kind = tok.kind
        if kind is punct:
            continue
        parts: list[RawToken] = [tok] if kind is syllable else [tok, *code_parts(tok)]
        for part in parts:  # never empty
            low, folded = get(part.text) or _forms(part.text)
            if identity:
                append((low, folded, part.start, part.end))
            else:
                append((low, folded, starts[part.start], ends[part.end - 1]))
    return out
