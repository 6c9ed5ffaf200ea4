"""The parts of the OpenAPI document that schemas alone do not give: the security scheme, the other
media types of search and export, every error each operation can answer, and the routes outside the
API blueprints (/openapi.json). The pages for people (/, /passage/…, /docs) are HTML, not API: they
are left out."""
from __future__ import annotations

from flask_smorest.error_handler import ErrorSchema

from . import examples

DESCRIPTION = """A searchable knowledge base of tagged passages.

* **Reads** are open unless the server has a read token (`KB_READ_TOKEN`); **writes** (POST, PUT, PATCH,
  DELETE; not `POST /api/v1/search`, a search with its arguments in a body) need
  `Authorization: Bearer <token>` when the server has an API token (`KB_API_TOKEN` or
  `kb serve --token-file`), else the read token when it has one, and are accepted only from loopback
  (for a Host naming this machine) when it has none.
* **Arguments**: a query parameter an operation does not declare is a 400 naming it.
* **Formats**: search and export answer JSON, text (for a terminal), CSV or JSON Lines: `format=` or the
  `Accept` header.
* **Pages** link to each other (`Link: <...>; rel="next"`), every GET carries an `ETag` (the index version)
  and answers `304` to `If-None-Match`, reads allow CORS.
* **Errors** are JSON of one shape, `{"code", "status", "message", "errors"?}`, on every path.
"""

SPEC_OPTIONS = {
    "info": {"description": DESCRIPTION},
    "security": [{}, {"bearerAuth": []}],
    "components": {"securitySchemes": {"bearerAuth": {
        "type": "http", "scheme": "bearer",
        "description": "KB_API_TOKEN for writes; KB_READ_TOKEN (or the API token) for reads when set."}}},
}
WRITE_SECURITY = [{"bearerAuth": []}]

ERROR_DESCRIPTIONS = {
    400: "The query or the JSON body cannot be read; the message says what and where.",
    401: "A token is needed (or the one given is wrong).",
    403: "No token is configured and the write did not come from loopback for a Host naming this machine "
         "(or came from another site's page).",
    404: "No such passage or document.",
    406: "None of the accepted media types can be produced.",
    409: "The id holds a document of another source (POST never replaces it: PUT does, or delete it first).",
    413: "The request body is over the limit (25 MB by default), or what it holds is (text, PDF pages, HTML "
         "elements, headings, bulk lines): the message names the limit and its KB_MAX_* setting.",
    415: "The body is neither JSON, a multipart upload nor a format the readers know.",
    422: "A field is missing or invalid; errors names it.",
    501: "The search engine behind this server cannot do this (fuzzy terms on the Sphinx backend).",
    503: "The index is busy with another writer, or the search engine's nodes do not answer (see Retry-After).",
}


NOT_MODIFIED = ("Not modified since the ETag sent in If-None-Match (the index has not changed): "
                "no body, ETag repeated.")


def errors(blp, *codes: int):
    """Document these answers on an operation: each error an ``Error`` with an example; 304 for the
    cached GETs."""
    def decorate(func):
        for code in codes:
            if code == 304:
                func = blp.alt_response(304, description=NOT_MODIFIED, success=True, headers={
                    "ETag": {"description": "The index version", "schema": {"type": "string"}}})(func)
                continue
            func = blp.alt_response(code, schema=ErrorSchema, description=ERROR_DESCRIPTIONS[code],
                                    example=examples.ERRORS[code])(func)
        return func
    return decorate


CITATION_CONTENT = {
    "application/vnd.citationstyles.csl+json": {"schema": {"type": "array", "items": {
        "type": "object", "description": "A CSL-JSON item (https://citeproc-js.readthedocs.io/en/latest/csl-json/"
                                         "markup.html): one per document, its cited passages as note."}}},
    "application/x-bibtex": {"schema": {"type": "string"}},
    "application/x-research-info-systems": {"schema": {"type": "string"}},
}


def citation_formats(blp):
    """The 200 answer's citation media types (format=csl|bibtex|ris or Accept)."""
    return blp.doc(responses={200: {"content": dict(CITATION_CONTENT)}})


def alternative_formats(blp, text: str, csv: str, jsonl: str | None, json_example: dict | None = None,
                        jsonl_schema: str = "SearchHit", json_schema: str = "ExportResponse"):
    """The 200 answer's other media types (format=text|csv|jsonl|csl|bibtex|ris or Accept)."""
    content = {
        "text/plain": {"schema": {"type": "string"}, "example": text},
        "text/csv": {"schema": {"type": "string"}, "example": csv},
    }
    if jsonl is not None:
        content["application/x-ndjson"] = {
            "schema": {"$ref": f"#/components/schemas/{jsonl_schema}"},
            "example": jsonl}
    content.update(CITATION_CONTENT)
    if json_example is not None:
        content["application/json"] = {"schema": {"$ref": f"#/components/schemas/{json_schema}"},
                                       "example": json_example}
    return blp.doc(responses={200: {"content": content}})


def passage_links(blp, pointer: str, suffix_of_id: str = ""):
    """OpenAPI links from an answer that lists passages (or documents) to the passage and its similar
    passages (``pointer``: where the first id is in the JSON answer; ``suffix_of_id``: ``:1`` makes a
    document's id its first passage's), so clients and schemathesis's stateful runs can follow them."""
    value = f"{{$response.body#{pointer}}}{suffix_of_id}" if suffix_of_id else f"$response.body#{pointer}"
    links = {name: {"operationRef": f"#/paths/~1api~1v1~1passages~1{{passage_id}}{suffix}/get",
                    "parameters": {"passage_id": value}, "description": description}
             for name, suffix, description in (("passage", "", "The first passage listed"),
                                               ("similar", "~1similar", "Passages like the first one listed"))}
    if suffix_of_id:
        links["document"] = {"operationRef": "#/paths/~1api~1v1~1documents~1{document_id}/get",
                             "parameters": {"document_id": f"$response.body#{pointer}"},
                             "description": "The first document listed"}
    return blp.doc(responses={200: {"links": links}})


def complete_spec(api) -> None:
    from .schemas import ExportResponseSchema
    api.spec.components.schema("ExportResponse", schema=ExportResponseSchema)
    rule = next(r for r in api._app.url_map.iter_rules() if r.rule == "/openapi.json")
    api.spec.path(rule=rule, operations={"get": {
        "summary": "This OpenAPI document",
        "operationId": "getOpenApi",
        "tags": ["system"],
        "security": [{}],
        "responses": {"200": {"description": "OpenAPI 3", "content": {"application/json": {
            "schema": {"type": "object"}}}}}}})
