"""The kb command, in-process through click's runner and as a real process."""
from __future__ import annotations

import csv
import io
import json
import subprocess

from helpers import DATA, KB_BIN


def test_ingest_reports_documents_passages_and_tags(run_kb, tmp_path):
    home = tmp_path / "kb"
    result = run_kb("ingest", str(DATA.parent.parent / "kb" / "data" / "science-diplomacy.txt"), home=home)
    assert result.exit_code == 0, result.output
    assert "ingested 1 documents" in result.output
    assert "covid-19:" in result.output


def test_ingest_tag_option_tags_every_passage(run_kb, tmp_path):
    home = tmp_path / "kb"
    note = tmp_path / "note.txt"
    note.write_text("A note\n\nVaccines were shipped to developing countries last spring.\n")
    assert run_kb("ingest", str(note), "--tag", "field-notes", home=home).exit_code == 0
    exported = [json.loads(line) for line in run_kb("export", home=home).output.splitlines()]
    assert exported and all("field-notes" in p["tags"] for p in exported)


def test_search_outputs(run_kb, kb_home):
    as_json = json.loads(run_kb("search", "public", "health", "--json", home=kb_home).output)
    assert as_json["total"] >= 1 and as_json["hits"][0]["id"].startswith("science-diplomacy:")
    lines = run_kb("search", "public health", "--nl", home=kb_home).output.splitlines()
    assert [json.loads(line)["id"] for line in lines] == [h["id"] for h in as_json["hits"]]
    rows = list(csv.reader(io.StringIO(run_kb("search", "public health", "--csv", home=kb_home).output)))
    assert rows[0][:3] == ["id", "document_id", "document_title"] and len(rows) == len(lines) + 1
    text = run_kb("search", "public health", home=kb_home).output
    assert "**public** **health**" in text.lower()


def test_search_tag_filter(run_kb, kb_home):
    body = json.loads(run_kb("search", "--tag", "covid-19", "--json", home=kb_home).output)
    assert body["hits"] and all("covid-19" in h["tags"] for h in body["hits"])


def test_show_tags_stats_delete(run_kb, kb_home):
    passage = json.loads(run_kb("show", "science-diplomacy:1", home=kb_home).output)
    assert passage["next"] == "science-diplomacy:2" and passage["evidence"]
    document = json.loads(run_kb("show", "science-diplomacy", home=kb_home).output)
    assert document["passages"][0]["id"] == "science-diplomacy:1"
    assert "covid-19" in run_kb("tags", home=kb_home).output
    assert json.loads(run_kb("stats", home=kb_home).output)["documents"] == 1
    assert run_kb("delete", "science-diplomacy", home=kb_home).exit_code == 0
    assert json.loads(run_kb("stats", home=kb_home).output)["documents"] == 0


def test_errors_are_one_line_without_traceback(tmp_path, kb_home):
    cases = [
        ["search", '"unclosed', "--syntax", "query", "--home", str(kb_home)],
        ["show", "nope:1", "--home", str(kb_home)],
        ["delete", "nope", "--home", str(kb_home)],
        ["ingest", str(tmp_path / "x.txt"), "--home", str(kb_home), "--taxonomy", str(tmp_path / "missing.yaml")],
    ]
    for argv in cases:
        proc = subprocess.run([str(KB_BIN), *argv], capture_output=True, text=True)
        assert proc.returncode == 1, (argv, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("kb: "), proc.stderr
    auto = subprocess.run([str(KB_BIN), "search", '"unclosed health', "--home", str(kb_home)],  # auto: the default
                          capture_output=True, text=True)
    assert auto.returncode == 0 and auto.stderr.startswith("kb: note: unbalanced quote"), auto.stderr


def test_a_bad_file_is_refused_and_the_good_ones_land(tmp_path):
    home = tmp_path / "kb"
    good = tmp_path / "good.txt"
    good.write_text("Good\n\nThe World Health Organization coordinated the vaccine rollout.\n")
    missing = tmp_path / "missing.txt"
    proc = subprocess.run([str(KB_BIN), "ingest", str(good), str(missing), "--home", str(home)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "missing.txt" in proc.stderr and "Traceback" not in proc.stderr
    assert "ingested 1 documents" in proc.stdout


def test_rebuild_keeps_every_passage(run_kb, kb_home):
    before = run_kb("export", home=kb_home).output
    assert run_kb("rebuild", home=kb_home).exit_code == 0
    assert run_kb("export", home=kb_home).output == before


def test_export_outputs_share_the_api_renderings(run_kb, kb_home):
    lines = [json.loads(line) for line in run_kb("export", home=kb_home).output.splitlines()]
    ids = [p["id"] for p in lines]
    rows = list(csv.DictReader(io.StringIO(run_kb("export", "--csv", home=kb_home).output)))
    assert [r["id"] for r in rows] == ids and rows[0]["document_title"] == lines[0]["document_title"]
    as_json = json.loads(run_kb("export", "--json", home=kb_home).output)
    assert as_json["total"] == len(ids) and [p["id"] for p in as_json["passages"]] == ids
    text = run_kb("export", "--text", "--tag", "covid-19", home=kb_home).output
    assert text.split()[0] in ids and "tags: " in text and "covid-19" in text


def test_search_color(run_kb, kb_home):
    colored = run_kb("search", "public health", "--color", home=kb_home).output
    assert "\x1b[1mpublic\x1b[0m" in colored.lower()
    plain = run_kb("search", "public health", home=kb_home).output  # not a terminal: no color
    assert "\x1b[" not in plain


def test_serve_refuses_bad_options_in_one_line(tmp_path, kb_home):
    empty = tmp_path / "token"
    empty.write_text("\n")
    for argv in (["--token-file", str(empty)], ["--token-file", str(tmp_path / "missing")],
                 ["--max-body", "lots"]):
        proc = subprocess.run([str(KB_BIN), "serve", "--home", str(kb_home), "--port", "1", *argv],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 1, (argv, proc.stderr)
        assert proc.stderr.startswith("kb: ") and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_the_same_id_twice_in_one_file_is_stored_once(run_kb, tmp_path):
    home = tmp_path / "kb"
    data = tmp_path / "twice.jsonl"
    data.write_text('{"id": "a", "title": "A", "text": "Vaccines were shipped to clinics."}\n'
                    '{"id": "a", "title": "A2", "text": "Public health programs trained scientists."}\n')
    assert run_kb("ingest", str(data), home=home).exit_code == 0
    exported = [json.loads(line) for line in run_kb("export", home=home).output.splitlines()]
    assert [p["id"] for p in exported] == ["a:1"] and exported[0]["document_title"] == "A2"


def test_compact_rewrites_the_segments_once_and_searches_find_the_same(run_kb, kb_home):
    """The same hits in the same order (scores move a little, as after any merge: a merged segment's
    total lengths are summed from Whoosh's one-byte length codes)."""
    before = run_kb("search", "public", "health", "--json", home=kb_home).output
    first = run_kb("compact", home=kb_home)
    assert first.exit_code == 0 and "compacted: 2 segments -> 2 (0 merges, 2 rewritten)" in first.output
    again = run_kb("compact", home=kb_home)
    assert again.exit_code == 0 and "nothing to compact" in again.output
    after = json.loads(run_kb("search", "public", "health", "--json", home=kb_home).output)
    assert [h["id"] for h in after["hits"]] == [h["id"] for h in json.loads(before)["hits"]]
