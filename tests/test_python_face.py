"""kb as a library: the README's Python example runs as written, ``import kb`` stays light, and the
library, the CLI and the API read a query with the same default syntax."""
from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from contextlib import redirect_stdout

from helpers import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def python_block() -> str:
    section = README[README.index("\n## Python\n"):]
    return re.search(r"^```python\n(.*?)^```", section, flags=re.S | re.M).group(1)


def test_the_readme_python_example_runs(tmp_path, monkeypatch):
    code = python_block().replace('"kb/data/', f'"{ROOT}/kb/data/')
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    out = io.StringIO()
    with redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), scope)   # noqa: S102 - the README's own example
    printed = out.getvalue().splitlines()
    assert (tmp_path / "kb-data").is_dir()
    version, documents, passages = printed[0].split()
    assert version == scope["__version__"] and documents == "1" and int(passages) >= 5
    answer = scope["answer"]
    assert answer.total >= 1 and all("covid-19" in h["tags"] for h in answer.hits)
    assert printed[2].startswith(answer.hits[0]["id"] + " Build science diplomacy")
    assert scope["passage"]["id"] == answer.hits[0]["id"] and "evidence" in scope["passage"]
    assert scope["document"]["id"] == "science-diplomacy" and scope["total"] == 1
    assert scope["lines"] and all("public-health" in p["tags"] for p in scope["lines"])


def test_import_kb_is_light_and_names_load_on_use():
    code = ("import sys, kb; assert 'kb.core' not in sys.modules and 'index' not in sys.modules; "
            "from kb import KnowledgeBase, __version__, SearchRequest, Filters, Settings; "
            "import kb.core, index; assert KnowledgeBase is kb.core.KnowledgeBase and SearchRequest is "
            "index.SearchRequest; print(__version__)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    from importlib import metadata
    assert proc.stdout.strip() == metadata.version("kb")
    proc = subprocess.run([sys.executable, "-c", "import kb; kb.nosuch"], capture_output=True, text=True)
    assert "module 'kb' has no attribute 'nosuch'" in proc.stderr


def test_library_cli_and_api_default_to_the_same_syntax(sample_home, client, run_kb):
    from kb import KnowledgeBase
    q = '"public health'   # invalid query syntax: auto reads it as words everywhere
    library = KnowledgeBase(sample_home).search(q)
    api = client.get("/api/v1/search", query_string={"q": q}).get_json()
    cli = json.loads(run_kb("search", "--json", q, home=sample_home).stdout)
    assert library.syntax == api["syntax"] == "words" and library.notice == api["notice"]
    assert [h["id"] for h in library.hits] == [h["id"] for h in api["hits"]] == [h["id"] for h in cli["hits"]]
    strict = client.get("/api/v1/search", query_string={"q": q, "syntax": "query"})
    assert strict.status_code == 400 and "position 1" in strict.get_json()["message"]


def test_search_takes_a_request_or_the_api_names_not_both(sample_home):
    import pytest

    from kb import Filters, KnowledgeBase, SearchRequest
    kb = KnowledgeBase(sample_home)
    by_names = kb.search("health", tag=["public-health"], not_tag="covid-19", limit=3)
    by_request = kb.search(SearchRequest(q="health", filters=Filters(tags=("public-health",),
                                                                     not_tags=("covid-19",)), limit=3))
    assert [h["id"] for h in by_names.hits] == [h["id"] for h in by_request.hits] and by_names.total >= 1
    with pytest.raises(TypeError):
        kb.search(SearchRequest(q="x"), limit=2)
