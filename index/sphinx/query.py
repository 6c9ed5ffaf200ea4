"""kb's query syntax in Sphinx's extended query syntax, and Sphinx snippets in kb's format.

The query string is parsed and checked by the same code as the embedded engine
(``index.querying``: the same 400s, stop words, negation rules), and the resulting tree is
written out for ``MATCH()``. Words go to Sphinx as the user wrote them (lowercased), not as
Whoosh stemmed them, so that Sphinx's own ``stem_en`` treats query and index alike.
Tags and document ids are matched through tokens of the ``keys`` field.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from html import escape

from whoosh import query as wq

from ..base import Unsupported
from ..query_text import punctuation_as_text
from ..querying import QueryBuilder
from ..text.analysis import TOKEN_PATTERN, text_analyzer
from ..text.highlight import ELLIPSIS

TEXT_FIELDS = ("content", "title", "section")
# A token in the ``keys`` field of every passage: the positive side of a query that only excludes.
ALL_PASSAGES = "7000000000000000000"
_WORD = re.compile(TOKEN_PATTERN)
_PATTERN_OK = re.compile(r"^[\w.'’*?]+$")
# Private-use characters that CALL SNIPPETS puts around matches and between fragments.
MARK_START, MARK_END, FRAGMENT = "\ue000", "\ue001", "\ue002"


def key_token(kind: str, value: str) -> str:
    """The ``keys`` field token of a tag or a document id: 19 digits, which no stemmer changes."""
    digest = int.from_bytes(hashlib.blake2b(f"{kind}\0{value}".encode(), digest_size=8).digest(), "big")
    return ("8" if kind == "tag" else "9") + f"{digest % 10**18:018d}"


@dataclass(frozen=True)
class Translated:
    match: str | None   # the MATCH() text; None: no full-text condition (browse every passage)
    nothing: bool       # the query can match nothing
    highlight: str      # the query CALL SNIPPETS marks (positive words only), "" for none
    patterns: tuple[str, ...] = ()  # prefixes and wildcards, whose expansions are limited
    syntax: str = "query"           # how the string was read (index.querying): "query" or "words"
    notice: str | None = None       # why auto mode read it as words


class Translator:
    """Built once; ``translate()`` per request."""

    def __init__(self, builder: QueryBuilder):
        self.builder = builder
        self.analyzer = text_analyzer()

    def translate(self, q: str, syntax: str = "auto") -> Translated:
        parsed = self.builder.parse(q, syntax=syntax)
        tree, read = parsed.query, {"syntax": parsed.syntax, "notice": parsed.notice}
        if isinstance(tree, wq.Every):
            return Translated(None, False, "", **read)
        if tree is wq.NullQuery or isinstance(tree, type(wq.NullQuery)):
            return Translated(None, True, "", **read)
        writer = _Writer(self._surfaces(q), _patterns(punctuation_as_text(q)) if parsed.syntax == "query" else [])
        match = writer.node(tree)
        highlight = " | ".join(dict.fromkeys(writer.positive(tree)))
        return Translated(match, False, highlight, tuple(dict.fromkeys(writer.expanded)), **read)

    def _surfaces(self, q: str) -> dict[str, str]:
        """Each analyzed term of the query → the word as written (lowercased)."""
        out: dict[str, str] = {}
        for token in self.analyzer(q, chars=True, mode="query"):
            out.setdefault(token.text, q[token.startchar:token.endchar].lower())
        return out


def _patterns(q: str) -> list[str]:
    """The wildcard words of the query as written (Whoosh stems the pattern of ``diplo?acy``)."""
    out = []
    for token in re.findall(r'[^\s()"]+', q):
        token = token.lstrip("+-").rsplit(":", 1)[-1].lower()
        if "*" in token or "?" in token:
            out.append(token)
    return out


def _common_prefix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


class _Writer:
    def __init__(self, surfaces: dict[str, str], patterns: list[str]):
        self.surfaces = surfaces
        self.patterns = patterns
        self.expanded: list[str] = []

    def pattern(self, q) -> str:
        text = q.text.lower() + ("*" if isinstance(q, wq.Prefix) else "")
        if self.patterns:
            text = max(self.patterns, key=lambda p: (_common_prefix(p, text), p.count("*") + p.count("?")))
        return text

    def word(self, text: str) -> str:
        word = self.surfaces.get(text, text).lower()
        if not _WORD.fullmatch(word):
            word = " ".join(_WORD.findall(word)) or "x"
        return word

    def node(self, q) -> str:
        if isinstance(q, wq.FuzzyTerm):
            raise Unsupported(f"fuzzy terms ('{self.word(q.text)}~') are not supported by the Sphinx backend: "
                              "Sphinx has no edit-distance matching; use a prefix (word*) or "
                              "GET /api/v1/suggest for a did-you-mean")
        if isinstance(q, wq.Term):
            return self.term(q.fieldname, q.text)
        if isinstance(q, wq.Phrase):
            field = self.field(q.fieldname)
            words = " ".join(self.word(w) for w in q.words)
            slop = f"~{q.slop}" if q.slop and q.slop > 1 else ""
            return f'(@{field} "{words}"{slop})'
        if isinstance(q, (wq.Prefix, wq.Wildcard)):
            field = self.field(q.fieldname)
            text = self.pattern(q)
            if not _PATTERN_OK.match(text):
                raise Unsupported(f"the pattern '{q.text}' cannot be searched on the Sphinx backend")
            self.expanded.append(text)
            return f"(@{field} {text})"
        if isinstance(q, wq.Every):
            return f"(@keys {ALL_PASSAGES})"
        if isinstance(q, wq.Not):
            return f"((@keys {ALL_PASSAGES}) -{self.node(q.query)})"
        if isinstance(q, wq.AndNot):
            return f"({self.node(q.a)} -{self.node(q.b)})"
        if isinstance(q, wq.AndMaybe):
            return f"({self.node(q.a)} MAYBE {self.node(q.b)})"
        if isinstance(q, wq.Require):
            return f"({self.node(q.a)} {self.node(q.b)})"
        if isinstance(q, wq.And):
            positive = [self.node(c) for c in q.subqueries if not isinstance(c, wq.Not)]
            negative = [f"-{self.node(c.query)}" for c in q.subqueries if isinstance(c, wq.Not)]
            if not positive:
                positive = [f"(@keys {ALL_PASSAGES})"]
            return "(" + " ".join(positive + negative) + ")"
        if isinstance(q, wq.Or):
            return "(" + " | ".join(self.node(c) for c in q.subqueries) + ")"
        raise Unsupported(f"this kind of query ({type(q).__name__}) is not supported by the Sphinx backend")

    def term(self, fieldname: str, text: str) -> str:
        if fieldname == "tags":
            return f"(@keys {key_token('tag', text)})"
        if fieldname == "document_id":
            return f"(@keys {key_token('document', text)})"
        return f"(@{self.field(fieldname)} {self.word(text)})"

    @staticmethod
    def field(fieldname: str) -> str:
        if fieldname not in TEXT_FIELDS:
            raise Unsupported(f"phrases and patterns on '{fieldname}' are not supported by the Sphinx backend")
        return fieldname

    def positive(self, q) -> list[str]:
        """The words, phrases and patterns a matching passage may contain (for snippets)."""
        if isinstance(q, (wq.Not, wq.FuzzyTerm)):
            return []
        if isinstance(q, wq.AndNot):
            return self.positive(q.a)
        if isinstance(q, wq.Term):
            return [self.word(q.text)] if q.fieldname in TEXT_FIELDS else []
        if isinstance(q, wq.Phrase):
            return ['"' + " ".join(self.word(w) for w in q.words) + '"'] if q.fieldname in TEXT_FIELDS else []
        if isinstance(q, (wq.Prefix, wq.Wildcard)):
            text = self.pattern(q)
            return [text] if q.fieldname in TEXT_FIELDS and _PATTERN_OK.match(text) else []
        if q.is_leaf():
            return []
        return [w for child in q.children() for w in self.positive(child)]


# ---------------------------------------------------------------------- snippets

def format_snippet(raw: str) -> str:
    """CALL SNIPPETS output (sentinels around matches and between fragments) → kb's format:
    the text HTML-escaped, ``<mark>`` around each matched word, ``…`` where text is cut."""
    pieces = raw.split(FRAGMENT)
    cut_before, cut_after = raw.lstrip().startswith(FRAGMENT), raw.rstrip().endswith(FRAGMENT)
    fragments = [_marked(p.strip()) for p in pieces if p.strip()]
    if not fragments:
        return ""
    return (ELLIPSIS if cut_before else "") + f" {ELLIPSIS} ".join(fragments) + (ELLIPSIS if cut_after else "")


def _marked(text: str) -> str:
    out, inside, position = [], False, 0
    for m in re.finditer(f"[{MARK_START}{MARK_END}]", text):
        out.append(_span(text[position:m.start()], inside))
        inside = m.group() == MARK_START
        position = m.end()
    out.append(_span(text[position:], inside))
    return "".join(out)


def _span(text: str, marked: bool) -> str:
    """Inside a match span Sphinx may join neighbouring matches ("public-health"): mark each word."""
    if not marked:
        return escape(text)
    out, position = [], 0
    for m in _WORD.finditer(text):
        out.append(escape(text[position:m.start()]))
        out.append(f"<mark>{escape(m.group())}</mark>")
        position = m.end()
    out.append(escape(text[position:]))
    return "".join(out)


def has_marks(raw: str) -> bool:
    return MARK_START in raw

