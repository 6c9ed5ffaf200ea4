"""`kb ingest` over a pile of bad files (binary, empty, undecodable, missing, malformed, not a
regular file, unsupported) mixed with good ones, as a real process: one line per refused file
naming it and saying why, the good ones land, exit code 2, never a traceback."""
from __future__ import annotations

import codecs
import json
import os
import shutil
import subprocess

from helpers import DATA, KB_BIN

BAD = {   # file name -> (bytes, words the reason must contain)
    "binary.txt": (b"\x00\x01\x02\x03" * 40, "binary"),
    "empty.txt": (b"", "empty"),
    "blank.txt": (b"   \n\n\t  \n", "empty"),
    "controls.txt": (bytes(range(1, 9)) * 60, "binary"),
    "bad-utf16.txt": (codecs.BOM_UTF16_LE + b"a\x00b", "UTF-16"),
    "bad-utf32.md": (codecs.BOM_UTF32_LE + b"\x00\x00\x11\x00" * 3, "UTF-32"),
    "broken.pdf": (b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >>\nendobj\ntrailer\n%%EOF", "PDF"),
    "image.pdf": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "PDF"),
    "front.md": (b"---\ntitle: [unclosed\n---\nBody text about vaccines.\n", "front matter"),
    "only-front.md": (b"---\ntitle: Nothing else\n---\n", "no text"),
    "chrome.html": (b"<html><body><nav>Home | About</nav><script>x()</script></body></html>", ""),
    "lines.jsonl": (b'{"id": "fine-line", "text": "Vaccines reached the clinics."}\n[1, 2]\n{"text": 5}\n{"id": '
                    b'{"a": 1}, "text": "x"}\n{oops\n', ""),
    "slides.pptx": (b"PK\x03\x04 not a format kb reads", "unsupported"),
}


def kb(*args, input=None):
    return subprocess.run([str(KB_BIN), *map(str, args)], capture_output=True, input=input, timeout=300)


def test_every_bad_file_is_refused_in_one_line_and_the_good_ones_land(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, (data, _) in BAD.items():
        (inbox / name).write_bytes(data)
    shutil.copy(DATA / "notes.md", inbox / "notes.md")
    shutil.copy(DATA / "report.pdf", inbox / "report.pdf")
    (inbox / "good.txt").write_text("Good news\n\nThe WHO shipped vaccines to developing countries.\n")
    os.mkfifo(inbox / "pipe.txt")                      # would block a naive reader forever
    (inbox / "loop.txt").symlink_to(inbox / "loop.txt")
    named = [inbox / n for n in sorted(BAD)] + [inbox / "pipe.txt", inbox / "loop.txt", tmp_path / "missing.txt",
                                                 inbox / "notes.md", inbox / "report.pdf", inbox / "good.txt"]
    home = tmp_path / "kb"
    result = kb("ingest", *named, "--home", home)
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert "Traceback" not in stderr
    refused = [line for line in stderr.splitlines() if line.startswith("kb: refused")]
    expected = {name: why for name, (_, why) in BAD.items()}
    expected.update({"pipe.txt": "regular file", "loop.txt": "", "missing.txt": "no such file"})
    for name, why in expected.items():
        lines = [line for line in refused if f"/{name}:" in line]
        if name == "lines.jsonl":      # one line per bad record: 4 of 5 lines are bad
            assert len(lines) == 4, (name, lines)
            continue
        assert len(lines) == 1, (name, refused)
        assert why.lower() in lines[0].lower(), (name, lines[0])
    assert all(line.count("\n") == 0 and len(line) < 400 for line in refused)
    assert b"ingested 4 documents" in result.stdout
    ids = {json.loads(line)["document_id"] for line in kb("export", "--home", home).stdout.splitlines()}
    assert ids == {"fine-line", "retreat-notes", "report", "good"}


def test_bad_stdin_is_refused_and_nothing_is_written(tmp_path):
    home = tmp_path / "kb"
    for data, why in ((b"", "empty"), (b"\x00\xff" * 100, "binary"), (codecs.BOM_UTF16_LE + b"x", "UTF-16")):
        result = kb("ingest", "-", "--home", home, input=data)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.decode().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("kb: refused <stdin>") and why in lines[0], lines
    assert b"ingested 0 documents" in result.stdout
