"""The OpenAPI document makes a clean client: openapi-python-client (the test extra) generates one
from a live `kb serve`'s /openapi.json without a warning, and the generated code, unpatched, searches
with filters, pages, reads a passage, posts, uploads and deletes a document over real HTTP."""
from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from helpers import API_TOKEN
from helpers.servers import LiveServer

GENERATOR = Path(sys.executable).parent / "openapi-python-client"


@pytest.fixture(scope="module")
def served(sample_home, tmp_path_factory):
    home = tmp_path_factory.mktemp("client-kb") / "kb"
    shutil.copytree(sample_home, home)
    server = LiveServer(home, env={"KB_API_TOKEN": API_TOKEN}, workers=1)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def kb_client(served, tmp_path_factory):
    """The client package generated from the server's own document, imported as generated."""
    if not GENERATOR.exists():
        pytest.fail("openapi-python-client is not installed: pip install -e '.[test]'")
    where = tmp_path_factory.mktemp("generated")
    spec = where / "openapi.json"
    spec.write_text(requests.get(served.url + "/openapi.json", timeout=30).text, encoding="utf-8")
    proc = subprocess.run([str(GENERATOR), "generate", "--path", str(spec), "--meta", "none",
                           "--output-path", str(where / "kb_client")], cwd=where, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PATH": f"{GENERATOR.parent}:{os.environ.get('PATH', '')}"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Warning" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    sys.path.insert(0, str(where))
    try:
        yield importlib.import_module("kb_client")
    finally:
        sys.path.remove(str(where))
        for name in [m for m in sys.modules if m == "kb_client" or m.startswith("kb_client.")]:
            del sys.modules[name]


def test_the_generated_client_names_operations_as_the_api_does(kb_client):
    from kb_client.api.documents import create_document, delete_document, list_documents  # noqa: F401
    from kb_client.api.resources import get_passage, similar_passages  # noqa: F401
    from kb_client.api.search import export, search, search_post, suggest  # noqa: F401
    from kb_client.models import SearchMode
    assert sorted(m.value for m in SearchMode) == ["hybrid", "lexical", "semantic"]   # no null member


def test_the_generated_client_searches_filters_and_pages(kb_client, served):
    from kb_client import Client
    from kb_client.api.search import search, search_post
    from kb_client.models import SearchBody, SearchResponse
    client = Client(base_url=served.url, raise_on_unexpected_status=True)
    first = search.sync(client=client, q="science", limit=2)
    assert isinstance(first, SearchResponse) and first.total >= 3 and len(first.hits) == 2
    assert first.offset == 0 and first.next_ and first.prev is None
    second = search.sync(client=client, q="science", limit=2, offset=2)
    assert not {h.id for h in first.hits} & {h.id for h in second.hits} and second.prev
    filtered = search.sync(client=client, q="health", tag=["covid-19"])
    assert filtered.total >= 1 and all("covid-19" in h.tags for h in filtered.hits)
    assert filtered.hits[0].document.title.startswith("Build science diplomacy")
    assert filtered.facets.additional_properties["tags"]["covid-19"] == filtered.total
    body = search_post.sync(client=client, body=SearchBody(q="health", tag=["covid-19"]))
    assert [h.id for h in body.hits] == [h.id for h in filtered.hits]
    nothing = search.sync(client=client, tag=["nosuch"])
    assert nothing.total == 0 and nothing.notice == "no passage has the tag 'nosuch'"


def test_the_generated_client_reads_a_passage_and_similar_ones(kb_client, served):
    from kb_client import Client
    from kb_client.api.resources import get_passage, similar_passages
    client = Client(base_url=served.url, raise_on_unexpected_status=True)
    passage = get_passage.sync("science-diplomacy:2", client=client)
    assert passage.id == "science-diplomacy:2" and passage.previous == "science-diplomacy:1" and passage.evidence
    similar = similar_passages.sync("science-diplomacy:2", client=client, limit=2)
    assert len(similar.hits) == 2 and passage.id not in {h.id for h in similar.hits}
    missing = get_passage.sync_detailed("science-diplomacy:99", client=Client(base_url=served.url))
    assert missing.status_code == 404 and missing.parsed.code == 404


def test_the_generated_client_posts_uploads_lists_patches_syncs_and_deletes(kb_client, served):
    from kb_client import AuthenticatedClient, Client
    from kb_client.api.documents import (
        create_document,
        delete_document,
        get_document,
        list_documents,
        update_document,
    )
    from kb_client.models import DocumentCreated, DocumentInput, DocumentPatch
    from kb_client.types import File
    writer = AuthenticatedClient(base_url=served.url, token=API_TOKEN, raise_on_unexpected_status=True)
    created = create_document.sync(client=writer, body=DocumentInput(
        id="client-note", title="Client note", text="Generated clients shipped vaccines to the archive.",
        tags=["client"]))
    assert isinstance(created, DocumentCreated) and created.id == "client-note" and "client" in created.tags
    document = get_document.sync("client-note", client=writer)
    assert document.text.startswith("Generated clients") and document.ingested_at.tzinfo is not None
    raw = create_document.sync(client=writer, filename="upload.md", title="Uploaded", id="client-upload",
                               body=File(payload=b"# Heading\n\nRaw bodies reach the index.\n"))
    assert raw.id == "client-upload" and raw.passages == 1
    listed = list_documents.sync(client=writer, limit=10)
    assert {"client-note", "client-upload"} <= {d.id for d in listed.documents} and listed.total >= 3
    since = list_documents.sync(client=writer, since=document.ingested_at)
    assert {"client-note", "client-upload"} <= {d.id for d in since.documents}
    changed = update_document.sync("client-note", client=writer, body=DocumentPatch(title="Client note, revised"))
    assert changed.title == "Client note, revised" and changed.passages == 1
    anonymous = create_document.sync_detailed(client=Client(base_url=served.url), body=DocumentInput(
        title="x", text="y"))
    assert anonymous.status_code == 401
    for doc_id in ("client-note", "client-upload"):
        assert delete_document.sync_detailed(doc_id, client=writer).status_code == 204
    assert get_document.sync_detailed("client-note", client=writer).status_code == 404
    gone = list_documents.sync(client=writer, since=document.ingested_at)
    assert {"client-note", "client-upload"} <= {d.id for d in gone.deleted} and gone.as_of


def test_the_generated_client_exports_and_suggests(kb_client, served):
    from kb_client import Client
    from kb_client.api.search import export, suggest
    client = Client(base_url=served.url, raise_on_unexpected_status=True)
    lines = export.sync_detailed(client=client, tag=["covid-19"]).content.decode().splitlines()
    assert lines and all("covid-19" in json.loads(line)["tags"] for line in lines)
    found = suggest.sync(client=client, q="diplom")
    assert found.completions[0].text == "diplomacy"
