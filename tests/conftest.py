"""Shared fixtures: a knowledge base on disk, the Flask app, its client and CLI runner, a real
``kb serve`` on a free loopback port, and real Sphinx clusters (``kb cluster start``) for the
SphinxQL backend: ``live_server`` runs every end-to-end test over both backends."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings as hypothesis_settings

from api import create_app
from helpers import API_TOKEN, shared_present
from helpers.servers import LiveServer, SphinxCluster, ingest_sample
from kb.cli import main as kb_main
from kb.core import SAMPLE_PATH, KnowledgeBase

# In CI every property test draws the same examples (a fixed seed per test), so a green run stays green.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

# The suite runs the same with or without the semantic extra: embeddings are off unless a test
# turns them on (tests/semantic/), so the base tests stay fast and never load the model.
os.environ["KB_SEMANTIC"] = "0"

BACKEND_VARIABLES = ("KB_BACKEND", "KB_SPHINX_NODES")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``shared`` compare with ../shared/eval: without it (a clone alone) they skip."""
    if shared_present():
        return
    skip = pytest.mark.skip(reason="compares with ../shared/eval, which is not beside this clone")
    for item in items:
        if item.get_closest_marker("shared"):
            item.add_marker(skip)


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
    KnowledgeBase(home).ingest_paths([SAMPLE_PATH])
    return home


@pytest.fixture
def kb_home(sample_home, tmp_path) -> Path:
    """A private, writable copy of the sample knowledge base."""
    home = tmp_path / "kb"
    shutil.copytree(sample_home, home)
    return home


@pytest.fixture
def kb(kb_home) -> KnowledgeBase:
    return KnowledgeBase(kb_home)


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


@pytest.fixture(scope="session")
def token_server(sample_home, tmp_path_factory):
    """A server whose writes need API_TOKEN, over its own copy of the sample (tests write to it)."""
    home = tmp_path_factory.mktemp("token-kb") / "kb"
    shutil.copytree(sample_home, home)
    server = LiveServer(home, env={"KB_API_TOKEN": API_TOKEN, "KB_HTTP_LOCK_TIMEOUT": "1"})
    yield server
    server.stop()


@pytest.fixture
def auth():
    return {"Authorization": f"Bearer {API_TOKEN}"}
