"""What the Whoosh index keeps beside search: properties (small named texts, the knowledge base's
taxonomy among them) and passages changed one by one (manual tags), found again by the indexed
``curated`` marker.

A property is a stored record ``kind=m`` in the index itself, so a rebuild writes it into the new
directory and the switch to that directory changes passages and properties together."""
from __future__ import annotations

from typing import Callable, Iterable, Iterator

from whoosh import query
from whoosh.columns import VarBytesColumn
from whoosh.fields import COLUMN, ID, STORED

from .. import storage
from ..base import Conflict
from . import merging
from .records import (
    DELETED_PREFIX,
    OPTIONAL_FIELDS,
    PROPERTY_PREFIX,
    passage_from_stored,
    passage_record,
    property_record,
)

_FIELD_TYPES = {"suggested": STORED, "manual": STORED, "curated": ID, "card": lambda: COLUMN(VarBytesColumn())}


def add_missing_fields(writer) -> None:
    """An index made before a field existed gets it (Whoosh adds fields to a live schema)."""
    for name in OPTIONAL_FIELDS:
        if name not in writer.schema:
            writer.add_field(name, _FIELD_TYPES[name]())


def read_property(searcher, name: str) -> str | None:
    fields = searcher.document(id=PROPERTY_PREFIX + name)
    return fields.get("data") if fields and fields.get("kind") == "m" else None


def check_expected(searcher, expect: dict[str, str] | None) -> None:
    for name, value in (expect or {}).items():
        held = read_property(searcher, name)
        if held is not None and held != value:
            raise Conflict(f"the index's {name} changed to {held[:40]!r} while this write was prepared "
                           f"for {value[:40]!r}; run it again")


class CurationSupport:
    """Mixed into WhooshIndex (it provides ``home``, ``lock_timeout``, ``searcher``,
    ``_writable_index`` and ``_writer``)."""

    def _properties(self) -> dict[str, str]:
        s = self.searcher()
        return {s.stored_fields(n)["id"][len(PROPERTY_PREFIX):]: s.stored_fields(n)["data"]
                for n in s.docs_for_query(query.Term("kind", "m"))}

    def deletions(self, since: str = "") -> list[dict]:
        """Deletions are property records (``deletion_record``), so a rebuild carries them over."""
        s = self.searcher()
        found = [(fields["data"], fields["id"][len(DELETED_PREFIX):])
                 for fields in (s.stored_fields(n) for n in s.docs_for_query(query.Prefix("id", DELETED_PREFIX)))
                 if fields.get("kind") == "m" and fields["data"] >= since]
        return [{"id": doc_id, "deleted_at": at} for at, doc_id in sorted(found)]

    def get_property(self, name: str) -> str | None:
        return read_property(self.searcher(), name)

    def set_property(self, name: str, value: str, if_absent: bool = False) -> str:
        with storage.write_lock(self.home, self.lock_timeout):
            ix = self._writable_index()
            with ix.searcher() as s:
                held = read_property(s, name)
            if held is not None and (if_absent or held == value):
                return held
            writer = self._writer(ix)
            writer.update_document(**property_record(name, value))
            writer.commit(mergetype=merging.tiered)
        return value

    def update_passages(self, passage_ids: Iterable[str], change: Callable[[dict], dict | None]) -> list[dict]:
        written: list[dict] = []
        with storage.write_lock(self.home, self.lock_timeout):
            ix = self._writable_index()
            writer = self._writer(ix)
            try:
                add_missing_fields(writer)
                with ix.searcher() as s:
                    for passage_id in dict.fromkeys(passage_ids):
                        fields = s.document(id=passage_id)
                        if not fields or fields.get("kind") != "p":
                            continue
                        new = change(passage_from_stored(fields))
                        if new is None:
                            continue
                        doc = {"id": fields["document_id"], "title": fields.get("title", "")}
                        writer.update_document(**passage_record(doc, new, legacy_spell="spell" in writer.schema))
                        written.append(new)
            except BaseException:
                writer.cancel()
                raise
            if written:
                writer.commit(mergetype=merging.tiered)
            else:
                writer.cancel()
        return written

    def curated_passages(self, document_ids: Iterable[str] | None = None) -> Iterator[dict]:
        s = self.searcher()
        if "curated" not in s.schema:
            return
        q = query.Term("curated", "1")
        if document_ids is not None:
            ids = list(document_ids)
            if not ids:
                return
            q = query.And([q, query.Or([query.Term("document_id", d) for d in ids])])
        for docnum in sorted(s.docs_for_query(q)):
            yield passage_from_stored(s.stored_fields(docnum))
