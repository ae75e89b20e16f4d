"""Security review: the members page and the project settings page.

New accounts get a set-password link; membership edits accept only real
roles, never leave a project without a lead, and never answer 500; usernames
follow the User model's rules; unblinding is audited; instrument changes are
applied, or refused whole when assessments use the version removed.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from assessments.models import AuditEvent, Membership, Project
from assessments.services import assignment
from tests.factories import StudyFactory, UserFactory, load_instrument, make_project

MEMBERS = "/p/p/members/"
EDIT = "/p/p/edit/"


@pytest.fixture
def project(db: None) -> Project:
    lead = UserFactory(username="lead")
    reviewers = [UserFactory(username=f"r{i}") for i in (1, 2)]
    return make_project(lead=lead, reviewers=reviewers, slug="p")


def client_for(username: str) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def page_messages(response: Any) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def membership(project: Project, username: str) -> Membership:
    return project.memberships.get(user__username=username)


def role_of(project: Project, username: str) -> str | None:
    found = project.memberships.filter(user__username=username).first()
    return found.role if found else None


def create_account(client: Client, **fields: str) -> Any:
    data = {"create": "1", "email": "new@example.org", "role": "reviewer", **fields}
    return client.post(MEMBERS, data)


def log_in(username: str, password: str) -> Client:
    # Through the login page: django-axes needs the request to authenticate.
    client = Client()
    client.post("/accounts/login/", {"username": username, "password": password})
    return client


# --- finding 10: a new account can set its password ----------------------------------


def test_a_new_account_is_mailed_a_link_to_set_its_password_and_can_log_in(
    project: Project,
) -> None:
    response = create_account(client_for("lead"), username="newbie")
    assert response.status_code == 302
    assert role_of(project, "newbie") == "reviewer"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new@example.org"]
    assert message.subject == "Your account for the review project P"
    assert "Your username: newbie" in message.body
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body)
    assert link, message.body

    visitor = Client()
    form_page = visitor.get(link.group(1), follow=True)
    assert form_page.status_code == 200
    assert form_page.context["validlink"] is True
    new_password = "a-long-passphrase-for-review-42"
    done = visitor.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )
    assert done.status_code == 302

    logged_in = log_in("newbie", new_password)
    assert logged_in.session.get("_auth_user_id") == str(
        get_user_model().objects.get(username="newbie").pk
    )
    assert logged_in.get("/p/p/").status_code == 200


def test_the_forgotten_password_form_reaches_an_account_that_never_set_one(
    project: Project,
) -> None:
    create_account(client_for("lead"), username="newbie")
    mail.outbox.clear()
    Client().post("/accounts/password_reset/", {"email": "new@example.org"})
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new@example.org"]


def test_no_account_is_left_behind_when_the_link_cannot_be_mailed(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(
        "django.core.mail.backends.locmem.EmailBackend.send_messages", refuse
    )
    response = create_account(client_for("lead"), username="newbie")
    assert response.status_code == 400
    assert "could not be sent" in page_messages(response)
    assert not get_user_model().objects.filter(username="newbie").exists()


# --- finding 13: usernames of new accounts follow the User model's rules ----------


@pytest.mark.parametrize(
    ("username", "problem"),
    [
        ('=HYPERLINK("http://evil.example","x")', "Enter a valid username"),
        ("bad name", "Enter a valid username"),
        ("-cmd", "Start the username with a letter or digit"),
        ("@SUM", "Start the username with a letter or digit"),
        ("a" * 151, "at most 150 characters"),
    ],
)
def test_a_new_account_with_an_invalid_username_is_refused_with_a_clear_error(
    project: Project, username: str, problem: str
) -> None:
    response = create_account(client_for("lead"), username=username)
    assert response.status_code == 400
    assert problem in response.content.decode()
    assert not get_user_model().objects.filter(email="new@example.org").exists()
    assert not mail.outbox


def test_a_new_account_cannot_reuse_a_username_in_other_case(
    project: Project,
) -> None:
    response = create_account(client_for("lead"), username="R1")
    assert response.status_code == 400
    assert "That username is taken." in response.content.decode()


# --- finding 11: membership edits --------------------------------------------------


def change(client: Client, **data: Any) -> Any:
    return client.post(MEMBERS, {"change": "1", **data})


def test_a_membership_edit_to_an_unknown_role_is_refused_with_400(
    project: Project,
) -> None:
    lead = client_for("lead")
    response = change(lead, membership=membership(project, "r1").pk, role="god")
    assert response.status_code == 400
    assert "'god' is not a role" in page_messages(response)
    assert role_of(project, "r1") == "reviewer"
    assert client_for("r1").get("/p/p/").status_code == 200


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"role": "observer"}, "Say which member to change."),
        ({"membership": "abc", "role": "observer"}, "not a member of this project"),
        ({"membership": "999999", "role": "observer"}, "not a member of this project"),
        ({"membership": "r1"}, "Choose a role"),
    ],
)
def test_a_membership_edit_with_a_missing_or_wrong_field_is_refused_with_400(
    project: Project, data: dict[str, str], problem: str
) -> None:
    if data.get("membership") == "r1":
        data = {"membership": str(membership(project, "r1").pk)}
    response = change(client_for("lead"), **data)
    assert response.status_code == 400
    assert problem in page_messages(response)
    assert role_of(project, "r1") == "reviewer"


def test_a_membership_of_another_project_cannot_be_edited_from_this_one(
    project: Project,
) -> None:
    other = make_project(lead=UserFactory(username="other"), reviewers=[], slug="o")
    theirs = other.memberships.get()
    response = change(client_for("lead"), membership=theirs.pk, role="observer")
    assert response.status_code == 400
    theirs.refresh_from_db()
    assert theirs.role == "lead"


@pytest.mark.parametrize(
    ("role", "change_word"), [("reviewer", "made"), ("", "removed")]
)
def test_the_only_lead_cannot_demote_or_remove_themselves(
    project: Project, role: str, change_word: str
) -> None:
    lead = client_for("lead")
    response = change(lead, membership=membership(project, "lead").pk, role=role)
    assert response.status_code == 400
    text = page_messages(response)
    assert "only lead of this project" in text and change_word in text
    assert role_of(project, "lead") == "lead"


def test_the_only_lead_cannot_demote_themselves_through_the_add_form(
    project: Project,
) -> None:
    response = client_for("lead").post(
        MEMBERS, {"add": "1", "username": "lead", "role": "observer"}
    )
    assert response.status_code == 400
    assert "only lead of this project" in page_messages(response)
    assert role_of(project, "lead") == "lead"


def test_a_lead_can_step_down_once_another_member_is_lead(project: Project) -> None:
    lead = client_for("lead")
    promoted = change(lead, membership=membership(project, "r1").pk, role="lead")
    assert promoted.status_code == 302
    stepped_down = change(
        lead, membership=membership(project, "lead").pk, role="reviewer"
    )
    assert stepped_down.status_code == 302
    assert role_of(project, "lead") == "reviewer" and role_of(project, "r1") == "lead"


# --- finding 19 and 20: the project settings page ------------------------------------


def settings_form(project: Project, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": project.name,
        "slug": project.slug,
        "description": project.description,
        "reviewers_per_study": project.reviewers_per_study,
        "percent_convention": project.percent_convention,
        "status": project.status,
        "versions": [v.pk for v in project.instruments.all()],
    }
    if project.blinding:
        data["blinding"] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_turning_blinding_off_is_in_the_project_audit_log(project: Project) -> None:
    lead = client_for("lead")
    response = lead.post(EDIT, settings_form(project, blinding=None))
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.blinding is False
    event = AuditEvent.objects.get(project=project, action="blinding turned off")
    assert event.actor is not None and event.actor.username == "lead"
    assert event.detail == {"old": "on", "new": "off"}
    assert event.created_at is not None

    page = lead.get("/p/p/audit/").content.decode()
    assert "turned blinding off" in page
    assert "Blinding: on -&gt; off" in page


def test_a_settings_save_that_keeps_blinding_logs_no_blinding_event(
    project: Project,
) -> None:
    client_for("lead").post(EDIT, settings_form(project, name="Renamed"))
    assert not AuditEvent.objects.filter(action__startswith="blinding").exists()


def test_an_instrument_added_on_the_settings_page_is_applied(project: Project) -> None:
    StudyFactory(project=project)  # the field used to be locked once studies exist
    metrics = load_instrument("metrics-1.0")
    rqs = project.instruments.get()
    response = client_for("lead").post(
        EDIT, settings_form(project, versions=[rqs.pk, metrics.pk]), follow=True
    )
    assert response.status_code == 200
    assert set(project.instruments.all()) == {rqs, metrics}
    assert "Added: METRICS (metrics-1.0)." in page_messages(response)
    assert AuditEvent.objects.filter(action="instruments changed").exists()


def assign(project: Project, version: Any, username: str) -> None:
    assignment.assign_reviewer(
        study=StudyFactory(project=project),
        version=version,
        reviewer=get_user_model().objects.get(username=username),
        user=get_user_model().objects.get(username="lead"),
    )


def two_instrument_project() -> Project:
    lead = UserFactory(username="lead")
    reviewers = [UserFactory(username=f"r{i}") for i in (1, 2)]
    return make_project(
        lead=lead, reviewers=reviewers, keys=("rqs-1.0", "metrics-1.0"), slug="p"
    )


@pytest.mark.django_db
def test_an_instrument_no_assessment_uses_can_be_removed() -> None:
    project = two_instrument_project()
    rqs = load_instrument("rqs-1.0")
    assign(project, rqs, "r1")
    response = client_for("lead").post(EDIT, settings_form(project, versions=[rqs.pk]))
    assert response.status_code == 302
    assert list(project.instruments.all()) == [rqs]


@pytest.mark.django_db
def test_removing_an_instrument_in_use_is_refused_whole_and_says_why() -> None:
    project = two_instrument_project()
    rqs, metrics = load_instrument("rqs-1.0"), load_instrument("metrics-1.0")
    assign(project, rqs, "r1")
    assign(project, rqs, "r2")
    response = client_for("lead").post(
        EDIT,
        settings_form(project, versions=[metrics.pk], name="Renamed", blinding=None),
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "RQS 1.0 (rqs-1.0) cannot be removed: 2 assessments" in text
    assert "Nothing was changed" in text
    project.refresh_from_db()
    assert project.name == "P" and project.blinding is True
    assert set(project.instruments.all()) == {rqs, metrics}
    assert not AuditEvent.objects.filter(action__startswith="blinding").exists()
