"""SQLite FTS5 over the same passages kb holds: the yardstick of the speed bench.

One column holds what kb indexes for a passage (title, section and text), tokenised by
``porter unicode61`` and ranked by FTS5's ``bm25()``; a query's words are ORed, each quoted, as
in ``../shared/eval/baseline_eval.py``. ``create_app()`` serves it over HTTP (Flask, like kb)
so that both engines can be timed behind the same server.
"""
from __future__ import annotations

import os
import re
import sqlite3
import time
from pathlib import Path

WORD = re.compile(r"\w+")


def build(db: Path, passages) -> tuple[int, float]:
    """(passages, seconds) to index ``passages`` (dicts with id, title, section, text)."""
    if db.exists():
        db.unlink()
    started = time.perf_counter()
    con = sqlite3.connect(db)
    con.execute("CREATE VIRTUAL TABLE p USING fts5(id UNINDEXED, body, text UNINDEXED, "
                "tokenize='porter unicode61')")
    count = 0
    batch = []
    for p in passages:
        body = f"{p.get('document_title') or p.get('title', '')}\n{p.get('section') or ''}\n{p['text']}"
        batch.append((p["id"], body, p["text"]))
        if len(batch) == 10_000:
            con.executemany("INSERT INTO p(id, body, text) VALUES (?, ?, ?)", batch)
            count += len(batch)
            batch.clear()
    con.executemany("INSERT INTO p(id, body, text) VALUES (?, ?, ?)", batch)
    count += len(batch)
    con.commit()
    con.close()
    return count, time.perf_counter() - started


def match_expression(q: str) -> str:
    return " OR ".join(f'"{w}"' for w in WORD.findall(q.lower())) or '""'


class Fts5:
    def __init__(self, db: Path):
        self.con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, check_same_thread=False)

    def search(self, q: str, limit: int = 10) -> list[tuple[str, str, float]]:
        """The ``limit`` best passages: (id, text, bm25), best first."""
        return self.con.execute("SELECT id, text, bm25(p) FROM p WHERE p MATCH ? ORDER BY bm25(p) LIMIT ?",
                                (match_expression(q), limit)).fetchall()

    def search_like_kb(self, q: str, limit: int = 10) -> tuple[int, list]:
        """What a kb answer holds besides facets: the exact total, and a marked-up snippet per hit."""
        expression = match_expression(q)
        total = self.con.execute("SELECT count(*) FROM p WHERE p MATCH ?", (expression,)).fetchone()[0]
        hits = self.con.execute("SELECT id, text, snippet(p, 1, '<mark>', '</mark>', '…', 40), bm25(p) FROM p "
                                "WHERE p MATCH ? ORDER BY bm25(p) LIMIT ?", (expression, limit)).fetchall()
        return total, hits


def create_app(db: str | None = None):
    from flask import Flask, jsonify, request

    app = Flask(__name__)
    engine = Fts5(Path(db or os.environ["FTS5_DB"]))

    @app.get("/health")
    def health():
        return {"status": "ok"}

    @app.get("/search")
    def search():
        hits = engine.search(request.args.get("q", ""), int(request.args.get("limit", 10)))
        return jsonify({"hits": [{"id": i, "text": t, "score": s} for i, t, s in hits]})

    return app
