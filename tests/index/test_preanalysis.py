"""A passage analysed where it was prepared (an ingest worker) is indexed exactly as the writer
would have indexed it: the same postings, positions, lengths, stored fields and word list."""
from __future__ import annotations

import copy
import pickle
import random

from whoosh.analysis import SimpleAnalyzer

from helpers.records import doc, live_counts, passage
from index.base import SearchRequest
from index.schema import make_schema
from index.text.memo_analyzer import MemoAnalyzer
from index.whoosh import preanalysis
from index.whoosh.engine import WhooshIndex

WORDS = ("Vaccine vaccines vaccination U.S. O'Brien naïve ﬁnance fs.readFileSync COVID-19 1.5 "
         "health diplomacy Science science's treaty talks — “quoted” e.g. ozone Ozone OZONE").split()


def _items(seed: int, documents: int = 12):
    rng = random.Random(seed)
    items = []
    for d in range(documents):
        title = " ".join(rng.choices(WORDS, k=rng.randint(0, 5)))
        passages = []
        for n in range(rng.randint(1, 4)):
            p = passage(f"d{d}", n, " ".join(rng.choices(WORDS, k=rng.randint(1, 60))))
            p["section"] = " ".join(rng.choices(WORDS, k=rng.randint(0, 3)))
            passages.append(p)
        items.append((doc(f"d{d}", title), passages))
    return items


def _ids(ix: WhooshIndex, q: str) -> list[str]:
    return [h["id"] for h in ix.search(SearchRequest(q=q)).hits]


def _contents(ix: WhooshIndex):
    reader = ix.searcher().reader()
    fields = sorted(ix.schema.names())
    postings = list(reader.iter_postings())
    docs = [(stored, [reader.doc_field_length(d, f) for f in fields]) for d, stored in reader.iter_docs()]
    counts = live_counts(ix)
    return postings, docs, dict(counts.passages), dict(counts.occurrences)


def test_passages_analysed_in_advance_are_indexed_as_the_writer_would(tmp_path):
    for seed in (1, 2, 3):
        items = _items(seed)
        by_writer, in_advance = WhooshIndex(tmp_path / f"w{seed}"), WhooshIndex(tmp_path / f"a{seed}")
        by_writer.replace_documents(copy.deepcopy(items))
        prepared = copy.deepcopy(items)
        for record, passages in prepared:
            in_advance.prepare_passages(record, passages)
        assert all(preanalysis.KEY in p for _, ps in prepared for p in ps)
        in_advance.replace_documents(prepared)
        assert _contents(in_advance) == _contents(by_writer)
        assert not any(preanalysis.KEY in p for _, ps in prepared for p in ps)   # taken, not kept


def test_the_writer_uses_the_analysis_it_was_given(tmp_path):
    """Proof that the fast path runs: an analysis of other words is what gets indexed (the check
    that the text is the one analysed is made on the value the worker sends with it)."""
    ix = WhooshIndex(tmp_path / "kb")
    record, passages = doc("a", "Title"), [passage("a", 1, "Ozone treaty talks.")]
    ix.prepare_passages(record, passages)
    fields, occurrences = pickle.loads(passages[0][preanalysis.KEY])
    value, _ = fields["content"]
    other = preanalysis.analysed(ix.schema["content"], ix.schema["content"].analyzer, "Fisheries")
    fields["content"] = (value, other)
    passages[0][preanalysis.KEY] = pickle.dumps((fields, occurrences))
    ix.replace_documents([(record, passages)])
    assert _ids(ix, "fisheries") == ["a:1"]
    assert _ids(ix, "ozone") == []
    assert ix.get_passage("a:1")["text"] == "Ozone treaty talks."


def test_a_passage_changed_after_its_analysis_is_analysed_again(tmp_path):
    ix = WhooshIndex(tmp_path / "kb")
    record, passages = doc("a", "Title"), [passage("a", 1, "Ozone treaty talks.")]
    ix.prepare_passages(record, passages)
    passages[0]["text"] = "Fisheries council."
    ix.replace_documents([(record, passages)])
    assert _ids(ix, "fisheries") == ["a:1"] and _ids(ix, "ozone") == []
    assert "ozone" not in live_counts(ix).passages and live_counts(ix).passages["fisheries"] == 1


def test_only_fields_analysed_as_the_code_analyses_take_the_worker_analysis():
    code = make_schema()
    assert preanalysis.usable(make_schema(), code) == ("content", "title", "section")
    other = make_schema()
    other["title"].analyzer = SimpleAnalyzer()
    assert preanalysis.usable(other, code) == ("content", "section")
    other.remove("section")
    assert preanalysis.usable(other, code) == ("content",)


def test_the_analysis_is_whooshs_own_for_every_text_field():
    """Term bytes, frequency, weight and encoded positions, as Whoosh's ``FieldType.index`` with the
    plain analyzer gives them (the memo's fast path, and its fallback for dotted identifiers)."""
    schema, memos = make_schema(), {}
    rng = random.Random(7)
    for _ in range(200):
        text = " ".join(rng.choices(WORDS + ["the", "of", "and", "a"], k=rng.randint(0, 80)))
        for name in preanalysis.FIELDS:
            field = schema[name]
            memo = memos.setdefault(name, MemoAnalyzer(field.analyzer))
            assert preanalysis.analysed(field, memo, text) == list(field.index(text)), (name, text)
