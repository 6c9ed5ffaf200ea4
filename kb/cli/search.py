"""``kb search``, ``kb export``, ``kb show``, ``kb tags`` and ``kb stats``: reading from a shell,
rendered by kb.output like the HTTP API's answers."""
from __future__ import annotations

import json
import sys

import click

from index import Filters, SearchRequest

from ..output import EXPORT_FIELDS, HIT_FIELDS, chosen_fields, narrowed, unicode_safe, wants_snippet, write_hits
from ..settings import SEARCH_MODES
from .options import (
    CliError,
    backend_options,
    fields_option,
    filter_options,
    friendly_errors,
    home_option,
    metadata_options,
    open_kb,
    output_options,
    taxonomy_option,
    wants_color,
)


@click.command()
@click.argument("query", nargs=-1)
@filter_options
@metadata_options
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@click.option("--group-by", type=click.Choice(["document"]), default=None)
@click.option("--syntax", type=click.Choice(["auto", "query", "words"]), default="auto", show_default=True,
              help="auto: query syntax if valid, else plain words (with a notice); query: query syntax "
                   "(invalid is an error); words: plain words.")
@click.option("--mode", type=click.Choice(SEARCH_MODES), default=None,
              help="lexical (BM25), semantic (embeddings) or hybrid (both fused); default KB_SEARCH_MODE or lexical.")
@click.option("--fusion", type=click.Choice(["rrf", "normalized"]), default=None, help="How hybrid fuses.")
@output_options
@fields_option(HIT_FIELDS)
@home_option
@backend_options
@friendly_errors
def search(query, tags, any_tags, not_tags, documents, metadata, limit, offset, group_by, syntax, mode, fusion,
           output, color, fields):
    """Search passages: words, "phrases", AND/OR/NOT, prefix*, tags:..., author:..., date:>=2020 (--text by
    default)."""
    keep = chosen_fields(fields, HIT_FIELDS, output or "text")
    kb = open_kb()
    request = SearchRequest(q=" ".join(query), limit=limit, offset=offset, group_by=group_by,
                            filters=Filters(tags, any_tags, not_tags, documents), syntax=syntax, mode=mode,
                            fusion=fusion, highlight=wants_snippet(keep))
    response = kb.search(request, metadata=metadata)
    if response.notice:
        click.echo(f"kb: note: {response.notice}", err=True)
    write_hits(narrowed(response.hits, keep), output or "text", sys.stdout, total=response.total, query=request.q,
               facets=response.facets, color=wants_color(color))
    if response.partial:
        click.echo("kb: warning: a shard did not answer: these results are partial", err=True)


@click.command()
@filter_options
@metadata_options
@output_options
@fields_option(EXPORT_FIELDS)
@click.option("--documents", "whole_documents", is_flag=True,
              help="Every stored document whole, as JSON Lines that `kb ingest FILE.jsonl` reads back.")
@home_option
@backend_options
@friendly_errors
def export(tags, any_tags, not_tags, documents, metadata, output, color, fields, whole_documents):
    """Every passage (JSON Lines by default): id, document_id, ordinal, section, start, end, text, tags."""
    if whole_documents and (tags or any_tags or not_tags or documents or metadata or fields
                            or output not in (None, "nl")):
        raise CliError("--documents writes every document as JSON Lines: no filters, fields or other formats")
    keep = chosen_fields(fields, EXPORT_FIELDS, output or "nl")
    kb = open_kb()
    if whole_documents:
        for doc in kb.export_documents():
            click.echo(unicode_safe(json.dumps(doc, ensure_ascii=False)))
        return
    passages = narrowed(kb.export(Filters(tags, any_tags, not_tags, documents), metadata), keep)
    write_hits(passages, output or "nl", sys.stdout, color=wants_color(color), key="passages")


@click.command()
@click.argument("item_id")
@home_option
@backend_options
@friendly_errors
def show(item_id):
    """Show a passage (DOC:N, with tag evidence) or a document (DOC) as JSON."""
    kb = open_kb()
    item = kb.get_passage(item_id) if ":" in item_id else kb.get_document(item_id)
    if item is None:
        raise CliError(f"no passage or document with id '{item_id}'")
    click.echo(json.dumps(item, indent=2, ensure_ascii=False))


@click.command()
@home_option
@taxonomy_option
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@backend_options
@friendly_errors
def tags(as_json):
    """Every tag with its passage count."""
    items = open_kb().tags()
    if as_json:
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
    for t in items:
        click.echo(f"{t['count']:6d}  {t['tag']:<28} {t['label']}")


@click.command()
@home_option
@taxonomy_option
@backend_options
@friendly_errors
def stats():
    """Counts, index size and versions (JSON)."""
    click.echo(json.dumps(open_kb().stats(), indent=2))
