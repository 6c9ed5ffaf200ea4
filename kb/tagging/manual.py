"""Tags corrected by hand: each passage keeps its manual edits (``manual``: ``[{"tag", "action":
"add"|"remove", "by", "at", "fingerprint"}]``, the last word per tag) beside the tags the taxonomy
gave it; an added tag is a tag with evidence ``manual`` (who, when), a removed one stays removed
whatever the taxonomy says.

Edits follow the passage through every re-tagging (``kb rebuild``, ``kb taxonomy use``, a
re-ingest, ``kb export --documents`` then ``kb ingest``), matched by passage id and a fingerprint
of its text: where the text changed, the edit is kept but no longer applied (``stale``) and the
caller reports it; it never re-tags a passage it was not made for.
"""
from __future__ import annotations

import hashlib
from typing import Iterable

from ..models import now_iso

ADD, REMOVE = "add", "remove"


def text_fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def edit(passage: dict, add: Iterable[str] = (), remove: Iterable[str] = (), by: str = "",
         at: str | None = None) -> dict | None:
    """The passage with these tags added and removed by hand (None when nothing changes)."""
    add, remove = list(dict.fromkeys(add)), list(dict.fromkeys(remove))
    both = set(add) & set(remove)
    if both:
        raise ValueError(f"a tag cannot be added and removed at once: {', '.join(sorted(both))}")
    at = at or now_iso()
    fingerprint = text_fingerprint(passage["text"])
    edits = {e["tag"]: e for e in passage.get("manual") or []}
    tags = set(passage.get("tags") or [])
    changed = False
    for tag, action in [(t, ADD) for t in add] + [(t, REMOVE) for t in remove]:
        before = edits.get(tag)
        if before and before.get("action") == action and not before.get("stale") and (tag in tags) == (action == ADD):
            continue
        edits[tag] = {"tag": tag, "action": action, "by": by, "at": at, "fingerprint": fingerprint}
        changed = True
    if not changed:
        return None
    return apply(dict(passage), list(edits.values()))


def apply(passage: dict, edits: list[dict]) -> dict:
    """The passage with these edits applied to its tags and evidence (its current tags are what
    the taxonomy gave it); edits made for another text are kept as ``stale`` and not applied."""
    fingerprint = text_fingerprint(passage["text"])
    tags = set(passage.get("tags") or [])
    evidence = [e for e in passage.get("evidence") or [] if e.get("source") != "manual"]
    kept = []
    for e in edits:
        e = {k: v for k, v in e.items() if k != "stale"}
        if e.get("fingerprint") != fingerprint:
            kept.append({**e, "stale": True})
            continue
        kept.append(e)
        if e["action"] == ADD:
            tags.add(e["tag"])
            evidence.append({"tag": e["tag"], "phrase": "", "start": 0, "end": 0, "source": "manual",
                             "by": e.get("by", ""), "at": e.get("at", "")})
        else:
            tags.discard(e["tag"])
            evidence = [x for x in evidence if x.get("tag") != e["tag"]]
    passage["tags"] = sorted(tags)
    passage["evidence"] = evidence
    passage["manual"] = sorted(kept, key=lambda e: e["tag"])
    return passage


def carry(passages: list[dict], edits_by_passage: dict[str, list[dict]]) -> list[dict]:
    """Apply each passage's edits (by passage id) to freshly tagged passages, in place. Returns
    the edits that could not be applied: ``{"passage", "tag", "action", "reason"}``."""
    lost = []
    by_id = {p["id"]: p for p in passages}
    for passage_id, edits in edits_by_passage.items():
        if not edits:
            continue
        passage = by_id.get(passage_id)
        if passage is None:
            lost += [{"passage": passage_id, "tag": e["tag"], "action": e["action"],
                      "reason": "the passage is gone (the document was split differently)"} for e in edits]
            continue
        apply(passage, edits)
        lost += [{"passage": passage_id, "tag": e["tag"], "action": e["action"],
                  "reason": "the passage's text changed"} for e in passage["manual"] if e.get("stale")]
    return lost


def exported(passages: Iterable[dict]) -> list[dict]:
    """Every edit of these passages, as ``kb export --documents`` writes them (``manual_tags``)."""
    return [{"passage": p["id"], **e} for p in passages for e in p.get("manual") or []]


def imported(manual_tags: list[dict]) -> dict[str, list[dict]]:
    """``manual_tags`` of an exported document → edits by passage id."""
    out: dict[str, list[dict]] = {}
    for e in manual_tags:
        out.setdefault(e["passage"], []).append({k: v for k, v in e.items() if k != "passage"})
    return out
