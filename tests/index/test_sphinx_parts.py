"""The SphinxQL backend's pure parts: query translation, snippet format, rows, node lists and
configs (no searchd needed; the cluster tests exercise them against real nodes)."""
from __future__ import annotations

import json

import pytest

from index.base import BackendUnavailable, QueryError, Unsupported
from index.factory import open_index
from index.querying import QueryBuilder
from index.schema import make_schema
from index.sphinx import records as rec
from index.sphinx.config import Node, charset_table, node_config, nodes_value, parse_nodes
from index.sphinx.query import FRAGMENT, MARK_END, MARK_START, Translator, format_snippet, key_token
from index.whoosh.engine import WhooshIndex


@pytest.fixture(scope="module")
def translate():
    return Translator(QueryBuilder(make_schema())).translate


@pytest.mark.parametrize("q,match", [
    ("public health", "((@content public) | (@content health))"),
    ("the public health", "((@content public) | (@content health))"),           # stop words dropped
    ('"the science"~2', '(@content "the science"~2)'),                            # ... but kept in phrases
    ("China's U.S.", "((@content china's) | (@content u.s))"),                    # as written: Sphinx stems
    ("COVID-19", "((@content covid) | (@content 19))"),                          # hyphenated: its parts
    ('"COVID-19"', '(@content "covid 19")'),
    ("COVID AND capacity", "((@content covid) (@content capacity))"),
    ("diplomacy NOT China", "((@content diplomacy) -(@content china))"),
    ("NOT china", f"((@keys {rec.ALL_PASSAGES}) -(@content china))"),
    ("+china health", "((@content china) MAYBE (@content health))"),
    ("diplom*", "(@content diplom*)"),
    ("diplo?acy", "(@content diplo?acy)"),
    ("title:diplomacy section:retreat", "((@title diplomacy) | (@section retreat))"),
    ("tags:public-health", f"(@keys {key_token('tag', 'public-health')})"),
    ("document:science-diplomacy", f"(@keys {key_token('document', 'science-diplomacy')})"),
    ("naïve café", "((@content naïve) | (@content café))"),
])
def test_translation(translate, q, match):
    assert translate(q).match == match


def test_translation_edges(translate):
    assert translate("").match is None and not translate("").nothing
    assert translate("diplomacy NOT China").highlight == "diplomacy"
    assert translate('"science policy" diplom*').highlight == '"science policy" | diplom*'
    with pytest.raises(Unsupported, match=r"fuzzy terms \('diplomcy~'\)"):
        translate("diplomcy~")
    with pytest.raises(QueryError, match="unbalanced quote"):
        translate('"open', "query")
    auto = translate('"open health')
    assert auto.match == "((@content open) | (@content health))" and auto.syntax == "words"
    assert "unbalanced quote" in auto.notice
    assert translate("a AND b OR (c", "words").match is not None


def test_key_tokens_are_digits_that_no_stemmer_touches():
    token = key_token("tag", "public-health")
    assert token.isdigit() and len(token) == 19 and token[0] == "8"
    assert key_token("document", "public-health")[0] == "9" and key_token("tag", "x") != key_token("tag", "y")


def test_snippet_format():
    raw = (f"{FRAGMENT} the {MARK_START}public-health{MARK_END} <b>plan</b> & {MARK_START}China's{MARK_END} "
           f"aid.{FRAGMENT} next {MARK_START}health{MARK_END} {FRAGMENT}")
    assert format_snippet(raw) == ("…the <mark>public</mark>-<mark>health</mark> &lt;b&gt;plan&lt;/b&gt; &amp; "
                                   "<mark>China&#x27;s</mark> aid. … next <mark>health</mark>…")
    assert format_snippet(f"{MARK_START}Whole{MARK_END} text.") == "<mark>Whole</mark> text."
    assert format_snippet(f"{MARK_START}diplomacy.{MARK_END}") == "<mark>diplomacy</mark>."


def test_document_rows_round_trip_in_chunks():
    doc = {"id": "d1", "title": "T", "text": "x" * (rec.CHUNK_CHARS * 2 + 5) + "\x00é", "source": "s",
           "tags": ["a"], "metadata": {"k": [1, 2]}, "ingested_at": "2026-01-01T00:00:00+00:00",
           "sections": [[0, "Intro"]]}
    rows = rec.document_rows(doc)
    assert [r[3] for r in rows] == [rec.DOCUMENT, rec.CHUNK, rec.CHUNK, rec.CHUNK]
    assert all("\x00" not in r[-1] for r in rows)  # NUL never reaches SphinxQL
    assert rec.document_from_rows([(r[3], r[4], r[-1]) for r in rows]) == doc
    assert rec.document_from_rows([(r[3], r[4], r[-1]) for r in rows[:-1]]) is None  # not whole: nothing
    assert rec.document_summary(rows[0][-1]) == {k: v for k, v in doc.items() if k != "text"}


def test_passage_rows():
    doc = {"id": "d1", "title": "Title"}
    passage = {"id": "d1:2", "ordinal": 2, "section": "S", "text": "Vaccines\x00 for all.", "start": 5, "end": 24,
               "tags": ["covid-19", "public-health"], "keywords": ["vaccines"], "evidence": []}
    row = rec.passage_row(doc, passage)
    values = dict(zip(rec.PASSAGE_COLUMNS, row))
    assert values["tag_ids"] == (rec.tag_id("covid-19"), rec.tag_id("public-health"))
    assert "\x00" not in values["content"] and values["content"].startswith("Title\nS\n")
    assert key_token("tag", "covid-19") in values["keys"] and rec.ALL_PASSAGES in values["keys"]
    back = rec.passage_from_row((values["id"], "d1", 2, values["tags"], values["data"]))
    assert back["id"] == "d1:2" and back["text"] == passage["text"] and back["tags"] == passage["tags"]
    assert back["document_title"] == "Title" and back["words"] == 3


def test_replace_statements_split_and_inline_mva():
    rows = [(i, "text " * 100, rec.Mva([1, 2])) for i in range(50)]
    statements = rec.replace_statements("kb_rt", ("id", "content", "tag_ids"), rows, limit=5000)
    assert len(statements) > 1
    assert sum(sql.count("(1,2)") for sql, _ in statements) == 50
    assert sum(len(args) for _, args in statements) == 100
    assert rec.in_list([3, "4"]) == "3,4" and rec.in_list([]) == "0"


def test_vocabulary_and_grams():
    assert rec.vocabulary("China's U.S. naïve 3.5 COVID-19") == {"chinas", "us", "naive", "35", "covid", "19"}
    assert rec.grams("ab") == "__a _ab ab_ b__ _a ab b_"
    assert json.loads(rec.word_row("health", 7)[-1]) == "health"


def test_node_lists():
    assert parse_nodes("a:1|b:2,c:3") == [[("a", 1), ("b", 2)], [("c", 3)]]
    for bad in ("", "a", "a:x", "a:1,,b:2", "a:70000"):
        with pytest.raises(BackendUnavailable, match="KB_SPHINX_NODES"):
            parse_nodes(bad)
    nodes = [Node("s1r0", 1, 0, "h", 5, 6), Node("s0r1", 0, 1, "h", 3, 4), Node("s0r0", 0, 0, "h", 1, 2)]
    assert nodes_value(nodes) == "h:1|h:3,h:5"


def test_node_config_lists_every_shard_with_its_mirrors(tmp_path):
    nodes = [Node("s0r0", 0, 0, "127.0.0.1", 1, 11), Node("s0r1", 0, 1, "127.0.0.1", 2, 12),
             Node("s1r0", 1, 0, "127.0.0.1", 3, 13)]
    conf = node_config(nodes[1], nodes, tmp_path)
    assert "agent = 127.0.0.1:11:kb_rt|127.0.0.1:12:kb_rt\n    agent = 127.0.0.1:13:kb_rt" in conf
    assert "listen = 127.0.0.1:2:mysql41" in conf and "morphology = stem_en" in conf
    assert "U+E9->e" in charset_table() and "A..Z->a..z" in charset_table()
    assert max(len(line) for line in conf.splitlines()) < 1024  # searchd refuses long lines


def test_factory(tmp_path):
    assert isinstance(open_index(tmp_path / "a"), WhooshIndex)
    with pytest.raises(BackendUnavailable, match="KB_SPHINX_NODES"):
        open_index(tmp_path / "b", backend="sphinx")
    with pytest.raises(BackendUnavailable, match="unknown backend 'solr'"):
        open_index(tmp_path / "c", backend="solr")


def test_agent_failures_are_told_from_harmless_warnings():
    from index.sphinx.client import _AGENT_TROUBLE
    assert _AGENT_TROUBLE.search("index kb: agent 127.0.0.1:60751: connect() failed: errno=111, "
                                 "Operation now in progress")
    assert _AGENT_TROUBLE.search("index kb: agent 127.0.0.1:1: query timed out")
    assert not _AGENT_TROUBLE.search("index kb_meta: agent 127.0.0.1:33173: remote query warning: quorum threshold "
                                     "too high (words=2, thresh=2); replacing quorum operator with AND operator")
