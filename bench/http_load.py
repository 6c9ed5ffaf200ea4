"""HTTP for the speed bench: servers started and stopped as subprocesses, single requests timed,
and a closed-loop load of N concurrent clients bounded in requests and in time."""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import quote


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server command on a free loopback port; ready when ``health`` answers 200."""

    def __init__(self, name: str, argv: list[str], port: int, env: dict, health: str, log: Path,
                 cwd: Path | None = None):
        self.name, self.port, self.health = name, port, health
        self.log = log
        self.process = subprocess.Popen(argv, env={**os.environ, **env}, cwd=cwd, stdout=open(log, "w"),
                                        stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            try:
                status, _ = get("127.0.0.1", self.port, self.health, timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def get(host: str, port: int, path: str, timeout: float = 30, conn=None) -> tuple[int, bytes]:
    own = conn is None
    conn = conn or http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        if own:
            conn.close()


def search_path(prefix: str, q: str) -> str:
    return f"{prefix}?q={quote(q)}"


def timed_get(port: int, path: str) -> float:
    """Milliseconds for one request on a fresh connection (the way a script or curl asks)."""
    started = time.perf_counter()
    status, body = get("127.0.0.1", port, path)
    elapsed = (time.perf_counter() - started) * 1000
    if status != 200:
        raise RuntimeError(f"GET {path}: {status} {body[:200]!r}")
    return elapsed


def load(port: int, paths: list[str], clients: int = 8, max_requests: int = 2000,
         max_seconds: float = 30.0) -> dict:
    """``clients`` threads, each sending its next request as soon as the last one is answered
    (keep-alive where the server offers it), until ``max_requests`` or ``max_seconds``."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    counter = iter(range(max_requests))
    deadline = time.monotonic() + max_seconds

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.monotonic() < deadline:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            started = time.perf_counter()
            try:
                status, _ = get("127.0.0.1", port, paths[n % len(paths)], conn=conn)
            except (OSError, http.client.HTTPException):
                status = 0
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if status == 200:
                    latencies.append(elapsed)
                else:
                    errors[0] += 1
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    latencies.sort()
    return {"requests": len(latencies), "errors": errors[0], "seconds": wall,
            "rps": len(latencies) / wall if wall else 0.0,
            "p50": percentile(latencies, 50), "p99": percentile(latencies, 99)}


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of sorted values."""
    if not values:
        return float("nan")
    k = max(0, min(len(values) - 1, int(round(p / 100 * len(values) + 0.5)) - 1))
    return values[k]
