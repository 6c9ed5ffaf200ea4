"""What a client syncing with a knowledge base needs: the documents stored and deleted since a
time, and changes to a document's metadata and tags that need no re-splitting.

Times are ISO 8601 UTC to the second (as ``ingested_at`` and the index's deletion records are
written), compared inclusively: a document stored in the second a client last asked at comes again
rather than never. Each answer says ``as_of``, the time to ask from next."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Callable

from .models import Document, InvalidDocument, now_iso

FIXED_FIELDS = ("id", "text", "ingested_at")   # what a metadata change never touches
_RFC3339_FRACTION = re.compile(r"\.\d{7,}")        # Python reads at most microseconds


def normalize_since(value: str) -> str:
    """``2024-05-01``, ``2024-05-01T10:00:00Z``, ``…+02:00`` → ``2024-05-01T08:00:00+00:00``
    (a time without a zone is UTC); ValueError saying what is wrong."""
    text = _RFC3339_FRACTION.sub(lambda m: m.group(0)[:7], value.strip().upper())  # t/z, nanoseconds
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"since: '{value[:60]}' is not an ISO 8601 date or time "
                         "(2024-05-01 or 2024-05-01T10:00:00Z)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    try:
        when = when.astimezone(timezone.utc)
    except OverflowError:   # year 1 east of UTC, or 9999 west of it: the edge of time
        when = when.replace(tzinfo=timezone.utc)
    return when.replace(microsecond=0).isoformat()


def changes_since(index, since: str, offset: int = 0, limit: int | None = None,
                  keep: Callable[[dict], bool] | None = None) -> dict:
    """``{"since", "as_of", "total", "documents": [summary], "deleted": [{"id", "deleted_at"}]}``:
    documents stored (added, replaced or changed) at or after ``since`` (and that ``keep``
    accepts: metadata filters), a page of them, and every deletion since (a deleted document has
    no metadata left to filter on)."""
    since = normalize_since(since)
    as_of = now_iso()   # taken first: whatever lands while this reads comes again next time
    _, summaries = index.list_documents(0, None)
    changed = [d for d in summaries if (d.get("ingested_at") or "") >= since and (keep is None or keep(d))]
    page = changed[offset:offset + limit] if limit is not None else changed[offset:]
    return {"since": since, "as_of": as_of, "total": len(changed), "documents": page,
            "deleted": index.deletions(since)}


def update_document(index, document_id: str, changes: dict) -> dict | None:
    """Change a document's metadata and document-level tags in place: its text, passages and
    offsets stay (no re-splitting, no re-tagging). ``changes`` names the fields to set (any field
    of a document but its id and text); ``metadata`` is merged key by key, a key set to None
    removed. Passages carry the new document tags instead of the old ones (a tag the tagger or a
    manual edit gave a passage stays). Returns the document as listed (no text, its passage count),
    None when there is none."""
    stored = index.get_document(document_id)
    if stored is None:
        return None
    wrong = [name for name in changes if name in FIXED_FIELDS]
    if wrong:
        raise InvalidDocument(f"{wrong[0]}: cannot be changed in place (PUT the document to replace it)")
    updated = dict(stored)
    for name, value in changes.items():
        if name == "metadata":
            merged = {**(stored.get("metadata") or {}), **value}
            updated["metadata"] = {k: v for k, v in merged.items() if v is not None}
        else:
            updated[name] = value
    record = Document.from_dict({**updated, "ingested_at": ""}).validate().to_dict()
    record = {**updated, **record}   # fields the index keeps beyond a Document's (sections) stay
    old_tags, new_tags = set(stored.get("tags") or []), set(record["tags"])
    passages = index.passages_of(document_id)
    for p in passages:
        manual = [m for m in p.get("manual") or [] if not m.get("stale")]
        own = {e.get("tag") for e in p.get("evidence") or []} | {m.get("tag") for m in manual
                                                                 if m.get("action") == "add"}
        removed = {m.get("tag") for m in manual if m.get("action") == "remove"}   # by hand: stays removed
        p["tags"] = sorted((set(p["tags"]) - (old_tags - own)) | (new_tags - removed))
    index.replace_documents([(record, passages)])
    summary = {k: v for k, v in (index.get_document(document_id) or record).items() if k not in ("text", "sections")}
    return {**summary, "passages": len(passages)}
