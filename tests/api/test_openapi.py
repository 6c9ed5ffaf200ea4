"""The OpenAPI document is complete (every route, parameter, answer and error), its examples are what
the API really answers on the sample, and /docs renders it without anything from elsewhere."""
from __future__ import annotations

import csv
import io
import json
import re

from api import examples
from kb.core import SAMPLE_PATH

METHODS = {"get", "post", "put", "patch", "delete"}


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


HTML_PAGES = ("/", "/passage/<path:passage_id>", "/docs")


def test_every_route_and_method_is_documented(client, app):
    spec = client.get("/openapi.json").get_json()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        if rule.rule in HTML_PAGES:   # pages for people are not API: out of the document
            assert openapi_path(rule.rule) not in spec["paths"], rule.rule
            continue
        path = openapi_path(rule.rule)
        assert path in spec["paths"], path
        for method in (rule.methods or set()) & {m.upper() for m in METHODS}:
            assert method.lower() in spec["paths"][path], (method, path)


def test_every_operation_documents_its_answers_and_errors(client):
    spec = client.get("/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    assert {"Error", "Hit", "SearchResponse", "DocumentInput", "DocumentCreated", "BulkResult"} <= set(schemas)
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            codes = set(op["responses"])
            assert op.get("summary"), (method, path)
            assert codes & {"200", "201", "204"}, (method, path)
            for code, response in op["responses"].items():
                if code.startswith(("4", "5")) and "content" in response:
                    content = response["content"]["application/json"]
                    assert content["schema"] == {"$ref": "#/components/schemas/Error"}
                    assert content["example"]["code"] == int(code)
            if path.startswith("/api/v1/") and path != "/api/v1/health":
                assert "401" in codes, (method, path)
            if method == "get" and path not in ("/docs", "/openapi.json", "/api/v1/health", "/api/v1/jobs/{job_id}"):
                assert "304" in codes, (method, path)   # a job's state changes between commits: never a 304
            reads = ("/api/v1/search", "/api/v1/eval")   # POSTs that only read
            if method in ("post", "put", "delete") and path not in reads:
                assert op["security"] == [{"bearerAuth": []}] and "403" in codes, (method, path)
            if method in ("post", "put") and path not in reads:
                assert {"400", "413", "422"} <= codes or path.endswith("/bulk"), (method, path)
            for param in op.get("parameters", []):
                assert param.get("schema"), (method, path, param)
    search = spec["paths"]["/api/v1/search"]["get"]
    assert {"application/json", "text/plain", "text/csv", "application/x-ndjson"} <= set(
        search["responses"]["200"]["content"])
    assert {p["name"] for p in search["parameters"]} >= {"q", "tag", "any_tag", "not_tag", "document", "limit",
                                                        "offset", "group_by", "highlight", "sort", "format", "color"}
    post = spec["paths"]["/api/v1/documents"]["post"]
    assert {"application/json", "multipart/form-data"} <= set(post["requestBody"]["content"])
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_examples_are_what_the_api_answers_on_the_sample(client):
    live = client.get("/api/v1/search?q=public+health&limit=1").get_json()
    for hit in live["hits"]:   # the examples name the sample by its path in the repository
        hit["document"]["source"] = hit["document"]["source"].replace(str(SAMPLE_PATH), "kb/data/science-diplomacy.txt")
    example = examples.SEARCH
    assert live["total"] == example["total"] and live["facets"] == example["facets"]
    assert [h["id"] for h in live["hits"]] == [h["id"] for h in example["hits"]]
    assert {k: v for k, v in live["hits"][0].items() if k != "score"} == \
        {k: v for k, v in example["hits"][0].items() if k != "score"}
    for name, url in [("PASSAGE", "/api/v1/passages/science-diplomacy:2"),
                      ("SUGGEST", "/api/v1/suggest?q=diplom&limit=3"),
                      ("SIMILAR", "/api/v1/passages/science-diplomacy:1/similar?limit=1")]:
        answer = json.loads(json.dumps(client.get(url).get_json()).replace(
            str(SAMPLE_PATH), "kb/data/science-diplomacy.txt"))
        assert json.dumps(answer, sort_keys=True) == json.dumps(getattr(examples, name), sort_keys=True), name
    export = client.get("/api/v1/export?tag=covid-19").get_data(as_text=True).replace(
        str(SAMPLE_PATH), "kb/data/science-diplomacy.txt")
    assert [json.loads(line) for line in export.splitlines()] == \
        [json.loads(line) for line in examples.EXPORT_JSONL.splitlines()]
    rows = list(csv.reader(io.StringIO(client.get("/api/v1/export?tag=covid-19&format=csv").get_data(
        as_text=True).replace(str(SAMPLE_PATH), "kb/data/science-diplomacy.txt"))))
    assert rows == list(csv.reader(io.StringIO(examples.EXPORT_CSV)))
    document = client.get("/api/v1/documents/science-diplomacy").get_json()
    assert document["text"].startswith(examples.DOCUMENT["text"].rstrip("…"))
    assert document["passages"][0] == examples.DOCUMENT["passages"][0]
    tags = {t["tag"]: t for t in client.get("/api/v1/tags").get_json()["tags"]}
    assert all(tags[t["tag"]] == t for t in examples.TAGS["tags"])
    stats = client.get("/api/v1/stats").get_json()
    assert {k: stats[k] for k in ("documents", "passages", "tags")} == \
        {k: examples.STATS[k] for k in ("documents", "passages", "tags")}
    assert examples.ERRORS[400] == client.get("/api/v1/search?q=%22open&syntax=query").get_json()
    assert examples.ERRORS[404] == client.get("/api/v1/passages/science-diplomacy:99").get_json()


def test_docs_page_renders_the_spec_without_external_assets(client):
    r = client.get("/docs")
    assert r.status_code == 200 and r.mimetype == "text/html"
    page = r.get_data(as_text=True)
    spec = client.get("/openapi.json").get_json()
    for path in spec["paths"]:
        assert f"<code>{path}</code>" in page, path
    assert "<script" not in page
    assert not re.findall(r"""(?:src|href)=["']?(?:https?:)?//""", page)
    assert examples.SEARCH["hits"][0]["id"] in page  # examples from the sample are shown
    assert r.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_the_document_is_clean_for_client_generators(client):
    """What openapi-python-client trips on (tests/api/test_generated_client.py generates one)."""
    spec = client.get("/openapi.json").get_json()
    ids = [op.get("operationId") for item in spec["paths"].values() for m, op in item.items() if m in METHODS]
    assert all(ids) and len(ids) == len(set(ids)), ids
    assert {"search", "searchPost", "export", "getPassage", "listDocuments", "createDocument", "deleteDocument",
            "similarPassages", "suggest", "listTags", "stats", "health"} <= set(ids)
    found_enums = []

    def walk(node):
        if isinstance(node, dict):
            if "enum" in node:
                found_enums.append(node["enum"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(spec)
    assert found_enums and all(None not in enum for enum in found_enums), found_enums
    schemas = spec["components"]["schemas"]
    assert schemas["DocumentSummary"]["properties"]["ingested_at"]["format"] == "date-time"
    assert {"id", "text", "tags", "document", "score"} <= set(schemas["Hit"]["required"])
    assert {"total", "hits", "facets", "next", "notice"} <= set(schemas["SearchResponse"]["required"])
    # fields= may leave any field of a search hit or an export line out, but id
    assert schemas["SearchHit"]["required"] == schemas["ExportedPassage"]["required"] == ["id"]
    assert set(schemas["SearchHit"]["properties"]) == set(schemas["Hit"]["properties"])
    for path, method in (("/api/v1/documents", "post"), ("/api/v1/documents/{document_id}", "put"),
                         ("/api/v1/documents/bulk", "post")):
        content = spec["paths"][path][method]["requestBody"]["content"]
        assert set(content) <= {"application/json", "multipart/form-data", "application/octet-stream"}, content


def test_every_export_line_matches_its_schema(client):
    from helpers.answers import check_answer
    spec = client.get("/openapi.json").get_json()
    body = client.get("/api/v1/export").get_data(as_text=True)
    assert body.count("\n") >= 5 and check_answer(spec, "GET", "/api/v1/export", body) == "application/x-ndjson"
    for url in ("/api/v1/search?q=health&highlight=false", "/api/v1/passages/science-diplomacy:2",
                "/api/v1/documents/science-diplomacy", "/api/v1/documents", "/api/v1/stats", "/api/v1/tags",
                "/api/v1/suggest?q=dipl", "/api/v1/passages/science-diplomacy:1/similar",
                "/api/v1/search?q=%22open&syntax=query", "/api/v1/search?limt=1"):
        path = url.split("?")[0]
        assert check_answer(spec, "GET", path, client.get(url).get_data(as_text=True)) == "application/json", url


def test_the_fields_that_fields_takes_are_the_schemas_fields():
    """kb.output names what fields= keeps (the CLI cannot import api): the same names as the schemas."""
    from api.schemas import ExportedPassageSchema, SearchHitSchema
    from kb.output import EXPORT_FIELDS, HIT_FIELDS
    assert sorted(HIT_FIELDS) == sorted(SearchHitSchema().fields)
    assert sorted(EXPORT_FIELDS) == sorted(ExportedPassageSchema().fields)


def test_narrowed_answers_match_their_schemas(client):
    from helpers.answers import check_answer
    spec = client.get("/openapi.json").get_json()
    for url in ("/api/v1/search?q=health&fields=text,document", "/api/v1/search?q=health&fields=id",
                "/api/v1/export?fields=text&format=json", "/api/v1/export?fields=tags,page"):
        body = client.get(url).get_data(as_text=True)
        assert '"text"' in body or "fields=text" not in url
        assert check_answer(spec, "GET", url.split("?")[0], body) in ("application/json", "application/x-ndjson"), url
