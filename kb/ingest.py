"""A bulk ingest: documents read, prepared (split, tagged) in worker processes, and committed in
batches, with a report that answers item by item. ``KnowledgeBase.ingest`` starts one."""
from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Callable, Iterable, Iterator

from index import SearchIndex

from . import limits
from .models import Document
from .pipeline import Preparer
from .readers import ReadError, ReadResult, Skipped

REFUSED, PREPARE = "refused", "prepare"  # kinds of ingest pipeline tasks
NEW, REPLACED, UNCHANGED = "new", "replaced", "unchanged"   # what an ingested document did to its id

Record = tuple[dict, list[dict]]         # a document and its passages, as the index stores them


@dataclass
class IngestReport:
    documents: int = 0
    passages: int = 0
    embedded: int = 0
    tags: Counter = field(default_factory=Counter)
    ids: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)   # (source, reason)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (source, reason): files no reader takes
    statuses: Counter = field(default_factory=Counter)   # new / replaced / unchanged, of committed documents
    # one entry per input item, in input order, so a caller can answer item by item (the HTTP bulk
    # endpoint, line by line): {"id", "title", "passages", "tags", "line", "outcome", "source"} or
    # {"source", "error", "line"} (with "taken": True when the id belongs to another source)
    items: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"documents": self.documents, "passages": self.passages, "embedded": self.embedded,
                "ids": self.ids, **{status: self.statuses[status] for status in (NEW, REPLACED, UNCHANGED)},
                "tags": dict(self.tags.most_common()),
                "refused": [{"source": s, "reason": r} for s, r in self.refused],
                "skipped": [{"source": s, "reason": r} for s, r in self.skipped],
                "warnings": [{"source": s, "warning": w} for s, w in self.warnings]}


_LINE_MARK = re.compile(r"#\d+$")


class IdTaken(ValueError):
    """A document would replace one of the same id that came from another source: refused, never a
    silent replace (a PUT, or a delete first, replaces on purpose)."""


def same_source(stored: str, given: str, relative: str | None = None) -> bool:
    """Whether a stored document's source names the same file as a new one's: equal (as paths from here
    too), or one path ends with the other, folder and name at least (the same file named from another
    folder); for a file found in a folder, the stored source ends with its path inside that folder, when
    that path has a folder (the folder moved or was named another way). A bare name never matches
    another path (``README.md`` is not ``b/README.md``). The ``#<line>`` a JSON Lines record's default
    source ends with is left out."""
    stored, given = _LINE_MARK.sub("", stored), _LINE_MARK.sub("", given)   # lines of one .jsonl: one source
    if stored == given:
        return True
    if not stored or not given:
        return False
    if os.path.abspath(stored) == os.path.abspath(given):
        return True
    a, b = _parts(stored), _parts(given)
    short, long_ = sorted((a, b), key=len)
    if len(short) >= 2 and long_[len(long_) - len(short):] == short:
        return True
    tail = _parts(relative) if relative else ()
    return len(tail) >= 2 and a[len(a) - len(tail):] == tail


def _parts(path: str) -> tuple[str, ...]:
    return tuple(p for p in PurePosixPath(path.replace("\\", "/")).parts if p not in (".", "/"))


class IngestRun:
    """One bulk ingest. Each item is validated here, prepared by ``prepare`` (a ReadResult to its
    record and passage dicts) in ``workers`` processes, embedded by ``embed`` when given, and
    committed every ``batch_documents`` documents or ``batch_passages`` passages, so a crash loses
    at most the batch in flight. Bad items are reported and the rest still land; the report keeps
    the input order whatever the workers do."""

    def __init__(self, index: SearchIndex, prepare: Callable[[ReadResult], Record], *,
                 embed: Callable[[list[Record], Callable[[int], None]], None] | None = None,
                 extra_tags: Iterable[str] = (), batch_documents: int = 5000, batch_passages: int = 5000,
                 workers: int = 0, progress: Callable[[IngestReport], None] | None = None,
                 expect: dict[str, str] | None = None,
                 carry: Callable[[list[Record]], list[dict]] | None = None, replace: bool = False,
                 itemize: bool = True):
        self.index = index
        self.prepare = prepare
        self.embed = embed
        self.extra_tags = list(extra_tags)
        self.batch_documents = batch_documents
        self.batch_passages = batch_passages
        self.workers = workers
        self.progress = progress
        self.expect = expect   # index properties the tags were made for (the taxonomy)
        self.carry = carry     # re-applies the manual tag edits the index holds for these documents
        self.replace = replace  # replace a document of the same id whatever its source (PUT)
        self.itemize = itemize  # report each landed document (items, ids); False keeps a long load's memory flat
        self._claimed: dict[str, str] = {}   # id -> source, of the documents of this run
        self.report = IngestReport()
        self._batch: list[Record] = []
        self._batch_tags: Counter = Counter()
        self._batch_statuses: Counter = Counter()
        self._batch_ids: set[str] = set()
        self._batch_passage_count = 0

    def run(self, items: Iterable[ReadResult | ReadError | Document]) -> IngestReport:
        preparer = Preparer(self._prepare_task, self.workers, weigh=task_chars)
        with self.index.bulk_load():
            for (kind, payload), ok, outcome in preparer.map(self._tasks(items)):
                if kind == REFUSED:
                    self._refuse(*payload)
                elif not ok:
                    self._refuse(_source(payload.document), str(outcome), payload.line)
                else:
                    self._add(payload, *outcome)
            self._flush()
        return self.report

    def _tasks(self, items) -> Iterator[tuple[str, object]]:
        for item in items:
            if isinstance(item, Skipped):
                self.report.skipped.append((item.source, item.reason))
                continue
            if isinstance(item, ReadError):
                yield REFUSED, (*split_reason(str(item)), item.line)
                continue
            result = item if isinstance(item, ReadResult) else ReadResult(document=item)
            doc = result.document
            for warning in result.warnings:
                self.report.warnings.append((_source(doc), warning))
            try:
                doc.tags = list(doc.tags) + self.extra_tags
                doc.validate()
                limits.check_sections(result.sections)
                limits.depth_and_strings(result.manual_tags or [], "manual_tags")
                result.status = self._status(result)
            except IdTaken as exc:
                yield REFUSED, (_source(doc), str(exc), result.line, True)
                continue
            except ValueError as exc:   # InvalidDocument included
                yield REFUSED, (_source(doc), str(exc), result.line)
                continue
            yield PREPARE, result

    def _status(self, result: ReadResult) -> str:
        """new, replaced or unchanged (the same source, or the same title and text); IdTaken when the id
        holds a document of another source, stored or earlier in this run."""
        doc = result.document
        claimed = self._claimed.get(doc.id)
        if claimed is not None:
            if not (self.replace or same_source(claimed, doc.source, result.relative)):
                raise IdTaken(f"id '{doc.id}' is taken by {claimed or 'a document without a source'} "
                              "in this ingest: not replaced")
            return REPLACED
        stored = self.index.get_document(doc.id)
        status = NEW
        if stored is not None:
            unchanged = (stored.get("original") or stored.get("text")) == doc.text and stored.get("title") == doc.title
            if not (self.replace or unchanged or same_source(stored.get("source") or "", doc.source, result.relative)):
                where = stored.get("source") or "a document without a source"
                raise IdTaken(f"id '{doc.id}' is taken by {where}: not replaced (delete it first, "
                              "or give this one another id)")
            status = UNCHANGED if unchanged and stored.get("tags", []) == doc.tags else REPLACED
        self._claimed[doc.id] = doc.source
        return status

    def _prepare_task(self, task) -> object:
        """Runs in a worker: refusals pass through, a document becomes (record, passage dicts)."""
        kind, payload = task
        if kind == REFUSED:
            return payload
        record, passages = self.prepare(payload)
        self.index.prepare_passages(record, passages)
        return record, passages

    def _add(self, result: ReadResult, record: dict, passages: list[dict]) -> None:
        doc = result.document
        self._report_lost(doc, record.pop("manual_lost", []))
        if not passages:
            self._refuse(_source(doc), "no passages: nothing but site chrome", result.line)
            return
        if doc.id in self._batch_ids:  # the same id twice in one commit would be stored twice: commit first
            self._flush()
        self._batch_ids.add(doc.id)
        tag_counts = Counter(t for p in passages for t in p["tags"])
        if self.itemize:
            self.report.items.append({"id": doc.id, "title": doc.title, "passages": len(passages),
                                      "tags": sorted(tag_counts, key=lambda t: (-tag_counts[t], t)),
                                      "line": result.line, "outcome": result.status, "source": _source(doc)})
        self._batch_statuses[result.status] += 1
        self._batch.append((record, passages))
        self._batch_passage_count += len(passages)
        self._batch_tags.update(tag_counts)
        if len(self._batch) >= self.batch_documents or self._batch_passage_count >= self.batch_passages:
            self._flush()

    def _report_lost(self, doc, lost: list[dict]) -> None:
        source = doc.get("source") or doc["id"] if isinstance(doc, dict) else _source(doc)
        for e in lost:
            sign = "+" if e["action"] == "add" else "-"
            self.report.warnings.append((source, f"manual tag {sign}{e['tag']} on {e['passage']} kept but not "
                                                 f"applied: {e['reason']}"))

    def _refuse(self, source: str, reason: str, line: int | None, taken: bool = False) -> None:
        self.report.refused.append((source, reason))
        item = {"source": source, "error": reason, "line": line}
        self.report.items.append({**item, "taken": True} if taken else item)

    def _flush(self) -> None:
        batch, report = self._batch, self.report
        self._batch_ids.clear()
        self._batch_passage_count = 0
        if not batch:
            return
        if self.carry is not None:
            lost = self.carry(batch)
            for record, _ in batch:
                self._report_lost(record, [e for e in lost if e["passage"].rpartition(":")[0] == record["id"]])
        if self.embed is not None:
            self.embed(batch, self._count_embedded)
        self.index.replace_documents(batch, expect=self.expect)
        report.documents += len(batch)
        report.passages += sum(len(ps) for _, ps in batch)
        if self.itemize:
            report.ids.extend(d["id"] for d, _ in batch)
        report.tags.update(self._batch_tags)
        report.statuses.update(self._batch_statuses)
        self._batch = []
        self._batch_tags = Counter()
        self._batch_statuses = Counter()
        if self.progress:
            self.progress(report)

    def _count_embedded(self, n: int) -> None:
        self.report.embedded += n
        if self.progress:
            self.progress(self.report)


def _source(doc: Document) -> str:
    return doc.source or doc.id


def task_chars(task) -> int:
    """A pipeline task's size, to bound what waits in memory (see Preparer)."""
    kind, payload = task
    return len(payload.document.text) if kind == PREPARE else 0


def split_reason(message: str) -> tuple[str, str]:
    source, sep, reason = message.partition(": ")
    return (source, reason) if sep else ("", message)
