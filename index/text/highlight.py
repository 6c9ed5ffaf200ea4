"""Snippets: up to three fragments around the best matches, ``<mark>`` around each match, the
passage's own HTML escaped, ``…`` where text is cut.

Phrase-aware: the words of ``"public health"`` are marked where they occur as the phrase, not
wherever one of them stands alone; words of a negated clause
(``NOT x``, ``-x``) are never marked. Matching uses the index's analyzer, so ``vaccines`` marks
``vaccine`` and ``COVID-19`` marks ``COVID-19``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from itertools import compress

from whoosh import query

from .memo_analyzer import MemoAnalyzer
from .term_finder import TermFinder

ELLIPSIS = "…"
TEXT_FIELDS = ("content", "title", "section")
MAX_EXPANSIONS = 100


@dataclass(frozen=True)
class MatchPlan:
    """What to mark: single terms, and phrases as (words, slop)."""
    terms: frozenset = frozenset()
    phrases: tuple = ()

    def __bool__(self):
        return bool(self.terms or self.phrases)


def match_plan(q, reader=None) -> MatchPlan:
    """The positive terms and phrases of a query (prefix, wildcard and fuzzy terms expanded)."""
    terms, phrases = set(), []
    _walk(q, reader, terms, phrases)
    return MatchPlan(frozenset(terms), tuple(dict.fromkeys(phrases)))


def _walk(q, reader, terms: set, phrases: list) -> None:
    if isinstance(q, query.Not):
        return
    if isinstance(q, query.AndNot):
        _walk(q.a, reader, terms, phrases)
        return
    if isinstance(q, query.Phrase):
        if q.fieldname in TEXT_FIELDS and q.words:
            phrases.append((tuple(q.words), max(1, q.slop)))
        return
    if isinstance(q, query.Term):
        if q.fieldname in TEXT_FIELDS:
            terms.add(q.text)
        return
    if isinstance(q, (query.Prefix, query.Wildcard, query.FuzzyTerm, query.Regex)):
        if q.fieldname in TEXT_FIELDS and reader is not None:
            for n, btext in enumerate(q._btexts(reader)):
                if n >= MAX_EXPANSIONS:
                    break
                terms.add(btext.decode("utf-8") if isinstance(btext, bytes) else btext)
        return
    if not q.is_leaf():
        for child in q.children():
            _walk(child, reader, terms, phrases)


@dataclass
class _Token:
    text: str
    pos: int
    start: int
    end: int


@dataclass
class _Window:
    start: int
    end: int
    spans: list = field(default_factory=list)


class Highlighter:
    """Built once; ``snippet()`` per hit."""

    def __init__(self, analyzer, max_fragments: int = 3, fragment_chars: int = 200, surround: int = 60):
        self.analyzer = analyzer
        self.finder = TermFinder(analyzer) if isinstance(analyzer, MemoAnalyzer) else None
        self.max_fragments = max_fragments
        self.fragment_chars = fragment_chars
        self.surround = surround
        self.lead_chars = fragment_chars + surround

    def snippet(self, text: str, plan: MatchPlan) -> str:
        spans = self.spans(text, plan) if plan else []
        if not spans:
            return self.lead(text)
        windows = self._windows(text, spans)
        parts = []
        for i, w in enumerate(windows):
            if i == 0 and w.start > 0:
                parts.append(ELLIPSIS)
            elif i > 0:
                parts.append(f" {ELLIPSIS} ")
            parts.append(_marked(text, w))
        if windows[-1].end < len(text):
            parts.append(ELLIPSIS)
        return "".join(parts)

    def spans(self, text: str, plan: MatchPlan) -> list[tuple[int, int, str]]:
        """(start, end, key) of every match, merged where they touch; key names what matched."""
        found = self.finder.find(text, plan.terms) if self.finder and not plan.phrases else None
        if found is None and not plan.phrases:
            found = self._term_spans(text, plan.terms)
        if found is None:
            tokens = self._tokens(text)
            found = [(t.start, t.end, t.text) for t in tokens if t.text in plan.terms]
            for words, slop in plan.phrases:
                found.extend(_phrase_spans(tokens, words, slop))
        found.sort()
        merged: list[list] = []
        for start, end, key in found:
            if merged and start < merged[-1][1]:   # overlapping matches: one mark
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end, key])
        return [tuple(m) for m in merged]

    def _term_spans(self, text: str, terms: frozenset) -> list[tuple[int, int, str]] | None:
        """(start, end, term) of the words whose term is in ``terms``, from the memoizing analyzer's
        lists, chosen in C (no Token per word: what the term finder cannot do, non-ASCII text)."""
        fast = getattr(self.analyzer, "terms_and_spans", None)
        words_spans = fast(text) if fast else None
        if words_spans is None:
            return None
        words, starts, ends = words_spans
        return list(compress(zip(starts, ends, words), map(terms.__contains__, words)))

    def _tokens(self, text: str) -> list[_Token]:
        fast = getattr(self.analyzer, "terms_and_spans", None)
        words_spans = fast(text) if fast else None
        if words_spans is not None:   # a memoizing analyzer: no Token object per word
            terms, starts, ends = words_spans
            return [_Token(t, i, starts[i], ends[i]) for i, t in enumerate(terms) if t is not None]
        return [_Token(t.text, t.pos, t.startchar, t.endchar)
                for t in self.analyzer(text, positions=True, chars=True, mode="index")]

    def _windows(self, text: str, spans) -> list[_Window]:
        """Group matches into fragments, keep the best few (most distinct matches), in text order."""
        clusters: list[_Window] = []
        for span in spans:
            if clusters and span[1] - clusters[-1].start <= self.fragment_chars:
                clusters[-1].end = span[1]
                clusters[-1].spans.append(span)
            else:
                clusters.append(_Window(span[0], span[1], [span]))
        ranked = sorted(clusters, key=lambda c: (-len({s[2] for s in c.spans}), -len(c.spans), c.start))
        chosen = sorted(ranked[: self.max_fragments], key=lambda c: c.start)
        windows: list[_Window] = []
        for c in chosen:
            room = max(self.surround // 2, (self.fragment_chars - (c.end - c.start)) // 2)
            start = _word_start(text, c.start - room, c.start)
            end = _word_end(text, c.end + room, c.end)
            if windows and start <= windows[-1].end:
                windows[-1].end = max(windows[-1].end, end)
                windows[-1].spans.extend(c.spans)
            else:
                windows.append(_Window(start, end, list(c.spans)))
        return windows

    def lead(self, text: str) -> str:
        """The start of the passage when nothing in it matched (a tag or title match)."""
        if len(text) <= self.lead_chars:
            return escape(text)
        cut = text.rfind(" ", 0, self.lead_chars)
        return escape(text[: cut if cut > 0 else self.lead_chars]) + ELLIPSIS


def _phrase_spans(tokens: list[_Token], words: tuple, slop: int):
    """Where the words occur in order, each within ``slop`` positions of the previous one."""
    first, rest = words[0], words[1:]
    for i, tok in enumerate(tokens):
        if tok.text != first:
            continue
        matched, j = [tok], i
        for word in rest:
            j += 1
            while j < len(tokens) and tokens[j].text != word and tokens[j].pos - matched[-1].pos < slop:
                j += 1
            if j >= len(tokens) or tokens[j].text != word or tokens[j].pos - matched[-1].pos > slop:
                break
            matched.append(tokens[j])
        else:
            for t in matched:   # each word of the occurrence marked, as every matched term is
                yield (t.start, t.end, " ".join(words))


def _word_start(text: str, i: int, limit: int) -> int:
    """The start of the first whole word at or after ``i`` (not past ``limit``)."""
    if i <= 0:
        return 0
    cut = text.find(" ", i, limit)
    return cut + 1 if cut >= 0 else text.rfind(" ", 0, i) + 1


def _word_end(text: str, i: int, limit: int) -> int:
    """The end of the last whole word before ``i`` (not before ``limit``)."""
    if i >= len(text) or not text[i:].strip(" .!?;:,)]\"'’”"):
        return len(text)   # the end, or only closing punctuation left: keep it
    cut = text.rfind(" ", limit, i)
    if cut >= 0:
        return cut
    cut = text.find(" ", i)
    return cut if cut >= 0 else len(text)


def _marked(text: str, window: _Window) -> str:
    out, index = [], window.start
    for start, end, _ in sorted(set(window.spans)):
        if start < index or end > window.end:
            continue
        out.append(escape(text[index:start]))
        out.append(f"<mark>{escape(text[start:end])}</mark>")
        index = end
    out.append(escape(text[index:window.end]))
    return "".join(out).strip()
