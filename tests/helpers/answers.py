"""Answers checked against the OpenAPI document: the schema of an operation's answer (by path,
method, status and media type) as JSON Schema (OpenAPI 3.0's ``nullable`` made ``null``, references
inlined), and a validation that names what is wrong."""
from __future__ import annotations

import json
import re

import jsonschema_rs

CSL = "application/vnd.citationstyles.csl+json"


def json_schema(node, spec: dict, depth: int = 0):
    """An OpenAPI 3.0 schema as JSON Schema: ``$ref`` inlined, ``nullable: true`` allowing null."""
    if depth > 30:
        raise ValueError("schema nested too deep (a reference cycle?)")
    if isinstance(node, list):
        return [json_schema(item, spec, depth + 1) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        return json_schema(spec["components"]["schemas"][name], spec, depth + 1)
    out = {k: json_schema(v, spec, depth + 1) for k, v in node.items()
           if k not in ("nullable", "example", "examples") and k != "properties"}
    if "properties" in node:   # names of fields, not keywords: a field may be called "examples"
        out["properties"] = {name: json_schema(v, spec, depth + 1) for name, v in node["properties"].items()}
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def operation(spec: dict, method: str, path: str) -> dict:
    """The operation serving ``path`` (a concrete URL path): a literal path before a templated one."""
    candidates = []
    for template, item in spec["paths"].items():
        pattern = "^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in item:
            candidates.append((template.count("{"), template))
    if not candidates:
        raise AssertionError(f"no operation for {method} {path} in the OpenAPI document")
    return spec["paths"][min(candidates)[1]][method.lower()]


def answer_schema(spec: dict, op: dict, status: int, media_type: str) -> dict:
    responses = op["responses"]
    response = responses.get(str(status))
    assert response is not None, f"status {status} is not documented ({sorted(responses)})"
    content = response.get("content", {})
    assert media_type in content, f"{media_type} is not documented for {status} ({sorted(content)})"
    return json_schema(content[media_type]["schema"], spec)


def validate(schema: dict, instance, what: str) -> None:
    errors = [f"{e.instance_path}: {e.message}" for e in jsonschema_rs.validator_for(schema).iter_errors(instance)]
    assert not errors, f"{what} does not match its schema: " + "; ".join(errors[:5])


def check_answer(spec: dict, method: str, path: str, body: str) -> str | None:
    """Validate an answer body (JSON, JSON Lines or neither) against its operation's schema; the
    media type it was checked as, or None for bodies that are not JSON (text, CSV, YAML)."""
    op = operation(spec, method, path)
    try:
        value = json.loads(body)
    except ValueError:
        lines = [line for line in body.splitlines() if line.strip()]
        try:
            items = [json.loads(line) for line in lines]
        except ValueError:
            return None
        schema = answer_schema(spec, op, 200, "application/x-ndjson")
        for number, item in enumerate(items, 1):
            validate(schema, item, f"{method} {path} line {number}")
        return "application/x-ndjson"
    if isinstance(value, dict) and isinstance(value.get("code"), int) and "status" in value:
        status = value["code"]
    else:
        status = min(int(code) for code in op["responses"] if code.startswith("2") and code != "204")
    media_type = "application/json"
    if isinstance(value, list) and CSL in op["responses"][str(status)].get("content", {}):
        media_type = CSL   # a JSON array where the answer is an object: the citations (format=csl)
    validate(answer_schema(spec, op, status, media_type), value, f"{method} {path} {status}")
    return media_type
