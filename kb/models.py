"""What a document and a passage are: the data model shared by every part of kb."""
from __future__ import annotations

import dataclasses
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any


def slugify(value: str, max_length: int = 80) -> str:
    """A lowercase ASCII slug: letters, digits and single hyphens."""
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    value = re.sub(r"[^a-zA-Z0-9]+", "-", value.lower()).strip("-")
    return value[:max_length].rstrip("-")


def content_hash(text: str, length: int = 8) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:length]


ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


def valid_document_id(value: str) -> bool:
    """Document ids are safe in paths and URLs: no slashes, colons, NULs or dot-dot."""
    return bool(ID_PATTERN.match(value)) and ".." not in value


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

    @staticmethod
    def make_id(title: str, text: str) -> str:
        """A stable id when none is given: slug of the title plus a short content hash."""
        slug = slugify(title, 60) or "doc"
        return f"{slug}-{content_hash(text)}"

    def validate(self) -> Document:
        """Check what every document needs and fill in what may be derived (title, ingested_at);
        raises InvalidDocument."""
        if (not isinstance(self.text, str) or not self.text.strip()) and isinstance(self.title, str) \
                and self.title.strip():
            self.text = " ".join(self.title.split())   # a title-only record: its title is its one passage
        if not isinstance(self.text, str) or not self.text.strip():
            raise InvalidDocument("text: the document has no text (and no title)")
        if not valid_document_id(self.id):
            raise InvalidDocument(f"id: '{self.id[:80]}' is not a valid document id "
                                  "(letters, digits, '.', '_', '-'; at most 200)")
        self.title = (self.title or "").strip() or self.text.strip().splitlines()[0][:200]
        self.tags = sorted({str(t).strip() for t in self.tags if str(t).strip()})
        self.ingested_at = self.ingested_at or now_iso()
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

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
