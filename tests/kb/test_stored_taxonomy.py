"""The taxonomy belongs to the knowledge base: stored when it is created, used by every later
command, reported, refused when another is offered, switched only by `kb taxonomy use`."""
from __future__ import annotations

import json
import textwrap

from kb.core import SAMPLE_PATH, KnowledgeBase
from kb.settings import Settings
from kb.tagging import default_taxonomy_path

DEV = """\
version: 1
name: dev
topics:
  health:
    label: Health
    description: Health and disease.
    synonyms: [public health, pandemic, COVID-19]
  rivalry:
    label: Rivalry
    synonyms: [strategic competitor, science and technology war]
"""


def write_dev(tmp_path):
    path = tmp_path / "dev.yaml"
    path.write_text(textwrap.dedent(DEV), encoding="utf-8")
    return path


def test_a_new_knowledge_base_stores_the_taxonomy_it_was_given(tmp_path, run_kb):
    home, dev = tmp_path / "kb", write_dev(tmp_path)
    assert run_kb("ingest", str(SAMPLE_PATH), "--taxonomy", str(dev), home=home).exit_code == 0
    tags = json.loads(run_kb("tags", "--json", home=home).output)   # no --taxonomy: the stored one
    assert {t["tag"] for t in tags} == {"health", "rivalry"}
    stats = json.loads(run_kb("stats", home=home).output)
    assert stats["taxonomy"]["name"] == "dev" and stats["taxonomy"]["topics"] == 2
    assert (home / "taxonomy.yaml").read_text(encoding="utf-8") == dev.read_text(encoding="utf-8")
    again = run_kb("ingest", str(SAMPLE_PATH), home=home)       # the next ingest tags with it too
    assert "health" in again.output and "public-health" not in again.output


def test_another_taxonomy_is_refused_with_the_command_that_switches(kb_home, tmp_path, run_kb):
    dev = write_dev(tmp_path)
    result = run_kb("ingest", str(SAMPLE_PATH), "--taxonomy", str(dev), home=kb_home)
    assert result.exit_code == 1
    assert "kb taxonomy use" in result.output and "never mixes two" in result.output
    same = run_kb("ingest", str(SAMPLE_PATH), "--taxonomy", str(default_taxonomy_path()), home=kb_home)
    assert same.exit_code == 0


def test_taxonomy_use_retags_every_passage_in_one_step(kb_home, tmp_path, run_kb):
    dev = write_dev(tmp_path)
    result = run_kb("taxonomy", "use", str(dev), home=kb_home)
    assert result.exit_code == 0 and "switched from science-diplomacy" in result.output
    kb = KnowledgeBase(kb_home)
    assert kb.taxonomy.name == "dev"
    assert set(kb.index.tag_counts()) <= {"health", "rivalry"}
    assert "already uses dev" in run_kb("taxonomy", "use", str(dev), home=kb_home).output
    assert run_kb("taxonomy", "show", home=kb_home).output == dev.read_text(encoding="utf-8")


def test_taxonomy_use_refuses_a_bad_file_and_keeps_the_old(kb_home, tmp_path, run_kb):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: bad\ntopics:\n  Bad Id:\n    label: x\n    synonyms: [a]\n", encoding="utf-8")
    result = run_kb("taxonomy", "use", str(bad), home=kb_home)
    assert result.exit_code == 1 and "bad.yaml:4" in result.output
    assert KnowledgeBase(kb_home).taxonomy.name == "science-diplomacy"


def test_the_fingerprint_ignores_comments_and_layout(tmp_path):
    dev = write_dev(tmp_path)
    other = tmp_path / "same.yaml"
    other.write_text("# a comment\n" + dev.read_text(encoding="utf-8").replace("[public health, pandemic, COVID-19]",
                     "\n      - public health\n      - pandemic\n      - COVID-19"), encoding="utf-8")
    home = tmp_path / "kb"
    KnowledgeBase(Settings.from_env(home=home, taxonomy=dev)).load_taxonomy()
    assert KnowledgeBase(Settings.from_env(home=home, taxonomy=other)).load_taxonomy().name == "dev"
