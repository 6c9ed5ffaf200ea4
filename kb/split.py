"""Split a document's text into passages of whole sentences, with offsets into the stored text.

The text given is never modified: cleaning (site chrome, repeated titles, footers) only marks
lines as dropped, and every passage is a contiguous span ``text[start:end]`` whose
whitespace-collapsed form is the passage text. Because a span is contiguous, a passage never
reaches over a dropped line or a heading. What a document stores and cites is its passages a blank
line apart, where each passage is exactly ``text[start:end]`` (kb.preparing.cited_text).
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from kb.chrome import is_chrome
from kb.models import Passage
from kb.sentences import sentence_spans

__all__ = ["SplitOptions", "split_text", "clean_text"]


@dataclass(frozen=True)
class SplitOptions:
    # ~200-word passages: best for ranking documents by their best passage (Callan 1994; Kaszkiel
    # and Zobel 2001), and on SciFact through the HTTP API (bench/RESULTS.md); still a citable unit
    target_words: int = 200
    min_words: int = 40
    max_words: int = 320


# ---------------------------------------------------------------- line classification

_MD_HEADING = re.compile(r"(#{1,6})(?:\s+(.*?))?(?:\s+#+)?\s*")
_LIST_ITEM = re.compile(r"(?:[-*+•‣◦–]|\d{1,3}[.)]|[a-z][.)]|[A-Z]\))\s+\S")  # not "J. Smith"
_TERMINAL = re.compile(r"[.!?…][\"'”’»)\]]*$")
_OPEN_END = re.compile(r"[.!?…,;:][\"'”’»)\]]*$")  # a line ending like this is no heading

_LINE_BREAK = re.compile(r"\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
PROSE, LIST, TABLE, HEADING, DROPPED = "prose", "list", "table", "heading", "dropped"


def _fold(value: str) -> str:
    return " ".join(value.casefold().split())


@dataclass
class _Line:
    start: int  # offsets of the line's content, surrounding whitespace excluded
    end: int
    kind: str
    section: str = ""
    heading: tuple[int, str] | None = None  # (level, name) for headings


def _lines(text: str) -> list[_Line]:
    """Every non-blank line with its stripped span, before classification."""
    out, pos = [], 0
    for raw in text.splitlines(keepends=True):  # every line-break character is whitespace to str.strip
        if raw.strip():
            start = pos + len(raw) - len(raw.lstrip())
            out.append(_Line(start, start + len(raw.strip()), PROSE))
        pos += len(raw)
    return out


def _markdown_blocks(text: str, lines: list[_Line]) -> list[_Line]:
    """Drop YAML front matter a reader left in; make each fenced code block one unbreakable line."""
    marks = [text[line.start:line.end] for line in lines]
    if len(marks) > 1 and marks[0] == "---" and re.match(r"[A-Za-z_][\w-]*\s*:", marks[1]):
        close = next((i for i in range(1, len(marks)) if marks[i] in ("---", "...")), None)
        for line in lines[: close + 1 if close else 0]:
            line.kind = DROPPED
    out: list[_Line] = []
    fence = None
    for line, s in zip(lines, marks):
        if fence is not None:
            fence.end = line.end
            if s.startswith(text[fence.start:fence.start + 3]):
                fence = None
        else:
            out.append(line)
            if line.kind == PROSE and s.startswith(("```", "~~~")):
                fence, line.kind = line, TABLE
    return out


def _classify(text: str, title: str, sections: list[tuple[int, str]] | None) -> list[_Line]:
    """Mark each line as chrome/title (dropped), heading, list item, table row or prose."""
    lines, title_key = _markdown_blocks(text, _lines(text)), _fold(title)
    titled = []
    for line in lines:
        if line.kind != PROSE:
            continue
        s = text[line.start:line.end]
        md = _MD_HEADING.fullmatch(s) if sections is None else None  # a reader with sections rendered its headings
        name = " ".join((md.group(2) or "").split()) if md else s
        if title_key and _fold(name) == title_key and (md or not s.rstrip().endswith(".")):
            line.kind = DROPPED  # a repeated title; a full sentence that merely equals it is body
            titled.append(line)
        elif md:
            line.kind, line.heading = HEADING, (len(md.group(1)), name)
        elif is_chrome(s) or ("|" not in s and not any(c.isalnum() for c in s)):  # chrome, rules, ornaments
            line.kind = DROPPED
        elif _LIST_ITEM.match(s):
            line.kind = LIST
        elif "|" in s:
            line.kind = TABLE
    _drop_trailing_menu(text, lines)
    if titled and all(line.kind == DROPPED for line in lines):  # a short text that is only its title line
        for line in titled:
            line.kind = PROSE
    if sections is not None:
        _apply_given_sections(text, lines, sections)
    return lines


def _drop_trailing_menu(text: str, lines: list[_Line]) -> None:
    """A run of short unpunctuated lines ending the document is a menu or footer, if body precedes it."""
    def menu_like(line: _Line) -> bool:
        s = text[line.start:line.end]
        return line.kind == DROPPED or (line.kind == PROSE and len(s.split()) <= 5 and not _TERMINAL.search(s))

    cut = len(lines)
    while cut and menu_like(lines[cut - 1]):
        cut -= 1
    if any(line.kind != DROPPED for line in lines[:cut]):
        for line in lines[cut:]:
            line.kind = DROPPED


def _section_at(sections: list[tuple[int, str]], offset: int) -> str:
    """The section path in force at an offset: the last given one starting at or before it."""
    at = bisect.bisect_right(sections, offset, key=lambda item: item[0])
    return sections[at - 1][1] if at else ""


def _apply_given_sections(text: str, lines: list[_Line], sections: list[tuple[int, str]]) -> None:
    """A reader's sections win; a line naming the section that starts at or right after it is its heading."""
    marks = sorted(sections, key=lambda item: item[0])
    offsets = [offset for offset, _ in marks]
    for i, line in enumerate(lines):
        line.section = _section_at(marks, line.start)
        nxt = lines[i + 1].start if i + 1 < len(lines) else len(text) + 1
        names = [_fold(path.split(" > ")[-1]) for _, path in marks[bisect.bisect_left(offsets, line.start):
                                                                 bisect.bisect_right(offsets, nxt)]]
        s = text[line.start:line.end]
        md = _MD_HEADING.fullmatch(s)   # "# Name" too, but a "# comment" in code that names no section stays
        if line.kind == HEADING or (line.kind == PROSE and _fold(md.group(2) or "" if md else s) in names):
            line.kind = DROPPED  # a heading already accounted for by the reader's sections


# ---------------------------------------------------------------- blocks and sections

@dataclass
class _Block:
    lines: list[_Line]
    gap_before: bool  # a dropped line or heading (or section change) separates it from the previous block
    section: str = ""

    @property
    def start(self) -> int:
        return self.lines[0].start

    @property
    def end(self) -> int:
        return self.lines[-1].end


def _blocks(text: str, lines: list[_Line]) -> list[_Block | _Line]:
    """Blank-line separated paragraphs; headings stay separate items; dropped lines become gaps."""
    items: list[_Block | _Line] = []
    gap, prev = True, None
    for line in lines:
        if line.kind in (DROPPED, HEADING):
            if line.kind == HEADING:
                items.append(line)
            gap, prev = True, None
            continue
        joined = prev is not None and prev.section == line.section \
            and len(_LINE_BREAK.findall(text, prev.end, line.start)) == 1
        if joined and isinstance(items[-1], _Block):
            items[-1].lines.append(line)
        else:
            items.append(_Block([line], gap or (prev is not None and prev.section != line.section)))
        gap, prev = False, line
    return items


def _is_open(text: str, block: _Block) -> bool:
    """A prose paragraph not ending in terminal punctuation continues into the next one."""
    last = block.lines[-1]
    return last.kind == PROSE and not _TERMINAL.search(text[last.start:last.end])


def _starts_lower(text: str, block: _Block) -> bool:
    first = block.lines[0]
    return first.kind == PROSE and text[first.start].islower()


_DANGLING = frozenset("a an the of to in on at by for from with and or but nor that which who whose than as "
                      "is are was were be been has have had will would can could should may might must".split())


def _looks_like_heading(text: str, block: _Block) -> bool:
    """Short, capitalised, unpunctuated, one line, and not ending on a word that needs a continuation."""
    s = text[block.start:block.end]
    return (len(block.lines) == 1 and block.lines[0].kind == PROSE and len(s.split()) <= 12 and len(s) <= 120
            and s[0].isupper() and not _OPEN_END.search(s) and s.split()[-1].lower() not in _DANGLING)


def _assign_sections(text: str, items: list[_Block | _Line], detect: bool) -> list[_Block]:
    """Turn heading lines (and, when detecting, short title-like paragraphs) into section paths."""
    stack: list[tuple[int, str]] = []
    blocks: list[_Block] = []
    gap = False
    for i, item in enumerate(items):
        heading = item.heading if isinstance(item, _Line) else None
        if detect and isinstance(item, _Block):
            prev = items[i - 1] if i and not item.gap_before else None
            nxt = items[i + 1] if i + 1 < len(items) else None
            if (_looks_like_heading(text, item) and nxt is not None
                    and not (isinstance(prev, _Block) and _is_open(text, prev))
                    and not (isinstance(nxt, _Block) and _starts_lower(text, nxt))):
                heading = (7, text[item.start:item.end])  # nests under any Markdown heading
        if heading is not None:
            level, name = heading
            stack = [entry for entry in stack if entry[0] < level] + ([(level, name)] if name else [])
            gap = True
            continue
        item.section = " > ".join(name for _, name in stack) if detect else item.lines[0].section
        item.gap_before, gap = item.gap_before or gap, False
        blocks.append(item)
    return blocks


def clean_text(text: str, title: str = "", sections: list[tuple[int, str]] | None = None) -> list[tuple[int, int, str]]:
    """The body after cleaning: ``(start, end, section)`` spans of the kept paragraphs, in order."""
    items = _blocks(text, _classify(text, title, sections))
    return [(b.start, b.end, b.section) for b in _assign_sections(text, items, sections is None)]


# ---------------------------------------------------------------- units and packing

@dataclass
class _Unit:
    """A sentence, list item or table row: never split across passages."""
    start: int
    end: int
    words: int
    section: str
    paragraph_start: bool
    break_before: bool  # cannot share a passage with the unit before it


def _units(text: str, blocks: list[_Block], sections: list[tuple[int, str]] | None) -> list[_Unit]:
    """Sentences of prose runs (joined across broken paragraphs), and whole list items and table rows."""
    pieces: list[tuple[str, int, int, _Block]] = []  # (kind, start, end, block)
    for block in blocks:
        for line in block.lines:  # a prose line continues the prose or (lazily) the list item above it
            if line.kind == PROSE and pieces and pieces[-1][3] is block and pieces[-1][0] in (PROSE, LIST):
                pieces[-1] = (pieces[-1][0], pieces[-1][1], line.end, block)
            else:
                pieces.append((line.kind, line.start, line.end, block))
    # join prose across paragraph breaks that fall mid-sentence
    merged: list[tuple[str, int, int, _Block, _Block]] = []  # (kind, start, end, first block, last block)
    for kind, start, end, block in pieces:
        if merged and kind == PROSE and merged[-1][0] == PROSE and merged[-1][4] is not block \
                and not block.gap_before and block.section == merged[-1][4].section \
                and block.lines[0].start == start and merged[-1][4].lines[-1].end == merged[-1][2] \
                and (_is_open(text, merged[-1][4]) or _starts_lower(text, block)):
            merged[-1] = (PROSE, merged[-1][1], end, merged[-1][3], block)
        else:
            merged.append((kind, start, end, block, block))
    paragraph_starts = {block.start for block in blocks}
    units: list[_Unit] = []
    for kind, start, end, first, _ in merged:
        spans = sentence_spans(text, start, end) if kind == PROSE else [(start, end)]
        for i, (a, b) in enumerate(spans):
            section = first.section if sections is None else _section_at(sections, a)
            units.append(_Unit(a, b, len(text[a:b].split()), section, paragraph_start=a in paragraph_starts,
                               break_before=i == 0 and start == first.start and first.gap_before))
    for prev, unit in zip(units, units[1:]):
        unit.break_before = unit.break_before or unit.section != prev.section
    if units:
        units[0].break_before = True
    return units


def _pack_group(units: list[_Unit], opt: SplitOptions) -> list[list[_Unit]]:
    """Greedy packing near the target, preferring paragraph breaks, then fix passages under min_words."""
    passages: list[list[_Unit]] = [[]]
    words = 0
    for unit in units:
        total = words + unit.words
        cut = bool(passages[-1]) and total > opt.max_words
        if passages[-1] and opt.target_words < total <= opt.max_words and words >= opt.min_words:
            undershoot, overshoot = opt.target_words - words, total - opt.target_words
            cut = (undershoot / 2 if unit.paragraph_start else undershoot) <= overshoot  # paragraphs break better
        if cut:
            passages.append([])
            words = 0
        passages[-1].append(unit)
        words += unit.words
    for _ in range(len(passages)):
        if not _fix_small(passages, opt):
            break
    return passages


def _size(units: list[_Unit]) -> int:
    return sum(u.words for u in units)


def _fix_small(passages: list[list[_Unit]], opt: SplitOptions) -> bool:
    """Merge a passage under min_words into a neighbour, or rebalance the pair; True if anything changed."""
    changed, i = False, 0
    while i < len(passages):
        small = _size(passages[i]) < opt.min_words
        if small and i > 0 and _size(passages[i - 1]) + _size(passages[i]) <= opt.max_words:
            passages[i - 1] += passages.pop(i)
            changed = True
        elif small and i + 1 < len(passages) and _size(passages[i]) + _size(passages[i + 1]) <= opt.max_words:
            passages[i] += passages.pop(i + 1)
            changed = True
        else:
            if small and len(passages) > 1:
                changed |= _rebalance(passages, max(i - 1, 0), opt)
            i += 1
    return changed


def _rebalance(passages: list[list[_Unit]], j: int, opt: SplitOptions) -> bool:
    """Re-cut passages j and j+1 where both fit max_words and the smaller is as large as possible."""
    both = passages[j] + passages[j + 1]
    best, best_score, a, total = len(passages[j]), None, 0, _size(both)
    for k in range(1, len(both)):
        a += both[k - 1].words
        b = total - a
        if a <= opt.max_words and b <= opt.max_words:
            score = (min(a, b), both[k].paragraph_start, -k)
            if best_score is None or score > best_score:
                best, best_score = k, score
    if best_score is None or best == len(passages[j]):
        return False
    passages[j], passages[j + 1] = both[:best], both[best:]
    return True


def split_text(text: str, document_id: str, title: str = "", options: SplitOptions = SplitOptions(),
               sections: list[tuple[int, str]] | None = None) -> list[Passage]:
    """Passages of whole sentences, ordinals from 1, ids ``<document_id>:<ordinal>``; deterministic."""
    if not text.strip():
        return []
    items = _blocks(text, _classify(text, title, sections))
    blocks = _assign_sections(text, items, detect=sections is None)
    units = _units(text, blocks, None if sections is None else sorted(sections, key=lambda item: item[0]))
    groups: list[list[_Unit]] = []
    for unit in units:
        if unit.break_before:
            groups.append([])
        groups[-1].append(unit)
    passages = []
    for group in groups:
        for chunk in _pack_group(group, options):
            start, end = chunk[0].start, chunk[-1].end
            ordinal = len(passages) + 1
            passages.append(Passage(id=f"{document_id}:{ordinal}", document_id=document_id, ordinal=ordinal,
                                    text=" ".join(text[start:end].split()), start=start, end=end,
                                    section=chunk[0].section))
    if not passages and _fold(text) == _fold(title):   # a title-only record: its title is its passage
        start = len(text) - len(text.lstrip())
        passages.append(Passage(id=f"{document_id}:1", document_id=document_id, ordinal=1,
                                text=" ".join(text.split()), start=start, end=len(text.rstrip())))
    return passages

