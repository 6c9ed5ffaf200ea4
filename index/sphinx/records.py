"""Rows of the SphinxQL backend: what a passage, a document and a vocabulary word look like in
Sphinx's RT indexes, and back.

``kb_rt`` holds passages only (so that BM25's document count and average length are those of
the passages). ``kb_meta_rt`` holds the rest, keyed by ``kind``: the original documents (a head
row without the text, then the text in chunks under Sphinx's 4 MB string limit), vocabulary words
for suggestions (with letter pairs and triples for did-you-mean), and one version row per shard.
Row ids are 63-bit hashes of stable names; a document's shard is its ``doc_key`` modulo the
number of shards.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import zlib

from .client import sendable
from .query import ALL_PASSAGES, key_token

PASSAGE_COLUMNS = ("id", "content", "title", "section", "keys", "ordinal", "doc_key", "tag_ids",
                   "document_id", "tags", "data")
META_COLUMNS = ("id", "word", "grams", "kind", "ordinal", "doc_key", "document_id", "data")
DOCUMENT, CHUNK, WORD, PROPERTY, VERSION, DELETION = 2, 4, 5, 7, 9, 11
CHUNK_CHARS = 400_000          # × at most 6 bytes per JSON-escaped character < Sphinx's 4 MB
MAX_STRING_BYTES = 4_000_000
STATEMENT_BYTES = 4_000_000    # one REPLACE statement, well under max_packet_size
SCORE_SCALE = 1000.0           # WEIGHT() is an integer: the ranker's BM25 (0..1) × this
_VOCABULARY = re.compile(r"\w+")
_IGNORED = str.maketrans("", "", "'’.")


def _hash63(text: str) -> int:
    value = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big") >> 1
    return value if value >= 1000 else value + 1000


def doc_key(document_id: str) -> int:
    return _hash63("document\0" + document_id)


def shard_of(document_id: str, shards: int) -> int:
    return doc_key(document_id) % shards


def passage_row_id(passage_id: str) -> int:
    return _hash63("passage\0" + passage_id)


def tag_id(tag: str) -> int:
    return zlib.crc32(tag.encode("utf-8"))


def version_row_id(shard: int) -> int:
    return 1 + shard


# ---------------------------------------------------------------------- passages

def passage_row(doc: dict, p: dict) -> tuple:
    title, section, text = doc.get("title", ""), p.get("section", "") or "", p["text"]
    tags = list(p.get("tags", []))
    keys = " ".join([ALL_PASSAGES, key_token("document", doc["id"])] + [key_token("tag", t) for t in tags]
                    + ([CURATED] if p.get("manual") else []))
    data = json.dumps({"text": text, "section": section, "start": p["start"], "end": p["end"],
                       "keywords": list(p.get("keywords", [])), "evidence": list(p.get("evidence", [])),
                       "suggested_tags": list(p.get("suggested_tags", [])), "manual": list(p.get("manual") or []),
                       "title": title}, ensure_ascii=False)
    if len(data.encode("utf-8")) > MAX_STRING_BYTES:
        raise ValueError(f"passage {p['id']} is too long for the Sphinx backend ({len(data)} characters)")
    return (passage_row_id(p["id"]), sendable(f"{title}\n{section}\n{text}"), sendable(title), sendable(section),
            keys, p["ordinal"], doc_key(doc["id"]), Mva(tag_id(t) for t in tags), doc["id"],
            json.dumps(tags, ensure_ascii=False), data)


PASSAGE_SELECT = "id, document_id, ordinal, tags, data"
CURATED = key_token("curated", "1")   # in the keys of a passage with manual tag edits


def passage_from_row(row: tuple) -> dict:
    """A row selected as ``PASSAGE_SELECT`` → the passage record the interface promises."""
    _, document_id, ordinal, tags, data = row[:5]
    stored = json.loads(data)
    text = stored["text"]
    return {"id": f"{document_id}:{ordinal}", "document_id": document_id, "ordinal": int(ordinal),
            "section": stored.get("section") or "", "text": text, "start": stored["start"],
            "end": stored["end"], "tags": json.loads(tags), "keywords": stored.get("keywords", []),
            "evidence": stored.get("evidence", []), "suggested_tags": stored.get("suggested_tags", []),
            "manual": stored.get("manual", []),
            "words": len(text.split()),
            "document_title": stored.get("title", "")}


# ---------------------------------------------------------------------- documents

def _chunked(text: str) -> list[str]:
    return [text[i:i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)] or [""]


def document_rows(doc: dict) -> list[tuple]:
    """The head row (the document without its texts) and its text, then its ``original`` if any, in
    chunks (``text_chunks`` counts them all; ``original_chunk`` says where the original starts)."""
    key = doc_key(doc["id"])
    chunks = _chunked(doc.get("text", ""))
    head = {k: v for k, v in doc.items() if k not in ("text", "original")}
    if doc.get("original") is not None:
        head["original_chunk"] = len(chunks) + 1
        chunks += _chunked(doc["original"])
    head["text_chunks"] = len(chunks)
    rows = [(_hash63(f"document\0{doc['id']}\0{0}"), "", "", DOCUMENT, 0, key, doc["id"],
             json.dumps(head, ensure_ascii=False))]
    for i, chunk in enumerate(chunks, 1):
        rows.append((_hash63(f"document\0{doc['id']}\0{i}"), "", "", CHUNK, i, key, doc["id"],
                     json.dumps(chunk, ensure_ascii=False)))
    if any(len(r[-1].encode("utf-8")) > MAX_STRING_BYTES for r in rows):
        raise ValueError(f"document {doc['id']}: its metadata is too large for the Sphinx backend")
    return rows


def document_summary(data: str) -> dict:
    head = json.loads(data)
    head.pop("text_chunks", None)
    head.pop("original_chunk", None)
    return head


def document_from_rows(rows: list[tuple]) -> dict | None:
    """Rows ``(kind, ordinal, data)`` of one document → the document as it was stored."""
    head = next((json.loads(d) for kind, _, d in rows if kind == DOCUMENT), None)
    if head is None:
        return None
    chunks = sorted((o, json.loads(d)) for kind, o, d in rows if kind == CHUNK)
    if len(chunks) != head.pop("text_chunks", len(chunks)):
        return None  # a write in progress: not whole yet
    split = head.pop("original_chunk", len(chunks) + 1) - 1
    doc = {"id": head.get("id"), "title": head.get("title", ""), "text": "".join(c for _, c in chunks[:split])}
    if split < len(chunks):
        doc["original"] = "".join(c for _, c in chunks[split:])
    doc.update({k: v for k, v in head.items() if k not in doc})
    return doc


# ---------------------------------------------------------------------- vocabulary

def vocabulary(text: str) -> set[str]:
    """Words as Sphinx indexes them (lowercase, accents folded, apostrophes and dots dropped)."""
    return {fold(w) for w in _VOCABULARY.findall(text.translate(_IGNORED)) if len(w) <= 40}


def fold(word: str) -> str:
    word = word.lower()
    if word.isascii():
        return word
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def grams(word: str) -> str:
    """The word's letter triples and pairs (``__d _di dip … _d di …``): a misspelling within two
    edits shares some with the word, which is how did-you-mean finds candidates."""
    padded = f"__{word}__"
    triples = [padded[i:i + 3] for i in range(len(padded) - 2)]
    pairs = [padded[i:i + 2] for i in range(1, len(padded) - 2)]
    return " ".join(dict.fromkeys(triples + pairs))


def word_row(word: str, shard_key: int) -> tuple:
    return (_hash63("word\0" + word), word, grams(word), WORD, len(word), shard_key, "", json.dumps(word))


def property_row(name: str, value: str) -> tuple:
    return (_hash63("property\0" + name), "", "", PROPERTY, 0, 0, name, json.dumps(value, ensure_ascii=False))


def deletion_row(document_id: str, deleted_at: str) -> tuple:
    """A deleted document's id and when, in its shard (removed when the document is stored again)."""
    return (_hash63("deleted\0" + document_id), "", "", DELETION, 0, doc_key(document_id), document_id,
            json.dumps(deleted_at))


def version_row(shard: int, token: str) -> tuple:
    return (version_row_id(shard), "", "", VERSION, shard, 0, "", json.dumps(token))


# ---------------------------------------------------------------------- statements

class Mva(tuple):
    """A multi-value attribute: written inline as ``(1,2,3)``, never as a string."""

    def __new__(cls, values):
        return super().__new__(cls, (int(v) for v in values))


def replace_statements(index: str, columns: tuple[str, ...], rows: list[tuple],
                       limit: int = STATEMENT_BYTES) -> list[tuple[str, tuple]]:
    """Multi-row ``REPLACE`` statements, each under ``limit`` bytes of values."""
    head = f"REPLACE INTO {index} ({', '.join(columns)}) VALUES "
    statements, parts, args, size = [], [], [], 0
    for row in rows:
        placeholders, values = [], []
        for value in row:
            if isinstance(value, Mva):
                placeholders.append("(" + ",".join(str(v) for v in value) + ")")
            else:
                placeholders.append("%s")
                values.append(value)
        row_size = sum(len(v) if isinstance(v, str) else 20 for v in values) + 64
        if parts and size + row_size > limit:
            statements.append((head + ", ".join(parts), tuple(args)))
            parts, args, size = [], [], 0
        parts.append("(" + ", ".join(placeholders) + ")")
        args.extend(values)
        size += row_size
    if parts:
        statements.append((head + ", ".join(parts), tuple(args)))
    return statements


def in_list(values) -> str:
    """Integers for an ``IN (...)`` clause (never user text)."""
    return ",".join(str(int(v)) for v in values) or "0"
