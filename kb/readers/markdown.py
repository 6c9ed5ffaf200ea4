"""Markdown: YAML front matter (title, tags, id, source; every other key kept as metadata), ATX
headings as sections (outside code fences), the first level-1 heading as the title."""
from __future__ import annotations

import re
from typing import Iterator

import yaml

from kb import limits
from kb.models import Document

from .base import (
    TITLE_MAX,
    ReadError,
    ReadResult,
    clean_id,
    clean_tags,
    decode_text,
    json_safe,
    make_title,
    nest,
    stem_id,
)

EXTENSIONS = (".md", ".markdown", ".mdown", ".mkd")
CONTENT_TYPES = ("text/markdown", "text/x-markdown")

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


class FrontMatterLoader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases: ``*name`` may repeat a node a billion times over
    (600 bytes grew a worker to 2 GB); front matter has no use for them."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, f"aliases (*{event.anchor}) are not accepted",
                                              event.start_mark)
        return super().compose_node(parent, index)


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
        meta = yaml.load(source, Loader=FrontMatterLoader)  # noqa: S506 - a SafeLoader, without aliases
    except yaml.reader.ReaderError as exc:  # a character YAML does not accept
        line = source[:exc.position].count("\n") + 2
        raise ReadError(f"invalid YAML front matter at line {line}: unacceptable character {exc.character!r}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 2}" if mark is not None else ""
        raise ReadError(f"invalid YAML front matter{where}: {exc.problem or exc.context or 'syntax error'}") from None
    except RecursionError:
        raise ReadError(str(limits.too_deep("front matter"))) from None
    except Exception as exc:  # YAMLError, bad dates (ValueError) ...
        raise ReadError(f"invalid YAML front matter: {exc}") from None
    if not isinstance(meta if meta is not None else {}, dict):
        raise ReadError("invalid YAML front matter: expected 'key: value' lines")
    return meta or {}, "\n".join(lines[i + 1:])


def read_markdown(data: bytes, name: str) -> Iterator[ReadResult | ReadError]:
    text, warnings = decode_text(data)
    meta, body = split_front_matter(text)
    body = body.lstrip("\n")
    if not body.strip():
        raise ReadError("empty file" if not meta else "no text after the front matter")
    headings = markdown_sections(body)
    limits.check_count(len(headings), "sections", "file", "headings")
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
