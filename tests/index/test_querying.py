"""Query strings to Whoosh queries: the three syntax modes, free-text weighting, limits."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import query

from index.base import QueryError, SearchRequest
from index.query_text import punctuation_as_text
from index.querying import QueryBuilder, QueryLimits, QuerySyntaxError
from index.schema import make_schema
from index.whoosh.engine import WhooshIndex


def doc(doc_id):
    return {"id": doc_id, "title": "A title", "text": "text", "source": "", "tags": [], "metadata": {},
            "ingested_at": ""}


def passage(doc_id, n, text):
    return {"id": f"{doc_id}:{n}", "document_id": doc_id, "ordinal": n, "section": "", "text": text,
            "start": 0, "end": len(text), "tags": [], "keywords": [], "evidence": []}


@pytest.fixture(scope="module")
def builder():
    return QueryBuilder(make_schema())


def content_terms(q):
    return {(t.text, round(t.boost, 4)) for t in q.leaves() if isinstance(t, query.Term) and t.fieldname == "content"}


def test_free_text_drops_stop_words_and_weights_repeats(builder):
    q = builder.build("the cell and the cells of a cell tissue")
    assert content_terms(q) == {("cell", 3.0), ("tissu", 1.0)}   # linear, the default (bench/RELEVANCE.md)
    saturating = QueryBuilder(make_schema(), qtf_k3=1.2).build("cell cells cell tissue", syntax="words")
    assert content_terms(saturating) == {("cell", round(2.2 * 3 / 4.2, 4)), ("tissu", 1.0)}   # BM25's k3
    assert content_terms(QueryBuilder(make_schema(), qtf_k3=0).build("cell cells tissue")) == {
        ("cell", 1.0), ("tissu", 1.0)}
    assert builder.build("the of").leaves()  # nothing but stop words: searched after all


def test_stop_words_stay_inside_phrases(builder):
    q = builder.build('"state of the art"')
    assert isinstance(q, query.Phrase) and q.words == ["state", "of", "the", "art"]


def test_brackets_group_but_do_not_split_the_weighting(builder):
    q = builder.build("dendritic cells (DCs) regulate cells")
    assert content_terms(q) == {("dendrit", 1.0), ("cell", 2.0), ("dc", 1.0),
                                ("regul", 1.0)}


@pytest.mark.parametrize("text,words", [
    ("stabilizing +1 nucleosomes", {"stabiliz", "1", "nucleosom"}),
    ("the G - quadruplex", {"g", "quadruplex"}),
    ("alpha (+)- thalassemia", {"alpha", "thalassemia"}),
    ("Ca2+ in the cytosol", {"ca2", "cytosol"}),
    ("a drop of -5 degrees", {"drop", "5", "degre"}),
])
def test_signs_before_numbers_and_lone_signs_are_text(builder, text, words):
    parsed = builder.parse(text)
    assert parsed.syntax == "query"
    assert {t for t, _ in content_terms(parsed.query)} == words


def test_hyphenated_words_are_searched_as_their_parts(builder):
    assert {t for t, _ in content_terms(builder.build("COVID-19 vaccines"))} == {"covid", "19", "vaccin"}
    assert isinstance(builder.build('"COVID-19"'), query.Phrase)


@pytest.mark.parametrize("bad,where", [
    ('"open quote', "position 1"), ("(a OR b", "never closed"), ("a OR b)", "position 7"),
    ("a AND", "position 3"), ("OR a", "position 1"), ("*ealth", "position 1"),
    ("h*e*a*l*t*h", "position 1"), ("nosuchfield:x", "unknown field 'nosuchfield' at position 1"),
])
def test_query_mode_says_what_is_wrong_and_where(builder, bad, where):
    with pytest.raises(QuerySyntaxError, match=where):
        builder.parse(bad, syntax="query")


@pytest.mark.parametrize("text", ['"open quote', "(a OR b", "a AND", "nosuchfield:x", "*ealth"])
def test_auto_mode_searches_invalid_syntax_as_words_and_says_why(builder, text):
    parsed = builder.parse(text)
    assert parsed.syntax == "words" and parsed.notice and "searched as plain words" in parsed.notice
    assert parsed.query is not query.NullQuery


def test_words_mode_has_no_operators(builder):
    parsed = builder.parse('CRP is NOT predictive -mortality "AND" title:x', syntax="words")
    assert parsed.syntax == "words" and not parsed.notice
    assert {t for t, _ in content_terms(parsed.query)} == {"crp", "predict", "mortal", "titl", "x"}
    assert "ANDNOT" not in repr(parsed.query) and "Not(" not in repr(parsed.query)


def test_query_syntax_is_bounded_and_a_longer_text_is_read_as_words():
    builder = QueryBuilder(make_schema(), QueryLimits(max_length=50, max_terms=5, max_text_length=400,
                                                      long_query_terms=4))
    with pytest.raises(QueryError, match="limit in query syntax is 50"):
        builder.parse("x" * 51, syntax="query")
    with pytest.raises(QueryError, match="6 terms; the limit in query syntax is 5"):
        builder.parse("a b c d e f", syntax="query")
    auto = builder.parse("a b c d e f", syntax="auto")
    assert auto.syntax == "words" and "6 terms" in auto.notice and "searched as plain words" in auto.notice
    words = builder.parse("alpha beta gamma delta epsilon beta", syntax="words")
    assert words.syntax == "words" and "its 4 most telling words of 5" in words.notice
    kept = {t.text for t in words.query.leaves()}
    assert len(kept) == 4 and "beta" in kept            # said twice: the most telling without idf
    for syntax in ("auto", "query", "words"):
        with pytest.raises(QueryError, match="the limit is 400 .*POST /api/v1/search"):
            builder.parse("x " * 201, syntax=syntax)
    with pytest.raises(QueryError):
        builder.parse("x", syntax="regex")


def test_a_long_text_keeps_its_rarest_words(tmp_path):
    ix = WhooshIndex(tmp_path / "ix", limits=QueryLimits(long_query_terms=2))
    common = "data system method"
    ix.replace_documents([(doc(f"d{i}"), [passage(f"d{i}", 1, f"{common} number {i}")]) for i in range(5)]
                         + [(doc("r"), [passage("r", 1, f"{common} zeolite catalysts")])])
    r = ix.search(SearchRequest(q=f"{common} zeolite catalysts", syntax="words"))
    assert "its 2 most telling words of 5" in r.notice
    assert r.total == 1 and r.hits[0]["id"] == "r:1"


def test_too_many_expansions_is_a_clear_error(tmp_path):
    ix = WhooshIndex(tmp_path / "ix", limits=QueryLimits(max_expansions=3))
    ix.replace_documents([(doc("w"), [passage("w", 1, "health healer healthy heal heals healing")])])
    with pytest.raises(QueryError, match="'heal' matches more than 3 words"):
        ix.search(SearchRequest(q="heal*"))
    assert ix.search(SearchRequest(q="healt*")).total == 1


@pytest.mark.parametrize("q, total", [("0~1/2", 1), ("ab~2/5", 0), ("covid~1/9", 1), ("covit~1/9", 0),
                                       ("covit~1/4", 1)])
def test_a_fuzzy_prefix_longer_than_its_word_fixes_the_whole_word(tmp_path, q, total):
    """Whoosh's automaton indexed past the word's end (an IndexError, a 500; the query fuzz found it)."""
    ix = WhooshIndex(tmp_path / "ix")
    ix.replace_documents([(doc("f"), [passage("f", 1, "covid 0 health")])])
    assert ix.search(SearchRequest(q=q, syntax="query")).total == total


def test_the_response_says_how_the_query_was_read(tmp_path):
    ix = WhooshIndex(tmp_path / "ix")
    ix.replace_documents([(doc("w"), [passage("w", 1, "An open quote in a claim")])])
    r = ix.search(SearchRequest(q='"open quote'))
    assert r.total == 1 and r.syntax == "words" and "unbalanced quote" in r.notice
    assert ix.search(SearchRequest(q='"open quote"')).syntax == "query"
    with pytest.raises(QuerySyntaxError):
        ix.search(SearchRequest(q='"open quote', syntax="query"))


@pytest.mark.parametrize("q,read", [
    ("distinguished: networks", "distinguished  networks"),
    ("Examples: t/nroff, scribe", "Examples  t/nroff, scribe"),
    ("operating system for IBM computers?", "operating system for IBM computers "),
    ("(MEDLARS)? How does MEDLARS operate?", "(MEDLARS)  How does MEDLARS operate "),
    ("title:diplomacy colo?r", "title:diplomacy colo?r"),     # a field and a wildcard keep their meaning
    ("http://example.org a:b", "http://example.org a:b"),
])
def test_sentence_punctuation_is_not_syntax(q, read):
    assert punctuation_as_text(q) == read


def test_a_question_and_a_colon_are_read_as_query_syntax_not_errors(tmp_path):
    ix = WhooshIndex(tmp_path / "ix")
    ix.replace_documents([(doc("w"), [passage("w", 1, "Three types of networks: star, ring and bus")])])
    for q in ("Three types of networks are distinguished: star and ring", "What is a ring network?"):
        r = ix.search(SearchRequest(q=q, syntax="query"))
        assert r.total == 1 and r.syntax == "query" and r.notice is None, q


def test_coordination_bonus_ranks_more_matched_words_higher_and_never_zeroes_scores(tmp_path):
    ix = WhooshIndex(tmp_path / "ix")
    ix.queries.coord = 0.3
    ix.replace_documents([(doc("c"), [passage("c", 1, "zebra zebra zebra zebra"),
                                      passage("c", 2, "zebra lion in a longer passage of words")])])
    plain = WhooshIndex(tmp_path / "ix")
    plain.queries.coord = None
    assert [h["id"] for h in plain.search(SearchRequest(q="zebra lion")).hits][0] == "c:2"
    with_bonus = ix.search(SearchRequest(q="zebra lion")).hits
    without = {h["id"]: h["score"] for h in plain.search(SearchRequest(q="zebra lion")).hits}
    assert with_bonus[0]["id"] == "c:2" and with_bonus[0]["score"] > without["c:2"]
    # Whoosh's own bonus would multiply every score by 0 when one word is not in the index
    scores = [h["score"] for h in ix.search(SearchRequest(q="zebra qqqxyz")).hits]
    assert len(scores) == 2 and all(s > 0 for s in scores) and scores[0] > scores[1]


@pytest.mark.parametrize("q,text", [
    ("Indo\u2011Pacific", "Competition in the Indo-Pacific region."),        # non-breaking hyphen
    ("China\u2019s policy", "China's science policy."),                      # typographic apostrophe
    ("0-dimensional", "Zero: 0 dimensional biomaterials."),
    ("\uff23\uff2f\uff36\uff29\uff24", "The COVID pandemic."),                # full-width letters
    ("naive cafe", "A naïve café owner."),                                   # accents folded
])
def test_analysis_is_the_same_for_index_and_query(tmp_path, q, text):
    ix = WhooshIndex(tmp_path / "ix")
    ix.replace_documents([(doc("u"), [passage("u", 1, text)])])
    for syntax in ("auto", "words"):
        assert ix.search(SearchRequest(q=q, syntax=syntax)).total == 1, (q, syntax)


def test_the_text_embedded_for_a_query_keeps_words_and_drops_syntax():
    from index.query_text import free_text

    assert free_text('tags:covid-19 "public health" -china NOT (us OR uk) vacc* polcy~') == \
        "covid 19 public health vacc polcy"
    assert free_text("see http://example.org/page") == "see http://example.org/page"


def test_dotted_identifiers_are_found_whole_and_by_their_parts_abbreviations_join(tmp_path):
    ix = WhooshIndex(tmp_path / "ix")
    ix.replace_documents([(doc("node"), [passage("node", 1, "const data = fs.readFileSync(file); "
                                                          "const full = os.path.join(root, name);"),
                                         passage("node", 2, "Exports rose in the U.S. in 2020.")])])

    def found(q, syntax="auto"):
        return [h["id"] for h in ix.search(SearchRequest(q=q, syntax=syntax)).hits]

    for q in ("readFileSync", "fs.readFileSync", "join", "os.path.join", "path", "\"os.path.join(root\""):
        assert found(q) == ["node:1"], q
        assert found(q, "words") == ["node:1"], q
    assert found("U.S.") == found("us") == ["node:2"]
    snippet = ix.search(SearchRequest(q="readFileSync")).hits[0]["snippet"]
    assert "<mark>readFileSync</mark>" in snippet or "fs.<mark>readFileSync</mark>" in snippet, snippet


PLAIN_VOCABULARY = ["cell", "Cells", "CELL", "the", "The", "of", "a", "us", "US", "and", "AND", "or", "OR", "not",
                    "NOT", "ANDNOT", "ANDMAYBE", "to", "TO", "vaccines", "vaccinated", "x", "studies",
                    "generalizations"]


@given(st.lists(st.sampled_from(PLAIN_VOCABULARY), min_size=1, max_size=12))
@settings(max_examples=300, deadline=None)
def test_plain_words_are_read_as_whoosh_reads_them(words):
    """Words of plain letters skip Whoosh's parser: the same tree, each word placed where it is, and
    the same final query; anything with an operator word goes to the parser."""
    builder = QueryBuilder(make_schema(), coord=0.3)
    q = " ".join(words)
    fast = builder._plain_words(q)
    if any(w in ("AND", "OR", "NOT", "ANDNOT", "ANDMAYBE") for w in words):
        assert fast is None
        return
    whoosh = builder.parser.parse(q, normalize=False)
    assert fast == whoosh
    assert [(t.startchar, t.endchar, t.boost) for t in fast.leaves()] == [
        (t.startchar, t.endchar, t.boost) for t in whoosh.leaves()]
    by_parser = QueryBuilder(make_schema(), coord=0.3)
    by_parser._plain_words = lambda q: None
    assert builder.structured(q) == by_parser.structured(q)


@pytest.mark.parametrize("q", ["cell  tissue", "cell-tissue", "cell's", "3 cells", "célula", "cell\ttissue", "",
                               "cell*"])
def test_anything_but_plain_words_goes_to_the_parser(builder, q):
    assert builder._plain_words(q) is None
