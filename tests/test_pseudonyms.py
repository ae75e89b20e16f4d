"""Reviewers' codes per project: stable, in order, never reused."""

from __future__ import annotations

import pytest

from assessments.models import ReviewerCode
from assessments.services.pseudonyms import reviewer_codes
from tests.factories import UserFactory, make_project

pytestmark = pytest.mark.django_db


def test_codes_are_given_once_and_kept() -> None:
    lead = UserFactory(username="lead")
    a, b, c = (UserFactory(username=n) for n in ("a", "b", "c"))
    project = make_project(lead=lead, reviewers=[a, b, c])
    first = reviewer_codes(project, [b.pk, a.pk])
    assert first == {a.pk: "R1", b.pk: "R2"}
    later = reviewer_codes(project, [c.pk, a.pk, None])
    assert later == {a.pk: "R1", c.pk: "R3"}
    other = make_project(lead=lead, reviewers=[c], slug="other")
    assert reviewer_codes(other, [c.pk]) == {c.pk: "R1"}
    assert ReviewerCode.objects.count() == 4
