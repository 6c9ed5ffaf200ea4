"""Records the index tests write (a document, its passages, a batch of them) and the word counts
they check against a recount."""
from __future__ import annotations

from index import storage
from index.whoosh import words
from index.whoosh.engine import WhooshIndex


def doc(doc_id, title="A title"):
    return {"id": doc_id, "title": title, "text": "", "source": "", "tags": [], "metadata": {},
            "ingested_at": ""}


def passage(doc_id, n, text):
    return {"id": f"{doc_id}:{n}", "document_id": doc_id, "ordinal": n, "section": "", "text": text,
            "start": 0, "end": len(text), "tags": [], "keywords": [], "evidence": []}


def live_counts(ix: WhooshIndex) -> words.WordCounts:
    """The word list as the searcher of the live generation reads it."""
    s = ix.searcher()
    return words.read(storage.live_dir(ix.home), s.reader().generation())


def recount(ix: WhooshIndex) -> words.WordCounts:
    """The same counts made from scratch from every stored passage."""
    counts = words.WordCounts()
    for p in ix.iter_passages():
        title = ix.get_document(p["document_id"])["title"]
        counts.add(words.passage_words(title, p["section"], p["text"]))
    return counts


def positive(counter) -> dict:
    return {w: n for w, n in counter.items() if n > 0}


def batch(first: int, count: int, version: int = 1) -> list:
    """Documents d<first>.. of two passages each, their text saying which version they are."""
    return [(doc(f"d{i}", f"Title {i}"),
             [passage(f"d{i}", n, f"Version {version} of passage {n} on fisheries {i}.") for n in (1, 2)])
            for i in range(first, first + count)]
