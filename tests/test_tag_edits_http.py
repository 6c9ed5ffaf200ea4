"""Tag edits over real HTTP: token-protected like every write, the taxonomy served as JSON and
YAML, and which taxonomy it is in /tags and /stats."""
from __future__ import annotations

import yaml


def test_the_taxonomy_is_served_as_json_and_yaml(token_server):
    as_json = token_server.get("/api/v1/taxonomy").json()
    assert as_json["name"] == "science-diplomacy" and "covid-19" in as_json["topics"]
    assert as_json["topics"]["covid-19"]["synonyms"]
    as_yaml = token_server.get("/api/v1/taxonomy", headers={"Accept": "application/yaml"})
    assert as_yaml.headers["Content-Type"].startswith("application/yaml")
    assert yaml.safe_load(as_yaml.text)["name"] == "science-diplomacy"
    fingerprint = as_json["fingerprint"]
    assert token_server.get("/api/v1/tags").json()["taxonomy"]["fingerprint"] == fingerprint
    assert token_server.get("/api/v1/stats").json()["taxonomy"]["fingerprint"] == fingerprint


def test_a_passage_tag_edit_needs_the_token(token_server, auth):
    url = "/api/v1/passages/science-diplomacy:3/tags"
    refused = token_server.request("PATCH", url, json={"add": ["reviewed"]})
    assert refused.status_code == 401 and refused.json()["code"] == 401
    assert "reviewed" not in token_server.get("/api/v1/passages/science-diplomacy:3").json()["tags"]
    done = token_server.request("PATCH", url, json={"add": ["reviewed"], "remove": ["soft-power"], "by": "ana"},
                                headers=auth)
    assert done.status_code == 200 and done.json()["changed"] is True
    passage = token_server.get("/api/v1/passages/science-diplomacy:3").json()
    assert "reviewed" in passage["tags"] and "soft-power" not in passage["tags"]
    assert {e["tag"]: e["action"] for e in passage["manual"]} == {"reviewed": "add", "soft-power": "remove"}
    assert any(e.get("source") == "manual" and e["by"] == "ana" for e in passage["evidence"])
    missing = token_server.request("PATCH", "/api/v1/passages/nope:1/tags", json={"add": ["x"]}, headers=auth)
    assert missing.status_code == 404
    bad = token_server.request("PATCH", url, json={"add": ["a,b"]}, headers=auth)
    assert bad.status_code == 422 and "no comma" in bad.json()["message"]


def test_tagging_every_hit_of_a_query_runs_dry_first(token_server, auth):
    url = "/api/v1/tags/health-review/passages"
    assert token_server.request("POST", url, json={"q": "vaccine"}).status_code == 401
    dry = token_server.request("POST", url, json={"q": '"public health"'}, headers=auth).json()
    assert dry["dry_run"] is True and dry["to_change"] >= 1
    assert token_server.get("/api/v1/search?tag=health-review").json()["total"] == 0
    done = token_server.request("POST", url, json={"q": '"public health"', "dry_run": False}, headers=auth).json()
    assert done["changed"] == dry["to_change"]
    assert token_server.get("/api/v1/search?tag=health-review").json()["total"] == dry["to_change"]
