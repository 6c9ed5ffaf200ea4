"""Tag passages with taxonomy topics, keeping the matched phrases as evidence.

A taxonomy (YAML, see the header of ``kb/data/science-diplomacy.yaml``) lists topics; each
topic has synonyms, optional ``all_of`` groups, ``exclude`` phrases and ``min_hits``.

Matching works on word atoms with character offsets:

* an atom is a run of letters/digits, with internal apostrophes and ``&`` kept
  ("China's", "S&T", "R&D"); letter-dot abbreviations are one atom ("U.S." reads as "US");
  hyphens and dashes separate atoms, so "geo-competition", "geo competition" and
  "geo–competition" are the same two atoms, and the evidence still cites "geo-competition";
* a possessive "'s" is ignored; other words are lowercased and stemmed (Snowball English,
  from whoosh) so "developing countries" matches "developing country". Snowball over-stems
  ("internal"/"international", "immune"/"immunization"), so a stem match also needs the two
  words to be close (see ``words_close``); a text word in capitals ("AIDS") is an acronym and
  matches a lowercase synonym word only when equal to it ("aid" does not match "AIDS");
* a synonym word written in capitals ("US", "WHO", "COVID-19", "S&T") matches only that exact
  surface form, so "US" never matches "us" and "WHO" never matches "who";
* a phrase never matches across sentence punctuation, commas or brackets (``. ! ? ; : , ( ) [ ]``);
* ``exclude`` phrases are matched on lowercased, unstemmed words; a synonym or ``all_of`` hit
  lying inside an exclude match does not count ("developed countries" cancels the
  "developing countries" stem match on the same words, "military affairs" cancels "military").

All phrases of all topics (synonyms, all_of groups, excludes) are compiled once into one trie
keyed by word (stem, exact form or lowercase form), and a passage is tagged in a single pass over
its atoms: at each atom the trie is walked as far as the following atoms allow.
"""
from __future__ import annotations

import os
import pathlib
import re
from dataclasses import dataclass, field
from typing import Iterable

from whoosh.lang.snowball.english import EnglishStemmer

from kb.models import Evidence

__all__ = ["Taxonomy", "Topic", "Tagger", "TaxonomyError", "default_taxonomy_path",
           "tokenize", "phrase_key", "synonym_keys", "synonyms_equivalent", "words_close"]


class TaxonomyError(ValueError):
    """An invalid taxonomy file; the message is one line, ``file:line: what is wrong``."""


def default_taxonomy_path() -> pathlib.Path:
    """The taxonomy shipped inside the package."""
    return pathlib.Path(__file__).resolve().parent / "data" / "science-diplomacy.yaml"


# ------------------------------------------------------------------------------ atoms

_WORD = r"\w+(?:['\u2019&]\w+)*"
# an atom, or a character no phrase may span (sentence punctuation, commas, brackets)
_SCAN = re.compile(r"([A-Z]\.[A-Z]\.(?:[A-Z]\.)*|" + _WORD + r")|[.!?;:,()\[\]{}\u2026]")
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


def _word_forms(raw: str) -> tuple[str, str, str]:
    """(exact surface, lowercase, stem) of a raw atom, cached."""
    forms = _forms.get(raw)
    if forms is None:
        surface = _surface(raw)
        lower = surface.lower()
        forms = (surface, lower, _stemmer.stem(lower))
        if len(_forms) < 500_000:
            _forms[raw] = forms
    return forms


def _is_capitals(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


def _scan_atoms(text: str) -> list[tuple[int, int, str, bool]]:
    """(start, end, raw atom, a break precedes it) for every atom of ``text``."""
    atoms: list[tuple[int, int, str, bool]] = []
    append = atoms.append
    find = text.find
    brk = True
    pos = 0
    for raw in _SCAN.findall(text):   # "" for a break character
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
    return [Atom(start, end, *_word_forms(raw), brk) for start, end, raw, brk in _scan_atoms(text)]


# keys of one atom in the trie: stemmed word, exact (capitals) word, unstemmed lowercase word
_STEM, _EXACT, _WORDKEY = "s", "c", "w"


def _phrase_keys(phrase: str, stemmed: bool) -> list[tuple[tuple[str, str], str]]:
    """(trie key, lowercase word) per word of a phrase: capitals exact, other words stemmed or lowercased."""
    return [((_EXACT, a.surface) if _is_capitals(a.surface) else (_STEM, a.stem) if stemmed else (_WORDKEY, a.lower),
             a.lower) for a in tokenize(phrase)]


def synonym_keys(phrase: str) -> tuple[tuple[str, str], ...]:
    """Trie keys of a synonym / all_of phrase: capitals exact, other words stemmed."""
    return tuple(key for key, _lower in _phrase_keys(phrase, True))


def exclude_keys(phrase: str) -> tuple[tuple[str, str], ...]:
    """Trie keys of an exclude phrase: capitals exact, other words lowercased, not stemmed."""
    return tuple(key for key, _lower in _phrase_keys(phrase, False))


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
    ka, kb = _phrase_keys(a, True), _phrase_keys(b, True)
    return len(ka) == len(kb) and all(x[0] == y[0] and (x[0][0] != _STEM or words_close(x[1], y[1]))
                                      for x, y in zip(ka, kb))


# ------------------------------------------------------------------------------ taxonomy

@dataclass
class Topic:
    id: str
    label: str
    description: str = ""
    broader: list[str] = field(default_factory=list)
    synonyms: list[str] = field(default_factory=list)
    all_of: list[list[str]] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    min_hits: int = 1


@dataclass
class Taxonomy:
    version: int
    name: str
    topics: dict[str, Topic]

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Taxonomy":
        """Read and validate a taxonomy file; raise TaxonomyError naming file and line."""
        from kb.taxonomy_check import find_problems, read_yaml  # late: taxonomy_check imports us

        data = read_yaml(path)
        for problem in find_problems(data, str(path)):
            if not problem.warning:
                raise TaxonomyError(problem.format(str(path)))
        topics: dict[str, Topic] = {}
        for tid, spec in data["topics"].items():
            spec = spec or {}
            topics[tid] = Topic(
                id=tid, label=spec["label"], description=spec.get("description") or "",
                broader=list(spec.get("broader") or []), synonyms=list(spec.get("synonyms") or []),
                all_of=[list(group) for group in spec.get("all_of") or []],
                exclude=list(spec.get("exclude") or []), min_hits=int(spec.get("min_hits", 1)))
        return cls(version=int(data.get("version", 1)),
                   name=str(data.get("name") or pathlib.Path(path).stem), topics=topics)

    def to_list(self) -> list[dict]:
        return [{"tag": t.id, "label": t.label, "description": t.description, "broader": list(t.broader)}
                for t in self.topics.values()]


# ------------------------------------------------------------------------------ tagger

_SYN, _EXCL = -1, -2      # roles of a phrase in the trie; 0, 1, ... are all_of group numbers


class _Node:
    __slots__ = ("children", "stems", "payload")

    def __init__(self) -> None:
        self.children: dict[tuple[str, str], _Node] = {}        # exact / unstemmed word -> next node
        self.stems: dict[str, list[tuple[str, _Node]]] = {}     # stem -> [(phrase word, next node)]
        self.payload: list[tuple[int, int]] = []                # (topic index, role)

    def child(self, key: tuple[str, str], lower: str) -> "_Node":
        if key[0] != _STEM:
            return self.children.setdefault(key, _Node())
        edges = self.stems.setdefault(key[1], [])
        for word, node in edges:
            if word == lower:
                return node
        edges.append((lower, _Node()))
        return edges[-1][1]


_close_cache: dict[tuple[str, str], bool] = {}


def _accepts(lower: str, capitals: bool, word: str) -> bool:
    """Whether a text word with the stem of phrase word ``word`` is a form of it."""
    if lower == word:
        return True
    if capitals:              # an acronym is not inflected: "AIDS" is no form of "aid"
        return False
    ok = _close_cache.get((lower, word))
    if ok is None:
        ok = words_close(lower, word)
        if len(_close_cache) < 200_000:
            _close_cache[(lower, word)] = ok
    return ok


class Tagger:
    """Tags texts with the topics of a taxonomy; compiles every phrase once into one trie."""

    def __init__(self, taxonomy: Taxonomy):
        self.taxonomy = taxonomy
        self._topics = list(taxonomy.topics.values())
        self._root = _Node()
        self._atom_cache: dict[str, tuple] = {}
        for index, topic in enumerate(self._topics):
            for phrase in topic.synonyms:
                self._add(_phrase_keys(phrase, True), index, _SYN)
            for group_number, group in enumerate(topic.all_of):
                for phrase in group:
                    self._add(_phrase_keys(phrase, True), index, group_number)
            for phrase in topic.exclude:
                self._add(_phrase_keys(phrase, False), index, _EXCL)

    def _add(self, keys: list[tuple[tuple[str, str], str]], topic: int, role: int) -> None:
        if not keys:
            return
        node = self._root
        for key, lower in keys:
            node = node.child(key, lower)
        if (topic, role) not in node.payload:
            node.payload.append((topic, role))

    def _atom(self, raw: str) -> tuple:
        """(stem, exact key, word key, lowercase, capitals, root nodes reached) of a text atom, cached."""
        entry = self._atom_cache.get(raw)
        if entry is None:
            surface, lower, stem = _word_forms(raw)
            capitals = len(surface) > 1 and _is_capitals(surface)
            word = (stem, (_EXACT, surface), (_WORDKEY, lower), lower, capitals)
            entry = (*word, self._step([self._root], word))
            if len(self._atom_cache) < 500_000:
                self._atom_cache[raw] = entry
        return entry

    @staticmethod
    def _step(frontier: list[_Node], word: tuple) -> list[_Node]:
        """The nodes reached from ``frontier`` by one text word."""
        stem, exact_key, word_key, lower, capitals = word[:5]
        reached = []
        for node in frontier:
            edges = node.stems.get(stem)
            if edges:
                reached += [child for phrase_word, child in edges if _accepts(lower, capitals, phrase_word)]
            if node.children:
                child = node.children.get(exact_key)
                if child is not None:
                    reached.append(child)
                child = node.children.get(word_key)
                if child is not None:
                    reached.append(child)
        return reached

    def _scan(self, text: str) -> tuple[list[tuple], dict[int, dict[int, list[tuple[int, int]]]]]:
        """One pass over the atoms of ``text``: [(start, end, break before, entry)] and
        topic -> role -> [(first atom, last atom + 1)]."""
        atoms: list[tuple] = []
        append, cache, find = atoms.append, self._atom_cache, text.find
        brk, pos = True, 0
        for raw in _SCAN.findall(text):      # "" for a break character
            if not raw:
                brk = True
                continue
            # between two atoms there are only non-word characters, so find() lands on this atom
            start = find(raw, pos)
            pos = start + len(raw)
            append((start, pos, brk, cache.get(raw) or self._atom(raw)))
            brk = False
        found: dict[int, dict[int, list[tuple[int, int]]]] = {}
        n = len(atoms)
        step = self._step
        for i, atom in enumerate(atoms):
            frontier = atom[3][5]
            j = i
            while frontier:
                for node in frontier:
                    for topic, role in node.payload:
                        found.setdefault(topic, {}).setdefault(role, []).append((i, j + 1))
                j += 1
                if j >= n or atoms[j][2]:
                    break
                frontier = step(frontier, atoms[j][3])
        return atoms, found

    def tag(self, text: str) -> tuple[list[str], list[Evidence]]:
        """Sorted unique tag ids of ``text`` and the evidence: matched phrases with offsets into ``text``."""
        atoms, found = self._scan(text)
        tags: dict[str, list[tuple[int, int]]] = {}
        for index, roles in found.items():
            topic = self._topics[index]
            excluded = roles.pop(_EXCL, None)
            if excluded:
                roles = {role: [h for h in hits if not _inside(h, excluded)] for role, hits in roles.items()}
            spans = _non_overlapping(roles.get(_SYN, []))
            if len(spans) < max(topic.min_hits, 1):
                spans = []
                groups = range(len(topic.all_of))
                if topic.all_of and all(roles.get(g) for g in groups):
                    spans = _non_overlapping([hit for g in groups for hit in roles[g]])
            if spans:
                tags[topic.id] = spans
        evidence = [Evidence(tag, text[atoms[a][0]:atoms[b - 1][1]], atoms[a][0], atoms[b - 1][1])
                    for tag in sorted(tags) for a, b in tags[tag]]
        return sorted(tags), evidence

def _inside(hit: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(start <= hit[0] and hit[1] <= end for start, end in spans)


def _non_overlapping(hits: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Leftmost-longest hits that do not overlap: one mention counts once."""
    kept: list[tuple[int, int]] = []
    last_end = -1
    for start, end in sorted(set(hits), key=lambda h: (h[0], -h[1])):
        if start >= last_end:
            kept.append((start, end))
            last_end = end
    return kept
