"""The vector store beside the Whoosh index: atomic segments, fingerprints, compaction."""
from __future__ import annotations

import pytest

np = pytest.importorskip("numpy", reason="the semantic extra is not installed")

from index.vectors.store import VectorStore, fingerprint  # noqa: E402

MODEL = "test-model"


def unit(*values):
    v = np.asarray(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_segments_round_trip_as_float16_unit_rows(tmp_path):
    store = VectorStore(tmp_path / "vectors")
    store.add(["d:1", "d:2"], ["k1", "k2"], [unit(1, 0, 0), unit(0, 3, 4)], MODEL)
    table = store.load(MODEL)
    row = table.lookup("d:2", "k2")
    assert table.matrix.shape == (2, 3)
    assert table.matrix[row] == pytest.approx([0, 0.6, 0.8], abs=1e-3)
    assert table.lookup("d:2", "another-fingerprint") is None      # content changed: not embedded
    assert table.lookup("d:3", "k1") is None
    assert store.load("another-model").rows == {}                   # vectors of another model never mix


def test_a_later_segment_wins(tmp_path):
    store = VectorStore(tmp_path / "vectors")
    store.add(["d:1"], ["old"], [unit(1, 0)], MODEL)
    store.add(["d:1"], ["new"], [unit(0, 1)], MODEL)
    table = store.load(MODEL)
    assert table.lookup("d:1", "old") is None
    assert table.matrix[table.lookup("d:1", "new")] == pytest.approx([0, 1])


def test_a_half_written_segment_is_never_read(tmp_path):
    store = VectorStore(tmp_path / "vectors")
    store.add(["d:1"], ["k"], [unit(1, 0)], MODEL)
    # what a kill during a write leaves: the temporary file, not yet renamed into place
    (tmp_path / "vectors" / ".seg-00000002.npz.999.tmp").write_bytes(b"PK\x03\x04 truncated")
    assert list(store.load(MODEL).rows) == ["d:1"]
    store.add(["d:2"], ["k"], [unit(0, 1)], MODEL)                  # and writing goes on
    assert sorted(store.load(MODEL).rows) == ["d:1", "d:2"]
    assert not list((tmp_path / "vectors").glob(".*.tmp"))           # the next writer cleared the debris


def test_compaction_keeps_live_vectors_only(tmp_path):
    store = VectorStore(tmp_path / "vectors")
    store.add(["a:1", "a:2"], ["k1", "k2"], [unit(1, 0), unit(0, 1)], MODEL)
    store.add(["b:1"], ["k3"], [unit(1, 1)], MODEL)
    store.compact({"a:1": "k1", "b:1": "k3", "c:1": "k9"}, MODEL)   # a:2 deleted, c:1 not embedded
    segments = sorted(p.name for p in (tmp_path / "vectors").glob("seg-*.npz"))
    assert len(segments) == 1
    table = store.load(MODEL)
    assert sorted(table.rows) == ["a:1", "b:1"]
    assert table.matrix[table.lookup("b:1", "k3")] == pytest.approx(unit(1, 1), abs=1e-3)


def test_mismatched_shapes_are_refused(tmp_path):
    with pytest.raises(ValueError):
        VectorStore(tmp_path).add(["a:1", "a:2"], ["k"], [unit(1, 0)], MODEL)


def test_fingerprint_depends_on_title_section_and_text():
    base = fingerprint("Title", "Section", "Text")
    assert base == fingerprint("Title", "Section", "Text")
    assert len({base, fingerprint("Title 2", "Section", "Text"), fingerprint("Title", "", "Text"),
                fingerprint("Title", "Section", "Text."), fingerprint("TitleSection", "", "Text")}) == 5
