"""Seeding synthetic review projects with bulk inserts (minutes, not hours)."""

from __future__ import annotations

import random
from typing import Any

from django.db import transaction
from django.utils import timezone

# A realistic spread of RQS 1.0 answers (option codes per item).
CHOICES: dict[str, list[list[str]]] = {
    "1": [[], ["documented"], ["documented", "public_protocol"]],
    "2": [["no"], ["yes"]],
    "3": [["no"], ["no"], ["yes"]],
    "4": [["no"], ["yes"]],
    "5": [["none"], ["either"], ["either"]],
    "6": [["no"], ["yes"]],
    "7": [["no"], ["yes"]],
    "8": [["no"], ["yes"]],
    "9": [[], ["stat"], ["stat", "resampling"]],
    "10": [[], ["stat"], ["stat", "resampling"]],
    "11": [["no"], ["no"], ["no"], ["yes"]],
    "12": [
        ["none"],
        ["same_institute"],
        ["one_other"],
        ["two_distinct"],
        ["three_plus"],
    ],
    "13": [["no"], ["yes"]],
    "14": [["no"], ["yes"]],
    "15": [["no"], ["no"], ["yes"]],
    "16": [
        [],
        ["code"],
        ["scans", "code"],
        ["scans", "segmentations", "code", "features"],
    ],
}
MODALITIES = ["CT", "MRI", "PET/CT", "Mammography", "Ultrasound", "CBCT"]
DISEASES = [
    "lung cancer",
    "breast cancer",
    "glioma",
    "prostate cancer",
    "rectal cancer",
    "liver cancer",
    "head and neck cancer",
]


def _answers(rng: random.Random) -> dict[str, list[str]]:
    return {code: list(rng.choice(options)) for code, options in CHOICES.items()}


def seed_project(
    *,
    slug: str,
    n_studies: int,
    reviewers: list[Any],
    lead: Any,
    per_study: int = 3,
    seed: int = 7,
    open_only: bool = False,
) -> Any:
    """A project of RQS 1.0 studies, each with `per_study` scored assessments.

    `open_only` keeps every assessment in progress (the load test edits them).
    """
    from assessments.bibliography import normalise_title
    from assessments.instruments import score
    from assessments.models import (
        Answer,
        Assessment,
        InstrumentVersion,
        Membership,
        Project,
        Study,
    )
    from assessments.services import answering, projects

    existing = Project.objects.filter(slug=slug).first()
    if existing is not None and existing.studies.count() == n_studies:
        return existing
    rng = random.Random(seed)
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    definition = version.as_definition()
    with transaction.atomic():
        if existing is not None:
            existing.delete()
        project = projects.create_project(
            name=f"Benchmark {slug}",
            slug=slug,
            versions=[version],
            user=lead,
            reviewers_per_study=per_study,
        )
        Membership.objects.bulk_create(
            Membership(project=project, user=r, role="reviewer") for r in reviewers
        )
        studies = Study.objects.bulk_create(
            (
                Study(
                    project=project,
                    title=f"Radiomics study {i} of {rng.choice(DISEASES)}",
                    title_key=normalise_title(f"radiomics study {i}"),
                    year=2014 + i % 11,
                    modality=rng.choice(MODALITIES),
                    disease=rng.choice(DISEASES),
                    doi=f"10.5555/bench.{slug}.{i}",
                )
                for i in range(n_studies)
            ),
            batch_size=5000,
        )
        now = timezone.now()
        assessments, answer_sets = [], []
        for index, study in enumerate(studies):
            for k in range(per_study):
                reviewer = reviewers[(index * per_study + k) % len(reviewers)]
                answers = _answers(rng)
                state = rng.random()
                status = (
                    "submitted"
                    if state < 0.7
                    else "in_progress"
                    if state < 0.9
                    else "assigned"
                )
                if open_only:
                    status = "in_progress"
                if status == "assigned":
                    answers = {}
                result = score(definition, answers)
                cached = answering.cached_result_fields(result)
                submitted = status == "submitted"
                assessments.append(
                    Assessment(
                        study=study,
                        version=version,
                        reviewer=reviewer,
                        kind="reviewer",
                        status=status,
                        revision=len(answers),
                        submitted_at=now if submitted else None,
                        first_submitted_at=now if submitted else None,
                        independent_total=cached["total"] if submitted else None,
                        independent_percent=cached["percent"] if submitted else None,
                        **cached,
                    )
                )
                answer_sets.append((answers, result))
        Assessment.objects.bulk_create(assessments, batch_size=5000)
        rows = []
        for assessment, (answers, result) in zip(assessments, answer_sets, strict=True):
            submitted = assessment.status == "submitted"
            for code, choices in answers.items():
                item = result.items.get(code)
                rows.append(
                    Answer(
                        assessment=assessment,
                        item_code=code,
                        choices=choices,
                        revision=1,
                        points=item.points if item else None,
                        adheres=item.adheres if item else None,
                        independent_choices=choices if submitted else None,
                        independent_points=(
                            item.points if item and submitted else None
                        ),
                        evidence=f"Quoted evidence for item {code}",
                        page="3",
                    )
                )
                if len(rows) >= 20000:
                    Answer.objects.bulk_create(rows, batch_size=5000)
                    rows = []
        Answer.objects.bulk_create(rows, batch_size=5000)
        Project.objects.filter(pk=project.pk).update(data_revision=1)
    from django.db import connection

    if connection.vendor == "postgresql":
        # Fresh statistics, as autovacuum would give a production database.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return project
