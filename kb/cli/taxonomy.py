"""``kb taxonomy``: check a taxonomy file, or see how its topics tag the knowledge base."""
from __future__ import annotations

import json
import os

import click

from ..tagging import check_taxonomy
from .options import (
    CliError,
    backend_options,
    friendly_errors,
    home_option,
    lock_timeout_option,
    open_kb,
    setting_option,
)


@click.group()
def taxonomy():
    """The knowledge base's taxonomy: show it, switch it, draft one, check a file, count its tags."""


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


@taxonomy.command("show")
@home_option
@click.option("--json", "as_json", is_flag=True, help="Which taxonomy it is, as JSON, instead of its YAML.")
@backend_options
@friendly_errors
def taxonomy_show(as_json):
    """The knowledge base's taxonomy: its YAML as stored (or --json: name, fingerprint, when, from where)."""
    kb = open_kb()
    if as_json:
        click.echo(json.dumps(kb.taxonomy_info(), indent=2, ensure_ascii=False))
    else:
        click.echo(kb.load_taxonomy().text, nl=False)


@taxonomy.command("use")
@click.argument("file", type=click.Path(dir_okay=False))
@setting_option("batch_documents", type=click.IntRange(1, 100_000), help="Documents per commit into the new index.")
@lock_timeout_option
@home_option
@backend_options
@friendly_errors
def taxonomy_use(file):
    """Switch the knowledge base to the taxonomy in FILE: check it, store it and re-tag every
    passage in one step (manual tags are kept)."""
    if not os.path.exists(file):
        raise CliError(f"no such file: {file}")
    errors = [p for p in check_taxonomy(file, warnings=False)]
    if errors:
        for problem in errors:
            click.echo(problem, err=True)
        raise CliError(f"{len(errors)} error(s) in {file}: the knowledge base keeps its taxonomy")
    done = [0]

    def progress(count):
        done[0] += count
        click.echo(f"committed {done[0]} documents (re-tagging)", err=True)

    lost: list = []
    answer = open_kb(create=True).use_taxonomy(file, progress, lost)
    old, new = answer["from"], answer["to"]
    if not answer["changed"]:
        click.echo(f"already uses {new['name']} ({new['fingerprint']}): nothing to do")
        return
    for e in lost:
        click.echo(f"kb: warning: manual tag {'+' if e['action'] == 'add' else '-'}{e['tag']} on {e['passage']} "
                   f"kept but not applied: {e['reason']}", err=True)
    click.echo(f"switched from {old['name']} ({old['fingerprint']}) to {new['name']} ({new['fingerprint']}, "
               f"{new['topics']} topics): re-tagged {answer['documents']} documents")


@taxonomy.command("draft")
@click.option("--topics", type=click.IntRange(2, 100), default=12, show_default=True, help="How many topics.")
@click.option("--name", default=None, help="The taxonomy's name (default: draft-<the folder of KB_HOME>).")
@click.option("--embeddings/--no-embeddings", default=None,
              help="Cluster by embeddings (default: when the semantic extra is on) or by key phrases.")
@home_option
@backend_options
@friendly_errors
def taxonomy_draft(topics, name, embeddings):
    """Draft a taxonomy from the knowledge base's own passages (YAML on stdout: `> mine.yaml`)."""
    from ..tagging import draft as drafting

    kb = open_kb()
    passages = [{"id": p["id"], "text": p["text"], "document_id": p["document_id"]} for p in kb.export()]
    vectors = None
    if embeddings or (embeddings is None and kb.semantic):
        if not kb.semantic:
            raise CliError(f"--embeddings needs the semantic extra: {kb.semantics.why_not()}")
        click.echo(f"kb: embedding {len(passages)} passages", err=True)
        vectors = kb.embedder.encode([p["text"] for p in passages])
    try:
        drafted = drafting.draft(passages, topics, vectors)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    name = name or f"draft-{kb.home.resolve().name}"
    text = drafting.to_yaml(drafted, name, len(passages))
    click.echo(text, nl=False)
    share = drafting.coverage(text, passages)
    click.echo(f"kb: drafted {len(drafted)} topics; tagged with it, {share['one_to_three']:.0%} of the passages "
               f"get one to three topics ({share['none']:.0%} none, {share['more']:.0%} more)", err=True)


@taxonomy.command("stats")
@home_option
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
