"""Real-world documents through the real `kb` command: a folder of HTML, Markdown and PDF,
stdin, refused files, tag evidence, and a rebuild that a running server picks up."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from helpers import DATA, KB_BIN
from helpers.servers import LiveServer

MARKERS = ("TRACKING-SCRIPT-TEXT", "COOKIE-BANNER-TEXT", "NAV-MENU-TOPICS", "BREADCRUMB-ARTICLES",
           "SUBSCRIBE-FORM-TEXT", "SHARE-ON-SOCIAL", "ASIDE-RELATED-TEXT", "FOOTER-TEXT", "NOSCRIPT-TEXT")


def kb(*args, input=None, env=None):
    return subprocess.run([str(KB_BIN), *map(str, args)], capture_output=True, text=True, input=input,
                          env={**os.environ, **(env or {})})


def export(home):
    out = kb("export", "--home", home)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


@pytest.fixture
def folder_home(tmp_path):
    folder = tmp_path / "inbox"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(DATA / "page.html", folder / "page.html")
    shutil.copy(DATA / "notes.md", folder / "sub" / "notes.md")
    shutil.copy(DATA / "report.pdf", folder / "report.pdf")
    home = tmp_path / "kb"
    result = kb("ingest", folder, "--home", home)
    assert result.returncode == 0, result.stderr
    assert "ingested 3 documents" in result.stdout
    return home


def test_a_folder_of_html_markdown_and_pdf_lands_clean(folder_home):
    passages = export(folder_home)
    by_doc = {}
    for p in passages:
        by_doc.setdefault(p["document_id"], []).append(p)
    assert set(by_doc) == {"page", "retreat-notes", "report"}
    html_text = " ".join(p["text"] for p in by_doc["page"])
    for marker in MARKERS:
        assert marker not in html_text, marker
    assert {p["section"] for p in by_doc["page"]} >= {"Water Diplomacy on the Mekong > Shared data"}
    notes = json.loads(kb("show", "retreat-notes", "--home", folder_home).stdout)
    assert notes["title"] == "Retreat notes on science diplomacy"
    assert notes["tags"] == ["public-health", "science-diplomacy"]
    assert notes["authors"] == ["Ana Pereira"] and "---" not in notes["text"][:3]
    assert "Notes > Retreat" in {p["section"] for p in by_doc["retreat-notes"]}
    assert all({"science-diplomacy", "public-health"} <= set(p["tags"]) for p in by_doc["retreat-notes"])
    hits = json.loads(kb("search", "international partners", "--json", "--home", folder_home).stdout)["hits"]
    assert hits[0]["document_id"] == "report"
    assert "international partners" in hits[0]["text"]


def test_stdin_takes_one_document_with_title_and_id(tmp_path):
    home = tmp_path / "kb"
    text = "The WHO coordinated vaccine deliveries to developing countries during the pandemic."
    result = kb("ingest", "-", "--title", "Piped note", "--id", "piped", "--home", home, input=text)
    assert result.returncode == 0, result.stderr
    doc = json.loads(kb("show", "piped", "--home", home).stdout)
    assert doc["title"] == "Piped note" and doc["text"] == text
    assert "public-health" in doc["passages"][0]["tags"]


def test_bad_files_get_one_line_each_and_the_rest_lands(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name in ("binary.txt", "empty.txt", "blank.pdf", "latin1.txt", "notes.md"):
        shutil.copy(DATA / name, folder / name)
    (folder / "broken.jsonl").write_text('{"id": "ok", "text": "A good line about vaccines."}\n{oops\n')
    home = tmp_path / "kb"
    result = kb("ingest", folder, tmp_path / "missing.txt", "--home", home)
    assert result.returncode == 2
    refused = [line for line in result.stderr.splitlines() if line.startswith("kb: refused")]
    for name in ("binary.txt", "empty.txt", "blank.pdf", "missing.txt", "broken.jsonl:2"):
        assert sum(name in line for line in refused) == 1, (name, result.stderr)
    assert "Traceback" not in result.stderr
    assert "warning" in result.stderr and "latin1.txt" in result.stderr
    assert {p["document_id"] for p in export(home)} == {"latin1", "retreat-notes", "ok"}


def test_tag_evidence_in_http_and_cli(live_server, server_home, backend_env):
    passage = live_server.get("/api/v1/passages/science-diplomacy:1").json()
    assert passage["evidence"]
    for ev in passage["evidence"]:
        assert ev["tag"] in passage["tags"]
        assert passage["text"][ev["start"]:ev["end"]] == ev["phrase"]
    shown = json.loads(kb("show", "science-diplomacy:1", "--home", server_home, env=backend_env).stdout)
    assert shown["evidence"] == passage["evidence"]


def test_taxonomy_check_and_stats(tmp_path, server_home, backend_env):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: t\ntopics:\n  ok-topic:\n    label: OK\n    synonyms: [x]\n"
                   "  bad-topic:\n    label: Bad\n    synonym: [y]\n    broader: [nowhere]\n")
    result = kb("taxonomy", "check", bad)
    assert result.returncode == 1
    assert "bad.yaml:9:" in result.stdout and "unknown key 'synonym'" in result.stdout
    assert "nowhere" in result.stdout
    assert kb("taxonomy", "check", DATA.parent.parent / "kb" / "data" / "science-diplomacy.yaml").returncode == 0
    stats = json.loads(kb("taxonomy", "stats", "--json", "--home", server_home, env=backend_env).stdout)
    assert stats["topics"]["covid-19"] >= 1 and "climate-change" in stats["unused"]


def test_a_taxonomy_switch_reaches_a_running_server_without_restart(sample_home, tmp_path):
    home = tmp_path / "kb"
    shutil.copytree(sample_home, home)
    taxonomy = tmp_path / "mekong.yaml"
    taxonomy.write_text("version: 1\nname: tiny\ntopics:\n  diplomacy-word:\n    label: Diplomacy\n"
                        "    description: Mentions diplomacy.\n    synonyms: [diplomacy]\n")
    server = LiveServer(home)
    try:
        before = server.get("/api/v1/search", params={"tag": "diplomacy-word"}).json()
        assert before["total"] == 0
        refused = kb("rebuild", "--taxonomy", taxonomy, "--home", home)   # a rebuild keeps the taxonomy
        assert refused.returncode == 1 and "kb taxonomy use" in refused.stderr
        result = kb("taxonomy", "use", taxonomy, "--home", home)
        assert result.returncode == 0, result.stderr
        assert server.get("/api/v1/tags").json()["taxonomy"]["name"] == "tiny"
        after = server.get("/api/v1/search", params={"tag": "diplomacy-word", "limit": 100}).json()
        assert after["total"] > 0
        assert all("diplomacy" in h["text"].lower() for h in after["hits"])
        assert server.get("/api/v1/search", params={"tag": "covid-19"}).json()["total"] == 0
    finally:
        server.stop()
