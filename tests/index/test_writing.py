"""Writing the Whoosh index: the word list the suggestions read (kept exact through replaces,
deletes and killed commits, the old ``spell`` field still read in indexes made before it) and
the tiered merge policy."""
from __future__ import annotations

from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.analysis import SimpleAnalyzer
from whoosh.fields import TEXT

from helpers.records import doc, live_counts, passage, positive, recount
from index import storage
from index.schema import make_schema
from index.whoosh import merging, words
from index.whoosh.engine import WhooshIndex


def test_the_index_has_no_spell_field_and_suggestions_read_the_word_list(tmp_path):
    ix = WhooshIndex(tmp_path / "kb")
    ix.replace_documents([(doc("a", "Vaccine diplomacy"), [passage("a", 1, "Vaccines and vaccination."),
                                                            passage("a", 2, "Vaccination drives.")])])
    assert "spell" not in ix.searcher().schema
    assert ix.suggest("vacc")["completions"][0]["text"] == "vaccination"   # in 2 passages, vaccines in 1
    assert ix.suggest("vacine")["did_you_mean"]["text"] == "vaccine"


def test_counts_stay_exact_through_replace_and_delete(tmp_path):
    ix = WhooshIndex(tmp_path / "kb")
    ix.replace_documents([(doc("a"), [passage("a", 1, "Ozone treaty talks."), passage("a", 2, "Ozone again.")]),
                          (doc("b"), [passage("b", 1, "Arctic council.")])])
    ix.replace_documents([(doc("a"), [passage("a", 1, "Fisheries talks.")])])          # replaced
    ix.replace_documents([(doc("c"), [passage("c", 1, "Draft one.")])])
    ix.replace_documents([(doc("c"), [passage("c", 1, "Draft two.")])])
    assert ix.delete_document("b") is True
    have, want = live_counts(ix), recount(ix)
    assert positive(have.passages) == positive(want.passages)
    assert positive(have.occurrences) == positive(want.occurrences)
    assert "ozone" not in positive(have.passages) and "arctic" not in positive(have.passages)
    assert ix.suggest("ozon")["completions"] == [] and ix.suggest("fish")["completions"][0]["text"] == "fisheries"


def test_a_word_list_left_by_a_killed_commit_is_cleared_by_the_next_writer(tmp_path):
    ix = WhooshIndex(tmp_path / "kb")
    ix.replace_documents([(doc("a"), [passage("a", 1, "Polar research stations.")])])
    folder = storage.live_dir(ix.home)
    gen = ix.searcher().reader().generation()
    # what a writer killed between writing the word list and committing leaves behind
    words.write(folder, gen + 1, words.passage_words("", "", "phantom words never committed"))
    ix.close()
    assert "phantom" not in positive(live_counts(ix).passages)
    ix.replace_documents([(doc("b"), [passage("b", 1, "Ice cores.")])])
    counts = positive(live_counts(ix).passages)
    assert "phantom" not in counts and counts["polar"] == 1 and counts["ice"] == 1
    assert max(words.files(folder)) == ix.searcher().reader().generation()


def test_a_word_list_half_written_by_a_killed_writer_is_removed_by_the_next(tmp_path):
    """A kill -9 during ``words.write`` leaves its temporary file (found by a crash trial)."""
    ix = WhooshIndex(tmp_path / "kb")
    ix.replace_documents([(doc("a"), [passage("a", 1, "Polar research stations.")])])
    folder = storage.live_dir(ix.home)
    left = folder / "WORDS_9.tsv.28595.tmp"
    left.write_text("polar\t1\t1\n", encoding="utf-8")
    ix.replace_documents([(doc("b"), [passage("b", 1, "Ice cores.")])])
    assert not left.exists()


def test_an_index_made_with_the_spell_field_keeps_it_until_rebuilt(tmp_path):
    ix = WhooshIndex(tmp_path / "kb")
    legacy = make_schema()
    legacy.add("spell", TEXT(analyzer=SimpleAnalyzer(), phrase=False))
    whoosh_index.create_in(storage.live_dir(ix.home), legacy)
    ix.replace_documents([(doc("a", "Glacier survey"), [passage("a", 1, "Glaciers retreat.")])])
    s = ix.searcher()
    assert "spell" in s.schema and s.reader().doc_frequency("spell", "glaciers") == 1
    assert not words.files(storage.live_dir(ix.home))
    assert ix.suggest("glac")["completions"][0]["text"] in ("glacier", "glaciers")
    assert ix.suggest("glaceirs")["did_you_mean"]["text"] == "glaciers"
    ix.rebuild(iter([(doc("a", "Glacier survey"), [passage("a", 1, "Glaciers retreat.")])]))
    assert "spell" not in ix.searcher().schema
    assert ix.suggest("glaceirs")["did_you_mean"]["text"] == "glaciers"


def test_the_plan_merges_a_full_tier_of_like_sized_segments_only():
    assert merging.plan([500] * 9) == []                       # a tier not yet full
    assert sorted(merging.plan([500] * 10 + [80_000])) == list(range(10))
    assert merging.plan([5_000] * 9 + [600] * 3) == []        # neither tier full
    big = [100_000] * 10                                        # would make 1M records: left alone
    assert merging.plan(big) == []
    assert sorted(merging.plan(big, partial=True)) == [0, 1]    # a bulk load: two at a time, to the cap
    assert sorted(merging.plan([200_000] + [100_000] * 8 + [120_000], partial=True)) == [1, 2]
    assert merging.plan([200_000] * 9 + [100_000], partial=True) == []   # no two fit: left alone
    assert merging.plan([100_000] * 9, partial=True) == []      # a tier not yet full
    assert sorted(merging.plan([500] * 10 + [80_000], partial=True)) == list(range(10))
    assert merging.tier_of(999) == 0 and merging.tier_of(1_000) == 1 and merging.tier_of(10_000) == 2


def test_many_small_commits_leave_a_bounded_number_of_segments(tmp_path):
    ix = WhooshIndex(tmp_path / "kb")
    for i in range(25):
        ix.replace_documents([(doc(f"d{i}"), [passage(f"d{i}", 1, f"Commit number {i} of the series.")])])
    segments = whoosh_index.open_dir(storage.live_dir(ix.home)).reader().leaf_readers()
    assert len(segments) < merging.FACTOR          # 25 commits, merged by tiers
    assert ix.stats()["passages"] == 25
    assert Path(storage.live_dir(ix.home)).is_dir()


def test_a_documents_passages_are_its_live_passages_only(tmp_path):
    """What replaces and deletes take away from the word list, and what a document's page lists:
    its own passages, not its document record, not the passages a replace deleted, not a document
    whose id merely starts the same."""
    from index.whoosh.records import stored_passages_of

    ix = WhooshIndex(tmp_path / "kb")
    ix.replace_documents([(doc("a"), [passage("a", 1, "One."), passage("a", 2, "Two.")]),
                          (doc("ab"), [passage("ab", 1, "Other.")])])
    ix.replace_documents([(doc("a"), [passage("a", 1, "Three.")])])
    s = ix.searcher()
    assert [f["text"] for f in stored_passages_of(s, "a")] == ["Three."]
    assert [f["id"] for f in stored_passages_of(s, "ab")] == ["ab:1"]
    assert stored_passages_of(s, "missing") == []
    assert [p["text"] for p in ix.passages_of("a")] == ["Three."]
