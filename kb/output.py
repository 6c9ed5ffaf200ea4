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

from .citation_formats import CITATION_FORMATS, render_citations
from .limits import replace_surrogates

OUTPUT_FORMATS = ("text", "json", "nl", "csv") + CITATION_FORMATS   # citations: one entry per document
CSV_COLUMNS = ("id", "document_id", "document_title", "section", "score", "tags", "start", "end", "page",
               "authors", "date", "url", "doi", "source", "text")
DOCUMENT_CSV_COLUMNS = ("id", "title", "authors", "date", "url", "doi", "source", "passages", "tags",
                        "ingested_at")
# the keys of a search hit and of an export line (api.schemas.SearchHitSchema, ExportedPassageSchema):
# what ``fields=`` / ``--fields`` may keep
HIT_FIELDS = ("id", "document", "document_id", "ordinal", "section", "start", "end", "page", "page_end", "text",
              "words", "tags", "keywords", "suggested_tags", "score", "snippet")
EXPORT_FIELDS = ("id", "document", "document_id", "document_title", "ordinal", "section", "start", "end", "page",
                 "page_end", "text", "words", "tags", "keywords", "suggested_tags", "evidence", "manual")
NARROWED_FORMATS = ("json", "nl")   # CSV, text and citations have their own columns
_MARK = re.compile(r"<mark>(.*?)</mark>", re.S)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


unicode_safe = replace_surrogates   # every chunk kb writes: U+FFFD for a lone surrogate


def csv_cell(value):
    """A value as a CSV cell no spreadsheet runs as a formula."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value
BOLD, RESET = "\x1b[1m", "\x1b[0m"


class FieldsError(ValueError):
    """A ``fields=`` that names no field of the answer, or asks to narrow a format that has columns."""


def chosen_fields(values: str | Iterable[str] | None, valid: tuple[str, ...], fmt: str) -> tuple[str, ...]:
    """The fields to keep from ``fields=id,text`` (comma-separated, repeatable): () keeps every field;
    ``id`` is always kept. FieldsError names an unknown field, with the valid names."""
    given = [values] if isinstance(values, str) else list(values or ())
    names = list(dict.fromkeys(n.strip() for value in given for n in value.split(",") if n.strip()))
    unknown = [n for n in names if n not in valid]
    if unknown:
        said = ", ".join(f"'{n[:100]}'" for n in unknown[:20])
        raise FieldsError(f"unknown field{'s' if len(unknown) > 1 else ''} {said}; fields: {', '.join(valid)}")
    if names and fmt not in NARROWED_FORMATS:
        raise FieldsError(f"fields narrows JSON and JSON Lines answers; {fmt} has its own columns")
    return tuple(dict.fromkeys(["id", *names])) if names else ()


def wants_snippet(keep: tuple[str, ...]) -> bool:
    """Whether hits narrowed to ``keep`` show a snippet (else the search makes none: they cost most of a hit)."""
    return not keep or "snippet" in keep


def narrowed(items: Iterable[dict], keep: tuple[str, ...]) -> Iterator[dict]:
    """Each item with only the ``keep`` keys (all of them when ``keep`` is empty)."""
    for item in items:
        yield {k: v for k, v in item.items() if k in keep} if keep else item


def plain_snippet(snippet: str, color: bool = False) -> str:
    """A snippet for a terminal: ``<mark>`` as ``**…**`` (or ANSI bold), entities decoded."""
    repl = f"{BOLD}\\1{RESET}" if color else r"**\1**"
    return html.unescape(_MARK.sub(repl, snippet))


def document_title(hit: dict) -> str:
    document = hit.get("document") or {}
    return document.get("title", hit.get("document_title", ""))


def pages(hit: dict) -> str:
    """``3`` or ``3-4`` when the passage runs onto the next page; '' when pages are unknown."""
    page, end = hit.get("page"), hit.get("page_end")
    return "" if page is None else f"{page}-{end}" if end else str(page)


def csv_row(hit: dict) -> list:
    doc = hit.get("document") or {}
    return [hit.get("id"), hit.get("document_id"), document_title(hit), hit.get("section", ""),
            hit.get("score", ""), ";".join(hit.get("tags", [])), hit.get("start"), hit.get("end"), pages(hit),
            "; ".join(doc.get("authors") or []), doc.get("date", ""), doc.get("url", ""), doc.get("doi", ""),
            doc.get("source", ""), hit.get("text", "")]


def citation_line(hit: dict) -> str:
    """Authors (date). URL or doi:…, p. N; '' when the document says none of these."""
    doc = hit.get("document") or {}
    authors = "; ".join(doc.get("authors") or [])
    where = f"https://doi.org/{doc['doi']}" if doc.get("doi") else doc.get("url") or doc.get("source") or ""
    parts = [authors + (f" ({doc['date']})" if doc.get("date") else "") if authors else doc.get("date", ""), where,
             f"p. {pages(hit)}" if pages(hit) else ""]
    return ", ".join(p for p in parts if p)


def text_block(hit: dict, color: bool = False) -> str:
    """One hit for a reader: score, passage id, document title, section, tags, then the snippet."""
    score = hit.get("score")
    head = f"[{score:.2f}] " if isinstance(score, (int, float)) else ""
    ident = f"{BOLD}{hit['id']}{RESET}" if color else hit["id"]
    lines = [f"{head}{ident}  {document_title(hit)}"]
    if citation_line(hit):
        lines.append(f"  cite: {citation_line(hit)}")
    if hit.get("section"):
        lines.append(f"  section: {hit['section']}")
    if hit.get("tags"):
        lines.append(f"  tags: {', '.join(hit['tags'])}")
    body = plain_snippet(hit["snippet"], color) if hit.get("snippet") else hit.get("text", "")
    lines.append(f"  {body}")
    return "\n".join(lines) + "\n"


def document_row(doc: dict) -> list:
    """A document's cells, in DOCUMENT_CSV_COLUMNS order."""
    return [doc.get("id"), doc.get("title", ""), "; ".join(doc.get("authors") or []), doc.get("date", ""),
            doc.get("url", ""), doc.get("doi", ""), doc.get("source", ""), doc.get("passages", ""),
            ";".join(doc.get("tags", [])), doc.get("ingested_at", "")]


def document_block(doc: dict, color: bool = False) -> str:
    """One document of a list for a reader: id and title, then where it came from and its size."""
    ident = f"{BOLD}{doc['id']}{RESET}" if color else doc["id"]
    lines = [f"{ident}  {doc.get('title', '')}"]
    facts = [f"{doc['passages']} passages" if isinstance(doc.get("passages"), int) else "",
             doc.get("source", ""), doc.get("ingested_at", "")]
    lines.append("  " + " · ".join(f for f in facts if f))
    if doc.get("tags"):
        lines.append(f"  tags: {', '.join(doc['tags'])}")
    return "\n".join(lines) + "\n"


def render(items: Iterable[dict], fmt: str, *, total: int | None = None, query: str | None = None,
           facets: dict | None = None, color: bool = False, key: str = "hits",
           next_url: str | None = None) -> Iterator[str]:
    """Hits, passages or (``key="documents"``) documents in one of OUTPUT_FORMATS, chunk by chunk
    (``key`` names the JSON list; ``next_url``, for text, ends it with where the next page is)."""
    for chunk in _render(items, fmt, total, query, facets, color, key, next_url):
        yield unicode_safe(chunk)


def _render(items, fmt, total, query, facets, color, key, next_url) -> Iterator[str]:
    row, block, columns = ((document_row, document_block, DOCUMENT_CSV_COLUMNS) if key == "documents"
                           else (csv_row, text_block, CSV_COLUMNS))
    if fmt == "json":
        yield from _json(items, total, query, facets, key)
    elif fmt == "nl":
        for item in items:
            yield json.dumps(item, ensure_ascii=False) + "\n"
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        for item in items:
            writer.writerow([csv_cell(value) for value in row(item)])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()
    elif fmt in CITATION_FORMATS:
        yield from render_citations(items, fmt)
    elif fmt == "text":
        count = 0
        for item in items:
            yield block(item, color) + "\n"
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


EVAL_METRICS = ("ndcg@10", "recall@100", "mrr")
EVAL_FORMATS = ("text", "json", "csv")


def eval_lines(report: dict, fmt: str = "text") -> Iterator[str]:
    """A ``kb eval`` report: a table of the modes side by side (text), the report itself (json), or
    one row per mode and query, ``all`` first (csv)."""
    modes = report["modes"]
    if fmt == "json":
        yield json.dumps(report, indent=1) + "\n"
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(("mode", "query", *EVAL_METRICS))
        for mode, scored in modes.items():
            writer.writerow((mode, "all", *(f"{scored[m]:.4f}" for m in EVAL_METRICS)))
            for qid, figures in scored["queries"].items():
                writer.writerow((mode, qid, *(f"{figures[m]:.4f}" for m in EVAL_METRICS)))
        yield buffer.getvalue()
    else:
        yield (f"{report['queries']} judged queries, {report['judgments']} relevant judgments, "
               f"by {report['group_by']}\n")
        yield f"{'mode':<10} {'nDCG@10':>8} {'R@100':>7} {'MRR':>7} {'q ms mean':>10} {'q ms p95':>9}\n"
        for mode, s in modes.items():
            yield (f"{mode:<10} {s['ndcg@10']:>8.4f} {s['recall@100']:>7.4f} {s['mrr']:>7.4f} "
                   f"{s['query_ms_mean']:>10.1f} {s['query_ms_p95']:>9.1f}\n")
        if len(modes) > 1:   # where the modes disagree most, query by query
            first, *rest = modes
            for other in rest:
                gaps = sorted(modes[first]["queries"], key=lambda q: modes[other]["queries"][q]["ndcg@10"]
                              - modes[first]["queries"][q]["ndcg@10"])
                for label, qids in (("worst", gaps[:3]), ("best", gaps[::-1][:3])):
                    said = ", ".join(f"{q} ({_gap(modes, first, other, q):+.2f})" for q in qids)
                    yield f"{other} vs {first}, {label} queries by nDCG@10: {said}\n"


def _gap(modes: dict, first: str, other: str, qid: str) -> float:
    return modes[other]["queries"][qid]["ndcg@10"] - modes[first]["queries"][qid]["ndcg@10"]
