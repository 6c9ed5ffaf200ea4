"""An analyzer that gives exactly the tokens of another, remembering what its filters make of
each word.

Whoosh runs every token through a chain of generator filters (lowercase, accents, stemming...),
about 15 µs a token in Python; highlighting ten hits re-analyses ten passages per query. When
every filter maps one token to at most one token by its text alone, the chain's result for a
word never changes, so it is computed once per word and then looked up. With any other filter
in the chain (stop words, splitting, shingles...) the wrapped analyzer simply runs as it is.
"""
from __future__ import annotations

from whoosh.analysis import CharsetFilter, LowercaseFilter, StemFilter, Token
from whoosh.analysis.analyzers import CompositeAnalyzer

from .analysis import NFKCFilter, NormalizeFilter

# filters whose output for a token depends on its text alone: one token in, at most one out
PER_WORD = (LowercaseFilter, CharsetFilter, StemFilter, NFKCFilter, NormalizeFilter)
_DROPPED = object()


class MemoAnalyzer:
    def __init__(self, analyzer, max_words: int = 200_000):
        self.analyzer = analyzer
        items = list(analyzer.items) if isinstance(analyzer, CompositeAnalyzer) else []
        self.exact = bool(items) and all(type(f) in PER_WORD for f in items[1:])
        self.tokenizer, self.filters = (items[0], items[1:]) if items else (None, [])
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
        words = self._words[no_morph]
        for t in self.tokenizer(value, **kwargs):
            text = words.get(t.text)
            if text is None:
                text = self._learn(t.text, no_morph)
            if text is _DROPPED:
                continue
            t.text = text
            yield t

    def _learn(self, word: str, no_morph: bool):
        stream = iter([Token(text=word, stopped=False, boost=1.0)])
        for f in self.filters:
            if not (no_morph and getattr(f, "is_morph", False)):
                stream = f(stream)
        out = [t.text for t in stream]
        text = out[0] if out else _DROPPED
        words = self._words[no_morph]
        if len(words) >= self.max_words:
            words.clear()
        words[word] = text
        return text
