"""From a query string to a Whoosh query, in one of three syntax modes.

* ``query``: Whoosh's parser, made safe. The syntax is checked first, so that what the parser would
  silently misread is a ``QueryError`` whose message says what is wrong and where.
* ``words``: the string is natural language (a question, a claim, a pasted sentence): its words are
  ORed, nothing in it is an operator, nothing is rejected but what is over a limit.
* ``auto`` (the default): ``query`` when the string is valid query syntax, else ``words``, with a
  notice saying why. People paste text with stray quotes and brackets; they should get results.

In both modes free-text words are ORed with a coordination bonus, English stop words are dropped
(but kept inside phrases), and a word repeated in the query weighs more (Whoosh's parser folds
repeats away, so repeats become boosts). ``+`` and ``-`` are operators only before a word, a quote
or a bracket: ``+1``, ``-19`` and a lone ``-`` are text.
"""
from __future__ import annotations

import math
import re
from collections import OrderedDict
from dataclasses import dataclass

from whoosh import qparser, query

from .base import QueryError
from .coordination import with_coord
from .query_text import OPERATORS, QUERY_TOKEN, punctuation_as_text
from .text.analysis import WORD_PATTERN, is_stop_word

SYNTAX_MODES = ("auto", "query", "words")
_PLAIN_WORDS = re.compile(r"[A-Za-z]+(?: [A-Za-z]+)*")
_LETTERS = re.compile(r"[A-Za-z]+")
FIELD_ALIASES = {"tag": "tags", "tags": "tags", "title": "title", "section": "section",
                 "document": "document_id", "document_id": "document_id"}
MAX_BRACKET_DEPTH = 50     # deeper, and the parser and the query tree recurse past Python's limit
_SIGN = r"(?<![^\s(]){}(?=[^\W\d]|[\"(])"   # a sign is an operator only before a word, quote or bracket
_WORD = re.compile(WORD_PATTERN)


class QueryLimits:
    """What one query may cost: characters, terms, words a prefix/wildcard/fuzzy term may expand
    to, wildcards per word, and seconds of search (``time_limit``; None or 0: no limit)."""

    def __init__(self, max_length: int = 1000, max_terms: int = 200, max_expansions: int = 500,
                 max_wildcards: int = 3, time_limit: float | None = None, max_fuzzy_distance: int = 2,
                 fuzzy_prefix: int = 1, max_text_length: int = 50_000, long_query_terms: int = 64):
        self.max_text_length = max_text_length   # words syntax (and auto read as words): a pasted text
        self.long_query_terms = long_query_terms  # a longer text is searched by its N most telling words
        self.max_fuzzy_distance = max_fuzzy_distance   # word~3 walks much of the lexicon
        self.fuzzy_prefix = fuzzy_prefix               # first letters a fuzzy word keeps: 10x faster
        self.max_length = max_length
        self.max_terms = max_terms
        self.max_expansions = max_expansions
        self.max_wildcards = max_wildcards
        self.time_limit = time_limit


class QuerySyntaxError(QueryError):
    """The string is not valid query syntax (``auto`` mode then reads it as words)."""


@dataclass
class ParsedQuery:
    query: query.Query
    syntax: str                 # how the string was read: "query" or "words"
    notice: str | None = None   # why auto mode read it as words


def check_text_limits(q: str, limits: QueryLimits) -> None:
    """Limits that hold in every mode: what any text may be."""
    if len(q) > limits.max_text_length:
        raise QueryError(f"query is {len(q)} characters long; the limit is {limits.max_text_length} "
                         "(KB_QUERY_MAX_CHARS): send the text's most telling part, its abstract or "
                         "first pages (a text over about 6,000 characters does not fit in a URL: "
                         "POST /api/v1/search with a JSON body {\"q\": ...})")
    if "\x00" in q:
        raise QueryError("query contains a NUL character")


def check_limits(q: str, limits: QueryLimits) -> None:
    """Limits of query syntax: characters and terms (words syntax reduces a long text instead)."""
    check_text_limits(q, limits)
    if len(q) > limits.max_length:
        raise QueryError(f"query is {len(q)} characters long; the limit in query syntax is "
                         f"{limits.max_length} (syntax=words or auto take a longer text)")
    count = len(q.split())
    if count > limits.max_terms:
        raise QueryError(f"query has {count} terms; the limit in query syntax is {limits.max_terms} "
                         "(syntax=words or auto take a longer text)")


def check_syntax(q: str, limits: QueryLimits) -> None:
    """Raise QuerySyntaxError for what the parser would silently misread."""
    quotes = [m.start() for m in re.finditer('"', q)]
    if len(quotes) % 2:
        raise QuerySyntaxError(f"unbalanced quote: the quote at position {quotes[-1] + 1} is never closed")
    depth = 0
    outside = re.sub(r'"[^"]*"', lambda m: " " * len(m.group()), q)
    for i, ch in enumerate(outside):
        if ch == "(":
            depth += 1
            if depth > MAX_BRACKET_DEPTH:
                raise QuerySyntaxError(f"brackets nested more than {MAX_BRACKET_DEPTH} deep "
                                       f"(the '(' at position {i + 1})")
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise QuerySyntaxError(f"unbalanced bracket: ')' at position {i + 1} has no matching '('")
    if depth > 0:
        raise QuerySyntaxError(f"unbalanced bracket: {depth} '(' never closed")
    tokens = [(m.group(), m.start()) for m in QUERY_TOKEN.finditer(q)]
    previous = None
    for i, (tok, pos) in enumerate(tokens):
        if tok in OPERATORS:
            left_ok = previous is not None and previous not in OPERATORS and previous != "("
            if tok != "NOT" and not left_ok:
                raise QuerySyntaxError(f"operator {tok} at position {pos + 1} has nothing to its left")
            nxt = tokens[i + 1][0] if i + 1 < len(tokens) else None
            if nxt is None or nxt in ("AND", "OR", "ANDNOT", "ANDMAYBE") or nxt == ")":
                raise QuerySyntaxError(f"operator {tok} at position {pos + 1} has nothing to its right")
            if tok == "NOT" and nxt == "NOT":
                raise QuerySyntaxError(f"operator NOT at position {pos + 1} is followed by another NOT "
                                       "(two NOTs cancel: drop both)")
        elif not tok.startswith('"'):
            if tok.count("*") + tok.count("?") > limits.max_wildcards:
                raise QuerySyntaxError(f"too many wildcards in '{tok[:40]}' at position {pos + 1} "
                                       f"(at most {limits.max_wildcards})")
            word = tok.split(":", 1)[1] if ":" in tok else tok
            if word[:1] in ("*", "?"):
                raise QuerySyntaxError(f"a wildcard cannot start a word ('{tok[:40]}' at position {pos + 1})")
            field = tok.split(":", 1)[0].lstrip("+-") if ":" in tok else None
            if field and field not in FIELD_ALIASES and "://" not in tok:
                raise QuerySyntaxError(f"unknown field '{field}' at position {pos + 1}; "
                                       f"known fields: tags, title, section, document")
        previous = tok


class QueryBuilder:
    """Turns a query string into a Whoosh query. Built once, used by every request.

    ``coord`` is the weight of Whoosh's coordination bonus on a disjunction of words (a passage
    matching more of the words ranks higher); ``hyphenated`` says how a hyphenated word of free
    text is searched: ``"phrase"`` (its parts adjacent) or ``"terms"`` (its parts as words)."""

    def __init__(self, schema, limits: QueryLimits | None = None, coord: float | None = None,
                 hyphenated: str = "terms", qtf_k3: float | None = None):
        self.schema = schema
        self.qtf_k3 = qtf_k3
        self.limits = limits or QueryLimits()
        self.coord = coord
        self.hyphenated = hyphenated
        self.analyzer = schema["content"].analyzer
        self.parser = qparser.QueryParser("content", schema, group=qparser.OrGroup)
        for plugin in (qparser.SingleQuotePlugin, qparser.RangePlugin, qparser.BoostPlugin):
            self.parser.remove_plugin_class(plugin)   # undocumented forms that misread plain text
        self.parser.add_plugin(qparser.FuzzyTermPlugin())
        self.parser.add_plugin(qparser.PlusMinusPlugin(plusexpr=_SIGN.format(r"\+"),
                                                       minusexpr=_SIGN.format("-")))
        self.parser.add_plugin(qparser.FieldAliasPlugin({"tags": ["tag"], "document_id": ["document"]}))

    def build(self, q: str, reader=None, syntax: str = "auto"):
        return self.parse(q, reader, syntax).query

    def parse(self, q: str, reader=None, syntax: str = "auto") -> ParsedQuery:
        if syntax not in SYNTAX_MODES:
            raise QueryError(f"unknown syntax '{syntax}'; use one of {', '.join(SYNTAX_MODES)}")
        q = (q or "").strip()
        if not q:
            return ParsedQuery(query.Every(), "query" if syntax != "words" else "words")
        check_text_limits(q, self.limits)
        if syntax == "words":
            return self.words_read(q, reader)
        try:
            check_limits(q, self.limits)
        except QueryError as exc:
            if syntax == "query":
                raise
            return self.words_read(q, reader, f"{exc}; searched as plain words")
        q = punctuation_as_text(q)
        try:
            parsed = self.structured(q)
        except QuerySyntaxError as exc:
            if syntax == "query":
                raise
            return self.words_read(q, reader, f"{exc}; searched as plain words")
        if reader is not None:
            self._check_expansions(parsed, reader)
        return ParsedQuery(parsed, "query")

    # ------------------------------------------------------------------ words mode

    def words(self, q: str, reader=None):
        """Every word of the string ORed (stop words dropped, repeats as boosts)."""
        return self.words_read(q, reader).query

    def words_read(self, q: str, reader=None, notice: str | None = None) -> ParsedQuery:
        """``words`` with what was done: a text of more distinct words than ``long_query_terms`` is
        searched by that many of its most telling ones (more-like-this: query-term frequency times
        the word's idf in ``reader``; without a reader, frequency and then order), and the notice
        says so."""
        subs = [self._word_query(m.group(), m.start()) for m in _WORD.finditer(q)]
        subs = [s for s in subs if s is not None]
        tree = self._or_of_words(subs, q)
        keep = self.limits.long_query_terms
        if keep and isinstance(tree, query.Or) and len(tree.subqueries) > keep:
            before = len(tree.subqueries)
            tree = query.Or(most_telling(tree.subqueries, keep, reader), boost=tree.boost)
            said = f"a long text: searched by its {keep} most telling words of {before}"
            notice = f"{notice}; {said}" if notice else said
        return ParsedQuery(with_coord(tree or query.NullQuery, self.coord), "words", notice)

    def _word_query(self, word: str, start: int):
        terms = [t.text for t in self.analyzer(word, mode="query")]
        if not terms:
            return None
        node = query.Term("content", terms[0]) if len(terms) == 1 else query.Phrase("content", terms)
        node.startchar, node.endchar = start, start + len(word)
        return node

    # ------------------------------------------------------------------ query mode

    def structured(self, q: str):
        check_syntax(q, self.limits)
        try:
            parsed = self._plain_words(q) or self.parser.parse(q, normalize=False)
        except (IndexError, KeyError, TypeError, AttributeError, RecursionError):   # Python's words, not ours
            raise QuerySyntaxError("cannot parse query: its operators and brackets do not combine into a query "
                                   "(check AND, OR, NOT and the brackets around them)") from None
        except Exception as exc:  # the parser's own complaints, said plainly
            raise QuerySyntaxError(f"cannot parse query: {exc}") from None
        _raise_error_nodes(parsed)
        self._bound_fuzzy(parsed)
        parsed = _exclude_negations(self._weight_free_text(_flatten_or(parsed), q))
        parsed = parsed.normalize()
        return query.NullQuery if parsed is query.NullQuery else with_coord(parsed, self.coord)

    def _plain_words(self, q: str):
        """What Whoosh's parser makes of words of plain letters between single spaces (most
        queries), made without it (its taggers and filters: 0.3 ms a short query, 1.6 ms a claim): an OR of
        each word's term, placed where the word is. None for any other query."""
        if not _PLAIN_WORDS.fullmatch(q):
            return None
        subs = []
        for m in _LETTERS.finditer(q):
            terms = [t.text for t in self.analyzer(m.group(), mode="query")]
            if m.group() in OPERATORS or len(terms) != 1:
                return None
            node = query.Term("content", terms[0])
            node.startchar, node.endchar = m.start(), m.end()
            subs.append(node)
        return query.Or(subs)

    def _weight_free_text(self, parsed, qstring):
        """In every disjunction of words: drop stop words, turn repeats into boosts."""
        if parsed.is_leaf():
            if isinstance(parsed, query.Term) and parsed.fieldname == "content":
                return self._or_of_words([parsed], qstring) or parsed
            return parsed
        if isinstance(parsed, query.Phrase):
            return parsed
        if not isinstance(parsed, query.Or):
            return parsed.apply(lambda c: self._weight_free_text(c, qstring))
        subs = [s if s.is_leaf() or isinstance(s, query.Phrase) else self._weight_free_text(s, qstring)
                for s in parsed.subqueries]
        return self._or_of_words(subs, qstring, boost=parsed.boost) or parsed

    def _or_of_words(self, subs, qstring, boost: float = 1.0):
        """Stop words out, repeated words merged into one boosted term, hyphenated words as
        configured; None when nothing but stop words is left (then they are searched after all)."""
        kept: "OrderedDict[tuple, query.Query]" = OrderedDict()
        others = []
        for sub in subs:
            surface = _surface(sub, qstring)
            if sub.is_leaf() and getattr(sub, "fieldname", None) == "content" and isinstance(sub, query.Term):
                if surface is not None and is_stop_word(surface):
                    continue
                key = (sub.fieldname, sub.text)
                if key in kept:
                    kept[key].boost += sub.boost
                else:
                    kept[key] = query.Term(sub.fieldname, sub.text, boost=sub.boost)
            elif (isinstance(sub, query.Phrase) and sub.fieldname == "content" and surface
                  and not surface.startswith('"') and self.hyphenated == "terms"):
                for text in sub.words:   # a hyphenated word of free text: its parts as words
                    key = ("content", text)
                    if key in kept:
                        kept[key].boost += sub.boost
                    else:
                        kept[key] = query.Term("content", text, boost=sub.boost)
            else:
                others.append(sub)
        for term in kept.values():
            term.boost = self.query_tf(term.boost)
        out = list(kept.values()) + others
        if not out:
            if not subs:
                return None
            out = subs   # only stop words: search them after all
        if len(out) == 1 and boost == 1.0:
            return out[0]
        return query.Or(out, boost=boost)

    def query_tf(self, count: float) -> float:
        """BM25's query-term weight, (k3 + 1) qtf / (k3 + qtf): 1 for a word said once, more for a
        repeated one, saturating as the document side does (k3=None: linear, the default: a word said
        three times weighs three times, as in bm25s and Anserini; 0: repeats ignored). Linear helps
        CACM's long requests (+0.026 nDCG@10) and costs SciFact's claims 0.001 (bench/RELEVANCE.md)."""
        k3 = self.qtf_k3
        return count if k3 is None else (k3 + 1) * count / (k3 + count)

    def _bound_fuzzy(self, q) -> None:
        for node in q.leaves():
            if isinstance(node, query.FuzzyTerm):
                if node.maxdist > self.limits.max_fuzzy_distance:
                    raise QueryError(f"'{node.text}~{node.maxdist}': a fuzzy word allows at most "
                                     f"{self.limits.max_fuzzy_distance} edits")
                # a prefix longer than the word (``ab~2/5``) fixes the whole word; Whoosh's
                # automaton would index past its end (IndexError, a 500)
                node.prefixlength = min(max(node.prefixlength, self.limits.fuzzy_prefix), len(node.text))

    def _check_expansions(self, q, reader) -> None:
        for node in q.leaves():
            if isinstance(node, (query.Prefix, query.Wildcard, query.FuzzyTerm, query.Regex)):
                count = 0
                for _ in node._btexts(reader):
                    count += 1
                    if count > self.limits.max_expansions:
                        raise QueryError(
                            f"'{node.text}' matches more than {self.limits.max_expansions} "
                            f"words; make it more specific")


def most_telling(subs: list, keep: int, reader=None) -> list:
    """The ``keep`` terms of a long text that say most about it: weight (its repeats) times idf,
    ties by first appearance. Phrases (quoted, in words syntax none) count as rare."""
    total = reader.doc_count_all() if reader is not None else 0

    def idf(sub) -> float:
        if reader is None or not isinstance(sub, query.Term):
            return 1.0
        df = reader.doc_frequency(sub.fieldname, sub.text)
        return math.log(1 + (total - df + 0.5) / (df + 0.5))

    ranked = sorted(enumerate(subs), key=lambda pair: (-pair[1].boost * idf(pair[1]), pair[0]))
    return [sub for _, sub in sorted(ranked[:keep])]


def _flatten_or(q):
    """``a (b c)`` is ``a b c``: nested plain disjunctions merged, so repeats are seen across them."""
    if q.is_leaf() or isinstance(q, query.Phrase):
        return q
    q = q.apply(_flatten_or)
    if isinstance(q, query.Or):
        subs = []
        for sub in q.subqueries:
            if type(sub) is query.Or and sub.boost == 1.0:
                subs.extend(sub.subqueries)
            else:
                subs.append(sub)
        return query.Or(subs, boost=q.boost)
    return q


def _exclude_negations(q):
    """In a disjunction, ``NOT x`` means "and not x" (Whoosh would OR it with the rest)."""
    if q.is_leaf():
        return q
    children = [_exclude_negations(c) for c in q.children()]
    if isinstance(q, query.Or):
        negated = [c.query for c in children if isinstance(c, query.Not)]
        positive = [c for c in children if not isinstance(c, query.Not)]
        if negated:
            base = (query.Or(positive, boost=q.boost) if len(positive) > 1
                    else positive[0] if positive else query.Every())
            return query.AndNot(base, query.Or(negated) if len(negated) > 1 else negated[0])
    return q.apply(_exclude_negations)


def _surface(node, qstring):
    start, end = getattr(node, "startchar", None), getattr(node, "endchar", None)
    if start is None or end is None:
        return None
    return qstring[start:end]


def _raise_error_nodes(q):
    for node in q.leaves():
        error = getattr(node, "error", None)
        if error:
            raise QuerySyntaxError(f"cannot parse query: {error}")
