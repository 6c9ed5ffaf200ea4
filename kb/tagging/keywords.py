"""Keyphrases per passage, by RAKE (Rose et al., 2010): candidate phrases are the runs of
content words between stop words and punctuation, scored by the degree/frequency of their
words. One pass over the passage, no corpus statistics, so ingest stays fast."""
from __future__ import annotations

import re
from collections import defaultdict

STOP_WORDS = frozenset("""
a about above across after again against all almost also although always am among an and any
are as at be because been before being below between both but by can cannot could did do does
doing done down during each either else even ever every few for from further had has have having
he her here hers him his how however i if in into is it its itself just least less like made make
many may me might more most much must my neither no nor not now of off often on once one only or
other others our out over own per perhaps rather same she should since so some such than that the
their them then there these they this those though through thus to too under until up upon us
very was we were what when where whether which while who whom whose why will with within without
would yet you your first second third new well way ways also via etc
""".split())

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’-]*[A-Za-z0-9]|[A-Za-z]")
_SPLIT = re.compile(r"[.,;:!?()\[\]{}\"“”]|\s[-–—]\s")


def keywords(text: str, top: int = 5, max_words: int = 4) -> list[str]:
    """The ``top`` keyphrases of ``text``, best first, lowercased."""
    phrases: list[tuple[str, ...]] = []
    for chunk in _SPLIT.split(text):
        current: list[str] = []
        for word in _WORD.findall(chunk):
            lower = word.lower().replace("’", "'")
            if lower in STOP_WORDS or len(lower) < 3 and not word.isupper():
                if current:
                    phrases.append(tuple(current))
                current = []
            else:
                current.append(lower)
        if current:
            phrases.append(tuple(current))
    phrases = [p for p in phrases if len(p) <= max_words]
    if not phrases:
        return []
    frequency: dict[str, int] = defaultdict(int)
    degree: dict[str, int] = defaultdict(int)
    for phrase in phrases:
        for word in phrase:
            frequency[word] += 1
            degree[word] += len(phrase)
    scored: dict[str, float] = {}
    for phrase in phrases:
        key = " ".join(phrase)
        if key not in scored:
            scored[key] = sum(degree[w] / frequency[w] for w in phrase)
    ranked = sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))
    out: list[str] = []
    for phrase, _score in ranked:
        if any(phrase in chosen for chosen in out):
            continue
        out.append(phrase)
        if len(out) == top:
            break
    return out
