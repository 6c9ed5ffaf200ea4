"""The streaming merge writes what Whoosh's own merge writes: same documents, lengths, columns,
term table and postings, byte for byte, with deletions dropped."""
import random

import numpy as np
import pytest
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec
from whoosh.filedb.filestore import FileStorage
from whoosh.reading import SegmentReader

from index.schema import make_schema
from index.whoosh import segment_merge
from index.whoosh.flat_postings import FlatPostings, FlatPostingsWriter
from index.whoosh.posting_arrays import decode_postings
from index.whoosh.records import document_record

WORDS = ("cell gene protein tumour growth signal receptor dose trial cohort risk model "
         "blood brain liver heart virus vaccine immune response").split()


def _record(rng, n):
    doc = f"d{n // 3}"
    if n % 9 == 8:   # now and then a document's record, with its card
        return document_record({"id": doc, "title": rng.choice(WORDS), "text": "its text", "authors": [doc]})
    return {
        "id": f"{doc}:{n % 3}", "kind": "p", "document_id": doc, "ordinal": n % 3,
        "title": " ".join(rng.choices(WORDS, k=rng.randint(1, 6))),
        "section": " ".join(rng.choices(WORDS, k=rng.randint(0, 3))),
        "content": " ".join(rng.choices(WORDS, k=rng.randint(1, 200))),
        "text": f"passage {n}", "tags": ",".join(rng.sample(["a", "b", "c-d", "e"], rng.randint(0, 3))),
    }


def _segmented_index(path, seed, segments=6, per_segment=70):
    """An index of several segments, each with some deletions (of its own or earlier documents)."""
    rng = random.Random(seed)
    ix = whoosh_index.create_in(path, make_schema())
    n = 0
    for _ in range(segments):
        w = ix.writer()
        for _ in range(per_segment):
            w.add_document(**_record(rng, n))
            n += 1
        for _ in range(rng.randint(0, 12)):
            w.delete_by_term("id", f"d{rng.randrange(n // 3)}:{rng.randrange(3)}")
        w.commit(merge=False)
    return ix


def _merged_by_whoosh(ix, segments):
    def mergetype(writer, current):
        for seg in segments:
            reader = SegmentReader(writer.storage, writer.schema, seg)
            writer.add_reader(reader)
            reader.close()
        return [seg for seg in current if seg not in segments]
    ix.writer().commit(mergetype=mergetype)


def _merged_by_stream(ix, segments):
    def mergetype(writer, current):
        kept = [seg for seg in current if seg not in segments]
        return kept + [segment_merge.merge(writer.storage, writer.schema, segments, writer.indexname)]
    ix.writer().commit(mergetype=mergetype)


def _contents(ix):
    """Everything a merged segment holds, the postings as their raw bytes."""
    with ix.reader() as r:
        (seg,) = r.leaf_readers()
        reader = seg[0]
        fields = sorted(ix.schema.names())
        docs = [(d, stored, [reader.doc_field_length(d, f) for f in fields]) for d, stored in reader.iter_docs()]
        columns = {f: list(reader.column_reader(f)) for f in ("document_id", "ordinal", "card")}
        totals = {f: reader.field_length(f) for f in fields}
        terms, postfile = reader._terms, reader._terms._postfile
        postings = []
        for (name, btext), info in terms.items():
            offset, (length,) = info.extent()   # Whoosh reads the length back as a 1-tuple
            stats = (info.weight(), info.doc_frequency(), info.min_length(), info.max_length(),
                     info.max_weight(), info.min_id(), info.max_id(), offset, length)
            postings.append((name, btext, stats, postfile.get(offset, length)))
        return reader.doc_count_all(), docs, columns, totals, postings


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_streaming_merge_writes_what_whoosh_writes(tmp_path, seed):
    results = []
    for how, merge in (("whoosh", _merged_by_whoosh), ("stream", _merged_by_stream)):
        (tmp_path / how).mkdir()
        ix = _segmented_index(tmp_path / how, seed)
        merge(ix, ix._segments())
        results.append(_contents(ix))
    by_whoosh, by_stream = results
    assert by_stream[0] == by_whoosh[0] < 6 * 70   # deletions were dropped
    for part, theirs, ours in zip(("docs", "columns", "totals", "postings"), by_whoosh[1:], by_stream[1:]):
        assert ours == theirs, part
    assert any(len(raw) > 1000 for *_, raw in by_stream[4])   # postings of several blocks were merged
    assert b'"authors":["d' in b"".join(by_stream[2]["card"])   # cards were copied


def test_a_merged_index_answers_as_before(tmp_path):
    ix = _segmented_index(tmp_path, seed=4, segments=12, per_segment=100)
    with ix.searcher() as s:
        before = {w: sorted(s.stored_fields(d)["id"] for d in s.document_numbers(content=w)) for w in WORDS}
    segments = ix._segments()
    _merged_by_stream(ix, segments[:10])
    assert len(ix._segments()) == 3
    with ix.searcher() as s:
        after = {w: sorted(s.stored_fields(d)["id"] for d in s.document_numbers(content=w)) for w in WORDS}
    assert after == before


def test_live_docmap_numbers_the_live_documents_in_order(tmp_path):
    ix = _segmented_index(tmp_path, seed=5, segments=1, per_segment=40)
    (seg,) = ix._segments()
    deleted = set(seg.deleted_docs())
    docmap = segment_merge.live_docmap(seg)
    assert [d for d in docmap if d >= 0] == list(range(40 - len(deleted)))
    assert {i for i, d in enumerate(docmap) if d < 0} == deleted


def test_lists_longer_than_a_block_are_also_written_flat(tmp_path):
    """``flat_postings``: every list of more than one block is there, equal to its decoded blocks
    (docnums and weights, float for float); a list of one block is not."""
    ix = _segmented_index(tmp_path, seed=6)
    _merged_by_stream(ix, ix._segments())
    with ix.reader() as r:
        ((reader, _),) = r.leaf_readers()
        flat = FlatPostings.open(reader)
        lengths = {True: 0, False: 0}
        for (name, btext), info in reader._terms.items():
            m = reader.postings(name, btext)
            found = flat.postings(m._startoffset)
            long = info.doc_frequency() > 128
            lengths[long] += 1
            assert (found is not None) == long, (name, btext)
            if long:
                ids, weights = decode_postings(m)
                assert found[0].tolist() == ids.tolist() and found[1].tolist() == weights.tolist()
        assert lengths[True] > 5 and lengths[False] > 5


@pytest.mark.parametrize("weights, kind", [([1.0] * 200, "ones"), ([1.0, 3.0, 255.0, 7.0] * 50, "bytes"),
                                           ([1.0, 2.5, 300.0, 0.125] * 50, "floats")])
def test_flat_weights_are_kept_exactly_in_their_smallest_form(tmp_path, weights, kind):
    storage = FileStorage(str(tmp_path))
    segment = W3Codec().new_segment(storage, "MAIN")
    writer = FlatPostingsWriter(segment, storage, min_postings=129)
    ids = list(range(3, 3 + 4 * 200, 4))
    writer.add(1000, ids, weights)
    writer.add(2000, ids[:128], weights[:128])   # one block: not written
    writer.add(70_000, [5, 2**32 - 1] * 100, weights)
    writer.close()
    name = segment.make_filename(".flat")
    flat = FlatPostings(storage.open_file(name), storage.file_length(name))
    found_ids, found_weights = flat.postings(1000)
    assert found_ids.tolist() == ids and found_weights.tolist() == weights
    assert found_weights.dtype == np.float64 and found_ids.dtype == np.int64
    assert flat.postings(2000) is None and flat.postings(999) is None and flat.postings(10**9) is None
    assert flat.postings(70_000)[0].tolist() == [5, 2**32 - 1] * 100
    size = storage.file_length(name)
    assert size < 2 * 200 * 4 + {"ones": 0, "bytes": 2 * 200, "floats": 2 * 800}[kind] + 200
