"""Docs that stay true: every curl command in the README's ```sh blocks runs, in order, against a live
server (with an API token) and its answer is checked, and every JSON or JSON Lines answer validates
against its operation's schema in /openapi.json (export lines included)."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess

import bibtexparser
import jsonschema
import pytest

from helpers import API_TOKEN, ROOT
from helpers.answers import check_answer
from helpers.servers import LiveServer, SphinxCluster, ingest_sample

README_URL = "http://127.0.0.1:5000"


def sh_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M)


def commands(block: str) -> list[str]:
    """Shell commands of a block: comments dropped, backslash continuations joined."""
    out, current = [], ""
    for line in block.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line[:-1] + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            out.append(current.strip())
            current = ""
    return out


def _json(output):
    return json.loads(output)


def _text_blocks(output):
    return [b for b in output.split("\n\n") if b.strip()]


def check_search_json(out, server):
    body = _json(out)
    assert body["total"] >= 1 and "<mark>public</mark>" in body["hits"][0]["snippet"].lower()


def check_search_text(out, server):
    assert "**public** **health**" in out.lower() and re.search(r"^\[\d+\.\d\d\] science-diplomacy:\d+  ", out, re.M)


def check_search_color(out, server):
    assert "\x1b[1m" in out and "next: http://" in out and "&offset=2" in out


def check_csv(out, server):
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and list(rows[0])[:3] == ["id", "document_id", "document_title"]
    assert all(re.search(r"develop|countr", r["text"], re.I) for r in rows)  # stemmed matches
    assert "developing countries" in rows[0]["text"]


def check_tag_filter(out, server):
    body = _json(out)
    assert body["total"] >= 1 and all("covid-19" in h["tags"] for h in body["hits"])


def check_fields(out, server):
    body = _json(out)
    assert body["hits"] and all(set(h) == {"id", "snippet", "document"} for h in body["hits"])
    assert all("<mark>" in h["snippet"] and h["document"]["title"] for h in body["hits"])


def check_link(out, server):
    assert re.match(r'(?i)link: <http://127\.0\.0\.1:\d+/api/v1/search\?q=science&limit=2&offset=2>; rel="next"', out)


def check_passage(out, server):
    body = _json(out)
    assert body["id"] == "science-diplomacy:1" and body["next"] == "science-diplomacy:2" and body["evidence"]


def check_tags(out, server):
    assert any(t["tag"] == "covid-19" and t["count"] >= 1 for t in _json(out)["tags"])


def check_export(out, server):
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines and all("public-health" in p["tags"] for p in lines)


def check_etag_assignment(out, server):
    assert out == ""


def check_304(out, server):
    assert out.strip() == "304"


def check_create(out, server):
    body = _json(out)
    assert body["passages"] >= 1 and "public-health" in body["tags"] and body["id"].startswith("field-note-")
    hits = server.get("/api/v1/search", params={"q": "shipped", "document": body["id"]}).json()
    assert hits["total"] == body["passages"]


def check_upload(out, server):
    body = _json(out)
    assert body["id"] == "retreat-notes" and "field-notes" in body["tags"]


def check_bulk(out, server):
    body = _json(out)
    assert body["documents"] >= 2 and body["refused"] >= 1
    assert {r["status"] for r in body["results"]} == {201, 422}


def check_put(out, server):
    body = _json(out)
    assert body["id"] == "field-note" and body["replaced"] is False
    stored = server.get("/api/v1/documents/field-note")
    assert stored.json()["text"].startswith("Revised"), (stored.status_code, stored.text[:300])


def check_patch(out, server):
    body = _json(out)
    assert body["title"] == "Field note, revised" and body["tags"] == ["reviewed"]
    assert body["metadata"] == {"site": "clinic 3"} and body["passages"] >= 1
    passages = server.get("/api/v1/documents/field-note").json()["passages"]
    assert all("reviewed" in p["tags"] for p in passages) and passages[0]["text"].startswith("Revised")


def check_since(out, server):
    body = _json(out)
    ids = [d["id"] for d in body["documents"]]
    assert "field-note" in [d["id"] for d in body["deleted"]] and "field-note" not in ids
    assert "science-diplomacy" in ids and body["total"] == len(ids) and body["as_of"] > "2020"


def check_delete(out, server):
    assert out.strip() == "204" and server.get("/api/v1/documents/field-note").status_code == 404


def check_unauthorized(out, server):
    body = _json(out)
    assert body["code"] == 401 and server.get("/api/v1/documents/science-diplomacy").status_code == 200


def check_phrase(out, server):
    body = _json(out)
    assert body["total"] >= 1 and body["syntax"] == "query"
    assert all("public health" in h["text"].lower() for h in body["hits"])
    assert all("<mark>public</mark> <mark>health</mark>" in h["snippet"].lower() for h in body["hits"])


def check_exclusion(out, server):
    body = _json(out)
    assert body["total"] == len({h["document"]["id"] for h in body["hits"]}) >= 1
    assert all("china" not in h["text"].lower() for h in body["hits"])


def check_syntax_error(out, server):
    body = _json(out)
    assert body["code"] == 400 and "position 1" in body["message"]


def check_words(out, server):
    body = _json(out)
    assert body["syntax"] == "words" and body["notice"] is None and body["total"] >= 1


def check_taxonomy_json(out, server):
    body = _json(out)
    assert body["name"] == "science-diplomacy" and body["topics"]["covid-19"]["synonyms"] and body["fingerprint"]


def check_taxonomy_yaml(out, server):
    assert out.startswith("#") and "\nname: science-diplomacy\n" in out


def check_tag_edit(out, server):
    body = _json(out)
    assert body["id"] == "science-diplomacy:1" and "reviewed" in body["tags"]
    assert "military-security" not in body["tags"] and {e["tag"] for e in body["manual"]} >= {"reviewed"}


def check_tag_query(out, server):
    body = _json(out)
    assert body["dry_run"] is True and body["to_change"] >= 1 and "changed" not in body


def check_tag_suggestions(out, server):
    body = _json(out)
    assert body["tag"] == "reviewed" and body["examples"] == 1 and body["method"] == "words"
    assert all(p["like"] == "science-diplomacy:1" and p["score"] >= body["min_score"] and "reviewed" not in p["tags"]
               for p in body["suggestions"])


def check_bibtex(out, server):
    library = bibtexparser.parse_string(out)
    assert not library.failed_blocks and [e.key for e in library.entries] == ["pereira2024retreat"]
    fields = library.entries[0].fields_dict
    assert fields["author"].value == "Pereira, Ana" and fields["date"].value == "2024-03-15"
    assert fields["url"].value == "https://example.org/notes/retreat" and "[retreat-notes:" in fields["note"].value


def check_csl(out, server):
    items = json.loads(out)
    jsonschema.validate(items, json.loads((ROOT / "tests" / "data" / "csl" / "csl-data.json").read_text()))
    assert [i["id"] for i in items] == ["pereira2024retreat"] and items[0]["issued"] == {"date-parts": [[2024, 3, 15]]}


CHECKS = [  # (a piece of the command, check of its output), in README order
    ("search?q=public+health'", check_search_json),
    ("q=public+health&format=text", check_search_text),
    ("format=text&color=1", check_search_color),
    ("Accept: text/csv", check_csv),
    ("search?tag=covid-19", check_tag_filter),
    ("fields=id,snippet,document", check_fields),
    ("grep -i '^link'", check_link),
    ("passages/science-diplomacy:1", check_passage),
    ("curl 'http://127.0.0.1:5000/api/v1/tags'", check_tags),
    ("export?tag=public-health", check_export),
    ("etag=$(", check_etag_assignment),
    ("If-None-Match", check_304),
    ("--json '{\"title\": \"Field note\", \"text\": \"Vaccines", check_create),
    ("file=@tests/data/notes.md", check_upload),
    ("documents/bulk", check_bulk),
    ("-X PUT", check_put),
    ('"metadata": {"site": "clinic 3"}', check_patch),
    ("Authorization: Bearer $KB_API_TOKEN\" 'http://127.0.0.1:5000/api/v1/documents/field-note'", check_delete),
    ("-X DELETE 'http", check_unauthorized),
    ("documents?since=2020-01-01", check_since),
    ("q=%22public+health%22", check_phrase),
    ("q=diplomacy+-China&group_by=document", check_exclusion),
    ("q=%22open+quote", check_syntax_error),
    ("--data-urlencode 'syntax=words'", check_words),
    ("curl 'http://127.0.0.1:5000/api/v1/taxonomy'", check_taxonomy_json),
    ("Accept: application/yaml", check_taxonomy_yaml),
    ("-X PATCH", check_tag_edit),
    ("tags/health-review/passages", check_tag_query),
    ("tags/reviewed/suggestions", check_tag_suggestions),
    ("author=pereira&date_from=2024&format=bibtex", check_bibtex),
    ("q=vaccine author:pereira date:>=2024-03", check_csl),
]


def readme_curl_blocks() -> list[list[str]]:
    blocks = [commands(b) for b in sh_blocks((ROOT / "README.md").read_text(encoding="utf-8"))]
    return [b for b in blocks if any(c.startswith(("curl ", "etag=")) for c in b)]


@pytest.fixture(scope="module", params=["whoosh", "sphinx"])
def readme_server(request, sample_home, tmp_path_factory):
    """The README's server, over the embedded index and over a 2-shard, 2-mirror Sphinx cluster."""
    home = tmp_path_factory.mktemp("readme-kb") / "kb"
    cluster, env = None, {"KB_API_TOKEN": API_TOKEN}
    if request.param == "whoosh":
        shutil.copytree(sample_home, home)
    else:
        cluster = SphinxCluster(tmp_path_factory.mktemp("readme-cluster"))
        env.update(cluster.env)
        ingest_sample(home, cluster.env)
    server = LiveServer(home, env=env, workers=1)
    yield server
    server.stop()
    if cluster:
        cluster.stop()


def test_every_curl_example_in_the_readme_is_checked():
    found = [c for block in readme_curl_blocks() for c in block]
    assert len(found) == len(CHECKS), found
    for command, (piece, _) in zip(found, CHECKS):
        assert piece in command, (piece, command)


def request_of(command: str) -> tuple[str, str] | None:
    """The method and path a README curl command sends; None when it prints no body (headers, a status)."""
    if " -sI " in command or "-o /dev/null" in command or "-w '%{http_code}" in command:
        return None
    path = re.search(r"http://127\.0\.0\.1:5000(/[^'\"?\s]*)", command).group(1)
    explicit = re.search(r"-X ([A-Z]+)", command)
    if explicit:
        return explicit.group(1), path
    posts = (" --json ", " -F ", "--data-binary", " -d ") if " -G " in command else \
        (" --json ", " -F ", "--data-binary", " -d ", "--data-urlencode")
    return ("POST" if any(p in command for p in posts) else "GET"), path


def test_readme_curl_examples_answer_as_documented(readme_server):
    spec = readme_server.get("/openapi.json").json()
    validated = []
    checks = iter(CHECKS)
    for block in readme_curl_blocks():
        assignments: list[str] = []  # an example may set a shell variable that the next one uses
        for command in block:
            piece, check = next(checks)
            assert piece in command
            script = "set -o pipefail\n" + "\n".join(assignments + [command]).replace(README_URL, readme_server.url)
            proc = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                                  env={**os.environ, "KB_API_TOKEN": API_TOKEN})
            assert proc.returncode == 0, (command, proc.stderr)
            try:
                check(proc.stdout, readme_server)
                sent = request_of(command)
                if sent and (checked := check_answer(spec, *sent, proc.stdout)):   # every answer is what the
                    validated.append((command, checked))                             # OpenAPI document says
            except Exception as exc:  # say which example failed and what it printed
                raise AssertionError(f"README example failed: {command}\n--- output:\n{proc.stdout}") from exc
            if re.match(r"^[A-Za-z_]+=", command):
                assignments.append(command)
    kinds = [kind for _, kind in validated]
    assert len(validated) >= 17 and "application/x-ndjson" in kinds, validated   # text, CSV, YAML, headers: not JSON
