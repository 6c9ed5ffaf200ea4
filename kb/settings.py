"""Every setting of kb, read in one place: its environment variable, type, default and meaning.

``Settings.from_env()`` reads the environment once; the ``kb`` command, ``kb serve``,
``create_app()`` and ``KnowledgeBase`` all take the resulting object, and a command-line option
overrides the variable of the same setting (``--home`` and ``KB_HOME``). The README's settings
table is this list (a test keeps the two equal).
"""
from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

SEARCH_MODES = ("lexical", "semantic", "hybrid")
BACKENDS = ("whoosh", "sphinx")


class SettingsError(ValueError):
    """A setting whose value cannot be read; the message names the variable."""


def parse_size(value: str | int) -> int:
    """'25MB' → 26214400; '500k', '1GB', plain bytes (binary units). ValueError when unreadable."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*", str(value), re.I)
    if not match:
        raise ValueError(f"cannot read the size '{value}' (say 25MB, 500KB or a number of bytes)")
    size = int(float(match.group(1)) * {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[match.group(2).lower()])
    if size < 1024:
        raise ValueError(f"the size '{value}' is too small (at least 1KB)")
    return size


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _number(value: str, kind: type, expected: str):
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ValueError(expected) from None


def _seconds(value: str) -> float:
    seconds = _number(value, float, "expected seconds from 0 to 3600")
    if not 0 <= seconds <= 3600:
        raise ValueError("expected seconds from 0 to 3600")
    return seconds


def _count(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        number = _number(value, int, f"expected a whole number from {low:,} to {high:,}")
        if not low <= number <= high:
            raise ValueError(f"expected a whole number from {low:,} to {high:,}")
        return number
    return parse


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        value = value.strip().lower()
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return value
    return parse


def _switch(value: str) -> str:
    value = value.strip().lower()
    for name, spellings in (("on", ("1", "on", "true", "yes")), ("off", ("0", "off", "false", "no")),
                            ("auto", ("auto", ""))):
        if value in spellings:
            return name
    raise ValueError("expected auto, 1 or 0")


def _text(value: str) -> str | None:
    return value.strip() or None


def _public_url(value: str) -> str | None:
    """http(s)://host[:port][/path], without a trailing slash; '' for none."""
    from urllib.parse import urlsplit

    value = value.strip().rstrip("/")
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError("expected http(s)://host[:port][/path], the URL clients reach kb at")
    return value


def _setting(env: str, default: Any, parse: Callable[[str], Any], help: str, shown: str | None = None,
             option: str | None = None) -> Any:
    """A field of ``Settings``: ``env`` is its variable, ``shown`` its default as documented,
    ``option`` the command-line option that overrides it."""
    return field(default=default, metadata={"env": env, "parse": parse, "help": help, "option": option,
                                            "shown": shown if shown is not None else str(default)})


@dataclass(frozen=True)
class Settings:
    # where the knowledge base lives and what it is made of
    home: Path = _setting("KB_HOME", Path("kb-data"), Path, "Where the knowledge base lives.",
                          shown="./kb-data", option="--home")
    taxonomy: Path | None = _setting("KB_TAXONOMY", None, Path,
                                     "The taxonomy YAML a new knowledge base is created with; one that has "
                                     "another refuses it (switch with `kb taxonomy use FILE`).",
                                     shown="the bundled science-diplomacy.yaml", option="--taxonomy")
    backend: str = _setting("KB_BACKEND", "whoosh", _choice(*BACKENDS),
                            "Search engine: whoosh (embedded) or sphinx (a SphinxQL cluster).", option="--backend")
    sphinx_nodes: str | None = _setting("KB_SPHINX_NODES", None, _text,
                                        "The sphinx backend's SphinxQL nodes: shards by `,`, mirrors by `|`.",
                                        shown="", option="--sphinx-nodes")
    cluster_dir: Path = _setting("KB_CLUSTER_DIR", Path("kb-cluster"), Path,
                                 "Where `kb cluster` keeps its searchd nodes.", shown="./kb-cluster", option="--dir")
    # writing
    lock_timeout: float = _setting("KB_LOCK_TIMEOUT", 10.0, _seconds,
                                   "Seconds a kb command waits for another writer to finish.",
                                   shown="10", option="--lock-timeout")
    http_lock_timeout: float = _setting("KB_HTTP_LOCK_TIMEOUT", 5.0, _seconds,
                                        "Seconds an HTTP write waits for another writer, then a 503 with Retry-After.",
                                        shown="5", option="--lock-timeout")
    batch_documents: int = _setting("KB_BATCH_DOCUMENTS", 5000, _count(1, 100_000),
                                    "Documents per commit of a bulk ingest.", option="--batch-size")
    batch_passages: int = _setting("KB_BATCH_PASSAGES", 5000, _count(1, 1_000_000),
                                   "...or passages per commit, whichever comes first.")
    ingest_workers: int | None = _setting("KB_INGEST_WORKERS", None, _count(0, 64),
                                          "Processes that split and tag while `kb ingest` writes (0: in-process).",
                                          shown="one per core")
    tag_query_limit: int = _setting("KB_TAG_QUERY_LIMIT", 10_000, _count(1, 1_000_000),
                                    "Passages one tag edit by query may change (`kb tag add --query`, "
                                    "POST /api/v1/tags/<tag>/passages).")
    # searching
    query_time_limit: float = _setting("KB_QUERY_TIME_LIMIT", 5.0, _seconds,
                                       "Seconds a search may take: past it a 503, or the hits ranked so far "
                                       "with partial: true (0: none).", shown="5", option="--query-time-limit")
    max_expansions: int = _setting("KB_MAX_EXPANSIONS", 500, _count(1, 1_000_000),
                                   "Index words a prefix*, wild*card or fuzzy~ term may stand for.",
                                   option="--max-expansions")
    query_max_chars: int = _setting("KB_QUERY_MAX_CHARS", 50_000, _count(1000, 10_000_000),
                                    "Longest question or pasted text a search takes (syntax words or auto; "
                                    "query syntax: 1000).")
    long_query_terms: int = _setting("KB_LONG_QUERY_TERMS", 64, _count(0, 10_000),
                                     "A text of more distinct words is searched by this many of its most "
                                     "telling ones, by tf·idf (0: all of them).")
    postings_cache: int = _setting("KB_POSTINGS_CACHE", 50 * 1024 ** 2, parse_size,
                                   "Memory a search process keeps decoded postings in between queries (13 bytes "
                                   "a posting): at a million passages, 400MB took 1-3 word queries from 116 to "
                                   "29 ms once their words had been seen.", shown="50MB")
    semantic: str = _setting("KB_SEMANTIC", "auto", _switch,
                             "Embeddings: auto (when the semantic extra is installed), 1 (required) or 0 (off).")
    search_mode: str = _setting("KB_SEARCH_MODE", "lexical", _choice(*SEARCH_MODES),
                                "The default search mode: lexical, semantic or hybrid.")
    # serving (kb serve, create_app)
    host: str = _setting("HOST", "127.0.0.1", str, "The address `kb serve` listens on.", option="--host")
    port: int = _setting("PORT", 5000, _count(0, 65535), "The port `kb serve` listens on.", option="--port")
    http_workers: int | None = _setting("KB_HTTP_WORKERS", None, _count(1, 64),
                                        "gunicorn worker processes of `kb serve`.", shown="one per core, 2 to 8",
                                        option="--workers")
    api_token: str | None = _setting("KB_API_TOKEN", None, _text, "Bearer token every write needs.",
                                     shown="none", option="--token-file")
    read_token: str | None = _setting("KB_READ_TOKEN", None, _text, "Bearer token every read needs too.",
                                      shown="none", option="--read-token-file")
    max_body: int = _setting("KB_MAX_BODY", 25 * 1024 ** 2, parse_size,
                             "Largest request body (25MB, 500KB, bytes); larger is a 413.", shown="25MB",
                             option="--max-body")
    public_url: str | None = _setting("KB_PUBLIC_URL", None, _public_url,
                                      "The URL clients reach kb at (behind a proxy): links and Location "
                                      "headers use it, never the request's Host.", shown="none",
                                      option="--public-url")
    cors_origins: str = _setting("KB_CORS_ORIGINS", "*", str,
                                 "Origins whose pages may read the API: * or a comma-separated list.",
                                 option="--cors-origins")
    http_header_timeout: float = _setting("KB_HTTP_HEADER_TIMEOUT", 10.0, _seconds,
                                          "Seconds a request's line and headers may take to arrive; then a 408 "
                                          "and the connection closed.", shown="10")
    http_body_rate: int = _setting("KB_HTTP_BODY_RATE", 64 * 1024, parse_size,
                                   "Slowest upload accepted: a body may take the header timeout plus its size "
                                   "at this rate (a 25MB body 410 s); then a 408.", shown="64KB")
    http_send_timeout: float = _setting("KB_HTTP_SEND_TIMEOUT", 30.0, _seconds,
                                        "Seconds a client may stop reading an answer; then it is dropped.",
                                        shown="30")
    http_max_requests: int = _setting("KB_HTTP_MAX_REQUESTS", 10_000, _count(0, 10_000_000),
                                      "Requests a worker answers before a fresh one replaces it (plus up to "
                                      "50 % jitter, so that workers do not restart together; 0: never).")
    http_eval_time: float = _setting("KB_HTTP_EVAL_TIME", 30.0, _seconds,
                                     "Seconds one POST /api/v1/eval may search; past them a 413 that says to "
                                     "send fewer queries per request (`kb eval` has no limit).", shown="30")
    bulk_job_size: int = _setting("KB_BULK_JOB_SIZE", 1024 ** 2, parse_size,
                                  "A JSON Lines bulk post larger than this runs as a job: 202 and "
                                  "/api/v1/jobs/<id> to poll.", shown="1MB")
    model_wait: float = _setting("KB_MODEL_WAIT", 20.0, _seconds,
                                 "Seconds a semantic query waits for the model to load before a 503.", shown="20")
    # what one input may hold, on every way in (HTTP, JSON Lines, front matter, files, the CLI): kb.limits
    max_text: int = _setting("KB_MAX_TEXT", 1024 ** 2, parse_size,
                             "Largest text of one document, in characters (1MB: 1,048,576); larger is a 413.",
                             shown="1MB")
    max_tags: int = _setting("KB_MAX_TAGS", 50, _count(1, 10_000),
                             "Tags one document (or one request's `tag=`) may give; more is a 422.")
    max_tag_length: int = _setting("KB_MAX_TAG_LENGTH", 200, _count(1, 10_000),
                                   "Characters in one tag; longer is a 422.")
    max_metadata: int = _setting("KB_MAX_METADATA", 64 * 1024, parse_size,
                                 "Largest metadata of one document, as JSON; larger is a 422.", shown="64KB")
    max_depth: int = _setting("KB_MAX_DEPTH", 32, _count(2, 500),
                              "Deepest nesting of a JSON body, a JSON Lines record or metadata; deeper is a 422.")
    max_pdf_pages: int = _setting("KB_MAX_PDF_PAGES", 1000, _count(1, 1_000_000),
                                  "Pages of one PDF (counted before any is read); more is a 413.")
    max_html_elements: int = _setting("KB_MAX_HTML_ELEMENTS", 100_000, _count(1, 100_000_000),
                                      "Elements of one HTML page; more is a 413.")
    max_sections: int = _setting("KB_MAX_SECTIONS", 2000, _count(1, 1_000_000),
                                 "Headings of one document (HTML, Markdown, JSON Lines sections); more is a 413.")
    max_bulk_lines: int = _setting("KB_MAX_BULK_LINES", 10_000, _count(1, 10_000_000),
                                   "Documents (lines) of one POST /api/v1/documents/bulk; more is a 413.")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from the environment (``os.environ`` by default), then ``overrides`` (a
        None override leaves the setting as the environment has it; a string is read as the
        variable's would be). Raises SettingsError."""
        env = os.environ if env is None else env
        values = {}
        for f in dataclasses.fields(cls):
            raw = env.get(f.metadata["env"])
            if raw is not None and raw.strip() != "":
                values[f.name] = _parse(f, raw)
        return cls(**values).replace(**overrides)

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any], base: Settings | None = None) -> Settings:
        """``base`` (default: the environment's) changed by the ``KB_*`` keys of a config mapping
        (a Flask test config), read as ``replace`` reads its arguments."""
        changes = {f.name: config[f.metadata["env"]] for f in dataclasses.fields(cls) if f.metadata["env"] in config}
        return (base or cls.from_env()).replace(**changes)

    def replace(self, **changes: Any) -> Settings:
        """A copy with these settings changed: None leaves one as it is, a string is read as its
        variable would be, any other value is taken as it is."""
        fields = {f.name: f for f in dataclasses.fields(self)}
        return dataclasses.replace(self, **{name: _parse(fields[name], value) if isinstance(value, str) else value
                                            for name, value in changes.items() if value is not None})

    @property
    def ingest_worker_count(self) -> int:
        """Worker processes for a bulk ingest: one per core by default. The main process writes the
        index while they prepare; when it waits for them, they have every core (measured on 2
        cores, SciFact: 31 s with two workers, 42 s with one)."""
        return max(1, cores()) if self.ingest_workers is None else self.ingest_workers

    @property
    def http_worker_count(self) -> int:
        """One per core (searching is CPU-bound), at least 2 (one busy worker does not stall the
        rest), at most 8 (each holds its own caches)."""
        return max(2, min(8, cores())) if self.http_workers is None else self.http_workers


def _parse(f: dataclasses.Field, raw: str) -> Any:
    try:
        return f.metadata["parse"](raw)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{f.metadata['env']}={raw.strip()[:80]}: {exc}") from None


def documented() -> list[dict]:
    """Every setting as the README lists it: variable, option, default, meaning."""
    return [{"env": f.metadata["env"], "name": f.name, "option": f.metadata["option"],
             "default": f.metadata["shown"], "help": f.metadata["help"]} for f in dataclasses.fields(Settings)]
