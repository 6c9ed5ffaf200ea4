"""Words and phrases as the tagger sees them: atoms with character offsets, their surface,
lowercase and stemmed forms, the trie keys of a taxonomy phrase, and when two words of one stem
really are forms of one word (see ``kb.tagging`` for the rules)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from whoosh.lang.snowball.english import EnglishStemmer

_WORD = r"\w+(?:['\u2019&]\w+)*"
# an atom, or a character no phrase may span (sentence punctuation, commas, brackets)
SCAN = re.compile(r"([A-Z]\.[A-Z]\.(?:[A-Z]\.)*|" + _WORD + r")|[.!?;:,()\[\]{}\u2026]")
_POSSESSIVE = re.compile(r"['\u2019][sS]$")
_stemmer = EnglishStemmer()
_forms: dict[str, tuple[str, str, str]] = {}


def _surface(atom: str) -> str:
    """The atom as matched: abbreviation dots dropped, curly apostrophe straightened, no possessive."""
    if atom.endswith(".") and len(atom) > 2 and atom[1] == ".":
        atom = atom.replace(".", "")
    atom = atom.replace("\u2019", "'")
    if len(atom) > 2:
        atom = _POSSESSIVE.sub("", atom)
    return atom


def word_forms(raw: str) -> tuple[str, str, str]:
    """(exact surface, lowercase, stem) of a raw atom, cached."""
    forms = _forms.get(raw)
    if forms is None:
        surface = _surface(raw)
        lower = surface.lower()
        forms = (surface, lower, _stemmer.stem(lower))
        if len(_forms) < 500_000:
            _forms[raw] = forms
    return forms


def is_capitals(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


def _scan_atoms(text: str) -> list[tuple[int, int, str, bool]]:
    """(start, end, raw atom, a break precedes it) for every atom of ``text``."""
    atoms: list[tuple[int, int, str, bool]] = []
    append = atoms.append
    find = text.find
    brk = True
    pos = 0
    for raw in SCAN.findall(text):   # "" for a break character
        if raw:
            # between two atoms there are only non-word characters, so find() lands on this atom
            start = find(raw, pos)
            pos = start + len(raw)
            append((start, pos, raw, brk))
            brk = False
        else:
            brk = True
    return atoms


@dataclass(frozen=True)
class Atom:
    start: int
    end: int
    surface: str       # exact form (case kept)
    lower: str         # lowercased, unstemmed
    stem: str          # lowercased, stemmed
    breaks_before: bool  # sentence punctuation (or text start) between the previous atom and this one


def tokenize(text: str) -> list[Atom]:
    """Word atoms of ``text`` with character offsets."""
    return [Atom(start, end, *word_forms(raw), brk) for start, end, raw, brk in _scan_atoms(text)]


# keys of one atom in the trie: stemmed word, exact (capitals) word, unstemmed lowercase word
STEM, EXACT, WORDKEY = "s", "c", "w"


def phrase_keys(phrase: str, stemmed: bool) -> list[tuple[tuple[str, str], str]]:
    """(trie key, lowercase word) per word of a phrase: capitals exact, other words stemmed or lowercased."""
    return [((EXACT, a.surface) if is_capitals(a.surface) else (STEM, a.stem) if stemmed else (WORDKEY, a.lower),
             a.lower) for a in tokenize(phrase)]


def synonym_keys(phrase: str) -> tuple[tuple[str, str], ...]:
    """Trie keys of a synonym / all_of phrase: capitals exact, other words stemmed."""
    return tuple(key for key, _lower in phrase_keys(phrase, True))


def phrase_key(phrase: str) -> str:
    """A printable normal form of a synonym (stems are lowercase, exact words are not)."""
    return " ".join(word for _kind, word in synonym_keys(phrase))


def _base(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def words_close(a: str, b: str) -> bool:
    """Two lowercase words of one stem that really are forms of one word.

    Snowball over-stems: "internal"/"international", "immune"/"immunization", "organ"/"organization"
    share a stem. A stem match counts only when, plural endings aside, the longer word goes on for
    at most 4 letters after the prefix the two share: "countries"/"country", "cooperation"/
    "cooperating", "vaccine"/"vaccinated", "development"/"developing" are forms of one word.
    """
    if a == b:
        return True
    a, b = _base(a), _base(b)
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return max(len(a), len(b)) - n <= 4


def synonyms_equivalent(a: str, b: str) -> bool:
    """Whether two synonyms match the same words (so one of them is redundant)."""
    ka, kb = phrase_keys(a, True), phrase_keys(b, True)
    return len(ka) == len(kb) and all(x[0] == y[0] and (x[0][0] != STEM or words_close(x[1], y[1]))
                                      for x, y in zip(ka, kb))


