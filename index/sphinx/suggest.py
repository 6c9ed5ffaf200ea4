"""Suggestions and more-like-this on the SphinxQL backend.

Sphinx 2.2 has no term dictionary API and no spelling corrector, so the backend keeps a
vocabulary in ``kb_meta`` (one row per distinct word, with its letter n-grams: the classic
Sphinx suggest recipe). Completions are vocabulary words with the prefix; did-you-mean takes words that
share letter pairs and triples with a word that finds nothing and keeps those within two edits. Hit counts are
always live: the document frequency of each word's exact form (``=word``) in ``SHOW META``.
More-like-this picks the passage's 15 best terms by tf·idf (``CALL KEYWORDS`` with statistics)
and searches for them.
"""
from __future__ import annotations

import json
import math
from collections import Counter

from ..base import Filters, QueryError, SearchRequest
from ..text.analysis import is_stop_word
from . import records as rec
from .client import sendable
from .config import DIST_INDEX, META_DIST_INDEX, RT_INDEX
from .records import PASSAGE_SELECT

CANDIDATES = 500
CORRECTION_CANDIDATES = 2000
COUNT_BATCH = 200
SIMILAR_TERMS = 15
MAX_REMEMBERED_WORDS = 2_000_000


class Suggester:
    def __init__(self, index):
        self.index = index
        self.sql = index.sql
        self._written: dict[int, set[str]] = {}

    # ------------------------------------------------------------------ vocabulary

    def new_word_rows(self, shard: int, words: set[str]) -> list[tuple]:
        """Vocabulary rows this process has not written to the shard yet (REPLACE is idempotent)."""
        written = self._written.setdefault(shard, set())
        if len(written) > MAX_REMEMBERED_WORDS:
            written.clear()
        fresh = sorted(w for w in words if w not in written)
        written.update(fresh)
        return [rec.word_row(w, shard) for w in fresh]

    def forget(self, shard: int) -> None:
        """After a failed write: the words may not have landed."""
        self._written.pop(shard, None)

    def _vocabulary(self, match: str, limit: int = CANDIDATES) -> list[str]:
        """Vocabulary words matching, those sharing the most query terms (trigrams) first."""
        rows = self.sql.read(f"SELECT data FROM {META_DIST_INDEX} WHERE MATCH(%s) AND kind = {rec.WORD} "
                             f"LIMIT {limit} OPTION max_matches={limit}, ranker=wordcount", (match,)).rows
        return [json.loads(r[0]) for r in rows]

    def counts(self, words, occurrences: bool = False) -> dict[str, int]:
        """Passages containing each word as written (its exact form), from SHOW META; with
        ``occurrences``, how often it occurs in all (what Whoosh's corrector ranks by)."""
        words = sorted({w for w in words if w and w.replace("_", "").isalnum()})
        out: dict[str, int] = {}
        for i in range(0, len(words), COUNT_BATCH):
            part = words[i:i + COUNT_BATCH]
            match = "@content (" + " | ".join(f"={w}" for w in part) + ")"
            meta = self.sql.read(f"SELECT id FROM {DIST_INDEX} WHERE MATCH(%s) LIMIT 1", (match,)).meta
            for key, value in meta.items():
                if key.startswith("keyword["):
                    word = value.lstrip("=")
                    count = int(meta.get(("hits[" if occurrences else "docs[") + key[8:], 0))
                    out[word] = out.get(word, 0) + count
        return out

    def check_expansions(self, patterns, limit: int) -> None:
        """A prefix or wildcard matching more than ``limit`` vocabulary words is refused, as the
        embedded engine refuses it (Sphinx would silently keep only the most frequent words)."""
        for pattern in patterns:
            found = self.sql.read(f"SELECT id FROM {META_DIST_INDEX} WHERE MATCH(%s) AND kind = {rec.WORD} "
                                  "LIMIT 1", (f"@word {pattern}",)).total_found
            if found > limit:
                shown = pattern[:-1] if pattern.endswith("*") and pattern.count("*") == 1 else pattern
                raise QueryError(f"'{shown}' matches more than {limit} words; make it more specific")

    # ------------------------------------------------------------------ suggest

    def suggest(self, q: str, limit: int = 5) -> dict:
        words = q.strip().lower().split()
        out = {"completions": [], "did_you_mean": None}
        if not words:
            return out
        last = words[-1]
        if q[-1:].isspace() is False and last.isalnum():
            candidates = self._vocabulary(f"@word {rec.fold(last)}*")
            counts = self.counts(candidates)
            ranked = sorted(((c, w) for w, c in counts.items() if c > 0), key=lambda cw: (-cw[0], cw[1]))
            prefix = " ".join(words[:-1])
            texts = [f"{prefix} {w}".strip() for _, w in ranked[:limit]]
            out["completions"] = [{"text": t, "hits": self._hits(t)} for t in texts]
        known = self.counts(rec.fold(w) for w in words if w.isalpha())
        corrected, changed = [], False
        for w in words:
            if not w.isalpha() or known.get(rec.fold(w), 0) > 0:
                corrected.append(w)
                continue
            fix = self._correction(rec.fold(w))
            corrected.append(fix or w)
            changed = changed or fix is not None
        if changed:
            text = " ".join(corrected)
            out["did_you_mean"] = {"text": text, "hits": self._hits(text)}
        return out

    def _hits(self, text: str) -> int:
        """How many passages a search for these words would find (as on Whoosh)."""
        try:
            return self.index.search(SearchRequest(q=text, limit=1, highlight=False, facets=False,
                                                   syntax="words")).total
        except QueryError:
            return 0

    def _correction(self, word: str) -> str | None:
        """The most frequent vocabulary word within two edits, like Whoosh's corrector (which, on a
        tie, keeps the alphabetically last)."""
        grams = rec.grams(word).split()
        quorum = max(1, len(grams) - 10)  # two edits change at most six triples and four pairs
        candidates = [c for c in self._vocabulary(f'@grams "{" ".join(grams)}"/{quorum}', CORRECTION_CANDIDATES)
                      if c != word and _within(word, c, 2)]
        counts = self.counts(candidates, occurrences=True)
        ranked = [(count, w) for w, count in counts.items() if count > 0]
        return max(ranked)[1] if ranked else None

    # ------------------------------------------------------------------ more like this

    def similar(self, passage_id: str, limit: int = 10, filters: Filters = Filters()) -> list[dict] | None:
        passage = self.index.get_passage(passage_id)
        if passage is None:
            return None
        shard = rec.shard_of(passage["document_id"], self.index.shards)
        text = " ".join([passage["document_title"], passage["section"], passage["text"]])
        rows = self.sql.read_shard(shard, f"CALL KEYWORDS(%s, '{RT_INDEX}', 1)", (sendable(text),)).rows
        status = dict(self.sql.read_shard(shard, f"SHOW INDEX {RT_INDEX} STATUS").rows)
        total = max(int(status.get("indexed_documents", 1)), 1)
        tf, docs, surface = Counter(), {}, {}
        for _, tokenized, normalized, doc_count, _ in rows:
            if is_stop_word(tokenized) or not tokenized.replace("_", "").isalnum() or int(doc_count) < 2:
                continue
            tf[normalized] += 1
            docs[normalized] = int(doc_count)
            surface.setdefault(normalized, tokenized)
        scored = sorted(tf, key=lambda t: (-tf[t] * math.log((total + 1) / (docs[t] + 0.5)), t))
        terms = [surface[t] for t in scored[:SIMILAR_TERMS]]
        if not terms:
            return []
        where, args = self.index._where(filters, "@content (" + " | ".join(terms) + ")")
        if where is None:
            return []
        answer = self.index._complete(
            f"SELECT {PASSAGE_SELECT}, WEIGHT() FROM {DIST_INDEX}{where} AND id != "
            f"{rec.passage_row_id(passage_id)} ORDER BY WEIGHT() DESC, document_id ASC, ordinal ASC "
            f"LIMIT {limit} OPTION max_matches={max(limit, 10)}, {self.index.options}", args)
        out = []
        for row in answer.rows:
            record = rec.passage_from_row(row)
            record["score"] = round(row[5] / rec.SCORE_SCALE, 4)
            out.append(record)
        return out


def _within(a: str, b: str, limit: int) -> bool:
    """Levenshtein distance of a and b is at most ``limit`` (banded, early exit)."""
    if abs(len(a) - len(b)) > limit:
        return False
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
        if min(current) > limit:
            return False
        previous = current
    return previous[-1] <= limit
