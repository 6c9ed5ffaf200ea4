"""`kb taxonomy draft`: a usable taxonomy from a corpus of another field: it passes the check, no
synonym is claimed twice, and applied it tags most passages with one to three topics."""
from __future__ import annotations

import json
import random

from kb.tagging import Tagger, Taxonomy, check_taxonomy
from kb.tagging.draft import candidates, draft, to_yaml

FIELDS = {
    "astronomy": ["neutron stars", "dark matter", "galaxy clusters", "radio telescope", "gravitational waves",
                  "black holes", "redshift survey", "stellar evolution"],
    "cooking": ["olive oil", "baking powder", "tomato sauce", "cast iron pan", "fresh basil", "pizza dough",
                "brown sugar", "sea salt"],
    "sailing": ["mainsail trim", "tidal currents", "wind shift", "anchor chain", "life jackets", "harbour master",
                "rope knots", "storm jib"],
}
FILLER = "the team noted that results varied over the season and more work is planned".split()


def corpus(n_per_field=40, seed=3):
    rng = random.Random(seed)
    out = []
    for name, phrases in FIELDS.items():
        for i in range(n_per_field):
            words = rng.sample(FILLER, 8)
            text = (f"In this note {rng.choice(phrases)} and {rng.choice(phrases)} matter; "
                    f"{' '.join(words)}. We also looked at {rng.choice(phrases)}.")
            out.append({"id": f"{name}-{i}:1", "document_id": f"{name}-{i}", "text": text})
    return out


def test_candidates_are_runs_of_content_words():
    assert {"dark matter", "dark", "matter", "galaxy clusters"} <= candidates("Dark matter binds galaxy clusters.")
    assert "the" not in candidates("the dark matter")


def test_a_draft_finds_the_fields_and_tags_their_passages(tmp_path, run_kb):
    passages = corpus()
    topics = draft(passages, topics=3)
    assert len(topics) == 3
    for topic in topics:
        fields = {f for s in topic.synonyms for f, phrases in FIELDS.items() if s in phrases}
        assert len(fields) == 1, (topic.label, topic.synonyms)
        assert topic.description and topic.label
    path = tmp_path / "draft.yaml"
    path.write_text(to_yaml(topics, "draft-test", len(passages)), encoding="utf-8")
    assert check_taxonomy(path) == []            # valid, and no synonym claimed twice (a warning)
    tagger = Tagger(Taxonomy.load(path))
    counts = [len(tagger.tag(p["text"])[0]) for p in passages]
    assert sum(1 <= c <= 3 for c in counts) >= 0.9 * len(passages)


def test_the_command_drafts_from_the_knowledge_base(tmp_path, run_kb):
    data = tmp_path / "notes.jsonl"
    data.write_text("".join(json.dumps({"id": p["document_id"], "title": "Note", "text": p["text"]}) + "\n"
                            for p in corpus()), encoding="utf-8")
    home = tmp_path / "kb"
    assert run_kb("ingest", str(data), home=home).exit_code == 0
    result = run_kb("taxonomy", "draft", "--topics", "3", "--no-embeddings", home=home)
    assert result.exit_code == 0, result.output
    text = result.output[:result.output.index("kb: drafted")]
    path = tmp_path / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    assert check_taxonomy(path) == []
    assert "of the passages get one to three topics" in result.output
    assert run_kb("taxonomy", "use", str(path), home=home).exit_code == 0
    tags = {t["tag"] for t in json.loads(run_kb("tags", "--json", home=home).output) if t["count"]}
    assert len(tags) == 3
