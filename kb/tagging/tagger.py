"""The tagger: every phrase of every topic compiled once into one trie, and a passage tagged in a
single pass over its atoms (the rules are in ``kb.tagging``)."""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field

from kb.models import Evidence

from .phrases import EXACT, SCAN, STEM, WORDKEY, is_capitals, phrase_keys, word_forms, words_close
from .taxonomy import Taxonomy

_SYN, _EXCL, _CTX = -1, -2, -3   # roles of a phrase in the trie; 0, 1, ... are all_of group numbers
_SENTENCE_END = re.compile(r"[.!?;:](?=[\s\"'\u201d)\]]|$)|\n")
_REFERRING = re.compile(r"\b(?:the|this|that|these|those|its|their)\s+(\w+)", re.IGNORECASE)
# nouns that name an institution, a programme, an agreement or an outbreak, so that "the agency",
# "the initiative" or "the virus" refer back to the full name of one (a closed class, for any field)
REFERRING_HEADS = frozenset("""agency organization organisation initiative program programme plan strategy
treaty agreement accord accords convention protocol fund council commission alliance partnership institute
foundation authority bank summit consortium mission office bureau department ministry administration
virus disease pandemic epidemic outbreak act framework""".split())
# "American Metal Resources (AMR)": a document that spells an acronym out says what it means there
_DEFINED = re.compile(r"((?:[A-Z][\w'’-]*\s+(?:(?:of|and|for|the|on|in|&)\s+)*){1,8})\(([A-Z][A-Z0-9&]{1,9})s?\)")
DOCUMENT_SUPPORT = 2      # strong hits a document needs before its single words count on their own
ESTABLISHED_PASSAGES = 2  # passages with a topic's own evidence that make it present in a document


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
        self._index_of = {t.id: i for i, t in enumerate(self._topics)}
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
            for phrase in topic.context:
                self._add(phrase_keys(phrase, True), index, _CTX)

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
        """Sorted unique tag ids of ``text`` (taken as a document of its own) and the evidence:
        matched phrases with offsets into ``text``."""
        reading = self._read(text)
        return self._decide(reading, reading.strong >= DOCUMENT_SUPPORT)

    def tag_document(self, title: str, passages) -> list[tuple[list[str], list[Evidence]]]:
        """Tags and evidence of each passage (objects with ``text`` and ``section``) of one
        document: single words count where the document is of the field, and a topic present in
        the document (in its title, or with evidence in several passages) reaches the passages
        that refer to it indirectly (see ``kb.tagging``)."""
        readings = [self._read(p.text) for p in passages]
        title_reading = self._read(title or "")
        self._drop_redefined(" ".join([title or ""] + [p.text for p in passages]), readings + [title_reading])
        supported = sum(r.strong for r in readings) + title_reading.strong >= DOCUMENT_SUPPORT
        decided = [self._decide(r, supported) for r in readings]
        title_tags = set(self._decide(title_reading, supported)[0])
        present: dict[str, int] = {}
        for tags, _ in decided:
            for tag in tags:
                present[tag] = present.get(tag, 0) + 1
        established = {t for t, n in present.items() if n >= ESTABLISHED_PASSAGES} | title_tags
        if not established and not any(p.section for p in passages):
            return decided
        heads = self._referring_heads(decided, established)
        headings: dict[str, set[str]] = {}
        out = []
        for passage, reading, (tags, evidence) in zip(passages, readings, decided):
            tags = set(tags)
            section = (passage.section or "").split(" > ")[-1].strip()
            if section and section not in headings:
                heading_tags, heading_evidence = self.tag(section)
                headings[section] = {e.tag for e in heading_evidence if len(e.phrase.split()) > 1
                                     or e.tag in established} | (set(heading_tags) & established)
            for tag in sorted(headings.get(section, set()) - tags):
                tags.add(tag)
                evidence.append(Evidence(tag, "", 0, 0, source="context", via=f"section: {section}"))
            for tag in sorted(established - tags):
                cue = self._cue(reading, tag, heads.get(tag, ()))
                if cue is not None:
                    tags.add(tag)
                    via = "title" if tag in title_tags else f"{present.get(tag, 0)} passages"
                    evidence.append(Evidence(tag, passage.text[cue[0]:cue[1]], cue[0], cue[1],
                                             source="context", via=via))
            out.append((sorted(tags), evidence))
        return out

    # ------------------------------------------------------------------ reading and deciding

    def _read(self, text: str) -> "_Reading":
        atoms, found = self._scan(text)
        reading = _Reading(text, atoms)
        for index, roles in found.items():
            excluded = roles.pop(_EXCL, None)
            if excluded:
                roles = {role: [h for h in hits if not _inside(h, excluded)] for role, hits in roles.items()}
            found[index] = roles
            for role, hits in roles.items():
                if role != _CTX:
                    reading.vocabulary.extend(hits)
        reading.found = found
        for index, roles in found.items():
            topic = self._topics[index]
            spans = [h for h in _non_overlapping(roles.get(_SYN, [])) if not reading.shouting(h)]
            strong = [h for h in spans if reading.strong_hit(h)]
            groups = range(len(topic.all_of))
            all_of = bool(topic.all_of) and all(roles.get(g) for g in groups)
            reading.strong += len(strong) + all_of
        return reading

    def _drop_redefined(self, text: str, readings: list) -> None:
        """An acronym the document spells out as something no topic's phrase names ("American
        Metal Resources (AMR)") is not that topic's acronym ("AMR", antimicrobial resistance) there."""
        for match in _DEFINED.finditer(text):
            words, acronym = match.group(1).split(), match.group(2)
            initials = "".join(w[0] for w in words if w[0].isupper())
            if not initials.endswith(acronym):
                continue
            meant = set(self.tag(" ".join(words))[0])
            for reading in readings:
                for index, roles in reading.found.items():
                    if self._topics[index].id in meant:
                        continue
                    for role, hits in roles.items():
                        roles[role] = [h for h in hits if not (h[1] - h[0] == 1
                                                               and reading.atoms[h[0]][3][1][1] == acronym)]

    def _decide(self, reading: "_Reading", supported: bool) -> tuple[list[str], list[Evidence]]:
        """The topics of one passage: a single-word hit needs another phrase of the taxonomy in
        its sentence, or a document of the field (``supported``); capitals in a shouting sentence
        (a licence, a heading in capitals) are no acronym."""
        atoms, text = reading.atoms, reading.text
        tags: dict[str, list[tuple[int, int]]] = {}
        for index, roles in reading.found.items():
            topic = self._topics[index]
            spans = [h for h in _non_overlapping(roles.get(_SYN, [])) if not reading.shouting(h)]
            spans = [h for h in spans if reading.strong_hit(h) or supported or reading.supported(h)]
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

    def _referring_heads(self, decided, established: set[str]) -> dict[str, set[str]]:
        """Per established topic, the head nouns of its multi-word evidence that can refer back to
        it ("the initiative" after "Belt and Road Initiative"); a head two topics share is nobody's."""
        heads: dict[str, set[str]] = {}
        for _, evidence in decided:
            for e in evidence:
                words = e.phrase.split()
                if e.tag in established and len(words) > 1 and not e.source:
                    head = words[-1].lower().strip("'’")
                    if head in REFERRING_HEADS:
                        heads.setdefault(e.tag, set()).add(head)
        owners: dict[str, int] = {}
        for words in heads.values():
            for w in words:
                owners[w] = owners.get(w, 0) + 1
        return {t: {w for w in words if owners[w] == 1} for t, words in heads.items()}

    def _cue(self, reading: "_Reading", tag: str, heads) -> tuple[int, int] | None:
        """Where the passage refers to an established topic without naming it: one of its
        ``context`` phrases, or "the <head>" of its evidence elsewhere in the document."""
        index = self._index_of[tag]
        roles = reading.found.get(index, {})
        for a, b in _non_overlapping(roles.get(_CTX, [])):
            return reading.atoms[a][0], reading.atoms[b - 1][1]
        if heads:
            for match in _REFERRING.finditer(reading.text):
                word = match.group(1).lower()
                if word in heads or (word.endswith("s") and word[:-1] in heads):
                    return match.start(), match.end()
        return None


@dataclass
class _Reading:
    """One text as the tagger read it: atoms, hits per topic and role, sentences."""
    text: str
    atoms: list
    found: dict = field(default_factory=dict)
    vocabulary: list = field(default_factory=list)   # every phrase hit of the taxonomy (not context)
    strong: int = 0                                  # multi-word synonym hits and all_of matches
    _sentences: list | None = None
    _shouting: dict = field(default_factory=dict)

    def sentence(self, atom: int) -> int:
        if self._sentences is None:
            self._sentences = [m.end() for m in _SENTENCE_END.finditer(self.text)]
        return bisect_right(self._sentences, self.atoms[atom][0])

    def strong_hit(self, hit: tuple[int, int]) -> bool:
        """A phrase of several words, or a code of letters and digits ("G20", "COP28"): what no
        other field says by chance."""
        if hit[1] - hit[0] > 1:
            return True
        word = self.atoms[hit[0]][3][3]
        return any(c.isdigit() for c in word) and any(c.isalpha() for c in word)

    def supported(self, hit: tuple[int, int]) -> bool:
        """Another phrase of the taxonomy in the hit's sentence."""
        sentence = self.sentence(hit[0])
        return any((b <= hit[0] or a >= hit[1]) and self.sentence(a) == sentence for a, b in self.vocabulary)

    def shouting(self, hit: tuple[int, int]) -> bool:
        """A hit on a word in capitals inside a sentence mostly in capitals."""
        if not all(self.atoms[i][3][4] for i in range(*hit)):
            return False
        sentence = self.sentence(hit[0])
        if sentence not in self._shouting:
            words = [a for i, a in enumerate(self.atoms) if self.sentence(i) == sentence and a[3][3].isalpha()]
            loud = sum(1 for a in words if a[3][4])
            self._shouting[sentence] = len(words) >= 4 and loud >= 0.6 * len(words)
        return self._shouting[sentence]


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
