"""Where a query's terms occur in a passage, without analysing every word of it.

Highlighting ten hits used to run the analyzer over all ~200 words of each passage to find the
few that match: two thirds of a short query's time. Every word whose term is ``vaccin`` starts
with ``vacc`` (case aside), so the words that begin with such prefixes (found by ``str.find``
in the lower-cased text) are the candidates; only those are analysed and compared. That holds for kb's own chain
(lowercase, apostrophes and abbreviation dots dropped, Porter stems, which keep all but at most
the last two letters of a word: checked over SciFact's 35,740 words). Folding (NFKC, accents)
changes no ASCII letter, so a word whose first four characters are ASCII starts as its term
does; any other word (``naïve``, ``ﬁnance``, ``O’Brien``) is a candidate whatever its letters.
For another chain, or a term that is not ASCII, ``find`` answers None and the caller analyses
every word as before.
"""
from __future__ import annotations

import re
from functools import lru_cache

from whoosh.analysis import CharsetFilter, LowercaseFilter, StemFilter
from whoosh.lang.porter import stem as porter_stem

from .analysis import TOKEN_PATTERN, NFKCFilter, NormalizeFilter
from .memo_analyzer import MemoAnalyzer

CHAIN = (NFKCFilter, LowercaseFilter, NormalizeFilter, CharsetFilter, StemFilter)
# a word starts here: no word character before it, nor one joined to it by . or an apostrophe
WORD_START = r"(?<!\w)(?<!\w[.'’])"
PREFIX_CHARS = 4


class TermFinder:
    def __init__(self, memo: MemoAnalyzer):
        self.memo = memo
        pattern = memo.tokenizer.expression.pattern if memo.tokenizer is not None else None
        self.usable = (memo.exact and pattern == TOKEN_PATTERN
                       and tuple(type(f) for f in memo.filters) == CHAIN
                       and all(f.stemfn is porter_stem and not f.ignore
                               for f in memo.filters if isinstance(f, StemFilter)))
        self._token = re.compile(TOKEN_PATTERN).match

    def find(self, text: str, terms: frozenset) -> list[tuple[int, int, str]] | None:
        """(start, end, term) of every word of ``text`` whose term is in ``terms``, in text
        order; None when this shortcut does not apply (then analyse every word)."""
        if not self.usable:
            return None
        prefixes = _prefixes(terms)
        if prefixes is None:
            return None
        starts = candidates(text, prefixes)
        found = []
        terms_of, token = self.memo.word_terms, self._token
        for at in starts:   # case aside: offsets in the text as it is
            word = token(text, at)   # a candidate starts with a word character: a word
            for start, end, term in terms_of(word.group()):   # a dotted identifier: whole and parts
                if term in terms:
                    found.append((word.start() + start, word.start() + end, term))
        return found


@lru_cache(maxsize=1024)
def _prefixes(terms: frozenset) -> tuple[str, ...] | None:
    """Each term's first letters: all but its last two, at most four (None: a term not ASCII)."""
    if not terms or not all(t.isascii() and t for t in terms):
        return None
    return tuple(sorted({term[:min(PREFIX_CHARS, max(1, len(term) - 2))] for term in terms}))


def candidates(text: str, prefixes: tuple[str, ...]) -> list[int]:
    """Word starts that may be a word of one of the terms, in order: the words that begin with a
    term's prefix, case aside, and any word with an apostrophe or a dot among its first four
    characters (``O'Brien``, ``U.S.``: its term lacks them), or a character that is not ASCII
    among them (folding may change it), and any dotted word (``fs.readFileSync``,
    ``China's.cells``: its parts are terms too).

    One regular expression for all that, tried at every character, cost three times as much:
    here the prefixes are found by ``str.find`` in the lower-cased text, and the other words by
    the few characters that can make them (``.``, ``'``, anything not ASCII), each then checked
    against ``_SPECIAL`` at the start of its word."""
    found = {at for at in _prefix_starts(text, prefixes) if _word_starts_at(text, at)}
    end = len(text)
    for m in _TRIGGER.finditer(text):
        at = m.start()
        if text[at] in ".'" and not (at + 1 < end and _is_word_char(text[at + 1])) and not _short_word_before(text, at):
            continue   # a sentence's end after a word of four letters or more: nothing to find
        start = _start_of_word(text, at)
        if start not in found and _word_starts_at(text, start) and _SPECIAL.match(text, start):
            found.add(start)
    return sorted(found)


def _prefix_starts(text: str, prefixes: tuple[str, ...]):
    """Every offset where a prefix begins, case aside (overlapping ones too)."""
    low = text.lower()
    if len(low) != len(text):   # "İ" lower-cases to two characters: offsets would shift
        yield from (m.start() for m in _anywhere(prefixes).finditer(text))
        return
    for prefix in prefixes:
        at = low.find(prefix)
        while at >= 0:
            yield at
            at = low.find(prefix, at + 1)


@lru_cache(maxsize=256)
def _anywhere(prefixes: tuple[str, ...]) -> re.Pattern:
    return re.compile("(?=" + "|".join(map(re.escape, prefixes)) + ")", re.IGNORECASE)


_TRIGGER = re.compile(r"[.'\x80-\U0010ffff]")   # what can make a word special ("’" is not ASCII)
_SPECIAL = re.compile(r"\w{1,3}[.'’]|(?-i:\w{0,3}[^\x00-\x7f])|\w[\w'’]*\.\w", re.IGNORECASE)
_JOINERS = ".'’"   # inside a word when between word characters (see WORD_START)


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_"   # what ``\w`` matches in a str pattern


def _word_starts_at(text: str, at: int) -> bool:
    """WORD_START, and a word character at ``at``."""
    if at > 0 and _is_word_char(text[at - 1]):
        return False
    if at > 1 and text[at - 1] in _JOINERS and _is_word_char(text[at - 2]):
        return False
    return at < len(text) and _is_word_char(text[at])


def _start_of_word(text: str, at: int) -> int:
    """The start of the word that ``at`` is in (or ends just after)."""
    while at > 0:
        c = text[at - 1]
        if _is_word_char(c) or (c in _JOINERS and at > 1 and _is_word_char(text[at - 2])):
            at -= 1
        else:
            break
    return at


def _short_word_before(text: str, at: int) -> bool:
    """Whether the word before ``at`` may have three characters or fewer (``al.``, ``U.S.``)."""
    return at > 0 and _is_word_char(text[at - 1]) and not (
        at > 3 and all(_is_word_char(c) for c in text[at - 4:at - 1]))
