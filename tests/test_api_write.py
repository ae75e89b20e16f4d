"""The API's writes: studies (one, or a file all or nothing), assignments,
answers (the autosave's revision check and 409) and submit, with tokens."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from assessments.models import Answer, ApiToken, AuditEvent, Membership, Study
from assessments.services import assignment, calibration, projects
from tests.factories import RQS_13, StudyFactory, UserFactory, make_project

pytestmark = pytest.mark.django_db

CSV_HEAD = "title,year,data_url\n"
GOOD_CSV = (
    CSV_HEAD
    + "Radiomics of lung nodules on low-dose CT,2021,https://example.org/a\n"
    + "MRI radiomics for glioma grading,2020,\n"
)
BAD_CSV = GOOD_CSV + "Texture analysis of rectal cancer,2022,javascript:alert(1)\n"


@pytest.fixture
def w() -> dict[str, Any]:
    lead = UserFactory(username="lead")
    r1, r2 = UserFactory(username="r1"), UserFactory(username="r2")
    observer = UserFactory(username="observer")
    project = make_project(lead=lead, reviewers=[r1, r2], slug="p")
    projects.set_membership(
        project=project, member=observer, role=Membership.Role.OBSERVER, user=lead
    )
    study = StudyFactory(project=project, title="Lung CT radiomics signature")
    version = project.instruments.get()
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
        "observer": observer,
        "outsider": UserFactory(username="outsider"),
        "project": project,
        "study": study,
        "version": version,
        "a1": a1,
        "a2": a2,
    }


def api(w: dict[str, Any], who: str, write: bool = True) -> APIClient:
    token, raw = ApiToken.make(user=w[who], name=f"{who}-t", days=30, write=write)
    token.projects.add(w["project"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def answer_url(assessment: Any, item: str) -> str:
    return f"/api/v1/assessments/{assessment.uuid}/answers/{item}"


def put(client: APIClient, assessment: Any, item: str, **body: Any) -> Any:
    data = {"choices": None, "evidence": "", "page": "", "comment": "", **body}
    return client.put(answer_url(assessment, item), data, format="json")


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action))


# --- answers ----------------------------------------------------------------------


def test_an_answer_is_saved_with_its_new_revision_score_and_audit(w: dict) -> None:
    response = put(
        api(w, "r1"),
        w["a1"],
        "5",
        choices=["either"],
        evidence="LASSO selected 6 of 1,200 features",
        page=" 4 ",
        revision=0,
    )
    assert response.status_code == 200, response.content
    body = response.json()
    stored = Answer.objects.get(assessment=w["a1"], item_code="5")
    assert body["saved"] is True and body["item"] == "5"
    assert body["revision"] == stored.revision == body["answer"]["revision"]
    assert body["answer"]["choices"] == ["either"] and body["answer"]["page"] == "4"
    assert body["score"]["total"] == 3 and body["score"]["complete"] is False
    assert "1" in body["missing"] and body["warnings"] == []
    assert stored.evidence == "LASSO selected 6 of 1,200 features"
    (event,) = events("api-answer")
    assert event.target == str(w["study"]) and event.detail["item"] == "5"
    assert event.actor == w["r1"] and event.detail["token"] == "r1-t"


def test_a_stale_revision_gets_409_with_the_newer_answer(w: dict) -> None:
    first, second = api(w, "r1"), api(w, "r1")
    saved = put(first, w["a1"], "2", choices=["yes"], evidence="newer", revision=0)
    assert saved.status_code == 200
    # The second client last saw the item unanswered (revision 0).
    response = put(second, w["a1"], "2", choices=["no"], evidence="older", revision=0)
    assert response.status_code == 409
    body = response.json()
    assert "changed elsewhere" in body["detail"]
    stored = Answer.objects.get(assessment=w["a1"], item_code="2")
    assert body["current"]["choices"] == ["yes"]
    assert body["current"]["evidence"] == "newer"
    assert body["current"]["revision"] == stored.revision
    assert stored.choices == ["yes"] and stored.evidence == "newer"
    # With the revision it now knows, the second client's change goes through.
    retry = put(second, w["a1"], "2", choices=["no"], revision=stored.revision)
    assert retry.status_code == 200 and retry.json()["revision"] > stored.revision


def test_a_read_only_token_is_refused_and_nothing_is_stored(w: dict) -> None:
    response = put(api(w, "r1", write=False), w["a1"], "2", choices=["yes"], revision=0)
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]
    assert not Answer.objects.filter(assessment=w["a1"]).exists()
    assert not events("api-answer")


@pytest.mark.parametrize(
    "item,body,words",
    [
        ("99", {"choices": ["yes"], "revision": 0}, "'99' is not an item"),
        ("5", {"choices": ["maybe"], "revision": 0}, "not an option"),
        ("2", {"choices": ["yes"]}, "revision"),
        ("2", {"choices": ["yes"], "revision": "abc"}, "revision"),
        ("2", {"choices": ["yes"], "revision": 0, "evidence": "x" * 20_001}, "longer"),
        ("2", {"choices": ["yes"], "revision": 0, "quotes": [{"page": 1}]}, "exact"),
    ],
)
def test_a_refused_answer_says_why_and_changes_nothing(
    w: dict, item: str, body: dict, words: str
) -> None:
    client = api(w, "r1")
    response = client.put(answer_url(w["a1"], item), body, format="json")
    assert response.status_code == 400
    assert words in response.json()["detail"]
    assert not Answer.objects.filter(assessment=w["a1"]).exists()


def test_another_reviewers_assessment_is_refused(w: dict) -> None:
    # r2 is blinded from r1's work: access refuses before anything is read.
    response = put(api(w, "r2"), w["a1"], "2", choices=["yes"], revision=0)
    assert response.status_code == 403
    # The lead may see it (not reviewing the study) but not change it.
    response = put(api(w, "lead"), w["a1"], "2", choices=["yes"], revision=0)
    assert response.status_code == 403
    assert response.json()["detail"] == "You can only change your own assessment."
    response = put(api(w, "observer"), w["a1"], "2", choices=["yes"], revision=0)
    assert response.status_code == 403
    response = put(api(w, "outsider"), w["a1"], "2", choices=["yes"], revision=0)
    assert response.status_code == 404
    body = api(w, "r1").put(answer_url(w["a1"], "2"), [1], format="json").json()
    assert body["detail"].startswith("The body: ")
    assert not Answer.objects.filter(assessment=w["a1"]).exists()


def fill(client: APIClient, assessment: Any) -> None:
    for item, choices in RQS_13.items():
        response = put(client, assessment, item, choices=choices, revision=0)
        assert response.status_code == 200, response.content


def test_submit_locks_then_answers_and_resubmits_get_409(w: dict) -> None:
    client = api(w, "r1")
    refused = client.post(f"/api/v1/assessments/{w['a1'].uuid}/submit")
    assert refused.status_code == 400
    body = refused.json()
    assert "Item 1" in body["detail"] and "is not answered" in body["detail"]
    assert "1" in body["items"] and len(body["missing"]) == 16
    fill(client, w["a1"])
    done = client.post(f"/api/v1/assessments/{w['a1'].uuid}/submit")
    assert done.status_code == 200, done.content
    assert done.json()["score"]["total"] == 13 and done.json()["status"] == "submitted"
    w["a1"].refresh_from_db()
    assert w["a1"].status == "submitted"
    (event,) = events("api-submit")
    assert event.target == str(w["study"])
    again = client.post(f"/api/v1/assessments/{w['a1'].uuid}/submit")
    assert again.status_code == 409
    locked = put(client, w["a1"], "2", choices=["no"], revision=99)
    assert locked.status_code == 409
    assert (
        "submitted" in locked.json()["detail"] and "reopen" in locked.json()["detail"]
    )
    assert Answer.objects.get(assessment=w["a1"], item_code="2").choices == ["yes"]


def test_an_uncertified_reviewer_is_warned_when_answering(w: dict) -> None:
    certify_on(w)
    response = put(api(w, "r1"), w["a1"], "2", choices=["yes"], revision=0)
    assert response.status_code == 200
    (warning,) = response.json()["warnings"]
    assert "not yet certified" in warning


def test_a_browser_session_must_carry_the_csrf_token(w: dict) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(w["r1"])
    response = put(client, w["a1"], "2", choices=["yes"], revision=0)
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not Answer.objects.filter(assessment=w["a1"]).exists()


# --- assignments ------------------------------------------------------------------


def certify_on(w: dict) -> None:
    calibration.save_settings(
        project=w["project"],
        version=w["version"],
        values={"certification": True, "min_training_studies": 1},
        user=w["lead"],
    )


def assign(client: APIClient, w: dict, **body: Any) -> Any:
    data = {"version": w["version"].key, "reviewer": "r1", **body}
    return client.post("/api/v1/projects/p/assignments/", data, format="json")


def test_assigning_an_uncertified_reviewer_warns(w: dict) -> None:
    certify_on(w)
    study = StudyFactory(project=w["project"])
    response = assign(api(w, "lead"), w, study=str(study.uuid))
    assert response.status_code == 201, response.content
    body = response.json()
    made = study.assessments.get()
    assert body["assessment"] == str(made.uuid) and body["study"] == str(study.uuid)
    assert (body["reviewer"], body["version"]) == ("r1", "rqs-1.0")
    assert body["status"] == "assigned" and body["status_label"] == "Assigned"
    (warning,) = body["warnings"]
    assert "not yet certified" in warning
    (event,) = events("api-assign")
    assert event.target == str(study)
    assert event.detail["reviewer"] == "r1" and event.detail["version"] == "rqs-1.0"


def test_an_assignment_without_warnings(w: dict) -> None:
    study = StudyFactory(project=w["project"])
    response = assign(api(w, "lead"), w, study=str(study.uuid))
    assert response.status_code == 201
    assert response.json()["warnings"] == []


@pytest.mark.parametrize(
    "body,words",
    [
        ({"study": "00000000-0000-4000-8000-000000000000"}, "No study"),
        ({"version": "quadas-2"}, "'quadas-2'"),
        ({"reviewer": "outsider"}, "'outsider' is not a member"),
        ({"reviewer": "nobody"}, "'nobody' is not a member"),
        ({"study": "not-a-uuid"}, "study"),
    ],
)
def test_an_unknown_study_version_or_reviewer_is_named(
    w: dict, body: dict, words: str
) -> None:
    study = StudyFactory(project=w["project"])
    response = assign(api(w, "lead"), w, **{"study": str(study.uuid), **body})
    assert response.status_code == 400
    assert words in response.json()["detail"]
    assert not study.assessments.exists()


def test_the_services_refusal_comes_back_in_its_words(w: dict) -> None:
    response = assign(api(w, "lead"), w, study=str(w["study"].uuid))
    assert response.status_code == 400
    assert response.json()["detail"] == "r1 is already assigned to this study."
    assert not events("api-assign")


def test_only_leads_assign(w: dict) -> None:
    study = StudyFactory(project=w["project"])
    for who, code in (("observer", 403), ("r1", 403), ("outsider", 404)):
        response = assign(api(w, who), w, study=str(study.uuid))
        assert response.status_code == code, who
    assert not study.assessments.exists()


# --- studies ----------------------------------------------------------------------

STUDIES = "/api/v1/projects/p/studies/"


def test_a_lead_adds_one_study_by_json(w: dict) -> None:
    body = {"title": "Radiomics of the pancreas", "year": 2023, "doi": "10.1/ABC"}
    response = api(w, "lead").post(STUDIES, body, format="json")
    assert response.status_code == 201, response.content
    study = Study.objects.get(uuid=response.json()["uuid"])
    assert study.project == w["project"] and study.year == 2023
    assert response.json()["doi"] == study.doi == "10.1/abc"
    (event,) = events("api-study-add")
    assert event.target == str(study)


@pytest.mark.parametrize(
    "body,field,words",
    [
        ({"year": 2023}, "title", "Title: This field is required"),
        ({"title": "Lung CT radiomics signature"}, "title", "exists"),
        ({"title": "A study", "year": "soon"}, "year", "Year:"),
        ({"title": "A study", "colour": "red"}, None, "Unknown study field(s): colour"),
    ],
)
def test_a_refused_study_names_its_fields(
    w: dict, body: dict, field: str | None, words: str
) -> None:
    before = Study.objects.count()
    response = api(w, "lead").post(STUDIES, body, format="json")
    assert response.status_code == 400
    assert words in response.json()["detail"]
    if field:
        assert response.json()["fields"][field]
    assert Study.objects.count() == before and not events("api-study-add")


def upload(client: APIClient, text: str, **extra: str) -> Any:
    data = {"file": SimpleUploadedFile("s.csv", text.encode()), **extra}
    return client.post(STUDIES, data, format="multipart")


def test_a_good_file_creates_every_study(w: dict) -> None:
    response = upload(api(w, "lead"), GOOD_CSV, format="csv")
    assert response.status_code == 201, response.content
    assert response.json() == {"created": 2, "format": "csv", "duplicates": []}
    assert w["project"].studies.count() == 3
    (event,) = events("api-import-studies")
    assert event.detail["created"] == 2 and event.target == ""
    # The same file again: every record is a duplicate, named with its reason.
    again = upload(api(w, "lead"), GOOD_CSV).json()
    assert again["created"] == 0 and len(again["duplicates"]) == 2
    assert "same title" in again["duplicates"][0]["reason"]


def test_a_file_with_one_bad_record_creates_nothing_and_names_it(w: dict) -> None:
    response = upload(api(w, "lead"), BAD_CSV)
    assert response.status_code == 400
    body = response.json()
    (problem,) = body["problems"]
    assert "Record 3" in problem and "Texture analysis of rectal cancer" in problem
    assert "http" in problem and problem in body["detail"]
    assert "Nothing was imported" in body["detail"]
    assert w["project"].studies.count() == 1 and not events("api-import-studies")


def test_an_upload_without_a_file_or_too_large_is_refused(w: dict, settings) -> None:
    client = api(w, "lead")
    response = client.post(STUDIES, {"format": "csv"}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()["fields"]
    settings.UPLOAD_MAX_BYTES = 10
    response = upload(client, GOOD_CSV)
    assert response.status_code == 413
    assert "larger than the upload limit of 10 bytes" in response.json()["detail"]
    assert w["project"].studies.count() == 1


def test_only_leads_add_studies(w: dict) -> None:
    for who, code in (("observer", 403), ("r1", 403), ("outsider", 404)):
        client = api(w, who)
        assert client.post(STUDIES, {"title": "X"}, format="json").status_code == code
        assert upload(client, GOOD_CSV).status_code == code
    read_only = api(w, "lead", write=False)
    assert read_only.post(STUDIES, {"title": "X"}, format="json").status_code == 403
    assert w["project"].studies.count() == 1
