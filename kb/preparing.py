"""A read document made into what the index stores: split into passages, tagged, its clean text
and exact offsets, the manual tag edits it came with applied.

Pure functions of the document, the tagger and the split options (no index, no settings), so
that worker processes run them as they are (kb.pipeline) and ``KnowledgeBase`` only wires them."""
from __future__ import annotations

from .ingest import Record
from .models import Document, Passage
from .readers import ReadResult
from .split import SplitOptions, split_text
from .tagging import Tagger, manual
from .tagging.keywords import keywords


def passages_of(doc: Document, tagger: Tagger, options: SplitOptions, sections=None) -> list[Passage]:
    """Split a document into passages and tag them; its own tags go on every passage."""
    passages = split_text(doc.text, doc.id, doc.title, options, sections=sections)
    inherited = [t for t in doc.tags if t]
    for p, (tags, evidence) in zip(passages, tagger.tag_document(doc.title, passages)):
        p.tags = sorted(set(tags) | set(inherited))
        p.evidence = evidence
        p.keywords = keywords(p.text)
    return passages


def record_of(result: ReadResult, tagger: Tagger, options: SplitOptions) -> Record:
    """A read document as the index stores it (record, passages' dicts). The record's ``text`` is
    the clean text its passages cite (``text[start:end] == passage text``), ``original`` the text
    as read when it differs; manual tag edits are applied, those that no longer fit listed under
    ``manual_lost`` for the caller to report."""
    doc, sections = result.document, result.sections
    passages = [p.to_dict() for p in passages_of(doc, tagger, options, sections)]
    record = doc.to_dict()
    record["text"] = cited_text(passages)
    if record["text"] != doc.text:
        record["original"] = doc.text   # what a rebuild re-splits, and an export gives back
    if sections is not None:  # even [], which turns heading detection off
        record["sections"] = [list(s) for s in sections]
    lost = manual.carry(passages, manual.imported(result.manual_tags)) if result.manual_tags else None
    if lost:
        record["manual_lost"] = lost
    return record, passages


def stored_result(data: dict, manual_tags=None) -> ReadResult:
    """A stored document read back for re-splitting (a rebuild): the text as it was read."""
    data = {**data, "text": data.get("original") or data["text"]}
    sections = data.get("sections")
    return ReadResult(document=Document.from_dict(data), manual_tags=manual_tags,
                      sections=[tuple(s) for s in sections] if sections is not None else None)


def cited_text(passages: list[dict]) -> str:
    """A document's clean text: its passages' texts a blank line apart, each passage's ``start`` and
    ``end`` set to where its text is in it, so that ``text[start:end]`` is the passage text exactly."""
    at = 0
    for p in passages:
        p["start"], p["end"] = at, at + len(p["text"])
        at = p["end"] + 2
    return "\n\n".join(p["text"] for p in passages)
