"""Builders for calibration tests: training studies with references, trainees."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assessments.models import Answer, Assessment, Membership, Project, Study
from assessments.services import answering, calibration, projects
from tests.factories import RQS_13, StudyFactory, UserFactory, make_project


def fill_and_submit(
    assessment: Assessment, answers: dict[str, list[str]], *, submit: bool = True
) -> Assessment:
    """Answer through the autosave service, then submit, as the form does."""
    user = assessment.reviewer
    for code, choices in answers.items():
        answer = Answer.objects.filter(assessment=assessment, item_code=code).first()
        answering.save_answer(
            assessment=assessment,
            user=user,
            data=answering.AnswerInput(code, choices, evidence=f"Seen on {code}"),
            seen_revision=answer.revision if answer else 0,
        )
    if submit:
        answering.submit_assessment(assessment=assessment, user=user)
    assessment.refresh_from_db()
    return assessment


def differing(base: dict[str, list[str]], changes: dict[str, list[str]]) -> dict:
    return {**base, **changes}


# RQS 1.0 answers 2 of 16 items unlike RQS_13: item 2 (1 -> 0 points) and
# item 13 (2 -> 0): total 10 against the reference's 13.
RQS_10 = differing(RQS_13, {"2": ["no"], "13": ["no"]})


@dataclass
class World:
    project: Project
    lead: Any
    expert: Any
    trainee: Any
    other: Any
    version: Any
    training: list[Study] = field(default_factory=list)
    live: list[Study] = field(default_factory=list)


def make_world(n_training: int = 3, slug: str = "calib") -> World:
    """An RQS 1.0 project: an expert, two trainees, training studies whose
    references are the expert's RQS_13 answers, and two live studies."""
    lead = UserFactory(username=f"{slug}-lead")
    expert = UserFactory(
        username=f"{slug}-expert", first_name="Eva", last_name="Expert"
    )
    trainee = UserFactory(username=f"{slug}-trainee")
    other = UserFactory(username=f"{slug}-other")
    project = make_project(lead=lead, reviewers=[expert, trainee, other], slug=slug)
    version = project.instruments.get()
    world = World(project, lead, expert, trainee, other, version)
    for n in range(n_training):
        study = StudyFactory(project=project, training=True, title=f"Training {n}")
        source = Assessment.objects.create(
            study=study, version=version, reviewer=expert, kind="reviewer"
        )
        fill_and_submit(source, RQS_13)
        calibration.mark_reference(
            source=source, user=lead, rationales={"2": "Protocol on page 3."}
        )
        world.training.append(study)
    world.live = StudyFactory.create_batch(2, project=project)
    return world


def train(world: World, user: Any, study: Study, answers: dict) -> Assessment:
    assessment = Assessment.objects.create(
        study=study, version=world.version, reviewer=user, kind="training"
    )
    return fill_and_submit(assessment, answers)


def make_lead(project: Project, user: Any, by: Any) -> None:
    projects.set_membership(
        project=project, member=user, role=Membership.Role.LEAD, user=by
    )
