"""Output formats shared by ``kb search`` and ``kb export`` and by the HTTP API's text/CSV/JSONL/JSON
answers: one implementation for both faces, rendered as a stream of strings so a server can send it
as it goes."""
from __future__ import annotations

import csv
import html
import io
import json
import re
from typing import IO, Iterable, Iterator

OUTPUT_FORMATS = ("text", "json", "nl", "csv")
CSV_COLUMNS = ("id", "document_id", "document_title", "section", "score", "tags", "start", "end", "text")
_MARK = re.compile(r"<mark>(.*?)</mark>", re.S)
BOLD, RESET = "\x1b[1m", "\x1b[0m"


def plain_snippet(snippet: str, color: bool = False) -> str:
    """A snippet for a terminal: ``<mark>`` as ``**…**`` (or ANSI bold), entities decoded."""
    repl = f"{BOLD}\\1{RESET}" if color else r"**\1**"
    return html.unescape(_MARK.sub(repl, snippet))


def document_title(hit: dict) -> str:
    document = hit.get("document") or {}
    return document.get("title", hit.get("document_title", ""))


def csv_row(hit: dict) -> list:
    return [hit.get("id"), hit.get("document_id"), document_title(hit), hit.get("section", ""),
            hit.get("score", ""), ";".join(hit.get("tags", [])), hit.get("start"), hit.get("end"),
            hit.get("text", "")]


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
