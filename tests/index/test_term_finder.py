"""The term finder marks exactly the words a full analysis would: same words, same offsets."""
from __future__ import annotations

import json
import re
import unicodedata
from itertools import islice

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from whoosh.analysis import StopFilter

from helpers import SHARED
from index.text import term_finder
from index.text.analysis import text_analyzer
from index.text.memo_analyzer import MemoAnalyzer
from index.text.term_finder import WORD_START, TermFinder

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
            expected = analysed(text, terms)
            assert found == expected, (text[:80], sorted(terms))
            checked += 1
            matched += bool(found)
    assert checked == len(texts) * len(queries) and matched > 800


WORDS = ["Cell", "cells", "U.S.", "U.S.A.", "O'Brien", "China's", "studies", "study", "studying",
         "3.5", "p53", "x.y", "a'b", "re-entry", "sensibility", "sensible", "hoping", "hope", "ies", "y",
         "generalizations", "general", "Vaccines", "vaccinated", "_x", "it's", "'s", "s's",
         # not ASCII: accents (composed and not), ligatures, curly apostrophes, other scripts, letters
         # that fold or case into ASCII ones (Kelvin sign, long s, dotted I), superscripts
         "naïve", "naive", "Café", "cafe\u0301", "café’s", "O’Brien", "China’s", "ﬁnance", "finance",
         "Straße", "strasse", "İstanbul", "istanbul", "\u212aelvin", "kelvin", "ſtate", "state",
         "école", "e\u0301cole", "ecole", "α-helix", "helix", "β-cells", "x²", "x2", "Ünited", "united",
         "日本語", "ＦＵＬＬ", "full", "Ωmega", "omega"]


@given(st.lists(st.sampled_from(WORDS + [" ", ". ", ", ", "'", ".", "(", ")", "-", "\n", "’", "“", "—", "\u00a0"]),
                max_size=40),
       st.lists(st.sampled_from(WORDS), min_size=1, max_size=4))
@example(["Cell", "'", "'", "U.S."], ["U.S."])   # once missed: a dotted word's candidate ran over "''"
def test_same_matches_on_tricky_words(pieces, wanted):
    text = "".join(pieces)
    terms = terms_of(" ".join(wanted))
    found = TermFinder(MemoAnalyzer(text_analyzer())).find(text, terms)
    if all(t.isascii() for t in terms):
        assert found == analysed(text, terms)
    else:   # a term that is not ASCII (α): every word is analysed instead
        assert found is None


def one_regex(terms: frozenset) -> re.Pattern:
    """The candidates as one regular expression (what ``candidates`` replaced, three times slower):
    every position where it matches. Its ``finditer`` missed some: a dotted word's match ran over
    apostrophes into the next word (``Cell''U.S.``, and ``U.S.`` was never looked at)."""
    prefixes = {re.escape(term[:min(4, max(1, len(term) - 2))]) for term in terms}
    alternatives = "|".join(sorted(prefixes, key=len, reverse=True))
    return re.compile(f"{WORD_START}(?=\\w)(?:{alternatives}|\\w{{1,3}}[.'’]|(?-i:\\w{{0,3}}[^\\x00-\\x7f])"
                      f"|\\w[\\w'’]*\\.\\w)", re.IGNORECASE)


def matching_starts(pattern: re.Pattern, text: str) -> list[int]:
    return [at for at in range(len(text)) if pattern.match(text, at)]


@given(st.lists(st.sampled_from(WORDS + [" ", ". ", ", ", "'", ".", "(", ")", "-", "\n", "’", "“", "—", "\u00a0",
                                         "a", "B", "ab.", "x.", "..", "''", "_", "İ", "ſ"]), max_size=40),
       st.lists(st.sampled_from(WORDS + ["a", "ab", "abc", "s", "x.y.z"]), min_size=1, max_size=4))
@example(["ab.", " ", "x"], ["Cell"])            # a short word before a sentence's end
@example(["Cell", "''", "U.S."], ["U.S."])       # a word after two apostrophes
@example(["Cell", " ", "x.", "\n", "U.S.", "’", "3.5", "x.y", "İ", "Cell"], ["cells", "x.y.z"])
@settings(max_examples=300)
def test_candidates_are_the_word_starts_one_regular_expression_finds(pieces, wanted):
    text = "".join(pieces)
    terms = terms_of(" ".join(wanted))
    if all(t.isascii() and t for t in terms) and terms:
        expected = matching_starts(one_regex(terms), text)
        assert term_finder.candidates(text, term_finder._prefixes(terms)) == expected


@pytest.mark.shared
def test_candidates_are_the_word_starts_one_regular_expression_finds_on_scifact():
    with open(SCIFACT / "corpus.jsonl", encoding="utf-8") as f:
        texts = [f"{r['title']}\n{r['text']}" for r in map(json.loads, islice(f, 1500))]
    for terms in (frozenset({"vitamin", "d"}), frozenset({"cell", "studi", "activ"}), frozenset({"p53", "us"})):
        pattern, prefixes = one_regex(terms), term_finder._prefixes(terms)
        for text in texts:
            assert term_finder.candidates(text, prefixes) == matching_starts(pattern, text), text[:80]


@pytest.mark.parametrize("word", [w for w in WORDS if not w.isascii()])
def test_a_word_that_is_not_ascii_is_found_by_its_term(word):
    """Each word found wherever it stands, by the term of any word of the list that folds to it."""
    finder = TermFinder(MemoAnalyzer(text_analyzer()))
    text = f"{word} and ({word}), “{word}”—{word}’s"
    if len(unicodedata.normalize("NFKC", word)) == len(word):   # a dotted identifier's parts are placed
        text += f" x.{word}"   # by their folded lengths in a full analysis (ﬁ: one character, two letters)
    for other in WORDS:
        terms = terms_of(other) | terms_of(word)
        if all(t.isascii() for t in terms):
            assert finder.find(text, terms) == analysed(text, terms), (word, other)


def test_steps_aside_where_the_shortcut_is_not_proven():
    finder = TermFinder(MemoAnalyzer(text_analyzer()))
    assert finder.find("A naïve café", frozenset({"naiv", "cafe"})) == [(2, 7, "naiv"), (8, 12, "cafe")]
    assert finder.find("a text", frozenset({"naïv"})) is None              # a term that is not ASCII
    assert not TermFinder(MemoAnalyzer(text_analyzer() | StopFilter())).usable
