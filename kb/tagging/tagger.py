"""The tagger: every phrase of every topic compiled once into one trie, and a passage tagged in a
single pass over its atoms (the rules are in ``kb.tagging``)."""
from __future__ import annotations

from kb.models import Evidence

from .phrases import EXACT, SCAN, STEM, WORDKEY, is_capitals, phrase_keys, word_forms, words_close
from .taxonomy import Taxonomy

_SYN, _EXCL = -1, -2      # roles of a phrase in the trie; 0, 1, ... are all_of group numbers


class _Node:
    __slots__ = ("children", "stems", "payload")

    def __init__(self) -> None:
        self.children: dict[tuple[str, str], _Node] = {}        # exact / unstemmed word -> next node
        self.stems: dict[str, list[tuple[str, _Node]]] = {}     # stem -> [(phrase word, next node)]
        self.payload: list[tuple[int, int]] = []                # (topic index, role)

    def child(self, key: tuple[str, str], lower: str) -> "_Node":
        if key[0] != STEM:
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
                self._add(phrase_keys(phrase, True), index, _SYN)
            for group_number, group in enumerate(topic.all_of):
                for phrase in group:
                    self._add(phrase_keys(phrase, True), index, group_number)
            for phrase in topic.exclude:
                self._add(phrase_keys(phrase, False), index, _EXCL)

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
            surface, lower, stem = word_forms(raw)
            capitals = len(surface) > 1 and is_capitals(surface)
            word = (stem, (EXACT, surface), (WORDKEY, lower), lower, capitals)
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
        for raw in SCAN.findall(text):      # "" for a break character
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

    def tag_document(self, title: str, passages) -> list[tuple[list[str], list[Evidence]]]:
        """Tags and evidence of each passage (objects with ``text`` and ``section``) of one document."""
        return [self.tag(p.text) for p in passages]


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
