"""Markdown rendered to the plain text kb splits and cites, by a real parser (markdown-it-py, CommonMark
with tables): link text kept and its URL set aside, emphasis and code markers out, code blocks kept as
their lines, list items one line each behind a ``-`` or ``1.`` marker, table rows as ``cell | cell``
lines, raw HTML out, and headings as lines of their own whose places become the sections."""
from __future__ import annotations

from dataclasses import dataclass, field

from markdown_it import MarkdownIt

_PARSER = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


@dataclass
class Rendered:
    text: str
    headings: list[tuple[int, str, int]] = field(default_factory=list)  # (offset after the line, name, level)
    links: list[dict] = field(default_factory=list)                      # {"text", "url"}, in reading order


def render_markdown(source: str) -> Rendered:
    """The text of a Markdown body (front matter already taken off), blocks apart by a blank line."""
    out = Rendered("")
    blocks: list[str] = []
    length = 0
    lists: list[list] = []          # [ordered, next number] per open list
    marker = ""                      # the list marker the next paragraph of a list item starts with
    item_joined = False
    row: list[str] | None = None
    rows: list[str] = []
    tokens = _PARSER.parse(source)

    def add(block: str, joined: bool = False) -> int:
        """Append a block (to the one before it, on its own line, when ``joined``); its start offset."""
        nonlocal length
        if joined and blocks:
            blocks[-1] += "\n" + block
            length += 1
        else:
            length += 2 if blocks else 0
            blocks.append(block)
        start = length
        length += len(block)
        return start

    for i, token in enumerate(tokens):
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            lists.append([kind == "ordered_list_open", int(token.attrGet("start") or 1)])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "list_item_open":
            ordered, number = lists[-1]
            marker = f"{number}. " if ordered else "- "
            lists[-1][1] += 1
            # the items of a list, nested ones too, stay one block of lines
            item_joined = tokens[i - 1].type == "list_item_close" or len(lists) > 1
        elif kind == "heading_open":
            name = " ".join(_inline(tokens[i + 1], out.links).split())
            if name:
                start = add(name)
                out.headings.append((start + len(name) + 1, name, int(token.tag[1:])))
        elif kind == "inline" and tokens[i - 1].type == "paragraph_open":
            text = _inline(token, out.links).strip()
            if text:
                add(marker + text, joined=bool(lists) and (item_joined or not marker))
                marker = ""
        elif kind in ("fence", "code_block"):
            code = token.content.rstrip("\n")
            if code.strip():
                add(code)
        elif kind == "tr_open":
            row = []
        elif kind == "inline" and row is not None and tokens[i - 1].type in ("th_open", "td_open"):
            row.append(" ".join(_inline(token, out.links).split()))
        elif kind == "tr_close" and row is not None:
            if any(row):
                rows.append(" | ".join(row))
            row = None
        elif kind == "table_close":
            if rows:
                add("\n".join(rows))
            rows = []
    out.text = "\n\n".join(blocks)
    out.headings = [(min(after, len(out.text)), name, level) for after, name, level in out.headings]  # a last line
    return out


def _inline(token, links: list[dict]) -> str:
    """An inline token's text: markers and raw HTML out, link URLs into ``links``, images by their alt text."""
    parts: list[str] = []
    link: tuple[str, int] | None = None
    for child in token.children or ():
        kind = child.type
        if kind in ("text", "code_inline"):
            parts.append(child.content)
        elif kind in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif kind == "image":
            parts.append(child.content)
        elif kind == "link_open":
            link = (str(child.attrGet("href") or ""), len(parts))
        elif kind == "link_close" and link is not None:
            text = " ".join("".join(parts[link[1]:]).split())
            if link[0]:
                links.append({"text": text, "url": link[0]})
            link = None
    return "".join(parts)
