"""The ``kb`` command: the same core as the HTTP API, from a shell."""
from __future__ import annotations

import functools
import json
import os
import sys

import click

from index.base import Filters, IndexBusy, IndexError_, SearchRequest

from .core import BATCH_DOCUMENTS, BATCH_PASSAGES, SEARCH_MODES, KnowledgeBase
from .embedding import SemanticUnavailable
from .output import OUTPUT_FORMATS, write_hits
from .readers import ReadError
from .split import SplitOptions
from .tagging import TaxonomyError


class CliError(click.ClickException):
    """One line on stderr, exit code 1, never a traceback."""

    def show(self, file=None):
        click.echo(f"kb: {self.format_message()}", err=True)


def friendly_errors(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (click.ClickException, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except (IndexError_, TaxonomyError, ReadError, SemanticUnavailable) as exc:
            raise CliError(str(exc)) from None
        except OSError as exc:
            raise CliError(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")) from None
        except Exception as exc:  # the last line of defence: one line, no traceback
            raise CliError(f"{type(exc).__name__}: {exc}") from None
    return wrapper


home_option = click.option("--home", envvar="KB_HOME", default="kb-data", show_default=True,
                           type=click.Path(file_okay=False), help="Where the knowledge base lives (KB_HOME).")
taxonomy_option = click.option("--taxonomy", envvar="KB_TAXONOMY", default=None,
                               type=click.Path(dir_okay=False), help="Taxonomy YAML (KB_TAXONOMY).")


def backend_options(func):
    """--backend and --sphinx-nodes (KB_BACKEND, KB_SPHINX_NODES): which engine holds the index.
    ``open_kb`` picks them up from the click context, so commands need not pass them along."""
    @functools.wraps(func)
    def wrapper(*args, backend=None, nodes=None, **kwargs):
        click.get_current_context().meta["kb.backend"] = (backend, nodes)
        return func(*args, **kwargs)
    wrapper = click.option("--sphinx-nodes", "nodes", envvar="KB_SPHINX_NODES", default=None, metavar="NODES",
                           help="SphinxQL nodes: shards by ',', mirrors by '|' (KB_SPHINX_NODES).")(wrapper)
    return click.option("--backend", envvar="KB_BACKEND", default=None, type=click.Choice(["whoosh", "sphinx"]),
                        help="Search engine: whoosh (embedded, default) or sphinx (KB_BACKEND).")(wrapper)


def _backend() -> tuple[str | None, str | None]:
    context = click.get_current_context(silent=True)
    return context.meta.get("kb.backend", (None, None)) if context else (None, None)


def filter_options(func):
    func = click.option("--tag", "tags", multiple=True, help="Passages must carry this tag (repeatable).")(func)
    func = click.option("--any-tag", "any_tags", multiple=True, help="At least one of these tags.")(func)
    func = click.option("--not-tag", "not_tags", multiple=True, help="None of these tags.")(func)
    func = click.option("--document", "documents", multiple=True, help="Only these documents.")(func)
    return func


def output_options(func):
    """--text/--json/--nl/--csv and --color, shared by `kb search` and `kb export` (and rendered by
    kb.output, like the HTTP API's format=text|json|jsonl|csv)."""
    func = click.option("--color/--no-color", default=None,
                        help="Bold matches and ids in --text (default: when writing to a terminal).")(func)
    for name in reversed(OUTPUT_FORMATS):
        func = click.option(f"--{name}", "output", flag_value=name,
                            help={"json": "One JSON document.", "nl": "JSON Lines, one item a line.",
                                  "csv": "CSV with a header row.", "text": "Readable blocks."}[name])(func)
    return func


def _color(color: bool | None) -> bool:
    return sys.stdout.isatty() if color is None else color


lock_timeout_option = click.option(
    "--lock-timeout", envvar="KB_LOCK_TIMEOUT", type=click.FloatRange(0, 3600), default=10.0, show_default=True,
    help="Seconds to wait for another writer to finish (KB_LOCK_TIMEOUT).")


def open_kb(home, taxonomy=None, split_options=None, **options) -> KnowledgeBase:
    backend, nodes = _backend()
    return KnowledgeBase(home=home, taxonomy=taxonomy, split_options=split_options, backend=backend, nodes=nodes,
                         **options)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kb")
def main():
    """kb: a searchable knowledge base of tagged passages."""


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--tag", "tags", multiple=True, help="Tag every passage of these documents.")
@click.option("--title", help="Title of the document read from stdin (-).")
@click.option("--id", "doc_id", help="Id of the document read from stdin (-).")
@click.option("--target-words", type=click.IntRange(10, 2000), default=SplitOptions.target_words, show_default=True)
@click.option("--min-words", type=click.IntRange(1, 2000), default=SplitOptions.min_words, show_default=True)
@click.option("--max-words", type=click.IntRange(10, 5000), default=SplitOptions.max_words, show_default=True)
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=BATCH_DOCUMENTS, show_default=True,
              help=f"Documents per commit (or {BATCH_PASSAGES:,} passages, whichever comes first): a crash "
                   "loses at most the batch being written.")
@lock_timeout_option
@click.option("--embed/--no-embed", default=None,
              help="Embed passages for semantic search (default: when the semantic extra is installed "
                   "and KB_SEMANTIC is not 0).")
@home_option
@taxonomy_option
@backend_options
@friendly_errors
def ingest(paths, tags, title, doc_id, target_words, min_words, max_words, batch_size, lock_timeout, embed,
           home, taxonomy):
    """Ingest files and folders (.txt .md .html .pdf .jsonl); '-' reads one document from stdin."""
    if not min_words <= target_words <= max_words:
        raise CliError("need --min-words <= --target-words <= --max-words")
    kb = open_kb(home, taxonomy, SplitOptions(target_words, min_words, max_words), batch_size=batch_size,
                 lock_timeout=lock_timeout, semantic=True if embed else None)
    if embed is False:
        kb.embed_on_ingest = False
    kb.taxonomy  # a bad taxonomy fails here, before any work
    from .readers import read_bytes

    def items():
        files = [p for p in paths if p != "-"]
        if "-" in paths:
            data = sys.stdin.buffer.read()
            yield from _tagged_errors("<stdin>", read_bytes(data, "", title=title, doc_id=doc_id))
        yield from kb.read_paths(files)

    tty = sys.stderr.isatty()
    committed = [0, 0]

    def progress(report):
        if not tty and report.documents == committed[0]:   # logs get a line per commit only
            return
        committed[:] = [report.documents, report.passages]
        line = f"committed {report.documents} documents, {report.passages} passages"
        if kb.embed_on_ingest:
            line += f"; embedded {report.embedded} passages"
        click.echo(f"\r{line}" if tty else line, nl=not tty, err=True)

    try:
        report = kb.ingest(items(), tags, progress=progress)
    except IndexBusy as exc:  # say how far it got: what was committed stays
        raise CliError(f"{exc}; stopped after committing {committed[0]} documents, "
                       f"{committed[1]} passages") from None
    if tty and report.documents:
        click.echo("", err=True)
    for source, warning in report.warnings:
        click.echo(f"kb: warning: {source}: {warning}", err=True)
    for source, reason in report.refused:
        click.echo(f"kb: refused {source}: {reason}" if source else f"kb: refused: {reason}", err=True)
    click.echo(f"ingested {report.documents} documents, {report.passages} passages")
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


@main.command()
@click.argument("query", nargs=-1)
@filter_options
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@click.option("--group-by", type=click.Choice(["document"]), default=None)
@click.option("--syntax", type=click.Choice(["auto", "query", "words"]), default="query", show_default=True,
              help="query: query syntax (invalid is an error); words: plain words; auto: query if valid.")
@click.option("--mode", type=click.Choice(SEARCH_MODES), default=None,
              help="lexical (BM25), semantic (embeddings) or hybrid (both fused); default KB_SEARCH_MODE or lexical.")
@click.option("--fusion", type=click.Choice(["rrf", "normalized"]), default=None, help="How hybrid fuses.")
@output_options
@home_option
@backend_options
@friendly_errors
def search(query, tags, any_tags, not_tags, documents, limit, offset, group_by, syntax, mode, fusion, output, color,
           home):
    """Search passages: words, "phrases", AND/OR/NOT, prefix*, tags:... (--text by default)."""
    kb = open_kb(home)
    request = SearchRequest(q=" ".join(query), limit=limit, offset=offset, group_by=group_by,
                            filters=Filters(tags, any_tags, not_tags, documents), syntax=syntax, mode=mode,
                            fusion=fusion)
    response = kb.search(request)
    if response.notice:
        click.echo(f"kb: note: {response.notice}", err=True)
    write_hits(response.hits, output or "text", sys.stdout, total=response.total, query=request.q,
               facets=response.facets, color=_color(color))
    if response.partial:
        click.echo("kb: warning: a shard did not answer: these results are partial", err=True)


@main.command()
@filter_options
@output_options
@click.option("--documents", "whole_documents", is_flag=True,
              help="Every stored document whole, as JSON Lines that `kb ingest FILE.jsonl` reads back.")
@home_option
@backend_options
@friendly_errors
def export(tags, any_tags, not_tags, documents, output, color, whole_documents, home):
    """Every passage (JSON Lines by default): id, document_id, ordinal, section, start, end, text, tags."""
    kb = open_kb(home)
    if whole_documents:
        if tags or any_tags or not_tags or documents or output not in (None, "nl"):
            raise CliError("--documents writes every document as JSON Lines: no filters or other formats")
        for doc in kb.export_documents():
            click.echo(json.dumps(doc, ensure_ascii=False))
        return
    write_hits(kb.export(Filters(tags, any_tags, not_tags, documents)), output or "nl", sys.stdout,
               color=_color(color), key="passages")


@main.command()
@click.option("--host", envvar="HOST", default="127.0.0.1", show_default=True)
@click.option("--port", envvar="PORT", type=click.IntRange(0, 65535), default=5000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="gunicorn sync worker processes [default: one per CPU core, 2 to 8]")
@click.option("--token-file", type=click.Path(dir_okay=False),
              help="File holding the bearer token every write needs (else KB_API_TOKEN).")
@click.option("--read-token-file", type=click.Path(dir_okay=False),
              help="File holding a bearer token reads need too (else KB_READ_TOKEN; unset: reads are open).")
@click.option("--max-body", envvar="KB_MAX_BODY", default="25MB", show_default=True,
              help="Largest request body; larger ones get a 413 (bytes, or 500KB, 25MB, 1GB).")
@click.option("--cors-origins", envvar="KB_CORS_ORIGINS", default="*", show_default=True,
              help="Origins whose pages may read the API: '*' or a comma-separated list.")
@click.option("--lock-timeout", envvar="KB_LOCK_TIMEOUT", type=click.FloatRange(0, 3600), default=5.0,
              show_default=True, help="Seconds an HTTP write waits for the index lock before a 503 (KB_LOCK_TIMEOUT).")
@click.option("--query-time-limit", envvar="KB_QUERY_TIME_LIMIT", type=click.FloatRange(0, 3600),
              default=5.0, show_default=True,
              help="Seconds a search may take: past it a 503, or partial ranked hits (0: no limit; KB_QUERY_TIME_LIMIT).")
@click.option("--max-expansions", envvar="KB_MAX_EXPANSIONS", type=click.IntRange(1, 1_000_000), default=500,
              show_default=True, help="Words a prefix*, wild*card or fuzzy~ term may expand to (KB_MAX_EXPANSIONS).")
@home_option
@taxonomy_option
@backend_options
@friendly_errors
def serve(host, port, workers, token_file, read_token_file, max_body, cors_origins, lock_timeout,
          query_time_limit, max_expansions, home, taxonomy):
    """Serve the HTTP API with gunicorn (ingests the bundled sample into an empty knowledge base)."""
    from api.limits import parse_size  # kb → api only here, inside `kb serve`
    token = _token(token_file, "KB_API_TOKEN")
    read_token = _token(read_token_file, "KB_READ_TOKEN")
    try:
        max_bytes = parse_size(max_body)
    except ValueError as exc:
        raise CliError(f"--max-body: {exc}") from None
    backend, nodes = _backend()
    config = {"KB_API_TOKEN": token, "KB_READ_TOKEN": read_token, "MAX_CONTENT_LENGTH": max_bytes,
              "KB_CORS_ORIGINS": cors_origins, "KB_BACKEND": backend, "KB_SPHINX_NODES": nodes,
              "KB_LOCK_TIMEOUT": lock_timeout, "KB_QUERY_TIME_LIMIT": query_time_limit,
              "KB_MAX_EXPANSIONS": max_expansions}
    kb = open_kb(home, taxonomy)
    if kb.semantic:   # embedding loads torch, which must not be in the process gunicorn forks workers from
        import multiprocessing
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            ingested = pool.apply(_ensure_sample, (home, taxonomy))
    else:
        ingested = kb.ensure_sample()
    if ingested:
        click.echo("kb: empty knowledge base: ingested the bundled sample (science-diplomacy)", err=True)
    kb.index.close()
    if token:
        click.echo("kb: writes need 'Authorization: Bearer <token>'", err=True)
    else:
        click.echo("kb: no API token (KB_API_TOKEN or --token-file): writes are accepted only from loopback",
                   err=True)
    click.echo("kb: reads need a bearer token too (KB_READ_TOKEN)" if read_token else "kb: reads are open",
               err=True)
    from .server import default_workers, run  # imports api: only here
    run(host=host, port=port, workers=workers or default_workers(), home=home, taxonomy=taxonomy,
        extra_config=config)


def _token(path: str | None, variable: str) -> str | None:
    """A token from a file (first line, whitespace stripped) or else from the environment."""
    if path:
        with open(path, encoding="utf-8") as handle:
            token = handle.readline().strip()
        if not token:
            raise CliError(f"the token file {path} is empty")
    else:
        token = os.environ.get(variable, "").strip()
    if token and len(token) < 16:
        click.echo(f"kb: warning: the {variable} token is short ({len(token)} characters); "
                   "32 random characters are safer", err=True)
    return token or None


def _ensure_sample(home, taxonomy) -> bool:
    return open_kb(home, taxonomy).ensure_sample()


@main.command()
@home_option
@taxonomy_option
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@backend_options
@friendly_errors
def tags(home, taxonomy, as_json):
    """Every tag with its passage count."""
    items = open_kb(home, taxonomy).tags()
    if as_json:
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
    for t in items:
        click.echo(f"{t['count']:6d}  {t['tag']:<28} {t['label']}")


@main.command()
@home_option
@taxonomy_option
@backend_options
@friendly_errors
def stats(home, taxonomy):
    """Counts, index size and versions (JSON)."""
    click.echo(json.dumps(open_kb(home, taxonomy).stats(), indent=2))


@main.command()
@click.argument("item_id")
@home_option
@backend_options
@friendly_errors
def show(item_id, home):
    """Show a passage (DOC:N, with tag evidence) or a document (DOC) as JSON."""
    kb = open_kb(home)
    item = kb.get_passage(item_id) if ":" in item_id else kb.get_document(item_id)
    if item is None:
        raise CliError(f"no passage or document with id '{item_id}'")
    click.echo(json.dumps(item, indent=2, ensure_ascii=False))


@main.command()
@click.argument("document_id")
@lock_timeout_option
@home_option
@backend_options
@friendly_errors
def delete(document_id, lock_timeout, home):
    """Remove a document and its passages."""
    if not open_kb(home, lock_timeout=lock_timeout).delete(document_id):
        raise CliError(f"no document with id '{document_id}'")
    click.echo(f"deleted {document_id}")


@main.command()
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=BATCH_DOCUMENTS, show_default=True,
              help="Documents per commit into the new index.")
@lock_timeout_option
@home_option
@taxonomy_option
@backend_options
@friendly_errors
def rebuild(batch_size, lock_timeout, home, taxonomy):
    """Re-split and re-tag every stored document (whoosh: into a new index, switched atomically;
    sphinx: in place, each document atomically)."""
    done = [0]

    def progress(count):
        done[0] += count
        click.echo(f"committed {done[0]} documents (rebuild)", err=True)

    count = open_kb(home, taxonomy, lock_timeout=lock_timeout, batch_size=batch_size).rebuild(progress)
    click.echo(f"rebuilt {count} documents")


from .cluster_cli import cluster  # noqa: E402 - the `kb cluster` group lives in its own file
from .taxonomy_cli import taxonomy  # noqa: E402 - and so does `kb taxonomy`

main.add_command(cluster)
main.add_command(taxonomy)

if __name__ == "__main__":  # pragma: no cover
    main()
