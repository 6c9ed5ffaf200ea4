"""``kb serve``: the HTTP API on gunicorn (kb.server), over the knowledge base the settings name."""
from __future__ import annotations

import click

from ..settings import Settings, parse_size
from .options import (
    CliError,
    backend_options,
    friendly_errors,
    home_option,
    open_kb,
    setting_option,
    settings,
    taxonomy_option,
)


class Size(click.ParamType):
    """25MB, 500KB or bytes; a bad size is kb's one-line error (exit 1), like every bad setting."""
    name = "size"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            return parse_size(value)
        except ValueError as exc:
            raise CliError(f"{param.opts[0]}: {exc}") from None


@click.command()
@setting_option("host")
@setting_option("port", type=click.IntRange(0, 65535))
@setting_option("http_workers", type=click.IntRange(1, 64))
@click.option("--token-file", type=click.Path(dir_okay=False),
              help="File holding the bearer token every write needs (else KB_API_TOKEN).")
@click.option("--read-token-file", type=click.Path(dir_okay=False),
              help="File holding a bearer token reads need too (else KB_READ_TOKEN; unset: reads are open).")
@setting_option("max_body", type=Size())
@setting_option("cors_origins")
@setting_option("public_url")
@setting_option("http_lock_timeout", type=click.FloatRange(0, 3600))
@setting_option("query_time_limit", type=click.FloatRange(0, 3600))
@setting_option("max_expansions", type=click.IntRange(1, 1_000_000))
@home_option
@taxonomy_option
@backend_options
@friendly_errors
def serve(token_file, read_token_file):
    """Serve the HTTP API with gunicorn (ingests the bundled sample into an empty knowledge base)."""
    config = settings(api_token=_token_file(token_file), read_token=_token_file(read_token_file))
    for variable, token in (("KB_API_TOKEN", config.api_token), ("KB_READ_TOKEN", config.read_token)):
        if token and len(token) < 16:
            click.echo(f"kb: warning: the {variable} token is short ({len(token)} characters); "
                       "32 random characters are safer", err=True)
    check_port_free(config.host, config.port)
    kb = open_kb(create=True)   # `make serve` on a fresh clone serves the sample
    kb.load_taxonomy()   # a taxonomy other than the knowledge base's is refused before serving
    if kb.semantic:   # embedding loads torch, which must not be in the process gunicorn forks workers from
        import multiprocessing
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            ingested = pool.apply(_ensure_sample, (config,))
    else:
        ingested = kb.ensure_sample()
    if ingested:
        click.echo("kb: empty knowledge base: ingested the bundled sample (science-diplomacy)", err=True)
    kb.index.close()
    if config.api_token:
        click.echo("kb: writes need 'Authorization: Bearer <token>'", err=True)
    elif config.read_token:
        click.echo("kb: no write token (KB_API_TOKEN or --token-file): writes need the read token", err=True)
    else:
        click.echo("kb: no API token (KB_API_TOKEN or --token-file): writes are accepted only from loopback, "
                   "for a Host that names this machine", err=True)
    click.echo("kb: reads need a bearer token too (KB_READ_TOKEN)" if config.read_token else "kb: reads are open",
               err=True)
    from ..server import run  # imports api: only here
    run(config)


def check_port_free(host: str, port: int) -> None:
    """One clear line (and exit 1) when the address is taken, before anything says 'serving'."""
    import errno
    import socket

    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise CliError(f"cannot listen on {host}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as gunicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            reason = "already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
            raise CliError(f"cannot listen on {host}:{port}: {reason}"
                           + (" (another server? choose another with --port)" if exc.errno == errno.EADDRINUSE
                              else "")) from None


def _token_file(path: str | None) -> str | None:
    """A token from a file: its first line, whitespace stripped (None: no file given)."""
    if not path:
        return None
    with open(path, encoding="utf-8") as handle:
        token = handle.readline().strip()
    if not token:
        raise CliError(f"the token file {path} is empty")
    return token


def _ensure_sample(config: Settings) -> bool:
    from ..core import KnowledgeBase
    return KnowledgeBase(config).ensure_sample()
