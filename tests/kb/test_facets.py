"""The year and author facets counted in numpy (kb.facets) are the plain count: every passage of
a matching document counts once for its year and once for each of its authors; undated
documents and documents the catalog does not know count for nothing; authors most passages
first, ties by name, the top AUTHOR_FACETS."""
from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from index import DocumentCounts
from kb.facets import AUTHOR_FACETS, FacetTable

NAMES = st.sampled_from(["Ann", "Bo", "Cy", "Dee", "Eve", ""])
DOCUMENTS = st.dictionaries(st.text(min_size=1, max_size=4),
                            st.tuples(st.sampled_from(["", "1999", "2020", "2021"]), st.lists(NAMES, max_size=4)
                                      .map(tuple)), max_size=12)


def counted_by_hand(counted, per_document):
    years, authors = Counter(), Counter()
    for doc_id, count in per_document.items():
        if doc_id not in counted:
            continue
        year, names = counted[doc_id]
        if year:
            years[year] += count
        for name in names:
            authors[name] += count
    top = sorted(authors.items(), key=lambda kv: (-kv[1], kv[0]))[:AUTHOR_FACETS]
    return {"year": dict(sorted(years.items())), "author": dict(top)}


@given(counted=DOCUMENTS, data=st.data())
def test_facets_are_the_plain_count(counted, data):
    ids = sorted(counted) + ["unknown"]
    per_document = data.draw(st.dictionaries(st.sampled_from(ids), st.integers(1, 50), max_size=len(ids)))
    table = FacetTable(counted)
    got = table.facets(per_document)
    assert got == counted_by_hand(counted, per_document)
    codes = np.array(sorted(ids.index(d) for d in per_document), dtype=np.int64)   # as the index answers
    as_arrays = DocumentCounts(ids, codes, np.array([per_document[ids[c]] for c in codes], dtype=np.int64))
    assert dict(as_arrays) == per_document
    assert table.facets(as_arrays) == got == table.facets(as_arrays)   # the second: names translated once
    assert list(got["year"]) == sorted(got["year"])
    assert list(got["author"]) == list(counted_by_hand(counted, per_document)["author"])


def test_only_the_top_authors_are_listed():
    counted = {f"d{i}": ("2020", (f"author {i:03d}",)) for i in range(AUTHOR_FACETS + 20)}
    per_document = {f"d{i}": 1 + i % 3 for i in range(AUTHOR_FACETS + 20)}
    authors = FacetTable(counted).facets(per_document)["author"]
    assert len(authors) == AUTHOR_FACETS
    assert authors == counted_by_hand(counted, per_document)["author"]


def test_nothing_matched_or_nothing_known():
    assert FacetTable({}).facets({"x": 3}) == {"year": {}, "author": {}}
    assert FacetTable({"a": ("2020", ("Ann",))}).facets({}) == {"year": {}, "author": {}}
