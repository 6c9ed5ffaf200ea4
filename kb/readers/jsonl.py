"""JSON Lines: one document per line (``{"id"?, "title"?, "text", "tags"?, "metadata"?,
"source"?, "sections"?, "manual_tags"?}``, or ``_id`` as in BEIR collections); any other top-level
key is a citation field (``author``, ``date``, ``year``, ``url``, ``doi`` ..., see kb.citation) or
kept in metadata. A record with a title and no text is accepted: its title is its text (a
bibliographic entry, a bookmark). A bad line is reported with its number and the good lines still
land. Files over ``readers.STREAM_BYTES`` are read line by line (a million-line file is never held
in memory), as UTF-8, which JSON text is (RFC 8259)."""
from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any, Iterator

from kb import limits
from kb.models import Document

from .base import (
    TITLE_MAX,
    ReadError,
    ReadResult,
    citation_and_metadata,
    clean_id,
    clean_tags,
    decode_text,
    json_safe,
    make_title,
)

EXTENSIONS = (".jsonl", ".ndjson")
# keys of a record read as such; any other top-level key is a citation field (kb.citation) or metadata
KNOWN_KEYS = {"id", "_id", "title", "text", "tags", "metadata", "source", "sections", "manual_tags", "ingested_at",
              "page_starts"}
CONTENT_TYPES = ("application/x-ndjson", "application/jsonl", "application/x-jsonlines",
                 "application/jsonlines")


def read_jsonl(data: bytes, name: str) -> Iterator[ReadResult | ReadError]:
    text, warnings = decode_text(data)
    label = name or "jsonl"
    for lineno, line in enumerate(_lines(text), 1):
        if not line.strip():
            continue
        try:
            result = _jsonl_record(line, f"{label}#{lineno}")
        except ReadError as exc:
            yield ReadError(f"{label}:{lineno}: {exc}", path=name or None, line=lineno)
            continue
        result.warnings, warnings = warnings, []  # an encoding warning once, on the first document
        result.line = lineno
        yield result


def _lines(text: str) -> Iterator[str]:
    """``text.split("\\n")``, one line at a time: a million-line file is not held twice."""
    start = 0
    while True:
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start:end]
        start = end + 1


def _jsonl_record(line: str, default_source: str) -> ReadResult:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ReadError(f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise ReadError(limits.too_deep("line").reason) from None
    except ValueError as exc:
        raise ReadError(f"invalid JSON: {exc}") from None
    try:
        limits.depth_and_strings(obj, "line", strings=False)   # fields: Document.validate
    except limits.OverLimit as exc:
        raise ReadError(exc.reason) from None
    if not isinstance(obj, dict):
        raise ReadError(f"expected a JSON object, got {type(obj).__name__}")
    text, title = obj.get("text"), obj.get("title")
    titled = isinstance(title, (str, int, float)) and not isinstance(title, bool) and str(title).strip()
    if text is not None and not isinstance(text, str):
        raise ReadError("'text' must be a string")
    if not (text or "").strip():
        if not titled:
            raise ReadError("missing 'text' (or a 'title', for a title-only record)" if text is None
                            else "'text' is empty and there is no 'title'")
        text = " ".join(str(title).split())[:TITLE_MAX]   # a title-only record (a reference, a bookmark)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    title = " ".join(str(title).split())[:TITLE_MAX] if titled else make_title(text)
    given = obj.get("id", obj.get("_id"))
    if isinstance(given, bool) or not isinstance(given, (str, int, float, type(None))):
        raise ReadError("'id' must be a string or a number")
    tags = obj.get("tags")
    if tags is not None and not isinstance(tags, (list, str)):
        raise ReadError("'tags' must be a list of strings")
    metadata = obj.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise ReadError("'metadata' must be an object")
    source = obj.get("source")
    ingested_at = obj.get("ingested_at")
    fields = citation_and_metadata({k: v for k, v in obj.items() if k not in KNOWN_KEYS})
    fields["metadata"] = {**fields["metadata"], **json_safe(metadata)}
    doc = Document(id=clean_id(given, title, text), title=title, text=text,
                   source=str(source) if source not in (None, "") else default_source,
                   tags=clean_tags(tags), ingested_at=ingested_at if isinstance(ingested_at, str) else "",
                   page_starts=_page_starts(obj.get("page_starts"), len(text)), **fields)
    return ReadResult(doc, _jsonl_sections(obj.get("sections"), len(text)), [],
                      manual_tags=_manual_tags(obj.get("manual_tags")))


def _page_starts(value: Any, length: int) -> list[int] | None:
    """``page_starts`` as `kb export --documents` writes them: ascending offsets, one per page."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(type(v) is int and 0 <= v <= length for v in value) \
            or value != sorted(value):
        raise ReadError("'page_starts' must be a list of ascending offsets into the text")
    return value


def _manual_tags(value: Any) -> list[dict] | None:
    """``manual_tags`` as `kb export --documents` writes them: ``[{"passage", "tag", "action",
    "fingerprint", "by"?, "at"?}]``."""
    if value is None:
        return None
    ok = isinstance(value, list) and all(
        isinstance(e, dict) and all(isinstance(e.get(k), str) and e.get(k) for k in ("passage", "tag", "fingerprint"))
        and e.get("action") in ("add", "remove") and all(isinstance(e.get(k, ""), str) for k in ("by", "at"))
        for e in value)
    if not ok:
        raise ReadError("'manual_tags' must be a list of {passage, tag, action: add|remove, fingerprint, by?, at?}")
    return [{k: e[k] for k in ("passage", "tag", "action", "fingerprint", "by", "at") if k in e} for e in value]


def _jsonl_sections(value: Any, length: int) -> list[tuple[int, str]] | None:
    """``sections`` as `kb export --documents` writes them: ``[[offset, "Heading > Sub"], ...]``."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(
            isinstance(s, list) and len(s) == 2 and type(s[0]) is int and 0 <= s[0] <= length
            and isinstance(s[1], str) for s in value):
        raise ReadError("'sections' must be a list of [offset, section path] pairs")
    return [(offset, path) for offset, path in value]


def stream_jsonl(path: Path, name: str) -> Iterator[ReadResult | ReadError]:
    """``read_jsonl`` for a big file, a line at a time. A file with a UTF-16/32 byte order mark is
    read whole as before; a line that is not UTF-8 is refused on its own."""
    label = name or "jsonl"
    with open(path, "rb") as f:
        head = f.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):   # UTF-32 BOMs start alike
            f.seek(0)
            yield from read_jsonl(f.read(), name)
            return
        f.seek(len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0)
        for lineno, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8")
                result = _jsonl_record(line, f"{label}#{lineno}")
            except UnicodeDecodeError:
                yield ReadError(f"{label}:{lineno}: not UTF-8 text", path=name or None, line=lineno)
                continue
            except ReadError as exc:
                yield ReadError(f"{label}:{lineno}: {exc}", path=name or None, line=lineno)
                continue
            result.line = lineno
            yield result
