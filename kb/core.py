"""The ``KnowledgeBase`` facade: the one core that the CLI and the HTTP API both call."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Callable, Iterable, Iterator

from index import Filters, QueryLimits, SearchIndex, SearchRequest, SearchResponse, open_index

from . import embedding, semantic
from .changes import changes_since, update_document
from .curation import Curation
from .embedding import Embedder
from .ingest import PREPARE, IngestReport, IngestRun, Record, task_chars
from .models import Document, InvalidDocument, Passage, now_iso, valid_document_id
from .pipeline import Preparer
from .readers import ReadError, ReadResult, iter_paths, read_path
from .settings import Settings
from .split import SplitOptions, split_text
from .tagging import Tagger, Taxonomy, manual, stored
from .tagging.keywords import keywords

SAMPLE_PATH = Path(__file__).parent / "data" / "science-diplomacy.txt"
DOCUMENT_FIELDS = ("id", "title", "text", "source", "tags", "metadata")


class KnowledgeBase:
    """Ingest, search, get, delete, rebuild: everything kb does, in one place.

    ``KnowledgeBase("kb-data")`` opens (or creates) the knowledge base in that folder with the
    settings of the environment; ``KnowledgeBase(Settings.from_env(home=..., backend=...))``
    chooses them (kb.settings lists every one)."""

    def __init__(self, settings: Settings | str | os.PathLike | None = None, *,
                 split_options: SplitOptions | None = None, index: SearchIndex | None = None,
                 embedder: Embedder | None = None):
        if not isinstance(settings, Settings):
            settings = Settings.from_env(home=Path(settings) if settings is not None else None)
        self.settings = settings
        self.home = Path(settings.home)
        self.split_options = split_options or SplitOptions()
        limits = QueryLimits(max_expansions=settings.max_expansions, time_limit=settings.query_time_limit or None)
        self.index = index or open_index(
            self.home / "index", backend=settings.backend, nodes=settings.sphinx_nodes,
            lock_timeout=settings.lock_timeout, limits=limits,
            vector_model=embedding.MODEL_NAME if semantic.wanted(settings) else None)
        self.semantics = semantic.Semantics(settings, self.index, lambda: self.taxonomy, embedder)
        self._taxonomy: Taxonomy | None = None
        self._taxonomy_record: tuple[str, dict] | None = None   # (the property as read, its fields)
        self._offered: tuple[tuple, Taxonomy] | None = None    # the --taxonomy file, read once per change
        self._tagger: Tagger | None = None
        self.curation = Curation(self)

    # the semantic side, as callers ask for it
    @property
    def semantic(self) -> bool:
        return self.semantics.on

    @property
    def embedder(self) -> Embedder | None:
        return self.semantics.embedder

    @property
    def default_mode(self) -> str:
        return self.semantics.default_mode

    # ------------------------------------------------------------------ taxonomy

    @property
    def taxonomy(self) -> Taxonomy:
        """The knowledge base's own taxonomy (kb.tagging.stored), read on first use."""
        return self._taxonomy if self._taxonomy is not None else self.load_taxonomy()

    def load_taxonomy(self) -> Taxonomy:
        """The stored taxonomy as it is now (another process may have switched it). A new knowledge
        base stores the ``taxonomy`` setting's file, or the bundled default; one that has a
        taxonomy refuses another (TaxonomyMismatch, naming the command that switches)."""
        value = self.index.get_property(stored.PROPERTY)
        if value is None:   # a new knowledge base (or one made before taxonomies were stored)
            offered, source = stored.given(self.settings.taxonomy)
            value = self.index.set_property(stored.PROPERTY, stored.record(offered, source, now_iso()),
                                            if_absent=True)
        if self._taxonomy_record is None or self._taxonomy_record[0] != value:
            taxonomy, fields = stored.from_record(value)
            self._taxonomy, self._taxonomy_record, self._tagger = taxonomy, (value, fields), None
            self.semantics.forget_topics()
            stored.write_copy(self.home, taxonomy)
        if self.settings.taxonomy:
            offered = self._offered_taxonomy(Path(self.settings.taxonomy))
            if offered.fingerprint != self._taxonomy.fingerprint:
                raise stored.mismatch(self._taxonomy, offered, self.settings.taxonomy)
        return self._taxonomy

    def _offered_taxonomy(self, path: Path) -> Taxonomy:
        try:
            stamp = (str(path), path.stat().st_mtime_ns)
        except OSError:
            stamp = (str(path), 0)
        if self._offered is None or self._offered[0] != stamp:
            self._offered = (stamp, Taxonomy.load(path))
        return self._offered[1]

    def taxonomy_info(self) -> dict:
        """Which taxonomy this is: name, version, fingerprint, topics, when and from where it was stored."""
        taxonomy = self.load_taxonomy()
        return {**taxonomy.summary(), **{k: v for k, v in self._taxonomy_record[1].items()
                                        if k in ("stored_at", "source")}}

    @property
    def tagger(self) -> Tagger:
        return self._tagger if self._tagger is not None else self.load_tagger()

    def load_tagger(self) -> Tagger:
        """The tagger of the stored taxonomy, compiled now if it is not yet: before any fork, so
        that workers inherit it."""
        self.load_taxonomy()
        if self._tagger is None:
            self._tagger = Tagger(self.taxonomy)
        return self._tagger

    # ------------------------------------------------------------------ ingest

    def prepare(self, doc: Document, sections=None, tagger: Tagger | None = None) -> list[Passage]:
        """Split a document into passages and tag them (no index write)."""
        passages = split_text(doc.text, doc.id, doc.title, self.split_options, sections=sections)
        inherited = [t for t in doc.tags if t]
        tagger = tagger or self.tagger
        for p, (tags, evidence) in zip(passages, tagger.tag_document(doc.title, passages)):
            p.tags = sorted(set(tags) | set(inherited))
            p.evidence = evidence
            p.keywords = keywords(p.text)
        return passages

    def prepare_record(self, result: ReadResult, tagger: Tagger | None = None) -> Record:
        """A read document as the index stores it: its record and its passages' dicts, with the
        manual tag edits it came with applied (those that no longer fit are under ``manual_lost``,
        which the caller reports and removes)."""
        doc, sections = result.document, result.sections
        passages = [p.to_dict() for p in self.prepare(doc, sections, tagger)]
        record = doc.to_dict()
        if sections is not None:  # even [], which turns heading detection off
            record["sections"] = [list(s) for s in sections]
        if result.manual_tags:
            lost = manual.carry(passages, manual.imported(result.manual_tags))
            if lost:
                record["manual_lost"] = lost
        return record, passages

    def ingest(self, items: Iterable[ReadResult | ReadError | Document], extra_tags: Iterable[str] = (),
               progress: Callable[[IngestReport], None] | None = None,
               workers: int | None = None) -> IngestReport:
        """Split, tag and index documents (see IngestRun: batched commits, bad items reported, the
        rest landed). ``workers`` processes split and tag while this one writes (default: the
        ``ingest_workers`` setting; 0: all in-process)."""
        self.load_tagger()
        run = IngestRun(self.index, self.prepare_record,
                        embed=self.semantics.embed if self.semantics.embed_on_ingest else None,
                        extra_tags=extra_tags, batch_documents=self.settings.batch_documents,
                        batch_passages=self.settings.batch_passages,
                        workers=self.settings.ingest_worker_count if workers is None else workers,
                        progress=progress, expect={stored.PROPERTY: self._taxonomy_record[0]},
                        carry=self.curation.carry_into)
        return run.run(items)

    def read_paths(self, paths: Iterable[str | os.PathLike]) -> Iterator[ReadResult | ReadError]:
        """Every document in these files and folders, and a ReadError for each that fails."""
        for path in iter_paths(paths):
            try:
                yield from read_path(path)
            except ReadError as exc:
                yield ReadError(f"{path}: {exc}")

    def ingest_paths(self, paths, extra_tags=(), progress=None) -> IngestReport:
        return self.ingest(self.read_paths(paths), extra_tags, progress)

    def add_document(self, doc: Document) -> IngestReport:
        """Ingest one document given as data (HTTP JSON); raises InvalidDocument when it is bad,
        its message starting with the field at fault (``text: ...``)."""
        report = self.ingest([doc])
        if report.refused:
            reason = report.refused[0][1]
            field_name = reason.partition(":")[0]
            raise InvalidDocument(reason if field_name in DOCUMENT_FIELDS else f"text: {reason}")
        return report

    def exists(self, document_id: str) -> bool:
        return valid_document_id(document_id) and self.index.get_document(document_id) is not None

    def ensure_sample(self) -> bool:
        """On an empty knowledge base, ingest the bundled sample; True if it did."""
        if self.index.stats()["documents"]:
            return False
        self.ingest_paths([SAMPLE_PATH])
        return True

    # ------------------------------------------------------------------ reading

    def search(self, request: SearchRequest | str = "", neighbours: bool = False,
               facets_before_tag_filters: bool = False, **arguments) -> SearchResponse:
        """Ranked hits: ``kb.search("public health", tag="covid-19", limit=5)`` takes the API's
        argument names (``tag``, ``any_tag``, ``not_tag``, ``document``: a name or a list;
        ``limit``, ``offset``, ``syntax``, ``mode``, ...), or a SearchRequest. ``neighbours``: each
        hit gets the ids of its ``previous`` and ``next`` passages. ``facets_before_tag_filters``:
        the tag facets count the query's matches before the tag filters apply (what a reader
        ticking "any of these tags" wants to see)."""
        if not isinstance(request, SearchRequest):
            filters = filters_of(**{k: arguments.pop(k) for k in FILTER_NAMES if k in arguments})
            request = SearchRequest(q=request, filters=filters, **arguments)
        elif arguments:
            raise TypeError(f"search() takes a SearchRequest or arguments, not both: {sorted(arguments)}")
        request = self.semantics.with_query_vector(request)
        response = self.index.search(request)
        for hit in response.hits:
            _with_document(hit)
        if neighbours and response.hits:
            found = self.index.neighbours(response.hits)
            for hit in response.hits:
                hit["previous"], hit["next"] = found.get(hit["id"], (None, None))
        filters = request.filters
        named = dict.fromkeys(filters.tags + filters.any_tags + filters.not_tags)
        if named:   # a tag no passage has is most likely a typo: say so rather than answer 0 hits mutely
            counts = self.index.tag_counts()
            missing = [t for t in named if not counts.get(t)]
            if missing:
                said = ", ".join(f"'{t[:100]}'" for t in missing[:10])
                notice = f"no passage has the tag {said}" if len(missing) == 1 else f"no passage has the tags {said}"
                response.notice = f"{response.notice}; {notice}" if response.notice else notice
        if facets_before_tag_filters and request.facets and (filters.tags or filters.any_tags or filters.not_tags):
            wider = dataclasses.replace(request, filters=Filters(documents=filters.documents), limit=1, offset=0,
                                        highlight=False)
            response.facets = self.index.search(wider).facets
        return response

    def get_passage(self, passage_id: str) -> dict | None:
        passage = self.index.passage_with_neighbours(passage_id)
        return _with_document(passage) if passage is not None else None

    def get_document(self, document_id: str) -> dict | None:
        return self.index.document_with_passages(document_id)

    def list_documents(self, offset: int = 0, limit: int | None = None) -> tuple[int, list[dict]]:
        return self.index.list_documents(offset, limit)

    def delete(self, document_id: str) -> bool:
        return self.index.delete_document(document_id)

    def changes(self, since: str, offset: int = 0, limit: int | None = None) -> dict:
        """Documents stored and deleted since an ISO time, to sync (kb.changes)."""
        return changes_since(self.index, since, offset, limit)

    def update_document(self, document_id: str, **fields) -> dict | None:
        """Change a document's metadata and document-level tags without re-splitting (kb.changes)."""
        return update_document(self.index, document_id, fields)

    def similar(self, passage_id: str, limit: int = 10, filters: Filters = Filters()) -> list[dict] | None:
        hits = self.index.similar(passage_id, limit, filters, semantic=self.semantic)
        for hit in hits or []:
            _with_document(hit)
        return hits

    def suggest(self, q: str, limit: int = 5) -> dict:
        return self.index.suggest(q, limit)

    def tags(self) -> list[dict]:
        """Every taxonomy topic and every tag in use, with passage counts."""
        counts = self.index.tag_counts()
        out = [{**topic, "count": counts.get(topic["tag"], 0)} for topic in self.load_taxonomy().to_list()]
        known = {t["tag"] for t in out}
        for tag, count in counts.items():
            if tag not in known:
                out.append({"tag": tag, "label": tag, "description": "", "broader": [], "count": count})
        return out

    def stats(self) -> dict:
        stats = self.index.stats()
        stats["taxonomy"] = self.taxonomy_info()
        return stats

    def export(self, filters: Filters | None = None, **names) -> Iterator[dict]:
        """Every passage passing the filters, in reading order: ``kb.export(tag="covid-19")``."""
        return self.index.iter_passages(filters if filters is not None else filters_of(**names))

    def export_documents(self) -> Iterator[dict]:
        """Every stored document whole, with its manual tag edits (``manual_tags``): JSON Lines of
        these is what ``kb ingest`` reads back."""
        edits = self.curation.by_document()
        for doc in self.index.iter_documents():
            if doc["id"] in edits:
                doc["manual_tags"] = edits[doc["id"]]
            yield doc

    def version(self) -> str:
        return self.index.version()

    # ------------------------------------------------------------------ rebuild

    def rebuild(self, progress=None, lost: list | None = None, taxonomy: Taxonomy | None = None,
                source: str = "") -> int:
        """Re-split and re-tag every stored document into a new index, then switch to it (with
        ``taxonomy``: tag with it and store it in the same switch). Manual tag edits are carried
        over; those whose passage changed are appended to ``lost``."""
        tagger = Tagger(taxonomy) if taxonomy is not None else self.load_tagger()
        properties = {stored.PROPERTY: stored.record(taxonomy, source, now_iso())} if taxonomy is not None else None
        lost = [] if lost is None else lost

        def tasks():   # read as the engine consumes them: under its write lock
            edits = self.curation.by_document()
            for data in self.index.iter_documents():
                result = ReadResult(document=Document.from_dict(data), sections=_stored_sections(data),
                                    manual_tags=edits.get(data["id"]))
                yield PREPARE, result

        def prepare(task):
            return self.prepare_record(task[1], tagger)

        def records():
            preparer = Preparer(prepare, self.settings.ingest_worker_count, weigh=task_chars)
            for _task, ok, outcome in preparer.map(tasks()):
                if not ok:
                    raise outcome
                lost.extend(outcome[0].pop("manual_lost", []))
                yield outcome

        batch = self.settings.batch_documents
        items = self.semantics.embedded_batches(records(), batch) if self.semantics.embed_on_ingest else records()
        count = self.index.rebuild(items, batch=batch, progress=progress, properties=properties)
        if taxonomy is not None:
            self._taxonomy_record = None
            self.load_taxonomy()
        return count

    def use_taxonomy(self, path: str | os.PathLike, progress=None, lost: list | None = None) -> dict:
        """Switch to the taxonomy in ``path``: check it, store it and re-tag every passage in one
        step (a rebuild). ``{"changed", "from", "to", "documents"}``"""
        offered = Taxonomy.load(path)
        self._offered, self.settings = None, dataclasses.replace(self.settings, taxonomy=None)
        current = self.load_taxonomy()
        answer = {"from": current.summary(), "to": offered.summary(), "changed": False, "documents": 0}
        if offered.fingerprint == current.fingerprint:
            return answer
        answer["documents"] = self.rebuild(progress, lost, taxonomy=offered, source=str(path))
        answer["changed"] = True
        return answer


FILTER_NAMES = ("tag", "any_tag", "not_tag", "document")


def filters_of(tag=(), any_tag=(), not_tag=(), document=()) -> Filters:
    """Filters from the API's argument names, each a name or a list of names."""
    def names(value) -> tuple[str, ...]:
        return (value,) if isinstance(value, str) else tuple(value)
    return Filters(tags=names(tag), any_tags=names(any_tag), not_tags=names(not_tag), documents=names(document))


def _with_document(passage: dict) -> dict:
    passage["document"] = {"id": passage["document_id"], "title": passage.pop("document_title", "")}
    return passage


def _stored_sections(data: dict):
    sections = data.get("sections")
    return [tuple(s) for s in sections] if sections is not None else None
