"""Reading documents' cards (``records.card_bytes``: a document without its text) from the
``card`` column: every document's metadata in one pass for the catalog's facets and filters, and
the few documents of a page of hits, without decoding any document's text. A document record
written before cards is read from its stored data instead, until a merge writes its card."""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

import orjson

from . import column_arrays
from .collect import SearcherCache
from .records import card_from_stored


def iter_cards(cache: SearcherCache) -> Iterator[dict]:
    """Every live document's card, in docnum order, one at a time."""
    s = cache.searcher
    for docnum, raw in column_arrays.iter_var_bytes(s.reader(), "card", cache.term_docnums("kind", "d")):
        yield _decoded(raw or card_from_stored(s.stored_fields(docnum)))


def summaries(cache: SearcherCache, document_ids: Iterable[str]) -> dict[str, dict]:
    """``{id: card with its passages count}`` of those of the ids that are live documents."""
    s = cache.searcher
    found = {}
    for doc_id in dict.fromkeys(document_ids):
        summary = _card_before_passages(cache, doc_id)
        if summary is None:
            docnum = _document_number(cache, doc_id)
            if docnum is None:
                continue
            summary = _decoded(_card_column(cache)[docnum] or card_from_stored(s.stored_fields(docnum)))
        summary["passages"] = cache.passage_count(doc_id)
        found[doc_id] = summary
    return found


def _card_before_passages(cache: SearcherCache, doc_id: str) -> dict | None:
    """The card of the record just before the document's first passage, where kb writes it, if it
    is that document's: one read, where Whoosh's lookup by id asks every segment (0.6 ms a
    document at a million passages in 30 segments)."""
    first = cache.first_passage(doc_id)
    if not first:
        return None
    try:
        raw = _card_column(cache)[first - 1]
    except IndexError:   # a column keeps no value for a segment's documents after its last one
        return None
    if not raw or cache.searcher.reader().is_deleted(first - 1):
        return None
    card = _decoded(raw)
    return card if card.get("id") == doc_id else None


def _decoded(raw: bytes) -> dict:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:   # an escaped lone surrogate, which orjson refuses
        return json.loads(raw)


def _document_number(cache: SearcherCache, doc_id: str) -> int | None:
    """The live document record's docnum (ids are unique: a passage id has a colon, a document's
    none), by Whoosh's own lookup: the postings cache is for query words, not for one posting an id."""
    return cache.searcher.document_number(id=doc_id)


def _card_column(cache: SearcherCache):
    """The searcher's reader of the card column, opened once (a reader reads each segment's offsets)."""
    column = cache.values.get("card_column")
    if column is None:
        reader = cache.searcher.reader()
        has = "card" in reader.schema and reader.has_column("card")
        column = cache.values["card_column"] = reader.column_reader("card") if has else _NoCards()
    return column


class _NoCards:
    """An index none of whose segments has the column yet."""

    def __getitem__(self, docnum: int) -> bytes:
        return b""
