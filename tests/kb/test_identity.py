"""A document's identity on real folders: ids from the path inside the folder given (a/README.md and
b/README.md, faq.html and FAQ.html are four documents), re-ingest idempotent, another source never
replaces silently, unsupported files named, the `kb ingest` report that says all this, and reads that
never create a knowledge base."""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess

import pytest

from helpers import DATA, KB_BIN
from index import SearchRequest
from kb.core import KnowledgeBase, NoKnowledgeBase
from kb.ingest import same_source
from kb.readers import path_id

COLLIDE = DATA / "collide"   # same-named files in sibling folders, case variants, a .png and a .css
EXPECTED_IDS = {
    "a-readme-" + hashlib.sha1(b"a/README.md").hexdigest()[:6],
    "b-readme-" + hashlib.sha1(b"b/README.md").hexdigest()[:6],
    "c-faq",                                                    # c/faq.html spells its own slug
    "c-faq-" + hashlib.sha1(b"c/FAQ.html").hexdigest()[:6],
    "nodejs-index",
    "valgrind-index",
}


def test_path_ids_are_stable_and_never_the_base_name_alone():
    assert path_id("guide/intro.md") == "guide-intro"
    assert path_id("a/README.md") == "a-readme-" + hashlib.sha1(b"a/README.md").hexdigest()[:6]
    assert path_id("faq.html") == "faq" and path_id("FAQ.html") != path_id("faq.html")
    assert path_id("My Notes/draft_1.txt").startswith("my-notes-draft-1-")
    assert path_id("a/README.md") != path_id("b/README.md")
    assert path_id("x" * 300 + ".md").startswith("x" * 120 + "-")   # cut, so hashed


def test_a_folder_loses_no_document_and_names_what_it_skipped(tmp_path):
    kb = KnowledgeBase(tmp_path / "kb")
    report = kb.ingest_paths([COLLIDE])
    assert not report.refused
    assert set(report.ids) == EXPECTED_IDS
    assert kb.stats()["documents"] == 6
    assert report.statuses == {"new": 6}
    assert sorted((s.rsplit("/", 1)[-1], r) for s, r in report.skipped) == [
        ("logo.png", "unsupported file type '.png'"), ("site.css", "unsupported file type '.css'")]
    by_id = {d["id"]: d for d in (kb.index.get_document(i) for i in EXPECTED_IDS)}
    assert "grant" in by_id["c-faq-" + hashlib.sha1(b"c/FAQ.html").hexdigest()[:6]]["text"]
    assert "survey" in by_id["c-faq"]["text"]


def test_reingest_is_idempotent_and_an_edit_replaces(tmp_path):
    folder = tmp_path / "notes"
    shutil.copytree(COLLIDE, folder)
    kb = KnowledgeBase(tmp_path / "kb")
    kb.ingest_paths([folder])
    again = kb.ingest_paths([folder])
    assert again.statuses == {"unchanged": 6} and not again.refused
    assert kb.stats()["documents"] == 6
    (folder / "b" / "README.md").write_text("# Lab protocols\n\nSamples are now shipped frozen in dry ice.\n")
    edited = kb.ingest_paths([folder])
    assert edited.statuses == {"unchanged": 5, "replaced": 1}
    assert kb.stats()["documents"] == 6
    assert kb.search(SearchRequest(q="dry ice")).hits[0]["document"]["id"].startswith("b-readme-")
    moved = tmp_path / "elsewhere" / "renamed"      # the same folder, moved and renamed: the same documents
    shutil.copytree(folder, moved)
    (moved / "nodejs" / "index.md").write_text("# Node.js notes\n\nNode.js 22 ships a test runner.\n")
    report = kb.ingest_paths([moved])
    assert not report.refused and report.statuses == {"unchanged": 5, "replaced": 1}
    assert kb.stats()["documents"] == 6


def test_another_file_never_replaces_a_document_silently(tmp_path):
    kb = KnowledgeBase(tmp_path / "kb")
    first = kb.ingest_paths([COLLIDE / "a" / "README.md"])   # a file given directly keeps its name's id
    assert first.ids == ["readme"]
    second = kb.ingest_paths([COLLIDE / "b" / "README.md"])
    assert second.documents == 0
    [(source, reason)] = second.refused
    assert source.endswith("b/README.md")
    assert reason.startswith("id 'readme' is taken by ") and "a/README.md" in reason and "not replaced" in reason
    assert "water samplers" in kb.index.get_document("readme")["text"]
    assert kb.ingest_paths([COLLIDE / "a" / "README.md"]).statuses == {"unchanged": 1}
    # the same id twice in one ingest, from two sources: the second is refused too
    both = KnowledgeBase(tmp_path / "kb2").ingest_paths([COLLIDE / "a" / "README.md", COLLIDE / "b" / "README.md"])
    assert both.ids == ["readme"] and "in this ingest" in both.refused[0][1]


def test_cli_reports_new_replaced_unchanged_refused_and_skipped(run_kb, tmp_path):
    home = tmp_path / "kb"
    first = run_kb("ingest", str(COLLIDE), "--verbose", home=home)
    assert first.exit_code == 0, first.output
    lines = first.stdout.splitlines()
    assert "ingested 6 documents, 6 passages" in lines
    assert "  6 new, 0 replaced, 0 unchanged, 0 refused, 2 skipped (hidden, or not a known type)" in lines
    assert any(line.split()[:2] == ["new", "c-faq"] and line.endswith("c/faq.html") for line in lines)
    assert any(line.startswith("skipped") and line.endswith("logo.png: unsupported file type '.png'")
               for line in lines)
    again = run_kb("ingest", str(COLLIDE), home=home)
    assert ("  0 new, 0 replaced, 6 unchanged, 0 refused, 2 skipped (hidden, or not a known type; "
            "--verbose names them)") in again.stdout.splitlines()
    taken = run_kb("ingest", str(COLLIDE / "a" / "README.md"), home=home)
    assert taken.exit_code == 0   # 'readme' is free: the folder's copy is a-readme-…
    clash = run_kb("ingest", str(COLLIDE / "b" / "README.md"), home=home)
    assert clash.exit_code == 2
    assert "0 new, 0 replaced, 0 unchanged, 1 refused" in clash.stdout
    assert "id 'readme' is taken by" in clash.output


def test_stdin_of_one_short_line_is_a_document(run_kb, tmp_path):
    result = run_kb("ingest", "-", home=tmp_path / "kb", input="hello from stdin\n")
    assert result.exit_code == 0, result.output
    assert "ingested 1 documents, 1 passages" in result.stdout
    hits = run_kb("search", "hello", "--json", home=tmp_path / "kb").stdout
    assert '"hello from stdin"' in hits


def test_http_post_never_replaces_another_source_put_does(token_server, auth):
    path = "/api/v1/documents/shared-id"
    first = {"id": "shared-id", "title": "Survey plan", "text": "The survey runs in March.", "source": "plan.md"}
    assert token_server.request("POST", "/api/v1/documents", json=first, headers=auth).status_code == 201
    again = token_server.request("POST", "/api/v1/documents", json={**first, "text": "The survey runs in May."},
                                 headers=auth)
    assert again.status_code == 201 and again.json()["replaced"] is True     # the same source replaces
    other = {**first, "text": "A different note.", "source": "other.md"}
    clash = token_server.request("POST", "/api/v1/documents", json=other, headers=auth)
    assert clash.status_code == 409, clash.text
    assert clash.json()["message"].startswith("id 'shared-id' is taken by plan.md: not replaced")
    upload = token_server.request("POST", "/api/v1/documents", headers=auth, data={"id": "shared-id"},
                                  files={"file": ("other.txt", b"Another file entirely.", "text/plain")})
    assert upload.status_code == 409, upload.text
    assert "May" in token_server.get(path).json()["text"]
    bulk = token_server.request("POST", "/api/v1/documents/bulk", headers=auth,
                                data='{"id": "shared-id", "title": "x", "text": "Bulk text.", "source": "b.md"}\n')
    assert bulk.json()["results"][0]["status"] == 409
    put = token_server.request("PUT", path, json={"title": "Replaced", "text": "On purpose.", "source": "other.md"},
                               headers=auth)
    assert put.status_code == 200 and token_server.get(path).json()["source"] == "other.md"


def test_reads_never_create_a_knowledge_base(tmp_path):
    home = tmp_path / "nonexistent" / "dir"
    for command in (["search", "health"], ["stats"], ["tags"], ["export"], ["show", "a:1"], ["delete", "a"],
                    ["taxonomy", "show"]):
        proc = subprocess.run([str(KB_BIN), *command, "--home", str(home)], capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 1, (command, proc.stdout, proc.stderr)
        assert proc.stderr == f"kb: no knowledge base in {home} (no index/ there): 'kb ingest' makes one; " \
                              "--home or KB_HOME says where it is\n"
        assert not (tmp_path / "nonexistent").exists()
    with pytest.raises(NoKnowledgeBase):
        KnowledgeBase(home, create=False)
    KnowledgeBase(home).ingest_paths([COLLIDE / "a" / "README.md"])   # creating is for writes
    assert KnowledgeBase(home, create=False).stats()["documents"] == 1


def test_same_source_is_the_same_file_never_a_namesake():
    assert same_source("docs/a/README.md", "a/README.md")                      # named from another folder
    assert same_source("docs/a/README.md", "moved/a/README.md", "a/README.md")  # the folder moved
    assert same_source("data.jsonl#3", "data.jsonl#7") and same_source("", "")
    assert not same_source("a/README.md", "b/README.md")
    assert not same_source("README.md", "b/README.md")                          # a bare name is no path
    assert not same_source("docs/notes.md", "moved/notes.md", "notes.md")
    assert not same_source("", "x.md") and not same_source("plan.md", "other.md")


@pytest.mark.skipif(shutil.which("script") is None, reason="needs script(1) for a terminal")
def test_a_progress_bar_on_a_terminal_only(tmp_path):
    command = f"{KB_BIN} ingest {COLLIDE} --home {tmp_path / 'kb'}"
    on_tty = subprocess.run(["script", "-qec", command, "/dev/null"], capture_output=True, text=True, timeout=120)
    assert on_tty.returncode == 0, on_tty.stdout
    assert "reading" in on_tty.stdout and "100%" in on_tty.stdout   # click's bar, files counted
    piped = subprocess.run([str(KB_BIN), "ingest", str(COLLIDE), "--home", str(tmp_path / "kb2")],
                           capture_output=True, text=True, timeout=120)
    assert "%" not in piped.stderr and "committed 6 documents, 6 passages" in piped.stderr


def test_hidden_folders_are_skipped_by_name_never_silently(tmp_path):
    """A folder whose documents are all under hidden folders (a home's .pyenv, .rustup) used to ingest
    nothing and say nothing: each hidden entry is now reported once, not entered; named, it is read."""
    root = tmp_path / "home"
    (root / ".tool" / "docs").mkdir(parents=True)
    (root / ".tool" / "docs" / "guide.md").write_text("# Guide\n\nInstall the tool before the first run.\n")
    (root / ".notes.md").write_text("# Notes\n\nA hidden note.\n")
    (root / "visible.md").write_text("# Visible\n\nA note anyone can see.\n")
    home = tmp_path / "kb"
    done = subprocess.run([str(KB_BIN), "ingest", str(root), "--home", str(home), "--verbose"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    hidden_note = (f"skipped   {root / '.notes.md'}: hidden file (its name starts with '.'): "
                   "not read; name it to read it")
    assert hidden_note in lines
    assert any(line.startswith(f"skipped   {root / '.tool'}: hidden folder") for line in lines)
    assert "  1 new, 0 replaced, 0 unchanged, 0 refused, 2 skipped (hidden, or not a known type)" in lines
    named = subprocess.run([str(KB_BIN), "ingest", str(root / ".tool"), "--home", str(home)],
                           capture_output=True, text=True, timeout=120)
    assert named.returncode == 0 and "ingested 1 documents" in named.stdout, named.stdout + named.stderr


def test_each_commit_line_shows_the_rate_and_the_memory_held(tmp_path):
    """A long `kb ingest` says as it goes how fast it is and how much memory it and its preparing
    workers hold (the resident size, from /proc), after each commit."""
    piped = subprocess.run([str(KB_BIN), "ingest", str(COLLIDE), "--home", str(tmp_path / "kb")],
                           capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0, piped.stderr
    line = next(line for line in piped.stderr.splitlines() if line.startswith("committed 6 documents"))
    found = re.fullmatch(r"committed 6 documents, 6 passages; ([\d,]+) passages/s, ([\d,]+) MB held", line)
    assert found, line
    assert int(found[1].replace(",", "")) > 0 and 10 <= int(found[2].replace(",", "")) < 4096
