"""``kb tag add|remove|suggest``: tags corrected by hand, on passages by id or on every hit of a
query, and the passages the hand-tagged ones suggest a tag for (the same KnowledgeBase calls as
``PATCH /api/v1/passages/<id>/tags``, ``POST /api/v1/tags/<tag>/passages`` and
``GET /api/v1/tags/<tag>/suggestions``)."""
from __future__ import annotations

import getpass
import json

import click

from index import Filters, SearchRequest

from ..output import text_block
from .options import (
    CliError,
    backend_options,
    filter_options,
    friendly_errors,
    home_option,
    lock_timeout_option,
    open_kb,
)


@click.group()
def tag():
    """Add or remove a tag by hand: on passages by id, or on every passage a query finds."""


def _edit_command(action: str):
    @tag.command(action)
    @click.argument("tag_name", metavar="TAG")
    @click.argument("passage_ids", nargs=-1)
    @click.option("--query", "-q", "query", help="Every passage this query (and the filters) finds.")
    @filter_options
    @click.option("--dry-run", is_flag=True, help="With --query: only say how many passages would change.")
    @click.option("--by", default=None, help="Who made the edit (default: the user name).")
    @click.option("--json", "as_json", is_flag=True, help="JSON output.")
    @lock_timeout_option
    @home_option
    @backend_options
    @friendly_errors
    def command(tag_name, passage_ids, query, tags, any_tags, not_tags, documents, dry_run, by, as_json):
        kb = open_kb()
        by = by or f"cli:{getpass.getuser()}"
        remove = action == "remove"
        if query is not None or tags or any_tags or not_tags or documents:
            if passage_ids:
                raise CliError("give passage ids or --query/filters, not both")
            request = SearchRequest(q=query or "", filters=Filters(tags, any_tags, not_tags, documents), syntax="query")
            try:
                answer = kb.curation.edit_matching(tag_name, request, remove=remove, dry_run=dry_run, by=by,
                                                   limit=kb.settings.tag_query_limit)
            except ValueError as exc:
                raise CliError(str(exc)) from None
            if as_json:
                click.echo(json.dumps(answer, indent=2))
            elif dry_run:
                click.echo(f"{answer['matched']} passages match; {answer['to_change']} would change "
                           f"({action} {tag_name}); run again without --dry-run to do it")
            else:
                click.echo(f"{answer['matched']} passages match; {answer.get('changed', 0)} changed "
                           f"({action} {tag_name})")
            return
        if not passage_ids:
            raise CliError("give passage ids (DOC:N) or --query")
        try:
            done = kb.curation.edit(passage_ids, [] if remove else [tag_name], [tag_name] if remove else [], by)
        except ValueError as exc:
            raise CliError(str(exc)) from None
        if as_json:
            click.echo(json.dumps({"changed": [p["id"] for p in done["changed"]], "unchanged": done["unchanged"],
                                   "missing": done["missing"]}, indent=2))
        else:
            for p in done["changed"]:
                click.echo(f"{p['id']}: {', '.join(p['tags']) or '(no tags)'}")
            for passage_id in done["unchanged"]:
                click.echo(f"{passage_id}: unchanged")
        if done["missing"]:
            raise CliError(f"no passage with id {', '.join(done['missing'][:10])}")

    command.__doc__ = (f"{'Add' if action == 'add' else 'Remove'} TAG {'to' if action == 'add' else 'from'} "
                       "passages by hand (kept through rebuilds, re-tagging and exports).")
    return command


tag_add = _edit_command("add")
tag_remove = _edit_command("remove")


@tag.command("suggest")
@click.argument("tag_name", metavar="TAG")
@click.option("--limit", "-n", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--min-score", type=click.FloatRange(0, 1), default=None,
              help="Lowest score listed (default: 0.15 by words, 0.3 by embeddings).")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@home_option
@backend_options
@friendly_errors
def tag_suggest(tag_name, limit, min_score, as_json):
    """The passages most like those tagged TAG by hand (suggestions: accept one with kb tag add)."""
    answer = open_kb().tag_suggestions(tag_name, limit, min_score)
    if as_json:
        click.echo(json.dumps(answer, indent=2, ensure_ascii=False))
        return
    if not answer["examples"]:
        raise CliError(f"no passage is tagged {tag_name} by hand: add it to a few (kb tag add) first")
    click.echo(f"{len(answer['suggestions'])} passages like the {answer['examples']} tagged {tag_name} by hand "
               f"(by {answer['method']}, score >= {answer['min_score']}):", err=True)
    for hit in answer["suggestions"]:
        click.echo(text_block(hit), nl=False)
