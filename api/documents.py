"""Documents: list, read, add (JSON, a multipart upload, or a raw body of a known type), replace,
delete, and add many at once from JSON Lines. Writes go through the same KnowledgeBase methods as
``kb ingest`` and ``kb delete``."""
from __future__ import annotations

import json
import logging

from flask import current_app, jsonify, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import ValidationError

from index import BackendUnavailable, IndexBusy
from kb import jobs, limits
from kb.citation import CITATION_FIELDS
from kb.metadata_filters import MetadataFilters
from kb.models import Document as DocumentRecord
from kb.models import now_iso, valid_document_id
from kb.readers import ReadError, read_bytes, read_jsonl, reader_for

from . import examples
from .document_schemas import (
    BulkArgs,
    BulkResultSchema,
    DocumentCreatedSchema,
    DocumentDetailSchema,
    DocumentInputSchema,
    DocumentListSchema,
    DocumentPatchSchema,
    DocumentSummarySchema,
    PageArgs,
    UploadArgs,
)
from .formats import negotiate, stream
from .jobs import EXAMPLE as JOB_EXAMPLE
from .jobs import JobSchema, job_url
from .kbstore import get_kb
from .openapi import WRITE_SECURITY, citation_formats, errors, passage_links
from .paging import link_header, page_links

# citation fields an upload may give: as multipart form fields, or as query parameters of a raw body
UPLOAD_CITATION = {
    "source": "Where the file comes from (path or URL); default: its file name.",
    "url": "The document's URL.", "doi": "Its DOI (10.xxxx/...).", "publisher": "Publisher, journal or site.",
    "date": "ISO 8601 as precise as known: 2021, 2021-03, 2021-03-04.",
    "author": "An author (repeatable); or `authors` with names separated by ';'.",
    "metadata": "A JSON object kept with the document (over what the file says; 64 KB at most).",
}

log = logging.getLogger("kb.api")
blp = Blueprint("documents", __name__, url_prefix="/api/v1", description="Documents: read, add, replace, delete")

# Each way of sending a document is its own media type, each with one schema, so that generated clients
# type it (one body class per type): JSON, a multipart upload, or the file's bytes as they are. A raw
# body may also be sent under its own type (text/markdown, text/html, text/plain, application/pdf).
RAW_BODY = {"schema": {"type": "string", "format": "binary",
                       "description": "The file's bytes: `filename=` (its extension) or the Content-Type "
                                      "(text/markdown, text/html, text/plain, application/pdf) says how to "
                                      "read it."}}
UPLOAD_BODY = {"required": True, "content": {
    "application/json": {"schema": DocumentInputSchema, "example": examples.NEW_DOCUMENT},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "A .txt, .md, .html or .pdf file (by name, type or content)."},
        "title": {"type": "string", "description": "Overrides the title found in the file."},
        "id": {"type": "string", "description": "Overrides the id (POST only)."},
        "tags": {"type": "string", "description": "Tags for every passage (comma-separated, repeatable)."},
        **{name: {"type": "string", "description": text} for name, text in UPLOAD_CITATION.items()}}}},
    "application/octet-stream": RAW_BODY,
}}
# JSON Lines as bytes (one DocumentInput a line): client generators import an octet-stream body, not
# application/x-ndjson (tests/api/test_schemathesis.py tells its fuzzer what the lines are)
BULK_BODY = {"required": True, "content": {
    "application/octet-stream": {"schema": {
        "type": "string", "format": "binary",
        "description": "JSON Lines, one document a line (sent as application/x-ndjson, or any type)."},
        "example": examples.BULK_BODY},
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "file": {"type": "string", "format": "binary", "description": "A .jsonl file."}}}}}}


def metadata_from(args: dict) -> MetadataFilters:
    return MetadataFilters(tuple(args.get("author", ())), args.get("date_from", ""), args.get("date_to", ""),
                           args.get("source", ""))


def _document_or_404(document_id: str) -> dict:
    doc = get_kb().get_document(document_id) if valid_document_id(document_id) else None
    if doc is None:
        abort(404, message=f"no document with id '{document_id[:200]}'")
    return doc


@blp.route("/documents")
class Documents(MethodView):
    @blp.arguments(PageArgs(), location="query")
    @blp.response(200, DocumentListSchema, example=examples.DOCUMENTS)
    @citation_formats(blp)
    @passage_links(blp, "/documents/0/id", ":1")
    @errors(blp, 304, 401, 406)
    @blp.doc(operationId="listDocuments")
    def get(self, args):
        """Every document, with its passage count; with `since`, what changed since (to sync)

        Author, date and source filter the list as they filter a search. `since=2024-05-01T10:00:00Z`:
        the documents stored (added, replaced or changed by PATCH) at or after that time (and that
        pass those filters), a page at a time, and `deleted`, the ids of every document deleted
        since (filters aside: a deleted document has no metadata left). Pass the answer's `as_of`
        as the next `since`: a document stored in that very second comes again rather than never."""
        fmt = negotiate(args["format"], ("json", "csl", "bibtex", "ris"))
        offset, limit, metadata = args["offset"], args["limit"], metadata_from(args)
        if args["since"] is None:
            as_of = now_iso()
            total, documents = get_kb().list_documents(offset, limit, metadata)
            extra = {"as_of": as_of}
        else:
            try:
                found = get_kb().changes(args["since"], offset, limit, metadata)
            except ValueError as exc:
                abort(400, message=str(exc), errors={"query": {"since": [str(exc)]}})
            total, documents = found.pop("total"), found.pop("documents")
            extra = found
        links = page_links(offset, limit, total)
        if fmt != "json":
            return stream(documents, fmt, filename="documents", headers={**link_header(links),
                                                                         "X-Total-Count": str(total)})
        return ({"total": total, "offset": offset, "limit": limit, "documents": documents, **links, **extra},
                200, link_header(links))

    @blp.arguments(UploadArgs(), location="query")
    @blp.doc(requestBody=UPLOAD_BODY, security=WRITE_SECURITY)
    @blp.response(201, DocumentCreatedSchema, example=examples.CREATED,
                  headers={"Location": {"description": "The document's URL", "schema": {"type": "string"}}})
    @errors(blp, 400, 401, 403, 409, 413, 415, 422, 503)
    @blp.doc(operationId="createDocument")
    def post(self, args):
        """Add a document: JSON, a multipart upload (field `file`) or a raw body of a known type

        Split, tagged and searchable at once. Re-posting the same document (same id, or same title and
        text) replaces it: there are never two copies. A document of another source under that id is not
        replaced: 409 (PUT replaces on purpose)."""
        return _store(None, args)


@blp.route("/documents/bulk")
class BulkDocuments(MethodView):
    @blp.arguments(BulkArgs(), location="query")
    @blp.doc(requestBody=BULK_BODY, security=WRITE_SECURITY)
    @blp.response(200, BulkResultSchema, example=examples.BULK_RESULT)
    @blp.alt_response(202, schema=JobSchema, example=JOB_EXAMPLE, description=(
        "A body over KB_BULK_JOB_SIZE runs as a job: poll the Location (/api/v1/jobs/<id>) until done"),
        headers={"Location": {"description": "The job's URL", "schema": {"type": "string"}}})
    @errors(blp, 400, 401, 403, 413, 422, 503)
    @blp.doc(operationId="createDocuments")
    def post(self, args):
        """Add many documents from JSON Lines (one `{title, text, id?, tags?, source?, metadata?}` a line)

        Answers line by line: the good lines land even when others are refused. `?tag=` tags them all.
        A body larger than KB_BULK_JOB_SIZE (1 MB) is a job: `202 Accepted`, `Location: /api/v1/jobs/<id>`.
        A post that stops part-way says which line was the last committed."""
        upload = request.files.get("file") if request.mimetype == "multipart/form-data" else None
        data = upload.read() if upload else request.get_data()
        if not data.strip():
            abort(422, message="body: no documents (send JSON Lines, one document a line)",
                  errors={"body": ["no documents"]})
        lines = sum(1 for line in data.splitlines() if line.strip())
        limits.check_count(lines, "bulk_lines", "body", "lines")   # 413 before any line lands
        tags = args["tag"]
        limits.check_tags(tags, "tag")
        settings = current_app.config["KB_SETTINGS"]
        if len(data) > settings.bulk_job_size:
            job = jobs.start_bulk(settings, data, tags)
            url = job_url(job["id"])   # not the 200's schema: a Response of its own
            answer = jsonify(JobSchema().dump({**job, "url": url}))
            answer.status_code, answer.headers["Location"] = 202, url
            return answer
        progress: dict = {}
        try:
            report = get_kb().ingest(read_bytes(data, "bulk.jsonl"), tags,
                                     progress=lambda r: progress.update(jobs.committed(r)))
        except ReadError as exc:
            abort(exc.status, message=f"body: {exc}", errors={"body": [str(exc)]})
        except Exception as exc:
            if not progress.get("documents"):
                raise   # nothing landed: the error as any write answers it (a 503 when busy, ...)
            # part of it landed: say up to where, whatever stopped it
            log.exception("bulk post stopped after line %s", progress["last_committed_line"])
            busy = isinstance(exc, (IndexBusy, BackendUnavailable))
            abort(503 if busy else 500,
                  message=f"the bulk post stopped: the lines up to {progress['last_committed_line']} landed "
                          f"({progress['documents']} documents), the lines after it did not",
                  errors={"committed": {"documents": progress["documents"],
                                        "last_committed_line": progress["last_committed_line"],
                                        "landed": progress["landed"]}})
        return {"documents": report.documents, "refused": len(report.refused), "passages": report.passages,
                "results": jobs.line_results(report)}


@blp.route("/documents/<path:document_id>")
class Document(MethodView):
    @blp.response(200, DocumentDetailSchema, example=examples.DOCUMENT)
    @errors(blp, 304, 401, 404)
    @blp.doc(operationId="getDocument")
    def get(self, document_id):
        """One document: its original text and its passages"""
        return _document_or_404(document_id)

    @blp.arguments(UploadArgs(), location="query")
    @blp.doc(requestBody=UPLOAD_BODY, security=WRITE_SECURITY)
    @blp.response(200, DocumentCreatedSchema, example={**examples.CREATED, "replaced": True},
                  description="Replaced (201 when there was no document with this id)")
    @blp.alt_response(201, schema=DocumentCreatedSchema, description="Created", example=examples.CREATED)
    @errors(blp, 400, 401, 403, 413, 415, 422, 503)
    @blp.doc(operationId="replaceDocument")
    def put(self, args, document_id):
        """Replace a document (or create it under this id): JSON or an upload, as for POST"""
        if not valid_document_id(document_id):
            abort(422, message=f"id: '{document_id[:80]}' is not a valid document id",
                  errors={"path": {"document_id": ["not a valid document id"]}})
        return _store(document_id, args)

    @blp.arguments(DocumentPatchSchema(partial=True))
    @blp.response(200, DocumentSummarySchema, example=examples.DOCUMENTS["documents"][0])
    @blp.doc(security=WRITE_SECURITY, operationId="updateDocument")
    @errors(blp, 400, 401, 403, 404, 413, 422, 503)
    def patch(self, changes, document_id):
        """Change a document's metadata and document-level tags, without re-splitting

        Send only the fields to change (any field of a posted document but `id` and `text`);
        `metadata` is merged key by key (a key set to null is removed). Passages keep their text,
        offsets and the tags the taxonomy or a hand gave them, and carry the new document tags
        instead of the old. `ingested_at` becomes now, so `GET /documents?since=` lists it."""
        updated = get_kb().update_document(document_id, **changes) if valid_document_id(document_id) else None
        if updated is None:
            abort(404, message=f"no document with id '{document_id[:200]}'")
        return updated

    @blp.response(204, description="Deleted, with its passages")
    @blp.doc(security=WRITE_SECURITY)
    @errors(blp, 401, 403, 404, 503)
    @blp.doc(operationId="deleteDocument")
    def delete(self, document_id):
        """Remove a document and its passages"""
        if not (valid_document_id(document_id) and get_kb().delete(document_id)):
            abort(404, message=f"no document with id '{document_id[:200]}'")
        return None


# ---------------------------------------------------------------------------------------------- writing

def _store(document_id: str | None, args: dict):
    """Read the request's document, write it, answer 201 (200 for a PUT that replaced)."""
    kb = get_kb()
    mimetype = request.mimetype
    if mimetype == "application/json" or mimetype.endswith("+json"):
        doc = _from_json(document_id)
        replaced = kb.exists(doc.id)
        # InvalidDocument → 422 naming the field; IdTaken (a POST onto another source's id) → 409 (api/errors.py)
        report = kb.add_document(doc, replace=bool(document_id))
    else:
        if mimetype == "multipart/form-data":
            item, field_name, where = _from_upload(document_id), "file", "files"
        elif reader_for(args["filename"], mimetype) not in (None, read_jsonl):
            item, field_name, where = _from_raw_body(document_id, args), "body", "body"
        else:
            abort(415, message=f"cannot read a body of type '{mimetype or 'none'}': send JSON "
                               "(Content-Type: application/json), a multipart upload (field 'file') or a "
                               "text/markdown, text/html, text/plain or application/pdf body (or any body "
                               "with filename=NAME.md|.html|.txt|.pdf)")
        replaced = kb.exists(item.document.id)
        report = kb.ingest([item], replace=bool(document_id))  # as `kb ingest -` does with what read_bytes read
        if report.refused:
            reason = report.refused[0][1]
            if report.items[-1].get("taken"):
                abort(409, message=reason)
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
                         tags=fields["tags"], metadata=fields["metadata"],
                         **{name: fields[name] for name in CITATION_FIELDS})
    limits.check_document(doc)   # OverLimit → 413/422 naming the field, before anything is looked up
    return doc


def _from_upload(document_id: str | None):
    upload = request.files.get("file")
    if upload is None:
        abort(422, message="file: send the document as the multipart field 'file'",
              errors={"files": {"file": ["Missing data for required field."]}})
    tags = [t.strip() for value in request.form.getlist("tags") for t in value.split(",") if t.strip()]
    item = _read_one(upload.read(), upload.filename or "", upload.mimetype or "", request.form.get("title"),
                     document_id or request.form.get("id"), tags, "files", "file")
    return _with_given_citation(item, request.form, "files")


def _from_raw_body(document_id: str | None, args: dict):
    item = _read_one(request.get_data(), args["filename"], request.mimetype, args["title"],
                     document_id or args["id"], args["tag"], "body", "body")
    return _with_given_citation(item, request.args, "query")


def _with_given_citation(item, given, where: str):
    """An upload's citation fields and metadata as the form (multipart) or the query string (raw body)
    gives them: ``source``, ``url``, ``date``, ``doi``, ``publisher``, ``author`` (repeatable, or
    ``authors`` split on ';') and ``metadata`` (a JSON object, merged over what the file says). What
    is given wins over what the reader found; ``Document.validate`` checks it all on ingest."""
    doc = item.document
    for name in ("source", "url", "date", "doi", "publisher"):
        if given.get(name, "").strip():
            setattr(doc, name, given[name].strip())
    authors = given.getlist("author") + [a for v in given.getlist("authors") for a in v.split(";")]
    if any(a.strip() for a in authors):
        doc.authors = [a.strip() for a in authors if a.strip()]
    if given.get("metadata", "").strip():
        try:
            extra = json.loads(given["metadata"])
        except (ValueError, RecursionError) as exc:
            extra = exc
        if not isinstance(extra, dict):
            abort(422, message="metadata: must be a JSON object", errors={where: {"metadata": ["not a JSON object"]}})
        doc.metadata = {**doc.metadata, **extra}
    return item


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
