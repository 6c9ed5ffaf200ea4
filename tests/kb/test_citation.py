"""The citation record: what each reader finds (HTML vocabularies, PDF info dictionary and XMP with
pages, front matter, JSON Lines top-level keys), how values are normalised and bounded, the
metadata filters and the query fields, and the citation formats parsed back by real parsers."""
from __future__ import annotations

import json
from pathlib import Path

import bibtexparser
import jsonschema
import pytest

from helpers.pdfs import make_pdf
from index import QueryError, SearchRequest
from kb.citation import (
    author_matches,
    date_interval,
    from_mapping,
    normalize_authors,
    normalize_date,
    normalize_doi,
    page_span,
)
from kb.citation_formats import render_citations
from kb.limits import OverLimit
from kb.metadata_filters import MetadataFilters, split_query
from kb.models import Document, InvalidDocument
from kb.readers import read_bytes, read_path

METADATA_MAX_BYTES = 64 * 1024   # KB_MAX_METADATA's default

DATA = Path(__file__).parent.parent / "data"
CITATIONS = DATA / "citations"
CSL_SCHEMA = json.loads((DATA / "csl" / "csl-data.json").read_text())


def doc_of(path: Path) -> Document:
    [result] = list(read_path(path))
    return result.document


# ------------------------------------------------------------------------------------ normalising

@pytest.mark.parametrize("given, expected", [
    ("2021", "2021"), (2021, "2021"), ("2021-3", "2021-03"), ("2021/03/04", "2021-03-04"),
    ("2021-03-04T10:00:00Z", "2021-03-04T10:00:00+00:00"), ("D:20200115103000Z", "2020-01-15"),
    ("D:2019", "2019"), ("4 March 2021", "2021-03-04"), ("March 4, 2021", "2021-03-04"),
    ("2021-02-30", "2021"), ("soon", ""), (True, ""), (None, "")])
def test_dates_keep_the_precision_of_the_source(given, expected):
    assert normalize_date(given) == expected


def test_date_intervals_cover_partial_dates():
    assert date_interval("2020") == ("2020-01-01", "2020-12-31")
    assert date_interval("2024-02") == ("2024-02-01", "2024-02-29")
    assert date_interval("2021-12") == ("2021-12-01", "2021-12-31")
    assert date_interval("2021-03-04T10:00:00+00:00") == ("2021-03-04", "2021-03-04")
    assert date_interval("") is None
    assert date_interval("0000-05") == ("0000-05-01", "0000-05-31")


def test_authors_dois_and_the_mapping_of_usual_keys():
    assert normalize_authors("Jane Roe; Ben Okafor") == ["Jane Roe", "Ben Okafor"]
    assert normalize_authors("Jane Roe and Ben Okafor") == ["Jane Roe", "Ben Okafor"]
    assert normalize_authors([{"given": "Jane", "family": "Roe"}, {"name": "Ben Okafor"}, "Jane Roe"]) == \
        ["Jane Roe", "Ben Okafor"]
    assert normalize_doi("https://doi.org/10.1234/ab.c-1.") == "10.1234/ab.c-1"
    assert normalize_doi("doi:10.5555/x") == "10.5555/x" and normalize_doi("not a doi") == ""
    record, rest = from_mapping({"Author": "Jane Roe", "year": 2020, "DOI": "10.1000/x", "doi2": "y",
                                 "journal": "J", "date": "never", "url": "https://e.org"})
    assert record == {"authors": ["Jane Roe"], "date": "2020", "doi": "10.1000/x", "publisher": "J",
                      "url": "https://e.org"}
    assert rest == {"doi2": "y", "date": "never"}   # not a date: kept, never dropped


def test_author_match_ignores_case_accents_and_order():
    names = ["Zoë Müller", "Roe, Jane"]
    assert author_matches("muller", names) and author_matches("ZOE", names)
    assert author_matches("jane roe", names) and author_matches("Roe", names)
    assert not author_matches("jan", names) and not author_matches("", names)


def test_page_spans():
    starts = [0, 100, 250]
    assert page_span(starts, 0, 50) == (1, None)
    assert page_span(starts, 90, 120) == (1, 2)
    assert page_span(starts, 100, 250) == (2, None)
    assert page_span(starts, 240, 400) == (2, 3)
    assert page_span(None, 0, 10) == (None, None)


def test_metadata_limits_and_bad_fields_are_refused_with_the_field():
    deep: dict = {}
    node = deep
    for _ in range(40):
        node["x"] = {}
        node = node["x"]
    with pytest.raises(OverLimit, match="^metadata: nested deeper than 32 levels"):   # kb.limits: one place
        Document(id="d", title="t", text="x", metadata=deep).validate()
    with pytest.raises(OverLimit, match="^metadata: .* bytes of JSON; the limit is 65,536 .KB_MAX_METADATA."):
        Document(id="d", title="t", text="x", metadata={"blob": "x" * METADATA_MAX_BYTES}).validate()
    with pytest.raises(InvalidDocument, match="^metadata: must be an object"):
        Document(id="d", title="t", text="x", metadata=["a list"]).validate()
    with pytest.raises(InvalidDocument, match="^date: "):
        Document(id="d", title="t", text="x", date="yesterday").validate()
    with pytest.raises(InvalidDocument, match="^doi: "):
        Document(id="d", title="t", text="x", doi="10.x").validate()
    big = "---\nnote: " + "y" * (METADATA_MAX_BYTES + 10) + "\n---\nSome text here.\n"
    [result] = list(read_bytes(big.encode(), "big.md"))
    with pytest.raises(OverLimit, match="^metadata: "):
        result.document.validate()


# ------------------------------------------------------------------------------------ readers

def test_html_highwire_tags_win_over_dublin_core_and_open_graph():
    doc = doc_of(CITATIONS / "scholarly.html")
    assert doc.title == "Rivers and Trust: Data Sharing between Riparian States"
    assert doc.authors == ["Jane Roe", "Zoë Müller"]
    assert (doc.date, doc.doi, doc.publisher) == ("2021-03-04", "10.1234/sd.2021.001", "Journal of Shared Waters")
    assert doc.url == "https://journal.example.org/articles/rivers-and-trust"
    assert doc.metadata == {"description": "How shared river data builds trust.", "keywords": "hydrology; diplomacy",
                            "volume": "12", "lang": "en"}


def test_html_dublin_core_open_graph_author_and_json_ld():
    dc = doc_of(CITATIONS / "dublin-core.html")
    assert (dc.title, dc.authors, dc.date, dc.doi, dc.publisher) == (
        "Glacier Archives of the Andes", ["Carlos Núñez"], "2019-06", "10.5555/dc.2019.7", "Andean Science Press")
    assert dc.metadata["description"] == "Ice cores as a shared record." and dc.metadata["lang"] == "es"
    news = doc_of(CITATIONS / "news.html")
    assert (news.title, news.authors, news.date, news.publisher, news.url) == (
        "Seed vault opens to new partners", ["Ana Pereira"], "2022-05-06T08:30:00+00:00", "The Daily Ledger",
        "https://ledger.example.com/2022/05/seed-vault")
    ld = doc_of(CITATIONS / "jsonld.html")
    assert (ld.title, ld.authors, ld.date, ld.doi, ld.publisher, ld.url) == (
        "Sharing Telescope Time across Borders", ["Ben Okafor"], "2020-02-10", "10.4321/jsonld.42", "Sky Notes Press",
        "https://skynotes.example.net/telescope-time")
    assert ld.metadata["json_ld_type"] == "ScholarlyArticle"


def test_front_matter_and_json_lines_fill_the_record_and_keep_the_rest():
    paper = doc_of(CITATIONS / "paper.md")
    assert (paper.authors, paper.date, paper.doi, paper.url, paper.publisher) == (
        ["Jane Roe", "Carlos Núñez"], "2018-09-01", "10.1111/polar.2018.5", "https://polar.example.org/stations",
        "Polar Letters")
    assert paper.metadata == {"project": "ice-logistics", "reviewers": ["A", "B"]}
    docs = {r.document.id: r.document for r in read_path(CITATIONS / "records.jsonl")}
    fish, sat, memo = docs["rec-fisheries"], docs["rec-satellites"], docs["rec-undated"]
    assert (fish.authors, fish.date, fish.url, fish.publisher) == (
        ["Jane Roe"], "2020", "https://example.org/fisheries", "Ocean Policy Notes")
    assert fish.metadata == {"volume": 7, "reviewed": True}
    assert (sat.authors, sat.date, sat.doi, sat.publisher) == (
        ["Zoe Muller", "Ben Okafor"], "2021-11", "10.7777/sat.2021.3", "Orbit Institute")
    assert sat.metadata == {"funding": {"agency": "ESA", "grant": "X-1"}}
    assert memo.metadata == {"keywords": ["vessels", "register"]} and memo.authors == [] and memo.date == ""


def report_pages() -> list[list[str]]:
    """Three pages under a running header and a page footer; a sentence runs from page 1 onto 2."""
    body = {1: ["Aurora stations record the northern lights for every partner institute.",
                "Each observatory sends its nightly counts to a shared archive that"],
            2: ["all members read. Borealis surveys then compare the counts across seasons.",
                "The second page closes with a complete sentence."],
            3: ["Cumulus clouds hide the sky on many nights, and the third page says so."]}
    return [["Journal of Test Reports Vol. 3"] + body[n] + [f"Page {n} of 3"] for n in (1, 2, 3)]


def test_pdf_info_dictionary_xmp_and_pages():
    info = {"/Title": "Northern Lights Archive", "/Author": "Jane Roe; Ben Okafor",
            "/CreationDate": "D:20200115103000Z", "/Subject": "doi:10.9999/pdf.1", "/Keywords": "aurora, archive"}
    [result] = list(read_bytes(make_pdf(report_pages(), info), "report.pdf"))
    doc = result.document
    assert (doc.title, doc.authors, doc.date, doc.doi) == (
        "Northern Lights Archive", ["Jane Roe", "Ben Okafor"], "2020-01-15", "10.9999/pdf.1")
    assert doc.metadata == {"pages": 3, "subject": "doi:10.9999/pdf.1", "keywords": "aurora, archive"}
    assert "Journal of Test Reports" not in doc.text and "Page 2" not in doc.text
    assert len(doc.page_starts) == 3 and doc.page_starts[0] == 0
    for n, marker in ((1, "Aurora"), (2, "Borealis"), (3, "Cumulus")):
        at = doc.text.index(marker)
        assert page_span(doc.page_starts, at, at + 1) == (n, None)
    # no info dictionary: the XMP packet says who and when
    xmp = {"title": "From XMP", "creators": ["Ann Xmp"], "publisher": "Xmp Press", "date": "2019-05-06T10:00:00Z"}
    [result] = list(read_bytes(make_pdf(report_pages(), None, xmp), "x.pdf"))
    doc = result.document
    assert (doc.title, doc.authors, doc.date, doc.publisher) == (
        "From XMP", ["Ann Xmp"], "2019-05-06T10:00:00", "Xmp Press")


def test_pdf_passages_carry_their_pages_and_no_running_header(kb):
    [result] = list(read_bytes(make_pdf(report_pages(), {"/Title": "Pages"}), "pages.pdf"))
    kb.ingest([result])
    passages = list(kb.export(metadata=MetadataFilters(source="pages.pdf")))
    assert passages and all("Journal of Test Reports" not in p["text"] + p["section"] for p in passages)
    for p in passages:
        pages = set(range(p["page"], p.get("page_end", p["page"]) + 1))
        for n, marker in ((1, "Aurora"), (2, "Borealis"), (3, "Cumulus")):
            if marker in p["text"]:
                assert n in pages, (p["text"], pages)
    assert passages[0]["page"] == 1 and max(p.get("page_end", p["page"]) for p in passages) == 3


def test_alternating_running_headers_are_neither_text_nor_sections(kb):
    """A journal's name on even pages and the article's short title on odd ones: each on half the pages."""
    pages = []
    for n in range(1, 7):
        header = "Journal of Reproducible Tests" if n % 2 == 0 else "Alternating Headers Study"
        body = [f"Section {n} reports measurements from station {n} in full sentences for the archive."] * 6
        pages.append([header] + body + [str(n)])
    [result] = list(read_bytes(make_pdf(pages, {"/Title": "Alternating"}), "alternating.pdf"))
    assert "Journal of Reproducible" not in result.document.text and "Alternating Headers" not in result.document.text
    kb.ingest([result])
    passages = list(kb.export(metadata=MetadataFilters(source="alternating.pdf")))
    assert passages and not any("Journal of" in p["section"] + p["text"] or "Alternating" in p["section"]
                                for p in passages)
    assert [p.get("page") for p in passages][0] == 1 and max(p.get("page_end", p["page"]) for p in passages) == 6


def test_a_document_stored_before_citation_records_still_cites(kb):
    """A record as older kb versions wrote it (no authors/date/url fields) is read, filtered and cited
    from what its metadata held; no rebuild is needed to read it."""
    old = {"id": "old-doc", "title": "Old", "text": "Glacial lakes are monitored jointly.", "source": "old.md",
           "tags": [], "metadata": {"author": "Ada Old", "url": "https://old.example/doc"},
           "ingested_at": "2024-01-01T00:00:00+00:00"}
    passage = {"id": "old-doc:1", "document_id": "old-doc", "ordinal": 1, "section": "", "text": old["text"],
               "start": 0, "end": len(old["text"]), "tags": [], "keywords": [], "evidence": []}
    kb.index.replace_documents([(old, [passage])])
    hit = kb.search(SearchRequest(q="glacial")).hits[0]
    assert hit["document"]["authors"] == ["Ada Old"] and hit["document"]["url"] == "https://old.example/doc"
    assert hit["document"]["date"] == "" and "page" not in hit
    assert [h["id"] for h in kb.search(SearchRequest(q="glacial"), metadata=MetadataFilters(("old",))).hits] == \
        ["old-doc:1"]


def test_reading_a_pdf_without_metadata_still_titles_from_text():
    [result] = list(read_bytes(make_pdf(report_pages()), "bare.pdf"))
    assert result.document.title.startswith("Aurora stations") and result.document.authors == []


def test_a_pdf_without_a_title_in_its_metadata_is_titled_by_its_largest_type():
    """As LaTeX output often is: no /Title, the title set large on page 1 and repeated as the running
    header of every page (so the text, which drops running lines, does not start with it)."""
    title = "Aurora Station Survey"
    pages = [[(title, 24), "Northern Institute (http://example.org)", "A. Researcher"] + report_pages()[0][1:-1],
             [title] + report_pages()[1][1:-1], [title] + report_pages()[2][1:-1]]
    [result] = list(read_bytes(make_pdf(pages), "survey.pdf"))
    assert result.document.title == title
    [plain] = list(read_bytes(make_pdf([[title] + p[1:] for p in pages[1:]]), "plain.pdf"))
    assert plain.document.title != title   # one size of type: nothing stands out, the first line of the text


# ------------------------------------------------------------------------------------ query fields

def test_query_fields_become_filters():
    assert split_query("water author:roe", "query") == ("water", MetadataFilters(authors=("roe",)))
    q, f = split_query('author:"Jane Roe" water date:>=2020-01 source:https://e.org/x', "query")
    assert q == "water" and f == MetadataFilters(("Jane Roe",), "2020-01", "", "https://e.org/x")
    assert split_query("date:2019..2021", "auto")[1] == MetadataFilters(date_from="2019", date_to="2021")
    assert split_query("year:2020 rivers", "query")[1] == MetadataFilters(date_from="2020", date_to="2020")
    assert split_query("author:roe", "words") == ("author:roe", MetadataFilters())
    for bad in ("water -author:roe", "water NOT author:roe", "(water author:roe)"):
        with pytest.raises(QueryError, match="filter on the whole query"):
            split_query(bad, "query")
    for bad in ("date:>=last-year", "date:2020-13", "date:<=2021-02-32", "date:2020-1"):
        with pytest.raises(QueryError, match="not an ISO date"):
            split_query(bad, "query")
    with pytest.raises(QueryError, match="use >= or <="):
        split_query("date:>2020", "query")


# ------------------------------------------------------------------------------------ formats

HITS = [
    {"id": "a:1", "document_id": "a", "text": "First {braced} 50% & more_text #1 $5 ~ ^ \\ end.", "page": 2,
     "page_end": 3, "document": {"id": "a", "title": "Rivers & Trust: 100% {Data}", "authors": ["Jane Roe",
                                 "Zoë Müller", "World Health Organization Regional Office"],
                                 "date": "2021-03-04", "url": "https://e.org/a?x=1&y=2", "doi": "10.1234/a_b",
                                 "publisher": "J. Waters", "source": "a.html"}},
    {"id": "b:2", "document_id": "b", "text": "Second passage.",
     "document": {"id": "b", "title": "Rivers", "authors": ["Jane Roe"], "date": "2021", "url": "", "doi": "",
                  "publisher": "", "source": "b.md"}},
    {"id": "a:4", "document_id": "a", "text": "Another of a.", "page": 5, "document": {"id": "a", "title": "x",
                                                                                      "authors": [], "date": ""}},
]


def test_csl_json_is_valid_and_one_item_per_document():
    items = json.loads("".join(render_citations(HITS, "csl")))
    jsonschema.validate(items, CSL_SCHEMA)
    assert len({i["id"] for i in items}) == 2 and all(i["id"].startswith("roe2021rivers-") for i in items)
    first = items[0]
    assert first["author"][:2] == [{"family": "Roe", "given": "Jane"}, {"family": "Müller", "given": "Zoë"}]
    assert first["author"][2] == {"literal": "World Health Organization Regional Office"}
    assert first["issued"] == {"date-parts": [[2021, 3, 4]]} and first["DOI"] == "10.1234/a_b"
    assert first["page"] == first["locator"] == "2-5" and first["note"].startswith("[a:1] First")
    assert "[a:4] Another of a." in first["note"] and first["type"] == "article-journal"
    assert first["container-title"] == "J. Waters"
    assert items[1]["issued"] == {"date-parts": [[2021]]} and "page" not in items[1]


def test_bibtex_parses_back_with_its_specials_escaped():
    text = "".join(render_citations(HITS, "bibtex"))
    library = bibtexparser.parse_string(text)
    assert not library.failed_blocks
    entries = library.entries
    assert len(entries) == 2 and entries[0].entry_type == "article" and entries[1].entry_type == "misc"
    keys = [e.key for e in entries]
    assert len(set(keys)) == 2 and all(k.startswith("roe2021rivers") for k in keys)   # same base: disambiguated
    a = entries[0].fields_dict
    assert a["title"].value == r"Rivers \& Trust: 100\% \{Data\}"
    assert a["author"].value == r"Roe, Jane and Müller, Zoë and {World Health Organization Regional Office}"
    assert a["doi"].value == "10.1234/a_b" and a["pages"].value == "2--5" and a["year"].value == "2021"
    assert r"\{braced\} 50\% \& more\_text \#1 \$5 \textasciitilde{} \textasciicircum{} \textbackslash{} end." in \
        a["note"].value
    # stable: the same hits give the same keys
    assert [e.key for e in bibtexparser.parse_string("".join(render_citations(HITS, "bibtex"))).entries] == keys


def test_ris_entries():
    text = "".join(render_citations(HITS, "ris"))
    records = [block for block in text.split("ER  - \n") if block.strip()]
    assert len(records) == 2
    lines = records[0].strip().splitlines()
    assert lines[0] == "TY  - JOUR" and "AU  - Roe, Jane" in lines and "AU  - Müller, Zoë" in lines
    assert "DA  - 2021/03/04/" in lines and "DO  - 10.1234/a_b" in lines and "SP  - 2" in lines
    assert "EP  - 5" in lines and sum(line.startswith("N1  - ") for line in lines) == 2
    assert all(line[2:6] == "  - " for line in lines)


def test_documents_render_as_citations_without_notes():
    docs = [{"id": "d", "title": "Doc", "authors": ["Ana Pereira"], "date": "2022-05", "source": "https://x.org/d",
             "metadata": {}}]
    [item] = json.loads("".join(render_citations(docs, "csl")))
    jsonschema.validate([item], CSL_SCHEMA)
    assert item["URL"] == "https://x.org/d" and "note" not in item and item["type"] == "webpage"
