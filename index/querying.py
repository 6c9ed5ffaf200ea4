"""Whoosh's query parser, made safe: syntax checked first with messages that say where,
limits on length and on expanded terms, stop words dropped from free text, and repeated
query words kept as weights (Whoosh's parser folds repeats away)."""
from __future__ import annotations

import re
from collections import OrderedDict

from whoosh import qparser, query

from .analysis import is_stop_word
from .base import QueryError

FIELD_ALIASES = {"tag": "tags", "tags": "tags", "title": "title", "section": "section",
                 "document": "document_id", "document_id": "document_id"}
OPERATORS = ("AND", "OR", "NOT", "ANDNOT", "ANDMAYBE")
_TOKEN = re.compile(r'"[^"]*"(?:~\d+)?|\(|\)|[^\s()"]+')


class QueryLimits:
    def __init__(self, max_length: int = 1000, max_terms: int = 200, max_expansions: int = 500,
                 max_wildcards: int = 3):
        self.max_length = max_length
        self.max_terms = max_terms
        self.max_expansions = max_expansions
        self.max_wildcards = max_wildcards


def check_syntax(q: str, limits: QueryLimits) -> None:
    """Raise QueryError for what the parser would silently misread."""
    if len(q) > limits.max_length:
        raise QueryError(f"query is {len(q)} characters long; the limit is {limits.max_length}")
    if "\x00" in q:
        raise QueryError("query contains a NUL character")
    quotes = [m.start() for m in re.finditer('"', q)]
    if len(quotes) % 2:
        raise QueryError(f"unbalanced quote: the quote at position {quotes[-1] + 1} is never closed")
    depth = 0
    outside = re.sub(r'"[^"]*"', lambda m: " " * len(m.group()), q)
    for i, ch in enumerate(outside):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise QueryError(f"unbalanced bracket: ')' at position {i + 1} has no matching '('")
    if depth > 0:
        raise QueryError(f"unbalanced bracket: {depth} '(' never closed")
    tokens = [(m.group(), m.start()) for m in _TOKEN.finditer(q)]
    if len(tokens) > limits.max_terms:
        raise QueryError(f"query has {len(tokens)} terms; the limit is {limits.max_terms}")
    previous = None
    for i, (tok, pos) in enumerate(tokens):
        if tok in OPERATORS:
            left_ok = previous is not None and previous not in OPERATORS and previous != "("
            if tok != "NOT" and not left_ok:
                raise QueryError(f"operator {tok} at position {pos + 1} has nothing to its left")
            nxt = tokens[i + 1][0] if i + 1 < len(tokens) else None
            if nxt is None or nxt in ("AND", "OR", "ANDNOT", "ANDMAYBE") or nxt == ")":
                raise QueryError(f"operator {tok} at position {pos + 1} has nothing to its right")
        elif not tok.startswith('"'):
            if tok.count("*") + tok.count("?") > limits.max_wildcards:
                raise QueryError(f"too many wildcards in '{tok[:40]}' at position {pos + 1} "
                                 f"(at most {limits.max_wildcards})")
            word = tok.split(":", 1)[1] if ":" in tok else tok
            if word[:1] in ("*", "?"):
                raise QueryError(f"a wildcard cannot start a word ('{tok[:40]}' at position {pos + 1})")
            field = tok.split(":", 1)[0].lstrip("+-") if ":" in tok else None
            if field is not None and field and field not in FIELD_ALIASES and not _is_url_like(tok):
                raise QueryError(f"unknown field '{field}' at position {pos + 1}; "
                                 f"known fields: tags, title, section, document")
        previous = tok


def _is_url_like(tok: str) -> bool:
    return "://" in tok


class QueryBuilder:
    """Turns a query string into a Whoosh query. Built once, used by every request."""

    def __init__(self, schema, limits: QueryLimits | None = None):
        self.limits = limits or QueryLimits()
        self.parser = qparser.QueryParser("content", schema, group=qparser.OrGroup)
        self.parser.add_plugin(qparser.FuzzyTermPlugin())
        # + and - only at the start of a word: "COVID-19" and "tags:covid-19" are words, not negations
        self.parser.add_plugin(qparser.PlusMinusPlugin(plusexpr=r"(?<![^\s(])\+", minusexpr=r"(?<![^\s(])-"))
        self.parser.add_plugin(qparser.FieldAliasPlugin({"tags": ["tag"], "document_id": ["document"]}))
        self.parser.remove_plugin_class(qparser.BoostPlugin)

    def build(self, q: str, reader=None):
        q = (q or "").strip()
        if not q:
            return query.Every()
        check_syntax(q, self.limits)
        try:
            parsed = self.parser.parse(q, normalize=False)
        except Exception as exc:  # the parser's own complaints, said plainly
            raise QueryError(f"cannot parse query: {exc}") from None
        _raise_error_nodes(parsed)
        parsed = _exclude_negations(self._weight_free_text(parsed, q))
        parsed = parsed.normalize()
        if parsed is query.NullQuery:
            return query.NullQuery
        if reader is not None:
            self._check_expansions(parsed, reader)
        return parsed

    def _weight_free_text(self, parsed, qstring):
        """In every disjunction of words: drop stop words and turn repeats into boosts."""
        if parsed.is_leaf():
            if isinstance(parsed, query.Term) and parsed.fieldname == "content":
                return self._weight_free_text(query.Or([parsed]), qstring)
            return parsed
        if not isinstance(parsed, query.Or):
            return parsed.apply(lambda c: self._weight_free_text(c, qstring))
        kept: "OrderedDict[tuple, query.Term]" = OrderedDict()
        others = []
        for sub in parsed.subqueries:
            if isinstance(sub, query.Term) and sub.fieldname == "content":
                surface = _surface(sub, qstring)
                if surface is not None and is_stop_word(surface):
                    continue
                key = (sub.fieldname, sub.text)
                if key in kept:
                    kept[key].boost += sub.boost
                else:
                    kept[key] = sub
            elif sub.is_leaf():
                others.append(sub)
            else:
                others.append(self._weight_free_text(sub, qstring))
        subs = list(kept.values()) + others
        if not subs:  # only stop words: search them after all
            return parsed
        return query.Or(subs, boost=parsed.boost) if len(subs) > 1 else subs[0]

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


def _surface(term, qstring):
    start, end = getattr(term, "startchar", None), getattr(term, "endchar", None)
    if start is None or end is None:
        return None
    return qstring[start:end]


def _raise_error_nodes(q):
    for node in q.leaves():
        error = getattr(node, "error", None)
        if error:
            raise QueryError(f"cannot parse query: {error}")
