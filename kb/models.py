"""What a document and a passage are: the data model shared by every part of kb."""
from __future__ import annotations

import dataclasses
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from . import limits
from .citation import MetadataError, check_metadata, normalize_authors, normalize_date, normalize_doi


def slugify(value: str, max_length: int = 80) -> str:
    """A lowercase ASCII slug: letters, digits and single hyphens."""
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    value = re.sub(r"[^a-zA-Z0-9]+", "-", value.lower()).strip("-")
    return value[:max_length].rstrip("-")


def content_hash(text: str, length: int = 8) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:length]


ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


def valid_document_id(value: str) -> bool:
    """Document ids are safe in paths and URLs: no slashes, colons, NULs, newlines or dot-dot
    (matched whole: ``$`` would let a final newline through)."""
    return isinstance(value, str) and bool(ID_PATTERN.fullmatch(value)) and ".." not in value


class InvalidDocument(ValueError):
    """A document that cannot be ingested (no text, a bad id); the message starts with the field
    at fault (``text: ...``)."""


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


@dataclass
class Evidence:
    """Why a passage carries a tag: the phrase that matched and where (offsets into the passage
    text). ``source`` says how when it is not a taxonomy phrase in the passage itself:
    ``context`` (the topic is established in the document; ``via`` says where: its title, the
    section heading, a passage) or ``manual`` (``by`` whom, ``at`` when)."""

    tag: str
    phrase: str
    start: int
    end: int
    source: str = ""
    via: str = ""
    by: str = ""
    at: str = ""

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        return {k: v for k, v in data.items() if v != "" or k in ("tag", "phrase")}


@dataclass
class Document:
    id: str
    title: str
    text: str
    source: str = ""
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    ingested_at: str = ""
    # the citation record (kb.citation): authors, ISO date as precise as known, url, doi, publisher
    authors: list[str] = field(default_factory=list)
    date: str = ""
    url: str = ""
    doi: str = ""
    publisher: str = ""
    page_starts: list[int] | None = None   # offset where each page starts (PDF), for passages' pages

    @staticmethod
    def make_id(title: str, text: str) -> str:
        """A stable id when none is given: slug of the title plus a short content hash."""
        slug = slugify(title, 60) or "doc"
        return f"{slug}-{content_hash(text)}"

    def validate(self) -> Document:
        """Check what every document needs and fill in what may be derived (title, ingested_at);
        raises InvalidDocument, or limits.OverLimit past a limit (kb.limits)."""
        if (not isinstance(self.text, str) or not self.text.strip()) and isinstance(self.title, str) \
                and self.title.strip():
            self.text = " ".join(self.title.split())   # a title-only record: its title is its one passage
        limits.check_document(self)
        if not isinstance(self.text, str) or not self.text.strip():
            raise InvalidDocument("text: the document has no text (and no title)")
        if not valid_document_id(self.id):
            raise InvalidDocument(f"id: '{self.id[:80]}' is not a valid document id "
                                  "(letters, digits, '.', '_', '-'; at most 200)")
        self.title = (self.title or "").strip() or self.text.strip().splitlines()[0][:200]
        self.tags = sorted({str(t).strip() for t in self.tags if str(t).strip()})
        self._validate_citation()
        self.ingested_at = self.ingested_at or now_iso()
        return self

    def _validate_citation(self) -> None:
        try:
            check_metadata(self.metadata)
        except MetadataError as exc:
            raise InvalidDocument(str(exc)) from None
        self.authors = normalize_authors(self.authors)
        if self.date and not normalize_date(self.date):
            raise InvalidDocument(f"date: '{str(self.date)[:40]}' is not an ISO 8601 date (2021, 2021-03, 2021-03-04)")
        self.date = normalize_date(self.date) if self.date else ""
        if self.doi and not normalize_doi(self.doi):
            raise InvalidDocument(f"doi: '{str(self.doi)[:40]}' is not a DOI (10.xxxx/...)")
        self.doi = normalize_doi(self.doi) if self.doi else ""
        self.url, self.publisher = str(self.url or "").strip(), " ".join(str(self.publisher or "").split())

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        if data["page_starts"] is None:
            del data["page_starts"]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Document:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Passage:
    id: str
    document_id: str
    ordinal: int
    text: str
    start: int
    end: int
    section: str = ""
    tags: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def words(self) -> int:
        return len(self.text.split())

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["evidence"] = [e.to_dict() for e in self.evidence]
        data["words"] = self.words
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Passage:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["evidence"] = [Evidence(**e) for e in values.get("evidence", [])]
        return cls(**values)
