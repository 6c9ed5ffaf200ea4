"""Snippets: up to three fragments around the query's matches, ``<mark>`` around each matched
word, the passage's own HTML escaped, ``…`` where text is cut."""
from __future__ import annotations

from html import escape

from whoosh import highlight

ELLIPSIS = "…"


class MarkFormatter(highlight.Formatter):
    """``<mark>word</mark>``, everything else escaped; fragments joined with an ellipsis."""

    def format_token(self, text, token, replace=False):
        return f"<mark>{escape(highlight.get_text(text, token, replace))}</mark>"

    def _text(self, text):
        return escape(text)

    def format_fragment(self, fragment, replace=False):
        return self._fragment(fragment, replace)[0]

    def _fragment(self, fragment, replace=False):
        """The marked-up fragment and where it really ends (closing punctuation kept)."""
        output = []
        index = fragment.startchar
        text = fragment.text
        for t in fragment.matches:
            if t.startchar is None or t.startchar < index:
                continue
            output.append(self._text(text[index:t.startchar]))
            output.append(self.format_token(text, t, replace))
            index = t.endchar
        end = fragment.endchar
        if not text[end:].strip(" .!?;:,)]\"'’”"):
            end = len(text)  # only closing punctuation left: keep it
        output.append(self._text(text[index:end]))
        return "".join(output).strip(), end

    def format(self, fragments, replace=False):
        fragments = sorted(fragments, key=lambda f: f.startchar)
        parts, last_end = [], 0
        for i, fragment in enumerate(fragments):
            body, end = self._fragment(fragment, replace)
            if fragment.startchar > last_end or (i == 0 and fragment.startchar > 0):
                parts.append(f" {ELLIPSIS} " if parts else ELLIPSIS)
            elif parts:
                parts.append(" ")
            parts.append(body)
            last_end = end
        if fragments and last_end < len(fragments[-1].text):
            parts.append(ELLIPSIS)
        return "".join(parts)


class Highlighter:
    """Built once; ``snippet()`` per hit."""

    def __init__(self, analyzer, max_fragments: int = 3, fragment_chars: int = 200, surround: int = 60):
        self.analyzer = analyzer
        self.max_fragments = max_fragments
        self.fragmenter = highlight.ContextFragmenter(maxchars=fragment_chars, surround=surround)
        self.formatter = MarkFormatter()
        self.lead_chars = fragment_chars + surround

    def snippet(self, text: str, terms: frozenset[str]) -> str:
        if terms:
            out = highlight.highlight(text, terms, self.analyzer, self.fragmenter, self.formatter,
                                      top=self.max_fragments, order=highlight.FIRST)
            if out:
                return out
        return self.lead(text)

    def lead(self, text: str) -> str:
        """The start of the passage when nothing in it matched (a tag or title match)."""
        if len(text) <= self.lead_chars:
            return escape(text)
        cut = text.rfind(" ", 0, self.lead_chars)
        return escape(text[: cut if cut > 0 else self.lead_chars]) + ELLIPSIS
