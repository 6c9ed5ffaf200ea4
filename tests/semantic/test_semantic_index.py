"""The Whoosh index ranking by stored vectors (hand-made vectors: numpy only, no model)."""
from __future__ import annotations

import pytest

np = pytest.importorskip("numpy", reason="the semantic extra is not installed")

from index.base import Filters, SearchRequest  # noqa: E402
from index.vectors.store import VectorStore  # noqa: E402
from index.whoosh import hybrid  # noqa: E402
from index.whoosh.engine import WhooshIndex  # noqa: E402

MODEL = "test-model"


def doc(doc_id, title):
    return {"id": doc_id, "title": title, "text": "", "source": "", "tags": [], "metadata": {}, "ingested_at": ""}


def passage(doc_id, n, text, vector=None, tags=()):
    p = {"id": f"{doc_id}:{n}", "document_id": doc_id, "ordinal": n, "section": "", "text": text,
         "start": 0, "end": len(text), "tags": list(tags), "keywords": [], "evidence": []}
    if vector is not None:
        v = np.asarray(vector, dtype=np.float32)
        p["vector"] = v / np.linalg.norm(v)
    return p


def corpus():
    # axis 0 ~ "fruit", axis 1 ~ "vegetables", axis 2 ~ "politics"
    return [
        (doc("a", "Orchard"), [passage("a", 1, "Apples and pears in autumn.", [1, 0.1, 0], ["food"]),
                               passage("a", 2, "Pruning the old trees.", [0.6, 0.4, 0.1])]),
        (doc("b", "Garden"), [passage("b", 1, "Kale and leeks, green vegetables.", [0.1, 1, 0], ["food", "green"]),
                              passage("b", 2, "Cherries ripen in June.", [0.9, 0, 0.2], ["food"])]),
        (doc("c", "Parliament"), [passage("c", 1, "The vote on the budget.", [0, 0, 1]),
                                  passage("c", 2, "Ministers debated apples import tariffs.", [0.3, 0, 0.9])]),
    ]


@pytest.fixture
def ix(tmp_path):
    index = WhooshIndex(tmp_path / "index", lock_timeout=0.5, vector_model=MODEL)
    index.replace_documents(corpus())
    return index


def search(ix, q="", vector=(1, 0, 0), **kwargs):
    v = np.asarray(vector, dtype=np.float32)
    return ix.search(SearchRequest(q=q, vector=tuple(v / np.linalg.norm(v)), **kwargs))


def ids(response):
    return [h["id"] for h in response.hits]


def test_semantic_ranks_every_embedded_passage_by_cosine(ix):
    r = search(ix, "fruit", mode="semantic", limit=3)
    assert ids(r) == ["a:1", "b:2", "a:2"]
    assert r.total == 6                                     # every filtered passage with a vector
    assert r.hits[0]["score"] == pytest.approx(1 / np.sqrt(1.01), abs=1e-3)
    assert r.facets["tags"] == {"food": 3, "green": 1}
    assert ids(search(ix, "fruit", mode="semantic", limit=2, offset=2)) == ["a:2", "c:2"]


def test_filters_and_negations_apply_in_every_mode(ix):
    for mode in ("semantic", "hybrid"):
        r = search(ix, "apples", mode=mode, filters=Filters(tags=("food",), not_tags=("green",)))
        assert set(ids(r)) == {"a:1", "b:2"} and r.total == 2
        r = search(ix, "apples", mode=mode, filters=Filters(documents=("c",)))
        assert set(ids(r)) == {"c:1", "c:2"}
        for q in ("fruit -cherries", "fruit NOT cherries", "fruit AND NOT cherries", "NOT cherries"):
            r = search(ix, q, mode=mode)
            assert "b:2" not in ids(r) and r.total == 5, (q, mode)


def test_hybrid_fuses_words_and_vectors(ix):
    # "tariffs" is a word of c:2 only; the vector points at fruit: both rankings show in the top 2
    r = search(ix, "tariffs", mode="hybrid", limit=2)
    assert set(ids(r)) == {"a:1", "c:2"}
    assert ids(search(ix, "tariffs", mode="lexical"))[:1] == ["c:2"]       # a vector alone does not rank lexically
    normalized = search(ix, "tariffs", mode="hybrid", fusion="normalized", limit=2)
    assert set(ids(normalized)) == {"a:1", "c:2"}


def test_normalized_fusion_scales_each_ranking_over_the_whole_candidate_set(ix):
    # "apples pears" matches a:1 (both words) and c:2 (one) by words; every passage has a cosine. BM25's floor is 0 (a
    # passage the words do not match), the vectors' the lowest cosine of all six passages: the
    # weaker word match keeps its share instead of being min-maxed to 0.
    bm25 = {h["id"]: h["score"] for h in search(ix, "apples pears", mode="lexical").hits}
    assert set(bm25) == {"a:1", "c:2"} and bm25["a:1"] != bm25["c:2"]
    cosines = {h["id"]: h["score"] for h in search(ix, "apples pears", mode="semantic", limit=10).hits}
    low, high, top = min(cosines.values()), max(cosines.values()), max(bm25.values())
    fused = {h["id"]: h["score"] for h in search(ix, "apples pears", mode="hybrid", fusion="normalized", limit=10).hits}
    for pid, score in fused.items():
        expected = 0.5 * bm25.get(pid, 0.0) / top + 0.5 * (cosines[pid] - low) / (high - low)
        assert score == pytest.approx(expected, abs=2e-3), pid


def test_rank_fusion_takes_each_ranking_down_to_depth_only():
    dense = [(n, 1.0 - n / 5000) for n in range(hybrid.DEPTH + 5)]
    lexical = [(7, 3.0), (hybrid.DEPTH + 2, 1.0)]     # the words match one passage below the vectors' depth
    rankings, floors = hybrid.fused_rankings(lexical, dense, "rrf")
    assert [len(r) for r in rankings] == [2, hybrid.DEPTH] and floors == [None, None]
    # normalised: the vectors' top DEPTH and the word-matched passage below it, scaled from the
    # lowest cosine of all
    rankings, floors = hybrid.fused_rankings(lexical, dense, "normalized")
    assert rankings[1] == dense[:hybrid.DEPTH] + [dense[hybrid.DEPTH + 2]]
    assert floors == [0.0, dense[-1][1]]
    assert hybrid.fused_rankings([], dense, "normalized")[1] == [dense[-1][1]]


def test_group_by_document_in_semantic_and_hybrid(ix):
    r = search(ix, "fruit", mode="semantic", group_by="document")
    assert ids(r) == ["a:1", "b:2", "c:2"] and r.total == 3
    r = search(ix, "vote budget", vector=(0, 0, 1), mode="hybrid", group_by="document")
    assert ids(r)[0] == "c:1" and r.total == 3


def test_a_passage_without_a_current_vector_is_not_ranked_semantically(ix, tmp_path):
    # re-ingest b with changed text and no vector: its old vectors no longer count
    ix.replace_documents([(doc("b", "Garden"), [passage("b", 1, "Kale, leeks and chard.")])])
    r = search(ix, "", mode="semantic")
    assert r.total == 4 and "b:1" not in ids(r)
    assert ix.embedded_count() == 4
    # hybrid still finds it by its words
    assert "b:1" in ids(search(ix, "chard", mode="hybrid"))


def test_vectors_of_a_batch_whose_commit_never_landed_are_never_used(ix):
    # the state a kill leaves between the two writes of a batch: its vectors (written first) are
    # on disk, its Whoosh commit is not
    batch = [(doc("d", "Dairy"), [passage("d", 1, "Cheese.", [1, 0, 0])])]
    ix._write_vectors(ix._dir, batch)
    assert ix.get_document("d") is None
    r = search(ix, "", mode="semantic", limit=100)
    assert r.total == 6 and "d:1" not in ids(r)
    # the same batch ingested again: its passage is found, with one vector
    ix.replace_documents(batch)
    assert ids(search(ix, "", mode="semantic", limit=1)) == ["d:1"]
    assert ix.embedded_count() == 7


def test_delete_and_compaction(ix, tmp_path):
    assert ix.delete_document("c")
    r = search(ix, "", mode="semantic", limit=100)
    assert r.total == 4 and not any(h.startswith("c:") for h in ids(r))
    store = VectorStore(ix._dir / "vectors")
    store.compact({"a:1": "x"}, MODEL)          # fingerprints that match nothing: all dropped
    assert store.load(MODEL).rows == {}
    assert ix.embedded_count() == 0


def test_many_small_batches_are_compacted(tmp_path):
    ix = WhooshIndex(tmp_path / "index", vector_model=MODEL)
    for i in range(40):
        ix.replace_documents([(doc(f"d{i}", "T"), [passage(f"d{i}", 1, f"text {i}", [1, i, 0])])])
    segments = list((ix._dir / "vectors").glob("seg-*.npz"))
    assert 1 <= len(segments) <= 33
    assert ix.embedded_count() == 40


def test_similar_uses_vectors_when_asked(ix):
    hits = ix.similar("a:1", limit=2, semantic=True)
    assert [h["id"] for h in hits] == ["b:2", "a:2"]
    assert all(h["id"] != "a:1" for h in ix.similar("a:1", semantic=True))
    assert [h["id"] for h in ix.similar("a:1", semantic=True, filters=Filters(documents=("c",)))][:1] == ["c:2"]


def test_rebuild_writes_vectors_into_the_new_index(ix):
    ix.rebuild(corpus())
    assert ix.embedded_count() == 6
    assert ix._dir.name == "whoosh-2"


def test_index_without_vector_model_ignores_vectors(tmp_path):
    plain = WhooshIndex(tmp_path / "index")
    plain.replace_documents(corpus())
    assert not (plain._dir / "vectors").exists()
    assert plain.embedded_count() == 0
    r = plain.search(SearchRequest(q="apples"))
    assert set(ids(r)) == {"a:1", "c:2"}


def test_vectors_are_read_once_per_change_not_per_query(ix):
    search(ix, "fruit", mode="semantic")
    first = ix._embedded()
    search(ix, "fruit", mode="semantic")
    assert ix._embedded() is first
    ix.replace_documents([(doc("e", "Eggs"), [passage("e", 1, "Omelettes.", [0, 1, 1])])])
    assert ix._embedded() is not first and ix.embedded_count() == 7
