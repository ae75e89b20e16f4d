"""The project agreement page and its JSON: design, figures, blinding, query counts."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assessments import agreement as ag
from assessments.agreement import reporting
from assessments.models import Answer, Assessment, InstrumentVersion, Membership
from assessments.selectors.agreement import rating_data
from assessments.services import answering, assignment, consensus, projects
from assessments.services.score_imports import create_submitted
from tests.factories import (
    RQS_13,
    StudyFactory,
    UserFactory,
    load_instrument,
    make_project,
)

pytestmark = pytest.mark.django_db

BASE = {**RQS_13, "2": ["no"], "16": []}  # 11 points
VARIANTS = [
    {},
    {"2": ["yes"], "16": ["code"]},
    {"5": ["none"], "12": ["none"]},
    {"2": ["yes"], "12": ["three_plus"], "9": ["stat", "resampling"]},
    {"13": ["no"], "14": ["yes"], "1": []},
]


def answers(study_index: int, reviewer_index: int) -> dict[str, list[str]]:
    """Different studies score differently; reviewers mostly, not always, agree."""
    variant = VARIANTS[study_index % len(VARIANTS)]
    extra = {"6": ["no"]} if (study_index + reviewer_index) % 3 == 0 else {}
    if reviewer_index and study_index % 2:
        extra["2"] = ["no"] if variant.get("2") == ["yes"] else ["yes"]
    return {**BASE, **variant, **extra}


@pytest.fixture
def team(db: None) -> dict[str, Any]:
    lead = UserFactory(username="lead")
    reviewers = [UserFactory(username=name) for name in ("alice", "bob", "carol")]
    project = make_project(lead=lead, reviewers=reviewers, slug="p")
    observer = UserFactory(username="olga")
    projects.set_membership(
        project=project, member=observer, role=Membership.Role.OBSERVER, user=lead
    )
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    return {
        "lead": lead,
        "reviewers": reviewers,
        "observer": observer,
        "project": project,
        "version": version,
    }


def score_studies(team: dict[str, Any], n: int, who: Any) -> list[Any]:
    """n studies, each submitted by the reviewers who(i) picks for study i."""
    studies = StudyFactory.create_batch(n, project=team["project"])
    for i, study in enumerate(studies):
        for j, reviewer in enumerate(who(i)):
            create_submitted(study, team["version"], reviewer, answers(i, j))
    return studies


def same_pair(team: dict[str, Any]) -> Any:
    return lambda i: team["reviewers"][:2]


def rotating(team: dict[str, Any]) -> Any:
    pairs = [(0, 1), (1, 2), (0, 2)]
    return lambda i: [team["reviewers"][k] for k in pairs[i % 3]]


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def figures(team: dict[str, Any], user: Any = None) -> dict[str, Any]:
    client = as_user(user or team["lead"])
    response = client.get(
        reverse("project-agreement-json", args=[team["project"].slug])
    )
    assert response.status_code == 200
    return response.json()


def coefficient_keys(entries: list[dict[str, Any]]) -> list[str]:
    return [entry["key"] for entry in entries]


# --- design detection ------------------------------------------------------------


def test_the_same_two_reviewers_on_every_study_is_a_fixed_design(
    team: dict[str, Any],
) -> None:
    score_studies(team, 10, same_pair(team))
    data = figures(team)
    assert data["design"] == "fixed"
    assert data["raters"] == ["alice", "bob"]
    assert coefficient_keys(data["coefficients"]["items"])[0] == "cohen_kappa"
    assert coefficient_keys(data["coefficients"]["totals"]) == [
        "ICC2",
        "ICC3",
        "ICC2k",
        "ICC3k",
    ]
    assert "Cohen's kappa" in data["methods_sentence"]
    assert "ICC(2,1)" in data["methods_sentence"]
    assert data["methods_sentence"].startswith(
        "Two reviewers independently scored 10 studies"
    )


def test_rotating_reviewers_are_an_interchangeable_design(
    team: dict[str, Any],
) -> None:
    score_studies(team, 12, rotating(team))
    data = figures(team)
    assert data["design"] == "interchangeable"
    assert data["raters"] == ["reviewer 1", "reviewer 2"]
    items = coefficient_keys(data["coefficients"]["items"])
    assert "fleiss_kappa" in items and "krippendorff_alpha" in items
    assert "cohen_kappa" not in items
    assert coefficient_keys(data["coefficients"]["totals"]) == ["ICC1", "ICC1k"]
    assert (
        "ICC(1,1)" in data["methods_sentence"]
        and "Fleiss' kappa" in data["methods_sentence"]
    )
    assert "two of three reviewers" in data["methods_sentence"]


# --- the figures -----------------------------------------------------------------


def test_item_and_total_figures_match_the_statistics_on_the_raw_ratings(
    team: dict[str, Any],
) -> None:
    score_studies(team, 6, same_pair(team))
    data = figures(team)
    item2 = next(i for i in data["items"] if i["code"] == "2")
    assert item2["level"] == "ordinal" and item2["n_studies"] == 6
    ratings = [[float(answers(i, j)["2"] == ["yes"]) for j in (0, 1)] for i in range(6)]
    expected = ag.cohen_kappa(ratings, "linear", categories=[0.0, 1.0])
    assert item2["coefficients"][0]["value"] == pytest.approx(expected.value)

    totals = list(
        Assessment.objects.filter(kind="reviewer")
        .order_by("study_id", "reviewer__username")
        .values_list("independent_total", flat=True)
    )
    matrix = [[float(totals[k]), float(totals[k + 1])] for k in range(0, 12, 2)]
    icc2 = next(c for c in data["totals"]["icc"] if c["key"] == "ICC2")
    assert icc2["value"] == pytest.approx(ag.icc(matrix)["ICC2"].value)
    assert icc2["applies"] is True and len(icc2["ci95"]) == 2
    bias = sum(a - b for a, b in matrix) / len(matrix)
    assert data["totals"]["bland_altman"]["bias"] == pytest.approx(bias)


def test_items_with_ordered_points_are_ordinal_and_ticked_sets_nominal(
    team: dict[str, Any],
) -> None:
    score_studies(team, 3, same_pair(team))
    levels = {item["code"]: item["level"] for item in figures(team)["items"]}
    assert levels["12"] == "ordinal" and levels["5"] == "ordinal"
    assert levels["1"] == "nominal" and levels["16"] == "nominal"


def test_not_applicable_answers_are_missing_ratings_not_a_category(
    db: None,
) -> None:
    lead, alice, bob = (UserFactory(username=n) for n in ("lead", "alice", "bob"))
    project = make_project(
        lead=lead, reviewers=[alice, bob], keys=("metrics-1.0",), slug="m"
    )
    version = load_instrument("metrics-1.0")
    study = StudyFactory(project=project)
    create_submitted(study, version, alice, {"C1": ["no"], "8": ["yes"]})
    create_submitted(study, version, bob, {"C1": ["yes"], "8": ["yes"]})
    data = rating_data(project, version)
    assert data.raters == ["alice", "bob"]
    assert data.items["8"] == [[None, "yes"]]


def settle_as_alice(team: dict[str, Any], study: Any) -> None:
    """A final consensus in which alice's answers win every dispute."""
    lead = team["lead"]
    target = consensus.start_consensus(study=study, version=team["version"], user=lead)
    for row in consensus.disagreements(study, team["version"]).disputed:
        consensus.resolve_item(
            consensus=target,
            item_code=row.code,
            choices=row.answers[0].choices,
            rationale="as alice",
            user=lead,
        )
    consensus.finalise_consensus(consensus=target, user=lead)


def test_leniency_is_each_reviewers_distance_from_the_consensus_by_month(
    team: dict[str, Any],
) -> None:
    # Three studies a month: fewer would come close to giving away a total.
    studies = score_studies(team, 6, same_pair(team))
    for month, study in zip((1, 1, 1, 2, 2, 2), studies, strict=True):
        when = timezone.make_aware(dt.datetime(2025, month, 15, 12))
        Assessment.objects.filter(study=study).update(first_submitted_at=when)
        settle_as_alice(team, study)
    rows = {row["reviewer"]: row for row in figures(team)["leniency"]}
    assert rows["alice"]["mean"] == 0 and rows["alice"]["n"] == 6
    assert [p["period"] for p in rows["bob"]["periods"]] == ["2025-01", "2025-02"]
    bob_minus_alice = [
        float(b.independent_total - a.independent_total)
        for a, b in (
            Assessment.objects.filter(study=s, kind="reviewer").order_by(
                "reviewer__username"
            )
            for s in studies
        )
    ]
    assert rows["bob"]["mean"] == pytest.approx(sum(bob_minus_alice) / 6)


def test_leniency_is_for_leads_only_and_needs_three_complete_studies(
    team: dict[str, Any],
) -> None:
    studies = score_studies(team, 3, same_pair(team))
    for study in studies:
        settle_as_alice(team, study)
    assert {r["reviewer"] for r in figures(team)["leniency"]} == {"alice", "bob"}
    observer = UserFactory(username="watcher")
    Membership.objects.create(project=team["project"], user=observer, role="observer")
    for viewer in (observer, team["reviewers"][0]):
        data = figures(team, viewer)
        assert data["leniency"] == [] and data["leniency_shown"] is False
    Assessment.objects.filter(study=studies[0], kind="consensus").delete()
    assert figures(team)["leniency"] == []  # two studies left: hidden


# --- independence and blinding -----------------------------------------------------


def test_a_revision_after_unblinding_leaves_agreement_unchanged(
    team: dict[str, Any],
) -> None:
    studies = score_studies(team, 5, same_pair(team))
    before = figures(team)
    alice = team["reviewers"][0]
    revised = Assessment.objects.get(study=studies[0], reviewer=alice)
    answering.reopen_assessment(assessment=revised, user=team["lead"], reason="recheck")
    answer = Answer.objects.get(assessment=revised, item_code="11")
    answering.save_answer(
        assessment=revised,
        user=alice,
        data=answering.AnswerInput("11", ["yes"]),
        seen_revision=answer.revision,
    )
    answering.submit_assessment(assessment=revised, user=alice)
    revised.refresh_from_db()
    assert (
        revised.revised_after_unblinding and revised.total != revised.independent_total
    )
    assert figures(team) == before


def test_a_study_enters_only_once_all_its_reviewers_submitted(
    team: dict[str, Any],
) -> None:
    score_studies(team, 4, same_pair(team))
    before = figures(team)
    alice, bob = team["reviewers"][:2]
    study = StudyFactory(project=team["project"])
    create_submitted(study, team["version"], alice, {**BASE, "11": ["yes"]})
    assignment.assign_reviewer(
        study=study, version=team["version"], reviewer=bob, user=team["lead"]
    )
    blinded = figures(team)
    assert blinded.pop("n_pending") == 1
    assert {k: v for k, v in before.items() if k != "n_pending"} == blinded
    text = (
        as_user(team["lead"]).get(reverse("project-agreement-json", args=["p"])).content
    )
    assert b"same_institute" not in text and b"documented" not in text

    _create_submitted_later(study, team, bob)
    assert figures(team)["n_studies"] == before["n_studies"] + 1


def _create_submitted_later(study: Any, team: dict[str, Any], reviewer: Any) -> None:
    assessment = Assessment.objects.get(study=study, reviewer=reviewer)
    for code, choices in BASE.items():
        answering.save_answer(
            assessment=assessment,
            user=reviewer,
            data=answering.AnswerInput(code, choices),
            seen_revision=0,
        )
    answering.submit_assessment(assessment=assessment, user=reviewer)


def test_excluded_studies_are_left_out(team: dict[str, Any]) -> None:
    studies = score_studies(team, 4, same_pair(team))
    assignment.exclude_study(
        study=studies[0], reason="not radiomics", user=team["lead"]
    )
    assert figures(team)["n_studies"] == 3


# --- the page ----------------------------------------------------------------------


def test_observers_see_the_page_with_design_methods_and_tables(
    team: dict[str, Any],
) -> None:
    score_studies(team, 10, same_pair(team))
    response = as_user(team["observer"]).get(
        reverse("project-agreement", args=["p"]), {"version": "rqs-1.0"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="design">fixed<' in html
    assert "ICC(2,1)" in html and "95% CI" in html and "Bland\N{EN DASH}Altman" in html
    assert 'data-testid="methods"' in html and "Two reviewers independently" in html
    assert html.count("<caption>") >= 3 and 'scope="row"' in html
    assert "style=" not in html and "<script>" not in html


def test_the_page_says_when_there_is_nothing_to_compare_yet(
    team: dict[str, Any],
) -> None:
    response = as_user(team["lead"]).get(reverse("project-agreement", args=["p"]))
    assert response.status_code == 200
    assert b"No study has been scored independently" in response.content
    assert figures(team)["methods_sentence"] == ""


def test_the_page_query_count_is_flat_from_10_to_100_studies(
    team: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    client = as_user(team["observer"])
    link = reverse("project-agreement", args=["p"])
    score_studies(team, 10, same_pair(team))
    with django_assert_max_num_queries(11):
        assert client.get(link).status_code == 200
    score_studies(team, 90, same_pair(team))
    with django_assert_max_num_queries(11):
        response = client.get(link)
    assert response.context["data"]["n_studies"] == 100


def test_agreement_is_for_members_only(team: dict[str, Any]) -> None:
    page = reverse("project-agreement", args=["p"])
    data = reverse("project-agreement-json", args=["p"])
    outsider = as_user(UserFactory(username="mallory"))
    assert outsider.get(page).status_code == 404
    assert outsider.get(data).status_code == 404
    anonymous = Client().get(data)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")
    lead = as_user(team["lead"])
    assert lead.post(page).status_code == 405
    assert lead.get(page, {"version": "nope-9"}).status_code == 404


# --- sample size: n, CI and the minimum for a reliable estimate --------------------


def test_with_two_studies_the_page_says_too_few_instead_of_a_methods_sentence(
    team: dict[str, Any],
) -> None:
    score_studies(team, 2, same_pair(team))
    response = as_user(team["lead"]).get(reverse("project-agreement", args=["p"]))
    html = response.content.decode()
    assert "too few studies (n = 2) for a reliable estimate" in html
    assert 'data-testid="methods"' not in html
    assert "copy into your manuscript" not in html
    assert "Two reviewers independently" not in html
    assert 'data-testid="caveat"' in html  # the ICC rows say so too
    data = figures(team)
    assert data["methods_reliable"] is False
    assert "too few studies (n = 2)" in data["methods_sentence"]
    assert data["minimum_studies"] == {"icc": 10, "items": 5}


def test_with_ten_studies_the_methods_sentence_has_its_n_and_ci(
    team: dict[str, Any],
) -> None:
    score_studies(team, 10, same_pair(team))
    response = as_user(team["lead"]).get(reverse("project-agreement", args=["p"]))
    html = response.content.decode()
    assert "copy into your manuscript" in html
    sentence = response.context["data"]["methods_sentence"]
    assert sentence.startswith("Two reviewers independently scored 10 studies")
    assert "ICC(2,1) = " in sentence and "(95% CI " in sentence
    assert f">{sentence}</textarea>" in html.replace("&#x27;", "'")
    assert "too few studies" not in html


def test_the_json_carries_n_and_ci_for_every_figure(team: dict[str, Any]) -> None:
    score_studies(team, 6, same_pair(team))
    data = figures(team)
    icc2 = next(c for c in data["totals"]["icc"] if c["key"] == "ICC2")
    assert (icc2["n_subjects"], icc2["n_raters"]) == (6, 2)
    assert len(icc2["ci95"]) == 2
    # Six studies: enough for item kappas (5), not for an ICC (10).
    assert icc2["reliable"] is False and icc2["min_subjects"] == 10
    assert icc2["caveat"] == "too few studies (n = 6) for a reliable estimate"
    assert data["methods_reliable"] is False
    item2 = next(i for i in data["items"] if i["code"] == "2")
    kappa = item2["coefficients"][0]
    assert kappa["key"] == "cohen_kappa"
    assert (kappa["n_subjects"], kappa["n_raters"], kappa["reliable"]) == (6, 2, True)
    assert "ci95" in kappa and kappa["caveat"] == ""
    assert all(
        {"n_subjects", "n_raters", "ci95", "reliable"} <= set(c)
        for item in data["items"]
        for c in item["coefficients"]
    )
    assert data["totals"]["bland_altman"]["n_subjects"] == 6
    assert data["totals"]["bland_altman"]["reliable"] is False


def test_a_modified_instrument_is_named_as_modified_from_its_original() -> None:
    original = SimpleNamespace(short_name="RQS 1.0", name="Radiomics Quality Score")
    copy = SimpleNamespace(modified_from=original)
    assert reporting.modified_from(SimpleNamespace(), copy) == "RQS 1.0"
    assert reporting.modified_from(SimpleNamespace(modified_from="RQS 1.0")) == (
        "RQS 1.0"
    )
    assert reporting.modified_from(SimpleNamespace(modified_from="")) == ""
    name = reporting.instrument_name("Local RQS", "RQS 1.0")
    assert name == "Local RQS (modified from RQS 1.0)"
    methods = reporting.reported_methods(
        n_reviewers=2,
        n_studies=12,
        instrument=name,
        design="fixed",
        total_icc=ag.Coefficient(0.7, (0.4, 0.9)),
    )
    assert methods.reliable
    assert "with Local RQS (modified from RQS 1.0);" in methods.text
