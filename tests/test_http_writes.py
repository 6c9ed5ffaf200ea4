"""Writes over real HTTP to a real `kb serve`: create, search at once, re-post, replace, delete, uploads,
bulk JSON Lines, tokens and limits."""
from __future__ import annotations

import socket
import time

import pytest
import requests

from helpers import API_TOKEN, DATA
from helpers.servers import LiveServer

NOTE = {"title": "Field note on vaccines",
        "text": "Vaccines were shipped to developing countries last spring. Public health teams in "
                "Kenya trained local scientists to run the cold chain."}


def error(response, code):
    assert response.status_code == code, response.text
    body = response.json()
    assert body["code"] == code and body["status"] and body["message"]
    assert set(body) <= {"code", "status", "message", "errors"}
    return body


def hits_for(server, **params):
    return server.get("/api/v1/search", params={"limit": 100, **params}).json()


def test_create_is_searchable_at_once_and_reposting_replaces(token_server, auth):
    r = token_server.request("POST", "/api/v1/documents", json=NOTE, headers=auth)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["passages"] >= 1 and "public-health" in created["tags"] and created["replaced"] is False
    assert r.headers["Location"] == created["url"] == f"{token_server.url}/api/v1/documents/{created['id']}"
    found = hits_for(token_server, q="cold chain Kenya")
    assert found["hits"][0]["document"]["id"] == created["id"]
    assert "<mark>" in found["hits"][0]["snippet"]

    again = token_server.request("POST", "/api/v1/documents", json=NOTE, headers=auth)
    assert again.status_code == 201 and again.json()["id"] == created["id"] and again.json()["replaced"] is True
    mine = hits_for(token_server, q="cold chain Kenya", document=created["id"])
    assert mine["total"] == created["passages"]  # no duplicates
    listing = token_server.get("/api/v1/documents").json()
    assert [d["id"] for d in listing["documents"]].count(created["id"]) == 1


def test_put_replaces_and_delete_removes(token_server, auth):
    path = "/api/v1/documents/replace-me"
    first = token_server.request("PUT", path, json={"title": "Draft", "text": "Semiconductor export controls."},
                                 headers=auth)
    assert first.status_code == 201, first.text
    second = token_server.request("PUT", path, json={"title": "Final", "text": "Quantum sensing partnerships."},
                                  headers=auth)
    assert second.status_code == 200 and second.json()["replaced"] is True
    assert hits_for(token_server, q="semiconductor", document="replace-me")["total"] == 0
    assert hits_for(token_server, q="quantum sensing", document="replace-me")["total"] == 1
    assert token_server.get(path).json()["title"] == "Final"
    mismatch = token_server.request("PUT", path, json={"id": "other", "title": "x", "text": "y z"}, headers=auth)
    assert "id" in error(mismatch, 422)["errors"]["json"]

    gone = token_server.request("DELETE", path, headers=auth)
    assert gone.status_code == 204 and gone.content == b""
    error(token_server.get(path), 404)
    error(token_server.request("DELETE", path, headers=auth), 404)
    assert hits_for(token_server, q="quantum sensing", document="replace-me")["total"] == 0


def test_markdown_upload_and_raw_body(token_server, auth):
    with open(DATA / "notes.md", "rb") as handle:
        r = token_server.request("POST", "/api/v1/documents", headers=auth,
                                 files={"file": ("notes.md", handle, "text/markdown")},
                                 data={"tags": "field-notes, retreat"})
    assert r.status_code == 201, r.text
    body = r.json()
    doc = token_server.get(f"/api/v1/documents/{body['id']}").json()
    assert doc["title"] == body["title"] and len(doc["passages"]) == body["passages"]
    assert all({"field-notes", "retreat"} <= set(p["tags"]) for p in doc["passages"])
    assert any(p["section"] for p in doc["passages"])  # Markdown headings became sections
    assert hits_for(token_server, tag="retreat")["total"] == body["passages"]

    raw = token_server.request("POST", "/api/v1/documents", params={"title": "Raw notes", "id": "raw-notes"},
                               data=(DATA / "notes.md").read_bytes(),
                               headers={**auth, "Content-Type": "text/markdown"})
    assert raw.status_code == 201 and raw.json()["id"] == "raw-notes" and raw.json()["title"] == "Raw notes"
    pdf = token_server.request("POST", "/api/v1/documents", headers=auth,
                               files={"file": ("report.pdf", (DATA / "report.pdf").read_bytes(), "application/pdf")})
    assert pdf.status_code == 201 and pdf.json()["passages"] >= 1, pdf.text
    bad = token_server.request("POST", "/api/v1/documents", headers=auth,
                               files={"file": ("blob.txt", (DATA / "binary.txt").read_bytes())})
    assert "file" in error(bad, 422)["errors"]["files"]
    many = token_server.request("POST", "/api/v1/documents", headers=auth,
                                files={"file": ("docs.jsonl", (DATA / "docs.jsonl").read_bytes())})
    assert "bulk" in error(many, 422)["message"]
    error(token_server.request("POST", "/api/v1/documents", data=b"\x89PNG",
                               headers={**auth, "Content-Type": "image/png"}), 415)


def test_bulk_answers_line_by_line_and_lands_the_good_lines(token_server, auth):
    lines = [
        '{"id": "bulk-1", "title": "Bulk one", "text": "Malaria vaccines reached Ghana through WHO programs."}',
        "",
        "{not json",
        '{"id": "nothing", "text": ""}',
        '{"id": "bulk-2", "title": "Bulk two", "text": "Science diplomacy eased the Arctic research talks."}',
        '{"id": "bulk-3", "title": "Hash tables for symbol lookup in compilers"}',
    ]
    r = token_server.request("POST", "/api/v1/documents/bulk", data="\n".join(lines).encode(),
                             headers={**auth, "Content-Type": "application/x-ndjson"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["documents"] == 3 and body["refused"] == 2
    by_line = {item["line"]: item for item in body["results"]}
    assert by_line[1]["status"] == 201 and by_line[1]["id"] == "bulk-1" and by_line[1]["passages"] == 1
    assert by_line[3]["status"] == 422 and "invalid JSON" in by_line[3]["error"]
    assert by_line[4]["status"] == 422 and "text" in by_line[4]["error"]
    assert by_line[5]["status"] == 201 and by_line[5]["id"] == "bulk-2"
    assert by_line[6]["status"] == 201 and by_line[6]["passages"] == 1   # title only: one passage, its title
    assert 2 not in by_line  # blank lines are skipped, not reported
    assert hits_for(token_server, q="symbol tables")["hits"][0]["document"]["id"] == "bulk-3"
    assert hits_for(token_server, q="malaria Ghana")["hits"][0]["document"]["id"] == "bulk-1"
    assert hits_for(token_server, q="Arctic", document="bulk-2")["total"] == 1


def test_title_only_records_from_json_jsonl_and_uploads(token_server, auth):
    before = token_server.get("/api/v1/stats").json()
    made = token_server.request("POST", "/api/v1/documents", headers=auth,
                                json={"id": "title-only", "title": "Recursive descent parsing of ALGOL 60"})
    assert made.status_code == 201 and made.json()["passages"] == 1, made.text
    empty_text = token_server.request("PUT", "/api/v1/documents/title-empty", headers=auth,
                                      json={"title": "Garbage collection in LISP systems", "text": ""})
    assert empty_text.status_code == 201, empty_text.text
    upload = token_server.request("POST", "/api/v1/documents/bulk", headers=auth, files={"file": (
        "refs.jsonl", b'{"_id": "ref-1", "title": "Sorting networks and their applications"}\n'
                      b'{"_id": "ref-2", "title": ""}\n')})
    body = upload.json()
    assert upload.status_code == 200 and body["documents"] == 1 and body["refused"] == 1, upload.text
    doc = token_server.get("/api/v1/documents/title-only").json()
    assert doc["text"] == doc["title"] == "Recursive descent parsing of ALGOL 60"
    assert [p["text"] for p in doc["passages"]] == [doc["title"]]
    for q, doc_id in (("ALGOL parsing", "title-only"), ("garbage collection LISP", "title-empty"),
                      ("sorting networks", "ref-1"), ("title:sorting", "ref-1")):
        assert hits_for(token_server, q=q)["hits"][0]["document"]["id"] == doc_id, q
    after = token_server.get("/api/v1/stats").json()
    assert after["documents"] == before["documents"] + 3 and after["passages"] == before["passages"] + 3


def test_writes_need_the_token(token_server, auth):
    error(token_server.request("POST", "/api/v1/documents", json=NOTE), 401)
    wrong = token_server.request("POST", "/api/v1/documents", json=NOTE,
                                 headers={"Authorization": "Bearer not-the-token"})
    assert "wrong" in error(wrong, 401)["message"]
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    error(token_server.request("DELETE", "/api/v1/documents/science-diplomacy"), 401)
    error(token_server.request("PUT", "/api/v1/documents/x", json=NOTE,
                               headers={"Authorization": f"Basic {API_TOKEN}"}), 401)
    assert token_server.get("/api/v1/documents/science-diplomacy").status_code == 200  # reads stay open
    assert "writes need 'Authorization: Bearer <token>'" in token_server.log.read_text()


def test_limits_malformed_json_and_missing_fields(token_server, auth):
    big = token_server.request("POST", "/api/v1/documents", data=b"x" * (60 * 1024 * 1024),
                               headers={**auth, "Content-Type": "text/plain"})
    assert "25.0 MB" in error(big, 413)["message"]

    def chunks():  # no Content-Length: a chunked body is cut off at the limit too
        for _ in range(60):
            yield b"y" * (1024 * 1024)
    error(token_server.request("POST", "/api/v1/documents/bulk", data=chunks(),
                               headers={**auth, "Content-Type": "application/x-ndjson"}), 413)
    malformed = token_server.request("POST", "/api/v1/documents", data=b'{"title": "x", "text": ',
                                     headers={**auth, "Content-Type": "application/json"})
    assert "malformed JSON" in error(malformed, 400)["message"]
    missing = error(token_server.request("POST", "/api/v1/documents", json={"text": "No title"}, headers=auth), 422)
    assert "title" in missing["errors"]["json"] and "title" in missing["message"]
    blank = error(token_server.request("POST", "/api/v1/documents", json={"title": " ", "text": " \n "},
                                       headers=auth), 422)
    assert "text" in blank["errors"]["json"]
    not_an_object = error(token_server.request("POST", "/api/v1/documents", json=[NOTE], headers=auth), 422)
    assert not_an_object["message"].startswith("Invalid arguments: body:")
    typo = error(token_server.request("POST", "/api/v1/documents", json={**NOTE, "tag": ["x"]}, headers=auth), 422)
    assert "tag" in typo["errors"]["json"]
    bad_id = error(token_server.request("POST", "/api/v1/documents", json={**NOTE, "id": "../etc"}, headers=auth), 422)
    assert "id" in bad_id["errors"]["json"]
    assert token_server.get("/api/v1/health").status_code == 200  # the server is none the worse


def _outward_address() -> str | None:
    """This machine's address on its default route (no packet is sent), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_without_a_token_writes_come_only_from_loopback(sample_home, tmp_path):
    import shutil
    home = tmp_path / "kb"
    shutil.copytree(sample_home, home)
    server = LiveServer(home, args=("--host", "0.0.0.0"), workers=1)
    try:
        assert "writes are accepted only from loopback" in server.log.read_text()
        local = server.request("POST", "/api/v1/documents", json=NOTE)
        assert local.status_code == 201, local.text
        cross = server.request("POST", "/api/v1/documents", json=NOTE, headers={"Origin": "http://evil.example"})
        error(cross, 403)
        assert "Access-Control-Allow-Origin" not in cross.headers
        address = _outward_address()
        if address is None:
            pytest.skip("this machine has no non-loopback address to write from")
        remote = requests.post(f"http://{address}:{server.port}/api/v1/documents", json=NOTE, timeout=30)
        assert "loopback" in error(remote, 403)["message"]
        assert requests.get(f"http://{address}:{server.port}/api/v1/search?q=vaccines", timeout=30).ok
    finally:
        server.stop()


def test_a_busy_index_answers_503_with_retry_after(token_server, auth):
    from index import storage
    start = time.monotonic()
    with storage.write_lock(token_server.home / "index", timeout=5):
        r = token_server.request("POST", "/api/v1/documents", json={**NOTE, "id": "busy"}, headers=auth)
    assert error(r, 503) and r.headers["Retry-After"]
    assert time.monotonic() - start < 30
    assert token_server.request("POST", "/api/v1/documents", json={**NOTE, "id": "busy"},
                                headers=auth).status_code == 201
