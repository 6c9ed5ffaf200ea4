"""Hits, export lines and documents as citations: CSL-JSON (what Zotero, Pandoc and citeproc read),
BibTeX and RIS, one entry per document in the order the documents first appear, the cited
passages' text as the note and their pages as the page range. Citation keys are stable: the first
author's family name, the year and the first word of the title (``roe2020water``), with the
document id's hash added only when two documents of one answer would share a key."""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from typing import Iterable, Iterator

from .citation import cited

CITATION_FORMATS = ("csl", "bibtex", "ris")
_STOP = {"a", "an", "the", "on", "of", "in", "for", "and", "to", "with", "at", "by", "from"}
_BIBTEX_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%", "$": r"\$",
                   "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _ascii_word(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]", "", text)


def split_name(name: str) -> dict:
    """CSL name parts: "Roe, Jane" and "Jane Roe" → {family: Roe, given: Jane}; one word, or five and
    more (an organisation), → {literal}."""
    if "," in name:
        family, _, given = name.partition(",")
        return {"family": family.strip(), "given": given.strip()} if given.strip() else {"literal": family.strip()}
    words = name.split()
    if 2 <= len(words) <= 4:
        return {"family": words[-1], "given": " ".join(words[:-1])}
    return {"literal": name}


def citation_key(doc: dict) -> str:
    first = split_name(doc["authors"][0]) if doc.get("authors") else {}
    author = _ascii_word(first.get("family") or first.get("literal", "").split(" ")[0] if first else "")
    year = doc.get("date", "")[:4]
    words = [_ascii_word(w) for w in (doc.get("title") or "").split()]
    word = next((w for w in words if w and w not in _STOP), "")
    key = f"{author}{year}{word}"
    return key if author or year else (word or "doc") + _ascii_word(doc["id"])[:12]


def entries(items: Iterable[dict]) -> list[dict]:
    """``[{doc, key, passages}]``: one per document, in order of first appearance; an item with a
    ``document`` is a passage, one without is a document itself."""
    by_id: dict[str, dict] = {}
    for item in items:
        if "document" in item and isinstance(item["document"], dict):
            doc, passage = item["document"], item
        else:
            doc, passage = cited(item), None
        entry = by_id.setdefault(doc["id"], {"doc": doc, "passages": []})
        if passage is not None:
            entry["passages"].append(passage)
    keys: dict[str, int] = {}
    for entry in by_id.values():
        entry["key"] = citation_key(entry["doc"])
        keys[entry["key"]] = keys.get(entry["key"], 0) + 1
    for entry in by_id.values():
        if keys[entry["key"]] > 1:
            entry["key"] += "-" + hashlib.sha1(entry["doc"]["id"].encode("utf-8")).hexdigest()[:6]
    return list(by_id.values())


def _pages(passages: list[dict]) -> str:
    numbers = [n for p in passages for n in (p.get("page"), p.get("page_end")) if n is not None]
    if not numbers:
        return ""
    low, high = min(numbers), max(numbers)
    return str(low) if low == high else f"{low}-{high}"


def _note(passages: list[dict]) -> str:
    return "\n\n".join(f"[{p['id']}] {' '.join(p.get('text', '').split())}" for p in passages)


def _kind(doc: dict) -> tuple[str, str, str]:
    """(CSL type, BibTeX entry type, RIS type)."""
    if doc.get("doi"):
        return "article-journal", "article", "JOUR"
    if _url(doc):
        return "webpage", "online", "ELEC"
    return "document", "misc", "GEN"


def _url(doc: dict) -> str:
    """The document's URL, else its source when that is a web address."""
    source = doc.get("source", "")
    return doc.get("url") or (source if source.startswith(("http://", "https://")) else "")


def _date_parts(date: str) -> list[int]:
    return [int(part) for part in re.findall(r"\d+", date[:10])][:3]


def csl_item(entry: dict) -> dict:
    doc, passages = entry["doc"], entry["passages"]
    item: dict = {"id": entry["key"], "type": _kind(doc)[0], "citation-key": entry["key"],
                  "title": doc.get("title", "")}
    if doc.get("authors"):
        item["author"] = [split_name(a) for a in doc["authors"]]
    if _date_parts(doc.get("date", "")):
        item["issued"] = {"date-parts": [_date_parts(doc["date"])]}
    if _url(doc):
        item["URL"] = _url(doc)
    for field, name in (("doi", "DOI"), ("publisher", "publisher")):
        if doc.get(field):
            item[name] = doc[field]
    if _pages(passages):
        item["page"] = item["locator"] = _pages(passages)
    if passages:
        item["note"] = _note(passages)
    return item


def bibtex_escape(value: str) -> str:
    return "".join(_BIBTEX_SPECIAL.get(c, c) for c in " ".join(value.split()))


def bibtex_entry(entry: dict) -> str:
    doc, passages = entry["doc"], entry["passages"]
    kind = _kind(doc)[1]
    fields = [("title", bibtex_escape(doc.get("title", "")))]
    if doc.get("authors"):
        names = [split_name(a) for a in doc["authors"]]
        fields.append(("author", " and ".join(
            bibtex_escape(f"{n['family']}, {n['given']}") if "family" in n else "{" + bibtex_escape(n["literal"]) + "}"
            for n in names)))
    parts = _date_parts(doc.get("date", ""))
    if parts:
        fields.append(("year", str(parts[0])))
        fields.append(("date", "-".join(f"{p:02d}" if i else str(p) for i, p in enumerate(parts))))
    if doc.get("publisher"):
        fields.append(("journal" if kind == "article" else "publisher", bibtex_escape(doc["publisher"])))
    for field, value in (("doi", doc.get("doi", "")), ("url", _url(doc))):
        if value:
            fields.append((field, value.replace("{", "%7B").replace("}", "%7D")))
    if _pages(passages):
        fields.append(("pages", _pages(passages).replace("-", "--")))
    if passages:
        fields.append(("note", bibtex_escape(_note(passages).replace("\n\n", " "))))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{kind}{{{entry['key']},\n{body}\n}}\n"


def ris_entry(entry: dict) -> str:
    doc, passages = entry["doc"], entry["passages"]
    lines = [("TY", _kind(doc)[2]), ("ID", entry["key"]), ("TI", doc.get("title", ""))]
    lines += [("AU", f"{n['family']}, {n['given']}" if "family" in n else n["literal"])
              for n in (split_name(a) for a in doc.get("authors") or [])]
    parts = _date_parts(doc.get("date", ""))
    if parts:
        lines.append(("PY", str(parts[0])))
        lines.append(("DA", "/".join(f"{p:02d}" if i else str(p) for i, p in enumerate(parts)) + "/"))
    for value, tag in ((doc.get("publisher"), "PB"), (doc.get("doi"), "DO"), (_url(doc), "UR")):
        if value:
            lines.append((tag, value))
    pages = _pages(passages)
    if pages:
        low, _, high = pages.partition("-")
        lines.append(("SP", low))
        if high:
            lines.append(("EP", high))
    for p in passages:
        lines.append(("N1", f"[{p['id']}] {' '.join(p.get('text', '').split())}"))
    lines.append(("ER", ""))
    return "".join(f"{tag}  - {' '.join(str(value).split())}\n" for tag, value in lines) + "\n"


def render_citations(items: Iterable[dict], fmt: str) -> Iterator[str]:
    found = entries(items)
    if fmt == "csl":
        yield json.dumps([csl_item(e) for e in found], ensure_ascii=False, indent=1) + "\n"
    elif fmt == "bibtex":
        yield "\n".join(bibtex_entry(e) for e in found)
    elif fmt == "ris":
        for e in found:
            yield ris_entry(e)
    else:
        raise ValueError(f"unknown citation format {fmt!r}")
