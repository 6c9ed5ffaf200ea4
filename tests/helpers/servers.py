"""Real servers for end-to-end tests: ``kb serve`` on a free loopback port, Sphinx clusters
started by the real ``kb cluster`` command, and a knowledge base filled by the real ``kb ingest``."""
from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import requests

from index.sphinx.cluster import stop_node
from kb.core import SAMPLE_PATH

from . import KB_BIN


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, home: Path, env: dict | None = None, workers: int = 2, args: tuple = (),
                 ready_timeout: float = 30.0):
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = home.parent / f"serve-{self.port}.log"
        environment = {**os.environ, "KB_HOME": str(home), **(env or {})}
        for name in ("KB_API_TOKEN", "KB_READ_TOKEN", "KB_MAX_BODY", "KB_CORS_ORIGINS"):
            if name not in (env or {}):
                environment.pop(name, None)
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [str(KB_BIN), "serve", "--port", str(self.port), "--workers", str(workers), *args],
                env=environment, stdout=log, stderr=subprocess.STDOUT)
        try:
            self.wait_ready(ready_timeout)
        except BaseException:   # never leave a server behind
            self.stop()
            raise

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"kb serve exited: {self.log.read_text()}")
            try:
                if requests.get(self.url + "/api/v1/health", timeout=1).ok:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"kb serve did not start: {self.log.read_text()}")

    def wait_semantic_ready(self, timeout: float = 300.0) -> None:
        """Until every worker answering health has its embedding model loaded (a busy machine
        can take a minute to import torch)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.get("/api/v1/health").json().get("semantic") == "ready":
                return
            time.sleep(0.25)
        raise RuntimeError(f"the embedding model did not load: {self.log.read_text()}")

    def get(self, path: str, **kwargs):
        return requests.get(self.url + path, timeout=30, **kwargs)

    def request(self, method: str, path: str, **kwargs):
        return requests.request(method, self.url + path, timeout=30, **kwargs)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class SphinxCluster:
    """Real searchd processes started and stopped by the real `kb cluster` command."""

    def __init__(self, directory: Path, shards: int = 2, replicas: int = 2):
        self.directory = directory
        done = subprocess.run([str(KB_BIN), "cluster", "start", "--dir", str(directory), "--shards", str(shards),
                               "--replicas", str(replicas)], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"kb cluster start failed: {done.stderr.strip()}")
        self.nodes = done.stdout.strip().rpartition("KB_SPHINX_NODES=")[2]
        self.env = {"KB_BACKEND": "sphinx", "KB_SPHINX_NODES": self.nodes}

    def kill(self, name: str) -> None:
        """SIGKILL one node (a mirror going down mid-run)."""
        stop_node(self.directory, name, hard=True)

    def stop(self) -> None:
        subprocess.run([str(KB_BIN), "cluster", "stop", "--dir", str(self.directory)],
                       capture_output=True, text=True, timeout=120)


def ingest_sample(home: Path, env: dict) -> Path:
    subprocess.run([str(KB_BIN), "ingest", str(SAMPLE_PATH), "--home", str(home)],
                   check=True, capture_output=True, text=True, env={**os.environ, **env})
    return home


