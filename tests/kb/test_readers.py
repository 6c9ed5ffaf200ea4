"""Readers on real fixture files (tests/data/), no mocks."""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.models import Document, valid_document_id
from kb.readers import (
    SUPPORTED_EXTENSIONS,
    ReadError,
    ReadResult,
    iter_paths,
    read_bytes,
    read_path,
    reader_for,
    register,
)

DATA = Path(__file__).resolve().parent.parent / "data"


def one(path_or_items) -> ReadResult:
    items = list(read_path(path_or_items)) if isinstance(path_or_items, (str, Path)) else list(path_or_items)
    assert len(items) == 1 and isinstance(items[0], ReadResult), items
    return items[0]


def collapse(text: str) -> str:
    return " ".join(text.split())


def section_of(result: ReadResult, needle: str) -> str:
    """The section path a passage of text falls in, by the offsets the reader gave."""
    pos = result.document.text.index(needle)
    current = ""
    for offset, path in result.sections or []:
        if offset <= pos:
            current = path
    return current


# ------------------------------------------------------------------------------------------------ text

def test_text_latin1_is_decoded_with_a_warning():
    result = one(DATA / "latin1.txt")
    doc = result.document
    assert "résumé of a naïve fiancée" in doc.text and "Genève" in doc.text and "£" in doc.text
    assert doc.title == "Café society and science"
    assert doc.id == "latin1"
    assert doc.source == str(DATA / "latin1.txt")
    assert doc.ingested_at == ""
    assert result.sections is None
    assert len(result.warnings) == 1 and "cp1252" in result.warnings[0] and "UTF-8" in result.warnings[0]


def test_text_bom_is_stripped_and_newlines_normalised():
    result = one(DATA / "bom.txt")
    doc = result.document
    assert doc.text.startswith("Science diplomacy")
    assert "\ufeff" not in doc.text and "\r" not in doc.text
    assert "Café." in doc.text
    assert doc.title == "Science diplomacy with a byte order mark"
    assert result.warnings == []


def test_text_keeps_the_text_as_is(tmp_path):
    path = tmp_path / "Science Diplomacy.txt"
    raw = "\n\n  Build science diplomacy  \n\nFirst   paragraph\twith  spacing.\n"
    path.write_text(raw, encoding="utf-8")
    result = one(path)
    assert result.document.text == raw
    assert result.document.title == "Build science diplomacy"
    assert result.document.id == "science-diplomacy"


def test_long_first_line_title_is_cut_at_a_word(tmp_path):
    path = tmp_path / "long.txt"
    path.write_text("word " * 100 + "\nbody", encoding="utf-8")
    title = one(path).document.title
    assert 0 < len(title) <= 200 and title.endswith("word")


@pytest.mark.parametrize("name, reason", [("binary.txt", "binary file"), ("empty.txt", "empty file")])
def test_whole_file_problems_raise_one_line_reasons(name, reason):
    with pytest.raises(ReadError) as info:
        list(read_path(DATA / name))
    assert reason in str(info.value) and "\n" not in str(info.value)
    assert info.value.path == str(DATA / name)


def test_whitespace_only_is_empty(tmp_path):
    path = tmp_path / "blank.md"
    path.write_text("  \n\n\t\n", encoding="utf-8")
    with pytest.raises(ReadError, match="empty file"):
        list(read_path(path))


def test_control_characters_are_binary():
    with pytest.raises(ReadError, match="binary file"):
        list(read_bytes(bytes(range(1, 32)) * 10, "x.txt"))


def test_missing_path_directory_and_unsupported_extension(tmp_path):
    with pytest.raises(ReadError, match="no such file"):
        list(read_path(tmp_path / "nope.txt"))
    with pytest.raises(ReadError, match="is a directory"):
        list(read_path(tmp_path))
    (tmp_path / "data.xyz").write_text("hello", encoding="utf-8")
    with pytest.raises(ReadError, match="unsupported file type '.xyz'"):
        list(read_path(tmp_path / "data.xyz"))


def test_mostly_utf8_with_a_broken_byte_stays_utf8():
    data = "Zürich, Genève, São Paulo and Kraków signed the accord. ".encode() * 3 + b"\xff end"
    result = one(read_bytes(data, "cities.txt"))
    assert "São Paulo" in result.document.text and "Kraków" in result.document.text
    assert "1 invalid byte" in result.warnings[0]


def test_cyrillic_in_cp1251_is_detected():
    text = ("Научная дипломатия помогает странам сотрудничать "
            "в области здравоохранения и климата. ") * 3
    result = one(read_bytes(text.encode("cp1251"), "ru.txt"))
    assert result.document.text == text
    assert "cp1251" in result.warnings[0]


def test_utf16_with_bom_is_decoded():
    result = one(read_bytes("Title line\n\nSome text here.".encode("utf-16"), "u16.txt"))
    assert result.document.title == "Title line"


# ------------------------------------------------------------------------------------------------ markdown

def test_markdown_front_matter_is_the_documents_and_never_in_the_text():
    result = one(DATA / "notes.md")
    doc = result.document
    assert doc.title == "Retreat notes on science diplomacy"
    assert doc.tags == ["science-diplomacy", "public-health"]
    assert doc.source == "https://example.org/notes/retreat"
    assert doc.id == "retreat-notes"
    assert doc.metadata == {"attendees": ["Ana", "Ben"]}   # the rest is the citation record
    assert (doc.authors, doc.date) == (["Ana Pereira"], "2024-03-15")
    assert "---" not in doc.text and "attendees" not in doc.text and "Ana Pereira" not in doc.text
    assert doc.text.startswith("Notes\n")
    assert "compared vaccine trial agreements" in doc.text and "**" not in doc.text   # rendered, not raw


def test_markdown_sections_are_nested_paths_after_their_heading_lines():
    result = one(DATA / "notes.md")
    text = result.document.text
    assert [path for _, path in result.sections] == [
        "Notes", "Notes > Retreat", "Notes > Retreat > Day one", "Notes > Follow-up", "Appendix"]
    for offset, path in result.sections:
        heading_line = text[:offset].rstrip("\n").rsplit("\n", 1)[-1]
        assert heading_line.lstrip("#").strip() == path.split(" > ")[-1]
        assert text[offset - 1] == "\n"
    assert section_of(result, "held in Lisbon") == "Notes > Retreat"
    assert section_of(result, "not a heading") == "Notes > Retreat > Day one"  # a '#' inside a code fence
    assert section_of(result, "Send the summary") == "Notes > Follow-up"
    assert section_of(result, "A list of readings") == "Appendix"


def test_markdown_without_front_matter_titles_from_first_heading(tmp_path):
    path = tmp_path / "plain notes.markdown"
    path.write_text("Intro line\n\n## Background\n\nText.\n\n# Main title\n\nMore.\n", encoding="utf-8")
    result = one(path)
    assert result.document.title == "Main title"
    assert result.document.id == "plain-notes"
    assert [p for _, p in result.sections] == ["Background", "Main title"]
    path.write_text("Just a first line\nand more text\n", encoding="utf-8")
    assert one(path).document.title == "Just a first line"


def test_markdown_comma_tags_dates_and_invalid_ids(tmp_path):
    path = tmp_path / "n.md"
    path.write_text("---\ntags: health, covid-19 ,\nid: Not a/valid id\nwhen: 2024-01-02T03:04:05Z\n"
                    "---\n# T\nbody\n", encoding="utf-8")
    doc = one(path).document
    assert doc.tags == ["health", "covid-19"]
    assert doc.id == "not-a-valid-id"
    assert doc.metadata["when"].startswith("2024-01-02T03:04:05")


def test_markdown_invalid_front_matter_names_the_line(tmp_path):
    path = tmp_path / "bad.md"
    path.write_text("---\ntitle: ok\ntags: [unclosed\n---\n# Body\n", encoding="utf-8")
    with pytest.raises(ReadError, match=r"invalid YAML front matter at line \d+") as info:
        list(read_path(path))
    assert "\n" not in str(info.value)


def test_markdown_thematic_break_without_closing_is_text(tmp_path):
    path = tmp_path / "hr.md"
    path.write_text("---\nJust text after a rule.\n", encoding="utf-8")
    assert "Just text after a rule." in one(path).document.text


# ------------------------------------------------------------------------------------------------ html

def test_html_main_text_only():
    result = one(DATA / "page.html")
    text = result.document.text
    for marker in ("TRACKING-SCRIPT-TEXT", "COOKIE-BANNER-TEXT", "Accept all cookies", "NAV-MENU-TOPICS",
                   "User Login", "BREADCRUMB-ARTICLES", "SUBSCRIBE-FORM-TEXT", "Sign up", "SHARE-ON-SOCIAL",
                   "ASIDE-RELATED-TEXT", "FOOTER-TEXT", "NOSCRIPT-TEXT", "font-family", "<", "&amp;", "&ldquo;"):
        assert marker not in text, marker
    assert "Six countries share the Mekong River, and its “flood pulse” feeds one of the largest" in text
    assert "By Dara Sok & Lan Nguyen" in text
    assert "- Daily water levels from 48 stations\n- Sediment and fish-larvae counts" in text
    assert "Country | Stations\nLaos | 12" in text
    assert "\n\n\n" not in text and text == text.strip()


def test_html_title_metadata_and_sections():
    result = one(DATA / "page.html")
    doc = result.document
    assert doc.title == "Water Diplomacy on the Mekong"  # " | Global Science Policy Network" stripped
    assert doc.id == "page"
    assert doc.metadata["description"] == "How shared river science builds trust between riparian states."
    assert doc.metadata["lang"] == "en"
    assert [p for _, p in result.sections] == [
        "Water Diplomacy on the Mekong",
        "Water Diplomacy on the Mekong > Shared data",
        "Water Diplomacy on the Mekong > Shared data > Open access",
        "Water Diplomacy on the Mekong > Trust and its limits",
    ]
    assert section_of(result, "upstream dams") == "Water Diplomacy on the Mekong > Shared data"
    assert section_of(result, "free of charge") == "Water Diplomacy on the Mekong > Shared data > Open access"
    assert section_of(result, "Laos") == "Water Diplomacy on the Mekong > Trust and its limits"
    for offset, path in result.sections:  # the heading is its own paragraph, just before the offset
        assert doc.text[:offset].rstrip("\n").rsplit("\n", 1)[-1] == path.split(" > ")[-1]


def test_html_without_main_uses_body_and_br_breaks_lines():
    html = (b"<html><head><title>Notes</title></head><body><div class='menu'>Home About</div>"
            b"<p>First line<br>second   line</p><div>Direct text <span>with span</span></div></body></html>")
    result = one(read_bytes(html, "notes.htm"))
    assert result.document.text == "First line\nsecond line\n\nDirect text with span"
    assert result.document.title == "Notes"
    assert result.sections == []


def test_html_with_no_text_is_an_error():
    with pytest.raises(ReadError, match="no text"):
        list(read_bytes(b"<html><body><nav>Home</nav><script>x()</script></body></html>", "x.html"))


def test_html_declared_charset_is_honoured():
    html = "<html><head><meta charset='iso-8859-1'></head><body><p>Genève</p></body></html>".encode("latin-1")
    result = one(read_bytes(html, "g.html"))
    assert result.document.text == "Genève"


# ------------------------------------------------------------------------------------------------ pdf

def test_pdf_text_across_pages_with_repairs():
    result = one(DATA / "report.pdf")
    doc = result.document
    text = collapse(doc.text)
    assert doc.title == "Science Diplomacy in Practice"
    assert doc.metadata == {"pages": 2} and doc.authors == ["Kb Test Suite"]
    assert doc.id == "report"
    assert "trust between international partners" in text  # "inter-\nnational" rejoined
    # the sentence broken by the page break is whole, and no blank line was put inside it
    assert "designed to run for ten years and to train a new generation of scientists in both countries." in text
    assert "ten years and\nto train" in doc.text
    assert "vaccine trials continued across the border." in text
    assert "Science Diplomacy Review" not in doc.text  # running header
    assert "Page 1" not in doc.text and "Page 2" not in doc.text  # page numbers
    assert result.sections is None


def test_blank_pdf_is_reported():
    with pytest.raises(ReadError, match="PDF has no extractable text"):
        list(read_path(DATA / "blank.pdf"))


def _rewritten_pdf(encrypt_password: str | None = None, title: str | None = None) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(DATA / "report.pdf"))
    if title is not None:
        writer.add_metadata({"/Title": title})
    if encrypt_password is not None:
        writer.encrypt(user_password=encrypt_password, owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_encrypted_pdf_needs_a_password_unless_the_user_password_is_empty():
    with pytest.raises(ReadError, match="encrypted PDF"):
        list(read_bytes(_rewritten_pdf(encrypt_password="secret"), "locked.pdf"))
    assert "new generation" in one(read_bytes(_rewritten_pdf(encrypt_password=""), "open.pdf")).document.text


def test_meaningless_pdf_title_falls_back_to_first_line():
    doc = one(read_bytes(_rewritten_pdf(title="Microsoft Word - draft3.docx"), "draft.pdf")).document
    assert doc.title == "Science Diplomacy in Practice"
    doc = one(read_bytes(_rewritten_pdf(title="untitled"), "draft.pdf")).document
    assert doc.title == "Science Diplomacy in Practice"


def test_corrupt_and_truncated_pdfs_are_read_errors():
    data = (DATA / "report.pdf").read_bytes()
    with pytest.raises(ReadError):
        list(read_bytes(b"%PDF-1.4\n garbage \x00\x01", "x.pdf"))
    with pytest.raises(ReadError):
        list(read_bytes(b"this is not a pdf at all", "x.pdf"))
    for cut in (len(data) // 3, len(data) // 2):
        try:
            list(read_bytes(data[:cut], "cut.pdf"))
        except ReadError:
            pass


# ------------------------------------------------------------------------------------------------ jsonl

def test_jsonl_malformed_line_is_one_error_and_the_rest_land():
    items = list(read_path(DATA / "docs.jsonl"))
    errors = [i for i in items if isinstance(i, ReadError)]
    docs = [i.document for i in items if isinstance(i, ReadResult)]
    assert len(errors) == 1
    assert str(errors[0]).startswith(f"{DATA / 'docs.jsonl'}:3: invalid JSON")
    assert errors[0].line == 3
    assert [d.id for d in docs] == ["vaccine-diplomacy", "42", "bad-id-with-spaces"]
    first, second, third = docs
    assert first.tags == ["covid-19", "public-health"] and first.metadata == {"year": 2021}
    assert first.source == f"{DATA / 'docs.jsonl'}#1"
    assert second.title == "Arctic research stations host scientists from rival states."
    assert second.source == "https://example.org/arctic"
    assert third.title == "Space cooperation" and third.source.endswith("docs.jsonl#5")


def test_jsonl_record_errors(tmp_path):
    path = tmp_path / "more.ndjson"
    path.write_text('{"id": "x"}\n[1, 2]\n{"text": ""}\n{"text": "ok", "tags": 5}\n{"text": 5, "title": "t"}\n'
                    '{"title": "Title only", "text": null}\n{"text": "Fine text."}\n', encoding="utf-8")
    items = list(read_path(path))
    messages = [str(i) for i in items if isinstance(i, ReadError)]
    assert messages == [f"{path}:1: missing 'text' (or a 'title', for a title-only record)",
                        f"{path}:2: expected a JSON object, got list",
                        f"{path}:3: 'text' is empty and there is no 'title'",
                        f"{path}:4: 'tags' must be a list of strings", f"{path}:5: 'text' must be a string"]
    title_only = items[-2].document
    assert title_only.title == title_only.text == "Title only"
    doc = items[-1].document
    assert doc.id == Document.make_id("Fine text.", "Fine text.") and doc.title == "Fine text."


# ------------------------------------------------------------------------------------------------ folders

def test_iter_paths_recurses_sorted_skipping_hidden_and_unsupported(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "deep").mkdir()
    (tmp_path / ".hidden").mkdir()
    for rel in ("a.txt", "b/z.md", "b/deep/x.HTML", "b/notes.docx", "c.jsonl", ".secret.txt", ".hidden/h.txt",
                "image.png"):
        (tmp_path / rel).write_text("x", encoding="utf-8")
    got = list(iter_paths([tmp_path]))
    assert [p.relative_to(tmp_path).as_posix() for p in got] == ["a.txt", "b/deep/x.HTML", "b/z.md", "c.jsonl"]
    # files named explicitly are passed through as given, even hidden, unsupported or missing ones
    explicit = [tmp_path / ".secret.txt", tmp_path / "image.png", tmp_path / "missing.txt"]
    assert list(iter_paths(explicit)) == explicit


def test_a_folder_of_fixtures_reads_with_per_file_reasons(tmp_path):
    for name in ("page.html", "notes.md", "report.pdf", "binary.txt", "empty.txt", "docs.jsonl"):
        shutil.copy(DATA / name, tmp_path / name)
    docs, reasons = [], {}
    for path in iter_paths([str(tmp_path)]):
        try:
            for item in read_path(path):
                if isinstance(item, ReadError):
                    reasons[f"{path.name}:{item.line}"] = str(item)
                else:
                    docs.append(item.document.id)
        except ReadError as exc:
            reasons[path.name] = str(exc)
    assert docs == ["vaccine-diplomacy", "42", "bad-id-with-spaces", "retreat-notes", "page", "report"]
    assert set(reasons) == {"binary.txt", "empty.txt", "docs.jsonl:3"}


# ------------------------------------------------------------------------------------------------ read_bytes

@pytest.mark.parametrize("content_type, fixture, expect", [
    ("text/plain; charset=utf-8", "bom.txt", "byte order mark"),
    ("text/markdown", "notes.md", "Lisbon"),
    ("text/html", "page.html", "Mekong River Commission"),
    ("application/pdf", "report.pdf", "new generation"),
    ("application/x-ndjson", "docs.jsonl", "donated vaccines"),
    ("application/jsonl", "docs.jsonl", "donated vaccines"),
])
def test_read_bytes_by_content_type(content_type, fixture, expect):
    items = list(read_bytes((DATA / fixture).read_bytes(), content_type=content_type))
    docs = [i.document for i in items if isinstance(i, ReadResult)]
    assert any(expect in d.text for d in docs)
    for doc in docs:
        assert valid_document_id(doc.id)


def test_read_bytes_extension_wins_over_content_type():
    result = one(read_bytes((DATA / "notes.md").read_bytes(), "notes.md", "text/plain"))
    assert result.document.title == "Retreat notes on science diplomacy" and result.sections


@pytest.mark.parametrize("fixture, kind", [("report.pdf", "pdf"), ("page.html", "html"), ("latin1.txt", "text")])
def test_read_bytes_sniffs(fixture, kind):
    result = one(read_bytes((DATA / fixture).read_bytes(), "upload.bin", "application/octet-stream"))
    if kind == "pdf":
        assert result.document.metadata["pages"] == 2
    elif kind == "html":
        assert "COOKIE-BANNER-TEXT" not in result.document.text and result.sections
    else:
        assert result.sections is None and "Genève" in result.document.text


def test_read_bytes_title_and_id_overrides():
    data = b"First line\n\nSome body text."
    plain = one(read_bytes(data))
    assert plain.document.id == Document.make_id("First line", data.decode())
    assert plain.document.source == ""
    titled = one(read_bytes(data, title="Given Title"))
    assert titled.document.title == "Given Title"
    assert titled.document.id == Document.make_id("Given Title", data.decode())
    named = one(read_bytes(data, filename="stdin-notes.txt", title="T", doc_id="my/doc"))
    assert named.document.id == "my-doc" and named.document.title == "T"
    assert named.document.source == "stdin-notes.txt"
    assert one(read_bytes(data, doc_id="Keep.Me_1")).document.id == "Keep.Me_1"


def test_registry_accepts_new_formats():
    assert reader_for("x.TXT") is reader_for("", "text/plain")
    assert reader_for("x.unknown", "") is None
    assert {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".jsonl", ".ndjson"} <= SUPPORTED_EXTENSIONS

    @register(".kbtest", content_types=["application/x-kbtest"])
    def read_kbtest(data: bytes, name: str):
        yield ReadResult(Document(id="k", title="K", text=data.decode()))

    try:
        assert reader_for("a.kbtest") is read_kbtest and ".kbtest" in SUPPORTED_EXTENSIONS
        assert one(read_bytes(b"hello", content_type="application/x-kbtest")).document.text == "hello"
    finally:
        from kb import readers

        readers._BY_EXTENSION.pop(".kbtest", None)
        readers._BY_CONTENT_TYPE.pop("application/x-kbtest", None)
        SUPPORTED_EXTENSIONS.discard(".kbtest")


# ------------------------------------------------------------------------------------------------ fuzz

_SEEDS = [(DATA / n).read_bytes() for n in ("page.html", "notes.md", "report.pdf", "docs.jsonl", "latin1.txt")]
_inputs = st.one_of(
    st.binary(max_size=600),
    st.text(max_size=300).map(lambda s: s.encode("utf-8")),
    st.text(max_size=200).map(lambda s: ("---\n" + s + "\n---\n# H\n" + s).encode("utf-8")),
    st.text(max_size=200).map(lambda s: ("<html><body><h2>" + s + "</h2><p>" + s).encode("utf-8")),
    st.tuples(st.sampled_from(_SEEDS), st.integers(0, 4000), st.binary(max_size=40)).map(
        lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + len(t[2]):]),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_inputs, ext=st.sampled_from(sorted(SUPPORTED_EXTENSIONS) + [""]))
def test_random_bytes_only_ever_give_read_errors(data, ext):
    try:
        items = list(read_bytes(data, filename=f"fuzz{ext}" if ext else ""))
    except ReadError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    for item in items:
        assert isinstance(item, (ReadResult, ReadError))
        if isinstance(item, ReadResult):
            doc = item.document
            assert doc.text.strip() and valid_document_id(doc.id) and len(doc.title) <= 200
            for offset, path in item.sections or []:
                assert 0 <= offset <= len(doc.text) and path


def test_a_big_jsonl_file_is_read_line_by_line_with_the_same_results(tmp_path, monkeypatch):
    import codecs

    import kb.readers

    lines = [b'{"id": "a", "title": "A", "text": "First text.", "tags": ["x"]}',
             b'{"id": "b", "text": "Second\\r\\ntext."}\r',
             b"not json",
             b'{"id": "c", "text": "caf\xe9"}',                       # Latin-1 byte: not UTF-8
             b"",
             '{"id": "d", "text": "naïve — ok"}'.encode("utf-8")]
    path = tmp_path / "big.jsonl"
    path.write_bytes(codecs.BOM_UTF8 + b"\n".join(lines) + b"\n")

    def summary(items):
        return [(i.document.id, i.document.title, i.document.text, i.document.tags, i.line)
                if isinstance(i, ReadResult) else ("error", i.line) for i in items]

    whole = list(read_path(path))
    monkeypatch.setattr(kb.readers, "STREAM_BYTES", 0)
    streamed = list(read_path(path))
    assert summary(streamed) == [("a", "A", "First text.", ["x"], 1), ("b", "Second", "Second\ntext.", [], 2),
                                 ("error", 3), ("error", 4), ("d", "naïve — ok", "naïve — ok", [], 6)]
    assert "not UTF-8" in str(streamed[3])
    good = [x for x in summary(whole) if x[0] in ("a", "b", "d")]
    assert good == [x for x in summary(streamed) if x[0] in ("a", "b", "d")]
    utf16 = tmp_path / "wide.jsonl"            # a byte order mark of UTF-16: read whole, as before
    utf16.write_bytes('{"id": "w", "text": "wide"}\n'.encode("utf-16"))
    assert summary(read_path(utf16)) == [("w", "wide", "wide", [], 1)]


def test_a_book_page_is_titled_by_its_own_heading_not_the_banner():
    """mdBook-style pages: the banner's <h1> is the book's name, the page's heading an <h2> that is
    all a self-link (<a class="header">); the title is the part of <title> the page's heading names,
    and the heading stays a section."""
    [result] = list(read_path(DATA / "book-page.html"))
    doc = result.document
    assert doc.title == "Field Stations"
    assert doc.text.startswith("Field Stations\n\nEach field station keeps a log")
    assert "The Polar Handbook" not in doc.text and "Supplies" in doc.text
