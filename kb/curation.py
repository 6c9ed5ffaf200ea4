"""Tags corrected by hand, for the ``KnowledgeBase`` (``kb.curation``): edits on passages by id
or on every hit of a query, and the edits carried through re-ingests, rebuilds and exports
(the rules of an edit are in ``kb.tagging.manual``)."""
from __future__ import annotations

import dataclasses
import re
from typing import Iterable

from index import SearchRequest

from . import limits
from .tagging import manual

TAG = re.compile(r"[^\s,\x00-\x1f][^,\x00-\x1f]{0,199}")
SAMPLE = 20   # passage ids a query edit shows


class InvalidTags(ValueError):
    """Tags that cannot be stored (blank, a comma, over 200 characters); the message names them."""


def check_tags(tags: Iterable[str]) -> list[str]:
    tags = [t.strip() if isinstance(t, str) else t for t in tags]
    bad = [t for t in tags if not isinstance(t, str) or not TAG.fullmatch(t)]
    for tag in tags:
        if tag not in bad:
            limits.check_string(tag, "tags")   # a lone surrogate: kb.limits' sentence
    if bad:
        raise InvalidTags(f"not a tag: {', '.join(repr(b)[:60] for b in bad[:5])} (1 to 200 characters, no comma)")
    return list(dict.fromkeys(tags))


class Curation:
    def __init__(self, kb):
        """``kb``: the KnowledgeBase this curates (it owns this object; no import back)."""
        self.kb = kb

    # ------------------------------------------------------------------ edits

    def edit(self, passage_ids: Iterable[str], add: Iterable[str] = (), remove: Iterable[str] = (),
             by: str = "") -> dict:
        """Add and remove tags by hand on these passages, in one commit.
        ``{"changed": [passages], "unchanged": [ids], "missing": [ids]}``"""
        add, remove = check_tags(add), check_tags(remove)
        if not add and not remove:
            raise InvalidTags("nothing to do: give tags to add or to remove")
        ids = list(dict.fromkeys(passage_ids))
        seen: set[str] = set()

        def change(passage: dict) -> dict | None:
            seen.add(passage["id"])
            return manual.edit(passage, add, remove, by)

        changed = self.kb.index.update_passages(ids, change)
        done = {p["id"] for p in changed}
        return {"changed": changed, "unchanged": [i for i in ids if i in seen and i not in done],
                "missing": [i for i in ids if i not in seen]}

    def edit_matching(self, tag: str, request: SearchRequest, remove: bool = False, dry_run: bool = True,
                      by: str = "", limit: int = 10_000) -> dict:
        """Tag (or untag) every passage a query and its filters find; ``dry_run``: only say how
        many. More than ``limit`` matches is refused (ValueError): narrow the query."""
        tag = check_tags([tag])[0]
        first = self.kb.search(dataclasses.replace(request, limit=1, offset=0, highlight=False, facets=False))
        if first.total > limit:
            raise ValueError(f"the query matches {first.total:,} passages, more than {limit:,} at once: narrow it")
        ids = []
        if first.total:
            everything = dataclasses.replace(request, limit=first.total, offset=0, highlight=False, facets=False,
                                             group_by=None, sort="document")
            ids = [hit["id"] for hit in self.kb.search(everything).hits]
        would = [i for i in ids if (tag in self._tags_of(i)) == remove]
        answer = {"tag": tag, "action": "remove" if remove else "add", "matched": len(ids),
                  "to_change": len(would), "dry_run": dry_run, "sample": would[:SAMPLE]}
        if not dry_run and would:
            done = self.edit(would, [] if remove else [tag], [tag] if remove else [], by)
            answer["changed"] = len(done["changed"])
        return answer

    def _tags_of(self, passage_id: str) -> set[str]:
        passage = self.kb.index.get_passage(passage_id)
        return set(passage["tags"]) if passage else set()

    # ------------------------------------------------------------------ carried through

    def by_document(self, document_ids: Iterable[str] | None = None) -> dict[str, list[dict]]:
        """Every edit the index holds, as ``kb export --documents`` writes them, by document id."""
        out: dict[str, list[dict]] = {}
        for passage in self.kb.index.curated_passages(document_ids):
            out.setdefault(passage["document_id"], []).extend(manual.exported([passage]))
        return out

    def carry_into(self, batch: list[tuple[dict, list[dict]]]) -> list[dict]:
        """Re-apply the edits the index holds to re-ingested documents (those that came without
        edits of their own); returns the edits that no longer fit."""
        held = self.by_document([doc["id"] for doc, _ in batch])
        lost = []
        for doc, passages in batch:
            if doc["id"] in held and not any(p.get("manual") for p in passages):
                lost += manual.carry(passages, manual.imported(held[doc["id"]]))
        return lost
