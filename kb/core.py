"""The ``KnowledgeBase`` facade: the one core that the CLI and the HTTP API both call."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Callable, Iterable, Iterator

from index import Filters, QueryLimits, SearchIndex, SearchRequest, SearchResponse, open_index

from . import embedding, evaluation, semantic
from . import limits as input_limits
from .arguments import FILTER_NAMES, filters_of, metadata_of
from .catalog import Catalog
from .changes import changes_since, update_document
from .curation import Curation
from .embedding import Embedder
from .example_suggestions import ExampleSuggestions
from .ingest import PREPARE, IdTaken, IngestReport, IngestRun, Record, task_chars
from .metadata_filters import MetadataFilters, split_query
from .models import Document, InvalidDocument, Passage, now_iso, valid_document_id
from .pipeline import Preparer
from .preparing import passages_of, record_of, stored_result
from .readers import ReadError, ReadResult, Skipped, hidden, read_path, supported, walk
from .settings import Settings
from .split import SplitOptions
from .tagging import Tagger, Taxonomy, stored

SAMPLE_PATH = Path(__file__).parent / "data" / "science-diplomacy.txt"
DOCUMENT_FIELDS = ("id", "title", "text", "source", "tags", "metadata", "authors", "date", "url", "doi", "publisher")


class NoKnowledgeBase(LookupError):
    """A read found no knowledge base where it looked: reads never create one."""


class KnowledgeBase:
    """Ingest, search, get, delete, rebuild: everything kb does, in one place.

    ``KnowledgeBase("kb-data")`` opens (or creates) the knowledge base in that folder with the
    settings of the environment; ``KnowledgeBase(Settings.from_env(home=..., backend=...))``
    chooses them (kb.settings lists every one). ``create=False`` (what reads use) raises
    NoKnowledgeBase instead of creating one."""

    def __init__(self, settings: Settings | str | os.PathLike | None = None, *,
                 split_options: SplitOptions | None = None, index: SearchIndex | None = None,
                 embedder: Embedder | None = None, create: bool = True):
        if not isinstance(settings, Settings):
            settings = Settings.from_env(home=Path(settings) if settings is not None else None)
        self.settings = settings
        input_limits.use(input_limits.Limits.from_settings(settings))   # what readers and documents are held to
        self.home = Path(settings.home)
        if not create and index is None and settings.backend == "whoosh" and not (self.home / "index").is_dir():
            raise NoKnowledgeBase(f"no knowledge base in {self.home.resolve()} (no index/ there): "
                                  "'kb ingest' makes one; --home or KB_HOME says where it is")
        self.split_options = split_options or SplitOptions()
        limits = QueryLimits(max_expansions=settings.max_expansions, time_limit=settings.query_time_limit or None,
                             max_text_length=settings.query_max_chars, long_query_terms=settings.long_query_terms)
        self.index = index or open_index(
            self.home / "index", backend=settings.backend, nodes=settings.sphinx_nodes,
            lock_timeout=settings.lock_timeout, limits=limits,
            vector_model=embedding.MODEL_NAME if semantic.wanted(settings) else None,
            postings_cache_bytes=settings.postings_cache)
        self.semantics = semantic.Semantics(settings, self.index, lambda: self.taxonomy, embedder)
        self._taxonomy: Taxonomy | None = None
        self._taxonomy_record: tuple[str, dict] | None = None   # (the property as read, its fields)
        self._offered: tuple[tuple, Taxonomy] | None = None    # the --taxonomy file, read once per change
        self._tagger: Tagger | None = None
        self.curation = Curation(self)
        self.catalog = Catalog(self.index)   # citations, metadata filters, year/author facets
        self.examples = ExampleSuggestions(self)   # the tags curated examples suggest

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
        return passages_of(doc, tagger or self.tagger, self.split_options, sections)

    def prepare_record(self, result: ReadResult, tagger: Tagger | None = None) -> Record:
        """A read document as the index stores it (kb.preparing.record_of)."""
        return record_of(result, tagger or self.tagger, self.split_options)

    def ingest(self, items: Iterable[ReadResult | ReadError | Document], extra_tags: Iterable[str] = (),
               progress: Callable[[IngestReport], None] | None = None,
               workers: int | None = None, replace: bool = False, itemize: bool = True) -> IngestReport:
        """Split, tag and index documents (IngestRun: batched commits, bad items reported, the rest
        landed); ``workers`` processes prepare while this one writes (0: in-process). A document whose
        id holds one of another source is refused unless ``replace``; too many ``extra_tags``: OverLimit.
        ``itemize=False``: the report lists refusals but not each landed document (a long load)."""
        extra_tags = list(extra_tags)
        input_limits.check_tags(extra_tags, "tag")
        self.load_tagger()
        run = IngestRun(self.index, self.prepare_record,
                        embed=self.semantics.embed if self.semantics.embed_on_ingest else None,
                        extra_tags=extra_tags, batch_documents=self.settings.batch_documents,
                        batch_passages=self.settings.batch_passages,
                        workers=self.settings.ingest_worker_count if workers is None else workers,
                        progress=progress, expect={stored.PROPERTY: self._taxonomy_record[0]},
                        carry=self.curation.carry_into, replace=replace, itemize=itemize)
        return run.run(items)

    def read_paths(self, paths: Iterable[str | os.PathLike],
                   files: list | None = None) -> Iterator[ReadResult | ReadError | Skipped]:
        """Every document in these files and folders (a folder's file gets its id from its path inside
        the folder), a ReadError for each that fails, and Skipped for a folder's file of no known type
        or a hidden file or folder (named, not entered).
        ``files``: the ``(path, relative)`` list of walk(paths), when the caller listed them already."""
        for path, relative in (walk(paths) if files is None else files):
            if hidden(relative):
                what = "folder" if path.is_dir() else "file"
                yield Skipped(str(path), f"hidden {what} (its name starts with '.'): not read; name it to read it")
                continue
            if relative is not None and not supported(path):
                yield Skipped(str(path), f"unsupported file type {path.suffix.lower() or '(no extension)'!r}")
                continue
            try:
                yield from read_path(path, relative)
            except ReadError as exc:
                yield ReadError(f"{path}: {exc}")

    def ingest_paths(self, paths, extra_tags=(), progress=None) -> IngestReport:
        return self.ingest(self.read_paths(paths), extra_tags, progress)

    def add_document(self, doc: Document, replace: bool = False) -> IngestReport:
        """Ingest one document given as data (HTTP JSON); raises InvalidDocument when it is bad,
        its message starting with the field at fault (``text: ...``), and IdTaken when its id holds
        a document of another source (unless ``replace``)."""
        report = self.ingest([doc], replace=replace)
        if report.refused:
            reason = report.refused[0][1]
            if report.items[-1].get("taken"):
                raise IdTaken(reason)
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
               facets_before_tag_filters: bool = False, metadata: MetadataFilters | None = None,
               **arguments) -> SearchResponse:
        """Ranked hits, each citing its document (and page). Takes the API's argument names
        (``kb.search("health", tag="covid-19", author="Roe", limit=5)``, see kb.arguments) or a
        SearchRequest with ``metadata`` filters (also written in the query: ``author:roe``).
        ``neighbours``: each hit gets the ids of its ``previous`` and ``next`` passages.
        ``facets_before_tag_filters``: tag facets count the matches before the tag filters apply."""
        named_metadata = metadata_of(arguments)
        if not isinstance(request, SearchRequest):
            filters = filters_of(**{k: arguments.pop(k) for k in FILTER_NAMES if k in arguments})
            request = SearchRequest(q=request, filters=filters, **arguments)
        elif arguments:
            raise TypeError(f"search() takes a SearchRequest or arguments, not both: {sorted(arguments)}")
        q, said = split_query(request.q, request.syntax)
        metadata = (metadata or named_metadata).merged(said).check()
        filters = self.catalog.narrow(request.filters, metadata)
        if filters is None:   # no document passes the metadata filters
            return SearchResponse(0, [], {"tags": {}, **self.catalog.facets({})} if request.facets else {},
                                  syntax="words" if request.syntax == "words" else "query")
        request = dataclasses.replace(request, q=q, filters=filters)
        request = self.semantics.with_query_vector(request)
        response = self.index.search(request)
        list(self.catalog.cite_all(response.hits))
        self.examples.annotate(response.hits)
        if neighbours and response.hits:
            found = self.index.neighbours(response.hits)
            for hit in response.hits:
                hit["previous"], hit["next"] = found.get(hit["id"], (None, None))
        named = dict.fromkeys(filters.tags + filters.any_tags + filters.not_tags)
        if named and not response.partial:   # a tag no passage has is most likely a typo: say so
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
        if request.facets:
            response.facets = {"tags": response.facets.get("tags", {}),
                               **self.catalog.facets(response.facets.get("documents", {}))}
        return response

    def evaluate(self, judged: evaluation.Judgments, modes: Iterable[str] = ("lexical",),
                 group_by: str = "document", syntax: str = "words", fusion: str | None = None,
                 budget: float | None = None) -> dict:
        """nDCG@10, recall@100, MRR per mode and query: ``kb eval``, ``POST /api/v1/eval`` (kb.evaluation)."""
        return evaluation.run(self, judged, modes, group_by, syntax, fusion, budget)

    def get_passage(self, passage_id: str) -> dict | None:
        passage = self.index.passage_with_neighbours(passage_id)
        self.examples.annotate([passage] if passage is not None else [])
        return self.catalog.cite(passage) if passage is not None else None

    def get_document(self, document_id: str) -> dict | None:
        doc = self.index.document_with_passages(document_id)
        if doc is not None:
            for passage in self.catalog.cite_all(doc["passages"]):
                passage.pop("document", None)   # the document is the answer itself
        return doc

    def list_documents(self, offset: int = 0, limit: int | None = None,
                       metadata: MetadataFilters | None = None) -> tuple[int, list[dict]]:
        """(total, documents without their text); ``metadata`` filters them by author, date, source."""
        if metadata:
            return self.catalog.listed(metadata.check(), offset, limit)
        return self.index.list_documents(offset, limit)

    def delete(self, document_id: str) -> bool:
        return self.index.delete_document(document_id)

    def changes(self, since: str, offset: int = 0, limit: int | None = None,
                metadata: MetadataFilters | None = None) -> dict:
        """Documents stored (those ``metadata`` passes) and deleted since an ISO time, to sync (kb.changes)."""
        return changes_since(self.index, since, offset, limit, metadata.check().accepts if metadata else None)

    def update_document(self, document_id: str, **fields) -> dict | None:
        """Change a document's metadata and document-level tags without re-splitting (kb.changes)."""
        return update_document(self.index, document_id, fields)

    def similar(self, passage_id: str, limit: int = 10, filters: Filters = Filters()) -> list[dict] | None:
        hits = self.index.similar(passage_id, limit, filters, semantic=self.semantic)
        list(self.catalog.cite_all(hits or []))
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

    def tag_suggestions(self, tag: str, limit: int = 20, min_score: float | None = None) -> dict:
        """The passages that the passages tagged ``tag`` by hand suggest it for (kb.example_suggestions)."""
        return self.examples.for_tag(tag, limit, min_score)

    def stats(self) -> dict:
        stats = self.index.stats()
        stats["taxonomy"] = self.taxonomy_info()
        return stats

    def export(self, filters: Filters | None = None, metadata: MetadataFilters | None = None,
               **names) -> Iterator[dict]:
        """Every passage that passes the filters, in reading order, each citing its document (and
        page): ``kb.export(tag="covid-19", author="Roe")`` takes the API's names too."""
        named_metadata = metadata_of(names)
        filters = filters if filters is not None else filters_of(**names)
        filters = self.catalog.narrow(filters, (metadata or named_metadata).check())
        if filters is None:
            return iter(())
        return self.catalog.cite_all(self.index.iter_passages(filters), keep_title=True)

    def export_documents(self) -> Iterator[dict]:
        """Every stored document whole, with its manual tag edits (``manual_tags``): JSON Lines of
        these is what ``kb ingest`` reads back."""
        edits = self.curation.by_document()
        for doc in self.index.iter_documents():
            doc["text"] = doc.pop("original", None) or doc["text"]   # read back, it is split again
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
                yield PREPARE, stored_result(data, edits.get(data["id"]))

        def prepare(task):   # in a worker: split, tag, and the index's own work (see IngestRun)
            record, passages = self.prepare_record(task[1], tagger)
            self.index.prepare_passages(record, passages)
            return record, passages

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

