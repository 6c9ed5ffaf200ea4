"""Synthetic passage sets for the speed bench: words drawn from a Zipf distribution over the
SciFact vocabulary (ranked by corpus frequency), in sentences, one passage per document, so that
a set of N documents becomes exactly N passages through ``kb ingest``.

    .venv/bin/python bench/synthetic.py 100000 out.jsonl
"""
from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np

WORD = re.compile(r"[A-Za-z][a-z]+")  # lowercase-able words: no acronyms, numbers, chemistry


def vocabulary(corpus: Path) -> list[str]:
    """SciFact's words, most frequent first."""
    counts: Counter = Counter()
    with open(corpus, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            counts.update(w.lower() for w in WORD.findall(record["title"] + " " + record["text"]))
    return [w for w, _ in counts.most_common()]


def write(corpus: Path, count: int, out: Path, seed: int = 7, exponent: float = 1.0,
          min_words: int = 50, max_words: int = 115) -> int:
    """``count`` documents of ``min_words``..``max_words`` words (one passage each under kb's
    default 40/120/200 sizes), written as JSON Lines (``_id``, ``title``, ``text``)."""
    words = np.array(vocabulary(corpus), dtype=object)
    ranks = np.arange(1, len(words) + 1, dtype=np.float64)
    p = ranks ** -exponent
    p /= p.sum()
    rng = np.random.default_rng(seed)
    tmp = out.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for start in range(0, count, 10_000):
            n = min(10_000, count - start)
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
                f.write(json.dumps({"_id": f"s{start + i}", "title": title, "text": " ".join(body)}) + "\n")
    tmp.replace(out)
    return count


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    write(root.parent / "shared" / "eval" / "scifact" / "corpus.jsonl", int(sys.argv[1]), Path(sys.argv[2]))
