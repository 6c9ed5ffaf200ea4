"""Tags corrected by hand: kept on the passage with evidence manual, winning over the taxonomy,
surviving kb rebuild, a taxonomy switch, a re-ingest and an export; a passage whose text changed
is reported, never silently re-tagged."""
from __future__ import annotations

import json

import pytest

from index import Filters, SearchRequest
from kb.core import KnowledgeBase
from kb.curation import InvalidTags
from kb.models import Document


def test_an_edit_wins_over_the_taxonomy_and_survives_a_rebuild(kb):
    done = kb.curation.edit(["science-diplomacy:1"], add=["reviewed"], remove=["public-health"], by="ana")
    passage = done["changed"][0]
    assert "reviewed" in passage["tags"] and "public-health" not in passage["tags"]
    lost: list = []
    kb.rebuild(lost=lost)
    again = kb.get_passage("science-diplomacy:1")
    assert "reviewed" in again["tags"] and "public-health" not in again["tags"] and lost == []
    evidence = [e for e in again["evidence"] if e["tag"] == "reviewed"]
    assert evidence == [{"tag": "reviewed", "phrase": "", "start": 0, "end": 0, "source": "manual", "by": "ana",
                         "at": evidence[0]["at"]}]
    assert kb.search(SearchRequest(filters=Filters(tags=("reviewed",)))).total == 1


def test_bad_tags_and_empty_edits_are_refused(kb):
    with pytest.raises(InvalidTags):
        kb.curation.edit(["science-diplomacy:1"], add=["a,b"])
    with pytest.raises(InvalidTags):
        kb.curation.edit(["science-diplomacy:1"])
    with pytest.raises(ValueError):
        kb.curation.edit(["science-diplomacy:1"], add=["x"], remove=["x"])
    assert kb.curation.edit(["nope:1"], add=["x"])["missing"] == ["nope:1"]


def test_a_changed_text_is_reported_not_retagged(kb):
    kb.curation.edit(["science-diplomacy:1"], add=["reviewed"])
    doc = kb.get_document("science-diplomacy")
    original = doc["original"]   # the text as read (``text`` is the clean text the passages cite)
    changed = Document(id=doc["id"], title=doc["title"], text=original.replace("public health", "health care", 1),
                       source=doc["source"])
    report = kb.ingest([changed])
    assert any("manual tag +reviewed on science-diplomacy:1 kept but not applied" in w for _, w in report.warnings)
    passage = kb.get_passage("science-diplomacy:1")
    assert "reviewed" not in passage["tags"] and passage["manual"][0]["stale"] is True
    same = kb.ingest([Document(id=doc["id"], title=doc["title"], text=original, source=doc["source"])])  # as made
    assert same.warnings == [] and "reviewed" in kb.get_passage("science-diplomacy:1")["tags"]


def test_edits_go_out_with_the_documents_and_come_back(kb, tmp_path):
    kb.curation.edit(["science-diplomacy:2"], add=["reviewed"], remove=["sovereignty"], by="ana")
    exported = list(kb.export_documents())
    assert {e["tag"] for e in exported[0]["manual_tags"]} == {"reviewed", "sovereignty"}
    dump = tmp_path / "all.jsonl"
    dump.write_text("".join(json.dumps(d) + "\n" for d in exported), encoding="utf-8")
    other = KnowledgeBase(tmp_path / "other")
    other.ingest_paths([dump])
    passage = other.get_passage("science-diplomacy:2")
    assert "reviewed" in passage["tags"] and "sovereignty" not in passage["tags"]


def test_a_query_edit_runs_dry_first(kb):
    request = SearchRequest(q='"public health"', syntax="query")
    dry = kb.curation.edit_matching("health-review", request)
    assert dry["dry_run"] and dry["matched"] == dry["to_change"] > 0 and "changed" not in dry
    assert kb.index.tag_counts().get("health-review") is None
    done = kb.curation.edit_matching("health-review", request, dry_run=False, by="ana")
    assert done["changed"] == dry["to_change"] == kb.index.tag_counts()["health-review"]
    assert kb.curation.edit_matching("health-review", request)["to_change"] == 0
    with pytest.raises(ValueError):
        kb.curation.edit_matching("x", SearchRequest(q=""), limit=1)
