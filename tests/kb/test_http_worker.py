"""The buffering worker's framing (kb.http_worker.Connection): when a request is whole, whatever
pieces it arrives in, so that the app only ever sees complete requests; and its answer spool.
(The worker over real sockets: tests/test_slow_clients.py.)"""
from __future__ import annotations

import socket
import threading
import time
from types import SimpleNamespace

import pytest

from kb.http_worker import HEAD_LIMIT, SPOOL_IN_MEMORY, BufferingWorker, Connection, Spool
from kb.server import loopback
from kb.settings import Settings

LIMITS = Settings.from_env(max_body="64KB")


@pytest.fixture
def connection():
    left, right = socket.socketpair()
    yield Connection(left, ("127.0.0.1", 1), None, LIMITS)
    left.close()
    right.close()


def feed(conn: Connection, data: bytes, piece: int) -> list[str | None]:
    return [conn.received(data[i:i + piece]) for i in range(0, len(data), piece)]


@pytest.mark.parametrize("piece", [1, 3, 7, 1000])
def test_a_body_with_a_length_is_whole_at_its_last_byte(connection, piece):
    request = b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world"
    states = feed(connection, request, piece)
    assert states[-1] == "complete" and "complete" not in states[:-1]
    assert bytes(connection.data) == request


@pytest.mark.parametrize("piece", [1, 2, 5, 1000])
def test_a_chunked_body_is_whole_at_its_last_chunk_and_trailers(connection, piece):
    request = (b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nHost: a\r\n\r\n"
               b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n")
    states = feed(connection, request, piece)
    assert states[-1] == "complete" and "complete" not in states[:-1]


def test_a_chunk_size_that_is_not_hex_goes_to_the_parser_at_once(connection):
    assert connection.received(b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n") == "complete"


def test_a_request_without_a_body_is_whole_at_its_blank_line(connection):
    assert connection.received(b"GET /x HTTP/1.1\r\nHost: a\r\n") is None
    assert connection.received(b"\r\n") == "complete"


def test_headers_past_the_head_limit_go_to_the_parser_which_refuses_them(connection):
    assert connection.received(b"GET /x HTTP/1.1\r\nX: " + b"a" * HEAD_LIMIT) == "complete"


def test_a_body_over_the_limit_is_too_large_from_its_headers(connection):
    assert connection.received(b"POST /x HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % (LIMITS.max_body + 1)) \
        == "too-large"


def test_a_chunked_body_over_the_limit_is_too_large_before_it_ends(connection):
    connection.received(b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"8000\r\n" + b"a" * 0x8000 + b"\r\n"
    states = [connection.received(chunk) for _ in range(5)]
    assert "too-large" in states and "complete" not in states


def test_the_body_deadline_grows_with_the_length(connection):
    header_only = connection.deadline
    connection.received(b"POST /x HTTP/1.1\r\nContent-Length: 65536\r\n\r\n")
    # the header timeout again, plus 64 KB at 64 KB/s
    assert connection.deadline - header_only == pytest.approx(65536 / LIMITS.http_body_rate, abs=0.5)


def test_an_expect_100_continue_is_noted_whatever_the_order_of_headers(connection):
    connection.received(b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n")
    assert connection.expect_continue and connection.body_length is None


def test_the_spool_keeps_small_answers_in_memory_and_large_ones_in_a_file():
    small, large = Spool(), Spool()
    small.sendall(b"x" * 100)
    for _ in range(3):
        large.sendall(b"y" * (SPOOL_IN_MEMORY // 2 + 1))
    assert small.file is None and b"".join(small.chunks()) == b"x" * 100
    assert large.file is not None and b"".join(large.chunks()) == b"y" * (3 * (SPOOL_IN_MEMORY // 2 + 1))


@pytest.mark.parametrize("host,expected", [("127.0.0.1", True), ("127.0.1.5", True), ("::1", True),
                                           ("[::1]", True), ("localhost", True), ("0.0.0.0", False),
                                           ("::", False), ("192.168.1.2", False), ("kb.example.org", False)])
def test_loopback_hosts(host, expected):
    assert loopback(host) is expected


def test_idle_work_runs_beside_the_loop_which_keeps_beating():
    ran, beats = [], []

    def work():
        ran.append(threading.current_thread() is not threading.main_thread())
        time.sleep(2.5)
    worker = SimpleNamespace(wsgi=SimpleNamespace(kb_idle=work), notify=lambda: beats.append(time.monotonic()))
    BufferingWorker.idle(worker)
    assert ran == [True] and len(beats) >= 2    # a worker busy warming is not a hung worker
    BufferingWorker.idle(SimpleNamespace(wsgi=object(), notify=None))   # an app without idle work
