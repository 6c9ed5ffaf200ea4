"""Where a query's terms occur in a passage, without analysing every word of it.

Highlighting ten hits used to run the analyzer over all ~200 words of each passage to find the
few that match: two thirds of a short query's time. Every word whose term is ``vaccin`` starts
with ``vacc`` (case aside), so one regular expression of such prefixes, anchored at word starts,
finds the candidates in C; only those are analysed and compared. That holds for kb's own chain
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
        candidates = _candidates(terms)
        if candidates is None:
            return None
        found = []
        terms_of, token = self.memo.word_terms, self._token
        for m in candidates.finditer(text):   # case aside: offsets in the text as it is
            word = token(text, m.start())   # a candidate starts with a word character: a word
            for start, end, term in terms_of(word.group()):   # a dotted identifier: whole and parts
                if term in terms:
                    found.append((word.start() + start, word.start() + end, term))
        return found


@lru_cache(maxsize=1024)
def _candidates(terms: frozenset) -> re.Pattern | None:
    """Word starts that may be one of ``terms``, case aside: each term's first letters (all but
    its last two, at most four), and any word with an apostrophe or a dot among its first four
    characters (``O'Brien``, ``U.S.``: its term lacks them), or a character that is not ASCII
    (folding may change it), and any dotted word (``fs.readFileSync``, ``China's.cells``: its
    parts are terms too)."""
    if not terms or not all(t.isascii() and t for t in terms):
        return None
    prefixes = {re.escape(term[:min(PREFIX_CHARS, max(1, len(term) - 2))]) for term in terms}
    alternatives = "|".join(sorted(prefixes, key=len, reverse=True))
    n = PREFIX_CHARS - 1
    return re.compile(f"{WORD_START}(?=\\w)(?:{alternatives}|\\w{{1,{n}}}[.'’]|(?-i:\\w{{0,{n}}}[^\\x00-\\x7f])"
                      f"|\\w[\\w'’]*\\.\\w)", re.IGNORECASE)
