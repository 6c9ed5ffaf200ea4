"""Validate a taxonomy file with line-precise messages (``kb taxonomy check FILE``).

YAML silently keeps the last of two equal keys, so the file is read with a SafeLoader that
records the line of every key and list item and remembers duplicate keys.
``check_taxonomy(path)`` returns messages like
``taxonomy.yaml:42: topic 'foo': unknown key 'synonym'``; warnings (things that load but are
probably mistakes, such as one synonym claimed by two topics) read ``file:line: warning: ...``.
An empty list means the file is valid and clean.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

import yaml

from .phrases import phrase_key, synonyms_equivalent

__all__ = ["TaxonomyError", "check_taxonomy", "find_problems", "parse_yaml", "read_text", "read_yaml", "Problem"]


class TaxonomyError(ValueError):
    """An invalid taxonomy file; the message is one line, ``file:line: what is wrong``."""

TOP_KEYS = {"version", "name", "topics"}
TOPIC_KEYS = {"label", "description", "broader", "synonyms", "all_of", "exclude", "min_hits", "context"}
TOPIC_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


class LineDict(dict):
    """A mapping that knows the line of each key (1-based) and its duplicate keys."""

    def __init__(self) -> None:
        super().__init__()
        self.line = 0
        self.lines: dict = {}
        self.duplicates: list[tuple[object, int, int]] = []   # (key, line, first line)


class LineList(list):
    """A list that knows the line of each item (1-based)."""

    def __init__(self) -> None:
        super().__init__()
        self.line = 0
        self.lines: list[int] = []


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    data = LineDict()
    data.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(None, None, "unhashable key", key_node.start_mark) from None
        value = loader.construct_object(value_node, deep=True)
        if key in data:
            data.duplicates.append((key, line, data.lines[key]))
            continue                      # keep the first, report the second
        data[key] = value
        data.lines[key] = line
    return data


def _construct_seq(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    data = LineList()
    data.line = node.start_mark.line + 1
    for item in node.value:
        data.append(loader.construct_object(item, deep=True))
        data.lines.append(item.start_mark.line + 1)
    return data


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def read_text(path: str | os.PathLike) -> str:
    """The file's text; TaxonomyError when it cannot be read."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise TaxonomyError(f"{path}: cannot read: {reason}") from None


def read_yaml(path: str | os.PathLike):
    """The parsed file with line information; TaxonomyError for unreadable files and bad YAML."""
    return parse_yaml(read_text(path), str(path))


def parse_yaml(text: str, path: str = "taxonomy"):
    """YAML text parsed with line information; TaxonomyError (``path:line: ...``) when it is bad."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise TaxonomyError(f"{path}:{line}: invalid YAML: {what}") from None
    except yaml.YAMLError as exc:
        raise TaxonomyError(f"{path}:1: invalid YAML: {' '.join(str(exc).split())}") from None


@dataclass(frozen=True)
class Problem:
    line: int
    message: str
    warning: bool = False

    def format(self, filename: str) -> str:
        return f"{filename}:{self.line}: {'warning: ' if self.warning else ''}{self.message}"


def _line_of(container, key, default: int) -> int:
    if isinstance(container, LineDict):
        return container.lines.get(key, default)
    if isinstance(container, LineList) and isinstance(key, int) and key < len(container.lines):
        return container.lines[key]
    return default


def _is_phrase_list(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)


def find_problems(data, filename: str = "taxonomy") -> list[Problem]:
    """Every problem of a parsed taxonomy (errors and warnings), in line order."""
    problems: list[Problem] = []

    def add(line: int, message: str, warning: bool = False) -> None:
        problems.append(Problem(line, message, warning))

    if not isinstance(data, dict):
        add(1, "the file must be a mapping with 'version', 'name' and 'topics'")
        return problems
    for key, line, first in getattr(data, "duplicates", []):
        add(line, f"duplicate key {key!r} (first on line {first})")
    for key in data:
        if key not in TOP_KEYS:
            add(_line_of(data, key, 1),
                f"unknown top-level key {key!r} (expected one of: {', '.join(sorted(TOP_KEYS))})")
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        add(_line_of(data, "version", 1), f"'version' must be a positive integer, not {version!r}")
    if "name" in data and not (isinstance(data["name"], str) and data["name"].strip()):
        add(_line_of(data, "name", 1), "'name' must be a non-empty string")
    topics = data.get("topics")
    if not isinstance(topics, dict) or not topics:
        add(_line_of(data, "topics", 1), "'topics' must be a non-empty mapping of topic id -> spec")
        return sorted(problems, key=lambda p: p.line)

    for tid, line, first in getattr(topics, "duplicates", []):
        add(line, f"duplicate topic id {tid!r} (first on line {first})")
    claimed: dict[str, list[tuple[str, int, str]]] = {}     # phrase key -> [(topic, line, phrase)]
    for tid, spec in topics.items():
        line = _line_of(topics, tid, 1)
        where = f"topic {tid!r}"
        if not isinstance(tid, str) or not TOPIC_ID.fullmatch(tid):
            add(line, f"{where}: bad id: use lowercase kebab-case like 'public-health'")
        if not isinstance(spec, dict):
            add(line, f"{where}: must be a mapping with at least 'label' and 'synonyms'")
            continue
        for key, kline, first in getattr(spec, "duplicates", []):
            add(kline, f"{where}: duplicate key {key!r} (first on line {first})")
        for key in spec:
            if key not in TOPIC_KEYS:
                add(_line_of(spec, key, line),
                    f"{where}: unknown key {key!r} (expected one of: {', '.join(sorted(TOPIC_KEYS))})")
        label = spec.get("label")
        if not (isinstance(label, str) and label.strip()):
            add(_line_of(spec, "label", line),
                f"{where}: missing label" if label is None else f"{where}: 'label' must be a non-empty string")
        if "description" in spec and not isinstance(spec["description"], str):
            add(_line_of(spec, "description", line), f"{where}: 'description' must be a string")
        broader = spec.get("broader", [])
        if not (isinstance(broader, list) and all(isinstance(b, str) for b in broader)):
            add(_line_of(spec, "broader", line), f"{where}: 'broader' must be a list of topic ids")
        else:
            for i, parent in enumerate(broader):
                bline = _line_of(broader, i, _line_of(spec, "broader", line))
                if parent == tid:
                    add(bline, f"{where}: 'broader' names the topic itself")
                elif parent not in topics:
                    add(bline, f"{where}: broader topic {parent!r} does not exist")
        for key in ("synonyms", "exclude", "context"):
            value = spec.get(key, [])
            if not _is_phrase_list(value):
                add(_line_of(spec, key, line), f"{where}: {key!r} must be a list of non-empty phrases")
        all_of = spec.get("all_of", [])
        if not (isinstance(all_of, list) and all(_is_phrase_list(g) and g for g in all_of)):
            add(_line_of(spec, "all_of", line), f"{where}: 'all_of' must be a list of non-empty lists of phrases")
            all_of = []
        min_hits = spec.get("min_hits", 1)
        if not isinstance(min_hits, int) or isinstance(min_hits, bool) or min_hits < 1:
            add(_line_of(spec, "min_hits", line), f"{where}: 'min_hits' must be an integer >= 1, not {min_hits!r}")
        synonyms = spec.get("synonyms", [])
        if not _is_phrase_list(synonyms):
            synonyms = []
        if not spec.get("synonyms") and not spec.get("all_of"):
            add(line, f"{where}: no synonyms and no all_of: it can never tag anything", warning=True)
        sline = _line_of(spec, "synonyms", line)
        for i, phrase in enumerate(synonyms):
            pline = _line_of(synonyms, i, sline)
            key = phrase_key(phrase)
            if not key:
                add(pline, f"{where}: synonym {phrase!r} has no words")
                continue
            for other, oline, ophrase in claimed.get(key, []):
                if not synonyms_equivalent(phrase, ophrase):
                    continue
                if other == tid:
                    add(pline, f"{where}: synonym {phrase!r} matches the same words as {ophrase!r}", warning=True)
                else:
                    add(pline, f"{where}: synonym {phrase!r} also claimed by topic {other!r} as {ophrase!r} "
                               f"(line {oline})", warning=True)
                break
            claimed.setdefault(key, []).append((tid, pline, phrase))
    return sorted(problems, key=lambda p: p.line)


def check_taxonomy(path: str | os.PathLike, warnings: bool = True) -> list[str]:
    """Line-precise problems of the taxonomy file at ``path``; an empty list means valid."""
    try:
        data = read_yaml(path)
    except TaxonomyError as exc:
        return [str(exc)]
    return [p.format(str(path)) for p in find_problems(data, str(path)) if warnings or not p.warning]
