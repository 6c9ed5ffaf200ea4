"""Topic suggestions for passages that no taxonomy phrase matched, by embedding similarity to the
topics' labels and descriptions.

Why separate from tags: curated tags come with evidence (the phrase that matched); a suggestion
has none, only a similarity. So suggestions go into their own field, ``suggested_tags``, and
never into ``tags``, the tag filters or the facets.
"""
from __future__ import annotations

from ..embedding import Embedder
from .taxonomy import Taxonomy

# With MiniLM a passage and the description of its topic score about 0.35-0.65, unrelated ones below
# 0.1 (measured on the sample corpus and hand-written passages: tests/semantic/test_semantic_kb.py).
MIN_SIMILARITY = 0.35
MAX_SUGGESTIONS = 3


def topic_text(label: str, description: str) -> str:
    return f"{label}. {description}".strip()


class TagSuggester:
    def __init__(self, embedder: Embedder, taxonomy: Taxonomy, min_similarity: float = MIN_SIMILARITY,
                 limit: int = MAX_SUGGESTIONS):
        self.embedder = embedder
        self.taxonomy = taxonomy
        self.min_similarity = min_similarity
        self.limit = limit
        self._topics = None

    def _topic_matrix(self):
        if self._topics is None:
            topics = list(self.taxonomy.topics.values())
            vectors = self.embedder.encode([topic_text(t.label, t.description) for t in topics])
            self._topics = ([t.id for t in topics], vectors)
        return self._topics

    def suggest(self, vectors) -> list[list[dict]]:
        """For each passage vector: the topics at or above ``min_similarity``, best first, as
        ``{"tag", "score", "source": "description"}``."""
        ids, topic_vectors = self._topic_matrix()
        if not ids or not len(vectors):
            return [[] for _ in range(len(vectors))]
        similarity = vectors @ topic_vectors.T
        out = []
        for row in similarity:
            order = row.argsort()[::-1][:self.limit]
            out.append([{"tag": ids[i], "score": round(float(row[i]), 4), "source": "description"}
                        for i in order if row[i] >= self.min_similarity])
        return out

    def similarities(self, vector) -> dict[str, float]:
        """Every topic's similarity to one vector (to see why a suggestion was made)."""
        ids, topic_vectors = self._topic_matrix()
        return dict(zip(ids, (topic_vectors @ vector).astype(float).tolist()))
