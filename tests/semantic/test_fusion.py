"""Rank fusion: reciprocal rank fusion and normalised score fusion (pure Python, no extra needed)."""
import pytest

from index.vectors import fusion


def test_rrf_sums_reciprocal_ranks():
    lexical = [("a", 12.0), ("b", 7.0), ("c", 1.0)]
    dense = [("c", 0.9), ("a", 0.5)]
    fused = fusion.rrf([lexical, dense], k=60)
    assert fused["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert fused["b"] == pytest.approx(1 / 62)
    assert fused["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert [item for item, _ in fusion.ordered(fused)] == ["a", "c", "b"]


def test_rrf_ignores_score_scale():
    small = fusion.rrf([[("a", 0.002), ("b", 0.001)]])
    large = fusion.rrf([[("a", 2000.0), ("b", 1000.0)]])
    assert small == large


def test_normalized_min_max_within_each_ranking():
    lexical = [("a", 10.0), ("b", 6.0), ("c", 2.0)]     # → 1, 0.5, 0
    dense = [("c", 0.8), ("b", 0.6), ("a", 0.4)]        # → 1, 0.5, 0
    fused = fusion.normalized([lexical, dense])
    assert fused == pytest.approx({"a": 0.5, "b": 0.5, "c": 0.5})
    weighted = fusion.normalized([lexical, dense], weights=[0.75, 0.25])
    assert weighted["a"] == pytest.approx(0.75) and weighted["c"] == pytest.approx(0.25)


def test_normalized_single_item_and_missing_items():
    fused = fusion.normalized([[("a", 3.0)], [("b", 0.7), ("a", 0.1)]])
    assert fused["a"] == pytest.approx(0.5 * 1.0 + 0.5 * 0.0)
    assert fused["b"] == pytest.approx(0.5)


def test_normalized_floors_are_the_whole_candidate_sets_lowest_scores():
    lexical = [("a", 10.0), ("b", 5.0)]                 # BM25: a passage not listed scores 0
    dense = [("b", 0.8), ("a", 0.6)]                    # the lowest cosine of every candidate: 0.2
    fused = fusion.fuse([lexical, dense], "normalized", floors=[0.0, 0.2])
    assert fused["a"] == pytest.approx(0.5 * 1.0 + 0.5 * (0.6 - 0.2) / 0.6)
    assert fused["b"] == pytest.approx(0.5 * 0.5 + 0.5 * 1.0)
    # without floors each list's own lowest score is its floor: b's words count for nothing
    assert fusion.fuse([lexical, dense], "normalized")["b"] == pytest.approx(0.5)
    # a floor above the list's lowest score is not allowed to push a score below 0
    assert fusion.normalized([lexical], floors=[7.0])["b"] == pytest.approx(0.0)


def test_ordered_breaks_ties_by_item():
    assert fusion.ordered({"b": 1.0, "a": 1.0, "c": 2.0}) == [("c", 2.0), ("a", 1.0), ("b", 1.0)]


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown fusion method"):
        fusion.fuse([[("a", 1.0)]], "borda")
    with pytest.raises(ValueError):
        fusion.normalized([[("a", 1.0)]], weights=[0.5, 0.5])
    with pytest.raises(ValueError):
        fusion.normalized([[("a", 1.0)]], floors=[0.0, 0.0])
