"""Tags that curated examples suggest, in words (no embeddings), over a real ``kb serve`` and the
real ``kb`` command: recipes tagged by hand suggest the tag for other recipes, never for the
licences or the Rust book beside them, and a suggestion never becomes a tag, a facet or a filter
until someone adds it by hand."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from helpers import API_TOKEN, KB_BIN
from helpers.servers import LiveServer
from kb.core import KnowledgeBase

TRAP = "tests/data/tags/trap.jsonl"   # 17 recipes, 2 licences, 3 chapters of the Rust book
EXAMPLES = ("recipe-banana-bread", "recipe-apple-strudel")
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture(scope="module")
def trap_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("suggest-kb") / "kb"
    KnowledgeBase(home).ingest_paths([TRAP])
    return home


@pytest.fixture(scope="module")
def server(trap_home):
    server = LiveServer(trap_home, env={"KB_API_TOKEN": API_TOKEN})
    try:
        hits = server.get("/api/v1/search", params={"document": EXAMPLES, "limit": 50}).json()["hits"]
        ids = [h["id"] for h in hits]
        assert len(ids) == 6
        for passage_id in ids:
            done = server.request("PATCH", f"/api/v1/passages/{passage_id}/tags", json={"add": ["cooking"]},
                                  headers=AUTH)
            assert done.status_code == 200, done.text
        yield server
    finally:
        server.stop()


def suggestions(server, **params) -> dict:
    answer = server.get("/api/v1/tags/cooking/suggestions", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_examples_suggest_their_tag_for_passages_like_them_only(server):
    body = suggestions(server, limit=100)
    assert body["tag"] == "cooking" and body["examples"] == 6 and body["method"] == "words"
    found = body["suggestions"]
    assert len(found) >= 10
    assert all(p["document_id"].startswith("recipe-") for p in found)
    assert all(p["document_id"] not in EXAMPLES and "cooking" not in p["tags"] for p in found)
    scores = [p["score"] for p in found]
    assert scores == sorted(scores, reverse=True) and all(body["min_score"] <= s <= 1 for s in scores)
    assert all(p["like"].split(":")[0] in EXAMPLES for p in found)
    # the banana recipes are most like banana bread
    assert found[0]["document_id"].startswith("recipe-banana-") and found[0]["like"].startswith("recipe-banana-bread")


def test_limit_and_min_score(server):
    assert len(suggestions(server, limit=2)["suggestions"]) == 2
    everything = suggestions(server, limit=100, min_score=0)["suggestions"]
    assert len(everything) > len(suggestions(server, limit=100)["suggestions"])
    assert suggestions(server, min_score=1)["suggestions"] == []
    bad = server.get("/api/v1/tags/cooking/suggestions", params={"min_score": 2})
    assert bad.status_code == 422 and bad.json()["code"] == 422 and "min_score" in json.dumps(bad.json())
    none = server.get("/api/v1/tags/no-such-tag/suggestions").json()
    assert none["examples"] == 0 and none["suggestions"] == []


def test_a_suggestion_is_never_a_tag_facet_or_filter(server):
    hit = server.get("/api/v1/search", params={"q": "pancakes batter"}).json()["hits"][0]
    assert hit["id"].startswith("recipe-banana-pancakes")
    example = [s for s in hit["suggested_tags"] if s["tag"] == "cooking"]
    assert example and example[0]["source"] == "example" and 0 < example[0]["score"] <= 1
    assert "cooking" not in hit["tags"]
    passage = server.get(f"/api/v1/passages/{hit['id']}").json()
    assert [s["tag"] for s in passage["suggested_tags"]] == ["cooking"] and "cooking" not in passage["tags"]
    tagged = server.get("/api/v1/search", params={"tag": "cooking", "limit": 100}).json()
    assert tagged["total"] == 6 and {h["document_id"] for h in tagged["hits"]} == set(EXAMPLES)
    assert server.get("/api/v1/search", params={"q": "sugar"}).json()["facets"]["tags"].get("cooking", 0) <= 6
    counts = {t["tag"]: t["count"] for t in server.get("/api/v1/tags").json()["tags"]}
    assert counts["cooking"] == 6


def test_accepting_or_refusing_a_suggestion_is_a_manual_edit(server):
    first, second = suggestions(server)["suggestions"][:2]
    accepted = server.request("PATCH", f"/api/v1/passages/{first['id']}/tags", json={"add": ["cooking"]},
                              headers=AUTH)
    refused = server.request("PATCH", f"/api/v1/passages/{second['id']}/tags", json={"remove": ["cooking"]},
                             headers=AUTH)
    assert accepted.status_code == refused.status_code == 200
    after = suggestions(server, limit=100, min_score=0)
    assert after["examples"] == 7
    ids = {p["id"] for p in after["suggestions"]}
    assert first["id"] not in ids and second["id"] not in ids   # tagged now / refused for good
    assert "cooking" in server.get(f"/api/v1/passages/{first['id']}").json()["tags"]


def test_the_cli_lists_the_same_suggestions(trap_home, server):
    env = {**os.environ, "KB_SEMANTIC": "0"}
    done = subprocess.run([str(KB_BIN), "tag", "suggest", "cooking", "--json", "-n", "5", "--home", str(trap_home)],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert [p["id"] for p in json.loads(done.stdout)["suggestions"]] == \
        [p["id"] for p in suggestions(server, limit=5)["suggestions"]]
    text = subprocess.run([str(KB_BIN), "tag", "suggest", "cooking", "-n", "3", "--home", str(trap_home)],
                          capture_output=True, text=True, env=env)
    assert text.returncode == 0 and text.stdout.count("recipe-") >= 3 and "by words" in text.stderr
    missing = subprocess.run([str(KB_BIN), "tag", "suggest", "nothing", "--home", str(trap_home)],
                             capture_output=True, text=True, env=env)
    assert missing.returncode == 1 and "no passage is tagged nothing by hand" in missing.stderr
    assert "Traceback" not in missing.stderr
