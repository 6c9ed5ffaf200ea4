"""Output formats of search and export: ``format=json|text|csv|jsonl`` or the ``Accept`` header, rendered
by kb.output (the same code as ``kb search --text/--csv/--nl`` and ``kb export``), streamed as it goes."""
from __future__ import annotations

import json
import logging
from typing import Iterable, Iterator

from flask import Response, request, stream_with_context
from flask_smorest import abort
from marshmallow import fields, validate

from kb.output import render

log = logging.getLogger("kb.api")

# format name → (media type sent, output.render's name, media types accepted for it)
FORMATS = {
    "json": ("application/json", "json", ("application/json",)),
    "text": ("text/plain; charset=utf-8", "text", ("text/plain",)),
    "csv": ("text/csv; charset=utf-8", "csv", ("text/csv",)),
    "jsonl": ("application/x-ndjson", "nl", ("application/x-ndjson", "application/jsonl",
                                             "application/jsonlines", "application/x-jsonlines")),
    "csl": ("application/vnd.citationstyles.csl+json", "csl", ("application/vnd.citationstyles.csl+json",)),
    "bibtex": ("application/x-bibtex; charset=utf-8", "bibtex", ("application/x-bibtex", "text/x-bibtex")),
    "ris": ("application/x-research-info-systems", "ris", ("application/x-research-info-systems",)),
}
CITATION_NOTE = ("csl (CSL-JSON), bibtex or ris: one citation per document of the answer, its passages' text as "
                 "the note and their pages as the page range")


def format_field(default_hint: str) -> fields.Field:
    return fields.String(load_default=None, allow_none=False, validate=validate.OneOf(list(FORMATS)), metadata={
        "description": f"json, text (for curl: one block per hit), csv (header row: id, document_id, "
                       f"document_title, section, score, tags, start, end, page, authors, date, url, doi, source, "
                       f"text), jsonl (one JSON object a "
                       f"line) or {CITATION_NOTE}. Without it the Accept header decides; {default_hint}."})


def color_field() -> fields.Field:
    return fields.Boolean(load_default=False, metadata={
        "description": "format=text only: matches in ANSI bold instead of `**…**`."})


def negotiate(requested: str | None, order: tuple[str, ...]) -> str:
    """The format asked for by ``format=``, else the best match of ``Accept`` in ``order`` (first is the
    default); 406 when the client accepts none of them."""
    if requested:
        return requested
    if not request.headers.get("Accept", "").strip():
        return order[0]
    offered = [(name, media) for name in order for media in FORMATS[name][2]]
    best = request.accept_mimetypes.best_match([media for _, media in offered])
    if best is None:
        abort(406, message="cannot answer in any of the accepted media types; ask for application/json, "
                           "text/plain, text/csv, application/x-ndjson, application/vnd.citationstyles.csl+json, "
                           "application/x-bibtex or application/x-research-info-systems (or use format=)")
    return next(name for name, media in offered if media == best)


def ended_visibly(chunks: Iterable[str], fmt: str) -> Iterator[str]:
    """A streamed answer that fails after its 200 went out must not look complete: it ends with an
    error record (jsonl), an error line (csv, text), and then the stream is broken (the error goes
    on to the server, which closes the connection without the last chunk)."""
    try:
        yield from chunks
    except Exception:
        log.exception("a streamed answer failed part-way")
        message = "the answer stopped here: the server failed part-way; what came before is incomplete"
        if fmt == "jsonl":
            yield json.dumps({"error": {"code": 500, "status": "Internal Server Error", "message": message}}) + "\n"
        elif fmt in ("csv", "text"):
            yield f"\r\n# kb: error: {message}\r\n" if fmt == "csv" else f"\nkb: error: {message}\n"
        raise


def stream(items: Iterable[dict], fmt: str, *, filename: str | None = None, headers: dict | None = None,
           **options) -> Response:
    """A streamed answer of ``items`` in ``fmt`` (``options`` go to kb.output.render)."""
    media, output_name, _ = FORMATS[fmt]
    chunks = ended_visibly(render(items, output_name, **options), fmt)
    response = Response(stream_with_context(chunks), mimetype=None, content_type=media)
    if filename and fmt in ("csv", "jsonl", "bibtex", "ris"):
        extension = {"bibtex": "bib"}.get(fmt, fmt)
        response.headers["Content-Disposition"] = f'inline; filename="{filename}.{extension}"'
    response.headers.update(headers or {})
    response.vary.add("Accept")
    return response
