"""Hypothesis-generated bad input for the readers: whatever the bytes, name or content type,
``read_bytes`` yields documents or ReadErrors and raises nothing but ReadError; every document it
yields is one kb can store (text, a valid id, JSON-safe metadata)."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.models import valid_document_id
from kb.readers import ReadError, ReadResult, read_bytes

NAMES = st.sampled_from(["", "a.txt", "b.md", "c.html", "d.pdf", "e.jsonl", "f.ndjson", "g.htm", "h.markdown",
                         "no-extension", "weird.TXT", "../../etc/passwd.md", "x\x00y.txt"])
CONTENT_TYPES = st.sampled_from(["", "text/plain", "text/markdown", "text/html", "application/pdf",
                                 "application/x-ndjson", "application/octet-stream", "text/html; charset=koi8-r",
                                 ";;;", "image/png"])
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
def jsonl(junk):
    return st.lists(
        st.one_of(
            json_values.map(json.dumps),
            st.fixed_dictionaries({"text": json_values}, optional={
                "id": json_values, "title": json_values, "tags": json_values, "metadata": json_values,
                "source": json_values}).map(json.dumps),
            junk),
        max_size=6).map(lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass"))


jsonl_lines = jsonl(st.text(max_size=40))
# junk lines without control characters: a file full of those is refused whole, as binary
readable_jsonl_lines = jsonl(st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40)).map(
    lambda data: data.replace(b"\x7f", b"\\u007f"))   # json.dumps leaves DEL raw; escaped it is the same JSON
front_matter = st.tuples(st.text(max_size=120), st.text(max_size=200)).map(
    lambda fb: f"---\n{fb[0]}\n---\n{fb[1]}".encode("utf-8", "surrogatepass"))
html = st.lists(st.sampled_from(["<html>", "<body>", "<p>", "</p>", "<h1>", "</h1>", "<script>", "</script>",
                                 "<nav>", "<!--", "-->", "<![CDATA[", "&amp;", "&#0;", "&#x110000;", "<table>",
                                 "<td>", "text about vaccines. ", "<meta charset='utf-7'>", "<br/>", "\x00"]),
                max_size=40).map(lambda parts: "".join(parts).encode("utf-8"))
pdf = st.binary(max_size=400).map(lambda b: b"%PDF-1.4\n" + b + b"\n%%EOF")
encoded = st.tuples(st.text(max_size=200), st.sampled_from(["utf-8", "utf-16", "utf-32", "latin-1", "cp1252",
                                                              "koi8-r", "shift_jis"])).map(
    lambda te: te[0].encode(te[1], "replace"))
ANY_BYTES = st.one_of(st.binary(max_size=600), jsonl_lines, front_matter, html, pdf, encoded)


def drain(data: bytes, name: str, ctype: str, title=None, doc_id=None) -> list:
    items = []
    try:
        for item in read_bytes(data, name, ctype, title=title, doc_id=doc_id):
            assert isinstance(item, (ReadResult, ReadError)), type(item)
            items.append(item)
    except ReadError as exc:      # a whole-file refusal: one line, says why
        assert str(exc) and "\n" not in str(exc)
        return [exc]
    for item in items:
        if isinstance(item, ReadResult):
            doc = item.document
            assert isinstance(doc.text, str) and doc.text.strip() and "\x00" not in doc.text
            assert valid_document_id(doc.id), doc.id
            json.dumps(doc.to_dict())   # storable as it is
    return items


@FUZZ
@given(data=ANY_BYTES, name=NAMES, ctype=CONTENT_TYPES)
def test_any_bytes_under_any_name_read_or_refuse_cleanly(data, name, ctype):
    drain(data, name, ctype)


@FUZZ
@given(data=ANY_BYTES, title=st.none() | st.text(max_size=300), doc_id=st.none() | st.text(max_size=300))
def test_stdin_overrides_of_title_and_id_stay_valid(data, title, doc_id):
    drain(data, "", "", title=title, doc_id=doc_id)


@settings(max_examples=60, deadline=None)
@given(lines=readable_jsonl_lines)
def test_a_bad_jsonl_line_is_one_error_and_the_rest_still_read(lines):
    good = json.dumps({"id": "good", "text": "A good line about vaccines."}).encode()
    items = drain(lines + b"\n" + good + b"\n", "batch.jsonl", "")
    assert any(isinstance(i, ReadResult) and i.document.id == "good" for i in items)
