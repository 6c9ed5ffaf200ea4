"""PDF reader: the text of every page with pypdf, page breaks repaired, running headers/footers dropped."""
from __future__ import annotations

import io
import logging
import re
import warnings as _warnings
from collections import Counter
from typing import Iterator

from kb import limits
from kb.citation import normalize_authors, normalize_date, normalize_doi
from kb.models import Document

from .base import TITLE_MAX, ReadError, ReadResult, make_title, stem_id

EXTENSIONS = (".pdf",)
CONTENT_TYPES = ("application/pdf", "application/x-pdf")

EDGE_LINES = 2  # how many lines at the top and at the bottom of a page may be running headers/footers
_ROMAN = r"(?=[ivxlcdm])m{0,3}(?:cm|cd|d?c{0,3})(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})"
_PAGE_NUMBER = re.compile(rf"^[-–—\s]*(?:page|p\.|seite|pág\.?)?\s*(?:\d{{1,4}}|{_ROMAN})"
                          rf"(?:\s*(?:/|of|von|de)\s*\d{{1,4}})?[-–—\s]*$", re.I)
_HYPHEN_BREAK = re.compile(r"(\w)-\n(?=[a-zà-ÿ])")
_TERMINAL = re.compile(r"""[.!?:;)\]"'”’»…]\s*$""")
_BAD_TITLES = re.compile(r"^(untitled|title|document\d*|microsoft word\b.*|.*\.(docx?|pdf|rtf|odt|tex|indd))$", re.I)


def unreadable(exc: Exception) -> ReadError:
    """kb's sentence for what pypdf raised (its class names are not for readers)."""
    if type(exc).__name__ == "LimitReachedError":
        return ReadError("the PDF holds a stream that decompresses past pypdf's size limit (a compression bomb?)",
                         status=413)
    reason = " ".join(str(exc).split())[:200].rstrip(".")
    return ReadError(f"not a readable PDF ({reason})" if reason else "not a readable PDF")


def _open(data: bytes):
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
    except Exception as exc:
        raise unreadable(exc) from None
    if reader.is_encrypted:
        try:
            ok = reader.decrypt("")
        except Exception:
            ok = 0
        if not ok:
            raise ReadError("encrypted PDF (password required)")
    return reader


def check_page_count(reader) -> None:
    """Refuse a PDF of more pages than KB_MAX_PDF_PAGES before pypdf lists them: its /Count first,
    then the page tree walked with a budget (a 4 KB file can name one page 90,000 times, and a /Count
    may lie; pypdf's own listing of those takes seconds, their text minutes)."""
    limit = limits.current().pdf_pages
    try:
        pages = reader.trailer["/Root"]["/Pages"].get_object()
        claimed = pages.get("/Count")
    except Exception:
        return   # no page tree where it should be: pypdf's own reading says what is wrong
    if isinstance(claimed, int) and claimed > limit:
        raise limits.over("file", "pages", int(claimed), "pdf_pages")
    count, visits, stack = 0, 0, [pages]
    while stack:
        node = stack.pop()
        visits += 1
        if visits > 4 * limit + 100:   # kids that loop back, or a tree of empty branches
            raise limits.OverLimit("file", f"a page tree of more than {4 * limit + 100:,} nodes "
                                           f"(KB_MAX_PDF_PAGES is {limit:,})", 413)
        try:
            node = node.get_object()
            kids = node.get("/Kids") if hasattr(node, "get") else None
        except Exception:
            continue
        if kids is None:
            count += 1
            if count > limit:
                raise limits.over("file", "pages or more", count, "pdf_pages")
        else:
            try:
                stack.extend(kids.get_object())
            except Exception:
                continue


def _page_texts(reader) -> list[str]:
    pages = []
    for page in reader.pages:
        try:
            text = page.extract_text() or ""
        except Exception:
            text = ""
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
        pages.append("\n".join(" ".join(line.split()) for line in text.split("\n")))
    return pages


TITLE_SCALE = 1.3   # a title's type is at least this much larger than the body text of its page


def display_title(page) -> str:
    """The first page's largest type, when it stands out from the body text: most PDFs whose info
    dictionary names no title (LaTeX's, for one) show it there, often repeated as the running header
    of every page, which the text loses (``drop_running_lines``)."""
    runs: list[tuple[float, str]] = []

    def visit(text, cm, tm, font, size):
        text = " ".join(str(text).split())
        if text and size:
            runs.append((round(float(size) * abs(tm[3] or tm[0] or 1) * abs(cm[3] or cm[0] or 1), 1), text))
    try:
        page.extract_text(visitor_text=visit)
    except Exception:
        return ""
    if len(runs) < 2:
        return ""
    sizes = sorted(size for size, _ in runs)
    largest, body = sizes[-1], sizes[len(sizes) // 2]
    if largest < body * TITLE_SCALE:
        return ""
    words, started = [], False
    for size, text in runs:   # the first run of the largest type, whole
        if abs(size - largest) <= 0.5:
            words.append(text)
            started = True
        elif started:
            break
    return make_title(" ".join(words))


def _key(line: str) -> str:
    return re.sub(r"\d+", "#", line.lower())


def drop_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Drop bare page numbers at the page edges, and lines that open or close many pages (digits ignored,
    so "Report 2024 · page 3" repeats)."""
    pages = [[line for line in lines if line] for lines in pages]
    texty = [lines for lines in pages if lines]
    top, bottom = Counter(), Counter()
    for lines in texty:
        top.update({_key(line) for line in lines[:EDGE_LINES]})
        bottom.update({_key(line) for line in lines[-EDGE_LINES:]})
    # at least 40% of the pages with text, and at least two: a journal's alternating headers (its
    # name on even pages, the article's title on odd ones) are each on half of them
    need = max(2, (len(texty) * 2 + 4) // 5)
    running = {k for k in top | bottom if top[k] >= need or bottom[k] >= need}
    out = []
    for lines in pages:
        keep = []
        for i, line in enumerate(lines):
            edge = i < EDGE_LINES or i >= len(lines) - EDGE_LINES
            if edge and (_PAGE_NUMBER.match(line) or _key(line) in running):
                continue
            keep.append(line)
        out.append(keep)
    return out


def join_pages(pages: list[list[str]]) -> tuple[str, list[int]]:
    """Pages joined by a blank line, unless a page ends mid-sentence: then the next page's first paragraph
    continues it on the next line (and a word hyphenated across the break is rejoined). Returns the text
    and the offset where each page starts in it (an empty page starts where the next one does)."""
    text, starts = "", []
    for lines in pages:
        page = _HYPHEN_BREAK.sub(r"\1", "\n".join(lines).strip())
        if not page:
            starts.append(len(text))
            continue
        if not text:
            text = page
            starts.append(0)
        elif text.endswith("-") and re.match(r"[a-zà-ÿ]", page) and re.search(r"\w-$", text):
            starts.append(len(text) - 1)
            text = text[:-1] + page
        elif not _TERMINAL.search(text) or re.match(r"[a-zà-ÿ]", page):
            starts.append(len(text) + 1)
            text += "\n" + page
        else:
            starts.append(len(text) + 2)
            text += "\n\n" + page
    return text, [min(s, len(text)) for s in starts]


def _meta_str(meta, key: str) -> str:
    try:
        value = meta.get(key) if meta is not None else None
        return " ".join(str(value).split()) if value else ""
    except Exception:
        return ""


def read_pdf(data: bytes, name: str) -> Iterator[ReadResult | ReadError]:
    if not data.strip():
        raise ReadError("empty file")
    if b"%PDF-" not in data[:1024]:
        raise ReadError("not a PDF file (no %PDF header)")
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.CRITICAL)  # pypdf logs every oddity of real-world files; we report our own reasons
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            reader = _open(data)
            check_page_count(reader)
            try:
                n_pages = len(reader.pages)
                pages = _page_texts(reader)
                shown_title = display_title(reader.pages[0]) if n_pages else ""
                meta = reader.metadata
                xmp = _xmp(reader)
            except ReadError:
                raise
            except Exception as exc:
                raise unreadable(exc) from None
    finally:
        logger.setLevel(level)
    text, page_starts = join_pages(drop_running_lines([p.split("\n") for p in pages]))
    if not text.strip():
        raise ReadError("PDF has no extractable text (scanned or image-only?)")
    record, metadata = pdf_citation(meta, xmp)
    meta_title = record.pop("title", "")
    title = meta_title if meta_title and not _BAD_TITLES.match(meta_title) else shown_title or make_title(text)
    doc = Document(id=stem_id(name, title, text), title=title[:TITLE_MAX], text=text, source=name,
                   metadata={"pages": n_pages, **metadata}, page_starts=page_starts, **record)
    yield ReadResult(doc, None, [])


def _xmp(reader) -> dict:
    """Dublin Core and XMP dates of the document's XMP packet, as plain values ({} when none)."""
    try:
        x = reader.xmp_metadata
        if x is None:
            return {}
        alt = lambda v: (v.get("x-default") or next(iter(v.values()), "")) if isinstance(v, dict) else v  # noqa: E731
        return {"title": alt(x.dc_title), "authors": list(x.dc_creator or []), "subject": list(x.dc_subject or []),
                "description": alt(x.dc_description), "date": x.xmp_create_date or (x.dc_date or [None])[0],
                "publisher": (x.dc_publisher or [""])[0], "keywords": x.pdf_keywords or ""}
    except Exception:   # a broken XMP packet is no reason to refuse the text
        return {}


def pdf_citation(meta, xmp: dict) -> tuple[dict, dict]:
    """(citation fields with ``title``, metadata) from the info dictionary, XMP where it has none."""
    record: dict = {}
    title = _meta_str(meta, "/Title") or " ".join(str(xmp.get("title") or "").split())
    if title:
        record["title"] = title
    authors = normalize_authors(_meta_str(meta, "/Author")) or normalize_authors(xmp.get("authors"))
    if authors:
        record["authors"] = authors
    date = normalize_date(_meta_str(meta, "/CreationDate")) or normalize_date(xmp.get("date") or "")
    if date:
        record["date"] = date
    publisher = " ".join(str(xmp.get("publisher") or "").split())
    if publisher:
        record["publisher"] = publisher
    subject = _meta_str(meta, "/Subject") or " ".join(str(xmp.get("description") or "").split())
    doi = normalize_doi(subject) or normalize_doi(_meta_str(meta, "/doi"))
    if doi:
        record["doi"] = doi
    metadata: dict = {}
    if subject:
        metadata["subject"] = subject
    keywords = _meta_str(meta, "/Keywords") or xmp.get("keywords") or ", ".join(xmp.get("subject") or [])
    if keywords:
        metadata["keywords"] = keywords
    modified = normalize_date(_meta_str(meta, "/ModDate"))
    if modified:
        metadata["modified"] = modified
    return record, metadata
