"""What the ``kb`` commands share: one-line errors, the options that map to settings, filter and
output options, and opening the knowledge base those options describe. Command modules import
this one; it imports none of them."""
from __future__ import annotations

import dataclasses
import functools
import os
import sys

import click

from index import IndexError_

from ..core import KnowledgeBase, NoKnowledgeBase
from ..embedding import SemanticUnavailable
from ..limits import OverLimit
from ..metadata_filters import MetadataFilters
from ..output import OUTPUT_FORMATS, FieldsError
from ..readers import ReadError
from ..settings import BACKENDS, Settings, SettingsError
from ..split import SplitOptions
from ..tagging import TaxonomyError

_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
SETTINGS_KEY = "kb.settings"


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
        except BrokenPipeError:   # `kb search ... | head -1`: the reader has what it wanted
            quiet_exit()
        except (IndexError_, TaxonomyError, ReadError, SemanticUnavailable, SettingsError, OverLimit,
                FieldsError) as exc:
            raise CliError(str(exc)) from None
        except OSError as exc:
            raise CliError(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")) from None
        except Exception as exc:  # the last line of defence: one line, no traceback
            raise CliError(f"{type(exc).__name__}: {exc}") from None
    return wrapper


def quiet_exit() -> None:
    """Stop without a word after stdout's reader went away (no 'Broken pipe' at exit either)."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    sys.exit(0)


# ---------------------------------------------------------------------- options that are settings

def setting_option(setting: str, **kwargs):
    """The click option that overrides one setting (named in kb.settings); its help names the
    variable and the default (kb.settings reads the variable, so the option's own default is None)."""
    meta = _FIELDS[setting].metadata
    help_text = kwargs.pop("help", meta["help"])
    kwargs["help"] = f"{help_text} [{meta['env']}; default: {meta['shown'] or 'none'}]"

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **values):
            overrides = click.get_current_context().meta.setdefault(SETTINGS_KEY, {})
            overrides[setting] = values.pop(setting)
            return func(*args, **values)
        return click.option(meta["option"], setting, default=None, **kwargs)(wrapper)
    return decorate


home_option = setting_option("home", type=click.Path(file_okay=False))
taxonomy_option = setting_option("taxonomy", type=click.Path(dir_okay=False))
lock_timeout_option = setting_option("lock_timeout", type=click.FloatRange(0, 3600))


def backend_options(func):
    """--backend and --sphinx-nodes: which engine holds the index."""
    func = setting_option("sphinx_nodes", metavar="NODES")(func)
    return setting_option("backend", type=click.Choice(BACKENDS))(func)


def settings(**overrides) -> Settings:
    """The environment's settings, changed by this command's options and by ``overrides``."""
    context = click.get_current_context(silent=True)
    given = dict(context.meta.get(SETTINGS_KEY, {})) if context else {}
    given.update(overrides)
    return Settings.from_env(**given)


def open_kb(split_options: SplitOptions | None = None, create: bool = False, **overrides) -> KnowledgeBase:
    """The knowledge base the options name. Only the commands that make one pass ``create`` (ingest,
    serve, taxonomy use): a read of a missing one is an error that says where it looked."""
    try:
        return KnowledgeBase(settings(**overrides), split_options=split_options, create=create)
    except NoKnowledgeBase as exc:
        raise CliError(str(exc)) from None


# ---------------------------------------------------------------------- search and output options

def filter_options(func):
    func = click.option("--tag", "tags", multiple=True, help="Passages must carry this tag (repeatable).")(func)
    func = click.option("--any-tag", "any_tags", multiple=True, help="At least one of these tags.")(func)
    func = click.option("--not-tag", "not_tags", multiple=True, help="None of these tags.")(func)
    func = click.option("--document", "documents", multiple=True, help="Only these documents.")(func)
    return func


def metadata_options(func):
    """--author/--date-from/--date-to/--source, passed on as one ``metadata`` (MetadataFilters)."""
    @functools.wraps(func)
    def wrapper(*args, author=(), date_from=None, date_to=None, source=None, **kwargs):
        return func(*args, metadata=MetadataFilters(tuple(author), date_from or "", date_to or "", source or ""),
                    **kwargs)

    wrapper = click.option("--source", metavar="PREFIX", help="Documents whose source starts with this.")(wrapper)
    wrapper = click.option("--date-to", metavar="DATE", help="Documents dated on or before (ISO, inclusive).")(wrapper)
    wrapper = click.option("--date-from", metavar="DATE",
                           help="Documents dated on or after (ISO: 2020, 2020-03, 2020-03-04).")(wrapper)
    return click.option("--author", multiple=True,
                        help="Documents by this author (repeatable: any; case and accents ignored).")(wrapper)


def output_options(func):
    """--text/--json/--nl/--csv/--csl/--bibtex/--ris and --color, shared by `kb search` and `kb export` (and rendered by
    kb.output, like the HTTP API's format=text|json|jsonl|csv)."""
    func = click.option("--color/--no-color", default=None,
                        help="Bold matches and ids in --text (default: when writing to a terminal).")(func)
    for name in reversed(OUTPUT_FORMATS):
        func = click.option(f"--{name}", "output", flag_value=name,
                            help={"json": "One JSON document.", "nl": "JSON Lines, one item a line.",
                                  "csv": "CSV with a header row.", "text": "Readable blocks.",
                                  "csl": "CSL-JSON: one item per document, passages as its note.",
                                  "bibtex": "BibTeX: one entry per document.",
                                  "ris": "RIS: one entry per document."}[name])(func)
    return func


def fields_option(valid: tuple[str, ...]):
    """--fields id,text (comma-separated, repeatable): only these keys of each hit or line (--json, --nl),
    the ``fields=`` of the API (kb.output.chosen_fields)."""
    return click.option("--fields", "fields", multiple=True, metavar="NAMES",
                        help=f"Only these fields of each item, with --json or --nl: {', '.join(valid)} (id always).")


def wants_color(value: bool | None) -> bool:
    return sys.stdout.isatty() if value is None else value

