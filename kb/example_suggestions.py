"""Tags that curated examples suggest, for the ``KnowledgeBase`` (``kb.examples``): for each tag
added by hand to some passages, the passages most like those examples, as ``suggested_tags``
entries ``{"tag", "score", "source": "example", "method"}``. A suggestion is never a tag: it is not
in ``tags``, the tag facets or the tag filters; accepting one is adding the tag by hand.

Likeness: in words always (``kb.tagging.examples``: the examples' key terms, searched through the
index interface, so both engines; the score is the share of the key terms' weight a passage holds);
by embeddings when the semantic extra is on and the index holds vectors (the score is then the
cosine to the examples' mean vector, the nearest passages found by the index's semantic search).

Computed on demand, once per index version, and kept until the next commit: an edit changes the
examples and an ingest changes the candidates, so any commit may change every suggestion, and
recomputing at each commit would make every write pay for reads that may never come. The cost is
bounded: at most ``MAX_TAGS`` tags (the latest edited), ``MAX_EXAMPLES`` examples per tag, one
frequency look-up per candidate term (``kb.tagging.examples.CANDIDATE_TERMS``) and one search of
``DEPTH`` passages per tag.
"""
from __future__ import annotations

import threading

import numpy as np

from index import BackendUnavailable, Filters, SearchRequest

from . import embedding
from .tagging.examples import Profile, profile

MAX_TAGS = 50          # tags with examples that suggest, the latest edited first
MAX_EXAMPLES = 50      # examples per tag, the latest tagged first
DEPTH = 100            # passages ranked per tag
# Measured on tests/data/tags/trap.jsonl (2 recipes tagged by hand; 3 passages of a Rust chapter
# on threads): in words, the other recipes hold 0-0.61 of the examples' key-term weight (mean 0.11),
# the other Rust passages 0.05-0.42 (mean 0.26) but licence passages up to 0.29: words rank well and
# separate less. By embeddings (MiniLM), recipes 0.16-0.73 (mean 0.35) and Rust passages 0.34-0.71
# of cosine to the examples' mean, passages on another subject at most 0.23.
MIN_SCORE = {"words": 0.15, "embeddings": 0.3}


class ExampleSuggestions:
    def __init__(self, kb):
        """``kb``: the KnowledgeBase whose examples these are (it owns this object; no import back)."""
        self.kb = kb
        self._lock = threading.Lock()
        self._version: str | None = None
        self._ranked: dict[str, list[dict]] = {}      # tag → suggestions, best first (before min score)
        self._examples: dict[str, list[dict]] = {}
        self._removed: dict[str, set[str]] = {}
        self._frequency: dict[str, int] = {}

    # ------------------------------------------------------------------ what callers ask

    def method(self) -> str:
        """``embeddings`` when the semantic extra is on and passages have vectors, else ``words``."""
        return "embeddings" if self.kb.semantic and self.kb.index.embedded_count() else "words"

    def for_tag(self, tag: str, limit: int = 20, min_score: float | None = None) -> dict:
        """The passages the tag's examples suggest it for, best first: ``{"tag", "examples",
        "method", "min_score", "suggestions": [passages with "score"]}``."""
        ranked, examples, method = self._current(tag)
        floor = MIN_SCORE[method] if min_score is None else min_score
        chosen = [s for s in ranked if s["score"] >= floor][:limit]
        passages = []
        for s in chosen:
            passage = self.kb.get_passage(s["id"])
            if passage is not None:
                passages.append({**passage, "score": s["score"], "method": method, "like": s["like"]})
        return {"tag": tag, "examples": len(examples), "method": method, "min_score": floor,
                "suggestions": passages}

    def annotate(self, passages: list[dict]) -> list[dict]:
        """Give these passages (hits) the ``suggested_tags`` their tags' examples make."""
        if not passages:
            return passages
        with self._lock:
            try:
                self._refresh()
            except BackendUnavailable:   # a shard down: the last complete reading, as the catalog does
                pass
            tags = list(self._examples)
        by_id: dict[str, list[dict]] = {}
        for tag in tags:
            ranked, _examples, method = self._current(tag)
            for s in ranked:
                if s["score"] >= MIN_SCORE[method]:
                    by_id.setdefault(s["id"], []).append({"tag": tag, "score": s["score"], "source": "example",
                                                          "method": method, "like": s["like"]})
        for p in passages:
            extra = [s for s in by_id.get(p["id"], []) if s["tag"] not in (p.get("tags") or [])]
            if extra:
                known = {s["tag"] for s in p.get("suggested_tags") or []}
                p["suggested_tags"] = list(p.get("suggested_tags") or []) + [s for s in extra if s["tag"] not in known]
        return passages

    # ------------------------------------------------------------------ computed once per version

    def _refresh(self) -> None:
        version = self.kb.index.version()
        if version == self._version:
            return
        examples: dict[str, list[tuple[str, dict]]] = {}
        removed: dict[str, set[str]] = {}
        for passage in self.kb.index.curated_passages():
            for edit in passage.get("manual") or []:
                if edit.get("stale"):
                    continue
                if edit["action"] == "add" and edit["tag"] in passage["tags"]:
                    examples.setdefault(edit["tag"], []).append((edit.get("at", ""), passage))
                elif edit["action"] == "remove":
                    removed.setdefault(edit["tag"], set()).add(passage["id"])
        latest = sorted(examples, key=lambda t: max(at for at, _ in examples[t]), reverse=True)[:MAX_TAGS]
        self._examples = {t: [p for _, p in sorted(examples[t], key=lambda e: e[0], reverse=True)[:MAX_EXAMPLES]]
                          for t in latest}
        self._removed = removed
        self._ranked, self._frequency, self._version = {}, {}, version

    def _current(self, tag: str) -> tuple[list[dict], list[dict], str]:
        with self._lock:
            self._refresh()
            examples = self._examples.get(tag, [])
            method = self.method()
            if tag not in self._ranked:
                self._ranked[tag] = self._rank(tag, examples, method) if examples else []
            return self._ranked[tag], examples, method

    def _rank(self, tag: str, examples: list[dict], method: str) -> list[dict]:
        skip = {p["id"] for p in examples} | self._removed.get(tag, set())
        filters = Filters(not_tags=(tag,))
        words = self._profile(examples)
        texts = {p["id"]: _text(p) for p in examples}
        if method == "embeddings":
            request = SearchRequest(q="", filters=filters, limit=DEPTH + len(skip), highlight=False, facets=False,
                                    mode="semantic", vector=self._centroid(examples))
            hits = [h for h in self.kb.index.search(request).hits if h["id"] not in skip][:DEPTH]
            return [{"id": h["id"], "score": round(float(h["score"]), 4), "like": words.closest(_text(h), texts)}
                    for h in hits]
        if not words.weights:
            return []
        request = SearchRequest(q=words.query, filters=filters, limit=DEPTH + len(skip), highlight=False,
                                facets=False, syntax="words", mode="lexical")
        hits = [h for h in self.kb.index.search(request).hits if h["id"] not in skip]
        scored = [{"id": h["id"], "score": words.score(_text(h)), "like": words.closest(_text(h), texts)}
                  for h in hits]
        return sorted(scored, key=lambda s: -s["score"])[:DEPTH]

    def _profile(self, examples: list[dict]) -> Profile:
        total = self.kb.index.search(SearchRequest(q="", limit=1, highlight=False, facets=False)).total
        return profile((_text(p) for p in examples), total, self._passages_with)

    def _passages_with(self, word: str) -> int:
        if word not in self._frequency:
            request = SearchRequest(q=word, limit=1, highlight=False, facets=False, syntax="words", mode="lexical")
            self._frequency[word] = self.kb.index.search(request).total
        return self._frequency[word]

    def _centroid(self, examples: list[dict]) -> tuple[float, ...]:
        texts = []
        for p in examples:
            stored = self.kb.index.get_passage(p["id"]) or p
            texts.append(embedding.passage_text(stored.get("document_title", ""), p.get("section") or "", p["text"]))
        mean = np.asarray(self.kb.embedder.encode(texts), dtype=np.float32).mean(axis=0)
        norm = float(np.linalg.norm(mean)) or 1.0
        return tuple(float(x) for x in mean / norm)


def _text(passage: dict) -> str:
    return " ".join([passage.get("section") or "", passage["text"]])
