"""``kb similar``, ``kb suggest`` and ``kb documents``: the reads the HTTP API has beside search
(``/passages/<id>/similar``, ``/suggest``, ``/documents``), with its argument names and defaults,
rendered by kb.output like ``kb search``."""
from __future__ import annotations

import json
import sys

import click

from ..core import filters_of
from ..output import write_hits
from .options import (
    CliError,
    backend_options,
    filter_options,
    friendly_errors,
    home_option,
    open_kb,
    output_options,
    wants_color,
)


@click.command()
@click.argument("passage_id")
@filter_options
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True)
@output_options
@home_option
@backend_options
@friendly_errors
def similar(passage_id, tags, any_tags, not_tags, documents, limit, output, color):
    """Passages like PASSAGE_ID (more like this), itself excluded (--text by default)."""
    hits = open_kb().similar(passage_id, limit, filters_of(tags, any_tags, not_tags, documents))
    if hits is None:
        raise CliError(f"no passage with id '{passage_id}'")
    write_hits(hits, output or "text", sys.stdout, color=wants_color(color))


@click.command()
@click.argument("prefix")
@click.option("--limit", type=click.IntRange(1, 20), default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="The JSON of /api/v1/suggest.")
@home_option
@backend_options
@friendly_errors
def suggest(prefix, limit, as_json):
    """Completions of the last word of PREFIX and a did-you-mean, with the hits each would give."""
    found = open_kb().suggest(prefix, limit)
    if as_json:
        click.echo(json.dumps({"query": prefix, **found}, indent=2, ensure_ascii=False))
        return
    for item in found["completions"]:
        click.echo(f"{item['hits']:6d}  {item['text']}")
    if found.get("did_you_mean"):
        click.echo(f"did you mean: {found['did_you_mean']['text']} ({found['did_you_mean']['hits']} hits)")


@click.command()
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@click.option("--since", metavar="TIME", help="Only documents stored at or after this ISO date or time; the "
                                              "ids deleted since go to stderr (--json: under deleted).")
@output_options
@home_option
@backend_options
@friendly_errors
def documents(limit, offset, since, output, color):
    """Documents with their passage counts, a page at a time, as GET /api/v1/documents (--text by default)."""
    kb = open_kb()
    if since is None:
        total, found = kb.list_documents(offset, limit)
        write_hits(found, output or "text", sys.stdout, total=total, key="documents", color=wants_color(color))
        return
    try:
        changes = kb.changes(since, offset, limit)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if output == "json":   # the JSON of GET /api/v1/documents?since=
        click.echo(json.dumps({"total": changes["total"], "offset": offset, "limit": limit, **changes},
                              ensure_ascii=False))
        return
    write_hits(changes["documents"], output or "text", sys.stdout, total=changes["total"], key="documents",
               color=wants_color(color))
    for gone in changes["deleted"]:
        click.echo(f"kb: deleted {gone['id']} at {gone['deleted_at']}", err=True)
    click.echo(f"kb: as of {changes['as_of']}", err=True)
