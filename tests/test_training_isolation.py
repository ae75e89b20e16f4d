"""Training studies and calibration work never reach the review (issue 14).

A project's review is built first and every figure a user reads is taken:
dashboard, agreement, exports in each form and format, the project report's
data, the disagreements list and the project page. Then a training study with
an expert's review, a finalised consensus, a trainee's training, a hidden
check and re-reads of live studies are added, and every one of those figures
must be the same as before.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from assessments.instruments import score
from assessments.models import Answer, Assessment, InstrumentVersion, Membership
from assessments.selectors.reports import ReportRequest, project_context
from assessments.services import answering, projects
from assessments.services.changes import bump_data_revision
from assessments.services.notifications import notify_if_consensus_needed
from tests.factories import RQS_13, StudyFactory, UserFactory, make_project

pytestmark = pytest.mark.django_db

KEYS = ("rqs-1.0", "quadas-2-1.0")
LOW = {f"D{n}.rob": ["low"] for n in range(1, 5)} | {"1.1": ["yes"]}
HIGH = {f"D{n}.rob": ["high"] for n in range(1, 5)} | {"1.1": ["no"]}
RQS_LOW = {**RQS_13, "2": ["no"], "16": [], "12": ["none"]}
EXPORTS = [
    ("wide", "csv"),
    ("long", "csv"),
    ("quotes", "csv"),
    ("wide", "xlsx"),
    ("long", "xlsx"),
    ("quotes", "xlsx"),
    ("json", ""),
]


def make(
    study: Any,
    version: InstrumentVersion,
    reviewer: Any,
    answers: dict[str, list[str]] | None,
    *,
    kind: str = "reviewer",
    reread_of: Assessment | None = None,
) -> Assessment:
    """An assessment of any kind: submitted with `answers`, or just assigned."""
    fields: dict[str, Any] = {}
    if answers is not None:
        result = score(version.as_definition(), answers)
        now = timezone.now()
        cached = answering.cached_result_fields(result)
        fields = {
            "status": "submitted",
            "submitted_at": now,
            "first_submitted_at": now,
            "independent_total": cached["total"],
            "independent_percent": cached["percent"],
            "independent_band": cached["band"],
            **cached,
        }
    assessment = Assessment.objects.create(
        study=study,
        version=version,
        reviewer=reviewer,
        kind=kind,
        reread_of=reread_of,
        **fields,
    )
    for code, choices in (answers or {}).items():
        points = result.items[code].points if code in result.items else None
        Answer.objects.create(
            assessment=assessment,
            item_code=code,
            choices=choices,
            independent_choices=choices,
            points=points,
            independent_points=points,
            evidence=f"{kind} evidence for {code}",
        )
    return assessment


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    lead = UserFactory(username="lead")
    alice, bob, carol = (UserFactory(username=n) for n in ("alice", "bob", "carol"))
    tess, emma = UserFactory(username="tess"), UserFactory(username="emma")
    eric = UserFactory(username="eric")
    project = make_project(
        lead=lead,
        reviewers=[alice, bob, carol, tess, emma, eric],
        keys=KEYS,
        slug="iso",
    )
    olga = UserFactory(username="olga")
    projects.set_membership(
        project=project, member=olga, role=Membership.Role.OBSERVER, user=lead
    )
    rqs = InstrumentVersion.objects.by_key("rqs-1.0")
    quadas = InstrumentVersion.objects.by_key("quadas-2-1.0")
    one = StudyFactory(project=project, title="Alpha", year=2021)
    two = StudyFactory(project=project, title="Beta", year=2022, modality="MRI")
    three = StudyFactory(project=project, title="Gamma", year=2023)
    four = StudyFactory(project=project, title="Delta", year=2021)
    alice_one = make(one, rqs, alice, RQS_13)
    make(one, rqs, bob, RQS_LOW)
    make(one, rqs, None, RQS_13, kind="consensus")
    make(two, rqs, alice, RQS_13)
    bob_two = make(two, rqs, bob, RQS_LOW)
    make(three, rqs, alice, RQS_LOW)
    make(three, rqs, carol, None)  # still to do: Gamma is in progress
    make(four, rqs, alice, RQS_13)
    make(four, rqs, bob, {**RQS_13, "6": ["no"]})
    make(one, quadas, alice, LOW)
    make(one, quadas, bob, {**LOW, "D2.rob": ["unclear"]})
    make(two, quadas, alice, LOW)
    make(two, quadas, bob, LOW)
    return {
        "project": project,
        "rqs": rqs,
        "quadas": quadas,
        "lead": lead,
        "alice": alice,
        "bob": bob,
        "carol": carol,
        "tess": tess,
        "emma": emma,
        "eric": eric,
        "olga": olga,
        "studies": (one, two, three, four),
        "alice_one": alice_one,
        "bob_two": bob_two,
    }


def add_calibration(world: dict[str, Any]) -> dict[str, Any]:
    """A training study with its experts' reviews, consensus, training and
    hidden check, a second one whose experts disagree with no consensus yet,
    and re-reads of live studies (one still open, others submitted)."""
    rqs, quadas = world["rqs"], world["quadas"]
    gold = StudyFactory(
        project=world["project"],
        title="Aardvark nodule study",
        year=2019,
        modality="PET",
        disease="glioma",
        training=True,
    )
    make(gold, rqs, world["emma"], RQS_LOW)
    make(gold, rqs, world["eric"], {**RQS_LOW, "6": ["no"]})
    make(gold, quadas, world["emma"], HIGH)
    make(gold, rqs, None, RQS_LOW, kind="consensus")
    make(gold, quadas, None, HIGH, kind="consensus")
    training = make(gold, rqs, world["tess"], RQS_13, kind="training")
    check = make(gold, rqs, world["carol"], None, kind="check")
    practice = StudyFactory(
        project=world["project"], title="Aardwolf practice", training=True
    )
    make(practice, rqs, world["emma"], RQS_13)
    make(practice, rqs, world["eric"], RQS_LOW)
    one, two = world["studies"][:2]
    reread = make(
        one, rqs, world["alice"], None, kind="reread", reread_of=world["alice_one"]
    )
    make(two, rqs, world["bob"], RQS_13, kind="reread", reread_of=world["bob_two"])
    bob_quadas = Assessment.objects.get(
        study=two, version=quadas, reviewer=world["bob"]
    )
    make(two, quadas, world["bob"], HIGH, kind="reread", reread_of=bob_quadas)
    bump_data_revision(world["project"].pk)
    return {"gold": gold, "training": training, "check": check, "reread": reread}


# --- what a user reads -------------------------------------------------------------


def _dashboard(client: Client, version: InstrumentVersion) -> dict[str, Any]:
    response = client.get(f"/p/iso/dashboard/?version={version.key}")
    assert response.status_code == 200
    context = response.context
    return {
        "figures": json.loads(json.dumps(context["figures"])),
        "charts": json.loads(json.dumps(context["charts"])),
        "rows": [
            (
                row["study"].title,
                row["state"],
                getattr(row["result"], "final_total", None),
                getattr(row["result"], "final_percent", None),
            )
            for row in context["rows"]
        ],
        "studies": context["page"].paginator.count,
        "reviewers": [
            (r["name"], r["total"], r["submitted"]) for r in context["reviewer_rows"]
        ],
    }


def _sheet_values(content: bytes) -> list[list[Any]]:
    book = load_workbook(io.BytesIO(content), read_only=True)
    out = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            if row and row[0] != "Exported at":
                out.append([sheet.title, *row])
    return out


def _export(client: Client, version: InstrumentVersion, form: str, fmt: str) -> Any:
    query = f"version={version.key}&form={form}" + (f"&format={fmt}" if fmt else "")
    response = client.get(f"/p/iso/export/download?{query}")
    assert response.status_code == 200, response.content[:300]
    if form == "json":
        data = json.loads(response.content)
        data.pop("exported_at", None)
        return data
    if fmt == "xlsx":
        return _sheet_values(response.content)
    return response.content.decode("utf-8")


def _report(user: Any, world: dict[str, Any], version: InstrumentVersion) -> Any:
    req = ReportRequest(
        kind="project",
        project=world["project"],
        version=version,
        user=user,
        appendix=True,
    )
    context = project_context(req, lambda percent: None)
    return {
        "figures": json.loads(json.dumps(context["board"].figures)),
        "rows": context["rows"],
        "summary": context["summary"],
        "methods": context["methods"],
        "agreement": context["agreement"],
        "adherence": context["adherence"],
        "appendix": [(a["assessment"].pk, a["table"]) for a in context["appendix"]],
    }


def _disagreements(client: Client) -> list[Any]:
    response = client.get("/p/iso/disagreements/")
    assert response.status_code == 200
    return [
        (row.study.title, row.version.key, row.n_reviewers, row.n_disputed, words)
        for row, words in ((row, row.consensus) for row, _ in response.context["rows"])
    ]


def _project_page(client: Client) -> dict[str, Any]:
    context = client.get("/p/iso/").context
    return {
        "n_studies": context["n_studies"],
        "versions": [(v.key, counts) for v, _, counts in context["versions"]],
        "reviewers": [
            (r["name"], r["total"], r["percent"]) for r in context["reviewers"]
        ],
        "n_disagreements": context["n_disagreements"],
        "next": [step.text for step in context["next_steps"]],
    }


def everything(world: dict[str, Any], user: Any) -> dict[str, Any]:
    """Every number and row of the review the user may read, in one dict."""
    client = client_for(user)
    out: dict[str, Any] = {"project": _project_page(client)}
    for version in (world["rqs"], world["quadas"]):
        key = version.key
        out[f"dashboard {key}"] = _dashboard(client, version)
        agreement = client.get(f"/p/iso/agreement.json?version={key}")
        out[f"agreement {key}"] = agreement.json()
        page = client.get(f"/p/iso/agreement/?version={key}")
        out[f"agreement page {key}"] = json.loads(json.dumps(page.context["data"]))
        for form, fmt in EXPORTS:
            out[f"export {key} {form} {fmt}"] = _export(client, version, form, fmt)
        out[f"report {key}"] = _report(user, world, version)
    if user in (world["lead"],):
        out["disagreements"] = _disagreements(client)
    return out


def _differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [key for key in before if before[key] != after[key]]


@pytest.mark.parametrize("who", ["lead", "bob", "olga"])
def test_training_study_and_calibration_change_no_figure_of_the_review(
    world: dict[str, Any], who: str
) -> None:
    user = world[who]
    before = everything(world, user)
    add_calibration(world)
    after = everything(world, user)
    assert _differences(before, after) == []


def test_the_review_before_calibration_has_the_figures_compared(
    world: dict[str, Any],
) -> None:
    """The comparison above compares something: the review has figures."""
    seen = everything(world, world["lead"])
    rqs = seen["dashboard rqs-1.0"]
    assert rqs["studies"] == 4
    assert rqs["figures"]["summary"]["n"] == 4
    assert rqs["figures"]["progress"]["final"] == 1
    assert seen["agreement rqs-1.0"]["n_studies"] == 3
    assert seen["disagreements"]  # Beta and Delta disagree
    assert "Alpha" in seen["export rqs-1.0 wide csv"]
    assert len(seen["report rqs-1.0"]["appendix"]) == 1
    assert seen["dashboard quadas-2-1.0"]["figures"]["traffic"]


def test_no_output_names_the_training_study_or_calibration_evidence(
    world: dict[str, Any],
) -> None:
    add_calibration(world)
    text = json.dumps(everything(world, world["lead"]), default=str)
    for marker in ("Aardvark", "PET", "glioma", "training evidence", "reread evidence"):
        assert marker not in text
    assert "2019" not in json.dumps(
        everything(world, world["lead"])["dashboard rqs-1.0"]["figures"]["by_year"]
    )


def test_consensus_needed_mail_is_not_sent_for_training_or_re_reads(
    world: dict[str, Any],
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    add_calibration(world)
    rqs = world["rqs"]
    # Two experts disagree on a training study with no consensus yet.
    practice = StudyFactory(project=world["project"], title="Practice", training=True)
    expert = make(practice, rqs, world["emma"], RQS_13)
    make(practice, rqs, world["carol"], RQS_LOW)
    reread = Assessment.objects.get(
        kind="reread", study=world["studies"][1], version=rqs
    )
    with django_capture_on_commit_callbacks(execute=True):
        notify_if_consensus_needed(reread)
        notify_if_consensus_needed(expert)
    assert mailoutbox == []
    with django_capture_on_commit_callbacks(execute=True):
        notify_if_consensus_needed(world["bob_two"])  # the live study: it is sent
    assert [m.subject for m in mailoutbox] == ["Consensus needed: Beta"]


# --- lists: the study list, the study page, the worklist -----------------------------


def _titles(response: Any) -> list[str]:
    return [study.title for study in response.context["page"]]


def test_a_lead_lists_training_studies_with_a_badge_and_can_filter_them(
    world: dict[str, Any],
) -> None:
    add_calibration(world)
    client = client_for(world["lead"])
    response = client.get("/p/iso/studies/")
    assert "Aardvark nodule study" in _titles(response)
    page = response.content.decode()
    badge = re.search(r"Aardvark nodule study</a>\s*<span[^>]*>Training</span>", page)
    assert badge is not None
    assert 'name="training"' in page  # the "Studies" filter
    only = _titles(client.get("/p/iso/studies/?training=1"))
    assert only == ["Aardvark nodule study", "Aardwolf practice"]
    live = _titles(client.get("/p/iso/studies/?training=0"))
    assert live == ["Alpha", "Beta", "Delta", "Gamma"]


@pytest.mark.parametrize("who", ["alice", "carol", "tess", "olga"])
def test_no_one_but_leads_sees_training_studies_in_the_list(
    world: dict[str, Any], who: str
) -> None:
    add_calibration(world)
    client = client_for(world[who])
    for query in ("", "?training=1"):
        response = client.get(f"/p/iso/studies/{query}")
        assert _titles(response) == ["Alpha", "Beta", "Delta", "Gamma"]
        page = response.content.decode()
        assert "Aardvark" not in page and 'name="training"' not in page


def test_a_hidden_check_study_page_does_not_say_training(
    world: dict[str, Any],
) -> None:
    made = add_calibration(world)
    url = f"/p/iso/s/{made['gold'].uuid}/"
    page = client_for(world["carol"]).get(url).content.decode()
    # The study's own content, not the site's menu (which may link training).
    content = page[page.index('<nav aria-label="Breadcrumb"') :].lower()
    assert "carol" in content  # their own assignment is listed, like a live one
    assert "training" not in content
    assert "hidden check" not in content
    lead_page = client_for(world["lead"]).get(url).content.decode()
    assert ">Training</span>" in lead_page
    assert "(hidden check)" in lead_page and "(training)" in lead_page


def test_a_lead_marks_a_study_as_training_on_the_edit_form(
    world: dict[str, Any],
) -> None:
    four = world["studies"][3]
    client = client_for(world["lead"])
    form = client.get(f"/p/iso/s/{four.uuid}/edit/").content.decode()
    assert 'name="training"' in form and "calibrate reviewers" in form
    response = client.post(
        f"/p/iso/s/{four.uuid}/edit/", {"title": four.title, "training": "on"}
    )
    assert response.status_code == 302
    four.refresh_from_db()
    assert four.training
    assert "Delta" not in _titles(client_for(world["alice"]).get("/p/iso/studies/"))


def _queue(user: Any) -> Any:
    return client_for(user).get("/queue/")


def test_the_worklist_labels_training_and_re_reads_but_never_a_hidden_check(
    world: dict[str, Any],
) -> None:
    made = add_calibration(world)
    tess = _queue(world["tess"])
    assert [(r.study.title, r.kind_label) for r in tess.context["rows"]] == [
        ("Aardvark nodule study", "Training")
    ]
    assert 'data-kind="training">Training</span>' in tess.content.decode()
    assert "Nothing is assigned to you yet" not in tess.content.decode()
    alice = _queue(world["alice"])
    labels = {(r.study.title, r.kind_label) for r in alice.context["rows"]}
    assert ("Alpha", "Re-read") in labels
    carol = _queue(world["carol"])
    rows = {r.pk: r for r in carol.context["rows"]}
    assert rows[made["check"].pk].kind_label == ""
    assert "Hidden check" not in carol.content.decode()
    assert 'data-kind="check"' not in carol.content.decode()


def test_worklist_progress_leaves_out_training_and_re_reads(
    world: dict[str, Any],
) -> None:
    add_calibration(world)
    alice = _queue(world["alice"]).context
    # Six reviews, all submitted; the open re-read is not a review to do.
    assert (alice["total"], alice["done"]) == (6, 6)
    tess = _queue(world["tess"]).context
    assert (tess["listed"], tess["total"], tess["done"]) == (1, 0, 0)
    # The hidden check counts like the live assignment it looks like.
    carol = _queue(world["carol"]).context
    assert (carol["total"], carol["done"]) == (2, 0)
    steps = client_for(world["carol"]).get("/p/iso/").context["next_steps"]
    assert "You have 2 open reviews in this project." in [s.text for s in steps]


# --- re-reads and blinding ---------------------------------------------------------


def test_a_pending_re_read_does_not_re_blind_the_co_reviewers(
    world: dict[str, Any],
) -> None:
    add_calibration(world)
    bob = client_for(world["bob"])
    assert bob.get(f"/a/{world['alice_one'].uuid}/").status_code == 200
    one = world["studies"][0]
    page = bob.get(f"/p/iso/s/{one.uuid}/").content.decode()
    assert f"/a/{world['alice_one'].uuid}/" in page


def test_the_re_reader_sees_neither_earlier_answers_nor_consensus_until_submitted(
    world: dict[str, Any],
) -> None:
    made = add_calibration(world)
    one = world["studies"][0]
    consensus = Assessment.objects.get(
        study=one, version=world["rqs"], kind="consensus"
    )
    alice = client_for(world["alice"])
    assert alice.get(f"/a/{world['alice_one'].uuid}/").status_code == 403
    assert alice.get(f"/a/{consensus.uuid}/").status_code == 403
    page = alice.get(f"/p/iso/s/{one.uuid}/").content.decode()
    assert f"/a/{world['alice_one'].uuid}/" not in page
    assert f"/a/{consensus.uuid}/" not in page
    wide = _export(alice, world["rqs"], "wide", "csv")
    assert "Alpha" not in wide
    now = timezone.now()
    Assessment.objects.filter(pk=made["reread"].pk).update(
        status="submitted", submitted_at=now, first_submitted_at=now
    )
    assert alice.get(f"/a/{world['alice_one'].uuid}/").status_code == 200
    assert alice.get(f"/a/{consensus.uuid}/").status_code == 200
