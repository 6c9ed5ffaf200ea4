"""Decoded postings of recently used terms, kept in memory between queries."""
from __future__ import annotations

import threading
from collections import OrderedDict

POSTING_BYTES = 13   # a docnum (8), a term weight (4) and a length code (1)
ENTRY_OVERHEAD = 48  # an entry's key, arrays and links, counted as this many postings (~600 bytes)


class PostingsCache:
    """Decoded postings (docnums, term weights, length codes) of recently used terms, per
    segment. Segments never change once written, so entries stay valid across commits; the
    cache holds at most ``max_postings`` postings (about 13 bytes each), least recently used
    first out. Scores are not cached: they depend on collection statistics that commits change."""

    def __init__(self, max_postings: int = 4_000_000):
        self.max_postings = max_postings
        self._entries: OrderedDict = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key):
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self.hits += 1
            else:
                self.misses += 1
            return entry

    def put(self, key, entry) -> None:
        size = len(entry[0]) + ENTRY_OVERHEAD   # a filter on many documents puts an entry per id
        if size > self.max_postings // 4:
            return
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = entry
            self._size += size
            while self._size > self.max_postings:
                _, old = self._entries.popitem(last=False)
                self._size -= len(old[0]) + ENTRY_OVERHEAD
