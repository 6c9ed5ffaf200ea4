"""Output formats shared by ``kb search`` and ``kb export`` (and the HTTP API's text/CSV/JSONL)."""
from __future__ import annotations

import csv
import html
import io
import json
import re
from typing import IO, Iterable

OUTPUT_FORMATS = ("text", "json", "nl", "csv")
CSV_COLUMNS = ("id", "document_id", "document_title", "section", "score", "tags", "start", "end", "text")
_MARK = re.compile(r"<mark>(.*?)</mark>", re.S)


def plain_snippet(snippet: str, color: bool = False) -> str:
    """A snippet for a terminal: ``<mark>`` as ``**…**`` (or ANSI bold), entities decoded."""
    repl = "\x1b[1m\\1\x1b[0m" if color else r"**\1**"
    return html.unescape(_MARK.sub(repl, snippet))


def csv_row(hit: dict) -> list:
    document = hit.get("document") or {}
    return [hit.get("id"), hit.get("document_id"), document.get("title", hit.get("document_title", "")),
            hit.get("section", ""), hit.get("score", ""), ";".join(hit.get("tags", [])),
            hit.get("start"), hit.get("end"), hit.get("text", "")]


def text_block(hit: dict, color: bool = False) -> str:
    document = hit.get("document") or {}
    score = hit.get("score")
    head = f"[{score:.2f}] " if isinstance(score, (int, float)) else ""
    lines = [f"{head}{hit['id']}  {document.get('title', hit.get('document_title', ''))}"]
    if hit.get("section"):
        lines.append(f"  section: {hit['section']}")
    if hit.get("tags"):
        lines.append(f"  tags: {', '.join(hit['tags'])}")
    body = plain_snippet(hit["snippet"], color) if hit.get("snippet") else hit.get("text", "")
    lines.append(f"  {body}")
    return "\n".join(lines) + "\n"


def write_hits(hits: Iterable[dict], fmt: str, out: IO[str], total: int | None = None,
               query: str | None = None, facets: dict | None = None, color: bool = False) -> None:
    if fmt == "json":
        hits = list(hits)
        body = {"query": query, "total": total if total is not None else len(hits), "hits": hits}
        if facets is not None:
            body["facets"] = facets
        out.write(json.dumps(body, ensure_ascii=False, indent=2) + "\n")
    elif fmt == "nl":
        for hit in hits:
            out.write(json.dumps(hit, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for hit in hits:
            writer.writerow(csv_row(hit))
    else:
        count = 0
        for hit in hits:
            out.write(text_block(hit, color) + "\n")
            count += 1
        if total is not None:
            out.write(f"{count} of {total} shown\n")


def csv_text(hits: Iterable[dict]) -> str:
    buffer = io.StringIO()
    write_hits(hits, "csv", buffer)
    return buffer.getvalue()
