"""Filters on a document's citation record: ``author=``, ``date_from=``/``date_to=`` and ``source=``
as parameters and options, and as fields of the query syntax (``author:roe``, ``author:"Jane Roe"``,
``date:2020``, ``date:>=2020-01-01``, ``date:<=2021-06``, ``date:2019..2021``, ``year:2020``,
``source:https://example.org/``). A field is a filter on the whole query: negated or inside brackets
it is a syntax error (which ``syntax=auto`` answers by reading the query as words)."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from index import QueryError

from .citation import author_matches, date_interval

FIELDS = ("author", "date", "year", "source")
_FIELD = re.compile(r'(?<![^\s(])([+-]?)(author|date|year|source):("[^"]*"|[^\s()"]+)', re.I)


@dataclass(frozen=True)
class MetadataFilters:
    """Document filters: any of ``authors`` (a word match, case and accents ignored), a date that
    overlaps ``[date_from, date_to]`` (partial ISO dates, inclusive), a source starting with
    ``source``."""
    authors: tuple[str, ...] = ()
    date_from: str = ""
    date_to: str = ""
    source: str = ""

    def __bool__(self) -> bool:
        return bool(self.authors or self.date_from or self.date_to or self.source)

    def accepts(self, doc: dict) -> bool:
        if self.authors and not any(author_matches(a, doc["authors"]) for a in self.authors):
            return False
        if self.source and not doc["source"].startswith(self.source):
            return False
        if self.date_from or self.date_to:
            span = date_interval(doc["date"])
            if span is None:
                return False
            low = date_interval(self.date_from)
            high = date_interval(self.date_to)
            if low and span[1] < low[0]:
                return False
            if high and span[0] > high[1]:
                return False
        return True



    def merged(self, other: MetadataFilters) -> MetadataFilters:
        """Both: authors of either (any of them), the later date bounds and source where given."""
        return MetadataFilters(tuple(dict.fromkeys(self.authors + other.authors)),
                               other.date_from or self.date_from, other.date_to or self.date_to,
                               other.source or self.source)

    def check(self) -> MetadataFilters:
        """Raise QueryError for a date bound that is no ISO date."""
        for name, value in (("date_from", self.date_from), ("date_to", self.date_to)):
            if value and date_interval(value) is None:
                raise QueryError(f"{name}: '{value[:40]}' is not an ISO date (2020, 2020-03 or 2020-03-04)")
        return self


def split_query(q: str, syntax: str) -> tuple[str, MetadataFilters]:
    """(the query without its metadata fields, the filters they say). ``words`` syntax has no fields."""
    if syntax == "words" or not q or ":" not in q:
        return q, MetadataFilters()
    found = MetadataFilters()
    kept, last = [], 0
    for m in _FIELD.finditer(q):
        sign, name, value = m.group(1), m.group(2).lower(), m.group(3).strip('"')
        before = q[:m.start()]
        if sign == "-" or re.search(r"\bNOT\s*$", before) or before.count("(") > before.count(")"):
            raise QueryError(f"{name}: at position {m.start() + 1} is a filter on the whole query; "
                             "it cannot be negated or put in brackets")
        found = found.merged(_field_filter(name, value, m.start()))
        kept.append(q[last:m.start()])
        last = m.end()
    if not kept:
        return q, found
    kept.append(q[last:])
    rest = " ".join("".join(kept).split())
    rest = re.sub(r"^(?:AND|OR)\s+|\s+(?:AND|OR)$", "", rest)
    return rest, found.check()


def _field_filter(name: str, value: str, position: int) -> MetadataFilters:
    if name == "author":
        return MetadataFilters(authors=(value,))
    if name == "source":
        return MetadataFilters(source=value)
    if value.startswith(">="):
        return MetadataFilters(date_from=value[2:])
    if value.startswith("<="):
        return MetadataFilters(date_to=value[2:])
    if ".." in value:
        low, _, high = value.partition("..")
        return MetadataFilters(date_from=low, date_to=high)
    if value[:1] in "<>":
        raise QueryError(f"{name}:{value} at position {position + 1}: use >= or <= (inclusive), or a..b")
    return replace(MetadataFilters(), date_from=value, date_to=value)
