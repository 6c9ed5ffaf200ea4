"""Suggestions on the Whoosh index: completions of the last word and a did-you-mean, from the
unstemmed ``spell`` field, each with the hits it would give; and more-like-this by words."""
from __future__ import annotations

from ..base import Filters, QueryError
from ..querying import QueryBuilder
from .collect import SearcherCache
from .records import passage_from_stored

MAX_CANDIDATES = 2000   # words of the prefix looked at for completions


def suggest(cache: SearcherCache, queries: QueryBuilder, q: str, limit: int = 5) -> dict:
    s = cache.searcher
    reader = s.reader()
    words = q.strip().lower().split()
    out = {"completions": [], "did_you_mean": None}
    if not words:
        return out
    last = words[-1]
    if q[-1:].isspace() is False and last.isalnum():
        candidates = []
        for btext in reader.expand_prefix("spell", last):
            word = btext.decode("utf-8") if isinstance(btext, bytes) else btext
            candidates.append((reader.doc_frequency("spell", word), word))
            if len(candidates) >= MAX_CANDIDATES:
                break
        candidates.sort(key=lambda c: (-c[0], c[1]))
        prefix = " ".join(words[:-1])
        for _freq, word in candidates[:limit]:
            text = f"{prefix} {word}".strip()
            hits = hits_for(text, cache, queries)
            if hits is not None:
                out["completions"].append({"text": text, "hits": hits})
    corrector = s.corrector("spell")
    corrected, changed = [], False
    for w in words:
        if reader.doc_frequency("spell", w) > 0 or not w.isalpha():
            corrected.append(w)
            continue
        fixes = corrector.suggest(w, limit=1, maxdist=2)
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
