"""Text analysis shared by indexing and querying, so that both see the same terms.

Words keep internal dots (``3.5``, ``U.S.``) and apostrophes; possessives are dropped
(``China's`` → ``china``), dotted abbreviations are joined (``U.S.`` → ``us``), dotted identifiers
are indexed whole and by their parts (``os.path.join`` → ``os.path.join os path join``), hyphenated
words are split into their parts (``COVID-19`` → ``covid 19``, matched as a phrase at query
time), accents are folded, and words are Porter-stemmed. Stop words stay in the index so that
quoted phrases keep them; free-text queries drop them (see ``index.querying``).
"""
from __future__ import annotations

import re
import unicodedata

from whoosh.analysis import CharsetFilter, Filter, LowercaseFilter, RegexTokenizer, StemFilter
from whoosh.support.charset import accent_map

TOKEN_PATTERN = r"\w+(?:[.'’]\w+)*"
# A word of free text as people write it: hyphenated words are one word (analysed into parts).
WORD_PATTERN = r"\w+(?:[-‐‑.'’]\w+)*"

# English function words ignored in free-text queries. "us" is kept: it is a country here.
STOP_WORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself
just me more most my myself no nor not now of off on once only or other our ours ourselves out
over own same she should so some such than that the their theirs them themselves then there
these they this those through to too under until up very was we were what when where which
while who whom why will with would you your yours yourself yourselves
""".split())

_ABBREVIATION = re.compile(r"^(?:[^\W\d_]\.)+[^\W\d_]$")
_IDENTIFIER_PART = re.compile(r"\w+")


class NormalizeFilter(Filter):
    """Possessives off, apostrophes out, dotted abbreviations joined (``U.S.`` is ``us``). A dotted
    identifier (``fs.readFileSync``, ``os.path.join``) is indexed whole and, at the same position,
    as each of its parts, so that ``readFileSync`` and ``join`` find it; a query's dotted word is
    searched whole. Numbers (``3.5``, ``v1.2``) stay whole."""

    def __call__(self, tokens):
        for t in tokens:
            original = t.text
            text = original.replace("’", "'")
            if text.endswith("'s"):
                text = text[:-2]
            text = text.replace("'", "")
            if "." in text and _ABBREVIATION.match(text):
                text = text.replace(".", "")
            if not text:
                continue
            t.text = text
            parts = text.split(".") if "." in text and getattr(t, "mode", "") != "query" else ()
            if parts and not all(_IDENTIFIER_PART.fullmatch(p) and not p.isdigit() for p in parts):
                parts = ()
            chars = getattr(t, "chars", False)
            start = t.startchar if chars else 0
            yield t
            # the parts, at the whole's position (so phrases still see it); their characters are
            # those of the parts as written (an apostrophe taken out of the text is still in the source)
            for part, written in zip(parts, original.split(".")):
                t.text = part
                if chars:
                    t.startchar, t.endchar = start, start + len(written)
                    start += len(written) + 1
                yield t


class NFKCFilter(Filter):
    """Unicode compatibility forms (full-width letters, ligatures) to their plain letters."""

    def __call__(self, tokens):
        for t in tokens:
            if not t.text.isascii():
                t.text = unicodedata.normalize("NFKC", t.text)
            yield t


def text_analyzer():
    """The analyzer of every full-text field (index and query alike)."""
    return (
        RegexTokenizer(TOKEN_PATTERN)
        | NFKCFilter()
        | LowercaseFilter()
        | NormalizeFilter()
        | CharsetFilter(accent_map)
        | StemFilter(cachesize=100_000)
    )


def is_stop_word(word: str) -> bool:
    return word.lower().replace("’", "'") in STOP_WORDS
