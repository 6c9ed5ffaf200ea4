"""An analyzer that gives exactly the tokens of another, remembering what its filters make of
each word.

Whoosh runs every token through a chain of generator filters (lowercase, accents, stemming...),
about 15 µs a token in Python; highlighting ten hits re-analyses ten passages per query. When
every filter maps one token to at most one token by its text alone, the chain's result for a
word never changes, so it is computed once per word and then looked up. With any other filter
in the chain (stop words, splitting, shingles...) the wrapped analyzer simply runs as it is.
"""
from __future__ import annotations

import re
from itertools import accumulate

from whoosh.analysis import CharsetFilter, LowercaseFilter, RegexTokenizer, StemFilter, Token
from whoosh.analysis.analyzers import CompositeAnalyzer

from .analysis import NFKCFilter, NormalizeFilter

# filters whose output for a token depends on its text alone (NormalizeFilter may add a dotted
# identifier's parts: remembered as a tuple, the whole first, all at the word's position)
PER_WORD = (LowercaseFilter, CharsetFilter, StemFilter, NFKCFilter, NormalizeFilter)
_DROPPED = object()


class MemoAnalyzer:
    def __init__(self, analyzer, max_words: int = 200_000):
        self.analyzer = analyzer
        items = list(analyzer.items) if isinstance(analyzer, CompositeAnalyzer) else []
        self.exact = bool(items) and all(type(f) in PER_WORD for f in items[1:])
        self.tokenizer, self.filters = (items[0], items[1:]) if items else (None, [])
        plain_regex = type(self.tokenizer) is RegexTokenizer and not self.tokenizer.gaps
        self._finditer = self.tokenizer.expression.finditer if plain_regex else None
        self._split = None
        if self.exact and plain_regex:   # the pattern as one capturing group (its own made silent)
            pattern = self.tokenizer.expression
            if pattern.groups == 0:
                self._split = re.compile(f"({pattern.pattern})", pattern.flags).split
        self.max_words = max_words
        self._words: tuple[dict, dict] = ({}, {})  # without / with no_morph

    def __getattr__(self, name):
        if name.startswith("__") or name in ("analyzer", "exact", "tokenizer", "filters"):
            raise AttributeError(name)
        return getattr(self.analyzer, name)

    def __call__(self, value, no_morph=False, **kwargs):
        if not self.exact:
            return self.analyzer(value, no_morph=no_morph, **kwargs)
        return self._tokens(value, bool(no_morph), kwargs)

    def _tokens(self, value, no_morph, kwargs):
        if self._finditer is None or not kwargs.get("tokenize", True):
            return self._filtered(self.tokenizer(value, **kwargs), no_morph)
        return self._regex_tokens(value, no_morph, **kwargs)

    def _filtered(self, tokens, no_morph):
        words = self._words[no_morph]
        for t in tokens:
            text = words.get(t.text)
            if text is None:
                text = self._learn(t.text, no_morph)
            if text is _DROPPED:
                continue
            if type(text) is tuple:   # a query's dotted word is searched whole
                if getattr(t, "mode", "") != "query":
                    yield from _with_parts(t, text, t.text)
                    continue
                text = text[0]
            t.text = text
            yield t

    def _regex_tokens(self, value, no_morph, positions=False, chars=False, keeporiginal=False,
                      removestops=True, start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        """``RegexTokenizer.__call__`` and the filters in one loop (the same Token, the same values)."""
        assert isinstance(value, str), f"{value!r} is not unicode"
        words = self._words[no_morph]
        learn = self._learn
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for pos, match in enumerate(self._finditer(value)):
            raw = match.group(0)
            text = words.get(raw)
            if text is None:
                text = learn(raw, no_morph)
            if text is _DROPPED:
                continue
            t.text = text
            t.boost = 1.0
            if keeporiginal:
                t.original = raw
            t.stopped = False
            if positions:
                t.pos = start_pos + pos
            if chars:
                t.startchar = start_char + match.start()
                t.endchar = start_char + match.end()
            if type(text) is tuple:
                if mode != "query":
                    yield from _with_parts(t, text, raw)
                    continue
                t.text = text[0]
            yield t

    def terms_and_spans(self, text: str) -> tuple[list, list, list] | None:
        """The index terms of ``text`` (None where a filter dropped the word) with the start and
        end of each, one entry per word, so a word's position is its place in the lists. None
        when the chain is not memoizable: then use ``__call__``.

        For highlighting: the tokens of ``__call__(text, positions=True, chars=True)`` without a
        Token or a match object per word. ``re.split`` with the pattern captured alternates
        gaps and words; the running sum of their lengths gives every offset."""
        if self._split is None:
            return None
        parts = self._split(text)
        raw = parts[1::2]
        ends = list(accumulate(map(len, parts)))
        words = self._words[False]
        terms = list(map(words.get, raw))
        if None in terms:
            terms = [t if t is not None else self._learn(w, False) for t, w in zip(terms, raw)]
        if _DROPPED in terms:
            terms = [None if t is _DROPPED else t for t in terms]
        if any(type(t) is tuple for t in terms):
            return None   # a dotted identifier: several terms for one word
        return terms, ends[0:-1:2], ends[1::2]

    def term(self, word: str) -> str | None:
        """The term of one word (None: a filter drops it); exact chains only."""
        text = self._words[False].get(word)
        if text is None:
            text = self._learn(word, False)
        return None if text is _DROPPED else text[0] if type(text) is tuple else text

    def word_terms(self, word: str) -> list[tuple[int, int, str]]:
        """(start, end, term) within ``word`` of each of its index terms: one, or a dotted
        identifier's whole and parts; exact chains only."""
        text = self._words[False].get(word)
        if text is None:
            text = self._learn(word, False)
        if text is _DROPPED:
            return []
        if type(text) is not tuple:
            return [(0, len(word), text)]
        out, start = [(0, len(word), text[0])], 0
        for term, piece in zip(text[1:], word.split(".")):
            out.append((start, start + len(piece), term))
            start += len(piece) + 1
        return out

    def _learn(self, word: str, no_morph: bool):
        stream = iter([Token(text=word, stopped=False, boost=1.0)])
        for f in self.filters:
            if not (no_morph and getattr(f, "is_morph", False)):
                stream = f(stream)
        out = [t.text for t in stream]
        text = (out[0] if len(out) == 1 else tuple(out)) if out else _DROPPED
        words = self._words[no_morph]
        if len(words) >= self.max_words:
            words.clear()
        words[word] = text
        return text


def _with_parts(t, texts: tuple, raw: str):
    """A word that is several terms (``os.path.join``: whole, then parts), at one position; each
    part's characters are its share of the word as written."""
    whole = (t.startchar, t.endchar) if t.chars else None
    t.text = texts[0]
    yield t
    start = whole[0] if whole else 0
    for text, piece in zip(texts[1:], raw.split(".")):
        t.text = text
        if whole:
            t.startchar, t.endchar = start, start + len(piece)
            start += len(piece) + 1
        yield t
