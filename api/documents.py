"""Documents: list, read, add (JSON, a multipart upload, or a raw body of a known type), replace,
delete, and add many at once from JSON Lines. Writes go through the same KnowledgeBase methods as
``kb ingest`` and ``kb delete``."""
from __future__ import annotations

import json

from flask import request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import ValidationError

from kb import limits
from kb.models import Document as DocumentRecord
from kb.models import valid_document_id
from kb.readers import ReadError, read_bytes, read_jsonl, reader_for

from . import examples
from .kbstore import get_kb
from .openapi import WRITE_SECURITY, errors, passage_links
from .paging import link_header, page_links
from .schemas import (
    BulkResultSchema,
    DocumentCreatedSchema,
    DocumentDetailSchema,
    DocumentInputSchema,
    DocumentListSchema,
    PageArgs,
)

blp = Blueprint("documents", __name__, url_prefix="/api/v1", description="Documents: read, add, replace, delete")

UPLOAD_BODY = {"required": True, "content": {
    "application/json": {"schema": DocumentInputSchema, "example": examples.NEW_DOCUMENT},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "A .txt, .md, .html or .pdf file (by name, type or content)."},
        "title": {"type": "string", "description": "Overrides the title found in the file."},
        "id": {"type": "string", "description": "Overrides the id (POST only)."},
        "tags": {"type": "string", "description": "Tags for every passage (comma-separated, repeatable)."}}}},
    "text/markdown": {"schema": {"type": "string"},
                      "example": "---\ntitle: Field note\n---\nVaccines reached developing countries.\n"},
}}
BULK_BODY = {"required": True, "content": {
    # JSON Lines: each item of the array is one line (a JSON object of the document fields)
    "application/x-ndjson": {"schema": {"type": "array", "items": DocumentInputSchema,
                                        "description": "JSON Lines: one document a line."},
                             "example": examples.BULK_BODY},
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "file": {"type": "string", "format": "binary", "description": "A .jsonl file."}}}}}}


def _document_or_404(document_id: str) -> dict:
    doc = get_kb().get_document(document_id) if valid_document_id(document_id) else None
    if doc is None:
        abort(404, message=f"no document with id '{document_id[:200]}'")
    return doc


@blp.route("/documents")
class Documents(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, DocumentListSchema, example=examples.DOCUMENTS)
    @passage_links(blp, "/documents/0/id", ":1")
    @errors(blp, 304, 401)
    def get(self, args):
        """Every document, with its passage count"""
        total, documents = get_kb().list_documents(args["offset"], args["limit"])
        links = page_links(args["offset"], args["limit"], total)
        return ({"total": total, "offset": args["offset"], "limit": args["limit"], "documents": documents, **links},
                200, link_header(links))

    @blp.doc(requestBody=UPLOAD_BODY, security=WRITE_SECURITY)
    @blp.response(201, DocumentCreatedSchema, example=examples.CREATED,
                  headers={"Location": {"description": "The document's URL", "schema": {"type": "string"}}})
    @errors(blp, 400, 401, 403, 413, 415, 422, 503)
    def post(self):
        """Add a document: JSON, a multipart upload (field `file`) or a raw body of a known type

        Split, tagged and searchable at once. Re-posting the same document (same id, or same title and
        text) replaces it: there are never two copies."""
        return _store(None)


@blp.route("/documents/bulk")
class BulkDocuments(MethodView):
    @blp.doc(requestBody=BULK_BODY, security=WRITE_SECURITY)
    @blp.response(200, BulkResultSchema, example=examples.BULK_RESULT)
    @errors(blp, 401, 403, 413, 422, 503)
    def post(self):
        """Add many documents from JSON Lines (one `{title, text, id?, tags?, source?, metadata?}` a line)

        Answers line by line: the good lines land even when others are refused. `?tag=` tags them all."""
        upload = request.files.get("file") if request.mimetype == "multipart/form-data" else None
        data = upload.read() if upload else request.get_data()
        if not data.strip():
            abort(422, message="body: no documents (send JSON Lines, one document a line)",
                  errors={"body": ["no documents"]})
        lines = sum(1 for line in data.splitlines() if line.strip())
        limits.check_count(lines, "bulk_lines", "body", "lines")   # 413 before any line lands
        tags = request.args.getlist("tag")
        limits.check_tags(tags, "tag")
        try:
            report = get_kb().ingest(read_bytes(data, "bulk.jsonl"), tags)
        except ReadError as exc:
            abort(exc.status, message=f"body: {exc}", errors={"body": [str(exc)]})
        results = [{"line": item["line"], "status": 422, "error": item["error"]} if "error" in item else
                   {"status": 201, **item} for item in report.items]
        return {"documents": report.documents, "refused": len(report.refused), "passages": report.passages,
                "results": results}


@blp.route("/documents/<path:document_id>")
class Document(MethodView):
    @blp.response(200, DocumentDetailSchema, example=examples.DOCUMENT)
    @errors(blp, 304, 401, 404)
    def get(self, document_id):
        """One document: its original text and its passages"""
        return _document_or_404(document_id)

    @blp.doc(requestBody=UPLOAD_BODY, security=WRITE_SECURITY)
    @blp.response(200, DocumentCreatedSchema, example={**examples.CREATED, "replaced": True},
                  description="Replaced (201 when there was no document with this id)")
    @blp.alt_response(201, schema=DocumentCreatedSchema, description="Created", example=examples.CREATED)
    @errors(blp, 400, 401, 403, 413, 415, 422, 503)
    def put(self, document_id):
        """Replace a document (or create it under this id): JSON or an upload, as for POST"""
        if not valid_document_id(document_id):
            abort(422, message=f"id: '{document_id[:80]}' is not a valid document id",
                  errors={"path": {"document_id": ["not a valid document id"]}})
        return _store(document_id)

    @blp.response(204, description="Deleted, with its passages")
    @blp.doc(security=WRITE_SECURITY)
    @errors(blp, 401, 403, 404, 503)
    def delete(self, document_id):
        """Remove a document and its passages"""
        if not (valid_document_id(document_id) and get_kb().delete(document_id)):
            abort(404, message=f"no document with id '{document_id[:200]}'")
        return None


# ---------------------------------------------------------------------------------------------- writing

def _store(document_id: str | None):
    """Read the request's document, write it, answer 201 (200 for a PUT that replaced)."""
    kb = get_kb()
    mimetype = request.mimetype
    if mimetype == "application/json" or mimetype.endswith("+json"):
        doc = _from_json(document_id)
        replaced = kb.exists(doc.id)
        report = kb.add_document(doc)  # InvalidDocument → 422 naming the field (api/errors.py)
    else:
        if mimetype == "multipart/form-data":
            item, field_name, where = _from_upload(document_id), "file", "files"
        elif reader_for("", mimetype) not in (None, read_jsonl):
            item, field_name, where = _from_raw_body(document_id), "body", "body"
        else:
            abort(415, message=f"cannot read a body of type '{mimetype or 'none'}': send JSON "
                               "(Content-Type: application/json), a multipart upload (field 'file') or a "
                               "text/markdown, text/html, text/plain or application/pdf body")
        replaced = kb.exists(item.document.id)
        report = kb.ingest([item])  # as `kb ingest -` does with what read_bytes read
        if report.refused:
            reason = report.refused[0][1]
            abort(422, message=f"{field_name}: {reason}", errors={where: {field_name: [reason]}})
    result = report.items[-1]
    url = url_for("documents.Document", document_id=result["id"], _external=True)
    body = {**{k: result[k] for k in ("id", "title", "passages", "tags")}, "replaced": replaced, "url": url,
            "warnings": [w for _, w in report.warnings]}
    status = 200 if (document_id and replaced) else 201
    return body, status, {"Location": url}


def _from_json(document_id: str | None) -> DocumentRecord:
    try:
        data = json.loads(request.get_data())
    except UnicodeDecodeError:
        abort(400, message="malformed JSON: the body is not UTF-8")
    except json.JSONDecodeError as exc:
        abort(400, message=f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    except RecursionError:
        raise limits.too_deep("body") from None
    except ValueError as exc:
        abort(400, message=f"malformed JSON: {exc}")
    limits.depth_and_strings(data, "body", strings=False)   # the fields say which: Document.validate
    try:
        fields = DocumentInputSchema().load(data)
    except ValidationError as exc:
        abort(422, errors={"json": exc.messages})
    if document_id and fields.get("id", document_id) != document_id:
        abort(422, message=f"id: the body says '{fields['id']}' but the URL says '{document_id}'",
              errors={"json": {"id": ["differs from the id in the URL"]}})
    doc_id = document_id or fields.get("id") or DocumentRecord.make_id(fields["title"], fields["text"])
    doc = DocumentRecord(id=doc_id, title=fields["title"], text=fields["text"], source=fields["source"],
                         tags=fields["tags"], metadata=fields["metadata"])
    limits.check_document(doc)   # OverLimit → 413/422 naming the field, before anything is looked up
    return doc


def _from_upload(document_id: str | None):
    upload = request.files.get("file")
    if upload is None:
        abort(422, message="file: send the document as the multipart field 'file'",
              errors={"files": {"file": ["Missing data for required field."]}})
    tags = [t.strip() for value in request.form.getlist("tags") for t in value.split(",") if t.strip()]
    return _read_one(upload.read(), upload.filename or "", upload.mimetype or "", request.form.get("title"),
                     document_id or request.form.get("id"), tags, "files", "file")


def _from_raw_body(document_id: str | None):
    return _read_one(request.get_data(), request.args.get("filename", ""), request.mimetype,
                     request.args.get("title"), document_id or request.args.get("id"),
                     request.args.getlist("tag"), "body", "body")


def _read_one(data: bytes, filename: str, content_type: str, title, doc_id, tags, where: str, field_name: str):
    """One document from bytes, through the same readers as ``kb ingest``; 422 naming the field if not."""
    if reader_for(filename, content_type) is read_jsonl:
        abort(422, message=f"{field_name}: a JSON Lines file holds many documents: "
                           "POST it to /api/v1/documents/bulk", errors={where: {field_name: ["JSON Lines"]}})
    limits.check_tags(tags, "tags" if where == "files" else "tag")
    try:
        items = list(read_bytes(data, filename, content_type, title=title, doc_id=doc_id))
    except ReadError as exc:
        abort(exc.status, message=f"{field_name}: {exc}", errors={where: {field_name: [str(exc)]}})
    if len(items) != 1 or isinstance(items[0], ReadError):
        reason = str(items[0]) if items else "no document in it"
        abort(422, message=f"{field_name}: {reason}", errors={where: {field_name: [reason]}})
    items[0].document.tags = list(items[0].document.tags) + list(tags)
    limits.check_document(items[0].document)   # OverLimit → 413/422 naming the field
    limits.check_sections(items[0].sections)
    return items[0]
