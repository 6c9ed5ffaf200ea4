"""PDFs written by pypdf in the test that needs them: pages of text lines (Helvetica), an info
dictionary and, when asked, an XMP packet."""
from __future__ import annotations

import io

from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject
from pypdf.xmp import XmpInformation

XMP = """<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>
<dc:creator><rdf:Seq>{creators}</rdf:Seq></dc:creator>
<dc:publisher><rdf:Bag><rdf:li>{publisher}</rdf:li></rdf:Bag></dc:publisher>
<xmp:CreateDate>{date}</xmp:CreateDate>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"""


def _content(lines: list) -> bytes:
    """Text lines at 10 points; a line given as (text, size) is set at that size."""
    ops = ["BT", "/F1 10 Tf", "14 TL", "50 760 Td"]
    for line in lines:
        line, size = line if isinstance(line, tuple) else (line, 10)
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"/F1 {size} Tf ({escaped}) Tj T* /F1 10 Tf" if size != 10 else f"({escaped}) Tj T*")
    ops.append("ET")
    return "\n".join(ops).encode("latin-1")


def make_pdf(pages: list[list], info: dict[str, str] | None = None, xmp: dict | None = None) -> bytes:
    """A PDF whose pages show these lines; ``info`` keys like "/Title"; ``xmp``: title, creators
    (list), publisher, date."""
    writer = PdfWriter()
    font = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"), NameObject("/Encoding"): NameObject("/WinAnsiEncoding")}))
    for lines in pages:
        page = writer.add_blank_page(612, 792)
        stream = DecodedStreamObject()
        stream.set_data(_content(lines))
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject({
            NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
    if info:
        writer.add_metadata(info)
    if xmp:
        packet = DecodedStreamObject()
        creators = "".join(f"<rdf:li>{c}</rdf:li>" for c in xmp.get("creators", []))
        packet.set_data(XMP.format(title=xmp.get("title", ""), creators=creators,
                                   publisher=xmp.get("publisher", ""), date=xmp.get("date", "")).encode("utf-8"))
        packet[NameObject("/Type")] = NameObject("/Metadata")
        packet[NameObject("/Subtype")] = NameObject("/XML")
        writer.xmp_metadata = XmpInformation(packet)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
