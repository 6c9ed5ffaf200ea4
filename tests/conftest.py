"""Shared fixtures: a knowledge base on disk, the Flask app, its client and CLI runner, and a
real ``kb serve`` on a free loopback port."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from api import create_app
from kb.cli import main as kb_main
from kb.core import SAMPLE_PATH, KnowledgeBase

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
KB_BIN = Path(sys.executable).with_name("kb")


@pytest.fixture(scope="session")
def sample_home(tmp_path_factory) -> Path:
    """A knowledge base holding the sample, built once; tests that write copy it."""
    home = tmp_path_factory.mktemp("sample-kb")
    KnowledgeBase(home=home).ingest_paths([SAMPLE_PATH])
    return home


@pytest.fixture
def kb_home(sample_home, tmp_path) -> Path:
    """A private, writable copy of the sample knowledge base."""
    home = tmp_path / "kb"
    shutil.copytree(sample_home, home)
    return home


@pytest.fixture
def kb(kb_home) -> KnowledgeBase:
    return KnowledgeBase(home=kb_home)


@pytest.fixture(scope="session")
def app(sample_home):
    """The app over the shared sample knowledge base (read-only tests)."""
    return create_app({"TESTING": True, "KB_HOME": str(sample_home)})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def writable_app(kb_home):
    return create_app({"TESTING": True, "KB_HOME": str(kb_home)})


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def run_kb(runner):
    """Invoke the kb command in-process: run_kb("search", "health", home=path)."""
    def invoke(*args, home=None, input=None):
        argv = list(args) + (["--home", str(home)] if home else [])
        return runner.invoke(kb_main, argv, input=input, catch_exceptions=False)
    return invoke


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, home: Path, env: dict | None = None, workers: int = 2, args: tuple = ()):
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
        self.wait_ready()

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


@pytest.fixture(scope="session")
def server_home(tmp_path_factory) -> Path:
    """A knowledge base filled by the real `kb ingest` command, for the live server."""
    home = tmp_path_factory.mktemp("served-kb") / "kb"
    subprocess.run([str(KB_BIN), "ingest", str(SAMPLE_PATH), "--home", str(home)],
                   check=True, capture_output=True, text=True)
    return home


@pytest.fixture(scope="session")
def live_server(server_home):
    """A server without tokens over the sample (tests only read from it)."""
    server = LiveServer(server_home)
    yield server
    server.stop()


API_TOKEN = "test-token-0123456789abcdef"


@pytest.fixture(scope="session")
def token_server(sample_home, tmp_path_factory):
    """A server whose writes need API_TOKEN, over its own copy of the sample (tests write to it)."""
    home = tmp_path_factory.mktemp("token-kb") / "kb"
    shutil.copytree(sample_home, home)
    server = LiveServer(home, env={"KB_API_TOKEN": API_TOKEN, "KB_LOCK_TIMEOUT": "1"})
    yield server
    server.stop()


@pytest.fixture
def auth():
    return {"Authorization": f"Bearer {API_TOKEN}"}
