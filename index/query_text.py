"""A query string read as text: sentence punctuation that is not syntax, and the free words of a
query (what a semantic search embeds)."""
from __future__ import annotations

import re

OPERATORS = ("AND", "OR", "NOT", "ANDNOT", "ANDMAYBE")
QUERY_TOKEN = re.compile(r'"[^"]*"(?:~\d+)?|\(|\)|[^\s()"]+')
_SENTENCE_COLON = re.compile(r"(?<=[^\s:]):(?=\s|$)")
_SENTENCE_QUESTION = re.compile(r"(?<=[^\s?*])\?+(?=[\s)\"]|$)")


def punctuation_as_text(q: str) -> str:
    """Sentence punctuation that query syntax would misread, blanked (same length, so offsets hold):
    a colon before a space or at the end is not a field (``distinguished: …``), a question mark
    ending a word is not a wildcard (``How does MEDLARS operate?``). ``title:x`` and ``colo?r``
    keep their meaning."""
    q = _SENTENCE_COLON.sub(" ", q)
    return _SENTENCE_QUESTION.sub(lambda m: " " * len(m.group()), q)


def _is_url_like(token: str) -> bool:
    """``http://example.org``: a colon that is not a field name."""
    return "://" in token


def free_text(q: str) -> str:
    """The words of a query as plain text, for embedding it: operators, negated parts (``-x``,
    ``NOT x``, ``NOT (...)``), field names, quotes, wildcards and fuzziness marks removed."""
    tokens = [m.group() for m in QUERY_TOKEN.finditer(q or "")]
    words, i = [], 0
    while i < len(tokens):
        tok = tokens[i]
        negated = tok in ("NOT", "ANDNOT", "-") or (tok.startswith("-") and len(tok) > 1)
        if negated:
            if tok in ("NOT", "ANDNOT", "-"):   # the next item is negated: a word, phrase or group
                i += 1
                if i < len(tokens) and tokens[i] == "(":
                    depth = 0
                    while i < len(tokens):
                        depth += {"(": 1, ")": -1}.get(tokens[i], 0)
                        if depth == 0:
                            break
                        i += 1
            i += 1
            continue
        if tok in OPERATORS or tok in ("(", ")"):
            i += 1
            continue
        if not tok.startswith('"') and ":" in tok and not _is_url_like(tok):
            tok = tok.split(":", 1)[1].replace("-", " ")
        tok = re.sub(r'~\d*$', "", tok.lstrip("+")).strip('"').replace("*", "").replace("?", "")
        if tok:
            words.append(tok)
        i += 1
    return " ".join(words).strip()
