"""A document's citation record: ``authors``, ``date``, ``url``, ``doi`` and ``publisher`` beside its
title and source. Readers find these under many names (``author``, ``creator``, ``year``,
``citation_doi`` ...); this module maps a mapping of such keys into the record (``from_mapping``;
what it does not know stays in ``metadata``), normalises each value, bounds ``metadata`` (the
one place its limits are set, for every way in), and answers what filters and citations ask:
a date as an interval, an author match that ignores case and accents, the page of an offset."""
from __future__ import annotations

import bisect
import datetime as _dt
import re
import unicodedata
from typing import Any

CITATION_FIELDS = ("authors", "date", "url", "doi", "publisher")
CITED = ("id", "title", "authors", "date", "url", "doi", "publisher", "source")  # a hit's ``document``

# limits on free metadata, for every way in (JSON, JSON Lines, uploads, front matter, HTML, PDF)
MAX_AUTHORS = 200
FIELD_MAX_CHARS = 2000             # one author, a URL, a DOI, a publisher

# key (lower case, '-' and '_' and ':' and '.' as written) → field of the record
KEYS = {
    "author": "authors", "authors": "authors", "creator": "authors", "creators": "authors",
    "date": "date", "year": "date", "published": "date", "publication_date": "date",
    "date_published": "date", "datepublished": "date", "issued": "date",
    "url": "url", "link": "url", "canonical_url": "url",
    "doi": "doi",
    "publisher": "publisher", "site": "publisher", "site_name": "publisher", "journal": "publisher",
}

_DOI = re.compile(r"\b(10\.\d{4,9}/\S+)", re.I)
_PDF_DATE = re.compile(r"^D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?")
_ISO = re.compile(r"^(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2})(?:[T ](\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?)"
                  r"\s*(Z|[+-]\d{2}:?\d{2})?)?)?)?$")
_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                       "nov", "dec"), 1)}
_TEXT_DATE = re.compile(r"^(?:(\d{1,2})\s+)?([A-Za-z]{3,})\.?\s+(?:(\d{1,2}),?\s+)?(\d{4})$")


class MetadataError(ValueError):
    """Metadata over a limit; the message says which."""


def normalize_date(value: Any) -> str:
    """ISO 8601 as precise as given: ``2021``, ``2021-03``, ``2021-03-04`` or a datetime
    (``2021-03-04T10:00:00+00:00``); PDF dates (``D:2021…``), ``2021/03/04`` and ``4 March 2021`` too.
    '' when the value is no date."""
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool) and 1000 <= value <= 2999:
        return str(value)
    if not isinstance(value, str):
        return ""
    text = value.strip()
    m = _PDF_DATE.match(text)
    if m:
        year, month, day = m.group(1), m.group(2), m.group(3)
        return _join(year, month, day)
    m = _ISO.match(text)
    if m:
        year, month, day, clock, zone = m.groups()
        if clock:
            zone = "+00:00" if zone == "Z" else (zone[:3] + ":" + zone[-2:] if zone and ":" not in zone else zone)
            try:
                parsed = _dt.datetime.fromisoformat(f"{_join(year, month, day)}T{clock}{zone or ''}")
                return parsed.isoformat()
            except ValueError:
                return _join(year, month, day)
        return _join(year, month, day)
    m = _TEXT_DATE.match(text)
    if m and m.group(2)[:3].lower() in _MONTHS:
        day = m.group(1) or m.group(3)
        return _join(m.group(4), str(_MONTHS[m.group(2)[:3].lower()]), day)
    return ""


def _join(year: str, month: str | None, day: str | None) -> str:
    try:
        if day and month:
            return _dt.date(int(year), int(month), int(day)).isoformat()
        if month and 1 <= int(month) <= 12:
            return f"{int(year):04d}-{int(month):02d}"
        return f"{int(year):04d}"
    except ValueError:
        return f"{int(year):04d}"


def date_interval(date: str) -> tuple[str, str] | None:
    """The days a (partial) ISO date covers, as ``(first, last)`` ``YYYY-MM-DD``; None for no date."""
    m = re.match(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", date or "")
    if not m:
        return None
    year, month, day = int(m.group(1)), m.group(2), m.group(3)
    if day:
        return f"{year:04d}-{month}-{day}", f"{year:04d}-{month}-{day}"
    if month:
        try:
            following = _dt.date(year + (month == "12"), int(month) % 12 + 1, 1)
            last = (following - _dt.timedelta(days=1)).isoformat()
        except ValueError:   # year 0, or month 00/13: "-31" still compares after every day of the month
            last = f"{year:04d}-{month}-31"
        return f"{year:04d}-{month}-01", last
    return f"{year:04d}-01-01", f"{year:04d}-12-31"


def normalize_authors(value: Any) -> list[str]:
    """Authors as a list of names: a list (of names, or of ``{"name"}``/``{"given", "family"}``
    objects as JSON-LD and CSL write them), or one string (split on ';', or on ' and ')."""
    if isinstance(value, dict):
        value = [value]
    if isinstance(value, str):
        parts = re.split(r"\s*;\s*|\s+and\s+|\s*&\s*", value) if ";" in value or " and " in value or "&" in value \
            else [value]
    elif isinstance(value, (list, tuple)):
        parts = []
        for item in value:
            if isinstance(item, dict):
                name = item.get("name") or " ".join(str(item.get(k, "")) for k in ("given", "family")).strip()
                parts.append(str(name) if not isinstance(name, (dict, list)) else "")
            elif isinstance(item, (str, int, float)) and not isinstance(item, bool):
                parts.append(str(item))
    else:
        return []
    names = [" ".join(p.split())[:FIELD_MAX_CHARS] for p in parts]
    return list(dict.fromkeys(n for n in names if n))[:MAX_AUTHORS]


def normalize_doi(value: Any) -> str:
    """``10.1234/abc`` from a DOI, a ``doi:`` name or a doi.org URL; '' when there is none."""
    if not isinstance(value, str):
        return ""
    m = _DOI.search(value.strip())
    return m.group(1).rstrip(".,;")[:FIELD_MAX_CHARS] if m else ""


def _text(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("name") or value.get("@id") or ""
    if isinstance(value, list):
        value = value[0] if value else ""
    return " ".join(str(value).split())[:FIELD_MAX_CHARS] if isinstance(value, (str, int, float)) else ""


NORMALIZE = {"authors": normalize_authors, "date": normalize_date, "doi": normalize_doi,
             "url": _text, "publisher": _text}


def from_mapping(mapping: dict) -> tuple[dict, dict]:
    """(citation fields, the rest) of a mapping such as front matter or a JSON Lines record: the
    usual keys (``author``/``authors``, ``date``/``year``, ``url``, ``doi``, ``publisher`` ...)
    go into the record; a key whose value is no valid date/DOI stays in the rest, never dropped."""
    record: dict = {}
    rest: dict = {}
    for key, value in mapping.items():
        field = KEYS.get(str(key).strip().lower().replace("-", "_"))
        if field is None or field in record:
            rest[key] = value
            continue
        if value is None or value == "" or value == []:   # an empty field says nothing (kb export writes them)
            continue
        normal = NORMALIZE[field](value)
        if normal:
            record[field] = normal
        else:
            rest[key] = value
    return record, rest


def check_metadata(metadata: Any) -> None:
    """Raise MetadataError when metadata is not an object (its size and depth are limits:
    kb.limits.check_metadata, KB_MAX_METADATA and KB_MAX_DEPTH)."""
    if not isinstance(metadata, dict):
        raise MetadataError("metadata: must be an object")


def fold(text: str) -> str:
    """Lower case without accents: what author filters compare."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def name_words(text: str) -> frozenset[str]:
    """The words of a name, folded: what author filters compare."""
    return frozenset(re.findall(r"\w+", fold(text)))


def author_matches(wanted: str, authors: list[str]) -> bool:
    """Every word of ``wanted`` is a word of one author's name ("roe" and "Jane Roe" match
    "Roe, Jane"), ignoring case and accents."""
    words = name_words(wanted)
    return bool(words) and any(words <= name_words(name) for name in authors)


def page_span(page_starts: list[int] | None, start: int, end: int) -> tuple[int | None, int | None]:
    """(page, page_end) of text[start:end] when the document knows where its pages start
    (offset of page 1, 2, ...); page_end is None when the span is on one page."""
    if not page_starts:
        return None, None
    first = max(bisect.bisect_right(page_starts, start), 1)
    last = max(bisect.bisect_right(page_starts, max(end - 1, start)), 1)
    return first, (last if last != first else None)


def cited(doc: dict) -> dict:
    """A document's citation as hits carry it: ``{id, title, authors, date, url, doi, publisher, source}``.
    A document stored before citation records falls back on what its metadata held."""
    meta = doc.get("metadata") or {}
    out = {"id": doc.get("id", ""), "title": doc.get("title", "")}
    out["authors"] = cited_authors(doc)
    out["date"] = doc.get("date") or ""
    out["url"] = doc.get("url") or _text(meta.get("url", ""))
    out["doi"] = doc.get("doi") or ""
    out["publisher"] = doc.get("publisher") or ""
    out["source"] = doc.get("source") or ""
    return out


def cited_authors(doc: dict) -> list[str]:
    """A document's authors as its citation gives them (the year and author facets count these)."""
    authors = doc.get("authors")
    if authors:
        return list(authors)
    meta = doc.get("metadata")
    return normalize_authors(meta.get("author")) if meta and meta.get("author") else []
