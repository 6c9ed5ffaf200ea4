"""Reading files and uploads into Documents: one module per format (``text``, ``markdown``, ``html``,
``pdf``, ``jsonl``), each naming its ``EXTENSIONS`` and ``CONTENT_TYPES``; the registry below lists them.

A reader is a function ``(data: bytes, name: str) -> Iterator[ReadResult | ReadError]``. It *raises*
ReadError for a whole-file problem (binary, empty, undecodable, corrupt) and *yields* a ReadError for a
bad record inside a multi-document file (a .jsonl line), so the good records still land.

``ReadResult.sections`` lists ``(offset, section path)`` pairs for formats with real structure (Markdown,
HTML): ``offset`` is the first character *after* the heading line in ``document.text`` (the heading line
itself is kept in the text and ends at ``offset - 1``); the text from there up to the next heading line
belongs to that section. Plain text and PDF give ``None``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from kb.limits import OverLimit, replace_surrogates
from kb.models import Document

from . import html, jsonl, markdown, pdf, text
from .base import TITLE_MAX, Reader, ReadError, ReadResult, clean_id, path_id, stem_id

__all__ = ["ReadError", "ReadResult", "SUPPORTED_EXTENSIONS", "Skipped", "TITLE_MAX", "hidden", "iter_paths", "path_id",
           "read_path", "read_bytes", "read_jsonl", "reader_for", "register", "supported", "walk"]

STREAM_BYTES = 64 << 20   # files larger than this are read line by line where the format allows
_BY_EXTENSION: dict[str, Reader] = {}
_BY_CONTENT_TYPE: dict[str, Reader] = {}
SUPPORTED_EXTENSIONS: set[str] = set()  # lower-case, with the dot
read_jsonl = jsonl.read_jsonl
_STREAMS: dict[Reader, Callable[[Path, str], Iterator[ReadResult | ReadError]]] = {read_jsonl: jsonl.stream_jsonl}


def register(*extensions: str, content_types: Iterable[str] = ()) -> Callable[[Reader], Reader]:
    """Add a reader: ``@register(".txt", content_types=["text/plain"])`` on a reader function."""

    def decorate(func: Reader) -> Reader:
        for ext in extensions:
            ext = ext.lower() if ext.startswith(".") else "." + ext.lower()
            _BY_EXTENSION[ext] = func
            SUPPORTED_EXTENSIONS.add(ext)
        for ctype in content_types:
            _BY_CONTENT_TYPE[ctype.lower()] = func
        return func

    return decorate


register(*text.EXTENSIONS, content_types=text.CONTENT_TYPES)(text.read_text)
register(*markdown.EXTENSIONS, content_types=markdown.CONTENT_TYPES)(markdown.read_markdown)
register(*html.EXTENSIONS, content_types=html.CONTENT_TYPES)(html.read_html)
register(*pdf.EXTENSIONS, content_types=pdf.CONTENT_TYPES)(pdf.read_pdf)
register(*jsonl.EXTENSIONS, content_types=jsonl.CONTENT_TYPES)(read_jsonl)


def _extension(filename: str) -> str:
    return os.path.splitext(os.path.basename(filename or ""))[1].lower()


def reader_for(filename: str = "", content_type: str = "") -> Reader | None:
    """The reader for a file name's extension, else for a content type (parameters ignored), else None."""
    reader = _BY_EXTENSION.get(_extension(filename))
    if reader is None and content_type:
        reader = _BY_CONTENT_TYPE.get(content_type.split(";")[0].strip().lower())
    return reader


@dataclass
class Skipped:
    """A file found in a folder that no reader takes (``.png``, ``.css``): counted and named, not read."""
    source: str
    reason: str


def walk(paths: Iterable[str | Path]) -> Iterator[tuple[Path, str | None]]:
    """``(file, its path relative to the folder given)`` for every file in these folders (recursively, sorted,
    not following symlinked folders), supported or not; a hidden file or folder (``.git``, ``.cache``)
    comes once, itself, not entered (``hidden``: the caller says it did not read it); a file given
    directly comes as ``(file, None)``."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            yield from ((entry, entry.relative_to(path).as_posix()) for entry in _walk(path))
        else:
            yield path, None


def supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_EXTENSIONS


def hidden(relative: str | None) -> bool:
    """A folder's entry that is hidden, or inside a hidden folder: not read unless named itself."""
    return relative is not None and any(part.startswith(".") for part in relative.split("/"))


def iter_paths(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files as given (whatever their name); in folders, the files with a supported extension (see walk)."""
    return (path for path, relative in walk(paths)
            if relative is None or (supported(path) and not hidden(relative) and path.is_file()))


def _walk(folder: Path) -> Iterator[Path]:
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            yield entry   # not entered: walk's caller reports it
            continue
        if entry.is_dir():
            if not entry.is_symlink():
                yield from _walk(entry)
        elif entry.is_file():
            yield entry


def read_path(path: str | Path, relative: str | None = None) -> Iterator[ReadResult | ReadError]:
    """Read one file. Raises ReadError (on first iteration) for a whole-file problem; yields a ReadError for
    each bad record of a multi-document file. ``relative``: the file's path inside the folder it was found
    in; a one-document file's id then comes from it (base.path_id) unless the file names its own id."""
    if relative is None:
        yield from _read_path(path)
        return
    for item in _read_path(path):
        if isinstance(item, ReadResult):
            item.relative = relative
            doc = item.document
            if item.line is None and doc.id == stem_id(str(path), doc.title, doc.text):  # the id came from the name
                doc.id = path_id(relative)
        yield item


def _read_path(path: str | Path) -> Iterator[ReadResult | ReadError]:
    path = Path(path)
    name = replace_surrogates(str(path))   # a file name that is not UTF-8 is still a name to show
    reader = reader_for(name)
    if not path.exists():
        raise ReadError("no such file", path=name)
    if path.is_dir():
        raise ReadError("is a directory", path=name)
    if not path.is_file():   # a FIFO, socket or device would block or never end
        raise ReadError("not a regular file", path=name)
    if reader is None:
        raise ReadError(f"unsupported file type {path.suffix.lower() or '(no extension)'!r}", path=name)
    stream = _STREAMS.get(reader)   # a reader that can go line by line (JSON Lines)
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
        return pdf.read_pdf
    head = data[:2048].lower()
    return html.read_html if b"<html" in head or b"<!doctype html" in head else text.read_text


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
    except OverLimit as exc:   # a page count, an element count ... over its limit
        raise ReadError(exc.reason, path=name or None, status=exc.status) from None
    except RecursionError:
        raise ReadError("file too deeply nested to read", path=name or None) from None
