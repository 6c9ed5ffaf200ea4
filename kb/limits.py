"""What one input may hold, checked in one place for every way in: HTTP JSON, JSON Lines, uploads,
front matter, files and the CLI. Text must be valid Unicode (no lone surrogates, which no UTF-8
can carry), ids and tags hold no NUL or control character, and every size has a ceiling set by a
``KB_MAX_*`` setting. Over a ceiling, ``OverLimit`` names the field, the limit and its setting;
its ``status`` is what HTTP answers (413 for sizes, 422 for the rest).

The limits in force are the settings' (``use``, called when a KnowledgeBase opens): readers, which
are plain functions of bytes, read them from here."""
from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any, Iterable

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


@dataclass(frozen=True)
class Limits:
    text: int = 1024 ** 2
    tags: int = 50
    tag_length: int = 200
    metadata: int = 64 * 1024
    depth: int = 32
    pdf_pages: int = 1000
    html_elements: int = 100_000
    sections: int = 2000
    bulk_lines: int = 10_000

    @classmethod
    def from_settings(cls, settings) -> Limits:
        return cls(**{f.name: getattr(settings, "max_" + f.name) for f in dataclasses.fields(cls)})


VARIABLES = {f.name: "KB_MAX_" + f.name.upper() for f in dataclasses.fields(Limits)}
_current = Limits()


def use(limits: Limits) -> None:
    global _current
    _current = limits


def current() -> Limits:
    return _current


class OverLimit(ValueError):
    """An input kb refuses: ``field: reason``, with the HTTP status to answer."""

    def __init__(self, field: str, reason: str, status: int = 422):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.status = status


def over(field: str, what: str, count: int, limit: str, status: int = 413) -> OverLimit:
    """``text: 6,000,000 characters; the limit is 5,242,880 (KB_MAX_TEXT)``"""
    return OverLimit(field, f"{count:,} {what}; the limit is {getattr(_current, limit):,} ({VARIABLES[limit]})",
                     status)


def replace_surrogates(text: str) -> str:
    """The stated rule where kb does not refuse: a lone surrogate becomes U+FFFD (a file name that
    is not UTF-8, which Python hands over with surrogates; text a store held before the check)."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)


def check_count(count: int, limit: str, field: str, what: str, status: int = 413) -> None:
    if count > getattr(_current, limit):
        raise over(field, what, count, limit, status)


def check_string(value: str, field: str, *, control: bool = False) -> None:
    """Refuse text UTF-8 cannot carry (a lone surrogate, as JSON's ``\\ud800`` makes), and with
    ``control`` any NUL or control character (ids, tags)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise OverLimit(field, f"not valid Unicode text (a lone surrogate at character {exc.start})") from None
    if control and (found := _CONTROL.search(value)):
        raise OverLimit(field, f"holds a control character ({found.group()!r}) at character {found.start()}")


def check_tags(tags: Iterable[Any], field: str = "tags") -> None:
    tags = [str(t) for t in tags]
    check_count(len(tags), "tags", field, "tags", status=422)
    for tag in tags:
        check_string(tag, field, control=True)
        if len(tag) > _current.tag_length:
            raise OverLimit(field, f"a tag of {len(tag):,} characters; the limit is {_current.tag_length:,} "
                                   f"({VARIABLES['tag_length']})")


def depth_and_strings(value: Any, field: str, limit: int | None = None, strings: bool = True) -> int:
    """The nesting depth of a JSON-like value (iteratively: no recursion limit), checking every
    string and key on the way (unless not ``strings``); OverLimit past ``limit`` levels (default:
    the depth limit)."""
    limit = _current.depth if limit is None else limit
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, str):
            if strings:
                check_string(item, field)
            continue
        if not isinstance(item, (dict, list, tuple)):
            continue
        deepest = max(deepest, level)
        if level > limit:
            raise OverLimit(field, f"nested deeper than {limit:,} levels ({VARIABLES['depth']})")
        if isinstance(item, dict):
            for key, child in item.items():
                if strings and isinstance(key, str):
                    check_string(key, field)
                stack.append((child, level + 1))
        else:
            stack.extend((child, level + 1) for child in item)
    return deepest


def too_deep(field: str) -> OverLimit:
    """For a parser's RecursionError: the same sentence as a value found too deep."""
    return OverLimit(field, f"nested deeper than {_current.depth:,} levels ({VARIABLES['depth']})")


def check_metadata(metadata: Any, field: str = "metadata") -> None:
    depth_and_strings(metadata, field)
    size = len(json.dumps(metadata, ensure_ascii=False, default=str).encode("utf-8"))
    if size > _current.metadata:
        raise OverLimit(field, f"{size:,} bytes of JSON; the limit is {_current.metadata:,} "
                               f"({VARIABLES['metadata']})")


def check_document(doc) -> None:
    """Every field of a Document (or anything with its attributes) within the limits."""
    for name in ("id", "title", "source"):
        value = getattr(doc, name, None)
        if isinstance(value, str):
            check_string(value, name, control=name == "id")
    if isinstance(doc.text, str):
        check_count(len(doc.text), "text", "text", "characters")
        check_string(doc.text, "text")
    check_tags(doc.tags or ())
    check_metadata(doc.metadata or {})


def check_sections(sections, field: str = "sections") -> None:
    if sections:
        check_count(len(sections), "sections", field, "headings")
        for _, path in sections:
            check_string(path, field)
