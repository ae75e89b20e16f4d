"""factory_boy factories and small builders for projects with instruments loaded."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model

from assessments.bibliography import normalise_title
from assessments.instruments import bundled_definitions_dir, load_definition_file
from assessments.models import InstrumentVersion, Membership, Project, Study
from assessments.services import catalogue, projects

# A complete RQS 1.0 answer set worth 13 points:
# 1+1+0+0+3+1+0+1+1+0+0+2+2+0+0+1.
RQS_13: dict[str, list[str]] = {
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


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    password = factory.django.Password("pw")


class StudyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Study

    title = factory.Sequence(lambda n: f"Radiomics study number {n} of lung nodules")
    title_key = factory.LazyAttribute(lambda o: normalise_title(o.title))
    year = 2022
    modality = "CT"
    disease = "lung cancer"


def load_instrument(key: str) -> InstrumentVersion:
    found = InstrumentVersion.objects.filter(instrument__code=key.rsplit("-", 1)[0])
    for version in found.select_related("instrument"):
        if version.key == key:
            return version
    doc = load_definition_file(bundled_definitions_dir() / f"{key}.yaml")
    outcome = catalogue.load_definition(doc)
    assert outcome.action != "error", outcome.messages
    return InstrumentVersion.objects.by_key(key)


def make_project(
    *,
    lead: Any,
    reviewers: list[Any],
    keys: tuple[str, ...] = ("rqs-1.0",),
    n_studies: int = 0,
    slug: str = "proj",
    **fields: Any,
) -> Project:
    versions = [load_instrument(k) for k in keys]
    project = projects.create_project(
        name=slug.title(), slug=slug, versions=versions, user=lead, **fields
    )
    for reviewer in reviewers:
        projects.set_membership(
            project=project, member=reviewer, role=Membership.Role.REVIEWER, user=lead
        )
    StudyFactory.create_batch(n_studies, project=project)
    return project
