"""A bulk ingest: documents read, prepared (split, tagged) in worker processes, and committed in
batches, with a report that answers item by item. ``KnowledgeBase.ingest`` starts one."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from index import SearchIndex

from . import limits
from .models import Document
from .pipeline import Preparer
from .readers import ReadError, ReadResult

REFUSED, PREPARE = "refused", "prepare"  # kinds of ingest pipeline tasks

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
    # one entry per input item, in input order, so a caller can answer item by item (the HTTP bulk
    # endpoint, line by line): {"id", "title", "passages", "tags", "line"} or {"source", "error", "line"}
    items: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"documents": self.documents, "passages": self.passages, "embedded": self.embedded,
                "ids": self.ids,
                "tags": dict(self.tags.most_common()),
                "refused": [{"source": s, "reason": r} for s, r in self.refused],
                "warnings": [{"source": s, "warning": w} for s, w in self.warnings]}


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
                 carry: Callable[[list[Record]], list[dict]] | None = None):
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
        self.report = IngestReport()
        self._batch: list[Record] = []
        self._batch_tags: Counter = Counter()
        self._batch_ids: set[str] = set()
        self._batch_passage_count = 0

    def run(self, items: Iterable[ReadResult | ReadError | Document]) -> IngestReport:
        preparer = Preparer(self._prepare_task, self.workers, weigh=task_chars)
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
            except ValueError as exc:   # InvalidDocument included
                yield REFUSED, (_source(doc), str(exc), result.line)
                continue
            yield PREPARE, result

    def _prepare_task(self, task) -> object:
        """Runs in a worker: refusals pass through, a document becomes (record, passage dicts)."""
        kind, payload = task
        return payload if kind == REFUSED else self.prepare(payload)

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
        self.report.items.append({"id": doc.id, "title": doc.title, "passages": len(passages),
                                  "tags": sorted(tag_counts, key=lambda t: (-tag_counts[t], t)),
                                  "line": result.line})
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

    def _refuse(self, source: str, reason: str, line: int | None) -> None:
        self.report.refused.append((source, reason))
        self.report.items.append({"source": source, "error": reason, "line": line})

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
        report.ids.extend(d["id"] for d, _ in batch)
        report.tags.update(self._batch_tags)
        self._batch = []
        self._batch_tags = Counter()
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
