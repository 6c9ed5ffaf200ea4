"""Shared fixtures: a knowledge base on disk, the Flask app, its client and CLI runner, a real
``kb serve`` on a free loopback port, and real Sphinx clusters (``kb cluster start``) for the
SphinxQL backend: ``live_server`` runs every end-to-end test over both backends."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
import requests
from click.testing import CliRunner

from api import create_app
from kb.cli import main as kb_main
from kb.core import SAMPLE_PATH, KnowledgeBase


# In CI every property test draws the same examples (a fixed seed per test), so a green run stays green.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

# The suite runs the same with or without the semantic extra: embeddings are off unless a test
# turns them on (tests/semantic/), so the base tests stay fast and never load the model.
os.environ["KB_SEMANTIC"] = "0"

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
KB_BIN = Path(sys.executable).with_name("kb")
BACKEND_VARIABLES = ("KB_BACKEND", "KB_SPHINX_NODES")


@pytest.fixture(scope="session", autouse=True)
def embedded_backend_by_default():
    """Tests choose their backend explicitly: a KB_BACKEND in the caller's shell must not leak in."""
    saved = {name: os.environ.pop(name) for name in BACKEND_VARIABLES if name in os.environ}
    yield
    os.environ.update(saved)


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
        from index.sphinx_cluster import stop_node
        stop_node(self.directory, name, hard=True)

    def stop(self) -> None:
        subprocess.run([str(KB_BIN), "cluster", "stop", "--dir", str(self.directory)],
                       capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="session")
def sphinx_cluster(tmp_path_factory):
    """The shared 2-shard, 2-mirror cluster that holds the sample (read-only tests)."""
    cluster = SphinxCluster(tmp_path_factory.mktemp("sphinx-cluster"))
    yield cluster
    cluster.stop()


@pytest.fixture
def private_cluster(tmp_path):
    """A cluster of one's own, to write to or to break (2 shards, 2 mirrors)."""
    clusters = []

    def start(shards: int = 2, replicas: int = 2) -> SphinxCluster:
        clusters.append(SphinxCluster(tmp_path / f"cluster-{len(clusters)}", shards, replicas))
        return clusters[-1]
    yield start
    for cluster in clusters:
        cluster.stop()


def ingest_sample(home: Path, env: dict) -> Path:
    subprocess.run([str(KB_BIN), "ingest", str(SAMPLE_PATH), "--home", str(home)],
                   check=True, capture_output=True, text=True, env={**os.environ, **env})
    return home


@pytest.fixture(scope="session")
def whoosh_home(tmp_path_factory) -> Path:
    """The sample in the embedded index, filled by the real `kb ingest` command."""
    return ingest_sample(tmp_path_factory.mktemp("served-kb") / "kb", {"KB_BACKEND": "whoosh"})


@pytest.fixture(scope="session")
def sphinx_home(tmp_path_factory, sphinx_cluster) -> Path:
    """The sample in the shared Sphinx cluster, filled by the real `kb ingest` command."""
    return ingest_sample(tmp_path_factory.mktemp("served-sphinx-kb") / "kb", sphinx_cluster.env)


@pytest.fixture(scope="session")
def whoosh_server(whoosh_home):
    """A server without tokens over the sample in Whoosh (tests only read from it)."""
    server = LiveServer(whoosh_home, env={"KB_BACKEND": "whoosh"})
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sphinx_server(sphinx_home, sphinx_cluster):
    """A server without tokens over the sample in the Sphinx cluster (tests only read from it)."""
    server = LiveServer(sphinx_home, env=sphinx_cluster.env)
    yield server
    server.stop()


@pytest.fixture(scope="session", params=["whoosh", "sphinx"])
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def backend_env(backend, request) -> dict:
    """The environment that points `kb` at the backend under test."""
    return {"KB_BACKEND": "whoosh"} if backend == "whoosh" else request.getfixturevalue("sphinx_cluster").env


@pytest.fixture(scope="session")
def server_home(backend, request) -> Path:
    """The knowledge base the live server serves (the sample, in the backend under test)."""
    return request.getfixturevalue(f"{backend}_home")


@pytest.fixture(scope="session")
def live_server(backend, request):
    """`kb serve` over the sample, once per backend: the end-to-end suite runs against both."""
    return request.getfixturevalue(f"{backend}_server")


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
