"""Reading files and uploads into Documents: one reader per format, registered by extension and content type.

A reader is a function ``(data: bytes, name: str) -> Iterator[ReadResult | ReadError]``. It *raises*
ReadError for a whole-file problem (binary, empty, undecodable, corrupt) and *yields* a ReadError for a
bad record inside a multi-document file (a .jsonl line), so the good records still land.

``ReadResult.sections`` lists ``(offset, section path)`` pairs for formats with real structure (Markdown,
HTML): ``offset`` is the first character *after* the heading line in ``document.text`` (the heading line
itself is kept in the text and ends at ``offset - 1``); the text from there up to the next heading line
belongs to that section. Plain text and PDF give ``None``.
"""
from __future__ import annotations

import codecs
import datetime as _dt
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import yaml

from kb.models import Document, slugify, valid_document_id

__all__ = ["ReadError", "ReadResult", "SUPPORTED_EXTENSIONS", "iter_paths", "read_path", "read_bytes", "reader_for",
           "register"]

TITLE_MAX = 200
STREAM_BYTES = 64 << 20   # files larger than this are read line by line where the format allows
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")  # not tab, newlines, form feed
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


class ReadError(Exception):
    """A one-line reason why a file (or one record of it) could not be read. ``path``/``line`` when known."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        super().__init__(" ".join(str(message).split()))
        self.path = path
        self.line = line


@dataclass
class ReadResult:
    document: Document
    sections: list[tuple[int, str]] | None = None
    warnings: list[str] = field(default_factory=list)
    line: int | None = None  # the line of a multi-document file (.jsonl) it came from


Reader = Callable[[bytes, str], Iterator["ReadResult | ReadError"]]
_BY_EXTENSION: dict[str, Reader] = {}
_BY_CONTENT_TYPE: dict[str, Reader] = {}
SUPPORTED_EXTENSIONS: set[str] = set()  # lower-case, with the dot; grows as readers register


def register(*extensions: str, content_types: Iterable[str] = ()) -> Callable[[Reader], Reader]:
    """Class-free plug-in point: ``@register(".txt", content_types=["text/plain"])`` on a reader function."""

    def decorate(func: Reader) -> Reader:
        for ext in extensions:
            ext = ext.lower() if ext.startswith(".") else "." + ext.lower()
            _BY_EXTENSION[ext] = func
            SUPPORTED_EXTENSIONS.add(ext)
        for ctype in content_types:
            _BY_CONTENT_TYPE[ctype.lower()] = func
        return func

    return decorate


def _extension(filename: str) -> str:
    return os.path.splitext(os.path.basename(filename or ""))[1].lower()


def reader_for(filename: str = "", content_type: str = "") -> Reader | None:
    """The reader for a file name's extension, else for a content type (parameters ignored), else None."""
    reader = _BY_EXTENSION.get(_extension(filename))
    if reader is None and content_type:
        reader = _BY_CONTENT_TYPE.get(content_type.split(";")[0].strip().lower())
    return reader


# ---------------------------------------------------------------------------------------------- helpers

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


def clean_tags(value: Any) -> list[str]:
    """Tags given as a list, or as one comma-separated string: stripped, non-empty, de-duplicated."""
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, (list, tuple)) else \
        [] if value is None else [value]
    tags = [" ".join(str(item).split()) for item in items if not isinstance(item, (dict, list))]
    return list(dict.fromkeys(tag for tag in tags if tag))


# ---------------------------------------------------------------------------------------------- readers

@register(".txt", ".text", content_types=["text/plain"])
def read_text(data: bytes, name: str) -> Iterator[ReadResult | ReadError]:
    text, warnings = decode_text(data)
    title = make_title(text)
    doc = Document(id=stem_id(name, title, text), title=title, text=text, source=name)
    yield ReadResult(doc, None, warnings)


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


def _heading_name(raw: str) -> str:
    name = _MD_LINK.sub(r"\1", raw or "")
    name = re.sub(r"[*_`]+", "", name)
    return " ".join(name.replace(">", "›").split())


def markdown_sections(text: str) -> list[tuple[int, int, str, int]]:
    """ATX headings outside code fences: (line start, offset after the line, heading name, level)."""
    found, fence, pos = [], "", 0
    for line in text.split("\n"):
        start, pos = pos, pos + len(line) + 1
        m = _FENCE.match(line)
        if m:
            marker = m.group(1)
            if not fence:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence) and not line.strip().strip(marker[0]):
                fence = ""
            continue
        if fence:
            continue
        m = _ATX.match(line)
        if m and _heading_name(m.group(2) or ""):
            found.append((start, min(pos, len(text)), _heading_name(m.group(2)), len(m.group(1))))
    return found


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


def split_front_matter(text: str) -> tuple[dict, str]:
    """(front matter mapping, body) for text starting with a '---' line closed by '---' or '...'."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return {}, text
    for i in range(1, len(lines)):
        if lines[i].rstrip() in ("---", "..."):
            break
    else:
        return {}, text  # no closing line: a thematic break, not front matter
    source = "\n".join(lines[1:i])
    try:
        meta = yaml.safe_load(source)
    except yaml.reader.ReaderError as exc:  # a character YAML does not accept
        line = source[:exc.position].count("\n") + 2
        raise ReadError(f"invalid YAML front matter at line {line}: unacceptable character {exc.character!r}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 2}" if mark is not None else ""
        raise ReadError(f"invalid YAML front matter{where}: {exc.problem or exc.context or 'syntax error'}") from None
    except Exception as exc:  # YAMLError, bad dates (ValueError), deep nesting ...
        raise ReadError(f"invalid YAML front matter: {exc}") from None
    if not isinstance(meta if meta is not None else {}, dict):
        raise ReadError("invalid YAML front matter: expected 'key: value' lines")
    return meta or {}, "\n".join(lines[i + 1:])


@register(".md", ".markdown", ".mdown", ".mkd", content_types=["text/markdown", "text/x-markdown"])
def read_markdown(data: bytes, name: str) -> Iterator[ReadResult | ReadError]:
    text, warnings = decode_text(data)
    meta, body = split_front_matter(text)
    body = body.lstrip("\n")
    if not body.strip():
        raise ReadError("empty file" if not meta else "no text after the front matter")
    headings = markdown_sections(body)
    sections = nest((after, heading, level) for _, after, heading, level in headings)
    first_h1 = next((h for _, _, h, level in headings if level == 1), headings[0][2] if headings else "")
    title = meta.pop("title", None)
    title = " ".join(str(title).split())[:TITLE_MAX] if title not in (None, "") else (first_h1 or make_title(body))
    tags = clean_tags(meta.pop("tags", None))
    source = meta.pop("source", None)
    given_id = meta.pop("id", None)
    doc_id = clean_id(given_id, title, body) if given_id not in (None, "") else stem_id(name, title, body)
    doc = Document(id=doc_id, title=title, text=body, source=str(source) if source else name, tags=tags,
                   metadata=json_safe(meta))
    yield ReadResult(doc, sections, warnings)


# ---------------------------------------------------------------------------------------------- entry points

def iter_paths(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files as given (whatever their name); folders recursively, sorted, skipping hidden files and folders
    and keeping only files with a supported extension. Symlinked folders are not followed."""
    for given in paths:
        path = Path(given)
        yield from _walk(path) if path.is_dir() else (path,)


def _walk(folder: Path) -> Iterator[Path]:
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            if not entry.is_symlink():
                yield from _walk(entry)
        elif entry.is_file() and entry.suffix.lower() in SUPPORTED_EXTENSIONS:
            yield entry


def read_path(path: str | Path) -> Iterator[ReadResult | ReadError]:
    """Read one file. Raises ReadError (on first iteration) for a whole-file problem; yields a ReadError for
    each bad record of a multi-document file."""
    path = Path(path)
    name = str(path)
    reader = reader_for(name)
    if not path.exists():
        raise ReadError("no such file", path=name)
    if path.is_dir():
        raise ReadError("is a directory", path=name)
    if not path.is_file():   # a FIFO, socket or device would block or never end
        raise ReadError("not a regular file", path=name)
    if reader is None:
        raise ReadError(f"unsupported file type {path.suffix.lower() or '(no extension)'!r}", path=name)
    stream = getattr(reader, "stream", None)   # a reader that can go line by line (JSON Lines)
    try:
        if stream is not None and path.stat().st_size > STREAM_BYTES:
            yield from _run(lambda _data, label: stream(path, label), b"", name)
            return
        data = path.read_bytes()
    except PermissionError:
        raise ReadError("permission denied", path=name) from None
    except OSError as exc:
        raise ReadError(f"cannot read file: {exc.strerror or exc}", path=name) from None
    yield from _run(reader, data, name)


def read_bytes(data: bytes, filename: str = "", content_type: str = "", title: str | None = None,
               doc_id: str | None = None) -> Iterator[ReadResult | ReadError]:
    """Read an upload or stdin: reader by file name extension, else content type, else sniffed. ``title`` and
    ``doc_id`` override the detected ones (single-document formats only)."""
    reader = reader_for(filename, content_type) or _sniff(data)
    for item in _run(reader, data, filename):
        if isinstance(item, ReadResult) and reader is not read_jsonl:
            doc = item.document
            if title and title.strip():
                derived = doc.id == Document.make_id(doc.title, doc.text)  # id came from the old title
                doc.title = " ".join(title.split())[:TITLE_MAX]
                if derived:
                    doc.id = Document.make_id(doc.title, doc.text)
            if doc_id not in (None, ""):
                doc.id = clean_id(doc_id, doc.title, doc.text)
        yield item


def _sniff(data: bytes) -> Reader:
    if b"%PDF-" in data[:1024]:
        return _BY_EXTENSION[".pdf"]
    head = data[:2048].lower()
    return _BY_EXTENSION[".html"] if b"<html" in head or b"<!doctype html" in head else read_text


def _run(reader: Reader, data: bytes, name: str) -> Iterator[ReadResult | ReadError]:
    try:
        for item in reader(data, name):
            if isinstance(item, ReadResult) and not item.document.source:
                item.document.source = name
            yield item
    except ReadError as exc:
        if exc.path is None and name:
            exc.path = name
        raise
    except RecursionError:
        raise ReadError("file too deeply nested to read", path=name or None) from None


from kb import html_reader, jsonl_reader, pdf_reader  # noqa: E402,F401  (they register themselves)

read_jsonl = jsonl_reader.read_jsonl
