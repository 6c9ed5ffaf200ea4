"""Output formats shared by ``kb search`` and ``kb export`` and by the HTTP API's text/CSV/JSONL/JSON
answers: one implementation for both faces, rendered as a stream of strings so a server can send it
as it goes.

Every chunk is valid UTF-8 text: a lone surrogate that reached the store before kb refused them at
the door comes out as U+FFFD rather than stopping the answer half-way. Every CSV cell that a
spreadsheet would run as a formula (it starts with ``= + - @``, a tab or a carriage return) starts
with ``'`` instead (the OWASP rule)."""
from __future__ import annotations

import csv
import html
import io
import json
import re
from typing import IO, Iterable, Iterator

from .limits import replace_surrogates

OUTPUT_FORMATS = ("text", "json", "nl", "csv")
CSV_COLUMNS = ("id", "document_id", "document_title", "section", "score", "tags", "start", "end", "text")
_MARK = re.compile(r"<mark>(.*?)</mark>", re.S)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


unicode_safe = replace_surrogates   # every chunk kb writes: U+FFFD for a lone surrogate


def csv_cell(value):
    """A value as a CSV cell no spreadsheet runs as a formula."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value
BOLD, RESET = "\x1b[1m", "\x1b[0m"


def plain_snippet(snippet: str, color: bool = False) -> str:
    """A snippet for a terminal: ``<mark>`` as ``**…**`` (or ANSI bold), entities decoded."""
    repl = f"{BOLD}\\1{RESET}" if color else r"**\1**"
    return html.unescape(_MARK.sub(repl, snippet))


def document_title(hit: dict) -> str:
    document = hit.get("document") or {}
    return document.get("title", hit.get("document_title", ""))


def csv_row(hit: dict) -> list:
    return [csv_cell(value) for value in (
        hit.get("id"), hit.get("document_id"), document_title(hit), hit.get("section", ""), hit.get("score", ""),
        ";".join(hit.get("tags", [])), hit.get("start"), hit.get("end"), hit.get("text", ""))]


def text_block(hit: dict, color: bool = False) -> str:
    """One hit for a reader: score, passage id, document title, section, tags, then the snippet."""
    score = hit.get("score")
    head = f"[{score:.2f}] " if isinstance(score, (int, float)) else ""
    ident = f"{BOLD}{hit['id']}{RESET}" if color else hit["id"]
    lines = [f"{head}{ident}  {document_title(hit)}"]
    if hit.get("section"):
        lines.append(f"  section: {hit['section']}")
    if hit.get("tags"):
        lines.append(f"  tags: {', '.join(hit['tags'])}")
    body = plain_snippet(hit["snippet"], color) if hit.get("snippet") else hit.get("text", "")
    lines.append(f"  {body}")
    return "\n".join(lines) + "\n"


def render(items: Iterable[dict], fmt: str, *, total: int | None = None, query: str | None = None,
           facets: dict | None = None, color: bool = False, key: str = "hits",
           next_url: str | None = None) -> Iterator[str]:
    """Hits or passages in one of OUTPUT_FORMATS, chunk by chunk (``key`` names the JSON list;
    ``next_url``, for text, ends it with where the next page is)."""
    for chunk in _render(items, fmt, total, query, facets, color, key, next_url):
        yield unicode_safe(chunk)


def _render(items, fmt, total, query, facets, color, key, next_url) -> Iterator[str]:
    if fmt == "json":
        yield from _json(items, total, query, facets, key)
    elif fmt == "nl":
        for item in items:
            yield json.dumps(item, ensure_ascii=False) + "\n"
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        for item in items:
            writer.writerow(csv_row(item))
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()
    elif fmt == "text":
        count = 0
        for item in items:
            yield text_block(item, color) + "\n"
            count += 1
        if total is not None:
            yield f"{count} of {total} shown\n"
        if next_url:
            yield f"next: {next_url}\n"
    else:
        raise ValueError(f"unknown output format {fmt!r}")


def _json(items, total, query, facets, key) -> Iterator[str]:
    head = {name: value for name, value in (("query", query), ("total", total)) if value is not None}
    opening = json.dumps(head, ensure_ascii=False)[:-1]
    yield (opening + ", " if head else "{") + f'"{key}": ['
    count = 0
    for item in items:
        yield ("," if count else "") + "\n  " + json.dumps(item, ensure_ascii=False)
        count += 1
    yield "\n]" if count else "]"
    if total is None:
        yield f', "total": {count}'
    if facets is not None:
        yield f', "facets": {json.dumps(facets, ensure_ascii=False)}'
    yield "}\n"


def write_hits(hits: Iterable[dict], fmt: str, out: IO[str], **options) -> None:
    for chunk in render(hits, fmt, **options):
        out.write(chunk)
