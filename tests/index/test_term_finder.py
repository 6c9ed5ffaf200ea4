"""The term finder marks exactly the words a full analysis would: same words, same offsets."""
from __future__ import annotations

import json
from itertools import islice

import pytest
from hypothesis import given
from hypothesis import strategies as st
from whoosh.analysis import StopFilter

from helpers import SHARED
from index.text.analysis import text_analyzer
from index.text.memo_analyzer import MemoAnalyzer
from index.text.term_finder import TermFinder

SCIFACT = SHARED / "eval" / "scifact"
PLAIN = text_analyzer()


def analysed(text: str, terms) -> list[tuple[int, int, str]]:
    return [(t.startchar, t.endchar, t.text) for t in PLAIN(text, chars=True, mode="index") if t.text in terms]


def terms_of(text: str) -> frozenset:
    return frozenset(t.text for t in PLAIN(text, mode="query"))


@pytest.mark.shared
def test_same_matches_as_a_full_analysis_on_scifact():
    finder = TermFinder(MemoAnalyzer(text_analyzer()))
    assert finder.usable
    with open(SCIFACT / "corpus.jsonl", encoding="utf-8") as f:
        records = [json.loads(line) for line in islice(f, 300)]
    texts = [f"{r['title']}\n{r['text']}" for r in records]
    with open(SCIFACT / "queries.jsonl", encoding="utf-8") as f:
        queries = [terms_of(json.loads(line)["text"]) for line in islice(f, 40)]
    queries += [frozenset({"us"}), frozenset({"3.5", "p53"}), frozenset({"cell", "studi", "activ"})]
    checked = matched = 0
    for text in texts:
        for terms in queries:
            found = finder.find(text, terms)
            if found is None:
                assert not text.isascii()
                continue
            expected = analysed(text, terms)
            assert found == expected, (text[:80], sorted(terms))
            checked += 1
            matched += bool(found)
    assert checked > 8_000 and matched > 800


WORDS = ["Cell", "cells", "U.S.", "U.S.A.", "O'Brien", "China's", "studies", "study", "studying",
         "3.5", "p53", "x.y", "a'b", "re-entry", "sensibility", "sensible", "hoping", "hope", "ies", "y",
         "generalizations", "general", "Vaccines", "vaccinated", "_x", "it's", "'s", "s's"]


@given(st.lists(st.sampled_from(WORDS + [" ", ". ", ", ", "'", ".", "(", ")", "-", "\n"]), max_size=40),
       st.lists(st.sampled_from(WORDS), min_size=1, max_size=4))
def test_same_matches_on_tricky_words(pieces, wanted):
    text = "".join(pieces)
    terms = terms_of(" ".join(wanted))
    found = TermFinder(MemoAnalyzer(text_analyzer())).find(text, terms)
    assert found == analysed(text, terms)


def test_steps_aside_where_the_shortcut_is_not_proven():
    finder = TermFinder(MemoAnalyzer(text_analyzer()))
    assert finder.find("naïve café", frozenset({"naiv"})) is None          # not ASCII
    assert finder.find("a text", frozenset({"naïv"})) is None              # a term that is not
    assert not TermFinder(MemoAnalyzer(text_analyzer() | StopFilter())).usable
