"""Every passage of every format is an exact slice of its document's clean text:
``document.text[start:end] == passage.text``, whatever runs of spaces, tabs and line breaks the file
had; the text as read is kept as ``original`` for rebuilds and exports."""
from __future__ import annotations

import html
import importlib.util
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import DATA
from index import SearchRequest
from kb.core import SAMPLE_PATH, KnowledgeBase
from kb.readers import ReadResult, read_bytes

_spec = importlib.util.spec_from_file_location("make_pdf_fixtures", DATA / "make_pdf_fixtures.py")
make_pdf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_pdf)

WORDS = ("vaccine trial data river clinic border treaty laboratory scientists partners fund cold chain "
         "ministry survey results museum archive policy").split()
GAPS = [" ", " ", " ", "  ", "   ", "\t", " \t "]


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    return KnowledgeBase(tmp_path_factory.mktemp("cited") / "kb")


@st.composite
def paragraphs(draw) -> list[list[str]]:
    """Paragraphs of lines; words apart by runs of spaces and tabs; some lines list items."""
    out = []
    for _ in range(draw(st.integers(1, 5))):
        lines = []
        for _ in range(draw(st.integers(1, 4))):
            words = draw(st.lists(st.sampled_from(WORDS), min_size=3, max_size=14))
            line = "".join(w + draw(st.sampled_from(GAPS)) for w in words[:-1]) + words[-1]
            line = line[0].upper() + line[1:] + draw(st.sampled_from([".", ".", "?", ""]))
            if draw(st.integers(0, 4)) == 0:
                line = "- " + line
            lines.append(line + draw(st.sampled_from(["", " ", "  ", "\t"])))
        out.append(lines)
    return out


def as_file(fmt: str, paras: list[list[str]]) -> tuple[bytes, str]:
    text = "\n\n".join("\n".join(lines) for lines in paras)
    if fmt == "txt" or fmt == "md":
        return text.encode("utf-8"), f"generated.{fmt}"
    if fmt == "html":
        body = "".join(f"<p>{html.escape(' '.join(lines))}</p>\n" for lines in paras)
        return f"<html><head><title>Generated</title></head><body><main>{body}</main></body></html>".encode(), \
            "generated.html"
    if fmt == "jsonl":
        return (json.dumps({"title": "Generated", "text": text}) + "\n").encode(), "generated.jsonl"
    lines = [line.replace("\t", " ") for lines in paras for line in lines + [""]]
    return make_pdf.build([lines[:40]], {"Title": "Generated"}), "generated.pdf"


def assert_cited_exactly(kb, result: ReadResult) -> int:
    record, passages = kb.prepare_record(result)
    for p in passages:
        assert record["text"][p["start"]:p["end"]] == p["text"], (p["start"], p["end"], p["text"])
    assert record.get("original", record["text"]) == result.document.text
    return len(passages)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fmt=st.sampled_from(["txt", "md", "html", "jsonl", "pdf"]), paras=paragraphs())
def test_property_every_reader_cites_exact_slices(kb, fmt, paras):
    data, name = as_file(fmt, paras)
    results = [r for r in read_bytes(data, name) if isinstance(r, ReadResult)]
    assert results
    for result in results:
        assert_cited_exactly(kb, result)


def test_every_stored_passage_is_a_slice_of_its_stored_document(tmp_path):
    kb = KnowledgeBase(tmp_path / "kb")
    report = kb.ingest_paths([SAMPLE_PATH, DATA / "notes.md", DATA / "page.html", DATA / "report.pdf",
                              DATA / "docs.jsonl", DATA / "policy.md", DATA / "latin1.txt", DATA / "search"])
    assert report.documents >= 10
    checked = 0
    for doc in kb.index.iter_documents():
        for p in kb.index.passages_of(doc["id"]):
            assert doc["text"][p["start"]:p["end"]] == p["text"], p["id"]
            checked += 1
    assert checked >= report.passages
    # the text as read stays for rebuilds and exports: a rebuild gives the same passages
    before = {p["id"]: p["text"] for p in kb.export()}
    kb.rebuild()
    assert {p["id"]: p["text"] for p in kb.export()} == before
    sample = next(d for d in kb.export_documents() if d["id"] == "science-diplomacy")
    assert sample["text"] == SAMPLE_PATH.read_text(encoding="utf-8") and "original" not in sample
    assert kb.search(SearchRequest(q="Lisbon")).total >= 1
