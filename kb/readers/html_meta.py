"""What a web page says about itself, for its citation record: Highwire ``citation_*`` tags (Google
Scholar's), Dublin Core (``DC.*``, ``dcterms.*``), Open Graph and ``article:*``, the ``author`` and
``description`` tags, the canonical link, and JSON-LD (``ScholarlyArticle``, ``NewsArticle``,
``Article``, ``WebPage`` ...). The first vocabulary in that order that names a field wins; what is
not a citation field but worth keeping (description, keywords, lang, volume, pages) goes to metadata."""
from __future__ import annotations

import json
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from kb.citation import normalize_authors, normalize_date, normalize_doi

from .base import json_safe

# field → meta names/properties, best first (compared lower case)
SOURCES = {
    "title": ("citation_title", "dc.title", "dcterms.title"),
    "authors": ("citation_author", "dc.creator", "dcterms.creator", "author", "article:author"),
    "date": ("citation_publication_date", "citation_date", "citation_online_date", "dc.date.issued",
             "dcterms.issued", "dc.date", "dcterms.date", "article:published_time", "date"),
    "doi": ("citation_doi", "dc.identifier", "dcterms.identifier", "prism.doi", "bepress_citation_doi"),
    "publisher": ("citation_publisher", "citation_journal_title", "dc.publisher", "dcterms.publisher",
                  "og:site_name"),
    "url": ("citation_abstract_html_url", "og:url", "dc.identifier.uri"),
}
EXTRA = {"description": ("description", "og:description", "dc.description", "dcterms.abstract"),
         "keywords": ("citation_keywords", "keywords", "article:tag"),
         "volume": ("citation_volume",), "issue": ("citation_issue",),
         "first_page": ("citation_firstpage",), "last_page": ("citation_lastpage",),
         "pdf_url": ("citation_pdf_url",), "type": ("og:type", "dc.type"), "modified": ("article:modified_time",)}
ARTICLE_TYPES = ("scholarlyarticle", "newsarticle", "article", "blogposting", "report", "webpage", "creativework",
                 "techarticle", "medicalscholarlyarticle", "reportagenewsarticle")
MAX_JSON_LD = 200_000   # characters of one script block worth parsing


def _meta_values(tree: LexborHTMLParser) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for node in tree.css("meta"):
        attrs = node.attributes
        key = (attrs.get("name") or attrs.get("property") or attrs.get("itemprop") or "").strip().lower()
        content = " ".join((attrs.get("content") or "").split())
        if key and content:
            values.setdefault(key, []).append(content)
    return values


def _json_ld(tree: LexborHTMLParser) -> dict:
    """The first JSON-LD object of an article-like type (in ``@graph`` too), else {}."""
    for node in tree.css('script[type="application/ld+json" i]'):
        text = node.text(deep=True) or ""
        if len(text) > MAX_JSON_LD:
            continue
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            continue
        stack = data if isinstance(data, list) else [data]
        found = []
        while stack:
            item = stack.pop(0)
            if isinstance(item, dict):
                stack.extend(item.get("@graph") or [])
                kinds = item.get("@type")
                kinds = kinds if isinstance(kinds, list) else [kinds]
                if any(str(k).lower() in ARTICLE_TYPES for k in kinds):
                    found.append(item)
        if found:   # the most specific: an article before a web page
            found.sort(key=lambda i: ARTICLE_TYPES.index(next(
                str(k).lower() for k in (i["@type"] if isinstance(i["@type"], list) else [i["@type"]])
                if str(k).lower() in ARTICLE_TYPES)))
            return found[0]
    return {}


def _ld_doi(item: dict) -> str:
    for key in ("doi", "identifier", "sameAs", "@id", "url"):
        value = item.get(key)
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, dict):
                v = v.get("value") or v.get("@id") or ""
            named = isinstance(v, str) and ("doi" in v.lower() or key in ("doi", "identifier"))
            doi = normalize_doi(v) if named else ""
            if doi:
                return doi
    return ""


def _ld_name(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, dict):
        value = value.get("name", "")
    return " ".join(str(value).split()) if isinstance(value, (str, int, float)) else ""


def page_citation(tree: LexborHTMLParser) -> tuple[dict, dict]:
    """(citation fields incl. ``title`` when a vocabulary names one, metadata) of a parsed page."""
    meta = _meta_values(tree)
    ld = _json_ld(tree)
    record: dict = {}
    for field, names in SOURCES.items():
        for name in names:
            found = meta.get(name)
            if not found:
                continue
            if field == "authors":
                value = normalize_authors([a for a in found if "://" not in a]) if len(found) > 1 \
                    else normalize_authors(found[0] if "://" not in found[0] else "")
            elif field == "date":
                value = normalize_date(found[0])
            elif field == "doi":
                value = next((normalize_doi(v) for v in found if normalize_doi(v)), "")
            else:
                value = found[0]
            if value:
                record[field] = value
                break
    if ld:
        fallbacks = {"title": _ld_name(ld.get("headline") or ld.get("name")),
                     "authors": normalize_authors(ld.get("author") or ld.get("creator")),
                     "date": normalize_date(ld.get("datePublished") or ld.get("dateCreated") or ""),
                     "doi": _ld_doi(ld), "publisher": _ld_name(ld.get("publisher") or ld.get("isPartOf")),
                     "url": _ld_name(ld.get("url"))}
        for field, value in fallbacks.items():
            if value and field not in record:
                record[field] = value
    canonical = tree.css_first('link[rel="canonical" i]')
    href = (canonical.attributes.get("href") or "").strip() if canonical is not None else ""
    if href:
        record["url"] = href   # the page's own word on its address comes first
    metadata: dict = {}
    for key, names in EXTRA.items():
        value = next((meta[n] for n in names if meta.get(n)), None)
        if value:
            metadata[key] = value[0] if key != "keywords" or len(value) == 1 else value
    if ld.get("@type"):
        metadata["json_ld_type"] = json_safe(ld["@type"])
    lang = tree.root.attributes.get("lang") if tree.root is not None else None
    if lang and lang.strip():
        metadata["lang"] = lang.strip()
    return record, metadata
