"""The assessment form through its views: autosave, concurrency, submit, blinding."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from assessments.models import Answer, Assessment, InstrumentVersion, Membership
from assessments.services import assignment
from tests.factories import RQS_13, StudyFactory, UserFactory, make_project

RQS_COMPLETE = RQS_13  # 13 points


@pytest.fixture
def setup(db: None) -> dict[str, Any]:
    lead = UserFactory(username="lead")
    r1, r2 = UserFactory(username="r1"), UserFactory(username="r2")
    project = make_project(lead=lead, reviewers=[r1, r2], slug="p")
    study = StudyFactory(project=project, title="Lung CT radiomics signature")
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    a1 = assignment.assign_reviewer(
        study=study, version=version, reviewer=r1, user=lead
    )
    a2 = assignment.assign_reviewer(
        study=study, version=version, reviewer=r2, user=lead
    )
    return {
        "lead": lead,
        "r1": r1,
        "r2": r2,
        "project": project,
        "study": study,
        "a1": a1,
        "a2": a2,
        "version": version,
    }


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def save(
    client: Client,
    assessment: Assessment,
    item: str,
    choices: list[str],
    seen: int | None = None,
    **extra: str,
) -> Any:
    if seen is None:
        answer = Answer.objects.filter(assessment=assessment, item_code=item).first()
        seen = answer.revision if answer else 0
    data = {"item": item, "choices": choices, "seen": str(seen), **extra}
    if choices == []:
        data["answered"] = "1"
    return client.post(
        f"/a/{assessment.uuid}/answer", data, HTTP_X_REQUESTED_WITH="fetch"
    )


def fill(client: Client, assessment: Assessment, answers: dict[str, list[str]]) -> None:
    for item, choices in answers.items():
        assert save(client, assessment, item, choices).status_code == 200


def test_autosave_returns_the_running_score_and_reload_shows_it(setup: dict) -> None:
    c = client_for(setup["r1"])
    response = save(
        c,
        setup["a1"],
        "5",
        ["either"],
        evidence="LASSO selected 6 of 1,200 features",
        page="4",
    )
    assert response.status_code == 200
    body = response.json()
    assert 'data-testid="total">3<' in body["score_html"]
    assert body["points"]["5"] == "+3"
    response = save(c, setup["a1"], "12", ["none"])
    assert 'data-testid="total">-2<' in response.json()["score_html"]
    page = c.get(f"/a/{setup['a1'].uuid}/").content.decode()
    assert "LASSO selected 6 of 1,200 features" in page
    assert 'value="either" checked' in page
    setup["a1"].refresh_from_db()
    assert setup["a1"].status == "in_progress" and setup["a1"].total == -2


def test_stale_save_is_refused_and_the_newer_answer_kept(setup: dict) -> None:
    c = client_for(setup["r1"])
    assert (
        save(c, setup["a1"], "2", ["yes"], seen=0, evidence="newer").status_code == 200
    )
    # An older copy of the form (it last saw revision 0) saves over it.
    response = save(c, setup["a1"], "2", ["no"], seen=0, evidence="older")
    assert response.status_code == 409
    assert response.json()["current"]["choices"] == ["yes"]
    assert "changed elsewhere" in response.json()["error"]
    answer = Answer.objects.get(assessment=setup["a1"], item_code="2")
    assert answer.choices == ["yes"] and answer.evidence == "newer"
    # Saves to other items from the older copy are not blocked.
    assert save(c, setup["a1"], "3", ["no"], seen=0).status_code == 200


@pytest.mark.parametrize(
    "data,message",
    [
        ({"item": "5", "choices": ["0"]}, "not an option"),
        ({"item": "5", "choices": ["yes"]}, "not an option"),
        ({"item": "2", "choices": ["yes", "no"]}, "takes one answer"),
        ({"item": "99", "choices": ["yes"]}, "not an item"),
        ({"item": "2", "choices": ["yes"], "evidence": "x" * 20_001}, "longer than"),
        ({"item": "2", "choices": ["yes"], "seen": "abc"}, "revision"),
    ],
)
def test_malformed_saves_are_400_and_change_nothing(
    setup: dict, data: dict, message: str
) -> None:
    c = client_for(setup["r1"])
    response = c.post(
        f"/a/{setup['a1'].uuid}/answer",
        {"seen": "0", **data},
        HTTP_X_REQUESTED_WITH="fetch",
    )
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not Answer.objects.filter(assessment=setup["a1"]).exists()
    setup["a1"].refresh_from_db()
    assert setup["a1"].revision == 0 and setup["a1"].status == "assigned"


def test_resampling_without_statistic_is_saved_but_blocks_submit(setup: dict) -> None:
    c = client_for(setup["r1"])
    fill(c, setup["a1"], {**RQS_COMPLETE, "9": ["resampling"]})
    assert save(c, setup["a1"], "9", ["resampling"]).json()["problems"]["9"]
    response = c.post(f"/a/{setup['a1'].uuid}/submit", follow=True)
    assert "resampling" in response.content.decode().lower()
    setup["a1"].refresh_from_db()
    assert setup["a1"].status == "in_progress"


def test_submit_checks_completeness_then_locks(setup: dict) -> None:
    c = client_for(setup["r1"])
    fill(c, setup["a1"], dict(list(RQS_COMPLETE.items())[:10]))
    page = c.post(f"/a/{setup['a1'].uuid}/submit", follow=True).content.decode()
    assert "Item 11" in page and "not answered" in page
    fill(c, setup["a1"], RQS_COMPLETE)
    c.post(f"/a/{setup['a1'].uuid}/submit")
    setup["a1"].refresh_from_db()
    assert setup["a1"].status == "submitted" and setup["a1"].total == 13
    assert setup["a1"].independent_total == 13
    response = save(c, setup["a1"], "2", ["no"])
    assert response.status_code == 423
    assert Answer.objects.get(assessment=setup["a1"], item_code="2").choices == ["yes"]


def test_blinding_hides_a_co_reviewers_answers_until_all_submitted(setup: dict) -> None:
    c1, c2 = client_for(setup["r1"]), client_for(setup["r2"])
    fill(c2, setup["a2"], {**RQS_COMPLETE, "7": ["yes"]})
    c2.post(f"/a/{setup['a2'].uuid}/submit")
    fill(c1, setup["a1"], {"2": ["yes"]})
    for url in (
        f"/a/{setup['a2'].uuid}/",
        f"/a/{setup['a2'].uuid}.json",
        f"/a/{setup['a2'].uuid}/history/",
    ):
        assert c1.get(url).status_code == 403, url
    study_page = c1.get(f"/p/p/s/{setup['study'].uuid}/").content.decode()
    assert str(setup["a2"].uuid) not in study_page.split("assessment-reassign")[0] or (
        f"/a/{setup['a2'].uuid}/" not in study_page
    )
    assert "14 / 36" not in study_page and ">14<" not in study_page
    fill(c1, setup["a1"], RQS_COMPLETE)
    c1.post(f"/a/{setup['a1'].uuid}/submit")
    assert c1.get(f"/a/{setup['a2'].uuid}.json").json()["result"]["total"] == "14"
    assert (
        f"/a/{setup['a2'].uuid}/"
        in c1.get(f"/p/p/s/{setup['study'].uuid}/").content.decode()
    )


def test_a_lead_who_reviews_the_study_is_blinded_too(setup: dict) -> None:
    lead = client_for(setup["lead"])
    own = assignment.assign_reviewer(
        study=setup["study"],
        version=setup["version"],
        reviewer=setup["lead"],
        user=setup["lead"],
        reason="third reader needed",
    )
    fill(client_for(setup["r2"]), setup["a2"], {"2": ["yes"]})
    assert lead.get(f"/a/{setup['a2'].uuid}.json").status_code == 403
    assert lead.get(f"/a/{own.uuid}/").status_code == 200


def test_blinding_off_lets_reviewers_see_each_other(setup: dict) -> None:
    setup["project"].blinding = False
    setup["project"].save()
    fill(client_for(setup["r2"]), setup["a2"], {"2": ["yes"]})
    assert client_for(setup["r1"]).get(f"/a/{setup['a2'].uuid}.json").status_code == 200


def test_reopen_after_unblinding_marks_revised_and_keeps_the_first_submission(
    setup: dict,
) -> None:
    c1, c2, lead = (
        client_for(setup["r1"]),
        client_for(setup["r2"]),
        client_for(setup["lead"]),
    )
    for client, assessment in ((c1, setup["a1"]), (c2, setup["a2"])):
        fill(client, assessment, RQS_COMPLETE)
        client.post(f"/a/{assessment.uuid}/submit")
    response = lead.post(f"/a/{setup['a1'].uuid}/reopen", {"reason": ""}, follow=True)
    assert "reason" in response.content.decode()
    lead.post(f"/a/{setup['a1'].uuid}/reopen", {"reason": "item 12 misread"})
    setup["a1"].refresh_from_db()
    assert setup["a1"].status == "reopened" and setup["a1"].revised_after_unblinding
    fill(c1, setup["a1"], {"12": ["three_plus"]})
    c1.post(f"/a/{setup['a1'].uuid}/submit")
    setup["a1"].refresh_from_db()
    assert setup["a1"].total == 16 and setup["a1"].independent_total == 13
    answer = Answer.objects.get(assessment=setup["a1"], item_code="12")
    assert answer.independent_choices == ["same_institute"]


def test_reviewer_cannot_reopen(setup: dict) -> None:
    c1 = client_for(setup["r1"])
    fill(c1, setup["a1"], RQS_COMPLETE)
    c1.post(f"/a/{setup['a1'].uuid}/submit")
    assert c1.post(f"/a/{setup['a1'].uuid}/reopen", {"reason": "x"}).status_code == 403


def test_history_keeps_every_change_with_old_and_new_values(setup: dict) -> None:
    c1 = client_for(setup["r1"])
    save(c1, setup["a1"], "2", ["yes"], evidence="first quote")
    save(c1, setup["a1"], "2", ["no"], evidence="second quote")
    history = Answer.history.filter(item_code="2").order_by("history_date")
    assert [h.choices for h in history] == [["yes"], ["no"]]
    assert all(h.history_user == setup["r1"] for h in history)
    fill(c1, setup["a1"], RQS_COMPLETE)
    c1.post(f"/a/{setup['a1'].uuid}/submit")
    # Leads see it once the study is unblinded for them (they do not review it).
    page = client_for(setup["lead"]).get(f"/a/{setup['a1'].uuid}/history/")
    assert "first quote" in page.content.decode()


def test_each_saved_version_of_an_answer_is_kept_whole_in_its_history(
    setup: dict,
) -> None:
    """The history row of every save holds the answer as it was stored then,
    the first as created and each later one as a change, by whom it was made."""
    c1, a1 = client_for(setup["r1"]), setup["a1"]
    saves = [
        save(c1, a1, "3", ["yes"], evidence="p. 2", page="2"),
        save(c1, a1, "5", ["either"]),  # another item in between
        save(c1, a1, "3", ["no"], evidence="p. 3, table 1", page="3", comment="?"),
        save(c1, a1, "3", ["yes"], evidence="yes after all, see p. 3"),
    ]
    assert [r.status_code for r in saves] == [200] * 4
    answer = Answer.objects.get(assessment=a1, item_code="3")
    history = list(Answer.history.filter(id=answer.pk).order_by("history_id"))
    assert [h.history_type for h in history] == ["+", "~", "~"]
    assert [(h.choices, h.evidence, h.page, h.comment) for h in history] == [
        (["yes"], "p. 2", "2", ""),
        (["no"], "p. 3, table 1", "3", "?"),
        (["yes"], "yes after all, see p. 3", "", ""),
    ]
    assert all(h.history_user == setup["r1"] for h in history)
    assert all(h.updated_by == setup["r1"] for h in history)
    latest = history[-1]
    for name in ("item_code", "choices", "revision", "evidence", "page", "comment"):
        assert getattr(latest, name) == getattr(answer, name), name
    assert latest.quotes == answer.quotes == []
    assert latest.assessment_id == a1.pk
    assert answer.revision == Assessment.objects.get(pk=a1.pk).revision == 4


def test_expired_session_gets_401_json_for_background_saves(setup: dict) -> None:
    response = Client().post(
        f"/a/{setup['a1'].uuid}/answer", {"item": "2"}, HTTP_X_REQUESTED_WITH="fetch"
    )
    assert response.status_code == 401 and response.json()["login"] is True


def test_relogin_endpoint_logs_in_and_returns_a_fresh_token(setup: dict) -> None:
    client = Client()
    bad = client.post("/accounts/relogin", {"username": "r1", "password": "nope"})
    assert bad.status_code == 401
    good = client.post("/accounts/relogin", {"username": "r1", "password": "pw"})
    assert good.status_code == 200 and good.json()["csrf"]
    assert client.get("/queue/").status_code == 200


def test_queue_shows_progress(setup: dict) -> None:
    c1 = client_for(setup["r1"])
    fill(c1, setup["a1"], {"2": ["yes"], "3": ["no"]})
    page = c1.get("/queue/").content.decode()
    assert "Lung CT radiomics signature" in page and "2/16" in page


def test_history_is_exportable_as_csv(setup: dict) -> None:
    c1 = client_for(setup["r1"])
    save(c1, setup["a1"], "2", ["yes"], evidence='=HYPERLINK("x")')
    save(c1, setup["a1"], "2", ["no"], evidence="second")
    fill(c1, setup["a1"], RQS_COMPLETE)
    c1.post(f"/a/{setup['a1'].uuid}/submit")
    response = client_for(setup["lead"]).get(
        f"/a/{setup['a1'].uuid}/history/?format=csv"
    )
    text = response.content.decode("utf-8-sig")
    assert response["Content-Type"].startswith("text/csv")
    assert "'=HYPERLINK" in text and ",second," in text
    assert (
        client_for(setup["r2"])
        .get(f"/a/{setup['a1'].uuid}/history/?format=csv")
        .status_code
        == 403
    )


ITEM9_WORDS = (
    "Item 9 (Discrimination statistics): 'Resampling (e.g. bootstrap, "
    "cross-validation) also applied' counts only together with 'Discrimination "
    "statistic reported with its significance'."
)


def test_problems_name_options_by_their_labels_not_codes(setup: dict) -> None:
    c = client_for(setup["r1"])
    body = save(c, setup["a1"], "9", ["resampling"]).json()
    assert body["problems"] == {"9": ITEM9_WORDS}
    page = c.get(f"/a/{setup['a1'].uuid}/").content.decode()
    assert "counts only together with &#x27;Discrimination statistic" in page
    assert "&#x27;stat&#x27;" not in page


def test_a_refused_submit_lists_each_item_with_a_link_and_marks_it(
    setup: dict,
) -> None:
    c = client_for(setup["r1"])
    fill(c, setup["a1"], {**dict(list(RQS_COMPLETE.items())[:15]), "9": ["resampling"]})
    first = c.get(f"/a/{setup['a1'].uuid}/").content.decode()
    assert "is-missing" not in first and "submit-errors" not in first
    response = c.post(f"/a/{setup['a1'].uuid}/submit")
    assert response.status_code == 302
    page = c.get(response["Location"]).content.decode()
    assert '<a href="#item-16" data-goto="16">Item 16 (Open science and data)' in page
    assert f'data-goto="9">{escape(ITEM9_WORDS)}</a>' in page
    assert page.count("item card mb-2 is-missing") == 1


def test_a_stale_save_carries_the_current_score_and_lists(setup: dict) -> None:
    c = client_for(setup["r1"])
    save(c, setup["a1"], "2", ["yes"], seen=0)
    save(c, setup["a1"], "9", ["resampling"], seen=0)
    response = save(c, setup["a1"], "2", ["no"], seen=0)
    assert response.status_code == 409
    body = response.json()
    assert body["saved"] is False and body["current"]["choices"] == ["yes"]
    assert 'data-testid="total">1<' in body["score_html"]
    assert body["problems"] == {"9": ITEM9_WORDS}
    assert "2" not in body["missing"] and "3" in body["missing"]
    assert body["points"]["2"] == "+1" and body["status"] == "In progress"


def test_a_submitted_form_shows_answers_as_text_and_the_final_score(
    setup: dict,
) -> None:
    c = client_for(setup["r1"])
    fill(c, setup["a1"], RQS_COMPLETE)
    save(c, setup["a1"], "5", ["either"], evidence="LASSO, p. 4")
    c.post(f"/a/{setup['a1'].uuid}/submit")
    page = c.get(f"/a/{setup['a1'].uuid}/").content.decode()
    assert "Final score <strong>13 of 36 points (36.1%)</strong>, submitted on" in page
    assert f"/queue/next?after={setup['a1'].uuid}" in page
    assert "<input" not in page.split('id="assessment"')[1].split("</form>")[0]
    assert "Reduction or adjustment applied" in page and "LASSO, p. 4" in page


# --- the autosave's one-query access check and lock ------------------------------


def _saved_revision(response: Any) -> int:
    assert response.status_code == 200, response.content[:300]
    return response.json()["revision"]


def test_own_autosave_takes_nine_queries_however_many_answers(setup: dict) -> None:
    client, assessment = client_for(setup["r1"]), setup["a1"]
    revision = _saved_revision(save(client, assessment, "2", ["no"]))
    for item in ("3", "4", "6", "7", "8"):
        save(client, assessment, item, ["yes"])
    with CaptureQueriesContext(connection) as queries:
        _saved_revision(save(client, assessment, "2", ["yes"], seen=revision))
    # session, user, lock with the access check, answers, answer, its history,
    # the assessment, and the savepoint pair.
    assert len(queries.captured_queries) <= 9, [
        q["sql"][:80] for q in queries.captured_queries
    ]


def test_a_removed_reviewer_gets_404_and_nothing_is_saved(setup: dict) -> None:
    client, assessment = client_for(setup["r1"]), setup["a1"]
    _saved_revision(save(client, assessment, "2", ["no"]))
    Membership.objects.filter(user=setup["r1"], project=setup["project"]).delete()
    response = save(client, assessment, "2", ["yes"])
    assert response.status_code == 404
    assert assessment.answers.get(item_code="2").choices == ["no"]


def test_someone_elses_assessment_is_still_refused(setup: dict) -> None:
    # r2 is a co-reviewer: blinded from r1's work, and never its editor.
    response = save(client_for(setup["r2"]), setup["a1"], "2", ["yes"])
    assert response.status_code in (403, 404)
    lead = save(client_for(setup["lead"]), setup["a1"], "2", ["yes"])
    assert lead.status_code in (403, 404)
    assert not setup["a1"].answers.exists()


def test_a_submitted_assessment_still_answers_423(setup: dict) -> None:
    Assessment.objects.filter(pk=setup["a1"].pk).update(status="submitted")
    response = save(client_for(setup["r1"]), setup["a1"], "2", ["yes"])
    assert response.status_code == 423


def test_a_stale_save_still_answers_409_with_the_newer_answer(setup: dict) -> None:
    client, assessment = client_for(setup["r1"]), setup["a1"]
    _saved_revision(save(client, assessment, "2", ["no"]))
    response = save(client, assessment, "2", ["yes"], seen=0)
    assert response.status_code == 409
    assert response.json()["current"]["choices"] == ["no"]
