"""What kb needs of a search engine: the ``SearchIndex`` interface both engines implement
(``index.whoosh``, embedded; ``index.sphinx``, a SphinxQL cluster), its request and response, and
the errors it raises on purpose."""
from __future__ import annotations

import abc
import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator, Mapping


class IndexError_(Exception):
    """Base of the errors the index raises on purpose."""


class QueryError(IndexError_):
    """The query cannot be parsed or is over a limit; the message says what and where."""


class IndexBusy(IndexError_):
    """Another writer holds the index lock past the timeout."""


class QueryTimeout(IndexError_):
    """The query ran past the configured time limit."""


class Unsupported(IndexError_):
    """The engine behind the index cannot do this (e.g. fuzzy terms on SphinxQL); the message
    says what and what to use instead. Never answered with a wrong result."""


class BackendUnavailable(IndexError_):
    """The search engine (a node, or every mirror of a shard) does not answer."""


class Conflict(IndexError_):
    """A write would break an invariant of the index (e.g. two tags with the same CRC32)."""


@dataclass(frozen=True)
class Filters:
    tags: tuple[str, ...] = ()       # all must match
    any_tags: tuple[str, ...] = ()   # at least one
    not_tags: tuple[str, ...] = ()   # none
    documents: tuple[str, ...] = ()  # any of these documents


@dataclass(frozen=True)
class SearchRequest:
    q: str = ""
    filters: Filters = Filters()
    limit: int = 10
    offset: int = 0
    group_by: str | None = None      # None or "document"
    highlight: bool = True
    sort: str = "relevance"          # "relevance" or "document"
    facets: bool = True
    syntax: str = "auto"             # "auto", "query" or "words" (see index.querying)
    mode: str | None = None          # "lexical" (None), "semantic" or "hybrid" (see index.hybrid)
    vector: tuple[float, ...] | None = None   # the query's embedding; None ranks lexically
    fusion: str | None = None        # hybrid: "normalized" (None) or "rrf" (see index.fusion)


class DocumentCounts(Mapping):
    """Matching passages per document id, as arrays: ``names`` (the same list object for every
    search of one searcher, so a caller may key its own lookups by it), ``codes`` (positions in
    ``names``) and ``counts``. A read-only mapping of id -> count for everyone else, made on demand."""

    def __init__(self, names: list[str], codes, counts):
        self.names, self.codes, self.counts = names, codes, counts
        self._dict: dict[str, int] | None = None

    def _mapping(self) -> dict[str, int]:
        if self._dict is None:
            self._dict = dict(zip(map(self.names.__getitem__, self.codes.tolist()), self.counts.tolist()))
        return self._dict

    def __getitem__(self, key: str) -> int:
        return self._mapping()[key]

    def __iter__(self):
        return iter(self._mapping())

    def __len__(self) -> int:
        return len(self.codes)


@dataclass
class SearchResponse:
    total: int
    hits: list[dict]
    # "tags": passages per tag; "documents": passages per document id (for facets counted by document)
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    took_ms: float = 0.0
    partial: bool = False
    syntax: str = "query"            # how the query string was read: "query" or "words"
    notice: str | None = None        # why an auto-mode query was read as words


def deleted_now() -> str:
    """The time a deletion is recorded with: UTC, to the second, ISO 8601 (as kb's ``ingested_at``)."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


class SearchIndex(abc.ABC):
    """What kb needs of a search engine."""

    # writing
    @abc.abstractmethod
    def replace_documents(self, items: Iterable[tuple[dict, list[dict]]], expect: dict[str, str] | None = None) -> int:
        """Store documents with their passages in one commit, replacing any earlier version of
        each (all of a document's passages appear together or not at all). Returns how many.
        ``expect``: properties that must hold when the write lands (checked under the write
        lock), else ``Conflict`` and nothing is written."""

    def prepare_passages(self, document: dict, passages: list[dict]) -> None:
        """Work of the coming write that needs no lock, run where documents are prepared (an
        ingest worker process); what it keeps on the passages the engine's write takes and removes.
        Nothing by default."""
        return None

    def bulk_load(self) -> contextlib.AbstractContextManager:
        """A context for many writes in a row (an ingest): the engine may work between them in
        the background (the embedded one merges segments) and settles that work at the end."""
        return contextlib.nullcontext()

    def compact(self, progress=None) -> dict:
        """Bring the index to the layout searches read fastest (the embedded engine merges and
        rewrites its segments); ``{}`` when the engine has nothing of the kind to do."""
        return {}

    @abc.abstractmethod
    def delete_document(self, document_id: str) -> bool:
        """Remove a document and its passages; False when it did not exist. The deletion is
        recorded (its id and the time, ``deleted_now()``) in the same commit, for ``deletions``;
        storing the document again erases that record."""

    @abc.abstractmethod
    def deletions(self, since: str = "") -> list[dict]:
        """``[{"id", "deleted_at"}]``: the documents deleted at or after ``since`` (ISO 8601 UTC as
        ``deleted_now`` writes it; "" for all) and not stored again since, oldest first. Kept
        across restarts and rebuilds, so that a client can sync."""

    @abc.abstractmethod
    def rebuild(self, items: Iterable[tuple[dict, list[dict]]], batch: int = 500, progress=None,
                properties: dict[str, str] | None = None) -> int:
        """Replace the whole index by these (document, passages) records; ``progress(n)`` after
        each batch of ``n`` documents. ``properties`` are set with the new index (in the same
        switch where the engine switches atomically). Returns how many documents."""

    # properties: small named texts kept with the index (the knowledge base's taxonomy)
    @abc.abstractmethod
    def get_property(self, name: str) -> str | None:
        """The property's value, None when it was never set."""

    @abc.abstractmethod
    def set_property(self, name: str, value: str, if_absent: bool = False) -> str:
        """Set a property (under the write lock); ``if_absent``: only when it has no value yet.
        Returns the value the index now holds."""

    # curation: passages changed one by one (manual tags), and found again
    @abc.abstractmethod
    def update_passages(self, passage_ids: Iterable[str], change: Callable[[dict], dict | None]) -> list[dict]:
        """Under the write lock, read each passage, and write ``change(passage)`` in its place
        (None: leave it) in one commit; a missing id is skipped. The passage dict may carry
        ``manual`` (its manual tag edits); its text, offsets and document stay. Returns the
        passages written."""

    @abc.abstractmethod
    def curated_passages(self, document_ids: Iterable[str] | None = None) -> Iterator[dict]:
        """Every passage that carries manual tag edits (of these documents), with ``manual``."""

    # embeddings: an engine that stores passage vectors sets ``vector_model``
    vector_model: str | None = None

    def embedded_count(self) -> int:
        """How many live passages have a current embedding."""
        return 0

    # reading
    @abc.abstractmethod
    def search(self, request: SearchRequest) -> SearchResponse: ...

    @abc.abstractmethod
    def get_passage(self, passage_id: str) -> dict | None: ...

    @abc.abstractmethod
    def get_document(self, document_id: str) -> dict | None: ...

    @abc.abstractmethod
    def passages_of(self, document_id: str) -> list[dict]:
        """A document's passages in reading order."""

    def document_with_passages(self, document_id: str) -> dict | None:
        """The document with ``passages``, both read from one view of the index (override: this
        default could pair a document with passages of a later commit)."""
        doc = self.get_document(document_id)
        if doc is not None:
            doc["passages"] = self.passages_of(document_id)
        return doc

    def passage_with_neighbours(self, passage_id: str) -> dict | None:
        """The passage with the ids of its ``previous`` and ``next``, from one view of the index."""
        passage = self.get_passage(passage_id)
        if passage is not None:
            ids = {p["ordinal"]: p["id"] for p in self.passages_of(passage["document_id"])}
            passage["previous"] = ids.get(passage["ordinal"] - 1)
            passage["next"] = ids.get(passage["ordinal"] + 1)
        return passage

    def neighbours(self, passages: list[dict]) -> dict[str, tuple[str | None, str | None]]:
        """The ids of the passages before and after each of these (dicts with ``id``,
        ``document_id`` and ``ordinal``), in one call (override: this default reads the passages
        of every document involved)."""
        ids: dict[str, dict[int, str]] = {}
        for p in passages:
            if p["document_id"] not in ids:
                ids[p["document_id"]] = {q["ordinal"]: q["id"] for q in self.passages_of(p["document_id"])}
        return {p["id"]: (ids[p["document_id"]].get(p["ordinal"] - 1), ids[p["document_id"]].get(p["ordinal"] + 1))
                for p in passages}

    @abc.abstractmethod
    def list_documents(self, offset: int = 0, limit: int | None = None) -> tuple[int, list[dict]]:
        """(total, documents without their text, each with a ``passages`` count)."""

    def summaries(self, document_ids: Iterable[str]) -> dict[str, dict]:
        """``{id: the document as list_documents gives it}`` for those of the ids that exist, read one
        by one (override: this default lists every document)."""
        wanted = set(document_ids)
        return {doc["id"]: doc for doc in self.list_documents(0, None)[1] if doc["id"] in wanted}

    def iter_cards(self) -> Iterator[dict]:
        """Every document without its text and original, in no given order, one at a time: what
        the year and author facets and the metadata filters read of a whole index (override: this
        default lists every document)."""
        yield from self.list_documents(0, None)[1]

    @abc.abstractmethod
    def iter_documents(self) -> Iterator[dict]: ...

    @abc.abstractmethod
    def iter_passages(self, filters: Filters = Filters()) -> Iterator[dict]: ...

    @abc.abstractmethod
    def tag_counts(self) -> dict[str, int]:
        """Passage count per tag over the whole index."""

    @abc.abstractmethod
    def similar(self, passage_id: str, limit: int = 10, filters: Filters = Filters(),
                semantic: bool = False) -> list[dict] | None:
        """Passages like this one (None when it does not exist); nearest by embedding when
        ``semantic`` and the passage has one, else by its words."""

    @abc.abstractmethod
    def suggest(self, q: str, limit: int = 5) -> dict:
        """``{"completions": [{"text", "hits"}], "did_you_mean": {"text", "hits"} | None}``"""

    @abc.abstractmethod
    def stats(self) -> dict:
        """``{"documents", "passages", "tags", "index_bytes", "version"}``"""

    @abc.abstractmethod
    def version(self) -> str:
        """Changes whenever a commit lands: used for caching and ETags."""

    def close(self) -> None:  # noqa: B027 - an engine with nothing to release keeps this
        """Release files and connections (a closed index reopens on the next call)."""
