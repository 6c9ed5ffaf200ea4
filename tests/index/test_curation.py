"""What both engines keep beside search: properties, switched with a rebuild, and passages edited
one by one (manual tags), found again; a write prepared for another property value is refused."""
from __future__ import annotations

import pytest

from index import Conflict, open_index


def record(doc_id: str, n: int = 2):
    doc = {"id": doc_id, "title": f"Title {doc_id}", "text": " ".join(f"Sentence {i}." for i in range(n))}
    passages = [{"id": f"{doc_id}:{i + 1}", "document_id": doc_id, "ordinal": i + 1, "section": "",
                 "text": f"Sentence {i}.", "start": 0, "end": 1, "tags": ["alpha"], "keywords": [], "evidence": []}
                for i in range(n)]
    return doc, passages


@pytest.fixture(params=["whoosh", "sphinx"])
def engine(request, tmp_path):
    if request.param == "whoosh":
        index = open_index(tmp_path / "kb" / "index")
    else:
        cluster = request.getfixturevalue("private_cluster")(shards=2, replicas=1)
        index = open_index(tmp_path / "kb" / "index", backend="sphinx", nodes=cluster.nodes)
    yield index
    index.close()


def test_properties_are_kept_and_switched_by_a_rebuild(engine):
    assert engine.get_property("taxonomy") is None
    assert engine.set_property("taxonomy", "one", if_absent=True) == "one"
    assert engine.set_property("taxonomy", "two", if_absent=True) == "one"
    engine.replace_documents([record("a")], expect={"taxonomy": "one"})
    with pytest.raises(Conflict):
        engine.replace_documents([record("b")], expect={"taxonomy": "other"})
    assert engine.get_document("b") is None
    engine.rebuild([record("a")], properties={"taxonomy": "three"})
    assert engine.get_property("taxonomy") == "three"
    assert engine.stats()["passages"] == 2


def test_passages_edited_one_by_one_are_found_again(engine):
    engine.replace_documents([record("a"), record("b")])
    assert list(engine.curated_passages()) == []

    def change(passage):
        passage["tags"] = sorted(passage["tags"] + ["beta"])
        passage["manual"] = [{"tag": "beta", "action": "add", "by": "me", "at": "now", "fingerprint": "f"}]
        return passage

    written = engine.update_passages(["a:1", "b:2", "missing:1"], change)
    assert sorted(p["id"] for p in written) == ["a:1", "b:2"]
    assert engine.get_passage("a:1")["tags"] == ["alpha", "beta"]
    assert engine.get_passage("a:1")["manual"][0]["tag"] == "beta"
    assert engine.get_passage("a:2")["manual"] == []
    assert sorted(p["id"] for p in engine.curated_passages()) == ["a:1", "b:2"]
    assert [p["id"] for p in engine.curated_passages(["b"])] == ["b:2"]
    assert engine.tag_counts()["beta"] == 2
    assert engine.update_passages(["a:1"], lambda p: None) == []
