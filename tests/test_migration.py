"""Moving a knowledge base between backends with the real `kb` command: `kb export --documents`
from one, `kb ingest` of that JSON Lines file into the other, and the same passages come out;
`kb rebuild --backend sphinx` rewrites a Sphinx knowledge base in place."""
from __future__ import annotations

import json
import os
import subprocess

from helpers import DATA, KB_BIN
from kb.core import SAMPLE_PATH, KnowledgeBase
from kb.models import Document
from kb.settings import Settings


def kb(*args, env, check=True):
    done = subprocess.run([str(KB_BIN), *map(str, args)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})
    if check and done.returncode not in (0, 2):  # 2: some files of the batch were refused
        raise AssertionError(done.stderr)
    return done


def exported(home, env, *flags):
    return [json.loads(line) for line in kb("export", "--home", home, *flags, env=env).stdout.splitlines()]


WHOOSH = {"KB_BACKEND": "whoosh"}


def test_whoosh_to_sphinx_and_back_reproduces_the_knowledge_base(private_cluster, tmp_path):
    cluster = private_cluster()
    first, second, third = tmp_path / "whoosh", tmp_path / "sphinx", tmp_path / "whoosh-again"
    kb("ingest", SAMPLE_PATH, DATA, "--tag", "imported", "--home", first, env=WHOOSH)
    documents = exported(first, WHOOSH, "--documents")
    assert len(documents) >= 6 and any(d.get("sections") for d in documents)
    dump = tmp_path / "documents.jsonl"
    dump.write_text(kb("export", "--home", first, "--documents", env=WHOOSH).stdout)

    loaded = kb("ingest", dump, "--home", second, env=cluster.env)
    assert loaded.returncode == 0 and f"ingested {len(documents)} documents" in loaded.stdout
    assert exported(second, cluster.env, "--documents") == documents
    assert exported(second, cluster.env) == exported(first, WHOOSH)

    back = tmp_path / "back.jsonl"
    back.write_text(kb("export", "--home", second, "--documents", env=cluster.env).stdout)
    kb("ingest", back, "--home", third, env=WHOOSH)
    assert exported(third, WHOOSH, "--documents") == documents
    assert exported(third, WHOOSH) == exported(first, WHOOSH)
    for args in (["--tag", "imported"], ["--not-tag", "covid-19", "--csv"]):
        assert kb("export", "--home", second, *args, env=cluster.env).stdout == \
            kb("export", "--home", first, *args, env=WHOOSH).stdout


def test_export_documents_refuses_filters(tmp_path):
    done = kb("export", "--documents", "--tag", "x", "--home", tmp_path, env=WHOOSH, check=False)
    assert done.returncode == 1 and done.stderr.startswith("kb: --documents writes every document")


def test_rebuild_in_place_on_sphinx(private_cluster, tmp_path):
    cluster = private_cluster(shards=2, replicas=1)
    home = tmp_path / "kb"
    kb("ingest", SAMPLE_PATH, DATA / "notes.md", "--home", home, env=cluster.env)
    before = exported(home, cluster.env)
    version = json.loads(kb("stats", "--home", home, env=cluster.env).stdout)["version"]
    done = kb("rebuild", "--backend", "sphinx", "--sphinx-nodes", cluster.nodes, "--home", home, env={})
    assert done.stdout.strip() == "rebuilt 2 documents"
    assert exported(home, cluster.env) == before
    assert json.loads(kb("stats", "--home", home, env=cluster.env).stdout)["version"] != version


def test_a_long_document_is_stored_whole_in_chunks(private_cluster, tmp_path):
    cluster = private_cluster(shards=1, replicas=1)
    sentence = "Research stations in the Arctic share logistics, data and ships with one another. "
    text = "Arctic logistics\n\n" + "\n\n".join(sentence * 40 + f"Paragraph {i} ends here with ünïcödé."
                                                 for i in range(160))
    assert len(text) > 400_000
    knowledge = KnowledgeBase(Settings.from_env(home=tmp_path / "kb", backend="sphinx", sphinx_nodes=cluster.nodes,
                                                batch_documents=1))
    knowledge.add_document(Document(id="arctic", title="Arctic logistics", text=text, metadata={"pages": 3}))
    stored = knowledge.get_document("arctic")
    assert stored["original"] == text and stored["metadata"] == {"pages": 3}   # the text as given, whole
    assert len(stored["passages"]) > 100
    assert all(stored["text"][p["start"]:p["end"]] == p["text"] for p in stored["passages"])   # the clean text
    assert [d["id"] for d in knowledge.export_documents()] == ["arctic"]
