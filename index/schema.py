"""The fields of kb's records, as a Whoosh schema: the Whoosh engine stores passages and
documents in it, and both engines parse queries against it (``index.querying`` uses Whoosh's
query parser, so its field names and analyzers are the query language's)."""
from __future__ import annotations

from whoosh.columns import VarBytesColumn
from whoosh.fields import COLUMN, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from .text.analysis import text_analyzer


def make_schema() -> Schema:
    analyzer = text_analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        kind=ID(stored=True),
        document_id=ID(stored=True, sortable=True),
        ordinal=NUMERIC(int, stored=True, sortable=True),
        title=TEXT(analyzer=analyzer, stored=True, multitoken_query="phrase"),
        section=TEXT(analyzer=analyzer, stored=True, multitoken_query="phrase"),
        content=TEXT(analyzer=analyzer, multitoken_query="phrase"),
        text=STORED(),
        tags=KEYWORD(stored=True, commas=True, scorable=False, lowercase=False),
        keywords=STORED(),
        evidence=STORED(),
        suggested=STORED(),
        manual=STORED(),
        curated=ID(),
        start=STORED(),
        end=STORED(),
        data=STORED(),
        card=COLUMN(VarBytesColumn()),   # a document's record without text (index.whoosh.records)
    )
