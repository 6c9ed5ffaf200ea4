"""The CLI has what the API has: ``kb similar``, ``kb suggest`` and ``kb documents`` answer what
``/passages/<id>/similar``, ``/suggest`` and ``/documents`` answer, in kb.output's formats."""
from __future__ import annotations

import csv
import io
import json


def test_similar_is_the_api_similar(run_kb, sample_home, client):
    api = client.get("/api/v1/passages/science-diplomacy:1/similar?limit=3&tag=science-diplomacy").get_json()
    cli = json.loads(run_kb("similar", "science-diplomacy:1", "--limit", "3", "--tag", "science-diplomacy",
                            "--json", home=sample_home).stdout)
    assert [h["id"] for h in cli["hits"]] == [h["id"] for h in api["hits"]] and len(api["hits"]) == 3
    assert "science-diplomacy:1" not in [h["id"] for h in cli["hits"]]
    text = run_kb("similar", "science-diplomacy:1", "--limit", "1", home=sample_home).stdout
    assert text.startswith(f"[{api['hits'][0]['score']:.2f}] {api['hits'][0]['id']}  Build science diplomacy")
    missing = run_kb("similar", "nope:1", home=sample_home)
    assert missing.exit_code == 1 and "no passage with id 'nope:1'" in missing.stderr


def test_suggest_is_the_api_suggest(run_kb, sample_home, client):
    api = client.get("/api/v1/suggest?q=diplom&limit=3").get_json()
    assert json.loads(run_kb("suggest", "diplom", "--limit", "3", "--json", home=sample_home).stdout) == api
    lines = run_kb("suggest", "diplom", "--limit", "3", home=sample_home).stdout.splitlines()
    assert [line.split()[1] for line in lines[:len(api["completions"])]] == [c["text"] for c in api["completions"]]


def test_documents_is_the_api_document_list(run_kb, sample_home, client):
    api = client.get("/api/v1/documents?limit=5").get_json()
    cli = json.loads(run_kb("documents", "--limit", "5", "--json", home=sample_home).stdout)
    assert cli["total"] == api["total"] == 1 and cli["documents"] == api["documents"]
    rows = list(csv.DictReader(io.StringIO(run_kb("documents", "--csv", home=sample_home).stdout)))
    assert [(r["id"], int(r["passages"])) for r in rows] == [(d["id"], d["passages"]) for d in api["documents"]]
    lines = [json.loads(line) for line in run_kb("documents", "--nl", home=sample_home).stdout.splitlines()]
    assert lines == api["documents"]
    assert run_kb("documents", "--offset", "1", "--json", home=sample_home).stdout.count('"id"') == 0
    text = run_kb("documents", home=sample_home).stdout
    assert text.startswith("science-diplomacy  Build science diplomacy") and "1 of 1 shown" in text


def test_fields_narrows_the_cli_as_it_narrows_the_api(run_kb, sample_home, client):
    api = client.get("/api/v1/search?q=health&limit=3&fields=text,score").get_json()
    cli = json.loads(run_kb("search", "health", "--limit", "3", "--json", "--fields", "text,score",
                            home=sample_home).stdout)
    assert len(api["hits"]) >= 2 and cli["hits"] == api["hits"]
    assert [list(h) for h in cli["hits"]] == [["id", "text", "score"]] * len(api["hits"])
    api_lines = client.get("/api/v1/export?fields=section&fields=document").get_data(as_text=True)
    cli_lines = run_kb("export", "--fields", "section", "--fields", "document", home=sample_home).stdout
    assert [json.loads(line) for line in cli_lines.splitlines()] == \
        [json.loads(line) for line in api_lines.splitlines()]
    assert set(json.loads(cli_lines.splitlines()[0])) == {"id", "section", "document"}
    unknown = run_kb("search", "health", "--json", "--fields", "txet", home=sample_home)
    assert unknown.exit_code == 1 and unknown.stderr.startswith("kb: unknown field 'txet'; fields: id, document,")
    assert len(unknown.stderr.splitlines()) == 1
    text = run_kb("search", "health", "--fields", "text", home=sample_home)
    assert text.exit_code == 1 and "text has its own columns" in text.stderr
