"""Tag ids on Sphinx: a tag is stored as the CRC32 of its name in the ``tag_ids`` multi-valued
attribute (what filters and facets use), with the names beside it; this maps ids back to names
and refuses a tag whose id another tag already has (CRC32 collisions)."""
from __future__ import annotations

import json

from ..base import Conflict
from . import records as rec
from .config import DIST_INDEX
from .records import in_list

FACET_LIMIT = 100_000   # tags counted when counting them all


class TagNames:
    """Mixed into SphinxIndex (it provides ``sql`` and ``_tag_names``)."""

    def _check_tags(self, tags: set[str]) -> None:
        """CRC32 tag ids are exact only without collisions: refuse a tag whose id another has."""
        fresh = {t: rec.tag_id(t) for t in tags if self._tag_names.get(rec.tag_id(t)) != t}
        if not fresh:
            return
        seen: dict[int, str] = {}
        for tag, crc in sorted(fresh.items()):
            if seen.get(crc, tag) != tag:
                raise Conflict(f"tags '{seen[crc]}' and '{tag}' have the same CRC32 id; rename one")
            seen[crc] = tag
        self._names(set(fresh.values()), refresh=True)
        for tag, crc in fresh.items():
            known = self._tag_names.get(crc)
            if known is not None and known != tag:
                raise Conflict(f"tag '{tag}' has the same CRC32 id as the existing tag '{known}'; rename it")
            self._tag_names[crc] = tag

    def _tag_ok(self, tag: str) -> bool:
        """False when the tag's CRC32 belongs to another tag (its filter must match nothing)."""
        return self._tag_names.get(rec.tag_id(tag), tag) == tag

    def _names(self, crcs: set[int], refresh: bool = False) -> dict[int, str]:
        """Tag ids → tag strings, read from the tags stored beside the ids (cached)."""
        missing = crcs if refresh else {c for c in crcs if c not in self._tag_names}
        if missing:
            # grouping by a multi-valued attribute makes a group of every tag of every matching
            # passage, not only of the tags asked for: the limit must cover them all, or the
            # groups asked for can be cut (a facet then lost its tag's name)
            answer = self.sql.read(f"SELECT GROUPBY(), tags FROM {DIST_INDEX} WHERE tag_ids IN "
                                   f"({in_list(sorted(missing))}) GROUP BY tag_ids LIMIT {FACET_LIMIT} "
                                   f"OPTION max_matches={FACET_LIMIT}")
            for crc, tags in answer.rows:
                self._learn(int(crc), json.loads(tags))
        return {c: self._tag_names[c] for c in crcs if c in self._tag_names}

    def _learn(self, crc: int, tags: list[str]) -> None:
        for tag in tags:
            if rec.tag_id(tag) == crc:
                self._tag_names[crc] = tag
