"""The text of each page of a PDF, read with PDFium (pypdfium2).

Why pypdfium2 rather than pypdf: PDFium is the C engine of Chrome's PDF
viewer. It is fast (a 20-page paper in tens of milliseconds), and its text
extraction keeps reading order and the spaces between words well, where
pypdf's pure-Python extraction often runs words together or splits them; it
also repairs slightly damaged files as a browser would.

The page texts returned here are what gets stored, and quotes' character
offsets index into them, so they change only where PDFium's output is not
text: CRLF becomes "\\n", and PDFium's marker for a hyphen at a line end
(U+0002, with the line break dropped) becomes "-\\n" again, as on the page.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

# PDFium is not thread-safe: one document at a time in this process.
PDFIUM_LOCK = threading.Lock()

# More non-space characters than this on some page: the PDF has a text layer.
# A scan may still carry a page number or a stamp as text.
TEXT_THRESHOLD = 16

# PDF readers accept the header anywhere in the first kilobyte.
HEADER_WINDOW = 1024

LOAD_ERRORS = {
    pdfium_c.FPDF_ERR_PASSWORD: "The PDF is password-protected.",
    pdfium_c.FPDF_ERR_SECURITY: "The PDF is encrypted in a way that cannot be opened.",
    pdfium_c.FPDF_ERR_FORMAT: (
        "The PDF is damaged or incomplete (perhaps an interrupted download)."
    ),
    pdfium_c.FPDF_ERR_FILE: "The file could not be read.",
}
ENCRYPTION_ERRORS = {pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY}
UNKNOWN_ERROR = (
    "The PDF could not be opened: its structure is broken or it has no pages."
)

# Control characters that are not text (NUL cannot be stored in PostgreSQL
# JSON at all); tab and line feed stay.
CONTROL = re.compile(r"[\x00\x01\x03-\x08\x0b-\x1f\x7f\ufffe\uffff]")
XMP_PACKET = re.compile(rb"<x:xmpmeta\b.*?</x:xmpmeta>", re.DOTALL)
XML_ATTRIBUTE = re.compile(r'([\w:.-]+)="([^"]*)"')
XML_TAG = re.compile(r"<[^>]*>")
XML_ENTITIES = {"&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'", "&amp;": "&"}


class UnreadablePDF(Exception):
    """The file cannot be read as a PDF; str() is the reason in plain words."""


@dataclass(frozen=True)
class Extraction:
    pages: list[str]  # pages[0] is page 1 (only the first max_pages, if given)
    page_count: int  # every page of the document
    has_text: bool  # False for a scanned PDF without a text layer
    title: str
    metadata_text: str  # info dict values and XMP text, for identifier search


def extract(
    source: bytes | str | os.PathLike[str], *, max_pages: int | None = None
) -> Extraction:
    """Read a PDF (its bytes, or a path to it) into per-page text.

    `max_pages` reads the text of the first pages only: enough to check, while
    an upload waits, that the file opens and its pages read (the worker reads
    the rest), or to find a DOI on the first page.
    """
    data = read_source(source)
    if not data:
        raise UnreadablePDF("The file is empty.")
    if b"%PDF-" not in data[:HEADER_WINDOW]:
        raise UnreadablePDF("The file is not a PDF.")
    with PDFIUM_LOCK:
        document = open_document(data)
        try:
            page_count = len(document)
            if page_count == 0:
                raise UnreadablePDF("The PDF has no pages.")
            wanted = page_count if max_pages is None else min(max_pages, page_count)
            pages = [page_text(document, index) for index in range(wanted)]
            info = document.get_metadata_dict(skip_empty=True)
        finally:
            document.close()
    return Extraction(
        pages=pages,
        page_count=page_count,
        has_text=any(len("".join(text.split())) > TEXT_THRESHOLD for text in pages),
        title=clean(info.get("Title", "")).strip(),
        metadata_text="\n".join(
            part
            for part in [*(clean(v).strip() for v in info.values()), xmp_text(data)]
            if part
        ),
    )


def read_source(source: bytes | str | os.PathLike[str]) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    try:
        return Path(source).read_bytes()
    except FileNotFoundError:
        raise UnreadablePDF("The file could not be found.") from None
    except OSError as error:
        raise UnreadablePDF(f"The file could not be read ({error.strerror}).") from None


def open_document(data: bytes) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        code = error.err_code
        # PDFium fails on some files (no pages at all) without setting an error,
        # leaving the code of an earlier file: trust "password" only from a file
        # that declares encryption. (Its trailer is never compressed.)
        if code in ENCRYPTION_ERRORS and b"/Encrypt" not in data:
            code = None
        raise UnreadablePDF(LOAD_ERRORS.get(code, UNKNOWN_ERROR)) from None


def page_text(document: pdfium.PdfDocument, index: int) -> str:
    try:
        page = document[index]
    except pdfium.PdfiumError:
        raise UnreadablePDF(f"Page {index + 1} of the PDF could not be read.") from None
    try:
        textpage = page.get_textpage()
        try:
            raw = textpage.get_text_bounded()
        finally:
            textpage.close()
    except pdfium.PdfiumError:
        raise UnreadablePDF(
            f"The text of page {index + 1} of the PDF could not be read."
        ) from None
    finally:
        page.close()
    return clean(raw)


def clean(text: str) -> str:
    """PDFium's output as plain text: "\\n" line breaks, line-end hyphens restored."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x02", "-\n")
    return CONTROL.sub("", text)


def xmp_text(data: bytes) -> str:
    """The text content of XMP packets, where publishers put the DOI.

    XMP is stored uncompressed by convention so that tools can find it without
    parsing the PDF; a compressed packet is simply not seen.
    """
    parts = []
    for match in XMP_PACKET.finditer(data):
        xml = match.group(0).decode("utf-8", errors="ignore")
        # Attribute values carry data too (prism:doi="..."); namespaces do not.
        values = [
            value
            for name, value in XML_ATTRIBUTE.findall(xml)
            if not name.startswith("xmlns")
        ]
        text = " ".join([*values, XML_TAG.sub(" ", xml)])
        for entity, char in XML_ENTITIES.items():
            text = text.replace(entity, char)
        parts.append(" ".join(text.split()))
    return "\n".join(part for part in parts if part)
