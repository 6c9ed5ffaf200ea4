"""Ingest figures per input format: the same SciFact abstracts written as .txt, .md (front
matter and headings), .html (with navigation, footer and script around the article), .pdf and
.jsonl, each folder ingested by the real ingest path (read + split + tag + index), timed.

    .venv/bin/python bench/formats.py [--docs 300]
"""
from __future__ import annotations

import argparse
import html
import json
import shutil
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "data"))

from make_pdf_fixtures import build as build_pdf  # noqa: E402

from kb.core import KnowledgeBase  # noqa: E402

SCIFACT = ROOT.parent / "shared" / "eval" / "scifact" / "corpus.jsonl"


def load(n: int) -> list[dict]:
    docs = []
    with open(SCIFACT, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if len(d["text"].split()) > 80:
                docs.append(d)
            if len(docs) == n:
                break
    return docs


def halves(text: str) -> tuple[str, str]:
    words = text.split()
    mid = len(words) // 2
    return " ".join(words[:mid]), " ".join(words[mid:])


def write_txt(d, path):
    path.write_text(f"{d['title']}\n\n{d['text']}\n", encoding="utf-8")


def write_md(d, path):
    a, b = halves(d["text"])
    path.write_text(f"---\ntitle: {json.dumps(d['title'])}\ntags: [bench]\nsource: scifact/{d['_id']}\n---\n\n"
                    f"# {d['title']}\n\n## Background\n\n{a}\n\n## Findings\n\n{b}\n", encoding="utf-8")


def write_html(d, path):
    a, b = halves(d["text"])
    path.write_text(
        f"<!doctype html><html><head><title>{html.escape(d['title'])} | Journal</title>"
        "<script>var tracking = 1;</script><style>body{font-family:serif}</style></head><body>"
        "<nav><a href='/'>Home</a> <a href='/topics'>Topics</a></nav>"
        f"<main><article><h1>{html.escape(d['title'])}</h1><p>{html.escape(a)}</p>"
        f"<h2>Findings</h2><p>{html.escape(b)}</p></article></main>"
        "<footer>Copyright 2024 Journal. All rights reserved.</footer></body></html>", encoding="utf-8")


def write_pdf(d, path):
    lines = [d["title"][:90]] + textwrap.wrap(d["text"], 85)
    lines = [line.encode("latin-1", "replace").decode("latin-1") for line in lines]
    pages = [lines[i:i + 40] for i in range(0, len(lines), 40)]
    path.write_bytes(build_pdf(pages, {"Title": d["title"][:90].encode("latin-1", "replace").decode("latin-1")}))


WRITERS = {"txt": write_txt, "md": write_md, "html": write_html, "pdf": write_pdf}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=300)
    args = parser.parse_args()
    docs = load(args.docs)
    work = Path(tempfile.mkdtemp(prefix="kb-formats-"))
    print(f"{len(docs)} SciFact abstracts per format, one kb ingest per folder\n")
    print("| format | files | documents | passages | refused | seconds | passages/s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    try:
        for fmt in ("txt", "md", "html", "pdf", "jsonl"):
            folder = work / fmt
            folder.mkdir()
            if fmt == "jsonl":
                with open(folder / "docs.jsonl", "w", encoding="utf-8") as f:
                    for d in docs:
                        f.write(json.dumps(d) + "\n")
            else:
                for d in docs:
                    WRITERS[fmt](d, folder / f"doc-{d['_id']}.{fmt}")
            files = len(list(folder.iterdir()))
            kb = KnowledgeBase(work / f"home-{fmt}")
            started = time.perf_counter()
            report = kb.ingest_paths([folder])
            seconds = time.perf_counter() - started
            print(f"| {fmt} | {files} | {report.documents} | {report.passages} | {len(report.refused)} | "
                  f"{seconds:.2f} | {report.passages / seconds:.0f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
