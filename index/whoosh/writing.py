"""Writing the Whoosh index: replace, delete and rebuild under kb's one write lock.

Each commit also writes the word list the suggestions read (``words``: one file per commit
generation, written before the commit) and merges segments by tiers (``merging``) instead of
Whoosh's ``MERGE_SMALL``, which re-merges the largest segments again and again on bulk loads;
during a bulk load (``bulk_load``) large merges run in a child process (``background_merge``).
Mixed into ``WhooshIndex``: it uses the engine's ``home``, ``schema``, ``lock_timeout``,
``_index``, ``_memos`` and the vector support's ``_write_vectors``/``_compact_vectors``."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterable

from whoosh import index as whoosh_index
from whoosh.analysis.analyzers import CompositeAnalyzer
from whoosh.index import LockError

from .. import storage
from ..base import IndexBusy, deleted_now
from ..text.memo_analyzer import MemoAnalyzer
from . import flat_postings, merging, preanalysis, segment_merge, words
from .background_merge import BackgroundMerges
from .curation import add_missing_fields, check_expected
from .records import (
    DELETED_PREFIX,
    deletion_record,
    document_record,
    passage_record,
    property_record,
    stored_passages_of,
)


class WritingSupport:
    _background: BackgroundMerges | None = None   # during bulk_load

    def replace_documents(self, items: Iterable[tuple[dict, list[dict]]], expect: dict[str, str] | None = None) -> int:
        items = list(items)
        if not items:
            return 0
        with storage.write_lock(self.home, self.lock_timeout):
            ix = self._writable_index()
            with ix.searcher() as s:
                check_expected(s, expect)
            self._write(ix, items)
        return len(items)

    def _writable_index(self):
        """The live index, opened under the write lock after clearing what killed writers left
        (a word list written for a commit that never came among it)."""
        storage.remove_debris(self.home)
        ix = self._index(locked=True)
        words.prune(Path(ix.storage.folder), ix.latest_generation())
        return ix

    def _writer(self, ix, **options):
        """Whoosh's writer; its own lock is only contended by a writer outside kb's lock."""
        try:
            return ix.writer(timeout=self.lock_timeout, **options)
        except LockError:
            raise IndexBusy(f"the index is locked by another program (waited {self.lock_timeout:g} s)") from None

    def _write(self, ix, items, properties: dict[str, str] | None = None) -> None:
        folder = Path(ix.storage.folder)
        writer = self._writer(ix, limitmb=256)
        legacy = words.LEGACY_FIELD in writer.schema
        analysed = () if legacy else preanalysis.usable(writer.schema, self.schema)
        plain = self._memoize(writer.schema)
        preanalysis.taking(writer.schema, analysed)
        try:
            add_missing_fields(writer)
            counts = None if legacy else words.read(folder, ix.latest_generation())
            for name, value in (properties or {}).items():
                writer.update_document(**property_record(name, value))
            with ix.searcher() as before:   # what the deletes take away: the committed passages
                for doc, passages in items:
                    if counts is not None:
                        counts.subtract(_words_of_document(before, doc["id"]))
                    writer.delete_by_term("document_id", doc["id"])
                    writer.delete_by_term("id", DELETED_PREFIX + doc["id"])   # stored again: not deleted
                    writer.add_document(**document_record(doc))
                    for p in passages:
                        record = passage_record(doc, p, legacy_spell=legacy)
                        occurrences = preanalysis.use(record, p, analysed)
                        writer.add_document(**record)
                        if counts is not None:
                            counts.add_passage(occurrences)
            if counts is not None:
                words.write(folder, writer.generation, counts)
            self._write_vectors(folder, items)
        except BaseException:
            writer.cancel()
            raise
        finally:
            preanalysis.plain(writer.schema, analysed)
            for name, analyzer in plain.items():  # the schema saved with the commit stays as it was
                writer.schema[name].analyzer = analyzer
        writer.commit(mergetype=self._mergetype(folder))
        self._compact_vectors(ix, folder)

    def _mergetype(self, folder: Path):
        background = self._background
        return background.mergetype if background is not None and background.folder == folder else merging.tiered

    @contextlib.contextmanager
    def bulk_load(self):
        """Many writes in a row: large merges run in a child process meanwhile and are swapped in
        by a later commit; at the end the running one is waited for and swapped in."""
        if self._background is not None:   # nested: the outer load settles
            yield
            return
        self._background = BackgroundMerges(storage.live_dir(self.home))
        try:
            yield
            self._settle_merges()
        finally:
            self._background.cancel()
            self._background = None

    def _settle_merges(self) -> None:
        background = self._background
        if background.running is None:
            return
        background.running.wait()   # before the lock: other writers go on meanwhile
        with storage.write_lock(self.home, self.lock_timeout):
            ix = self._writable_index()
            folder = Path(ix.storage.folder)
            if folder != background.folder:   # a rebuild switched directories
                return
            writer = self._writer(ix)
            _carry_words(ix, writer)
            writer.commit(mergetype=background.swap_when_done)

    def compact(self, progress=None) -> dict:
        """Merge segments as a bulk load would, until the tiered plan picks none, then rewrite each
        segment the streaming merge did not write (an older kb's, or Whoosh's own small ones: no
        flat postings, perhaps no cards), so that an index fed by small writes or made by an older
        kb reads as fast as a fresh bulk load's. One commit per step under the write lock (a
        kill leaves the last step); ``progress(counts)`` after each.
        ``{"segments_before", "segments_after", "merged", "rewritten"}``."""
        counts = {"segments_before": None, "segments_after": 0, "merged": 0, "rewritten": 0}
        while True:
            with storage.write_lock(self.home, self.lock_timeout):
                ix = self._writable_index()
                segments = ix._segments()
                if counts["segments_before"] is None:
                    counts["segments_before"] = counts["segments_after"] = len(segments)
                chosen = merging.chosen_segments(segments, partial=True)
                step = "merged" if chosen else "rewritten"
                if not chosen and segment_merge.supports(ix.schema):   # else Whoosh's merge: nothing gained
                    chosen = [seg for seg in segments if not flat_postings.written(ix.storage, seg)][:1]
                if not chosen:
                    return counts
                ids = {seg.segment_id() for seg in chosen}
                writer = self._writer(ix)
                _carry_words(ix, writer)
                writer.commit(mergetype=_merging(ids))
            counts[step] += 1
            counts["segments_after"] = len(segments) - len(chosen) + 1
            if progress:
                progress(dict(counts))

    def prepare_passages(self, doc: dict, passages: list[dict]) -> None:
        """In the worker that prepared them: the passages' analysis, for the writer (preanalysis)."""
        preanalysis.attach(self.schema, self._memo, doc, passages)

    def _memo(self, name: str, analyzer) -> MemoAnalyzer:
        memo = self._memos.get(name)
        if memo is None or memo.analyzer != analyzer:
            memo = self._memos[name] = MemoAnalyzer(analyzer)
        return memo

    def _memoize(self, schema) -> dict:
        """The writer analyses through per-word memos kept between commits (same tokens, see
        MemoAnalyzer); returns the plain analyzers, to be put back before the commit."""
        plain = {}
        for name, field in schema.items():
            analyzer = getattr(field, "analyzer", None)
            if isinstance(analyzer, CompositeAnalyzer):
                plain[name], field.analyzer = analyzer, self._memo(name, analyzer)
        return plain

    def delete_document(self, document_id: str) -> bool:
        with storage.write_lock(self.home, self.lock_timeout):
            ix = self._writable_index()
            folder = Path(ix.storage.folder)
            with ix.searcher() as s:
                if s.document_number(id=document_id) is None:
                    return False
                writer = self._writer(ix)
                if words.LEGACY_FIELD not in writer.schema:
                    counts = words.read(folder, ix.latest_generation())
                    counts.subtract(_words_of_document(s, document_id))
                    words.write(folder, writer.generation, counts)
            writer.delete_by_term("document_id", document_id)
            writer.update_document(**deletion_record(document_id, deleted_now()))
            writer.commit(mergetype=self._mergetype(folder))
        return True

    def rebuild(self, items: Iterable[tuple[dict, list[dict]]], batch: int = 500,
                progress=None, properties: dict[str, str] | None = None) -> int:
        """Write every document (and the properties) into a new index directory, then switch to it
        atomically; the properties the old index had and these do not name are carried over."""
        count = 0
        with storage.write_lock(self.home, self.lock_timeout):
            storage.remove_debris(self.home)
            kept = self._properties()
            path = storage.new_dir(self.home)
            ix = whoosh_index.create_in(path, self.schema)
            self._write(ix, [], {**kept, **(properties or {})})
            chunk = []
            for item in items:
                chunk.append(item)
                if len(chunk) >= batch:
                    self._write(ix, chunk)
                    count += len(chunk)
                    if progress:
                        progress(len(chunk))
                    chunk = []
            if chunk:
                self._write(ix, chunk)
                count += len(chunk)
                if progress:
                    progress(len(chunk))
            storage.switch_to(self.home, path.name)
            storage.remove_stale_dirs(self.home, keep=path.name)
        return count


def _words_of_document(searcher, document_id: str):
    """The word counts a document's passages now hold in the index (to be taken away)."""
    counts = words.WordCounts()
    for f in stored_passages_of(searcher, document_id):
        counts.add(words.passage_words(f.get("title", ""), f.get("section", ""), f.get("text", "")))
    return counts


def _merging(ids: set[str]):
    """A ``mergetype`` that merges the segments of these ids into one (one: rewritten alone)."""
    return lambda writer, segments: merging.merged(writer, segments, [s for s in segments if s.segment_id() in ids])


def _carry_words(ix, writer) -> None:
    """A commit that only merges keeps the word list as it is, under the commit's generation."""
    if words.LEGACY_FIELD not in writer.schema:
        folder = Path(ix.storage.folder)
        words.write(folder, writer.generation, words.read(folder, ix.latest_generation()))
