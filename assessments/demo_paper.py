"""A made-up full text for the demo's first study, so `make run` shows the paper.

Every sentence is ours and describes no real study; it reads like the methods
of a radiomics paper so that the viewer, highlight-to-quote and the evidence
finder have something to work on.
"""

from __future__ import annotations

from html import escape

from weasyprint import HTML

TITLE = "CT radiomics signature predicts EGFR mutation status in lung adenocarcinoma"

SECTIONS: list[tuple[str, list[str]]] = [
    (
        "Abstract",
        [
            "Purpose: to build and externally validate a CT radiomics signature "
            "that predicts epidermal growth factor receptor (EGFR) mutation status "
            "in lung adenocarcinoma. This is a fictional paper written for the "
            "demonstration of an appraisal platform; it reports no real data.",
        ],
    ),
    (
        "Methods",
        [
            "This retrospective study was approved by the institutional review "
            "board, which waived informed consent. We included 412 consecutive "
            "patients with surgically resected lung adenocarcinoma and known EGFR "
            "status who underwent contrast-enhanced CT within four weeks before "
            "surgery.",
            "Images were acquired on two scanners from different vendors with a "
            "slice thickness of 1 mm; the acquisition protocol is given in "
            "Supplementary Table 1. No phantom study was performed.",
            "Two radiologists with 6 and 12 years of experience delineated each "
            "tumour independently in 3D Slicer. Features were extracted with "
            "PyRadiomics 3.0 following the IBSI definitions after resampling to "
            "1 mm isotropic voxels. Feature robustness was assessed with the "
            "intraclass correlation coefficient between the two readers, and "
            "features with an ICC below 0.75 were discarded.",
            "Features were selected with the least absolute shrinkage and "
            "selection operator (LASSO) with ten-fold cross-validation in the "
            "training cohort, and a logistic regression signature was fitted. "
            "A combined model added smoking history and sex.",
            "The signature was validated in an external cohort of 118 patients "
            "from a second hospital. Discrimination was measured with the area "
            "under the ROC curve with 95% confidence intervals, and compared "
            "with the DeLong test; calibration was assessed with calibration "
            "plots and the Hosmer-Lemeshow test. Decision curve analysis "
            "estimated the net benefit across threshold probabilities.",
        ],
    ),
    (
        "Results",
        [
            "Of 1,316 extracted features, 9 remained after LASSO. The signature "
            "reached an AUC of 0.79 (95% CI 0.74-0.84) in training and 0.74 "
            "(95% CI 0.65-0.83) in the external validation cohort. The combined "
            "model improved the AUC to 0.81 in validation (DeLong p = 0.03). "
            "Calibration was good in both cohorts.",
            "In decision curve analysis the combined model offered a higher net "
            "benefit than testing all or no patients between threshold "
            "probabilities of 20% and 70%.",
        ],
    ),
    (
        "Discussion",
        [
            "The signature relates to known biology: EGFR-mutant tumours more "
            "often show ground-glass components, which the selected texture "
            "features capture. Our study has limitations: it is retrospective, "
            "no prospective trial has tested the signature, and no cost-"
            "effectiveness analysis was done.",
        ],
    ),
    (
        "Data and code availability",
        [
            "The code and the selected features are available in a public "
            "repository at https://example.org/demo-radiomics; the images cannot "
            "be shared because of patient privacy.",
        ],
    ),
]


def demo_paper_html() -> str:
    parts = [
        "<html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(TITLE)}</title>",
        "<meta name='description' content='doi:10.5555/demo.2019.001'>",
        "<style>@page { size: A4; margin: 2.2cm } body { font: 11pt/1.45 "
        "'DejaVu Serif', serif } h1 { font-size: 16pt } h2 { font-size: 12pt; "
        "margin-top: 1.2em } h2.break { break-before: page }</style></head><body>",
        f"<h1>{escape(TITLE)}</h1>",
        "<p>A. Example, B. Sample (fictional authors) · "
        "https://doi.org/10.5555/demo.2019.001</p>",
    ]
    for n, (heading, paragraphs) in enumerate(SECTIONS):
        css = " class='break'" if n in (2, 4) else ""
        parts.append(f"<h2{css}>{escape(heading)}</h2>")
        parts.extend(f"<p>{escape(p)}</p>" for p in paragraphs)
    parts.append("</body></html>")
    return "".join(parts)


def demo_paper_pdf() -> bytes:
    return bytes(HTML(string=demo_paper_html()).write_pdf())
