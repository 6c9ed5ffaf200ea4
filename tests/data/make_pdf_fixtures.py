"""Regenerates the PDF fixtures (report.pdf, blank.pdf) by hand-writing minimal valid PDFs.

Run once: `.venv/bin/python tests/data/make_pdf_fixtures.py`; the .pdf files are committed.
"""
from pathlib import Path

HERE = Path(__file__).parent

PAGES = [
    ["Science Diplomacy Review",
     "Science Diplomacy in Practice",
     "Science diplomacy brings researchers and diplomats together to address",
     "shared problems such as pandemics, climate change and water security.",
     "Joint laboratories and exchange programmes build trust between inter-",
     "national partners long before formal negotiations begin. The fellowship",
     "funded by the two national academies was designed to run for ten years and",
     "Page 1 of 2"],
    ["Science Diplomacy Review",
     "to train a new generation of scientists in both countries.",
     "Public health cooperation remained strong even when political relations",
     "were strained, and vaccine trials continued across the border.",
     "Page 2 of 2"],
]


def content(lines: list[str]) -> bytes:
    ops = ["BT", "/F1 11 Tf", "72 740 Td"]
    for i, line in enumerate(lines):
        esc = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"({esc}) Tj")
        ops.append("0 -16 Td" if i else "0 -28 Td")
    ops.append("ET")
    return "\n".join(op for op in ops if op).encode("latin-1")


def build(pages: list[list[str]], info: dict[str, str] | None) -> bytes:
    objects: list[bytes] = []
    n_pages = len(pages)
    page_ids = [3 + 2 * i for i in range(n_pages)]
    font_id = 3 + 2 * n_pages
    info_id = font_id + 1
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{p} 0 R" for p in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    for i, lines in enumerate(pages):
        stream = content(lines) if lines else b""
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                       f"/Resources << /Font << /F1 {font_id} 0 R >> >> /Contents {page_ids[i] + 1} 0 R >>".encode())
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    if info:
        objects.append(("<< " + " ".join(f"/{k} ({v})" for k, v in info.items()) + " >>").encode("latin-1"))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for num, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % num + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    trailer = f"<< /Size {len(objects) + 1} /Root 1 0 R" + (f" /Info {info_id} 0 R" if info else "") + " >>"
    out += b"trailer\n" + trailer.encode() + b"\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


if __name__ == "__main__":
    (HERE / "report.pdf").write_bytes(build(PAGES, {"Title": "Science Diplomacy in Practice",
                                                    "Author": "Kb Test Suite"}))
    (HERE / "blank.pdf").write_bytes(build([[]], None))
