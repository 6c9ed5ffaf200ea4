"""Whole sentences of a span of text, with offsets: a regex where every . ! ? plainly ends a
sentence (most prose), pysbd where abbreviations, initials, ellipses or enumerations make that
doubtful (it gives the same sentences, checked on all of SciFact, far slower), run on windows
because it is quadratic on long texts."""
from __future__ import annotations

import re

import pysbd

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
    """Offsets in ``s`` where sentences begin; ``s`` has single-character whitespace only."""
    if use_pysbd is None:
        use_pysbd = _needs_pysbd(s)
    first = len(s) - len(s.lstrip())
    if not use_pysbd:
        return [first] + [m.end() for m in _SIMPLE_BREAK.finditer(s)]
    starts, pos, inside = {first}, first, False
    while pos < len(s):  # pysbd is quadratic on long texts: run it on windows of a few sentences
        end = (len(s) if len(s) - pos <= _WINDOW
               else s.rfind(" ", pos + _WINDOW // 2, pos + _WINDOW) + 1 or pos + _WINDOW)
        found = _locate(s, _pysbd_sentences(s[pos:end]), pos)
        if inside and found and not s[pos:found[0]].strip():
            found = found[1:]  # the window began inside a sentence, not at one
        if end < len(s) and found and found[-1] > pos:  # the window's last sentence may be cut: redo it
            starts.update(found[:-1])
            pos, inside = found[-1], False
        else:  # the last window, or one sentence longer than a window: go on inside it
            starts.update(found)
            pos, inside = end, True
    return sorted(starts)


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
