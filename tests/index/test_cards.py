"""Every document's metadata without its text: the columns read whole, the cards the catalog reads,
and an index made before cards (read from stored data, brought up to date by a merge)."""
import json

import numpy as np
from whoosh import index as whoosh_index

from index import storage
from index.schema import make_schema
from index.whoosh import column_arrays, segment_merge
from index.whoosh.engine import WhooshIndex
from index.whoosh.records import document_record, passage_record
from tests.helpers.records import doc, passage


def _documents(first, count):
    out = []
    for i in range(first, first + count):
        d = {**doc(f"d{i}", f"Title {i}"), "text": f"The whole text of document {i}. " * 20,
             "original": "<html>…</html>", "authors": [f"Author {i % 3}"], "date": f"20{10 + i % 5}-01-02",
             "page_starts": [0, 40] if i % 2 else []}
        out.append((d, [passage(d["id"], n, f"Passage {n} of document {i} on fisheries.") for n in (1, 2, 3)]))
    return out


def _card(d):
    return {k: v for k, v in d.items() if k not in ("text", "original")}


def _segmented(tmp_path) -> WhooshIndex:
    """Three commits (three segments), one document replaced and one deleted."""
    ix = WhooshIndex(tmp_path / "ix")
    for first in (0, 10, 20):
        ix.replace_documents(_documents(first, 10))
    (d, passages), = _documents(5, 1)
    ix.replace_documents([({**d, "title": "Replaced", "authors": ["Someone Else"]}, passages[:1])])
    ix.delete_document("d13")
    return ix


def test_columns_are_read_whole_as_whoosh_reads_them(tmp_path):
    ix = _segmented(tmp_path)
    s = ix.searcher()
    reader = s.reader()
    assert len(reader.leaf_readers()) > 1
    ids = column_arrays.var_bytes(reader, "document_id")
    assert [i.decode() for i in ids] == list(reader.column_reader("document_id"))
    some = np.arange(0, reader.doc_count_all(), 3)
    assert column_arrays.var_bytes(reader, "document_id", some) == [ids[i] for i in some]
    field = s.schema["ordinal"]
    ordinals = column_arrays.numeric_sortable(reader, "ordinal", field)
    assert [field.from_column_value(int(v)) for v in ordinals] == list(reader.column_reader("ordinal"))


def test_cards_are_the_documents_without_text(tmp_path):
    ix = _segmented(tmp_path)
    cards = {c["id"]: c for c in ix.iter_cards()}
    assert len(cards) == 29 and "d13" not in cards
    assert cards["d5"]["title"] == "Replaced" and cards["d5"]["authors"] == ["Someone Else"]
    assert cards["d7"] == _card(_documents(7, 1)[0][0])
    listed = {d["id"]: d for d in ix.list_documents()[1]}
    found = ix.summaries(["d7", "d5", "d13", "nope", "d7"])
    assert found == {"d7": listed["d7"], "d5": listed["d5"]}
    assert found["d7"]["passages"] == 3 and found["d5"]["passages"] == 1


def _old_index(path):
    """An index as kb wrote it before cards: no card field in its schema."""
    schema = make_schema()
    schema.remove("card")
    folder = storage.live_dir(path)
    folder.mkdir(parents=True, exist_ok=True)
    ix = whoosh_index.create_in(folder, schema)
    for first in (0, 4):
        w = ix.writer()
        for d, passages in _documents(first, 4):
            record = document_record(d)
            del record["card"]
            w.add_document(**record)
            for p in passages:
                w.add_document(**{k: v for k, v in passage_record(d, p).items() if v is not None})
        w.commit(merge=False)


def test_an_index_made_before_cards_is_read_and_merged_into_them(tmp_path):
    _old_index(tmp_path / "ix")
    ix = WhooshIndex(tmp_path / "ix")
    expected = {d["id"]: _card(d) for d, _ in _documents(0, 8)}
    assert {c["id"]: c for c in ix.iter_cards()} == expected        # from the stored records
    assert ix.summaries(["d2"])["d2"] == {**expected["d2"], "passages": 3}
    ix.replace_documents(_documents(8, 1))                               # a writer adds the field
    live = whoosh_index.open_dir(storage.live_dir(ix.home))
    segments = live._segments()
    w = live.writer()
    w.commit(mergetype=lambda writer, current: [segment_merge.merge(writer.storage, writer.schema, segments,
                                                                    writer.indexname)])
    with live.reader() as r:
        cards = [c for c in r.column_reader("card") if c]
    assert sorted(json.loads(c)["id"] for c in cards) == [f"d{i}" for i in range(9)]   # every one written
    expected["d8"] = _card(_documents(8, 1)[0][0])
    assert {c["id"]: c for c in WhooshIndex(tmp_path / "ix").iter_cards()} == expected


def test_a_card_with_a_lone_surrogate_is_kept(tmp_path):
    """A store written before kb checked text may hold one; its card is escaped, and read back."""
    ix = WhooshIndex(tmp_path / "ix")
    (d, passages), = _documents(0, 1)
    ix.replace_documents([({**d, "title": "Surrogate \ud800 zebra"}, passages)])
    (card,) = ix.iter_cards()
    assert card["title"] == "Surrogate \ud800 zebra"
    assert ix.summaries(["d0"])["d0"]["title"] == "Surrogate \ud800 zebra"
