"""Synthetic passage sets for the speed bench and for tests that need volume (kill -9 trials,
concurrent writers): words drawn from a Zipf distribution over a vocabulary ranked by frequency,
in sentences. By default one passage per document, so that a set of N documents becomes exactly
N passages through ``kb ingest``.

The vocabulary is ``bench/data/vocabulary.txt`` (SciFact's 6,000 most frequent words, most
frequent first), so nothing here needs ``../shared``; ``vocabulary(corpus)`` ranks another
collection's words instead.

    .venv/bin/python bench/synthetic.py 100000 out.jsonl
"""
from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Iterator

import numpy as np

WORD = re.compile(r"[A-Za-z][a-z]+")  # lowercase-able words: no acronyms, numbers, chemistry


VOCABULARY = Path(__file__).resolve().parent / "data" / "vocabulary.txt"


def vocabulary(corpus: Path | None = None) -> list[str]:
    """A collection's words (``_id``/``title``/``text`` JSON Lines), most frequent first; without
    one, the committed vocabulary."""
    if corpus is None:
        return VOCABULARY.read_text(encoding="utf-8").split()
    counts: Counter = Counter()
    with open(corpus, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            counts.update(w.lower() for w in WORD.findall(record["title"] + " " + record["text"]))
    return [w for w, _ in counts.most_common()]


def documents(count: int, start: int = 0, seed: int = 7, exponent: float = 1.0, min_words: int = 50,
              max_words: int = 115, words: list[str] | None = None) -> Iterator[dict]:
    """``count`` documents (``_id`` ``s<start>``, ``s<start+1>``, ...) of ``min_words``..``max_words``
    words in sentences of 8 to 24, with a title of 5 to 12 words; the defaults make one passage
    each under kb's default 40/120/200 sizes. The same arguments give the same documents."""
    words = np.array(words or vocabulary(), dtype=object)
    ranks = np.arange(1, len(words) + 1, dtype=np.float64)
    p = ranks ** -exponent
    p /= p.sum()
    rng = np.random.default_rng(seed)
    for block in range(0, count, 10_000):
        n = min(10_000, count - block)
        lengths = rng.integers(min_words, max_words + 1, n)
        title_lengths = rng.integers(5, 13, n)
        drawn = words[rng.choice(len(words), size=int(lengths.sum() + title_lengths.sum()), p=p)]
        sentence_lengths = rng.integers(8, 25, int(lengths.sum()) // 8 + n)
        pos = cut = 0
        for i in range(n):
            title = " ".join(drawn[pos:pos + title_lengths[i]]).capitalize()
            pos += title_lengths[i]
            body, left = [], lengths[i]
            while left > 0:
                size = min(int(sentence_lengths[cut]), left)
                cut += 1
                left -= size
                body.append(" ".join(drawn[pos:pos + size]).capitalize() + ".")
                pos += size
            yield {"_id": f"s{start + block + i}", "title": title, "text": " ".join(body)}


def write(count: int, out: Path, corpus: Path | None = None, **options) -> int:
    """``count`` documents (see ``documents``) as JSON Lines, written whole or not at all; words
    from ``corpus`` when given, else the committed vocabulary."""
    tmp = out.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for doc in documents(count, words=vocabulary(corpus) if corpus else None, **options):
            f.write(json.dumps(doc) + "\n")
    tmp.replace(out)
    return count


if __name__ == "__main__":
    write(int(sys.argv[1]), Path(sys.argv[2]))
