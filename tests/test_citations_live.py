"""Citations end to end, on both engines: a folder of HTML pages (each meta vocabulary), JSON Lines
with extra keys, Markdown with front matter and a three-page PDF written by pypdf, ingested by the
real `kb ingest` and served by `kb serve`. Author, date and source filters against hand-counted
answers over HTTP and the CLI; hits, export lines and CSV that cite; year and author facets;
CSL-JSON (validated), BibTeX (parsed back) and RIS; uploads that set the citation fields."""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import bibtexparser
import jsonschema
import pytest

from helpers import DATA, KB_BIN
from helpers.pdfs import make_pdf
from helpers.servers import LiveServer, SphinxCluster

CSL_SCHEMA = json.loads((DATA / "csl" / "csl-data.json").read_text())
SCH, DC, NEWS = ("Rivers and Trust: Data Sharing between Riparian States", "Glacier Archives of the Andes",
                 "Seed vault opens to new partners")
LD, FISH = "Sharing Telescope Time across Borders", "Fisheries councils"
SAT, MEMO = "Satellite data pacts", "Undated memo"
PAPER, PDF = "Polar Stations and Shared Logistics", "Northern Lights Archive"
ALL = {SCH, DC, NEWS, LD, FISH, SAT, MEMO, PAPER, PDF}


def pdf_pages() -> list[list[str]]:
    sentence = ("Aurora stations record the northern lights for every partner institute and send nightly counts "
                "to the shared archive.")
    pages = []
    for n, marker in ((1, "Aurora"), (2, "Borealis"), (3, "Cumulus")):
        lines = [f"{marker} survey notes, part {n}."] + [sentence.replace("Aurora", marker)] * 14
        pages.append(["Journal of Test Reports Vol. 3"] + lines + [f"Page {n} of 3"])
    return pages


@pytest.fixture(scope="module", params=["whoosh", "sphinx"])
def served(request, tmp_path_factory):
    corpus = tmp_path_factory.mktemp("cite-corpus")
    (corpus / "web").mkdir()
    for path in (DATA / "citations").iterdir():
        shutil.copy(path, corpus / ("web" if path.suffix == ".html" else "") / path.name)
    (corpus / "report.pdf").write_bytes(make_pdf(pdf_pages(), {
        "/Title": PDF, "/Author": "Jane Roe; Ben Okafor", "/CreationDate": "D:20200115103000Z"}))
    cluster = None
    env = {"KB_BACKEND": "whoosh"}
    if request.param == "sphinx":
        cluster = SphinxCluster(tmp_path_factory.mktemp("cite-cluster"), shards=2, replicas=1)
        env = cluster.env
    home = tmp_path_factory.mktemp("cite-kb") / "kb"
    done = subprocess.run([str(KB_BIN), "ingest", str(corpus), "--home", str(home)], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)
    assert done.returncode == 0, done.stderr
    server = LiveServer(home, env=env)
    yield server, home, env, corpus
    server.stop()
    if cluster is not None:
        cluster.stop()


def kb(served, *args) -> subprocess.CompletedProcess:
    _, home, env, _ = served
    done = subprocess.run([str(KB_BIN), *map(str, args), "--home", str(home)], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def get(served, path, **params):
    r = served[0].get(path, params=params)
    assert r.status_code == 200, r.text
    return r


def cases(corpus: Path):
    return [({"author": "roe"}, {SCH, FISH, PAPER, PDF}),
            ({"author": "NÚÑEZ"}, {DC, PAPER}),
            ({"author": "muller"}, {SCH, SAT}),
            ({"author": ["roe", "okafor"]}, {SCH, FISH, PAPER, PDF, LD, SAT}),
            ({"author": "jane roe"}, {SCH, FISH, PAPER, PDF}),
            ({"author": "nobody"}, set()),
            ({"date_from": "2021"}, {SCH, NEWS, SAT}),
            ({"date_from": "2020-06", "date_to": "2021-06"}, {FISH, SCH}),
            ({"date_to": "2019"}, {DC, PAPER}),
            ({"author": "roe", "date_from": "2020"}, {SCH, FISH, PDF}),
            ({"source": f"{corpus}/web/"}, {SCH, DC, NEWS, LD}),
            ({"source": f"{corpus}/records.jsonl"}, {FISH, SAT, MEMO}),
            ({"q": "author:roe date:2020"}, {FISH, PDF}),
            ({"q": 'author:"Carlos Núñez" date:<=2018-12'}, {PAPER}),
            ({"q": "data author:muller"}, {SCH, SAT}),
            ({}, ALL)]


def test_filters_give_the_hand_counted_documents(served):
    for params, expected in cases(served[3]):
        body = get(served, "/api/v1/search", group_by="document", limit=100, **params).json()
        assert {h["document"]["title"] for h in body["hits"]} == expected, params
        assert body["total"] == len(expected), params
        if "q" in params:
            continue
        listed = get(served, "/api/v1/documents", **params).json()
        assert {d["title"] for d in listed["documents"]} == expected and listed["total"] == len(expected), params
        exported = [json.loads(line) for line in get(served, "/api/v1/export", **params).text.splitlines()]
        assert {p["document"]["title"] for p in exported} == expected, params


def test_filters_on_the_command_line(served):
    body = json.loads(kb(served, "search", "--author", "roe", "--group-by", "document", "--limit", "100",
                         "--json").stdout)
    assert {h["document"]["title"] for h in body["hits"]} == {SCH, FISH, PAPER, PDF}
    body = json.loads(kb(served, "search", "author:muller", "--json", "--group-by", "document").stdout)
    assert {h["document"]["title"] for h in body["hits"]} == {SCH, SAT}
    lines = kb(served, "export", "--date-from", "2020-06", "--date-to", "2021-06").stdout.splitlines()
    assert {json.loads(line)["document"]["title"] for line in lines} == {FISH, SCH}
    library = bibtexparser.parse_string(kb(served, "export", "--source", f"{served[3]}/web/", "--bibtex").stdout)
    assert not library.failed_blocks and len(library.entries) == 4
    bad = subprocess.run([str(KB_BIN), "search", "x", "--date-from", "soon", "--home", str(served[1])],
                         capture_output=True, text=True, env={**os.environ, **served[2]})
    assert bad.returncode == 1 and bad.stderr.strip().startswith("kb:") and "date_from" in bad.stderr


def test_hits_export_lines_and_csv_cite_their_document_and_page(served):
    body = get(served, "/api/v1/search", q="Borealis").json()
    assert body["hits"] and all(h["document"]["title"] == PDF for h in body["hits"])
    for hit in body["hits"]:
        assert hit["document"]["authors"] == ["Jane Roe", "Ben Okafor"] and hit["document"]["date"] == "2020-01-15"
        assert hit["document"]["source"].endswith("report.pdf")
        assert 2 in range(hit["page"], hit.get("page_end", hit["page"]) + 1)
    pdf_lines = [json.loads(line) for line in get(served, "/api/v1/export", author="okafor", date_to="2020-01").text
                 .splitlines()]
    assert pdf_lines[0]["page"] == 1 and max(p.get("page_end", p["page"]) for p in pdf_lines) == 3
    assert all("Journal of Test Reports" not in p["text"] + p["section"] for p in pdf_lines)
    hit = get(served, "/api/v1/search", q="riparian").json()["hits"][0]
    assert hit["document"] == {"id": hit["document_id"], "title": SCH, "authors": ["Jane Roe", "Zoë Müller"],
                               "date": "2021-03-04", "url": "https://journal.example.org/articles/rivers-and-trust",
                               "doi": "10.1234/sd.2021.001", "publisher": "Journal of Shared Waters",
                               "source": f"{served[3]}/web/scholarly.html"}
    assert "page" not in hit
    passage = get(served, f"/api/v1/passages/{hit['id']}").json()
    assert passage["document"] == hit["document"]
    rows = list(csv.DictReader(io.StringIO(get(served, "/api/v1/search", q="riparian", format="csv").text)))
    assert rows[0]["authors"] == "Jane Roe; Zoë Müller" and rows[0]["doi"] == "10.1234/sd.2021.001"
    assert rows[0]["date"] == "2021-03-04" and rows[0]["page"] == ""
    text = get(served, "/api/v1/search", q="Borealis", format="text").text
    assert "cite: Jane Roe; Ben Okafor (2020-01-15)" in text and ", p. " in text


def test_year_and_author_facets(served):
    pdf_passages = get(served, "/api/v1/search", author="okafor", date_to="2020-01", limit=1).json()["total"]
    others = get(served, "/api/v1/search", q="", limit=1, group_by="document").json()["total"]
    assert others == 9 and get(served, "/api/v1/search", limit=1).json()["total"] == 8 + pdf_passages
    facets = get(served, "/api/v1/search", limit=1).json()["facets"]
    assert facets["year"] == {"2018": 1, "2019": 1, "2020": 2 + pdf_passages, "2021": 2, "2022": 1}
    assert facets["author"]["Jane Roe"] == 3 + pdf_passages and facets["author"]["Ben Okafor"] == 2 + pdf_passages
    assert facets["author"]["Carlos Núñez"] == 2 and facets["author"]["Zoë Müller"] == 1
    assert facets["author"]["Zoe Muller"] == 1 and facets["author"]["Ana Pereira"] == 1
    filtered = get(served, "/api/v1/search", limit=1, author="muller").json()["facets"]
    assert filtered["year"] == {"2021": 2} and set(filtered["author"]) == {"Jane Roe", "Zoë Müller", "Zoe Muller",
                                                                           "Ben Okafor"}


def test_citation_formats_over_http(served):
    items = get(served, "/api/v1/search", author="roe", limit=100, format="csl").json()
    jsonschema.validate(items, CSL_SCHEMA)
    assert {i["title"] for i in items} == {SCH, FISH, PAPER, PDF}
    pdf = next(i for i in items if i["title"] == PDF)
    assert pdf["author"] == [{"family": "Roe", "given": "Jane"}, {"family": "Okafor", "given": "Ben"}]
    assert pdf["issued"] == {"date-parts": [[2020, 1, 15]]} and pdf["page"].startswith("1")
    r = served[0].get("/api/v1/export", params={"author": "muller"},
                      headers={"Accept": "application/vnd.citationstyles.csl+json"})
    assert r.headers["Content-Type"] == "application/vnd.citationstyles.csl+json"
    jsonschema.validate(r.json(), CSL_SCHEMA)
    assert {i["title"] for i in r.json()} == {SCH, SAT}
    bib = get(served, "/api/v1/documents", format="bibtex", date_to="2019").text
    library = bibtexparser.parse_string(bib)
    assert not library.failed_blocks and {e.fields_dict["title"].value for e in library.entries} == {DC, PAPER}
    paper = next(e for e in library.entries if e.fields_dict["title"].value == PAPER)
    assert paper.key == "roe2018polar" and paper.fields_dict["doi"].value == "10.1111/polar.2018.5"
    ris = get(served, "/api/v1/search", q="riparian", format="ris").text
    assert ris.startswith("TY  - JOUR\n") and "DO  - 10.1234/sd.2021.001\n" in ris and ris.count("ER  - ") == 1


def test_uploads_set_the_citation_fields(served):
    server = served[0]
    created = []
    try:
        r = server.request("POST", "/api/v1/documents", json={
            "id": "cite-json", "title": "Posted", "text": "Posted about glaciers and rivers.",
            "authors": ["Mia Lund"], "date": "2023-07", "doi": "https://doi.org/10.8888/post.1",
            "url": "https://e.org/p", "publisher": "Self", "metadata": {"k": 1}})
        assert r.status_code == 201, r.text
        created.append("cite-json")
        md = b"---\ntitle: Uploaded note\n---\nUploaded about glaciers.\n"
        r = server.request("POST", "/api/v1/documents", files={"file": ("note.md", md, "text/markdown")}, data={
            "id": "cite-multipart", "author": ["Mia Lund", "Ola Berg"], "date": "2023-08-09",
            "source": "https://e.org/note.md", "metadata": json.dumps({"batch": 3})})
        assert r.status_code == 201, r.text
        created.append("cite-multipart")
        r = server.request("POST", "/api/v1/documents", data="Raw text about glaciers.".encode(),
                           headers={"Content-Type": "text/plain"},
                           params={"id": "cite-raw", "authors": "Mia Lund; Per Holm", "date": "2023",
                                   "source": "stdin-feed", "doi": "10.8888/raw.2"})
        assert r.status_code == 201, r.text
        created.append("cite-raw")
        docs = {d["id"]: d for d in get(served, "/api/v1/documents", author="lund").json()["documents"]}
        assert set(docs) == {"cite-json", "cite-multipart", "cite-raw"}
        assert (docs["cite-json"]["doi"], docs["cite-json"]["metadata"]) == ("10.8888/post.1", {"k": 1})
        assert docs["cite-multipart"]["authors"] == ["Mia Lund", "Ola Berg"]
        assert docs["cite-multipart"]["source"] == "https://e.org/note.md"
        assert docs["cite-multipart"]["metadata"] == {"batch": 3} and docs["cite-multipart"]["date"] == "2023-08-09"
        assert (docs["cite-raw"]["source"], docs["cite-raw"]["authors"]) == ("stdin-feed", ["Mia Lund", "Per Holm"])
        bad = server.request("POST", "/api/v1/documents", json={"title": "t", "text": "x y", "date": "someday"})
        assert bad.status_code == 422 and bad.json()["message"].startswith("date:")
        bad = server.request("POST", "/api/v1/documents", data=b"text", headers={"Content-Type": "text/plain"},
                             params={"metadata": "[1, 2]"})
        assert bad.status_code == 422 and "metadata" in bad.json()["message"]
        bad = server.request("POST", "/api/v1/documents", json={"title": "t", "text": "x y",
                                                                "metadata": {"big": "x" * 70_000}})
        assert bad.status_code == 422 and bad.json()["message"].startswith("metadata:")
    finally:
        for doc_id in created:
            server.request("DELETE", f"/api/v1/documents/{doc_id}")
