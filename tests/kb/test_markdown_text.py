"""Markdown rendered by a real parser before splitting: passages hold the words a reader sees (no link
URLs, emphasis markers or fences), links kept aside, tables as rows, headings as sections, the
publisher's footer out."""
from __future__ import annotations

from helpers import DATA
from kb.readers import read_path
from kb.readers.markdown_render import render_markdown
from kb.split import split_text

POLICY = DATA / "policy.md"   # links, emphasis, code, a table, front matter and a footer


def passages_of(path):
    [result] = list(read_path(path))
    doc = result.document
    return doc, split_text(doc.text, doc.id, doc.title, sections=result.sections)


def test_passages_hold_no_markup_and_links_are_kept_aside():
    doc, passages = passages_of(POLICY)
    body = " ".join(p.text for p in passages)
    for markup in ("](", "http", "**", "```", "|---", "___"):
        assert markup not in body, markup
    assert "the health ministry announced a regional vaccine fund for developing countries" in body
    assert "modelled on the COVAX facility." in body
    assert doc.metadata["links"] == [
        {"text": "announced", "url": "https://example.org/news/fund"},
        {"text": "COVAX facility", "url": "https://www.who.int/initiatives/act-accelerator/covax"},
        {"text": "a curriculum", "url": "https://example.org/curriculum"}]
    assert doc.authors == ["Jane Roe"]   # front matter's author is the citation record's


def test_lists_tables_code_and_sections_survive_as_text():
    _, passages = passages_of(POLICY)
    by_section = {}
    for p in passages:
        by_section.setdefault(p.section, []).append(p.text)
    covers = " ".join(by_section["Vaccine diplomacy after the pandemic > What the fund covers"])
    assert "- cold storage for clinics in rural districts" in covers
    assert "- (C) making available pharmaceuticals at cost to the partner states" in covers
    assert "Country | Clinics | Staff trained Kenya | 40 | 120 Peru | 25 | 80" in covers
    shared = " ".join(by_section["Vaccine diplomacy after the pandemic > How the data is shared"])
    assert "def share(results, partners): return {p: results for p in partners}" in shared
    assert "everything else is agreement between ministries." in shared


def test_the_publishers_footer_is_out():
    _, passages = passages_of(POLICY)
    body = " ".join(p.text for p in passages)
    for footer in ("solely those of the author", "tax-exempt", "All rights reserved", "Share this", "©"):
        assert footer not in body, footer
    assert body.rstrip().endswith("everything else is agreement between ministries.")


def test_headings_are_lines_whose_ends_are_the_sections():
    rendered = render_markdown("# A *big* title\n\nText under it.\n\n## Sub [part](http://x.org)\n\nMore.\n")
    assert rendered.text == "A big title\n\nText under it.\n\nSub part\n\nMore."
    assert rendered.headings == [(12, "A big title", 1), (38, "Sub part", 2)]
    assert rendered.links == [{"text": "part", "url": "http://x.org"}]
    assert render_markdown("1. one\n2. two\n   - nested\n\nAfter.").text == "1. one\n2. two\n- nested\n\nAfter."
    assert render_markdown("<div>raw html</div>\n\nKept.").text == "Kept."
