"""Plain text: the whole file is the document; its first line is the title."""
from __future__ import annotations

from typing import Iterator

from kb.models import Document

from .base import ReadError, ReadResult, decode_text, make_title, stem_id

EXTENSIONS = (".txt", ".text")
CONTENT_TYPES = ("text/plain",)


def read_text(data: bytes, name: str) -> Iterator[ReadResult | ReadError]:
    text, warnings = decode_text(data)
    title = make_title(text)
    doc = Document(id=stem_id(name, title, text), title=title, text=text, source=name)
    yield ReadResult(doc, None, warnings)
