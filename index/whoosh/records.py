"""How kb's records are laid out in Whoosh (fields in ``index.schema``): the stored fields of passages and
documents to and from kb's dicts.

One index holds both kinds of record: passages (``kind=p``, searchable: ``content`` is title +
section + text, an index made before #18 also ``spell``, the same words unstemmed) and the original documents
(``kind=d``, stored only, for rebuild and export), so a document and all its passages land in
one commit."""
from __future__ import annotations

import json

from whoosh import query

PASSAGE_FIELDS = ("id", "document_id", "ordinal", "section", "text", "start", "end",
                  "tags", "keywords", "evidence")
OPTIONAL_FIELDS = ("suggested", "manual", "curated", "card")   # fields an index made before them may lack
PROPERTY_PREFIX = "property:"   # a property's record id (passage ids end in digits, document ids have no colon)
DELETED_PREFIX = PROPERTY_PREFIX + "deleted:"   # a deletion is a property (a rebuild carries it over)


CARD_OMITS = ("text", "original")   # what list_documents leaves out too


PASSAGES = query.Term("kind", "p")
DOCUMENTS = query.Term("kind", "d")


def read_passage(s, passage_id: str) -> dict | None:
    fields = s.document(id=passage_id)
    if not fields or fields.get("kind") != "p":
        return None
    record = passage_from_stored(fields)
    record["document_title"] = fields.get("title", "")
    return record


def read_document(s, document_id: str) -> dict | None:
    fields = s.document(id=document_id)
    if not fields or fields.get("kind") != "d":
        return None
    return json.loads(fields["data"])


def stored_passages_of(s, document_id: str) -> list[dict]:
    """The stored fields of a document's passages, by docnum. Found by the document's own term,
    then told from its document record by ``kind``: ``And([kind:p, document_id:x])`` walked every
    passage's posting of ``kind:p`` for each document, so an ingest that looks up each document it
    replaces grew with the square of the index (4 ms a document at SciFact's size, #18)."""
    found = [s.stored_fields(n) for n in sorted(s.docs_for_query(query.Term("document_id", document_id)))]
    return [fields for fields in found if fields.get("kind") == "p"]


def read_passages_of(s, document_id: str) -> list[dict]:
    records = [passage_from_stored(fields) for fields in stored_passages_of(s, document_id)]
    return sorted(records, key=lambda r: r["ordinal"])


def document_record(doc: dict) -> dict:
    return {"id": doc["id"], "kind": "d", "document_id": doc["id"], "title": doc.get("title", ""),
            "data": json.dumps(doc, ensure_ascii=False), "card": card_bytes(doc)}


def card_bytes(doc: dict) -> bytes:
    """The ``card`` column of a document record: the document without its text and original, as
    JSON, so that reading every document's metadata decodes neither (a stored record is a
    compressed block of every field, read one at a time: 113 s for a million documents)."""
    card = {k: v for k, v in doc.items() if k not in CARD_OMITS}
    try:
        return json.dumps(card, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:   # a lone surrogate (a store written before kb checked text): escaped
        return json.dumps(card, separators=(",", ":")).encode("ascii")


def card_from_stored(fields: dict) -> bytes:
    """The card of a document record written before cards (from its stored data); b"" for other records."""
    if fields.get("kind") != "d" or not fields.get("data"):
        return b""
    return card_bytes(json.loads(fields["data"]))


def passage_record(doc: dict, p: dict, legacy_spell: bool = False) -> dict:
    """The passage's fields; ``legacy_spell``: the index has the old unstemmed ``spell`` field
    (the suggestions of newer indexes read a word list instead, see ``words``)."""
    title, section, text = doc.get("title", ""), p.get("section", ""), p["text"]
    record = {
        "id": p["id"], "kind": "p", "document_id": doc["id"], "ordinal": p["ordinal"],
        "title": title, "section": section,
        "content": f"{title}\n{section}\n{text}",
        "text": text, "tags": ",".join(p.get("tags", [])),
        "keywords": list(p.get("keywords", [])), "evidence": list(p.get("evidence", [])),
        "suggested": list(p.get("suggested_tags", [])), "start": p["start"], "end": p["end"],
        "manual": list(p.get("manual") or []), "curated": "1" if p.get("manual") else None,
    }
    if legacy_spell:
        record["spell"] = record["content"]
    return record


def property_record(name: str, value: str) -> dict:
    # document_id and ordinal too: every segment must have the sortable columns the reading order reads
    return {"id": PROPERTY_PREFIX + name, "kind": "m", "document_id": "", "ordinal": 0, "data": value}


def deletion_record(document_id: str, deleted_at: str) -> dict:
    return property_record(DELETED_PREFIX[len(PROPERTY_PREFIX):] + document_id, deleted_at)


def passage_from_stored(fields: dict) -> dict:
    record = {name: fields.get(name) for name in PASSAGE_FIELDS}
    record["tags"] = [t for t in (fields.get("tags") or "").split(",") if t]
    record["keywords"] = list(fields.get("keywords") or [])
    record["evidence"] = list(fields.get("evidence") or [])
    record["suggested_tags"] = list(fields.get("suggested") or [])
    record["manual"] = list(fields.get("manual") or [])
    record["section"] = fields.get("section") or ""
    record["words"] = len(record["text"].split())
    return record
