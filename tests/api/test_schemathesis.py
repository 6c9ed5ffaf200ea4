"""Property-based API testing with schemathesis against a live `kb serve` (with a write token):
requests generated from the served /openapi.json, valid ones and invalid ones, MAX_EXAMPLES per
operation and mode; every answer must be no 5xx and match what the document says (status codes,
content types, headers, response schemas); invalid requests and writes without the token must be
refused.

Schemathesis's checks are left out where kb is right to differ: a write whose JSON is valid can
still say nothing kb can index (text "0": no passages) and gets a 422, not the 2xx that "positive
data acceptance" wants; a raw text/* or file body is any bytes, so what schemathesis sends there as
a "wrong type" is still a document; a search's `q` can be any string of the right length and still
not parse (a 400 that says where), and `mode=semantic|hybrid` is a 400 that says how to enable
semantic search on a server without it; `fields=` narrows JSON and JSON Lines only, so with
`format=csv|text|csl|...` the export is a 400 the schema cannot express; and the HTML pages are
forgiving by design (a hand-edited URL gets a page, never an error page), so they get no
invalid-input run.

The bulk endpoint's JSON Lines body is described to the fuzzer as an array of documents, one a
line (the served document says bytes, for client generators); an NDJSON serializer registered
with schemathesis writes each generated item as a line, so that endpoint is fuzzed like the others.
Its answer is line by line (a 200 whose bad lines say 422), so an invalid line is not a refused
request: the invalid-data check is left out there too.

Generation is derandomized: the same requests every run, so a red CI is always reproducible.
(Schemathesis's own pytest plugin does not run under pytest 9, so each operation's strategy is
driven by Hypothesis directly: the same generation and the same checks.)"""
from __future__ import annotations

import json
import shutil
import tempfile

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from api import create_app
from helpers.servers import LiveServer
from helpers.trials import TOKEN

MAX_EXAMPLES = 20


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    """JSON Lines: a generated array is one JSON value a line; bytes and text go as they are."""
    if isinstance(value, bytes):
        return {"data": value}
    if isinstance(value, str):
        return {"data": value.encode("utf-8", "surrogatepass")}
    items = value if isinstance(value, list) else [value]
    return {"data": "".join(json.dumps(item) + "\n" for item in items).encode("utf-8", "surrogatepass")}
CASES: list[str] = []
WRITES = ("POST", "PUT", "PATCH", "DELETE")
BULK = "/api/v1/documents/bulk"


def operations() -> list[tuple[str, str, GenerationMode]]:
    """Every operation with valid requests; with invalid ones too where the document constrains
    something (query parameters, a body): an unconstrained path string has no invalid value."""
    with tempfile.TemporaryDirectory() as home:
        spec = create_app({"KB_HOME": home}).test_client().get("/openapi.json").get_json()
    out = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            out.append((method.upper(), path, GenerationMode.POSITIVE))
            params = op.get("parameters", []) + item.get("parameters", [])
            page = not path.startswith(("/api/", "/openapi"))
            if not page and ("requestBody" in op or any(p.get("in") == "query" for p in params)):
                out.append((method.upper(), path, GenerationMode.NEGATIVE))
    return out


@pytest.fixture(scope="module")
def schemathesis_server(sample_home, tmp_path_factory):
    home = tmp_path_factory.mktemp("schemathesis") / "kb"
    shutil.copytree(sample_home, home)   # a private copy: generated writes may delete anything
    server = LiveServer(home, env={"KB_API_TOKEN": TOKEN})
    yield server
    server.stop()
    print(f"\nschemathesis: {len(CASES)} generated requests over {len(set(CASES))} operation/mode/media type triples")
    print(f"schemathesis: {sum('application/x-ndjson' in c for c in CASES)} JSON Lines bodies to the bulk endpoint")


@pytest.fixture(scope="module")
def api_schema(schemathesis_server):
    """The served document, with the bulk body also declared as what its bytes are: documents, one a
    line (served as application/octet-stream only, which client generators import)."""
    spec = requests.get(schemathesis_server.url + "/openapi.json", timeout=30).json()
    spec["paths"][BULK]["post"]["requestBody"]["content"]["application/x-ndjson"] = {
        "schema": {"type": "array", "items": {"$ref": "#/components/schemas/DocumentInput"}}}
    return schemathesis.openapi.from_dict(spec)


@pytest.mark.slow
@pytest.mark.parametrize("method,path,mode", operations(), ids=lambda v: getattr(v, "value", v))
def test_generated_requests_get_documented_answers(api_schema, schemathesis_server, method, path, mode):
    operation = api_schema[path][method]
    session = requests.Session()

    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case):
        CASES.append(f"{method} {path} {mode.value} {case.media_type or ''}".rstrip())
        headers = dict(case.headers or {})
        if method in WRITES and (mode is GenerationMode.POSITIVE or "Authorization" in headers):
            headers["Authorization"] = f"Bearer {TOKEN}"   # the real token; left out, the write must get 401
            case.headers = headers
        response = case.call(base_url=schemathesis_server.url, session=session)
        assert response.status_code < 500, response.text[:500]
        if response.status_code in (414, 431):   # refused by gunicorn before the app: no operation's answer
            error = response.json()
            assert error["code"] == response.status_code and error["message"]
            return
        refusing = method in WRITES or path in ("/api/v1/search", "/api/v1/export")
        excluded = [positive_data_acceptance] if refusing else []
        if mode is GenerationMode.NEGATIVE and ("json" not in (case.media_type or "json") or path == BULK):
            excluded.append(negative_data_rejection)   # a bulk body answers line by line: 200, bad lines 422
        case.validate_response(response, excluded_checks=excluded or None)

    check()


@pytest.fixture
def stateful_server(sample_home, tmp_path):
    """A server of its own: the generated writes of the runs above may have deleted every document."""
    home = tmp_path / "kb"
    shutil.copytree(sample_home, home)
    server = LiveServer(home, env={"KB_API_TOKEN": TOKEN})
    yield server
    server.stop()


@pytest.mark.slow
def test_stateful_runs_follow_the_links_from_search_to_passages(stateful_server):
    """Schemathesis's stateful run over the OpenAPI links: the documents list (and a search's first
    hit) leads to a passage and its similar passages, so those get real ids, not only random strings
    that are 404s."""
    reached: list[tuple[str, int]] = []
    api_schema = schemathesis.openapi.from_url(stateful_server.url + "/openapi.json")

    class Machine(api_schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"base_url": stateful_server.url, "headers": {"Authorization": f"Bearer {TOKEN}"}}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            reached.append((f"{case.method} {case.path}", response.status_code))
            assert response.status_code < 500, response.text[:500]
            if response.status_code >= 400 and response.headers.get("Content-Type", "").startswith("application/json"):
                error = response.json()
                assert error["code"] == response.status_code and error["message"]

    Machine.run(settings=settings(max_examples=60, stateful_step_count=5, deadline=None, database=None,
                                  derandomize=True, suppress_health_check=list(HealthCheck)))
    print(f"\nschemathesis stateful: {len(reached)} calls")
    linked = {op for op, status in reached if status == 200 and op.startswith("GET /api/v1/passages/")}
    # random path strings are 404s: a 200 here is an id taken from a linked answer (which of the two
    # operations gets one first varies with the machine's load: both did in most runs)
    assert linked, sorted(set(reached))[:40]
