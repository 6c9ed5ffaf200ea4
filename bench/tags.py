#!/usr/bin/env python3
"""Tag quality through the real thing: precision, recall and F1 of kb's topic tags against gold
files, over HTTP, one report per gold file.

    python bench/tags.py tests/data/tags/*.gold.json                 # a temporary kb serve
    python bench/tags.py GOLD --taxonomy mine.yaml                   # measure another taxonomy
    python bench/tags.py GOLD --url http://127.0.0.1:5000 --token T  # a running server (documents are PUT)
    python bench/tags.py GOLD --errors                               # every miss and every extra tag

A gold file is JSON: ``{"documents": [...], "passages": [...]}``. A document is
``{"id", "title"?, "path"}`` (a text file, relative to the gold file) or ``{"jsonl": "file.jsonl"}``
(documents as ``kb ingest`` reads them, each with its ``id``). A passage is
``{"document"?, "start", "end"}`` (offsets into that document's text) or ``{"text"}`` (found in
the documents), with ``"tags"`` (what a careful reader tags) and ``"acceptable"`` (tags that are
neither required nor wrong). Every gold passage is compared with the kb passage that overlaps it
most. Precision and recall count (passage, tag) pairs over the whole file (micro-averaged),
acceptable tags left out; a file whose gold has no tag at all (text out of the field) reports how
many passages kb left untagged.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.relevance import Server, kb_command  # noqa: E402


def load_gold(path: Path) -> tuple[list[dict], list[dict]]:
    """(documents to PUT: {"id", "title", "text"}, gold passages)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    documents = []
    for entry in data.get("documents", []):
        if "jsonl" in entry:
            for line in (path.parent / entry["jsonl"]).read_text(encoding="utf-8").splitlines():
                if line.strip():
                    record = json.loads(line)
                    documents.append({k: record[k] for k in ("id", "title", "text") if k in record})
        else:
            text = (path.parent / entry["path"]).read_text(encoding="utf-8")
            documents.append({"id": entry["id"], "title": entry.get("title") or text.splitlines()[0], "text": text})
    return documents, data["passages"]


def put_documents(session: requests.Session, url: str, documents: list[dict]) -> None:
    for doc in documents:
        answer = session.put(f"{url}/api/v1/documents/{doc['id']}", json=doc, timeout=120)
        if answer.status_code not in (200, 201):
            sys.exit(f"PUT {doc['id']}: {answer.status_code} {answer.text[:500]}")


def predicted(session: requests.Session, url: str, document_ids: set[str]) -> dict[str, dict]:
    """{document id: {"text", "passages": [{"start", "end", "tags", "id"}]}} as the server answers."""
    out = {}
    for doc_id in sorted(document_ids):
        answer = session.get(f"{url}/api/v1/documents/{doc_id}", timeout=60)
        answer.raise_for_status()
        out[doc_id] = answer.json()
    return out


def locate(gold: dict, documents: dict[str, dict]) -> tuple[str, int, int]:
    """(document id, start, end) of a gold passage."""
    if "start" in gold and "end" in gold:
        doc_id = gold.get("document") or next(iter(documents))
        return doc_id, gold["start"], gold["end"]
    for doc_id, doc in documents.items():
        at = doc["text"].find(gold["text"])
        if at >= 0:
            return doc_id, at, at + len(gold["text"])
    raise SystemExit(f"gold passage not found in any document: {gold['text'][:80]!r}")


def best_overlap(passages: list[dict], start: int, end: int) -> dict | None:
    def overlap(p):
        return min(end, p["end"]) - max(start, p["start"])
    best = max(passages, key=overlap, default=None)
    return best if best is not None and overlap(best) > 0 else None


def score(golds: list[dict], documents: dict[str, dict]) -> dict:
    tp = fp = fn = 0
    untagged = 0
    errors: list[str] = []
    per_tag: dict[str, Counter] = {}
    for gold in golds:
        doc_id, start, end = locate(gold, documents)
        passage = best_overlap(documents[doc_id]["passages"], start, end)
        got = set(passage["tags"]) if passage else set()
        want, ok = set(gold.get("tags", [])), set(gold.get("acceptable", []))
        untagged += not got
        for tag in got - ok:
            hit = tag in want
            tp, fp = tp + hit, fp + (not hit)
            per_tag.setdefault(tag, Counter())["tp" if hit else "fp"] += 1
        for tag in want - got:
            fn += 1
            per_tag.setdefault(tag, Counter())["fn"] += 1
        where = passage["id"] if passage else f"{doc_id}@{start}"
        if want - got:
            errors.append(f"{where}: missed {', '.join(sorted(want - got))}")
        if got - want - ok:
            errors.append(f"{where}: extra  {', '.join(sorted(got - want - ok))}")
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"passages": len(golds), "tp": tp, "fp": fp, "fn": fn, "precision": round(precision, 4),
            "recall": round(recall, 4), "f1": round(f1, 4), "untagged": untagged,
            "gold_tags": sum(len(g.get("tags", [])) for g in golds), "errors": errors,
            "per_tag": {t: dict(c) for t, c in sorted(per_tag.items())}}


def report(name: str, figures: dict, show_errors: bool, per_tag: bool) -> None:
    if figures["gold_tags"] == 0:   # out of the field: the share of passages left untagged
        print(f"{name:<44} out of the field: {figures['untagged']} of {figures['passages']} passages "
              f"untagged ({100 * figures['untagged'] / max(figures['passages'], 1):.1f}%), "
              f"{figures['fp']} wrong tags")
    else:
        print(f"{name:<44} P {figures['precision']:.3f}  R {figures['recall']:.3f}  F1 {figures['f1']:.3f}  "
              f"({figures['passages']} passages, {figures['tp']} right, {figures['fp']} extra, "
              f"{figures['fn']} missed)")
    if per_tag:
        for tag, c in figures["per_tag"].items():
            print(f"    {tag:<28} tp {c.get('tp', 0):3d}  fp {c.get('fp', 0):3d}  fn {c.get('fn', 0):3d}")
    if show_errors:
        for line in figures["errors"]:
            print(f"    {line}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("gold", nargs="+", type=Path, help="gold files (JSON)")
    parser.add_argument("--url", help="a running kb server (default: kb serve on a temporary home)")
    parser.add_argument("--token", help="the server's API token, to PUT the gold's documents")
    parser.add_argument("--taxonomy", type=Path, help="the temporary knowledge base's taxonomy (kb taxonomy use)")
    parser.add_argument("--errors", action="store_true", help="list every missed and every extra tag")
    parser.add_argument("--per-tag", action="store_true", help="right, extra and missed counts per tag")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    session = requests.Session()
    if args.token:
        session.headers["Authorization"] = f"Bearer {args.token}"
    server, tmp = None, None
    url = args.url.rstrip("/") if args.url else None
    try:
        if url is None:
            tmp = tempfile.TemporaryDirectory(prefix="kb-tags-")
            home = Path(tmp.name) / "kb"
            if args.taxonomy:
                done = subprocess.run(kb_command() + ["taxonomy", "use", str(args.taxonomy), "--home", str(home)],
                                      capture_output=True, text=True)
                if done.returncode:
                    sys.exit(done.stderr.strip())
            server = Server(home, workers=1)
            url = server.url
        results = {}
        for path in args.gold:
            documents, golds = load_gold(path)
            put_documents(session, url, documents)
            answers = predicted(session, url, {d["id"] for d in documents})
            results[path.name] = figures = score(golds, answers)
            report(path.name, figures, args.errors, args.per_tag)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    finally:
        if server is not None:
            server.stop()
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
