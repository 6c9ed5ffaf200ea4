"""Suggestions on the Whoosh index: completions of the last word and a did-you-mean, from the
index's unstemmed word list (``words``; an index made before it: its ``spell`` field), each with
the hits it would give; and more-like-this by words."""
from __future__ import annotations

from ..base import Filters, QueryError
from ..querying import QueryBuilder
from . import words
from .collect import SearcherCache
from .records import passage_from_stored

MAX_CANDIDATES = 2000   # words of the prefix looked at for completions


def suggest(cache: SearcherCache, queries: QueryBuilder, q: str, limit: int = 5) -> dict:
    vocabulary = word_list(cache)
    asked = q.strip().lower().split()
    out = {"completions": [], "did_you_mean": None}
    if not asked:
        return out
    last = asked[-1]
    if q[-1:].isspace() is False and last.isalnum():
        candidates = []
        for word in vocabulary.expand_prefix(last):
            candidates.append((vocabulary.frequency(word), word))
            if len(candidates) >= MAX_CANDIDATES:
                break
        candidates.sort(key=lambda c: (-c[0], c[1]))
        prefix = " ".join(asked[:-1])
        for _freq, word in candidates[:limit]:
            text = f"{prefix} {word}".strip()
            hits = hits_for(text, cache, queries)
            if hits is not None:
                out["completions"].append({"text": text, "hits": hits})
    corrected, changed = [], False
    for w in asked:
        if vocabulary.frequency(w) > 0 or not w.isalpha():
            corrected.append(w)
            continue
        fixes = vocabulary.corrections(w, maxdist=2, limit=1)
        if fixes:
            corrected.append(fixes[0])
            changed = True
        else:
            corrected.append(w)
    if changed:
        text = " ".join(corrected)
        hits = hits_for(text, cache, queries)
        if hits is not None:
            out["did_you_mean"] = {"text": text, "hits": hits}
    return out


def word_list(cache: SearcherCache) -> words.WordList:
    """The words of this searcher's generation, read once per searcher."""
    found = cache.values.get("words")
    if found is None:
        if words.LEGACY_FIELD in cache.searcher.schema:
            found = LegacyWords(cache.searcher)
        else:
            found = words.WordList(words.read(cache.values["dir"], cache.searcher.reader().generation()))
        cache.values["words"] = found
    return found


class LegacyWords:
    """``WordList``'s interface over the ``spell`` field of an index made before the word list."""

    def __init__(self, searcher):
        self.searcher, self.reader = searcher, searcher.reader()

    def frequency(self, word: str) -> int:
        return self.reader.doc_frequency(words.LEGACY_FIELD, word)

    def expand_prefix(self, prefix: str):
        for btext in self.reader.expand_prefix(words.LEGACY_FIELD, prefix):
            yield btext.decode("utf-8") if isinstance(btext, bytes) else btext

    def corrections(self, word: str, maxdist: int = 2, limit: int = 1) -> list[str]:
        return self.searcher.corrector(words.LEGACY_FIELD).suggest(word, limit=limit, maxdist=maxdist)


def hits_for(text: str, cache: SearcherCache, queries: QueryBuilder) -> int | None:
    """How many passages a search for these words would find (None: not a searchable text,
    e.g. one with a NUL character; then nothing is suggested)."""
    try:
        q = queries.build(text, cache.searcher.reader(), syntax="words")
    except QueryError:
        return None
    return len(cache.docs(q) & cache.allowed(Filters()))


def more_like(searcher, docnum: int, text: str, limit: int, allowed: set[int]) -> list[dict]:
    """The passages most like this one by its 15 best terms (Whoosh's more-like-this)."""
    out = []
    for hit in searcher.more_like(docnum, "content", text=text, top=limit, numterms=15, filter=allowed):
        record = passage_from_stored(hit.fields())
        record["score"] = round(hit.score, 4)
        record["document_title"] = hit.get("title", "")
        out.append(record)
    return out
