"""What the Sphinx index keeps beside search: properties (rows ``kind=PROPERTY`` of ``kb_meta_rt``
on every mirror of shard 0; the knowledge base's taxonomy among them) and passages changed one by
one (manual tags), found again by the ``curated`` token of their ``keys``."""
from __future__ import annotations

import json
import uuid
from typing import Callable, Iterable, Iterator

from .. import storage
from ..base import Conflict
from . import records as rec
from .config import DIST_INDEX, META_RT_INDEX, RT_INDEX
from .records import PASSAGE_SELECT, in_list

PAGE = 1000
PROPERTY_SHARD = 0


class CurationSupport:
    """Mixed into SphinxIndex (it provides ``sql``, ``shards``, ``home``, ``lock_timeout``,
    ``_check_tags``, ``_complete`` and ``_version_statement``)."""

    def get_property(self, name: str) -> str | None:
        row_id = rec.property_row(name, "")[0]
        rows = self.sql.read_shard(PROPERTY_SHARD, f"SELECT document_id, data FROM {META_RT_INDEX} "
                                                   f"WHERE kind = {rec.PROPERTY} AND id = {row_id}").rows
        return next((json.loads(data) for held, data in rows if held == name), None)

    def set_property(self, name: str, value: str, if_absent: bool = False) -> str:
        with storage.write_lock(self.home, self.lock_timeout):
            held = self.get_property(name)
            if held is not None and (if_absent or held == value):
                return held
            self._write_properties({name: value})
        return value

    def _write_properties(self, properties: dict[str, str]) -> None:
        """Call under the write lock."""
        rows = [rec.property_row(n, v) for n, v in properties.items()]
        self.sql.write_shard(PROPERTY_SHARD, [rec.replace_statements(META_RT_INDEX, rec.META_COLUMNS, rows),
                                              self._version_statement(PROPERTY_SHARD, uuid.uuid4().hex)])

    def _check_expected(self, expect: dict[str, str] | None) -> None:
        for name, value in (expect or {}).items():
            held = self.get_property(name)
            if held is not None and held != value:
                raise Conflict(f"the index's {name} changed to {held[:40]!r} while this write was prepared "
                               f"for {value[:40]!r}; run it again")

    def update_passages(self, passage_ids: Iterable[str], change: Callable[[dict], dict | None]) -> list[dict]:
        by_shard: dict[int, list[str]] = {}
        for passage_id in dict.fromkeys(passage_ids):
            document_id, _, ordinal = passage_id.rpartition(":")
            if document_id and ordinal.isdigit():
                by_shard.setdefault(rec.shard_of(document_id, self.shards), []).append(passage_id)
        written: list[dict] = []
        with storage.write_lock(self.home, self.lock_timeout):
            for shard, ids in sorted(by_shard.items()):
                rows = []
                for i in range(0, len(ids), PAGE):
                    part = ids[i:i + PAGE]
                    found = self.sql.read_shard(shard, f"SELECT {PASSAGE_SELECT} FROM {RT_INDEX} WHERE id IN "
                                                       f"({in_list(rec.passage_row_id(p) for p in part)}) "
                                                       f"LIMIT {len(part)} OPTION max_matches={len(part)}").rows
                    wanted = set(part)
                    rows += [r for r in found if f"{r[1]}:{r[2]}" in wanted]
                new_rows = []
                for row in rows:
                    passage = rec.passage_from_row(row)
                    new = change(dict(passage))
                    if new is None:
                        continue
                    self._check_tags(set(new.get("tags", [])))
                    doc = {"id": passage["document_id"], "title": passage.pop("document_title", "")}
                    new_rows.append(rec.passage_row(doc, new))
                    written.append(new)
                if new_rows:
                    self.sql.write_shard(shard, [rec.replace_statements(RT_INDEX, rec.PASSAGE_COLUMNS, new_rows),
                                                 self._version_statement(shard, uuid.uuid4().hex)])
        return written

    def curated_passages(self, document_ids: Iterable[str] | None = None) -> Iterator[dict]:
        """Of given documents: read from their shards only (a shard down elsewhere does not matter)."""
        match = f"MATCH('@keys {rec.CURATED}')"
        if document_ids is None:
            yield from self._curated_pages(lambda sql: self._complete(sql).rows, DIST_INDEX, match)
            return
        by_shard: dict[int, list[int]] = {}
        for document_id in document_ids:
            by_shard.setdefault(rec.shard_of(document_id, self.shards), []).append(rec.doc_key(document_id))
        for shard, keys in sorted(by_shard.items()):
            for i in range(0, len(keys), PAGE):
                where = f"{match} AND doc_key IN ({in_list(keys[i:i + PAGE])})"
                yield from self._curated_pages(lambda sql, shard=shard: self.sql.read_shard(shard, sql).rows,
                                               RT_INDEX, where)

    def _curated_pages(self, read: Callable[[str], list], index: str, where: str) -> Iterator[dict]:
        offset = 0
        while True:
            rows = read(f"SELECT {PASSAGE_SELECT} FROM {index} WHERE {where} ORDER BY document_id ASC, "
                        f"ordinal ASC LIMIT {offset}, {PAGE} OPTION max_matches={offset + PAGE}")
            for row in rows:
                passage = rec.passage_from_row(row)
                passage.pop("document_title", None)
                yield passage
            if len(rows) < PAGE:
                return
            offset += PAGE
