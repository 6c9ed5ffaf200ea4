"""The index's unstemmed words with the number of passages holding each, for completions and
did-you-mean.

Indexing every word a second time as an unstemmed ``spell`` field doubled the postings the writer
made and merged (#18); a word list kept beside the segments costs a counter update per passage.
One file per commit generation, ``WORDS_<gen>.tsv`` (word, passages, occurrences; sorted), written under
the write lock *before* the commit that makes that generation: a reader takes the file of the
newest generation not above its own, so a killed commit leaves at worst a file for a generation
that never came, which the next commit writes again. Replaced and deleted passages are
subtracted (their stored text is read back), so counts stay exact.

An index made before this (with a ``spell`` field) keeps its field and the suggestions read it,
until ``kb rebuild`` makes the new layout."""
from __future__ import annotations

import bisect
import os
import re
from collections import Counter
from pathlib import Path

from whoosh.automata.fsa import find_all_matches
from whoosh.automata.lev import levenshtein_automaton

LEGACY_FIELD = "spell"
_FILE = re.compile(r"^WORDS_(\d+)\.tsv$")
_WORD = re.compile(r"\w+(?:\.?\w+)*", re.UNICODE)   # SimpleAnalyzer's words, as the spell field had
KEEP = 3   # generations of word files kept for searchers that are still open


class WordCounts:
    """Per word: the passages holding it (completions rank by it) and its occurrences in all
    (corrections rank by it, as Whoosh's corrector and the Sphinx engine do)."""

    def __init__(self):
        self.passages: Counter = Counter()
        self.occurrences: Counter = Counter()

    def add(self, other: "WordCounts", sign: int = 1) -> None:
        for word, n in other.passages.items():
            self.passages[word] += sign * n
        for word, n in other.occurrences.items():
            self.occurrences[word] += sign * n

    def subtract(self, other: "WordCounts") -> None:
        self.add(other, -1)

    def add_passage(self, occurrences: dict[str, int]) -> None:
        """One passage's words (``passage_occurrences``): what adding its ``passage_words`` adds, in one loop."""
        passages, total = self.passages, self.occurrences
        for word, n in occurrences.items():
            passages[word] += 1
            total[word] += n


def passage_occurrences(title: str, section: str, text: str) -> Counter:
    """A passage's unstemmed, lower-cased words (as the old ``spell`` field's SimpleAnalyzer), counted."""
    occurrences: Counter = Counter()
    for part in (title, section, text):
        occurrences.update(m.group(0).lower() for m in _WORD.finditer(part))
    return occurrences


def passage_words(title: str, section: str, text: str) -> WordCounts:
    counts = WordCounts()
    counts.add_passage(passage_occurrences(title, section, text))
    return counts


def files(folder: Path) -> dict[int, Path]:
    out = {}
    for entry in os.scandir(folder):
        m = _FILE.match(entry.name)
        if m:
            out[int(m.group(1))] = Path(entry.path)
    return out


def read(folder: Path, generation: int) -> WordCounts:
    """The word counts as of this generation (the newest file not above it)."""
    found = files(folder)
    usable = [g for g in found if g <= generation] or list(found)
    counts = WordCounts()
    if not usable:
        return counts
    with open(found[max(usable)], encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                counts.passages[parts[0]] = int(parts[1])
                counts.occurrences[parts[0]] = int(parts[2])
    return counts


def write(folder: Path, generation: int, counts: WordCounts) -> None:
    """Write the file of ``generation`` atomically (temporary name, then rename)."""
    path = folder / f"WORDS_{generation}.tsv"
    tmp = folder / f"WORDS_{generation}.tsv.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.writelines(f"{w}\t{n}\t{counts.occurrences[w]}\n" for w, n in sorted(counts.passages.items()) if n > 0)
    os.replace(tmp, path)


def prune(folder: Path, generation: int) -> None:
    """Drop word files of old generations and of generations above this one (killed commits)."""
    found = files(folder)
    kept = sorted(g for g in found if g <= generation)[-KEEP:]
    for g, path in found.items():
        if g not in kept:
            try:
                path.unlink()
            except OSError:
                pass


class WordList:
    """A sorted word list with counts: prefix completions and edit-distance corrections."""

    def __init__(self, counts: WordCounts):
        self.counts = counts
        self.words = sorted(w for w, n in counts.passages.items() if n > 0)

    def frequency(self, word: str) -> int:
        """Passages holding the word."""
        return max(self.counts.passages.get(word, 0), 0)

    def expand_prefix(self, prefix: str):
        i = bisect.bisect_left(self.words, prefix)
        while i < len(self.words) and self.words[i].startswith(prefix):
            yield self.words[i]
            i += 1

    def corrections(self, word: str, maxdist: int = 2, limit: int = 1) -> list[str]:
        """The words within ``maxdist`` edits, the most occurrences first (on a tie the
        alphabetically last), as Whoosh's corrector ranked the ``spell`` field's terms."""
        if not self.words:
            return []
        dfa = levenshtein_automaton(word, maxdist, 0).to_dfa()
        found = {w for w in find_all_matches(dfa, _Skipper(self.words)) if w != word}
        ranked = sorted(found, key=lambda w: (self.counts.occurrences[w], w), reverse=True)
        return ranked[:limit]


class _Skipper:
    """The next word of a sorted list at or after a key (what the automaton walk needs)."""

    def __init__(self, words: list[str]):
        self.words = words

    def __call__(self, key: str):
        i = bisect.bisect_left(self.words, key)
        return self.words[i] if i < len(self.words) else None
