"""The year and author facets of a search, counted in numpy: the index gives the matching
passages per document, and each document's year and authors are looked up in arrays made once
per reading of the catalog. A one-word query can match most documents of a knowledge base, and a
loop over them in Python cost as much as the query's scoring (issue #18)."""
from __future__ import annotations

from collections.abc import Mapping
from itertools import repeat

import numpy as np

from index import DocumentCounts

AUTHOR_FACETS = 50   # authors listed in the facets, most passages first


class FacetTable:
    """Each document's year (``""``: none, not counted) and authors, as codes into sorted names."""

    def __init__(self, counted: dict[str, tuple[str, tuple[str, ...]]]):
        self.position = {doc_id: i for i, doc_id in enumerate(counted)}
        self._translated: tuple | None = None   # (the index's names, what _by_names makes of them)
        self.years = sorted({year for year, _ in counted.values() if year})
        self.authors = sorted({name for _, names in counted.values() for name in names})
        year_code = {year: i for i, year in enumerate(self.years)}
        author_code = {name: i for i, name in enumerate(self.authors)}
        self.year_of = np.array([year_code.get(year, -1) for year, _ in counted.values()], dtype=np.int64)
        lengths = [len(names) for _, names in counted.values()]
        self.author_start = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=self.author_start[1:])
        self.author_of = np.array([author_code[name] for _, names in counted.values() for name in names],
                                  dtype=np.int64)

    def facets(self, per_document: Mapping[str, int]) -> dict[str, dict[str, int]]:
        """``year`` (by year) and ``author`` (most passages first, then by name; the top
        ``AUTHOR_FACETS``) from the passage count of each matching document."""
        if not self.years and not self.authors:   # nothing to count (no document has either)
            return {"year": {}, "author": {}}
        if isinstance(per_document, DocumentCounts):
            year_of, author_start, author_count = self._by_names(per_document.names)
            codes, counts = per_document.codes, per_document.counts
            years, starts, lengths = year_of[codes], author_start[codes], author_count[codes]
        else:
            n = len(per_document)
            where = np.fromiter(map(self.position.get, per_document, repeat(-1)), dtype=np.int64, count=n)
            counts = np.fromiter(per_document.values(), dtype=np.int64, count=n)
            known = where >= 0
            where, counts = where[known], counts[known]
            years, starts = self.year_of[where], self.author_start[where]
            lengths = self.author_start[where + 1] - starts
        return {"year": self._years(years, counts), "author": self._authors(starts, lengths, counts)}

    def _by_names(self, names: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The year code, first author and number of authors of each of the index's document names
        (-1, 0, 0: not known here), made once per list of names (the index keeps one list per
        searcher), so that a search looks each matching document up once."""
        translated = self._translated
        if translated is None or translated[0] is not names:
            where = np.fromiter(map(self.position.get, names, repeat(-1)), dtype=np.int64, count=len(names))
            known = where >= 0
            starts = self.author_start[where]
            translated = self._translated = (names, np.where(known, self.year_of[where], -1),
                                             np.where(known, starts, 0),
                                             np.where(known, self.author_start[where + 1] - starts, 0))
        return translated[1:]

    def _years(self, codes: np.ndarray, counts: np.ndarray) -> dict[str, int]:
        if not self.years:
            return {}
        dated = codes >= 0
        totals = np.bincount(codes[dated], weights=counts[dated], minlength=len(self.years))
        return {self.years[i]: int(totals[i]) for i in np.flatnonzero(totals).tolist()}

    def _authors(self, starts: np.ndarray, lengths: np.ndarray, counts: np.ndarray) -> dict[str, int]:
        if not self.authors or not lengths.sum():
            return {}
        # the positions of every matching document's authors in author_of, document after document
        offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(lengths.sum())
        totals = np.bincount(self.author_of[offsets], weights=np.repeat(counts, lengths),
                             minlength=len(self.authors))
        named = np.flatnonzero(totals)
        top = named[np.lexsort((named, -totals[named]))][:AUTHOR_FACETS]   # codes sort as the names do
        return {self.authors[i]: int(totals[i]) for i in top.tolist()}
