"""A research tool syncs over real HTTP, on both engines: GET /api/v1/documents?since= lists what was
stored since and every deletion since (kept across a server restart and a rebuild), and PATCH
/api/v1/documents/<id> changes metadata and document tags without re-splitting."""
from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import datetime, timezone

import pytest

from helpers import API_TOKEN, KB_BIN
from helpers.servers import LiveServer, ingest_sample

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def next_second() -> None:
    """Wait for the UTC second to turn (times are kept to the second): what happens next is after."""
    start = datetime.now(timezone.utc).replace(microsecond=0)
    while datetime.now(timezone.utc).replace(microsecond=0) == start:
        time.sleep(0.05)


@pytest.fixture(params=["whoosh", "sphinx"])
def synced(request, tmp_path, private_cluster):
    env = {"KB_BACKEND": "whoosh"} if request.param == "whoosh" else private_cluster(2, 1).env
    home = ingest_sample(tmp_path / "kb", env)
    servers = [LiveServer(home, env={**env, "KB_API_TOKEN": API_TOKEN}, workers=1)]

    def restart() -> LiveServer:
        servers[-1].stop()
        servers.append(LiveServer(home, env={**env, "KB_API_TOKEN": API_TOKEN}, workers=1))
        return servers[-1]
    yield servers[0], restart, env, home
    servers[-1].stop()


def post(server, doc_id, text, tags=()):
    r = server.request("POST", "/api/v1/documents", json={"id": doc_id, "title": doc_id.title(), "text": text,
                                               "tags": list(tags)}, headers=AUTH)
    assert r.status_code == 201, r.text


def changes(server, since):
    r = server.get("/api/v1/documents", params={"since": since})
    assert r.status_code == 200, r.text
    body = r.json()
    return body, [d["id"] for d in body["documents"]], [d["id"] for d in body["deleted"]]


def test_changes_since_list_stored_and_deleted_documents_across_restarts(synced):
    server, restart, env, home = synced
    next_second()
    start = server.get("/api/v1/documents").json()["as_of"]
    post(server, "alpha", "Alpha notes on vaccine trials in the dry season.")
    post(server, "beta", "Beta notes on public health budgets.")
    body, stored, deleted = changes(server, start)
    assert sorted(stored) == ["alpha", "beta"] and deleted == [] and body["total"] == 2
    assert body["since"] == start and body["as_of"] >= start
    next_second()
    assert server.request("DELETE", "/api/v1/documents/alpha", headers=AUTH).status_code == 204
    body, stored, deleted = changes(server, start)
    assert stored == ["beta"] and deleted == ["alpha"] and body["deleted"][0]["deleted_at"] > start
    server = restart()   # the deletion log is on disk (Whoosh) or in the cluster (Sphinx)
    assert changes(server, start)[1:] == (["beta"], ["alpha"])
    assert changes(server, "2000-01-01")[2] == ["alpha"] and len(changes(server, "2000-01-01")[1]) == 2
    next_second()
    later = server.get("/api/v1/documents").json()["as_of"]   # a look after the deletion's second
    assert changes(server, later)[1:] == ([], [])              # nothing since
    post(server, "alpha", "Alpha is back, on vaccine trials.")   # stored again: no longer deleted
    assert changes(server, start)[1:] == (["alpha", "beta"], [])
    assert changes(server, later)[1:] == (["alpha"], [])
    bad = server.get("/api/v1/documents", params={"since": "last tuesday"})
    assert bad.status_code == 400 and "since: 'last tuesday' is not an ISO 8601" in bad.json()["message"]


def test_patch_changes_metadata_and_document_tags_without_resplitting(synced):
    server, restart, env, home = synced
    post(server, "gamma", "Gamma notes on public health. " * 30 + "\n\nA second part on vaccines. " * 30,
         tags=["field-notes"])
    before = server.get("/api/v1/documents/gamma").json()
    next_second()
    mark = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    r = server.request("PATCH", "/api/v1/documents/gamma", json={"title": "Gamma, revised", "tags": ["reviewed"],
                                                      "metadata": {"year": 2024}, "source": "notes/gamma.md"},
                     headers=AUTH)
    assert r.status_code == 200, r.text
    summary = r.json()
    assert summary["title"] == "Gamma, revised" and summary["tags"] == ["reviewed"]
    assert summary["metadata"] == {"year": 2024} and summary["passages"] == len(before["passages"])
    after = server.get("/api/v1/documents/gamma").json()
    assert after["text"] == before["text"] and after["source"] == "notes/gamma.md"
    assert [(p["id"], p["start"], p["end"], p["text"]) for p in after["passages"]] == \
        [(p["id"], p["start"], p["end"], p["text"]) for p in before["passages"]]
    assert all("reviewed" in p["tags"] and "field-notes" not in p["tags"] for p in after["passages"])
    assert all(set(p["tags"]) - {"field-notes"} <= set(q["tags"])
               for p, q in zip(before["passages"], after["passages"]))   # the taxonomy's tags stay
    hits = server.get("/api/v1/search", params={"q": "revised", "tag": "reviewed"}).json()
    assert hits["total"] >= 1 and {h["document"]["title"] for h in hits["hits"]} == {"Gamma, revised"}
    assert server.get("/api/v1/search", params={"tag": "field-notes"}).json()["total"] == 0
    assert changes(server, mark)[1] == ["gamma"]
    merged = server.request("PATCH", "/api/v1/documents/gamma", json={"metadata": {"year": None, "venue": "x"}},
                            headers=AUTH)
    assert merged.json()["metadata"] == {"venue": "x"} and merged.json()["title"] == "Gamma, revised"
    for body, code in (({"text": "new"}, 422), ({"id": "other"}, 422), ({"titel": "x"}, 422),
                       ({"title": ""}, 422)):
        r = server.request("PATCH", "/api/v1/documents/gamma", json=body, headers=AUTH)
        assert r.status_code == code and r.json()["code"] == code, (body, r.text)
    assert server.request("PATCH", "/api/v1/documents/nope", json={"title": "x"}, headers=AUTH).status_code == 404
    assert server.request("PATCH", "/api/v1/documents/gamma", json={"title": "x"}).status_code == 401
    rebuilt = subprocess.run([str(KB_BIN), "rebuild", "--home", str(home)], capture_output=True, text=True,
                             env={**os.environ, **env}, timeout=600)
    assert rebuilt.returncode == 0, rebuilt.stderr
    kept = server.get("/api/v1/documents/gamma").json()
    assert kept["title"] == "Gamma, revised" and all("reviewed" in p["tags"] for p in kept["passages"])


def test_kb_documents_since_is_the_api_answer(synced):
    server, restart, env, home = synced
    next_second()
    start = server.get("/api/v1/documents").json()["as_of"]
    post(server, "delta", "Delta notes on budgets.")
    assert server.request("DELETE", "/api/v1/documents/delta", headers=AUTH).status_code == 204
    post(server, "epsilon", "Epsilon notes on budgets.")
    proc = subprocess.run([str(KB_BIN), "documents", "--since", start, "--json", "--home", str(home)],
                          capture_output=True, text=True, env={**os.environ, **env}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    cli = json.loads(proc.stdout)
    api = changes(server, start)[0]
    assert [d["id"] for d in cli["documents"]] == [d["id"] for d in api["documents"]] == ["epsilon"]
    assert cli["deleted"] == api["deleted"] and [d["id"] for d in cli["deleted"]] == ["delta"]
    text = subprocess.run([str(KB_BIN), "documents", "--since", start, "--home", str(home)],
                          capture_output=True, text=True, env={**os.environ, **env}, timeout=120)
    assert text.stdout.startswith("epsilon  Epsilon") and "kb: deleted delta at " in text.stderr


def test_changes_since_take_the_metadata_filters_and_list_every_deletion(synced):
    server, *_ = synced
    next_second()
    start = server.get("/api/v1/documents").json()["as_of"]
    for doc_id, author, date in (("roe-note", "Jane Roe", "2021-05"), ("okafor-note", "Ben Okafor", "2023")):
        r = server.request("POST", "/api/v1/documents", headers=AUTH, json={
            "id": doc_id, "title": doc_id, "text": "Notes on cold chains.", "authors": [author], "date": date})
        assert r.status_code == 201, r.text
    assert server.request("DELETE", "/api/v1/documents/science-diplomacy", headers=AUTH).status_code == 204
    by_author = server.get("/api/v1/documents", params={"since": start, "author": "roe"}).json()
    assert [d["id"] for d in by_author["documents"]] == ["roe-note"] and by_author["total"] == 1
    assert [d["id"] for d in by_author["deleted"]] == ["science-diplomacy"]   # no metadata left to filter on
    by_date = server.get("/api/v1/documents", params={"since": start, "date_from": "2022"}).json()
    assert [d["id"] for d in by_date["documents"]] == ["okafor-note"]
    cited = server.get("/api/v1/documents", params={"since": start, "author": "okafor", "format": "bibtex"})
    assert cited.status_code == 200 and "Okafor" in cited.text and "Roe" not in cited.text
