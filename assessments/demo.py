"""The demo project that `make run` shows a newcomer (via `manage.py demo`).

Idempotent: it creates what is missing and never touches what exists, so a
rerun keeps what the user did.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.db import transaction

from .bibliography import normalise_title
from .demo_calibration import RQS_TYPICAL, ensure_demo_calibration
from .demo_paper import demo_paper_pdf
from .models import Assessment, InstrumentVersion, Membership, Project, Study
from .services import answering, assignment, papers, projects

DEMO_PAPER_DOI = "10.5555/demo.2019.001"

STUDIES = [
    (
        "Deep learning on PET/CT for overall survival in non-small cell lung cancer",
        2021,
        "PET/CT",
        "lung cancer",
        "deep_learning",
        877,
        "10.5555/demo.2021.002",
    ),
    (
        "Delta-radiomics of cone-beam CT during radiotherapy for early response",
        2020,
        "CBCT",
        "lung cancer",
        "handcrafted",
        96,
        "10.5555/demo.2020.003",
    ),
    (
        "MRI radiomics to predict pathological complete response in rectal cancer",
        2022,
        "MRI",
        "rectal cancer",
        "handcrafted",
        231,
        "10.5555/demo.2022.004",
    ),
    (
        "CT radiomics signature predicts EGFR mutation status in lung adenocarcinoma",
        2019,
        "CT",
        "lung cancer",
        "handcrafted",
        412,
        "10.5555/demo.2019.001",
    ),
    (
        "External validation of a radiomics nomogram for lymph node metastasis",
        2023,
        "CT",
        "gastric cancer",
        "both",
        1054,
        "10.5555/demo.2023.005",
    ),
    (
        "Mammography deep learning model for interval breast cancer risk",
        2024,
        "Mammography",
        "breast cancer",
        "deep_learning",
        15230,
        "10.5555/demo.2024.006",
    ),
    (
        "Robustness of radiomic features to segmentation variability in glioma MRI",
        2018,
        "MRI",
        "glioma",
        "handcrafted",
        120,
        "10.5555/demo.2018.007",
    ),
    (
        "Prostate MRI radiomics for clinically significant cancer: a multicentre study",
        2023,
        "MRI",
        "prostate cancer",
        "both",
        640,
        "10.5555/demo.2023.008",
    ),
]


def ensure_demo_project(users: dict[str, Any]) -> Project:
    """Create what is missing of the demo project; never touch what exists."""
    existing = Project.objects.filter(slug="demo").first()
    project = existing if existing is not None else _create(users)
    _attach_demo_paper(project, users["lead"])
    ensure_demo_calibration(project, users)
    return project


def _attach_demo_paper(project: Project, lead: Any) -> None:
    """The first study's made-up full text, so the paper shows beside the form."""
    # The fourth study: assigned to both reviewers and not started, so the
    # newcomer can quote from it (the first three are submitted or begun).
    study = project.studies.filter(doi=DEMO_PAPER_DOI).first()
    if study is None or study.papers.exists():
        return
    name = "demo-egfr-radiomics.pdf"
    pdf = ContentFile(demo_paper_pdf(), name=name)
    papers.upload_paper(study=study, user=lead, uploaded_file=pdf, filename=name)


@transaction.atomic
def _create(users: dict[str, Any]) -> Project:
    lead = users["lead"]
    lead.user_permissions.add(Permission.objects.get(codename="add_project"))
    versions = [InstrumentVersion.objects.by_key(k) for k in ("rqs-1.0", "metrics-1.0")]
    project = projects.create_project(
        name="Demo: radiomics in oncology",
        slug="demo",
        versions=versions,
        user=lead,
        description="A demo review of radiomics studies with RQS 1.0 and METRICS.",
    )
    for name in ("reviewer1", "reviewer2"):
        projects.set_membership(
            project=project,
            member=users[name],
            role=Membership.Role.REVIEWER,
            user=lead,
        )
    for title, year, modality, disease, track, n, doi in STUDIES:
        Study.objects.create(
            project=project,
            title=title,
            title_key=normalise_title(title),
            year=year,
            modality=modality,
            disease=disease,
            method_track=track,
            sample_size=n,
            doi=doi,
            journal="Demo Journal of Radiomics",
            authors="Demo A; Example B",
            clinical_task="prognosis",
            created_by=lead,
        )
    assignment.auto_assign(project=project, version=versions[0], per_study=2, user=lead)
    _fill_some(project, versions[0], users)
    return project


def _fill_some(project: Project, rqs: InstrumentVersion, users: dict[str, Any]) -> None:
    """Two studies submitted by both reviewers, one in progress."""
    studies = list(Study.objects.filter(project=project).order_by("pk"))
    for study in studies[:2]:
        for assessment in Assessment.objects.filter(study=study, version=rqs):
            answers = dict(RQS_TYPICAL)
            if assessment.reviewer == users["reviewer2"]:
                # A realistic disagreement for the consensus view.
                answers.update({"12": ["one_other"], "7": ["yes"]})
            _answer_all(assessment, answers, assessment.reviewer)
            answering.submit_assessment(assessment=assessment, user=assessment.reviewer)
    partial = Assessment.objects.filter(study=studies[2], version=rqs).first()
    if partial is not None:
        first_five = dict(list(RQS_TYPICAL.items())[:5])
        _answer_all(partial, first_five, partial.reviewer)


def _answer_all(
    assessment: Assessment, answers: dict[str, list[str]], user: Any
) -> None:
    for code, choices in answers.items():
        current = assessment.answers.filter(item_code=code).first()
        answering.save_answer(
            assessment=assessment,
            user=user,
            data=answering.AnswerInput(
                item_code=code,
                choices=choices,
                evidence=f"Demo evidence for item {code}.",
                page="3",
            ),
            seen_revision=current.revision if current else 0,
        )
