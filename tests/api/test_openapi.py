"""The OpenAPI document is complete (every route, parameter, answer and error), its examples are what
the API really answers on the sample, and /docs renders it without anything from elsewhere."""
from __future__ import annotations

import csv
import io
import json
import re

from api import examples

METHODS = {"get", "post", "put", "patch", "delete"}


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def test_every_route_and_method_is_documented(client, app):
    spec = client.get("/openapi.json").get_json()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
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
            if method == "get" and path not in ("/docs", "/openapi.json", "/api/v1/health"):
                assert "304" in codes, (method, path)
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
    example = examples.SEARCH
    assert live["total"] == example["total"] and live["facets"] == example["facets"]
    assert [h["id"] for h in live["hits"]] == [h["id"] for h in example["hits"]]
    assert {k: v for k, v in live["hits"][0].items() if k != "score"} == \
        {k: v for k, v in example["hits"][0].items() if k != "score"}
    for name, url in [("PASSAGE", "/api/v1/passages/science-diplomacy:2"),
                      ("SUGGEST", "/api/v1/suggest?q=diplom&limit=3"),
                      ("SIMILAR", "/api/v1/passages/science-diplomacy:1/similar?limit=1")]:
        answer = client.get(url).get_json()
        assert json.dumps(answer, sort_keys=True) == json.dumps(getattr(examples, name), sort_keys=True), name
    export = client.get("/api/v1/export?tag=covid-19").get_data(as_text=True)
    assert [json.loads(line) for line in export.splitlines()] == \
        [json.loads(line) for line in examples.EXPORT_JSONL.splitlines()]
    rows = list(csv.reader(io.StringIO(client.get("/api/v1/export?tag=covid-19&format=csv").get_data(as_text=True))))
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
