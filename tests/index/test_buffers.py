"""Whoosh reads memory-mapped segments in place (``index.whoosh.buffers``): a searcher holds no
copy of them, and every read, seek and tell answers as Whoosh's ``BytesIO`` did."""
from __future__ import annotations

import io
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import index as whoosh_index
from whoosh.filedb import structfile

from helpers.records import batch
from index import storage
from index.whoosh import buffers
from index.whoosh.engine import WhooshIndex

OPS = st.lists(st.one_of(
    st.tuples(st.just("read"), st.integers(-1, 300)),
    st.tuples(st.just("seek"), st.integers(-20, 3000), st.sampled_from([0, 1, 2])),
    st.tuples(st.just("tell")),
    st.tuples(st.just("readline")),
), max_size=40)


def _apply(f, op):
    try:
        if op[0] == "read":
            return f.read(op[1])
        if op[0] == "seek":
            return f.seek(op[1], op[2])
        return f.tell() if op[0] == "tell" else f.readline()
    except ValueError:
        return ValueError


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=2000), ops=OPS)
def test_reads_in_place_answer_as_bytesio(data, ops):
    ours = io.BufferedReader(buffers.MemoryRaw(memoryview(data)), buffer_size=64)
    theirs = io.BytesIO(data)
    for op in ops:
        assert _apply(ours, op) == _apply(theirs, op), op


def _copied_by_a_searcher(folder) -> int:
    """Bytes allocated (and still held) by opening a searcher and reading a posting list."""
    ix = whoosh_index.open_dir(folder)
    tracemalloc.start()
    try:
        s = ix.searcher()
        (term,) = [t.text for t in ix.schema["content"].analyzer("fisheries")]
        assert s.doc_frequency("content", term) == 4000
        held, _ = tracemalloc.get_traced_memory()
        s.close()
        return held
    finally:
        tracemalloc.stop()


def test_a_searcher_holds_no_copy_of_the_segments(tmp_path, monkeypatch):
    ix = WhooshIndex(tmp_path / "kb")
    ix.replace_documents(batch(0, 2000))
    folder = storage.live_dir(ix.home)
    segment_bytes = max(p.stat().st_size for p in folder.glob("*.seg"))
    assert segment_bytes > 300_000
    assert _copied_by_a_searcher(folder) < segment_bytes / 10
    monkeypatch.setattr(structfile.BufferFile, "__init__", buffers.COPYING_INIT)   # Whoosh's own
    assert _copied_by_a_searcher(folder) > segment_bytes / 2


@pytest.mark.parametrize("offset, whence", [(-1, 0), (0, 3)])
def test_a_bad_seek_is_refused_as_bytesio_refuses_it(offset, whence):
    for f in (buffers.MemoryRaw(b"abc"), io.BytesIO(b"abc")):
        with pytest.raises(ValueError):
            f.seek(offset, whence)
