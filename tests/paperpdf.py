"""Real PDFs for tests, made with WeasyPrint: papers with text, a scanned one.

Text is laid out in DejaVu Sans, which WeasyPrint shapes with ligatures
("fi", "fl"), so the text PDFium reads back is what a real journal PDF gives:
lines broken where the layout broke them, and (with `hyphenate`) words split
at line ends.
"""

from __future__ import annotations

import base64
import html
import io
import re
import zlib
from functools import cache

from PIL import Image
from weasyprint import HTML

STYLE = """
@page {{ size: A4; margin: 2cm; }}
body {{ font-family: "DejaVu Sans"; font-size: {font_size}; line-height: 1.35; }}
section {{ break-after: page; }}
section:last-child {{ break-after: auto; }}
p {{ margin: 0 0 0.6em 0; }}
.doi {{ font-size: 9pt; }}
.column {{ width: 5.5cm; text-align: justify; }}
.hyphenate {{ hyphens: auto; }}
"""


def paragraphs_html(text: str) -> str:
    """Plain text to HTML paragraphs: a blank line ends a paragraph."""
    blocks = [block.strip() for block in text.split("\n\n")]
    return "".join(f"<p>{html.escape(block)}</p>" for block in blocks if block)


def make_pdf(
    pages: list[str],
    *,
    title: str = "",
    doi: str = "",
    metadata_doi: bool = False,
    html_pages: bool = False,
    font_size: str = "11pt",
    hyphenate: bool = False,
) -> bytes:
    """A PDF with one page per element of `pages` (text, or HTML if html_pages)."""
    head = [f"<style>{STYLE.format(font_size=font_size)}</style>"]
    if title:
        head.append(f"<title>{html.escape(title)}</title>")
    if doi and metadata_doi:
        # WeasyPrint writes these to the PDF info dict (Subject, Keywords).
        head.append(f'<meta name="description" content="doi:{html.escape(doi)}">')
        head.append(f'<meta name="keywords" content="{html.escape(doi)}">')
    classes = "column hyphenate" if hyphenate else ""
    sections = []
    for number, page in enumerate(pages, start=1):
        body = page if html_pages else paragraphs_html(page)
        if number == 1 and doi:
            link = f"https://doi.org/{html.escape(doi)}"
            body = f'<p class="doi">{link}</p>' + body
        sections.append(f'<section class="{classes}">{body}</section>')
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        + "".join(head)
        + "</head><body>"
        + "".join(sections)
        + "</body></html>"
    )
    pdf: bytes = HTML(string=document).write_pdf()
    return pdf


def png_data_uri(width: int = 400, height: int = 300) -> str:
    """A grey page-like picture with dark bars, as a scanner would give."""
    image = Image.new("L", (width, height), color=235)
    for row in range(20, height - 20, 18):
        for col in range(20, width - 20):
            if (col // 37) % 5 != 4:
                image.putpixel((col, row), 40)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def make_scanned_pdf(pages: int = 2) -> bytes:
    """A PDF of pictures only: no text layer, like a scanned article."""
    img = f'<img src="{png_data_uri()}" alt="">'
    style = (
        "<style>@page { size: A4; margin: 1cm; } img { width: 100%; }"
        " section { break-after: page; } section:last-child { break-after: auto; }"
        "</style>"
    )
    body = "".join(f"<section>{img}</section>" for _ in range(pages))
    document = f"<!doctype html><html><head>{style}</head><body>{body}</body></html>"
    pdf: bytes = HTML(string=document).write_pdf()
    return pdf


def minimal_pdf(objects: list[bytes], trailer: bytes = b"") -> bytes:
    """A hand-written PDF: objects 1..n as given (1 is the catalog), a true xref."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\n" % (len(objects) + 1, trailer)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
ONE_PAGE = [
    CATALOG,
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
]


def encrypted_pdf() -> bytes:
    """A PDF that needs a user password (standard security handler, RC4)."""
    # PDFium checks the password against /U before reading anything else, so
    # values that no empty password produces are enough to ask for one.
    owner, user = b"11" * 32, b"22" * 32
    encrypt = b"<< /Filter /Standard /V 1 /R 2 /Length 40 /P -4 /O <%s> /U <%s> >>"
    file_id = b"<%s>" % (b"00" * 16)
    return minimal_pdf(
        [*ONE_PAGE, encrypt % (owner, user)],
        b"/Encrypt 4 0 R /ID [%s %s] " % (file_id, file_id),
    )


def pageless_pdf() -> bytes:
    return minimal_pdf([CATALOG, b"<< /Type /Pages /Kids [] /Count 0 >>"])


def xmp_pdf(doi: str) -> bytes:
    """A one-page PDF whose DOI is only in its XMP metadata, as publishers do."""
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:prism="http://prismstandard.org/namespaces/basic/2.0/"'
        f' prism:doi="{doi}"><prism:url>https://doi.org/{doi}</prism:url>'
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()
    stream = b"<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n%s\nendstream"
    catalog = b"<< /Type /Catalog /Pages 2 0 R /Metadata 4 0 R >>"
    return minimal_pdf([catalog, *ONE_PAGE[1:], stream % (len(xmp), xmp)])


def ligatures_in(pdf: bytes) -> set[str]:
    """The texts that single glyphs stand for in the fonts' ToUnicode maps."""
    found = set()
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL):
        try:
            data = zlib.decompress(match.group(1))
        except zlib.error:
            continue
        for text in re.findall(rb"<[0-9a-f]{4}> <([0-9a-f]{8,})>", data):
            found.add(bytes.fromhex(text.decode()).decode("utf-16-be"))
    return found


SECTIONS = [
    (
        "Introduction",
        "Radiomics extracts quantitative features from medical images and relates "
        "them to clinical outcomes. Reproducibility of such features depends on "
        "acquisition settings, reconstruction kernels and segmentation. Many "
        "published models have not been validated outside the centre that built "
        "them, and few report the software version used for feature extraction.",
    ),
    (
        "Patients",
        "This retrospective study was approved by the institutional review board "
        "and the requirement for informed consent was waived. Consecutive "
        "patients who underwent contrast-enhanced computed tomography between "
        "January 2015 and December 2019 were identified from the hospital "
        "information system. Exclusion criteria were prior treatment, motion "
        "artefacts and incomplete clinical follow-up.",
    ),
    (
        "Image acquisition",
        "Images were acquired on two scanners from different vendors with a "
        "slice thickness of 1.25 mm and a soft-tissue reconstruction kernel. "
        "Tube voltage was 120 kVp and tube current was modulated automatically. "
        "Scanner and protocol details are given in the supplementary material.",
    ),
    (
        "Segmentation",
        "Two radiologists with eight and twelve years of experience segmented "
        "each lesion manually on every axial slice using open-source software. "
        "A random subset of thirty patients was segmented twice to assess "
        "inter-observer reproducibility with the intraclass correlation "
        "coefficient; features with a coefficient below 0.75 were discarded.",
    ),
    (
        "Feature extraction",
        "Images were resampled to isotropic voxels of 1 mm and grey levels were "
        "discretised with a fixed bin width of 25 Hounsfield units. Features "
        "were extracted with PyRadiomics version 3.0.1 in accordance with the "
        "Image Biomarker Standardisation Initiative, yielding first-order, "
        "shape and texture features from the original and filtered images.",
    ),
    (
        "Feature selection and modelling",
        "Highly correlated features were removed with a Pearson threshold of "
        "0.9, and the least absolute shrinkage and selection operator selected "
        "the final features within the training set only. A logistic regression "
        "model was trained with ten-fold cross-validation, and hyperparameters "
        "were tuned on the training data without access to the test set.",
    ),
    (
        "Validation",
        "The model was validated on an independent external cohort from a "
        "second hospital. Discrimination was measured with the area under the "
        "receiver operating characteristic curve, calibration with calibration "
        "plots and the Hosmer-Lemeshow test, and clinical utility with decision "
        "curve analysis.",
    ),
    (
        "Statistical analysis",
        "Continuous variables are given as median and interquartile range and "
        "were compared with the Mann-Whitney U test; categorical variables with "
        "the chi-squared test. Confidence intervals were obtained by bootstrap "
        "with two thousand resamples. A two-sided p value below 0.05 was "
        "considered significant.",
    ),
    (
        "Results",
        "In total 412 patients were included, 288 in the training cohort and "
        "124 in the external validation cohort. The radiomics model reached an "
        "area under the curve of 0.81 in training and 0.76 in external "
        "validation, and it added value to the clinical model alone.",
    ),
    (
        "Discussion",
        "Our results suggest that radiomics features carry information beyond "
        "routine clinical variables, although the drop in performance on "
        "external data shows the effect of scanner differences. Limitations "
        "include the retrospective design and the modest size of the cohorts. "
        "Code and anonymised feature tables are openly available in a public "
        "repository.",
    ),
]


@cache
def twenty_page_paper() -> bytes:
    """A realistic 20-page paper (methods-like filler), for timing extraction.

    About 3,500 characters a page, as in a two-column journal article.
    """
    pages = []
    for number in range(20):
        paragraphs = [f"<h2>{number + 1}. {SECTIONS[number % len(SECTIONS)][0]}</h2>"]
        for repeat in range(9):
            _, body = SECTIONS[(number + repeat) % len(SECTIONS)]
            paragraphs.append(f"<p>{html.escape(body)}</p>")
        pages.append("".join(paragraphs))
    return make_pdf(
        pages,
        title="Radiomics model for a timing test",
        doi="10.1234/timing.2024.001",
        html_pages=True,
        font_size="10pt",
    )
