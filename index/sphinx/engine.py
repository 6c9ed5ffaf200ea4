"""The distributed engine: Sphinx 2.2 / Manticore over SphinxQL behind the ``SearchIndex`` interface.

Reads go to the distributed indexes ``kb`` (passages) and ``kb_meta`` (documents, vocabulary,
versions) on any node; a shard that did not answer is retried and otherwise reported as
``partial`` (searches) or ``BackendUnavailable`` (listings, which have no such flag).
A document lives on shard ``doc_key % shards``; its rows are written to every mirror of that
shard, its passages in one RT transaction. Totals come from ``SHOW META``, facets from
``FACET`` on the tag-id MVA, groups from ``GROUP BY doc_key WITHIN GROUP ORDER BY WEIGHT()``,
snippets from ``CALL SNIPPETS``. What Sphinx cannot do (fuzzy terms) raises ``Unsupported``.
"""
from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Iterable, Iterator

from .. import storage
from ..base import BackendUnavailable, Filters, SearchIndex, SearchRequest, SearchResponse, deleted_now
from ..querying import QueryBuilder, QueryLimits
from ..schema import make_schema
from ..text.analysis import text_analyzer
from ..text.highlight import Highlighter
from . import records as rec
from .client import Answer, SphinxQL, sendable
from .config import DIST_INDEX, META_DIST_INDEX, META_RT_INDEX, RT_INDEX
from .curation import CurationSupport
from .query import FRAGMENT, MARK_END, MARK_START, Translator, format_snippet, has_marks
from .records import PASSAGE_SELECT, in_list
from .suggest import Suggester
from .tagnames import FACET_LIMIT, TagNames

# Sphinx's statistical BM25 ranker (k1=1.2, no length normalisation): on SciFact it ranked best
# of the rankers 2.2 offers (nDCG@10 0.690; bm25a/bm25f expressions 0.56, the default
# proximity_bm25 0.56), see README "Scaling out". Plain IDF, log(N/n), because Sphinx's default
# "normalized" IDF turns negative for words in over half of the passages: on a small knowledge
# base, matching "countries" would then lower a passage's score. WEIGHT() is about 1000 × BM25.
RANKER = "bm25"
IDF = "'plain,tfidf_normalized'"
MAX_MATCHES = 1000      # Sphinx's default: a bigger match buffer costs every query (35 ms against 14)
PAGE = 1000


class SphinxIndex(CurationSupport, TagNames, SearchIndex):
    def __init__(self, home: str | Path, nodes: str, lock_timeout: float = 10.0,
                 limits: QueryLimits | None = None, ranker: str = RANKER, idf: str = IDF):
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.lock_timeout = lock_timeout
        self.sql = SphinxQL(nodes)
        self.shards = len(self.sql.shards)
        self.options = f"ranker={ranker}, idf={idf}"
        self.translator = Translator(QueryBuilder(make_schema(), limits))
        self.highlighter = Highlighter(text_analyzer())
        self.suggester = Suggester(self)
        self._tag_names: dict[int, str] = {}

    def close(self) -> None:
        self.sql.close()

    def replace_documents(self, items: Iterable[tuple[dict, list[dict]]], expect: dict[str, str] | None = None) -> int:
        items = list(items)
        if not items:
            return 0
        by_shard: dict[int, list[tuple[dict, list[dict]]]] = {}
        for doc, passages in items:
            by_shard.setdefault(rec.shard_of(doc["id"], self.shards), []).append((doc, passages))
        with storage.write_lock(self.home, self.lock_timeout):
            self._check_expected(expect)
            self._check_tags({t for _, ps in items for p in ps for t in p.get("tags", [])})
            token = uuid.uuid4().hex
            for shard, shard_items in sorted(by_shard.items()):
                try:
                    self.sql.write_shard(shard, self._transactions(shard, shard_items, token))
                except BaseException:
                    self.suggester.forget(shard)
                    raise
        return len(items)

    def _transactions(self, shard: int, items, token: str) -> list[list[tuple]]:
        keys = in_list(rec.doc_key(doc["id"]) for doc, _ in items)
        meta_rows, passage_rows, words = [], [], set()
        for doc, passages in items:
            meta_rows.extend(rec.document_rows(doc))
            for p in passages:
                passage_rows.append(rec.passage_row(doc, p))
                words |= rec.vocabulary(f"{doc.get('title', '')} {p.get('section', '')} {p['text']}")
        meta_rows.extend(self.suggester.new_word_rows(shard, words))
        documents = [(f"DELETE FROM {META_RT_INDEX} WHERE kind IN ({rec.DOCUMENT},{rec.CHUNK},{rec.DELETION}) "
                      f"AND doc_key IN ({keys})", None)]   # stored again: no longer deleted
        documents += rec.replace_statements(META_RT_INDEX, rec.META_COLUMNS, meta_rows)
        passages = [(f"DELETE FROM {RT_INDEX} WHERE doc_key IN ({keys})", None)]
        passages += rec.replace_statements(RT_INDEX, rec.PASSAGE_COLUMNS, passage_rows)
        return [documents, passages, self._version_statement(shard, token)]

    def _version_statement(self, shard: int, token: str) -> list[tuple]:
        return rec.replace_statements(META_RT_INDEX, rec.META_COLUMNS, [rec.version_row(shard, token)])

    def delete_document(self, document_id: str) -> bool:
        shard, key = rec.shard_of(document_id, self.shards), rec.doc_key(document_id)
        with storage.write_lock(self.home, self.lock_timeout):
            found = self.sql.read_shard(shard, f"SELECT document_id FROM {META_RT_INDEX} "
                                               f"WHERE kind = {rec.DOCUMENT} AND doc_key = {key}")
            if not any(row[0] == document_id for row in found.rows):
                return False
            self.sql.write_shard(shard, [
                [(f"DELETE FROM {RT_INDEX} WHERE doc_key = {key}", None)],
                [(f"DELETE FROM {META_RT_INDEX} WHERE kind IN ({rec.DOCUMENT},{rec.CHUNK}) "
                  f"AND doc_key = {key}", None),
                 *rec.replace_statements(META_RT_INDEX, rec.META_COLUMNS,
                                         [rec.deletion_row(document_id, deleted_now())])],
                self._version_statement(shard, uuid.uuid4().hex)])
        return True

    def deletions(self, since: str = "") -> list[dict]:
        found, last = [], 0
        while True:
            rows = self._complete(f"SELECT id, document_id, data FROM {META_DIST_INDEX} WHERE kind = "
                                  f"{rec.DELETION} AND id > {last} ORDER BY id ASC LIMIT {PAGE}").rows
            found.extend((json.loads(data), doc_id) for _, doc_id, data in rows)
            if len(rows) < PAGE:
                break
            last = int(rows[-1][0])
        return [{"id": doc_id, "deleted_at": at} for at, doc_id in sorted(found) if at >= since]

    def rebuild(self, items: Iterable[tuple[dict, list[dict]]], batch: int = 200, progress=None,
                properties: dict[str, str] | None = None) -> int:
        """Rewrite every document in place, a batch at a time (each document atomically); then
        set the properties."""
        count, chunk = 0, []
        for item in items:
            chunk.append(item)
            if len(chunk) >= batch:
                count += self.replace_documents(chunk)
                if progress:
                    progress(len(chunk))
                chunk = []
        if chunk:
            count += self.replace_documents(chunk)
            if progress:
                progress(len(chunk))
        if properties:
            with storage.write_lock(self.home, self.lock_timeout):
                self._write_properties(properties)
        return count

    # ------------------------------------------------------------------ searching

    def search(self, request: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        translated = self.translator.translate(request.q, request.syntax)
        read = {"syntax": translated.syntax, "notice": translated.notice}
        facets_empty = {"tags": {}, "documents": {}} if request.facets else {}
        where, args = self._where(request.filters, translated.match)
        if translated.nothing or where is None:
            return SearchResponse(0, [], facets_empty, round((time.perf_counter() - started) * 1000, 2), **read)
        self.suggester.check_expansions(translated.patterns, self.translator.builder.limits.max_expansions)
        browse = translated.match is None
        by_document = browse or request.sort == "document"
        sql = f"SELECT {PASSAGE_SELECT}{'' if browse else ', WEIGHT()'} FROM {DIST_INDEX}{where}"
        if request.group_by == "document":
            within = "ordinal ASC" if by_document else "WEIGHT() DESC, ordinal ASC"
            sql += f" GROUP BY doc_key WITHIN GROUP ORDER BY {within}"
        sql += " ORDER BY " + ("document_id ASC, ordinal ASC" if by_document
                               else "WEIGHT() DESC, document_id ASC, ordinal ASC")
        want = request.offset + request.limit
        max_matches = max(want, MAX_MATCHES)
        sql += f" LIMIT {request.offset}, {request.limit} OPTION max_matches={max_matches}"
        if not browse:
            sql += f", {self.options}"
        if request.facets:  # FACET keeps at most max_matches groups: if it is full, count them all apart
            sql += (f" FACET tag_ids ORDER BY COUNT(*) DESC LIMIT {max_matches}"
                    f" FACET document_id ORDER BY COUNT(*) DESC LIMIT {max_matches}")
        answer = self.sql.read(sql, args)
        for position, column in ((1, "tag_ids"), (2, "document_id")) if request.facets else ():
            if len(answer.sets) > position and len(answer.sets[position]) >= max_matches:
                answer.sets[position] = self.sql.read(
                    f"SELECT GROUPBY(), COUNT(*) FROM {DIST_INDEX}{where} GROUP BY {column} LIMIT {FACET_LIMIT} "
                    f"OPTION max_matches={FACET_LIMIT}" + ("" if browse else f", {self.options}"), args).rows
        hits = []
        for row in answer.rows:
            record = rec.passage_from_row(row)
            record["score"] = None if by_document else round(row[5] / rec.SCORE_SCALE, 4)
            hits.append(record)
        if request.highlight:
            self._snippets(hits, translated.highlight)
        facets = {"tags": self._facets(answer), "documents": {str(d): int(n) for d, n in (
            answer.sets[2] if len(answer.sets) > 2 else []) if int(n)}} if request.facets else {}
        took = round((time.perf_counter() - started) * 1000, 2)
        return SearchResponse(total=answer.total_found, hits=hits, facets=facets, took_ms=took,
                              partial=answer.partial, **read)

    def _where(self, filters: Filters, match: str | None) -> tuple[str | None, tuple]:
        """`` WHERE ...`` and its arguments; None when a filter can match nothing."""
        clauses, args = [], []
        if match:
            clauses.append("MATCH(%s)")
            args.append(match)
        for tag in filters.tags:
            if not self._tag_ok(tag):
                return None, ()
            clauses.append(f"tag_ids = {rec.tag_id(tag)}")
        any_tags = [t for t in filters.any_tags if self._tag_ok(t)]
        if filters.any_tags and not any_tags:
            return None, ()
        if any_tags:
            clauses.append(f"tag_ids IN ({in_list(rec.tag_id(t) for t in any_tags)})")
        not_tags = [t for t in filters.not_tags if self._tag_ok(t)]
        if not_tags:
            clauses.append(f"tag_ids NOT IN ({in_list(rec.tag_id(t) for t in not_tags)})")
        if filters.documents:
            clauses.append(f"doc_key IN ({in_list(rec.doc_key(d) for d in filters.documents)})")
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(args)

    def _snippets(self, hits: list[dict], highlight: str) -> None:
        if not hits:
            return
        raw = [""] * len(hits)
        if highlight:
            texts = [sendable(h["text"]) for h in hits]
            answer = self.sql.any_node(
                f"CALL SNIPPETS(({', '.join(['%s'] * len(texts))}), '{RT_INDEX}', %s, "
                "%s AS before_match, %s AS after_match, %s AS chunk_separator, 'none' AS html_strip_mode, "
                "1 AS allow_empty, 3 AS limit_passages, 600 AS limit, 12 AS around, 1 AS query_mode)",
                (*texts, highlight, MARK_START, MARK_END, FRAGMENT))
            raw = [row[0] for row in answer.rows] + [""] * (len(hits) - len(answer.rows))
        for hit, snippet in zip(hits, raw):
            hit["snippet"] = format_snippet(snippet) if has_marks(snippet) else self.highlighter.lead(hit["text"])

    def _facets(self, answer: Answer) -> dict[str, int]:
        pairs = [(int(crc), int(count)) for crc, count in (answer.sets[1] if len(answer.sets) > 1 else [])]
        names = self._names({crc for crc, _ in pairs})
        counts = {names[crc]: count for crc, count in pairs if crc in names and count}
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    # ------------------------------------------------------------------ lookups

    def get_passage(self, passage_id: str) -> dict | None:
        document_id, _, ordinal = passage_id.rpartition(":")
        if not document_id or not ordinal.isdigit():
            return None
        answer = self.sql.read_shard(rec.shard_of(document_id, self.shards),
                                     f"SELECT {PASSAGE_SELECT} FROM {RT_INDEX} "
                                     f"WHERE id = {rec.passage_row_id(passage_id)}")
        for row in answer.rows:
            if row[1] == document_id and int(row[2]) == int(ordinal):
                return rec.passage_from_row(row)
        return None

    def get_document(self, document_id: str) -> dict | None:
        answer = self.sql.read_shard(
            rec.shard_of(document_id, self.shards),
            f"SELECT kind, ordinal, data, document_id FROM {META_RT_INDEX} WHERE kind IN "
            f"({rec.DOCUMENT},{rec.CHUNK}) AND doc_key = {rec.doc_key(document_id)} "
            f"ORDER BY ordinal ASC LIMIT {PAGE} OPTION max_matches={PAGE}")
        return rec.document_from_rows([r[:3] for r in answer.rows if r[3] == document_id])

    def passages_of(self, document_id: str) -> list[dict]:
        shard, key, out, last = rec.shard_of(document_id, self.shards), rec.doc_key(document_id), [], -1
        while True:
            rows = self.sql.read_shard(shard, f"SELECT {PASSAGE_SELECT} FROM {RT_INDEX} WHERE doc_key = {key} "
                                              f"AND ordinal > {last} ORDER BY ordinal ASC LIMIT {PAGE}").rows
            out.extend(rec.passage_from_row(r) for r in rows if r[1] == document_id)
            if len(rows) < PAGE:
                return out
            last = int(rows[-1][2])

    def _complete(self, sql: str, args=None) -> Answer:
        """A read that must not be short: a shard that stays down is an error, not a smaller answer."""
        answer = self.sql.read(sql, args)
        if answer.partial:
            raise BackendUnavailable(f"a shard does not answer: {answer.meta.get('warning', '')[:300]}")
        return answer

    def _document_heads(self, keys: Iterable[int] | None = None) -> list[tuple[str, int, str]]:
        """(document id, doc_key, head data) of every document (or of these), sorted by id."""
        heads, last = [], 0
        only = f" AND doc_key IN ({in_list(keys)})" if keys is not None else ""
        while True:
            rows = self._complete(f"SELECT id, document_id, doc_key, data FROM {META_DIST_INDEX} WHERE "
                                  f"kind = {rec.DOCUMENT} AND id > {last}{only} ORDER BY id ASC "
                                  f"LIMIT {PAGE}").rows
            heads.extend((r[1], int(r[2]), r[3]) for r in rows)
            if len(rows) < PAGE:
                return sorted(heads)
            last = int(rows[-1][0])

    def list_documents(self, offset: int = 0, limit: int | None = None) -> tuple[int, list[dict]]:
        if limit is None:
            heads = self._document_heads()
            total, page = len(heads), heads[offset:]
        else:
            answer = self._complete(f"SELECT document_id, doc_key, data FROM {META_DIST_INDEX} WHERE kind = "
                                    f"{rec.DOCUMENT} ORDER BY document_id ASC LIMIT {offset}, {limit} "
                                    f"OPTION max_matches={max(offset + limit, 1)}")
            total, page = answer.total_found, [(r[0], int(r[1]), r[2]) for r in answer.rows]
        return total, self._summarised(page)

    def summaries(self, document_ids) -> dict[str, dict]:
        ids = list(dict.fromkeys(document_ids))
        heads = [head for i in range(0, len(ids), PAGE)
                 for head in self._document_heads([rec.doc_key(d) for d in ids[i:i + PAGE]])]
        wanted = set(ids)   # a doc_key is a hash of the id: keep only the ids asked for
        return {summary["id"]: summary for summary in self._summarised([h for h in heads if h[0] in wanted])}

    def _summarised(self, heads: list[tuple[str, int, str]]) -> list[dict]:
        """Document summaries (``list_documents``' entries) of (id, doc_key, head data)."""
        counts = self._passage_counts([key for _, key, _ in heads])
        out = []
        for _document_id, key, data in heads:
            summary = rec.document_summary(data)
            summary["passages"] = counts.get(key, 0)
            out.append(summary)
        return out

    def _passage_counts(self, keys: list[int]) -> dict[int, int]:
        counts: dict[int, int] = {}
        for i in range(0, len(keys), PAGE):
            part = keys[i:i + PAGE]
            rows = self._complete(f"SELECT GROUPBY(), COUNT(*) FROM {DIST_INDEX} WHERE doc_key IN "
                                  f"({in_list(part)}) GROUP BY doc_key LIMIT {len(part)} "
                                  f"OPTION max_matches={len(part)}").rows
            counts.update((int(k), int(c)) for k, c in rows)
        return counts

    def iter_documents(self) -> Iterator[dict]:
        heads = self._document_heads()
        for i in range(0, len(heads), 50):
            batch = heads[i:i + 50]
            chunks = sum(json.loads(data).get("text_chunks", 1) for _, _, data in batch)
            rows = self._complete(f"SELECT doc_key, kind, ordinal, data FROM {META_DIST_INDEX} WHERE kind = "
                                  f"{rec.CHUNK} AND doc_key IN ({in_list(k for _, k, _ in batch)}) "
                                  f"LIMIT {chunks} OPTION max_matches={max(chunks, 1)}").rows
            for _document_id, key, data in batch:
                doc = rec.document_from_rows([(rec.DOCUMENT, 0, data)] +
                                             [(int(r[1]), int(r[2]), r[3]) for r in rows if int(r[0]) == key])
                if doc is not None:
                    yield doc

    def iter_passages(self, filters: Filters = Filters()) -> Iterator[dict]:
        only = [rec.doc_key(d) for d in filters.documents] if filters.documents else None
        heads = self._document_heads(only)
        where, args = self._where(Filters(filters.tags, filters.any_tags, filters.not_tags), None)
        if where is None:
            return
        for i in range(0, len(heads), 50):
            keys = in_list(k for _, k, _ in heads[i:i + 50])
            clause = (where + " AND " if where else " WHERE ") + f"doc_key IN ({keys})"
            offset = 0
            while True:
                rows = self._complete(f"SELECT {PASSAGE_SELECT} FROM {DIST_INDEX}{clause} ORDER BY document_id "
                                      f"ASC, ordinal ASC LIMIT {offset}, {PAGE} OPTION max_matches={offset + PAGE}",
                                      args).rows
                yield from (rec.passage_from_row(r) for r in rows)
                if len(rows) < PAGE:
                    break
                offset += PAGE

    def tag_counts(self) -> dict[str, int]:
        answer = self._complete(f"SELECT GROUPBY(), COUNT(*) AS c, tags FROM {DIST_INDEX} GROUP BY tag_ids "
                                f"ORDER BY c DESC LIMIT {FACET_LIMIT} OPTION max_matches={FACET_LIMIT}")
        counts = {}
        for crc, count, tags in answer.rows:
            self._learn(int(crc), json.loads(tags))
            if int(crc) in self._tag_names:
                counts[self._tag_names[int(crc)]] = int(count)
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def similar(self, passage_id: str, limit: int = 10, filters: Filters = Filters(),
                semantic: bool = False) -> list[dict] | None:
        return self.suggester.similar(passage_id, limit, filters)   # no vectors here: always by words

    def suggest(self, q: str, limit: int = 5) -> dict:
        return self.suggester.suggest(q, limit)

    def stats(self) -> dict:
        documents = self._complete(f"SELECT id FROM {META_DIST_INDEX} WHERE kind = {rec.DOCUMENT} LIMIT 1")
        passages = self._complete(f"SELECT id FROM {DIST_INDEX} LIMIT 1")
        size = 0
        for shard in range(self.shards):
            for index in (RT_INDEX, META_RT_INDEX):
                status = dict(self.sql.read_shard(shard, f"SHOW INDEX {index} STATUS").rows)
                size += int(status.get("ram_bytes", 0)) + int(status.get("disk_bytes", 0))
        return {"documents": documents.total_found, "passages": passages.total_found,
                "tags": len(self.tag_counts()), "index_bytes": size, "version": self.version()}

    def version(self) -> str:
        answer = self.sql.read(f"SELECT id, data FROM {META_DIST_INDEX} WHERE kind = {rec.VERSION} "
                               f"LIMIT {self.shards + 10}")
        tokens = ".".join(json.loads(data)[:8] for _, data in sorted(answer.rows)) or "empty"
        return f"sphinx.{tokens}" + (".partial" if answer.partial else "")
