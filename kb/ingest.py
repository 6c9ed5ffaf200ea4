"""A bulk ingest: documents read, prepared (split, tagged) in worker processes, and committed in
batches, with a report that answers item by item. ``KnowledgeBase.ingest`` is the entry point."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable

from .models import Document
from .pipeline import Preparer
from .readers import ReadError, ReadResult

if TYPE_CHECKING:  # pragma: no cover
    from .core import KnowledgeBase

REFUSED, PREPARE = "refused", "prepare"  # kinds of ingest pipeline tasks


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


def ingest_items(kb: KnowledgeBase, items: Iterable[ReadResult | ReadError | Document], extra_tags: Iterable[str],
                 progress: Callable[[IngestReport], None] | None, workers: int) -> IngestReport:
    """See ``KnowledgeBase.ingest``."""
    report = IngestReport()
    extra = list(extra_tags)
    batch: list[tuple[dict, list[dict]]] = []
    batch_tags: Counter = Counter()
    batch_ids: set[str] = set()
    batch_passages = [0]

    def flush():
        batch_ids.clear()
        batch_passages[0] = 0
        if batch:
            if kb.embed_on_ingest:
                kb.embed(batch, lambda n: count_embedded(report, n, progress))
            kb.index.replace_documents(batch)
            report.documents += len(batch)
            report.passages += sum(len(ps) for _, ps in batch)
            report.ids.extend(d["id"] for d, _ in batch)
            report.tags.update(batch_tags)
            batch.clear()
            batch_tags.clear()
            if progress:
                progress(report)

    def refuse(source: str, reason: str, line: int | None) -> None:
        report.refused.append((source, reason))
        report.items.append({"source": source, "error": reason, "line": line})

    def tasks():
        for item in items:
            if isinstance(item, ReadError):
                yield REFUSED, (*split_reason(str(item)), item.line)
                continue
            result = item if isinstance(item, ReadResult) else ReadResult(document=item)
            doc = result.document
            for w in result.warnings:
                report.warnings.append((doc.source or doc.id, w))
            try:
                doc.tags = list(doc.tags) + extra
                kb.validate(doc)
            except ValueError as exc:   # InvalidDocument included
                yield REFUSED, (doc.source or doc.id, str(exc), result.line)
                continue
            kb.tagger  # built before any fork, so that workers inherit it
            yield PREPARE, result

    preparer = Preparer(kb._prepare_task, workers, weigh=task_chars)
    for (kind, payload), ok, outcome in preparer.map(tasks()):
        if kind == REFUSED:
            refuse(*payload)
            continue
        result = payload
        doc = result.document
        if not ok:
            refuse(doc.source or doc.id, str(outcome), result.line)
            continue
        record, passages = outcome
        if not passages:
            refuse(doc.source or doc.id, "no passages: nothing but site chrome", result.line)
            continue
        if doc.id in batch_ids:  # the same id twice in one commit would be stored twice: commit first
            flush()
        batch_ids.add(doc.id)
        tag_counts = Counter(t for p in passages for t in p["tags"])
        report.items.append({"id": doc.id, "title": doc.title, "passages": len(passages),
                             "tags": sorted(tag_counts, key=lambda t: (-tag_counts[t], t)), "line": result.line})
        batch.append((record, passages))
        batch_passages[0] += len(passages)
        batch_tags.update(tag_counts)
        if len(batch) >= kb.batch_size or batch_passages[0] >= kb.batch_passages:
            flush()
    flush()
    return report


def count_embedded(report: IngestReport, n: int, progress) -> None:
    report.embedded += n
    if progress:
        progress(report)


def task_chars(task) -> int:
    """A pipeline task's size, to bound what waits in memory (see Preparer)."""
    kind, payload = task
    return len(payload.document.text) if kind == PREPARE else 0


def split_reason(message: str) -> tuple[str, str]:
    source, sep, reason = message.partition(": ")
    return (source, reason) if sep else ("", message)
