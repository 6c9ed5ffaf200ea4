"""What a tag's curated examples have in common, in words: the key terms of the passages tagged by
hand, and how much of them another passage holds (``kb.example_suggestions`` ranks passages with it).

A term is a content word (no stop word, three letters or more, not a number) reduced to its stem,
so "vaccines" and "vaccination" of two examples count as one term. Its weight is the share of the
examples that hold it times its inverse passage frequency in the whole knowledge base: a word all
examples share and few other passages use says most about the tag. A passage's score is the share
of the profile's weight it holds (0 to 1): cheap to compute on any text, the same on both engines,
and readable ("holds 40% of what the examples have in common").
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterable

from .keywords import STOP_WORDS
from .phrases import tokenize

PROFILE_TERMS = 20     # key terms kept per tag
CANDIDATE_TERMS = 60   # terms whose passage frequency is looked up, by share of the examples


def terms(text: str) -> dict[str, str]:
    """The content terms of a text: stem → the first lowercase form seen."""
    out: dict[str, str] = {}
    for atom in tokenize(text):
        lower = atom.lower
        if len(lower) < 3 or lower in STOP_WORDS or not lower[0].isalpha() or "&" in lower or "'" in lower:
            continue
        out.setdefault(atom.stem, lower)
    return out


@dataclass(frozen=True)
class Profile:
    weights: dict[str, float]   # stem → weight
    words: dict[str, str]       # stem → a form to search for

    @property
    def query(self) -> str:
        """The key terms as words to OR in a search, heaviest first."""
        return " ".join(self.words[t] for t in sorted(self.weights, key=lambda t: (-self.weights[t], t)))

    def score(self, text: str) -> float:
        """The share of the profile's weight this text holds."""
        total = sum(self.weights.values())
        if not total:
            return 0.0
        held = terms(text).keys() & self.weights.keys()
        return round(sum(self.weights[t] for t in held) / total, 4)

    def closest(self, text: str, examples: dict[str, str]) -> str | None:
        """Of these examples (id → text), the one sharing the most key-term weight with ``text``."""
        held = terms(text).keys() & self.weights.keys()
        best, best_weight = None, 0.0
        for example_id, example in examples.items():
            weight = sum(self.weights[t] for t in held & terms(example).keys())
            if weight > best_weight:
                best, best_weight = example_id, weight
        return best


def profile(texts: Iterable[str], passage_count: int, passages_with: Callable[[str], int],
            size: int = PROFILE_TERMS) -> Profile:
    """The key terms of these example texts; ``passages_with(word)``: how many passages of the
    knowledge base hold the word, ``passage_count``: how many passages it has. A term that no
    passage but the examples holds cannot find another passage and is left out."""
    held: Counter = Counter()
    words: dict[str, str] = {}
    n = 0
    for text in texts:
        n += 1
        found = terms(text)
        held.update(found.keys())
        for stem, word in found.items():
            words.setdefault(stem, word)
    if not n:
        return Profile({}, {})
    weights = {}
    for stem, count in sorted(held.items(), key=lambda kv: (-kv[1], kv[0]))[:CANDIDATE_TERMS]:
        df = passages_with(words[stem])
        if df <= count:
            continue
        weights[stem] = (count / n) * math.log((passage_count + 1) / (df + 0.5))
    kept = sorted(weights, key=lambda t: (-weights[t], t))[:size]
    return Profile({t: round(weights[t], 4) for t in kept}, {t: words[t] for t in kept})
