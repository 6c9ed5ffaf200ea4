"""Slow clients against a real `kb serve` (kb.http_worker): fifty slowloris connections do not stop
a normal client, a request whose headers or body do not arrive in time is a 408 and reaches nothing,
a reader that stops reading an export is dropped without holding the only worker, and workers are
replaced after their share of requests. The deadlines are shortened through the environment, as
an operator would; the bounds on the normal client are timeouts (a stalled server takes 60 s)."""
from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
import requests

from helpers.servers import LiveServer
from kb.core import KnowledgeBase
from kb.models import Document
from kb.settings import Settings

DEADLINES = {"KB_HTTP_HEADER_TIMEOUT": "3", "KB_HTTP_SEND_TIMEOUT": "2", "KB_SEMANTIC": "0"}
PATIENCE = 20   # seconds a normal request may take here; a server stalled by slow clients takes 60


@pytest.fixture(scope="module")
def big_home(sample_home, tmp_path_factory) -> Path:
    """The sample plus 400 documents of ~4 KB: an export of several MB, more than socket buffers hold."""
    home = tmp_path_factory.mktemp("slow") / "kb"
    shutil.copytree(sample_home, home)
    paragraph = ("The delegation met the research council to discuss vaccine trials, ocean data and "
                 "shared laboratories; the embassy's science attaché took notes for the ministry. ")
    docs = [Document(id=f"long-{n}", title=f"Long report {n}", text="\n\n".join([paragraph * 4] * 6))
            for n in range(400)]
    KnowledgeBase(Settings.from_env(home=home)).ingest(docs)
    return home


@pytest.fixture(scope="module")
def server(big_home):
    live = LiveServer(big_home, env=DEADLINES, workers=2)
    yield live
    live.stop()


def read_all(sock: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    return data


def test_fifty_slowloris_connections_do_not_stop_a_normal_client(server):
    slow = [socket.create_connection(("127.0.0.1", server.port), timeout=30) for _ in range(50)]
    stop = threading.Event()

    def trickle():   # one header byte per connection every second, never the blank line
        line = b"GET /api/v1/search?q=vaccine HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 1000
        for position in range(len(line)):
            for sock in slow:
                try:
                    sock.send(line[position:position + 1])
                except OSError:
                    pass
            if stop.wait(1.0):
                return

    sender = threading.Thread(target=trickle)
    sender.start()
    try:
        time.sleep(1.5)   # every slow connection is open and mid-header
        for query in ("vaccine", "ocean data", "embassy", "diplomacy", "laboratories"):
            answer = requests.get(server.url + "/api/v1/search", params={"q": query}, timeout=PATIENCE)
            assert answer.status_code == 200
            assert answer.json()["total"] > 0
        # past the header deadline every slow connection has its 408 (or is closed), none an answer
        statuses = []
        for sock in slow:
            head = read_all(sock)
            statuses.append(head.split(b" ", 2)[1] if head else b"closed")
        assert set(statuses) <= {b"408", b"closed"}
        assert statuses.count(b"408") >= 45
    finally:
        stop.set()
        sender.join()
        for sock in slow:
            sock.close()
    assert requests.get(server.url + "/api/v1/health", timeout=PATIENCE).ok


def test_a_slow_truncated_body_is_a_408_and_nothing_is_stored(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(b"PUT /api/v1/documents/slow-body HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: text/plain\r\nContent-Length: 2000\r\n\r\n" + b"Half a document. " * 58)
        answer = read_all(sock)   # the other 1,014 bytes never come
    assert answer.startswith(b"HTTP/1.1 408 ")
    body = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert body["code"] == 408 and "body" in body["message"]
    assert requests.get(server.url + "/api/v1/documents/slow-body", timeout=PATIENCE).status_code == 404


def test_a_body_cut_short_by_the_client_is_a_400_and_nothing_is_stored(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(b"PUT /api/v1/documents/cut-short HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: text/plain\r\nContent-Length: 2000\r\n\r\n" + b"Half a document. " * 58)
        sock.shutdown(socket.SHUT_WR)   # 986 bytes of 2,000, then the client closes its side
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 400 ")
    body = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert body["code"] == 400 and "986 bytes of 2,000" in body["message"]
    assert requests.get(server.url + "/api/v1/documents/cut-short", timeout=PATIENCE).status_code == 404


def test_a_body_that_arrives_in_pieces_within_its_deadline_is_stored(server):
    text = b"Slowly sent note about ocean data shared between two research councils."
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(b"PUT /api/v1/documents/slow-but-whole HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(text) + text[:20])
        time.sleep(1)
        sock.sendall(text[20:])
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 201")
    stored = requests.get(server.url + "/api/v1/documents/slow-but-whole", timeout=PATIENCE).json()
    assert stored["text"] == text.decode()


def test_an_export_reader_that_stops_reading_is_dropped_without_holding_the_worker(big_home):
    live = LiveServer(big_home, env=DEADLINES, workers=1)   # one worker: held, it would answer nobody
    try:
        whole = requests.get(live.url + "/api/v1/export", timeout=PATIENCE * 3).content
        assert len(whole) > 2_000_000
        reader = socket.socket()
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        reader.connect(("127.0.0.1", live.port))
        reader.sendall(b"GET /api/v1/export HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        time.sleep(1)   # the worker has spooled the export and is feeding a reader that does not read
        answer = requests.get(live.url + "/api/v1/search", params={"q": "vaccine"}, timeout=PATIENCE)
        assert answer.status_code == 200 and answer.json()["total"] > 0
        time.sleep(4)   # past the send timeout (2 s) without reading a byte
        reader.settimeout(30)
        got = read_all(reader)
        reader.close()
        assert got.startswith(b"HTTP/1.1 200")
        assert len(got) < len(whole)   # dropped part-way, not waited for
    finally:
        live.stop()


def worker_pids(live: LiveServer) -> set[int]:
    pid = live.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(p) for p in children.read_text().split()}


def test_workers_are_replaced_after_their_share_of_requests(sample_home, tmp_path):
    home = tmp_path / "kb"
    shutil.copytree(sample_home, home)
    live = LiveServer(home, env={**DEADLINES, "KB_HTTP_MAX_REQUESTS": "5"}, workers=2)
    try:
        before = worker_pids(live)
        assert len(before) == 2
        for n in range(40):   # 20 per worker at most 5 each: every first worker has gone
            answer = requests.get(live.url + "/api/v1/search", params={"q": "science"}, timeout=PATIENCE)
            assert answer.status_code == 200, (n, answer.text)
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline and len(worker_pids(live)) != 2:
            time.sleep(0.2)
        after = worker_pids(live)
        assert len(after) == 2 and not (after & before)
        assert all(os.path.exists(f"/proc/{pid}") for pid in after)
    finally:
        live.stop()


def test_a_server_beyond_loopback_says_what_it_expects_in_front(sample_home, tmp_path, server):
    home = tmp_path / "kb"
    shutil.copytree(sample_home, home)
    live = LiveServer(home, env=DEADLINES, workers=1, args=("--host", "0.0.0.0"))
    try:
        assert live.get("/api/v1/health").ok
    finally:
        live.stop()
    said = live.log.read_text()
    assert "reverse proxy" in said and "TLS" in said
    assert "reverse proxy" not in server.log.read_text()   # on loopback it does not say so
