"""kb's search engines behind one interface. This module is what the rest of kb may import:

* ``open_index`` chooses the engine: ``index.whoosh`` (embedded, the default) or ``index.sphinx``
  (a SphinxQL cluster); the two never import each other.
* ``SearchIndex`` is what both implement; ``SearchRequest``, ``Filters`` and ``SearchResponse``
  cross it; ``QueryLimits`` bounds what a query may cost; the errors say why a call failed.
* ``free_text`` is a query's words without its operators (what a semantic query embeds).

Shared parts live beside the engines: ``index.querying`` (the query language), ``index.schema``
(its fields), ``index.text`` (analysis, highlighting), ``index.vectors`` (embedding storage and
rank fusion), ``index.storage`` (the write lock and the live-index pointer).

Records cross this boundary as plain dicts (index/ knows nothing of kb's classes):

* a document: ``{"id", "title", "text", "source", "tags", "metadata", "ingested_at"}``
* a passage: ``{"id", "document_id", "ordinal", "section", "text", "start", "end",
  "tags", "keywords", "evidence", "suggested_tags", "manual"}`` (``manual``: the passage's manual
  tag edits, kept as given; the engines store them and find the passages that have them)
"""
from .base import (
                   BackendUnavailable,
                   Conflict,
                   DocumentCounts,
                   Filters,
                   IndexBusy,
                   IndexError_,
                   QueryError,
                   QueryTimeout,
                   SearchIndex,
                   SearchRequest,
                   SearchResponse,
                   Unsupported,
)
from .factory import BACKENDS, open_index
from .query_text import free_text
from .querying import QueryLimits

__all__ = ["BACKENDS", "BackendUnavailable", "Conflict", "DocumentCounts", "Filters", "IndexBusy", "IndexError_",
           "QueryError", "QueryLimits", "QueryTimeout", "SearchIndex", "SearchRequest", "SearchResponse", "Unsupported",
           "free_text", "open_index"]
