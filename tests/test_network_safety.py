"""Safe on a network (issue 16), against a live `kb serve`: no write without authority (DNS
rebinding, a read token alone), no Host reflected into links, every input bounded (YAML aliases, a
page-tree PDF, HTML headings, huge and deep JSON, bulk lines, tags on every path) and refused
within seconds with a 413/422 that names the limit, text that UTF-8 cannot carry refused at the
door, a truncated upload stored never, ids matched whole, CSV cells no spreadsheet runs, and kb's own
sentences in every 4xx."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import socket
import subprocess
import time

import pytest

from helpers import KB_BIN
from helpers.servers import LiveServer
from kb.core import KnowledgeBase
from kb.models import Document
from kb.readers import ReadResult
from kb.settings import Settings

READ_TOKEN = "read-token-5f0e1d2c3b4a5968"
PUBLIC = "https://kb.example.org"
PYTHON_WORDS = ("list index out of range", "recursion", "Traceback", "Error:", "object has no attribute")


@pytest.fixture(scope="module")
def open_home(sample_home, tmp_path_factory):
    home = tmp_path_factory.mktemp("open") / "kb"
    shutil.copytree(sample_home, home)
    return home


@pytest.fixture(scope="module")
def server(open_home):
    """The quick start: no token at all."""
    live = LiveServer(open_home)
    yield live
    live.stop()


@pytest.fixture(scope="module")
def locked(sample_home, tmp_path_factory):
    """A read token and no write token, behind a public URL."""
    home = tmp_path_factory.mktemp("locked") / "kb"
    shutil.copytree(sample_home, home)
    live = LiveServer(home, env={"KB_READ_TOKEN": READ_TOKEN, "KB_PUBLIC_URL": PUBLIC})
    yield live
    live.stop()


def raw(port: int, request: bytes, close_after_send: bool = False, timeout: float = 30) -> tuple[int, dict, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        if close_after_send:
            sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:] if ": " in line)}
    return int(lines[0].split()[1]), headers, body


def kb_sentence(response, status: int | tuple, *names: str) -> dict:
    """A 4xx in kb's shape whose message is kb's sentence and names ``names``."""
    statuses = (status,) if isinstance(status, int) else status
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    error = response.json()
    assert error["code"] == response.status_code and error["message"]
    for word in PYTHON_WORDS:
        assert word not in error["message"], error["message"]
    for name in names:
        assert name in error["message"], (name, error["message"])
    return error


def timed(call):
    started = time.monotonic()
    answer = call()
    return answer, time.monotonic() - started


def exists(server, doc_id: str, **kwargs) -> bool:
    return server.get(f"/api/v1/documents/{doc_id}", **kwargs).status_code == 200


# ------------------------------------------------------------------------------------------------ authority

def test_a_rebinding_page_can_neither_write_nor_delete(server):
    evil = {"Host": f"evil.example:{server.port}", "Origin": f"http://evil.example:{server.port}",
            "Sec-Fetch-Site": "same-origin"}
    r = server.request("POST", "/api/v1/documents", data="Rebinding wrote this.",
                       headers={**evil, "Content-Type": "text/plain"})
    kb_sentence(r, 403, "Host")
    r = server.request("DELETE", "/api/v1/documents/science-diplomacy", headers=evil)
    kb_sentence(r, 403)
    # a page whose origin is another name, on a loopback Host, is refused too
    r = server.request("DELETE", "/api/v1/documents/science-diplomacy",
                       headers={"Origin": f"http://evil.example:{server.port}"})
    kb_sentence(r, 403)
    assert exists(server, "science-diplomacy")
    # this machine's own names still write
    for host in (f"localhost:{server.port}", f"127.0.0.1:{server.port}"):
        r = server.request("PUT", "/api/v1/documents/own-host", json={"title": "Own", "text": "Written here."},
                           headers={"Host": host})
        assert r.status_code in (200, 201), r.text


def test_links_never_repeat_a_foreign_host(server, locked):
    r = server.get("/api/v1/search?q=science&limit=1&offset=1", headers={"Host": f"evil.example:{server.port}"})
    assert r.status_code == 200
    urls = [r.json()["next"], r.json()["prev"], r.headers["Link"]]
    assert all("evil.example" not in u for u in urls) and f"127.0.0.1:{server.port}" in urls[0], urls
    r = server.get("/api/v1/search?q=science&limit=1", headers={"Host": "evil.example"})   # no port either
    assert r.json()["next"].startswith(f"http://127.0.0.1:{server.port}/api/v1/search?"), r.json()["next"]
    # behind a public URL every link starts with it, whatever the Host said
    auth = {"Authorization": f"Bearer {READ_TOKEN}", "Host": "evil.example"}
    r = locked.get("/api/v1/search?q=science&limit=1", headers=auth)
    assert r.json()["next"].startswith(PUBLIC + "/api/v1/search?") and PUBLIC in r.headers["Link"]
    r = locked.request("POST", "/api/v1/documents", json={"title": "Linked", "text": "Where is it?"}, headers=auth)
    assert r.status_code == 201 and r.headers["Location"].startswith(PUBLIC + "/api/v1/documents/")


def test_a_read_token_alone_guards_writes_and_says_nothing_of_ids(locked):
    answers = []
    for doc_id in ("science-diplomacy", "no-such-document"):
        for method, kwargs in (("DELETE", {}), ("PUT", {"json": {"title": "T", "text": "Replaced?"}})):
            r = locked.request(method, f"/api/v1/documents/{doc_id}", **kwargs)
            kb_sentence(r, 401, "read token")
            answers.append((r.status_code, r.json()["message"]))
    assert len(set(answers)) == 1   # an existing id and a missing one answer alike
    auth = {"Authorization": f"Bearer {READ_TOKEN}"}
    assert exists(locked, "science-diplomacy", headers=auth)
    assert locked.request("DELETE", "/api/v1/documents/own-note", headers=auth).status_code == 404
    r = locked.request("PUT", "/api/v1/documents/own-note", json={"title": "Own", "text": "A note."}, headers=auth)
    assert r.status_code == 201
    assert locked.request("DELETE", "/api/v1/documents/own-note", headers=auth).status_code == 204
    assert "writes need the read token" in locked.log.read_text()


def test_serve_on_a_port_in_use_says_so_in_one_line(server, open_home):
    done = subprocess.run([str(KB_BIN), "serve", "--port", str(server.port), "--home", str(open_home)],
                          capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if not k.startswith("KB_")})
    assert done.returncode != 0
    assert "serving" not in done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "in use" in lines[0] and str(server.port) in lines[0], done.stderr


# ------------------------------------------------------------------------------------------------ unicode

SURROGATE_JSON = b'{"title": "Surrogate \\ud800 zebra", "text": "The zebra grazes."}'


def test_text_utf8_cannot_carry_is_refused_at_every_door(server, tmp_path):
    post = lambda body, ctype, path="/api/v1/documents": server.request(  # noqa: E731
        "POST", path, data=body, headers={"Content-Type": ctype})
    kb_sentence(post(SURROGATE_JSON, "application/json"), 422, "title", "surrogate")
    kb_sentence(post(b'{"title": "T", "text": "Zebra.", "tags": ["a\\udc00"]}', "application/json"), 422, "tags")
    kb_sentence(post(b'{"title": "T", "text": "Zebra.", "tags": ["a\\u0000b"]}', "application/json"), 422, "tags")
    kb_sentence(post(b'{"title": "T", "text": "Zebra.", "metadata": {"k\\ud801": 1}}', "application/json"),
                422, "metadata")
    kb_sentence(post('---\ntitle: "Front \\ud800 matter"\n---\nZebra text.\n'.encode(), "text/markdown"),
                422, "title", "surrogate")
    bulk = b'{"id": "fine-line", "text": "A fine zebra."}\n{"id": "bad-line", "text": "Zebra \\udfff."}\n'
    r = post(bulk, "application/x-ndjson", "/api/v1/documents/bulk")
    assert r.status_code == 200
    results = r.json()["results"]
    assert results[0]["status"] == 201 and results[1]["status"] == 422 and "surrogate" in results[1]["error"]
    # every page and every format still answers, whole
    assert server.get("/?q=zebra").status_code == 200
    for fmt in ("csv", "text", "jsonl", "json"):
        assert server.get(f"/api/v1/search?q=zebra&format={fmt}").status_code == 200
    # the CLI's door is the same
    lines = tmp_path / "surrogate.jsonl"
    lines.write_bytes(bulk.replace(b"fine-line", b"cli-fine"))
    done = subprocess.run([str(KB_BIN), "ingest", str(lines), "--home", str(tmp_path / "cli")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "not valid Unicode text (a lone surrogate" in done.stderr, done.stderr


def test_a_store_poisoned_before_the_check_still_exports_whole(open_home, tmp_path):
    home = tmp_path / "poisoned"
    shutil.copytree(open_home, home)
    kb = KnowledgeBase(Settings.from_env(home=home, ingest_workers=0))
    doc = Document(id="poisoned", title="Surrogate \ud800 zebra", text="Zebra notes.\n\nThe zebra \ud800 grazes.")
    record, passages = kb.prepare_record(ReadResult(doc))   # written as kb wrote before the check
    kb.index.replace_documents([(record, passages)], expect=None)
    total = sum(1 for _ in kb.export())
    kb.index.close()
    live = LiveServer(home)
    try:
        assert live.get("/?q=zebra").status_code == 200
        assert live.get("/passage/poisoned:1").status_code == 200
        for fmt, count in (("jsonl", lambda t: len(t.splitlines())), ("text", lambda t: t.count("\n\n")),
                           ("csv", lambda t: len(list(csv.reader(io.StringIO(t)))) - 1)):
            r = live.get(f"/api/v1/export?format={fmt}")
            assert r.status_code == 200 and count(r.text) == total and "\ufffd" in r.text, fmt
    finally:
        live.stop()
    done = subprocess.run([str(KB_BIN), "export", "--documents", "--home", str(home)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and '"poisoned"' in done.stdout and "\ufffd" in done.stdout


# ------------------------------------------------------------------------------------------------ bounded inputs

ALIAS_BOMB = ("---\ntitle: Laughs\n"
              'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
              + "".join(f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
              + "---\nZebra text.\n")


def page_tree_pdf(fanout: int = 300, claimed: int | None = None) -> bytes:
    """A 4 KB PDF whose page tree names one page fanout² times (and whose /Count may lie)."""
    from pypdf import PdfWriter
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject

    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    root = writer._root_object["/Pages"].get_object()
    page = root["/Kids"][0]
    middle = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Pages"), NameObject("/Kids"): ArrayObject([page] * fanout),
        NameObject("/Count"): NumberObject(fanout)}))
    root[NameObject("/Kids")] = ArrayObject([middle] * fanout)
    root[NameObject("/Count")] = NumberObject(fanout * fanout if claimed is None else claimed)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize("name,body,ctype,status,named", [
    ("yaml aliases", ALIAS_BOMB.encode(), "text/markdown", 422, "aliases"),
    ("page tree", page_tree_pdf(), "application/pdf", 413, "KB_MAX_PDF_PAGES"),
    ("page tree, /Count lies", page_tree_pdf(claimed=1), "application/pdf", 413, "KB_MAX_PDF_PAGES"),
    ("100,000 headings", ("<html><body>" + "<h2>Zebra</h2>" * 100_000 + "</body></html>").encode(),
     "text/html", 413, "KB_MAX_HTML_ELEMENTS"),
    ("3,000 headings", ("<html><body>" + "<h2>Zebra</h2><p>z</p>" * 3_000 + "</body></html>").encode(),
     "text/html", 413, "KB_MAX_SECTIONS"),
    ("23 MB of text", json.dumps({"title": "Big", "text": "zebra " * 4_000_000}).encode(), "application/json",
     413, "KB_MAX_TEXT"),
    ("deep JSON", b'{"title": "Deep", "text": "Zebra.", "metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
     "application/json", 422, "KB_MAX_DEPTH"),
    ("deep metadata", json.dumps({"title": "D", "text": "Zebra.", "metadata": json.loads("[" * 40 + "]" * 40)}
                                 ).encode(),
     "application/json", 422, "KB_MAX_DEPTH"),
    ("big metadata", json.dumps({"title": "M", "text": "Zebra.", "metadata": {"k": "m" * 100_000}}).encode(),
     "application/json", 422, "KB_MAX_METADATA"),
])
def test_every_input_over_a_limit_is_refused_within_seconds(server, name, body, ctype, status, named):
    r, took = timed(lambda: server.request("POST", "/api/v1/documents", data=body, headers={"Content-Type": ctype}))
    kb_sentence(r, status, named)
    # refused up front, not after the 60 s worker timeout (bound generous for a loaded machine)
    assert took < 20, (name, took)
    assert server.get("/api/v1/health").status_code == 200


def test_a_bulk_post_over_the_line_limit_lands_nothing(server):
    lines = "".join(json.dumps({"id": f"bulk-{n}", "text": f"Zebra {n}."}) + "\n" for n in range(10_001))
    r = server.request("POST", "/api/v1/documents/bulk", data=lines.encode(),
                       headers={"Content-Type": "application/x-ndjson"})
    kb_sentence(r, 413, "KB_MAX_BULK_LINES", "10,001")
    assert not exists(server, "bulk-0")


def test_tag_limits_hold_on_every_path(server):
    many = [f"t{n}" for n in range(51)]
    long_tag = "t" * 300
    ndjson = {"Content-Type": "application/x-ndjson"}
    kb_sentence(server.request("POST", "/api/v1/documents", files={"file": ("n.txt", b"Zebra.")},
                               data={"tags": ",".join(many)}), 422, "tags", "KB_MAX_TAGS")
    kb_sentence(server.request("POST", "/api/v1/documents", files={"file": ("n.txt", b"Zebra.")},
                               data={"tags": long_tag}), 422, "tags", "KB_MAX_TAG_LENGTH")
    kb_sentence(server.request("POST", "/api/v1/documents", params={"tag": many}, data=b"Zebra.",
                               headers={"Content-Type": "text/plain"}), 422, "tag", "KB_MAX_TAGS")
    kb_sentence(server.request("POST", "/api/v1/documents/bulk", params={"tag": many},
                               data=b'{"text": "Zebra."}\n', headers=ndjson), 422, "tag", "KB_MAX_TAGS")
    front = "---\ntags: [" + ", ".join(many) + "]\n---\nZebra.\n"
    kb_sentence(server.request("POST", "/api/v1/documents", data=front.encode(),
                               headers={"Content-Type": "text/markdown"}), 422, "tags", "KB_MAX_TAGS")
    r = server.request("POST", "/api/v1/documents/bulk", headers=ndjson,
                       data=(json.dumps({"id": "tagged-too-much", "text": "Zebra.", "tags": many}) + "\n"
                             + json.dumps({"id": "tag-too-long", "text": "Zebra.", "tags": [long_tag]})).encode())
    results = r.json()["results"]
    assert [x["status"] for x in results] == [422, 422]
    assert "KB_MAX_TAGS" in results[0]["error"] and "KB_MAX_TAG_LENGTH" in results[1]["error"]
    assert not exists(server, "tagged-too-much")


# ------------------------------------------------------------------------------------------------ whole or nothing

@pytest.mark.parametrize("method,target", [("POST", "/api/v1/documents"),
                                           ("PUT", "/api/v1/documents/science-diplomacy")])
def test_a_truncated_upload_is_a_400_and_stores_nothing(server, method, target):
    before = server.get("/api/v1/documents/science-diplomacy").json()["text"]
    body = ("Truncated zebra. " * 200)[:1000].encode()
    head = (f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: 2000\r\nConnection: close\r\n\r\n").encode()
    status, headers, answer = raw(server.port, head + body, close_after_send=True)
    assert status == 400 and "2,000" in json.loads(answer)["message"], answer
    assert server.get("/api/v1/documents/science-diplomacy").json()["text"] == before
    listed = server.get("/api/v1/documents?limit=1000").json()["documents"]
    assert not any(d["title"].startswith("Truncated zebra") for d in listed)


def test_an_id_ending_in_a_newline_is_refused(server):
    r = server.request("PUT", "/api/v1/documents/newline%0A", json={"title": "N", "text": "Zebra."})
    kb_sentence(r, (404, 422))   # the route itself does not take it
    kb_sentence(server.request("POST", "/api/v1/documents", json={"id": "newline\n", "title": "N", "text": "Z."}),
                422, "id")


# ------------------------------------------------------------------------------------------------ output

def test_csv_cells_never_start_a_formula(server, open_home, tmp_path):
    r = server.request("PUT", "/api/v1/documents/formula", json={
        "title": "=HYPERLINK(\"http://evil.example\")", "text": "+1 zebra formula\n\n@SUM(A1) zebra formula",
        "tags": ["-danger"]})
    assert r.status_code in (200, 201), r.text
    answers = [server.get("/api/v1/search?q=formula&format=csv").text,
               server.get("/api/v1/export?document=formula&format=csv").text]
    home = tmp_path / "copy"
    shutil.copytree(open_home, home)
    done = subprocess.run([str(KB_BIN), "export", "--csv", "--document", "formula", "--home", str(home)],
                          capture_output=True, text=True, timeout=120)
    answers.append(done.stdout)
    for answer in answers:
        rows = list(csv.DictReader(io.StringIO(answer)))
        assert rows, answer[:300]
        for row in rows:
            for column, cell in row.items():
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (column, cell)
            assert row["document_title"].startswith("'=HYPERLINK") and "'-danger" in row["tags"]


def test_the_search_page_reads_numbers_and_lists_at_most_its_facets(server):
    for offset in ("²", "٣", "9" * 5000, "-1"):
        r = server.get("/", params={"q": "science", "offset": offset})
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html"), offset
    lines = "".join(json.dumps({"id": f"facets-{n}", "text": f"Facet zebra {n}.",
                                "tags": [f"facet-{n}-{k}" for k in range(50)]}) + "\n" for n in range(3))
    assert server.request("POST", "/api/v1/documents/bulk", data=lines.encode(),
                          headers={"Content-Type": "application/x-ndjson"}).json()["documents"] == 3
    page = server.get("/").text
    assert server.get("/api/v1/tags").json()["tags"].__len__() > 150
    assert len(re.findall(r'class="facet(?: on)?"', page)) == 100


def test_every_4xx_is_kbs_own_sentence(server):
    kb_sentence(server.get("/api/v1/search", params={"q": "NOT NOT science", "syntax": "query"}), 400, "NOT")
    deep = "(" * 400 + "science" + ")" * 400
    kb_sentence(server.get("/api/v1/search", params={"q": deep, "syntax": "query"}), 400, "brackets")
    page = server.get("/", params={"q": deep})
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "plain words" in page.text
    kb_sentence(server.request("POST", "/api/v1/documents", data=b"[" * 5000 + b"]" * 5000,
                               headers={"Content-Type": "application/json"}), (400, 422))


def test_kb_ingest_refuses_an_input_over_a_limit_with_the_same_sentence(tmp_path):
    (tmp_path / "tree.pdf").write_bytes(page_tree_pdf())
    (tmp_path / "laughs.md").write_text(ALIAS_BOMB)
    (tmp_path / "fine.md").write_text("# Fine\n\nA fine zebra.\n")
    done = subprocess.run([str(KB_BIN), "ingest", str(tmp_path), "--home", str(tmp_path / "kb")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "ingested 1 documents" in done.stdout, done.stdout + done.stderr
    assert "90,000 pages; the limit is 1,000 (KB_MAX_PDF_PAGES)" in done.stderr
    assert "aliases (*a) are not accepted" in done.stderr


def test_a_stream_that_fails_part_way_ends_visibly(app):
    """kb's own streaming (api.formats.stream) over passages whose source fails after the first:
    the answer ends with an error record or line, and the failure still reaches the server, which
    then breaks the chunked stream instead of ending it cleanly."""
    from api.formats import stream

    def passages():
        yield {"id": "a:1", "document_id": "a", "text": "First zebra."}
        raise OSError("the index went away")

    for fmt, ending in (("jsonl", '{"error": '), ("csv", "# kb: error: "), ("text", "kb: error: ")):
        with app.test_request_context("/api/v1/export"):
            response = stream(passages(), fmt)
            chunks = []
            with pytest.raises(OSError):
                for chunk in response.response:
                    chunks.append(chunk.decode() if isinstance(chunk, bytes) else chunk)
        body = "".join(chunks)
        assert "First zebra." in body and ending in body.strip().splitlines()[-1], (fmt, body)


def test_a_file_name_that_is_not_utf8_is_stored_under_a_name_with_ufffd(tmp_path):
    folder = os.fsencode(tmp_path / "names")
    os.makedirs(folder)
    with open(os.path.join(folder, b"caf\xe9 zebra.txt"), "wb") as handle:
        handle.write(b"A zebra in a cafe.")
    home = tmp_path / "kb"
    done = subprocess.run([str(KB_BIN), "ingest", os.fsdecode(folder), "--home", str(home)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "ingested 1 documents" in done.stdout, done.stderr
    exported = subprocess.run([str(KB_BIN), "export", "--documents", "--home", str(home)],
                              capture_output=True, text=True, timeout=120)
    assert exported.returncode == 0 and "caf\ufffd zebra.txt" in exported.stdout
