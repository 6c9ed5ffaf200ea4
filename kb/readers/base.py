"""What every reader shares: ``ReadError`` and ``ReadResult``, decoding bytes to text, and the
small helpers that make titles, ids and tags from what a file gives."""
from __future__ import annotations

import codecs
import datetime as _dt
import hashlib
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from kb.citation import from_mapping
from kb.models import Document, slugify, valid_document_id

TITLE_MAX = 200
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")  # not tab, newlines, form feed
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


class ReadError(Exception):
    """A one-line reason why a file (or one record of it) could not be read. ``path``/``line`` when known."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None, status: int = 422):
        super().__init__(" ".join(str(message).split()))
        self.path = path
        self.line = line
        self.status = status   # what HTTP answers: 413 for a file over a size limit (kb.limits)


@dataclass
class ReadResult:
    document: Document
    sections: list[tuple[int, str]] | None = None
    warnings: list[str] = field(default_factory=list)
    line: int | None = None  # the line of a multi-document file (.jsonl) it came from
    manual_tags: list[dict] | None = None   # tag edits by hand, as `kb export --documents` writes them
    relative: str | None = None  # the file's path inside the folder given to `kb ingest` (its id comes from it)
    status: str = ""   # new, replaced or unchanged: set by the ingest (kb.ingest)


Reader = Callable[[bytes, str], Iterator["ReadResult | ReadError"]]


def decode_text(data: bytes) -> tuple[str, list[str]]:
    """Bytes to text: UTF-8 (BOM stripped), UTF-16/32 by BOM, else a detected single-byte encoding (with a
    warning). Raises ReadError for empty or binary data. Newlines are normalised to \\n."""
    warnings: list[str] = []
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                raise ReadError(f"invalid {codec.upper()} text") from None
            break
    else:
        if not data.strip():
            raise ReadError("empty file")
        if b"\x00" in data:
            raise ReadError("binary file (NUL bytes)")
        text, warning = _decode_unmarked(data)
        if warning:
            warnings.append(warning)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ReadError("empty file")
    if "\x00" in text:
        raise ReadError("binary file (NUL bytes)")
    if len(_CONTROL.findall(text)) > 0.05 * len(text):
        raise ReadError("binary file (control characters)")
    return text, warnings


def _decode_unmarked(data: bytes) -> tuple[str, str]:
    """(text, warning) for data without a BOM; the warning is '' when it was clean UTF-8."""
    try:
        return data.decode("utf-8"), ""
    except UnicodeDecodeError:
        pass
    replaced = data.decode("utf-8", errors="replace")
    bad = replaced.count("\ufffd")
    good = len(_NON_ASCII.findall(replaced)) - bad
    if good >= 2 * bad:  # mostly genuine UTF-8 with a few broken bytes
        return replaced, f"decoded as UTF-8 with {bad} invalid byte(s) replaced"
    try:
        cp1252: str | None = data.decode("cp1252")
    except UnicodeDecodeError:
        cp1252 = None
    try:
        from charset_normalizer import from_bytes

        matches = list(from_bytes(data))
    except Exception:  # detection is a nicety; never let it fail a read
        matches = []
    best = matches[0] if matches else None
    if cp1252 is not None:
        # charset-normalizer guesses poorly on short Western text (cp1250, mac_*, even utf_16): prefer
        # cp1252 unless it is clearly beaten by a coherent guess (e.g. Cyrillic in cp1251).
        tied = any(m.encoding == "cp1252" and m.chaos <= best.chaos + 0.01 and m.coherence >= best.coherence - 0.05
                   for m in matches) if best else True
        if tied or best.coherence < 0.2:
            return cp1252, "decoded as cp1252 (not UTF-8)"
    if best is not None:
        try:
            return data.decode(best.encoding), f"decoded as {best.encoding} (not UTF-8)"
        except (UnicodeDecodeError, LookupError):
            pass
    return data.decode("latin-1"), "decoded as latin-1 (not UTF-8)"


def json_safe(value: Any) -> Any:
    """Make YAML/JSON values JSON-safe: dates to ISO strings, tuples/sets to lists, odd keys and types to str."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    if isinstance(value, (_dt.date, _dt.datetime, _dt.time)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def citation_and_metadata(mapping: dict) -> dict:
    """Document fields from a mapping of free keys (front matter, a JSON Lines record's extra keys):
    the citation fields kb.citation knows (``author``/``authors``, ``date``/``year``, ``url``,
    ``doi``, ``publisher``), and every other key under ``metadata``, never dropped."""
    record, rest = from_mapping(mapping)
    return {**record, "metadata": json_safe(rest)}


def make_title(text: str, limit: int = TITLE_MAX) -> str:
    """The first non-empty line, whitespace collapsed, cut at a word boundary to at most ``limit`` chars."""
    for line in text.split("\n"):
        line = " ".join(line.split())
        if line:
            if len(line) > limit:
                cut = line[:limit]
                line = cut.rsplit(" ", 1)[0] if " " in cut[limit // 2:] else cut
            return line
    return ""


def clean_id(value: Any, title: str = "", text: str = "") -> str:
    """A valid document id from a given one (slugified when not valid), else from title and text."""
    value = "" if value is None else str(value).strip()
    if value and not valid_document_id(value):
        value = slugify(value)
    return value or Document.make_id(title, text)


def stem_id(name: str, title: str, text: str) -> str:
    """The default id of a one-document file: slug of the file name's stem, else title + content hash."""
    stem = os.path.splitext(os.path.basename(name or ""))[0]
    return slugify(stem) or Document.make_id(title, text)


_CANONICAL_PATH = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*(?:/[a-z0-9]+(?:-[a-z0-9]+)*)*")


def path_id(relative: str) -> str:
    """The id of a one-document file found in a folder, from its path inside that folder (never its name
    alone): ``guide/intro.md`` gives ``guide-intro``; a path the slug would not spell back exactly (capitals,
    spaces, underscores, a long path) gets a short hash of that path too (``a/README.md`` gives
    ``a-readme-<6 hex>``), so ``faq.html`` and ``FAQ.html`` stay two documents. Stable across runs and machines."""
    relative = relative.replace(os.sep, "/").strip("/")
    stem = os.path.splitext(relative)[0] or relative
    slug = slugify(stem.replace("/", "-"), 120)
    if slug and _CANONICAL_PATH.fullmatch(stem) and slug == stem.replace("/", "-"):
        return slug
    digest = hashlib.sha1(relative.encode("utf-8", "surrogateescape"))   # a name that is not UTF-8: its bytes
    return f"{slug or 'doc'}-{digest.hexdigest()[:6]}"


def clean_tags(value: Any) -> list[str]:
    """Tags given as a list, or as one comma-separated string: stripped, non-empty, de-duplicated."""
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, (list, tuple)) else \
        [] if value is None else [value]
    tags = [" ".join(str(item).split()) for item in items if not isinstance(item, (dict, list))]
    return list(dict.fromkeys(tag for tag in tags if tag))


def nest(headings: Iterable[tuple[int, str, int]]) -> list[tuple[int, str]]:
    """(offset, name, level) headings to (offset, "A > B") section paths."""
    stack: list[tuple[int, str]] = []
    out = []
    for offset, name, level in headings:
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, name))
        out.append((offset, " > ".join(n for _, n in stack)))
    return out
