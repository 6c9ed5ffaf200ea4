"""Regenerate api/examples.json (read by api/examples.py) from the bundled sample corpus (run from the repo root:
``.venv/bin/python tools/make_api_examples.py``). tests/api/test_openapi.py checks that the examples
still agree with what the API answers on the sample."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from api import create_app
from kb.core import SAMPLE_PATH, KnowledgeBase

BASE = "http://127.0.0.1:5000"
OUT = Path(__file__).resolve().parent.parent / "api" / "examples.json"


def main() -> None:
    os.environ["KB_SEMANTIC"] = "0"   # the examples of the base install, as the tests run (tests/conftest.py)
    with tempfile.TemporaryDirectory() as home:
        KnowledgeBase(home).ingest_paths([SAMPLE_PATH])
        app = create_app({"KB_HOME": home, "KB_API_TOKEN": "s3cret-token-for-the-examples", "MAX_CONTENT_LENGTH": 4096})
        client = app.test_client()
        auth = {"Authorization": "Bearer s3cret-token-for-the-examples"}

        def get(url, **kw):
            response = client.get(url, base_url=BASE, **kw)
            return response.get_json() if response.is_json else response.get_data(as_text=True)

        values = {}
        search = get("/api/v1/search?q=public+health&limit=1")
        search["took_ms"] = 1.2
        values["SEARCH"] = search
        values["SEARCH_TEXT"] = get("/api/v1/search?q=public+health&limit=2&format=text")
        values["SEARCH_CSV"] = get("/api/v1/search?q=public+health&limit=2&format=csv")
        values["SEARCH_JSONL"] = get("/api/v1/search?q=public+health&limit=2&format=jsonl")
        values["EXPORT_JSONL"] = get("/api/v1/export?tag=covid-19")
        values["EXPORT_TEXT"] = get("/api/v1/export?tag=covid-19&format=text")
        values["EXPORT_CSV"] = get("/api/v1/export?tag=covid-19&format=csv")
        values["EXPORT_JSON"] = get("/api/v1/export?tag=covid-19&format=json")
        values["SUGGEST"] = get("/api/v1/suggest?q=diplom&limit=3")
        values["DOCUMENTS"] = get("/api/v1/documents")
        document = get("/api/v1/documents/science-diplomacy")
        document["text"] = document["text"][:400] + "…"
        document["passages"] = document["passages"][:1]
        values["DOCUMENT"] = document
        values["PASSAGE"] = get("/api/v1/passages/science-diplomacy:2")
        values["SIMILAR"] = get("/api/v1/passages/science-diplomacy:1/similar?limit=1")
        tags = get("/api/v1/tags")
        values["TAGS"] = {"tags": [t for t in tags["tags"] if t["tag"] in ("covid-19", "public-health")]}
        values["STATS"] = get("/api/v1/stats")
        new = {"id": "field-note-1", "title": "Field note",
               "text": "Vaccines were shipped to developing countries last spring, and public health "
                       "programs trained local scientists.",
               "tags": ["field-notes"], "source": "notebook", "authors": ["A. Researcher"], "date": "2024-05",
               "metadata": {"project": "vaccine logistics"}}
        values["NEW_DOCUMENT"] = new
        created = client.post("/api/v1/documents", json=new, headers=auth, base_url=BASE).get_json()
        values["CREATED"] = created
        bulk = "\n".join([
            json.dumps({"title": "Vaccine note",
                        "text": "Vaccines reached developing countries through WHO programs."}),
            "{not json",
            json.dumps({"title": "No text"}),
        ]) + "\n"
        values["BULK_BODY"] = bulk
        values["BULK_RESULT"] = client.post("/api/v1/documents/bulk", data=bulk, headers=auth,
                                            content_type="application/x-ndjson", base_url=BASE).get_json()
        errors = {
            400: client.get("/api/v1/search?q=%22open&syntax=query"),
            401: client.post("/api/v1/documents", json=new),
            403: None,
            404: client.get("/api/v1/passages/science-diplomacy:99"),
            406: client.get("/api/v1/search?q=health", headers={"Accept": "image/png"}),
            413: client.post("/api/v1/documents", data=b"x" * 5000, headers=auth, content_type="text/plain"),
            415: client.post("/api/v1/documents", data=b"x", headers=auth, content_type="image/png"),
            409: client.post("/api/v1/documents", json={**new, "text": "Another note.", "source": "another notebook"},
                             headers=auth),
            422: client.post("/api/v1/documents", json={"text": "No title"}, headers=auth),
        }
        values["ERRORS"] = {code: r.get_json() if r is not None else None for code, r in errors.items()}
        values["ERRORS"][403] = {"code": 403, "status": "Forbidden", "message": (
            "no API token is configured, so writes are accepted only from loopback; start kb serve with "
            "KB_API_TOKEN or --token-file to write from elsewhere")}
        values["ERRORS"][413]["message"] = values["ERRORS"][413]["message"].replace("4.0 KB", "25.0 MB").replace(
            "4.9 KB", "60.0 MB")
        values["ERRORS"][501] = {"code": 501, "status": "Not Implemented", "message": (
            "fuzzy terms ('diplomcy~') are not supported by the Sphinx backend: Sphinx has no edit-distance "
            "matching; use a prefix (word*) or GET /api/v1/suggest for a did-you-mean")}
        values["ERRORS"][503] = {"code": 503, "status": "Service Unavailable",
                                 "message": "another writer holds the index lock (waited 5 s)"}
    text = json.dumps(values, indent=1, ensure_ascii=False).replace(str(SAMPLE_PATH), "kb/data/science-diplomacy.txt")
    OUT.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
