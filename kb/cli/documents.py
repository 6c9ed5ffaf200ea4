"""``kb ingest``, ``kb delete``, ``kb rebuild`` and ``kb compact``: the commands that write."""
from __future__ import annotations

import sys
import time

import click

from index import IndexBusy

from .. import process_memory
from ..readers import ReadError, read_bytes, walk
from ..settings import Settings
from ..split import SplitOptions
from .options import (
    CliError,
    backend_options,
    friendly_errors,
    home_option,
    lock_timeout_option,
    open_kb,
    setting_option,
    taxonomy_option,
)

_DEFAULTS = Settings()


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--tag", "tags", multiple=True, help="Tag every passage of these documents.")
@click.option("--title", help="Title of the document read from stdin (-).")
@click.option("--id", "doc_id", help="Id of the document read from stdin (-).")
@click.option("--target-words", type=click.IntRange(10, 2000), default=SplitOptions.target_words, show_default=True)
@click.option("--min-words", type=click.IntRange(1, 2000), default=SplitOptions.min_words, show_default=True)
@click.option("--max-words", type=click.IntRange(10, 5000), default=SplitOptions.max_words, show_default=True)
@setting_option("batch_documents", type=click.IntRange(1, 100_000),
                help=f"Documents per commit (or {_DEFAULTS.batch_passages:,} passages, whichever comes first): "
                     "a crash loses at most the batch being written.")
@lock_timeout_option
@click.option("--embed/--no-embed", default=None,
              help="Embed passages for semantic search (default: when the semantic extra is installed "
                   "and KB_SEMANTIC is not 0).")
@click.option("--verbose", "-v", is_flag=True,
              help="A line per file: new, replaced, unchanged, refused or skipped, with its id.")
@home_option
@taxonomy_option
@backend_options
@friendly_errors
def ingest(paths, tags, title, doc_id, target_words, min_words, max_words, embed, verbose):
    """Ingest files and folders (.txt .md .html .pdf .jsonl); '-' reads one document from stdin.

    A file found in a folder gets its id from its path inside that folder (a/README.md and b/README.md
    are two documents); ingesting it again replaces it; a file whose id holds a document of another
    source is refused, never replaced."""
    if not min_words <= target_words <= max_words:
        raise CliError("need --min-words <= --target-words <= --max-words")
    kb = open_kb(SplitOptions(target_words, min_words, max_words), create=True, semantic="on" if embed else None)
    if embed is False:
        kb.semantics.embed_on_ingest = False
    kb.load_tagger()  # a bad taxonomy fails here, before any work
    tty = sys.stderr.isatty()
    files = list(walk(p for p in paths if p != "-"))
    bar = click.progressbar(length=len(files), label="reading", file=sys.stderr) if tty and len(files) > 1 else None

    def items():
        if "-" in paths:
            data = sys.stdin.buffer.read()
            yield from _tagged_errors("<stdin>", read_bytes(data, "", title=title, doc_id=doc_id))
        for entry in files:
            yield from kb.read_paths((), files=[entry])
            if bar is not None:
                bar.update(1)

    committed = [0, 0]
    started = time.monotonic()

    def progress(report):
        if report.documents == committed[0] and not tty:   # logs get a line per commit only
            return
        committed[:] = [report.documents, report.passages]
        line = f"committed {report.documents} documents, {report.passages} passages"
        if kb.semantics.embed_on_ingest:
            line += f"; embedded {report.embedded} passages"
        line += f"; {report.passages / max(time.monotonic() - started, 1e-3):,.0f} passages/s"
        held = process_memory.held_bytes()
        if held is not None:
            line += f", {held / 2**20:,.0f} MB held"
        if bar is not None:
            bar.label = line
        elif not tty:
            click.echo(line, err=True)

    try:
        if bar is not None:
            with bar:
                report = kb.ingest(items(), tags, progress=progress, itemize=verbose)
        else:
            report = kb.ingest(items(), tags, progress=progress, itemize=verbose)
    except IndexBusy as exc:  # say how far it got: what was committed stays
        raise CliError(f"{exc}; stopped after committing {committed[0]} documents, "
                       f"{committed[1]} passages") from None
    for source, warning in report.warnings:
        click.echo(f"kb: warning: {source}: {warning}", err=True)
    for source, reason in report.refused:
        click.echo(f"kb: refused {source}: {reason}" if source else f"kb: refused: {reason}", err=True)
    if verbose:
        for item in report.items:
            if "error" not in item:
                click.echo(f"{item['outcome']:<9} {item['id']}  {item['source']}")
        for source, reason in report.skipped:
            click.echo(f"{'skipped':<9} {source}: {reason}")
    click.echo(f"ingested {report.documents} documents, {report.passages} passages")
    counts = [f"{report.statuses[s]} {s}" for s in ("new", "replaced", "unchanged")]
    counts.append(f"{len(report.refused)} refused")
    if report.skipped:
        counts.append(f"{len(report.skipped)} skipped (hidden, or not a known type"
                      f"{'' if verbose else '; --verbose names them'})")
    click.echo("  " + ", ".join(counts))
    for tag, count in report.tags.most_common():
        click.echo(f"  {tag}: {count}")
    if report.refused:
        sys.exit(2)


def _tagged_errors(source, items):
    """Errors of one input named after it; a whole-input refusal is a refusal too (exit 2), not a crash."""
    try:
        for item in items:
            yield ReadError(f"{source}: {item}") if isinstance(item, ReadError) else item
    except ReadError as exc:
        yield ReadError(f"{source}: {exc}")


@click.command()
@click.argument("document_id")
@lock_timeout_option
@home_option
@backend_options
@friendly_errors
def delete(document_id):
    """Remove a document and its passages."""
    if not open_kb().delete(document_id):
        raise CliError(f"no document with id '{document_id}'")
    click.echo(f"deleted {document_id}")


@click.command()
@setting_option("batch_documents", type=click.IntRange(1, 100_000),
                help="Documents per commit into the new index.")
@lock_timeout_option
@home_option
@taxonomy_option
@backend_options
@friendly_errors
def rebuild():
    """Re-split and re-tag every stored document (whoosh: into a new index, switched atomically;
    sphinx: in place, each document atomically)."""
    done = [0]

    def progress(count):
        done[0] += count
        click.echo(f"committed {done[0]} documents (rebuild)", err=True)

    lost: list = []
    count = open_kb().rebuild(progress, lost)
    for e in lost:
        click.echo(f"kb: warning: manual tag {'+' if e['action'] == 'add' else '-'}{e['tag']} on {e['passage']} "
                   f"kept but not applied: {e['reason']}", err=True)
    click.echo(f"rebuilt {count} documents")


@click.command()
@lock_timeout_option
@home_option
@backend_options
@friendly_errors
def compact():
    """Merge and rewrite the index's segments into the layout searches read fastest, as a large
    ingest leaves it (for an index made by an older kb, or fed by small writes); one commit a
    step, so it may be stopped and run again."""
    def progress(counts):
        click.echo(f"{counts['merged']} merged, {counts['rewritten']} rewritten: "
                   f"{counts['segments_after']} segments", err=True)

    counts = open_kb().index.compact(progress)
    if not counts or not (counts["merged"] or counts["rewritten"]):
        click.echo("nothing to compact")
        return
    click.echo(f"compacted: {counts['segments_before']} segments -> {counts['segments_after']} "
               f"({counts['merged']} merges, {counts['rewritten']} rewritten)")
