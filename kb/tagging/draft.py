"""A taxonomy drafted from a knowledge base's own passages (``kb taxonomy draft``): how a user of
another field gets useful tags on day one.

1. Candidate key phrases: the runs of content words between stop words and punctuation (RAKE's
   candidates, ``kb.tagging.keywords``) and their sub-phrases of one to three words, grouped by
   the key the tagger matches them with (so "developing country" and "developing countries" are
   one candidate), each shown in its most frequent form.
2. Passages as vectors: tf-idf over the candidates found in 3 or more passages (and at most a
   quarter of them), or the passages' embeddings when the semantic extra is on; clustered by
   spherical k-means (k-means++ seeding, a fixed seed: the same corpus drafts the same taxonomy).
3. Each cluster is a topic. Its synonyms are the phrases that best separate it: a phrase belongs
   to the cluster holding the largest share of its passages (so no synonym is claimed twice),
   needs half of them there, and is picked greedily by the passages of the cluster it newly
   covers times that share, multi-word phrases first (single words count only in context).
   The label is its two best phrases; the description, the sentence of its most central passage
   that holds the most of them.
"""
from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from ..models import slugify
from .keywords import STOP_WORDS
from .phrases import phrase_key, synonyms_equivalent

_CHUNK = re.compile(r"[.,;:!?()\[\]{}\"“”]|\s[-–—]\s")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
MAX_VOCABULARY = 4000
MIN_PASSAGES = 3
MAX_SYNONYMS = 20


@dataclass
class DraftTopic:
    id: str
    label: str
    description: str
    synonyms: list[str]
    passages: int                        # passages of its cluster
    covered: int                         # of those, holding one of its synonyms
    central: list[str] = field(default_factory=list)   # ids of its most central passages


def candidates(text: str, longest: int = 3) -> set[str]:
    """The candidate key phrases of a passage (lowercase, one to ``longest`` words)."""
    found = set()
    for chunk in _CHUNK.split(text):
        run: list[str] = []
        for word in _WORD.findall(chunk) + [""]:
            lower = word.lower().replace("’", "'")
            if word and lower not in STOP_WORDS and len(lower) > 2 and not lower.endswith("'s"):
                run.append(lower)
                continue
            for n in range(1, longest + 1):
                for i in range(len(run) - n + 1):
                    found.add(" ".join(run[i:i + n]))
            run = []
    return found


def draft(passages: list[dict], topics: int = 12, vectors: np.ndarray | None = None,
          seed: int = 13) -> list[DraftTopic]:
    """Topics for these passages (dicts with ``id`` and ``text``); ``vectors``: their embeddings
    (one row each), else tf-idf over the candidate phrases."""
    n = len(passages)
    if n < 2 * topics:
        raise ValueError(f"{n} passages are too few to draft {topics} topics (at least {2 * topics})")
    keys_of: list[set[str]] = []
    forms: dict[str, Counter] = defaultdict(Counter)
    df: Counter = Counter()
    for p in passages:
        keys = set()
        for phrase in candidates(p["text"]):
            key = phrase_key(phrase)
            if key:
                keys.add(key)
                forms[key][phrase] += 1
        keys_of.append(keys)
        df.update(keys)
    least = max(MIN_PASSAGES, math.ceil(0.001 * n))
    vocabulary = [k for k, c in df.most_common() if least <= c <= 0.25 * n][:MAX_VOCABULARY]
    if len(vocabulary) < topics:
        raise ValueError("too few phrases recur in the passages to draft topics from")
    column = {k: i for i, k in enumerate(vocabulary)}
    presence = np.zeros((n, len(vocabulary)), dtype=np.float32)
    for row, keys in enumerate(keys_of):
        for k in keys:
            if k in column:
                presence[row, column[k]] = 1.0
    idf = np.log(n / np.array([df[k] for k in vocabulary], dtype=np.float32))
    space = vectors.astype(np.float32) if vectors is not None else presence * idf
    space = space / np.maximum(np.linalg.norm(space, axis=1, keepdims=True), 1e-9)
    runs = [_kmeans(space, topics, seed + i) for i in range(4)]   # the tightest of four seedings
    assignment, centroids = max(runs, key=lambda r: float(np.sum(space * r[1][r[0]])))
    shares = _shares(presence, assignment, topics)          # topics × vocabulary: share of a phrase's passages
    counts = np.stack([presence[assignment == c].sum(axis=0) for c in range(topics)])
    owner = shares.argmax(axis=0)
    out: list[DraftTopic] = []
    used_ids: set[str] = set()
    for c in range(topics):
        members = np.flatnonzero(assignment == c)
        if not len(members):
            continue
        chosen = _synonyms(c, members, presence, counts, shares, owner, vocabulary)
        if not chosen:
            continue
        surface = [forms[vocabulary[j]].most_common(1)[0][0] for j in chosen]
        central = members[np.argsort(-(space[members] @ centroids[c]))][:5]
        covered = int(presence[np.ix_(members, chosen)].max(axis=1).sum())
        label = ", ".join(([s for s in surface if " " in s] + [s for s in surface if " " not in s])[:2])
        out.append(DraftTopic(id=_unique(slugify(label.split(",")[0], 40) or f"topic-{c + 1}", used_ids),
                              label=label[:1].upper() + label[1:],
                              description=_description([passages[i]["text"] for i in central], surface, label),
                              synonyms=surface, passages=len(members), covered=covered,
                              central=[passages[i]["id"] for i in central]))
    return _claimed_once(sorted(out, key=lambda t: -t.passages))


def _kmeans(space: np.ndarray, k: int, seed: int, rounds: int = 25) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centroids = [space[rng.integers(len(space))]]
    for _ in range(1, k):   # k-means++: far from the chosen ones, by cosine distance
        distance = 1 - np.max(space @ np.stack(centroids).T, axis=1)
        distance = np.clip(distance, 0, None) ** 2
        total = distance.sum()
        centroids.append(space[rng.choice(len(space), p=distance / total) if total > 0 else rng.integers(len(space))])
    centroids = np.stack(centroids)
    assignment = np.zeros(len(space), dtype=np.int64)
    for _ in range(rounds):
        new = np.argmax(space @ centroids.T, axis=1)
        for c in range(k):
            members = space[new == c]
            if len(members):
                mean = members.mean(axis=0)
                centroids[c] = mean / max(np.linalg.norm(mean), 1e-9)
        if np.array_equal(new, assignment):
            break
        assignment = new
    return assignment, centroids


def _shares(presence: np.ndarray, assignment: np.ndarray, k: int) -> np.ndarray:
    totals = np.maximum(presence.sum(axis=0), 1.0)
    return np.stack([presence[assignment == c].sum(axis=0) / totals for c in range(k)])


def _synonyms(c, members, presence, counts, shares, owner, vocabulary) -> list[int]:
    """Greedy cover of the cluster's passages by the phrases that separate it best."""
    pool = [j for j in np.flatnonzero(owner == c)
            if shares[c, j] >= (0.5 if " " in vocabulary[j] else 0.6) and counts[c, j] >= MIN_PASSAGES]
    pool.sort(key=lambda j: -(counts[c, j] * shares[c, j] * (2.0 if " " in vocabulary[j] else 1.0)))
    pool = pool[:200]
    covered = np.zeros(len(members), dtype=bool)
    chosen: list[int] = []
    block = presence[members]
    while len(chosen) < MAX_SYNONYMS and covered.mean() < 0.9:
        best, gain = None, 0.0
        for j in pool:
            if j in chosen:
                continue
            new = float(np.count_nonzero(block[:, j].astype(bool) & ~covered))
            score = new * shares[c, j] * (2.0 if " " in vocabulary[j] else 1.0)
            if score > gain:
                best, gain = j, score
        if best is None or gain < 1.0:
            break
        chosen.append(best)
        covered |= block[:, best].astype(bool)
    return chosen


def _description(texts: list[str], synonyms: list[str], label: str) -> str:
    """The sentence of the most central passages that holds the most of the topic's phrases."""
    best, score = "", -1
    for rank, text in enumerate(texts):
        for sentence in _SENTENCE.split(text):
            lower = sentence.lower()
            hits = sum(1 for s in synonyms if s in lower) - 0.1 * rank
            if 40 <= len(sentence) <= 300 and hits > score:
                best, score = sentence.strip(), hits
    return best or f"Passages about {label}."


def _unique(slug: str, used: set[str]) -> str:
    candidate, i = slug, 2
    while candidate in used:
        candidate, i = f"{slug}-{i}", i + 1
    used.add(candidate)
    return candidate


def _claimed_once(topics: list[DraftTopic]) -> list[DraftTopic]:
    """Drop a synonym that matches the same words as one of an earlier topic (the taxonomy check's rule)."""
    seen: list[str] = []
    for topic in topics:
        kept = []
        for s in topic.synonyms:
            if not any(phrase_key(s) == phrase_key(o) and synonyms_equivalent(s, o) for o in seen):
                kept.append(s)
                seen.append(s)
        topic.synonyms = kept
    return [t for t in topics if t.synonyms]


def to_yaml(topics: list[DraftTopic], name: str, passages: int) -> str:
    """The draft as a taxonomy file that ``kb taxonomy check`` accepts."""
    import yaml  # only here: drafting is rare

    body = {"version": 1, "name": name, "topics": {
        t.id: {"label": t.label, "description": t.description, "synonyms": t.synonyms} for t in topics}}
    head = (f"# Drafted by `kb taxonomy draft` from {passages} passages: {len(topics)} topics.\n"
            "# Read it, rename and merge topics, prune synonyms, then `kb taxonomy use` this file.\n")
    return head + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=110)


def coverage(text: str, passages: list[dict]) -> dict[str, float]:
    """How the drafted taxonomy tags these passages, document by document, as the tagger will."""
    from .tagger import Tagger
    from .taxonomy import Taxonomy

    tagger = Tagger(Taxonomy.from_text(text, "draft"))
    by_document: dict[str, list] = defaultdict(list)
    for p in passages:
        by_document[p.get("document_id", p["id"])].append(_Text(p["text"]))
    counts = Counter()
    for texts in by_document.values():
        for tags, _ in tagger.tag_document("", texts):
            counts["none" if not tags else "one_to_three" if len(tags) <= 3 else "more"] += 1
    total = max(sum(counts.values()), 1)
    return {k: counts[k] / total for k in ("none", "one_to_three", "more")}


@dataclass
class _Text:
    text: str
    section: str = ""
