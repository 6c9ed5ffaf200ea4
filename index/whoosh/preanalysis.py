"""A passage's analysis done where it is prepared (an ingest worker), not in the one writer.

Ingest has one writer, under kb's write lock, and several worker processes that split and tag. The
writer spent a third of its time analysing passages (tokenising, stemming, collecting each term's
positions and encoding them: Whoosh's ``FieldType.index``), all of it pure functions of the text.
``attach`` runs that in the worker, with the code's schema and the same per-word memo as the
writer, and keeps the result on the passage under ``KEY``; the writer takes it when its index's
field is the code's field (same format, analyzer and options: an older index analyses as before)
and the text is the one analysed, and otherwise analyses as it always did. The passage's
unstemmed word counts (the suggestions' word list) come along the same way.
"""
from __future__ import annotations

import pickle

from whoosh.analysis.analyzers import CompositeAnalyzer
from whoosh.formats import Positions
from whoosh.system import pack_uint

from ..text.memo_analyzer import MemoAnalyzer
from .records import passage_record
from .words import passage_occurrences

KEY = "_analysis"   # on a passage dict between the worker and the writer; never stored
FIELDS = ("content", "title", "section")


class Preanalyzed:
    """A field value whose ``FieldType.index`` items are known (see ``taking``)."""
    __slots__ = ("items",)

    def __init__(self, items: list):
        self.items = items


def analysed(field, analyzer, value: str) -> list:
    """What ``field.index(value)`` yields (term bytes, frequency, weight, encoded positions), with
    ``analyzer`` (a memo of the field's own) in place of the field's."""
    positions = _positions(field, analyzer, value)
    if positions is None:
        return [(term.encode("utf-8"), freq, weight, values)
                for term, freq, weight, values in field.format.word_values(value, analyzer, mode="index")]
    boost = field.format.field_boost
    return [(term.encode("utf-8"), len(places), float(len(places)) * boost, _encoded(places))
            for term, places in positions.items()]


def _positions(field, analyzer, value: str) -> dict[str, list[int]] | None:
    """Each term's positions, from the memo's terms of every word (no Token per word); None where
    that is not Whoosh's answer: another format, another analyzer, a dotted identifier's parts."""
    if type(field.format) is not Positions or not isinstance(analyzer, MemoAnalyzer):
        return None
    found = analyzer.terms_and_spans(value)
    if found is None:
        return None
    positions: dict[str, list[int]] = {}
    for place, term in enumerate(found[0]):   # a word's position is its place, dropped words counted
        if term is not None:
            held = positions.get(term)
            if held is None:
                positions[term] = [place]
            else:
                held.append(place)
    return positions


def _encoded(places: list[int]) -> bytes:
    """``Positions.encode``: the count, then the gaps pickled (a word that occurs once, most of
    them, from a table by its position)."""
    if len(places) == 1 and places[0] < len(_ONCE):
        return _ONCE[places[0]]
    return pack_uint(len(places)) + pickle.dumps([b - a for a, b in zip([0] + places, places)], 2)


_ONCE = [pack_uint(1) + pickle.dumps([place], 2) for place in range(4096)]


def attach(schema, memo_of, doc: dict, passages: list[dict]) -> None:
    """Analyse each passage's text fields as ``schema`` (the code's) would, ``memo_of(name, analyzer)``
    giving the memo to analyse with; the result goes on the passage under ``KEY``."""
    for p in passages:
        record = passage_record(doc, p)
        fields = {}
        for name in FIELDS:
            field = schema[name]
            if isinstance(field.analyzer, CompositeAnalyzer):
                fields[name] = (record[name], analysed(field, memo_of(name, field.analyzer), record[name]))
        occurrences = passage_occurrences(record["title"], record["section"], record["text"])
        p[KEY] = pickle.dumps((fields, dict(occurrences)), pickle.HIGHEST_PROTOCOL)   # one bytes object:
        # cheap to send, and small in the writer's batch until it is used


def usable(writer_schema, code_schema) -> tuple[str, ...]:
    """The fields whose analysis a worker may do: the same in the index being written as in the code.
    Call before the writer's analyzers are swapped for memos."""
    def same(a, b) -> bool:
        return type(a) is type(b) and a == b and a.analyzer == b.analyzer
    return tuple(name for name in FIELDS
                 if name in writer_schema and name in code_schema and same(writer_schema[name], code_schema[name]))


def taking(schema, names: tuple[str, ...]) -> None:
    """Let ``schema``'s fields ``names`` take ``Preanalyzed`` values (an attribute of the field
    object, removed by ``plain`` before the schema is saved with the commit)."""
    for name in names:
        field = schema[name]
        index = field.index

        def take(value, _index=index, **kwargs):
            return value.items if type(value) is Preanalyzed else _index(value, **kwargs)
        field.index = take


def plain(schema, names: tuple[str, ...]) -> None:
    for name in names:
        schema[name].__dict__.pop("index", None)


def use(record: dict, passage: dict, names: tuple[str, ...]) -> dict[str, int]:
    """Put the worker's analysis of ``passage`` into its ``record`` where it was of the same text;
    the passage's words, counted (the worker's count when the content is the one it analysed)."""
    analysis = passage.pop(KEY, None)
    fields, occurrences = pickle.loads(analysis) if analysis is not None else ({}, None)
    for name in names:
        value, items = fields.get(name, (None, None))
        if items is not None and record[name] == value:
            record[name] = Preanalyzed(items)
            record[f"_stored_{name}"] = value
    text = {name: record.get(f"_stored_{name}", record[name]) for name in ("content", "title", "section")}
    if occurrences is None or text["content"] != fields.get("content", (None,))[0]:
        return passage_occurrences(text["title"], text["section"], record["text"])
    return occurrences   # the content's words: title, section and text, a line apart
