"""Markdown: YAML front matter (title, tags, id, source; every other key kept as metadata), the body
rendered to plain text (markdown_render: link URLs under ``metadata.links``), its headings as sections,
the first level-1 heading as the title."""
from __future__ import annotations

from typing import Iterator

import yaml

from kb import limits
from kb.models import Document

from .base import (
    TITLE_MAX,
    ReadError,
    ReadResult,
    citation_and_metadata,
    clean_id,
    clean_tags,
    decode_text,
    make_title,
    nest,
    stem_id,
)
from .markdown_render import render_markdown

EXTENSIONS = (".md", ".markdown", ".mdown", ".mkd")
CONTENT_TYPES = ("text/markdown", "text/x-markdown")

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


def front_matter_fields(meta: dict) -> dict:
    """The citation record and metadata of front matter left after title, tags, source and id."""
    return citation_and_metadata(meta)


def read_markdown(data: bytes, name: str) -> Iterator[ReadResult | ReadError]:
    text, warnings = decode_text(data)
    meta, body = split_front_matter(text)
    rendered = render_markdown(body)
    body = rendered.text
    if not body.strip():
        raise ReadError("empty file" if not meta else "no text after the front matter")
    headings = rendered.headings
    limits.check_count(len(headings), "sections", "file", "headings")
    sections = nest(headings)
    first_h1 = next((h for _, h, level in headings if level == 1), headings[0][1] if headings else "")
    title = meta.pop("title", None)
    title = " ".join(str(title).split())[:TITLE_MAX] if title not in (None, "") else (first_h1 or make_title(body))
    tags = clean_tags(meta.pop("tags", None))
    source = meta.pop("source", None)
    given_id = meta.pop("id", None)
    doc_id = clean_id(given_id, title, body) if given_id not in (None, "") else stem_id(name, title, body)
    if rendered.links and "links" not in meta:
        meta["links"] = rendered.links   # the URLs the text no longer holds
    doc = Document(id=doc_id, title=title, text=body, source=str(source) if source else name, tags=tags,
                   **front_matter_fields(meta))
    yield ReadResult(doc, sections, warnings)
