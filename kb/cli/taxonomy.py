"""``kb taxonomy``: check a taxonomy file, or see how its topics tag the knowledge base."""
from __future__ import annotations

import json
import os

import click

from ..tagging import check_taxonomy
from .options import CliError, backend_options, friendly_errors, home_option, open_kb, taxonomy_option


@click.group()
def taxonomy():
    """Check a taxonomy file, or see how its topics tag the knowledge base."""


@taxonomy.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
@friendly_errors
def taxonomy_check(file):
    """Validate FILE: unknown keys, duplicate ids, missing broader ids, synonyms claimed twice."""
    if not os.path.exists(file):
        raise CliError(f"no such file: {file}")
    problems = check_taxonomy(file)
    errors = [p for p in problems if ": warning: " not in p]
    for problem in problems:
        click.echo(problem)
    if errors:
        raise CliError(f"{len(errors)} error(s), {len(problems) - len(errors)} warning(s) in {file}")
    click.echo(f"{file}: ok" + (f" ({len(problems)} warning(s))" if problems else ""))


@taxonomy.command("stats")
@home_option
@taxonomy_option
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@backend_options
@friendly_errors
def taxonomy_stats(as_json):
    """How many passages each topic tags, and which topics tag nothing."""
    kb = open_kb()
    topics = [t for t in kb.tags() if t["tag"] in kb.taxonomy.topics]
    unused = [t["tag"] for t in topics if not t["count"]]
    if as_json:
        click.echo(json.dumps({"topics": {t["tag"]: t["count"] for t in topics}, "unused": unused}, indent=2))
        return
    passages = kb.stats()["passages"]
    for t in sorted(topics, key=lambda t: (-t["count"], t["tag"])):
        share = f"{100 * t['count'] / passages:5.1f}%" if passages else "    -"
        click.echo(f"{t['count']:6d} {share}  {t['tag']}")
    click.echo(f"{len(topics)} topics, {passages} passages; tagging nothing: {', '.join(unused) or 'none'}")
