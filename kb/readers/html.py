"""HTML reader: the main text of a page (no navigation, header, footer, scripts, forms or cookie/subscribe
boilerplate), headings as sections, with selectolax's lexbor parser."""
from __future__ import annotations

import re
from typing import Iterator

from selectolax.lexbor import LexborHTMLParser, LexborNode

from kb import limits
from kb.models import Document

from .base import TITLE_MAX, ReadError, ReadResult, decode_text, make_title, nest, stem_id
from .html_meta import page_citation

EXTENSIONS = (".html", ".htm", ".xhtml")
CONTENT_TYPES = ("text/html", "application/xhtml+xml")

DROP_TAGS = {
    "nav", "footer", "aside", "script", "style", "noscript", "form", "iframe", "svg", "button",
    "template", "select", "textarea", "input", "canvas", "object", "embed", "map", "dialog", "head", "title",
    "meta", "link", "audio", "video", "picture", "img", "math",
}
BLOCK_TAGS = {
    "address", "article", "blockquote", "body", "center", "dd", "details", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "hgroup", "hr", "html", "li", "main", "ol", "p", "pre", "section", "summary",
    "table", "tbody", "thead", "tfoot", "caption", "ul", "menu",
}
HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
# words in id/class/role/aria-label that mark boilerplate; long ones match inside words ("cookiebar")
BOILER_SUBSTR = ("cookie", "consent", "gdpr", "newsletter", "subscribe", "subscription", "breadcrumb",
                 "sidebar", "advert", "social", "sharing", "share-", "sharebar", "paywall", "popup")
BOILER_TOKENS = {"share", "menu", "nav", "navbar", "navigation", "ad", "ads", "adslot", "sponsored", "promo",
                 "banner", "contentinfo", "complementary", "search", "skip", "modal", "toolbar", "related",
                 "comments", "widget", "signup", "login", "footer", "header", "masthead"}
PROTECTED = {"html", "body", "main", "article"}  # never dropped for their class names
TITLE_SEPARATORS = re.compile(r"\s+(?:\||-|–|—|::|·|»|/)\s+")
_WS = re.compile(r"\s+")
BR = "\x00"  # a <br> inside running text (decoded text never holds NUL: decode_text refuses it)


def _collapse(text: str) -> str:
    return _WS.sub(" ", text.replace("\u200b", "").replace("\u00ad", "")).strip()


def _is_boilerplate(node: LexborNode) -> bool:
    tag = node.tag
    if tag in DROP_TAGS:
        return True
    if tag == "header" and not (_inside(node, "article") or _inside(node, "main")):
        return True  # the site's header; an article's own header holds its title and byline
    attrs = node.attributes
    if "hidden" in attrs or (attrs.get("aria-hidden") or "").lower() == "true":
        return tag not in PROTECTED
    style = (attrs.get("style") or "").replace(" ", "").lower()
    if "display:none" in style or "visibility:hidden" in style:
        return tag not in PROTECTED
    if tag in PROTECTED:
        return False
    words = " ".join(attrs.get(k) or "" for k in ("id", "class", "role", "aria-label")).lower()
    if not words.strip():
        return False
    hit = any(s in words for s in BOILER_SUBSTR) or bool(BOILER_TOKENS & set(re.split(r"[^a-z0-9]+", words)))
    # a wrapper that holds the page's main content is not boilerplate, whatever its class says
    return hit and not node.css_first("main, article, h1, [role=main]")


class _TextBuilder:
    """Walks the tree (iteratively: deep pages must not hit the recursion limit) and collects blocks."""

    def __init__(self) -> None:
        self.blocks: list[tuple[str, str, int]] = []  # (text, kind, heading level)
        self.inline: list[str] = []
        self.list_depth = 0
        self.pending_prefix = ""

    def flush(self, kind: str = "p", level: int = 0) -> None:
        lines = [_collapse(part) for part in "".join(self.inline).split(BR)]
        self.inline = []
        text = "\n".join(line for line in lines if line)
        if not text:
            return
        if kind == "p" and self.list_depth:
            indent = "  " * (self.list_depth - 1)
            prefix, self.pending_prefix = self.pending_prefix or indent + "  ", ""
            text, kind = prefix + text.replace("\n", "\n" + indent + "  "), "li"
        self.blocks.append((text, kind, level))

    def walk(self, root: LexborNode) -> None:
        stack: list[tuple[LexborNode, bool]] = [(root, False)]
        while stack:
            node, leaving = stack.pop()
            tag = node.tag
            if leaving:
                self.leave(tag)
                continue
            if node.is_text_node:
                self.inline.append(node.text_content or "")
                continue
            if node.is_comment_node or not node.is_element_node or _is_boilerplate(node):
                continue
            if tag == "br":
                self.inline.append(BR)
                continue
            if tag in HEADINGS or tag == "pre" or tag == "tr":
                self.flush()
                self.leaf(node, tag)
                continue
            if tag in BLOCK_TAGS:
                self.flush()
                if tag in ("ul", "ol", "menu"):
                    self.list_depth += 1
                elif tag == "li":
                    self.pending_prefix = "  " * max(self.list_depth - 1, 0) + "- "
            elif tag in ("td", "th"):
                self.inline.append(" ")
            stack.append((node, True))
            children = list(node.iter(include_text=True))
            stack.extend((child, False) for child in reversed(children))

    def leave(self, tag: str) -> None:
        if tag in BLOCK_TAGS:
            self.flush()
            if tag in ("ul", "ol", "menu"):
                self.list_depth = max(self.list_depth - 1, 0)
            elif tag == "li":
                self.pending_prefix = ""
        elif tag in ("td", "th"):
            self.inline.append(" ")

    def leaf(self, node: LexborNode, tag: str) -> None:
        """Headings, preformatted blocks and table rows, taken whole."""
        if tag == "pre":
            text = "\n".join(line.rstrip() for line in _plain_text(node).strip("\n").split("\n"))
            if text.strip():
                self.blocks.append((text, "pre", 0))
        elif tag == "tr":
            cells = [_collapse(_plain_text(c)) for c in node.iter() if c.tag in ("td", "th")]
            if any(cells):
                self.blocks.append((" | ".join(cells), "tr", 0))
        else:   # a heading that is all a self-link (mdBook's <a class="header">) still has its words
            text = _collapse(_plain_text(node)) or _collapse(node.text())
            if text:
                self.blocks.append((text[:500], "h", HEADINGS[tag]))


def _plain_text(node: LexborNode) -> str:
    """Text of a subtree without its boilerplate children, keeping <br> as newlines."""
    out, stack = [], [node]
    while stack:
        cur = stack.pop()
        if cur.is_text_node:
            out.append(cur.text_content or "")
        elif cur.is_element_node and (cur is node or not _is_boilerplate(cur)):
            if cur.tag == "br":
                out.append("\n")
            stack.extend(reversed(list(cur.iter(include_text=True))))
    return "".join(out)


def _choose_root(tree: LexborHTMLParser) -> LexborNode | None:
    main = tree.css_first("main, [role=main]")
    if main is not None and _collapse(main.text()):
        return main
    articles = [a for a in tree.css("article") if a.parent is None or not _inside(a, "article")]
    if articles:
        best = max(articles, key=lambda a: len(_collapse(a.text())))
        if _collapse(best.text()):
            return best
    return tree.body or tree.root


def _inside(node: LexborNode, tag: str) -> bool:
    cur = node.parent
    while cur is not None:
        if cur.tag == tag:
            return True
        cur = cur.parent
    return False


def _pick_title(page_title: str, headings: list[str]) -> str:
    """The page's own title: the part of ``<title>`` ("Installation - The Rust Book") that the page's
    headings name (in order of trust: the content's first heading before a banner's ``<h1>``,
    which is often the site's name), else the whole ``<title>``, else the first heading."""
    headings = [h for h in headings if h]
    if not page_title:
        return headings[0] if headings else ""
    if not headings:
        return page_title
    parts = [p for p in TITLE_SEPARATORS.split(page_title) if p.strip()]
    if len(parts) > 1:
        def overlap(part: str, heading: str) -> float:
            words, h_words = set(part.lower().split()), set(heading.lower().split())
            return len(words & h_words) / max(len(words | h_words), 1)

        score, best = max(((overlap(part, h), -rank, part) for rank, h in enumerate(headings) for part in parts),
                          key=lambda t: (t[0], t[1]))[0::2]
        if score >= 0.5:
            return best.strip()
    return page_title


def check_size(tree: LexborHTMLParser) -> None:
    """Elements and headings within KB_MAX_HTML_ELEMENTS and KB_MAX_SECTIONS, counted by the parser
    (in C) before a Python loop walks them."""
    limits.check_count(len(tree.css("*")), "html_elements", "file", "HTML elements")
    limits.check_count(len(tree.css("h1, h2, h3, h4, h5, h6")), "sections", "file", "headings")


def read_html(data: bytes, name: str) -> Iterator[ReadResult | ReadError]:
    html, warnings = decode_text(_maybe_declared(data))
    tree = LexborHTMLParser(html)
    check_size(tree)
    citation, metadata = page_citation(tree)

    title_node = tree.css_first("title")
    page_title = _collapse(title_node.text()) if title_node is not None else ""
    root = _choose_root(tree)
    builder = _TextBuilder()
    if root is not None:
        builder.walk(root)
        builder.flush()
    if not builder.blocks:
        raise ReadError("no text found in HTML")
    content_h1 = next((t for t, kind, level in builder.blocks if kind == "h" and level == 1), "")
    if content_h1:
        candidates = [content_h1]
    else:   # none in the content: its first heading, then the page's first h1 (a banner's: often the site's name)
        h1 = tree.css_first("h1")
        candidates = [next((t for t, kind, _ in builder.blocks if kind == "h"), ""),
                      _collapse(h1.text()) if h1 is not None else ""]
    title = (citation.pop("title", "") or _pick_title(page_title, candidates))[:TITLE_MAX] \
        or make_title(builder.blocks[0][0])

    parts: list[str] = []
    headings: list[tuple[int, str, int]] = []
    pos, prev_kind = 0, ""
    for text, kind, level in builder.blocks:
        if parts:
            sep = "\n" if kind == prev_kind and kind in ("li", "tr") else "\n\n"
            parts.append(sep)
            pos += len(sep)
        parts.append(text)
        pos += len(text)
        if kind == "h":
            headings.append((pos + 1, text, level))
        prev_kind = kind
    body = "".join(parts)
    sections = [(min(off, len(body)), path) for off, path in nest(headings)]
    doc = Document(id=stem_id(name, title, body), title=title, text=body, source=name, metadata=metadata,
                   **citation)
    yield ReadResult(doc, sections, warnings)


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def _maybe_declared(data: bytes) -> bytes:
    """Re-encode to UTF-8 when the page is not UTF-8 but declares its charset in a <meta> tag."""
    try:
        data.decode("utf-8")
        return data
    except UnicodeDecodeError:
        pass
    m = _META_CHARSET.search(data[:4096])
    if m and b"\x00" not in data:
        try:
            return data.decode(m.group(1).decode("ascii")).encode("utf-8")
        except (LookupError, UnicodeDecodeError, ValueError):
            pass
    return data
