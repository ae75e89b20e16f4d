"""The demo's calibration: training studies with an expert's references, one
reviewer certified and one part-way (via `manage.py demo`).

Like the rest of the demo it creates what is missing and never touches what
exists: once the project has training studies this does nothing.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from .bibliography import normalise_title
from .models import Assessment, InstrumentVersion, Membership, Project, Study
from .services import answering, assignment, calibration, projects

EXPERT = "expert"

# Answers for a finished RQS 1.0 assessment (a typical mid-range study),
# used by the live demo studies too; each training study changes a few.
RQS_TYPICAL = {
    "1": ["documented"],
    "2": ["yes"],
    "3": ["no"],
    "4": ["no"],
    "5": ["either"],
    "6": ["yes"],
    "7": ["no"],
    "8": ["yes"],
    "9": ["stat"],
    "10": [],
    "11": ["no"],
    "12": ["same_institute"],
    "13": ["yes"],
    "14": ["no"],
    "15": ["no"],
    "16": ["code"],
}
BASE = RQS_TYPICAL

# (title, year, modality, disease, track, n, DOI, the expert's answers,
#  rationales, reviewer2's differences, reviewer1's differences or None)
TRAINING: list[tuple[Any, ...]] = [
    (
        "CT texture analysis predicts microvascular invasion in hepatocellular "
        "carcinoma",
        2020,
        "CT",
        "liver cancer",
        "handcrafted",
        304,
        "10.5555/demo.train.001",
        {"9": ["stat", "resampling"], "10": ["stat"], "14": ["yes"]},
        {
            "2": "Two radiologists contoured every tumour independently and the "
            "inter-reader ICC is reported (Methods, Segmentation).",
            "10": "A calibration plot is shown, but only in the training cohort: "
            "the statistic point, not the resampling one.",
            "14": "Decision curve analysis counts as assessed clinical utility.",
        },
        {"10": []},
        {"10": [], "14": ["no"], "7": ["yes"]},
    ),
    (
        "Multiparametric MRI radiomics for IDH mutation status in lower-grade glioma",
        2021,
        "MRI",
        "glioma",
        "handcrafted",
        187,
        "10.5555/demo.train.002",
        {"7": ["yes"], "12": ["one_other"], "16": ["code", "features"]},
        {
            "7": "Features are linked to IDH status and discussed against "
            "histology: a biological correlate.",
            "12": "The test cohort comes from a second hospital: one other "
            "institute (+3), not internal validation.",
        },
        {"12": ["same_institute"], "16": ["code"]},
        {"12": ["same_institute"], "16": ["code"]},
    ),
    (
        "Deep learning radiomics of contrast-enhanced ultrasound for axillary "
        "lymph node metastasis in breast cancer",
        2023,
        "Ultrasound",
        "breast cancer",
        "deep_learning",
        512,
        "10.5555/demo.train.003",
        {"6": ["no"], "13": ["no"], "16": []},
        {
            "6": "The model uses the images alone; clinical variables are only "
            "described in Table 1, never combined with the features.",
            "13": "No comparison with the radiologists' reading or the clinical "
            "nodal assessment is made.",
        },
        {"13": ["yes"]},
        None,
    ),
]

SETTINGS = {
    "certification": True,
    "min_training_studies": 3,
    "min_item_agreement": 80,
    "max_total_difference": 3,
    "reread_fraction": 10,
    "reread_interval_days": 28,
}


def ensure_demo_calibration(project: Project, users: dict[str, Any]) -> None:
    """Add the training set unless the project has training studies already."""
    if project.studies.filter(training=True).exists():
        return
    rqs = project.instruments.filter(instrument__code="rqs", version="1.0").first()
    if rqs is None:
        return
    _create(project, rqs, users)


@transaction.atomic
def _create(project: Project, rqs: InstrumentVersion, users: dict[str, Any]) -> None:
    lead = users["lead"]
    expert = _expert(project, lead)
    studies = []
    for title, year, modality, disease, track, n, doi, answers, why, *_ in TRAINING:
        study = Study.objects.create(
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
            authors="Demo C; Example D",
            clinical_task="diagnosis",
            training=True,
            created_by=lead,
        )
        source = assignment.assign_reviewer(
            study=study, version=rqs, reviewer=expert, user=lead
        )
        _fill(source, {**BASE, **answers}, submit=True)
        calibration.mark_reference(source=source, user=lead, rationales=why)
        studies.append(study)
    calibration.save_settings(project=project, version=rqs, values=SETTINGS, user=lead)
    for study, row in zip(studies, TRAINING, strict=True):
        expert_answers = {**BASE, **row[7]}
        for name, changes in (("reviewer2", row[9]), ("reviewer1", row[10])):
            if changes is None:
                continue  # reviewer1 has this one still to do
            trainee = users[name]
            mine = calibration.start_training(study=study, version=rqs, user=trainee)
            _fill(mine, {**expert_answers, **changes}, submit=True)


def _expert(project: Project, lead: Any) -> Any:
    """A senior reviewer whose assessments are the references.

    A second lead, so that the calibration figures list the reviewers being
    calibrated only; the account has no password (nobody logs in as them).
    """
    user, created = get_user_model().objects.get_or_create(
        username=EXPERT,
        defaults={
            "first_name": "Ines",
            "last_name": "Moreau",
            "email": "expert@example.org",
        },
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    if not project.memberships.filter(user=user).exists():
        projects.set_membership(
            project=project, member=user, role=Membership.Role.LEAD, user=lead
        )
    return user


def _fill(assessment: Assessment, answers: dict[str, list[str]], submit: bool) -> None:
    user = assessment.reviewer
    for code, choices in answers.items():
        current = assessment.answers.filter(item_code=code).first()
        answering.save_answer(
            assessment=assessment,
            user=user,
            data=answering.AnswerInput(
                item_code=code,
                choices=choices,
                evidence=f"Demo evidence for item {code}.",
                page="4",
            ),
            seen_revision=current.revision if current else 0,
        )
    if submit:
        answering.submit_assessment(assessment=assessment, user=user)
        assessment.refresh_from_db()
