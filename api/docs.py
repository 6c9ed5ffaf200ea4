"""``/docs``: the OpenAPI document rendered for people, on the server, by a small page of our own:
no script, no CDN, nothing fetched from elsewhere."""
from __future__ import annotations

import json

from flask import current_app, make_response, render_template
from flask.views import MethodView
from flask_smorest import Blueprint
from markdown_it import MarkdownIt
from markupsafe import Markup

blp = Blueprint("docs", __name__, description="Pages for people (HTML)")
_MARKDOWN = MarkdownIt("commonmark", {"html": False})  # raw HTML in a description is shown, never run


@blp.app_template_filter("markdown")
def markdown(text: str) -> Markup:
    """OpenAPI descriptions are CommonMark."""
    return Markup(_MARKDOWN.render(text or ""))


@blp.app_template_filter("markdown_inline")
def markdown_inline(text: str) -> Markup:
    return Markup(_MARKDOWN.renderInline(text or ""))

METHODS = ("get", "post", "put", "patch", "delete")


@blp.route("/docs")
class DocsPage(MethodView):
    @blp.doc(responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}}, security=[{}])
    @blp.response(200, description="The API reference, rendered from /openapi.json", content_type="text/html")
    def get(self):
        """The API reference for people: every path, parameter, body, answer and example"""
        spec = current_app.extensions["kb_api"].spec.to_dict()
        operations = [_operation(spec, path, method, op) for path, item in spec["paths"].items()
                      for method, op in item.items() if method in METHODS]
        schemas = {name: _properties(spec, schema) for name, schema in
                   sorted(spec.get("components", {}).get("schemas", {}).items())}
        response = make_response(render_template("docs.html", info=spec["info"], operations=operations,
                                                  schemas=schemas, version=spec["info"].get("version", "")))
        response.mimetype = "text/html"
        return response


def _ref(spec: dict, node: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        *_, kind, name = node["$ref"].split("/")
        node = spec.get("components", {}).get(kind, {}).get(name, {})
    return node


def _type(spec: dict, schema: dict | None) -> str:
    """A short type: ``Hit``, ``array of string``, ``integer``."""
    if not schema:
        return ""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return f"array of {_type(spec, schema.get('items'))}"
    if "enum" in schema:
        return " | ".join(str(v) for v in schema["enum"] if v is not None)
    return schema.get("type", "object")


def _ref_name(schema: dict | None) -> str:
    """The component a schema points to (directly or as its items), for a link."""
    schema = schema or {}
    ref = schema.get("$ref") or (schema.get("items") or {}).get("$ref") or ""
    return ref.rsplit("/", 1)[-1]


def _content(spec: dict, media: str, content: dict) -> dict:
    schema = content.get("schema")
    return {"media": media, "type": _type(spec, schema), "ref": _ref_name(schema),
            "example": _example(content.get("example"))}


def _example(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)


def _operation(spec: dict, path: str, method: str, op: dict) -> dict:
    parameters = []
    for param in op.get("parameters", []):
        param = _ref(spec, param)
        schema = param.get("schema", {})
        parameters.append({"name": param["name"], "in": param["in"], "type": _type(spec, schema),
                           "required": param.get("required", False), "default": schema.get("default"),
                           "description": param.get("description", "")})
    body = [_content(spec, media, content)
            for media, content in _ref(spec, op.get("requestBody", {})).get("content", {}).items()]
    responses = []
    for code, response in op.get("responses", {}).items():
        response = _ref(spec, response)
        contents = [_content(spec, media, content) for media, content in response.get("content", {}).items()]
        responses.append({"code": code, "description": response.get("description", ""), "contents": contents})
    secured = op.get("security", spec.get("security", []))
    return {"id": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", ""),
            "method": method.upper(), "path": path, "summary": op.get("summary", ""),
            "description": op.get("description", ""), "parameters": parameters, "body": body,
            "responses": sorted(responses, key=lambda r: r["code"]),
            "token": "required" if secured and {} not in secured else "optional" if len(secured) > 1 else ""}


def _properties(spec: dict, schema: dict) -> list[dict]:
    return [{"name": name, "type": _type(spec, prop), "ref": _ref_name(prop),
             "description": prop.get("description", "")}
            for name, prop in schema.get("properties", {}).items()]
