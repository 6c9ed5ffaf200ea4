"""Whole sentences of a span of text, with offsets: a regex where every . ! ? plainly ends a
sentence (most prose), pysbd where abbreviations, initials, ellipses or enumerations make that
doubtful (it gives the same sentences, checked on all of SciFact, far slower). pysbd is quadratic on
long texts and most texts have a doubtful spot somewhere, so a text is cut where a sentence certainly
ends whatever surrounds it (pysbd judges no quote, bracket or list across the cut) and pysbd gets only
the stretches between such cuts that hold a doubtful spot, run on windows; the rest needs no splitting."""
from __future__ import annotations

import re

import pysbd
from pysbd.between_punctuation import BetweenPunctuation
from pysbd.lists_item_replacer import ListItemReplacer

__all__ = ["sentence_spans"]

_SEGMENTER = pysbd.Segmenter(language="en", clean=False)
_WINDOW = 2000  # characters handed to pysbd at once
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr sr vs etc inc ltd co corp no nos fig figs vol vols gen col lt sgt rev hon "
    "gov sen rep pres capt cmdr adm maj mt ft dept est approx al ed eds cf ca jan feb mar apr jun jul "
    "aug sep sept oct nov dec mon tue wed thu fri sat sun op pp p para art sec ch eq ref tel".split())
_PUNCT = re.compile(r"[.!?]+")
_PLAIN_END = re.compile(r"[\"'”’»]*(?:\s+[\"'“‘«]*[A-Z]|$)")  # brackets around sentences are left to pysbd
_SIMPLE_BREAK = re.compile(r"[.!?][\"'”’»]*\s+(?=[\"'“‘«]*[A-Z])")


_ENUMERATION = re.compile(r"(?:^|[\s(\[])(?:\d{1,3}|[ivxIVX]{1,5}|[a-zA-Z])[).\]]\s")  # "1) a", "(ii) b", "a. c"


def _balanced(s: str) -> bool:
    """Brackets pair up (pysbd treats text in unclosed brackets differently)."""
    return s.count("(") == s.count(")") and s.count("[") == s.count("]")


def _needs_pysbd(s: str) -> bool:
    """True unless every . ! ? plainly ends a sentence (then a regex gives pysbd's answer, far faster).

    ``s`` has its whitespace already turned into plain spaces."""
    if "…" in s or ".." in s:
        return True
    decimals_ok = not _ENUMERATION.search(s) and _balanced(s)
    for match in _PUNCT.finditer(s):
        at, end = match.start(), match.end()
        if decimals_ok and match.group() == "." and s[at - 1:at].isdigit() and s[end:end + 1].isdigit():
            continue  # a decimal point ("1.8"): no sentence ends there, and no break is made there
        if not _PLAIN_END.match(s, end):
            return True
        token = s[s.rfind(" ", 0, match.start()) + 1:match.start()].lstrip("\"'“‘«([")
        if match.group() == "." and (len(token) <= 1 or token.lower() in _ABBREVIATIONS):
            return True  # an initial ("J. Smith") or an abbreviation ("Dr. Who") may not end a sentence
    return False


def _sentence_starts(s: str, use_pysbd: bool | None = None) -> list[int]:
    """Offsets in ``s`` where sentences begin; ``s`` has single-character whitespace only.

    ``use_pysbd`` None picks the regex or pysbd on the doubtful stretches; True runs pysbd on all of ``s``."""
    first = len(s) - len(s.lstrip())
    if use_pysbd is None and _needs_pysbd(s):
        return _windowed_starts(s, first, _stretch_starts)
    if not use_pysbd:
        return [first] + [m.end() for m in _SIMPLE_BREAK.finditer(s)]
    return _windowed_starts(s, first, _pysbd_starts)


def _windowed_starts(s: str, first: int, starts_in) -> list[int]:
    """Sentence starts of ``s`` found by ``starts_in`` on windows of a few sentences: pysbd is quadratic."""
    starts, pos, inside = {first}, first, False
    while pos < len(s):
        end = (len(s) if len(s) - pos <= _WINDOW
               else s.rfind(" ", pos + _WINDOW // 2, pos + _WINDOW) + 1 or pos + _WINDOW)
        found = starts_in(s, pos, end)
        if inside and found and not s[pos:found[0]].strip():
            found = found[1:]  # the window began inside a sentence, not at one
        if end < len(s) and found and found[-1] > pos:  # the window's last sentence may be cut: redo it
            starts.update(found[:-1])
            pos, inside = found[-1], False
        else:  # the last window, or one sentence longer than a window: go on inside it
            starts.update(found)
            pos, inside = end, True
    return sorted(starts)


def _pysbd_starts(s: str, pos: int, end: int) -> list[int]:
    """Where pysbd, run on ``s[pos:end]``, begins sentences (offsets in ``s``)."""
    return _locate(s, _pysbd_sentences(s[pos:end]), pos)


def _stretch_starts(s: str, pos: int, end: int) -> list[int]:
    """What ``_pysbd_starts`` gives, pysbd run only on the doubtful stretches between certain cuts of
    ``s[pos:end]``; a stretch with no other stop than its last is one sentence as it is."""
    window = s[pos:end]
    cuts = _certain_cuts(window)
    if cuts is None:
        return _pysbd_starts(s, pos, end)
    bounds = [len(window) - len(window.lstrip())] + cuts + [len(window)]
    starts, run = [], None  # run: where the current row of doubtful stretches began
    for a, b in zip(bounds, bounds[1:]):
        if _DOUBTFUL.search(window, a, len(window[:b].rstrip()) - 1) or _DASH_QUOTE.search(window, a, b):
            run = a if run is None else run
            continue
        if run is not None:
            starts += _pysbd_starts(s, pos + run, pos + a)
            run = None
        if a < len(window):
            starts.append(pos + a)
    if run is not None:
        starts += _pysbd_starts(s, pos + run, end)
    return starts


_DOUBTFUL = re.compile(r"[.!?。．！？…]")  # a stop that is not a certain cut: pysbd judges it
_DASH_QUOTE = re.compile(r"-[\"'“”] [A-Z]")  # pysbd also splits after '-" X'
_CUT = re.compile(r"(?<=[^\W\d_]{2})[.!?] +(?=[A-Z](?!\.))")  # word, stop, capital (pysbd reads "X.," apart)
_OPENERS = {"(": ")", "“": "”", "「": "」", "（": "）", '"': '"', "'": "'"}
_OPENER = re.compile("[" + re.escape("".join(_OPENERS)) + "]")
_WORD_START = re.compile(r"^\W+")
_BETWEEN = [re.compile(getattr(BetweenPunctuation, name)) for name in (
    "BETWEEN_SINGLE_QUOTES_REGEX", "BETWEEN_SINGLE_QUOTE_SLANTED_REGEX", "BETWEEN_DOUBLE_QUOTES_REGEX_2",
    "BETWEEN_SQUARE_BRACKETS_REGEX_2", "BETWEEN_PARENS_REGEX_2", "BETWEEN_QUOTE_ARROW_REGEX_2",
    "BETWEEN_EM_DASHES_REGEX_2", "BETWEEN_QUOTE_SLANTED_REGEX_2")]
_GLOBAL = re.compile("|".join((BetweenPunctuation.WORD_WITH_LEADING_APOSTROPHE,
                               _SEGMENTER.language_module.PARENS_BETWEEN_DOUBLE_QUOTES_REGEX, r"\{")))
_NOT_CUT = _ABBREVIATIONS | {a.lower() for a in _SEGMENTER.language_module.Abbreviation.PREPOSITIVE_ABBREVIATIONS} | {
    "yahoo", "yum"}  # pysbd keeps "Dr." with its name and "Yahoo!" whole, whatever follows


def _certain_cuts(s: str) -> list[int] | None:
    """Where sentences begin after a stop that ends a sentence for pysbd whatever the rest of ``s`` holds:
    a word of two letters or more, no abbreviation, then a space and a capital, outside every span pysbd
    pairs up (quotes, brackets, dashes). None when pysbd must read all of ``s`` (lists, odd quoting):
    it may then begin sentences where there is no stop."""
    if _GLOBAL.search(s) or _has_list(s):
        return None
    cuts = [(m.start() + 1, m.end()) for m in _CUT.finditer(s)
            if _WORD_START.sub("", s[s.rfind(" ", 0, m.start()) + 1:m.start()]).lower() not in _NOT_CUT]
    if not cuts:
        return []
    spans = [m.span() for pattern in _BETWEEN for m in pattern.finditer(s)]
    for match in _OPENER.finditer(s):  # a sentence pysbd begins at an opening mark runs to the next closing one
        at, char = match.start(), match.group()
        if not (char in "'\"" and s[at - 1:at].isalnum()):
            close = s.find(_OPENERS[char], at + 1)
            spans.append((at, close if close >= 0 else at))
    return [start for cut, start in cuts if not any(a < cut <= b for a, b in spans)]


def _has_list(s: str) -> bool:
    """pysbd may find a list in ``s`` (items numbered or lettered in sequence): it then reads all of it."""
    for pattern in (ListItemReplacer.NUMBERED_LIST_REGEX_1, ListItemReplacer.NUMBERED_LIST_PARENS_REGEX):
        items = [int(item) for item in re.findall(pattern, s)]
        if any(b - a == 1 or {a, b} == {0, 9} for a, b in zip(items, items[1:])):
            return True
    for pattern in (ListItemReplacer.ALPHABETICAL_LIST_WITH_PERIODS, ListItemReplacer.ALPHABETICAL_LIST_WITH_PARENS):
        found = re.findall(pattern, s)
        for alphabet in (ListItemReplacer.LATIN_NUMERALS, ListItemReplacer.ROMAN_NUMERALS):
            ranks = {alphabet.index(item) for item in found if item in alphabet}
            if any(rank + 1 in ranks for rank in ranks):
                return True
    return False


def _pysbd_sentences(text: str) -> list[str]:
    """pysbd's sentences, without its own mapping back to the text (``_locate`` does that): that
    mapping compiles a regular expression per sentence, flushing ``re``'s cache of pysbd's
    other patterns, which then recompiles them for every document (half of pysbd's time)."""
    return _SEGMENTER.processor(text).process()


def _locate(s: str, sentences: list[str], offset: int) -> list[int]:
    """Where pysbd's sentences begin in ``s``; one pysbd altered is folded into the previous: nothing is lost."""
    starts, cursor = [], offset
    for sentence in (sentence.strip() for sentence in sentences):
        pos = s.find(sentence, cursor) if sentence else -1
        if pos >= 0:
            starts.append(pos)
            cursor = pos + len(sentence)
    return starts


def sentence_spans(text: str, start: int, end: int, use_pysbd: bool | None = None) -> list[tuple[int, int]]:
    """Whole-sentence spans covering ``text[start:end]`` exactly, whitespace trimmed."""
    chunk = re.sub(r"\s", " ", text[start:end])
    bounds = _sentence_starts(chunk, use_pysbd) + [len(chunk)]
    spans = []
    for a, b in zip(bounds, bounds[1:]):
        piece = chunk[a:b]
        a, b = a + len(piece) - len(piece.lstrip()), b - (len(piece) - len(piece.rstrip()))
        if b > a:
            spans.append((start + a, start + b))
    return spans
