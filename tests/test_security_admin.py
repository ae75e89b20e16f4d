"""Admin security: model permissions, safe definition import, same-version choices.

The sweep walks every registered ModelAdmin, so a new action or custom view
that forgets its permission check fails here without anyone writing a test.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from axes.models import AccessAttempt
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import URLPattern, reverse
from django.utils import timezone

from assessments.instruments import bundled_definitions_dir, load_definition_file
from assessments.models import Drill, InstrumentVersion, Item, Section
from assessments.services import assignment, calibration, catalogue
from tests.calibration_world import make_world, train
from tests.factories import RQS_13, UserFactory, load_instrument, make_project

ADMIN = "/admin/assessments/instrumentversion/"
IMPORT = f"{ADMIN}import/"


def metrics_yaml() -> bytes:
    doc = load_definition_file(bundled_definitions_dir() / "metrics-1.0.yaml")
    return yaml.safe_dump(doc, sort_keys=False).encode()


def view_only_staff(username: str = "viewer") -> Any:
    """Staff holding every view_* permission and nothing else."""
    user = UserFactory(username=username, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    return user


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def superuser_client() -> Client:
    return client_for(UserFactory(username="root", is_staff=True, is_superuser=True))


def draft_of_rqs() -> InstrumentVersion:
    published = load_instrument("rqs-1.0")
    return catalogue.new_draft_from(version=published, new_version="1.1")


def version_rows() -> list[tuple[Any, ...]]:
    return list(
        InstrumentVersion.objects.order_by("pk").values_list(
            "pk", "status", "revision", "definition", "scoring_hash", "name"
        )
    )


# --- finding 5: view permission changes nothing --------------------------------


@pytest.mark.django_db
def test_view_only_staff_cannot_publish_or_retire() -> None:
    draft = draft_of_rqs()
    before = version_rows()
    client = client_for(view_only_staff())
    for action in ("publish", "retire"):
        response = client.post(
            ADMIN,
            {
                "action": action,
                "_selected_action": list(
                    InstrumentVersion.objects.values_list("pk", flat=True)
                ),
            },
        )
        assert response.status_code in (200, 302, 403)
    assert version_rows() == before
    draft.refresh_from_db()
    assert draft.status == "draft"


@pytest.mark.django_db
def test_view_only_staff_cannot_import_a_definition() -> None:
    client = client_for(view_only_staff())
    assert client.get(IMPORT).status_code == 403
    upload = SimpleUploadedFile("metrics.yaml", metrics_yaml())
    assert client.post(IMPORT, {"file": upload}).status_code == 403
    assert not InstrumentVersion.objects.exists()


@pytest.mark.django_db
def test_view_only_staff_cannot_make_a_new_draft() -> None:
    published = load_instrument("rqs-1.0")
    client = client_for(view_only_staff())
    url = f"{ADMIN}{published.pk}/new-draft/"
    assert client.get(url).status_code == 403
    assert client.post(url, {"new_version": "1.1"}).status_code == 403
    assert InstrumentVersion.objects.count() == 1


@pytest.mark.django_db
def test_view_only_staff_cannot_revert_a_project_from_its_history() -> None:
    lead = UserFactory(username="lead")
    project = make_project(lead=lead, reviewers=[], slug="proj")
    history_id = project.history.earliest("history_id").history_id
    url = f"/admin/assessments/project/{project.pk}/history/{history_id}/"
    payload = {**form_data(project), "name": "Reverted by a viewer"}
    response = client_for(view_only_staff()).post(url, payload)
    assert response.status_code == 403
    project.refresh_from_db()
    assert project.name != "Reverted by a viewer"


@pytest.mark.django_db
def test_view_only_staff_can_still_export_and_compare() -> None:
    published = load_instrument("rqs-1.0")
    draft = catalogue.new_draft_from(version=published, new_version="1.1")
    client = client_for(view_only_staff())
    exported = client.post(
        ADMIN, {"action": "export", "_selected_action": [published.pk]}
    )
    assert yaml.safe_load(exported.content)["code"] == "rqs"
    page = client.get(f"{ADMIN}compare/", {"left": published.pk, "right": draft.pk})
    assert page.status_code == 200 and b"No differences" in page.content


@pytest.mark.django_db
def test_staff_with_change_permission_can_publish() -> None:
    draft = draft_of_rqs()
    user = view_only_staff("editor")
    user.user_permissions.add(
        Permission.objects.get(codename="change_instrumentversion")
    )
    client_for(user).post(ADMIN, {"action": "publish", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.status == "published"


# The sweep: every action and every custom admin URL, as a view-only staff user.


def form_value(field: Any, value: Any) -> Any:
    if field.many_to_many:
        return [related.pk for related in value]
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value


def form_data(obj: Any) -> dict[str, Any]:
    """The object's own editable values, as a form would post them back."""
    return {
        name: form_value(obj._meta.get_field(name), value)
        for name, value in model_to_dict(obj).items()
        if value is not None
    }


def kitchen_sink(obj: Any) -> dict[str, Any]:
    """Enough for any of our forms to succeed, were the view to let it through."""
    return {
        **form_data(obj),
        "new_version": "9.9",
        "file": SimpleUploadedFile("metrics.yaml", metrics_yaml()),
        "password1": "A-new-passphrase-42",
        "password2": "A-new-passphrase-42",
        "usable_password": "true",
        "post": "yes",
    }


def snapshot() -> dict[str, list[str]]:
    """Every row of every model (sessions aside: logging in writes them)."""
    return {
        model._meta.label: [
            repr(row) for row in model._default_manager.order_by("pk").values_list()
        ]
        for model in apps.get_models()
        if model._meta.app_label != "sessions"
    }


def standard_url_names(model_admin: admin.ModelAdmin[Any]) -> set[str | None]:
    return {p.name for p in admin.ModelAdmin.get_urls(model_admin)}


def custom_urls(model_admin: admin.ModelAdmin[Any]) -> list[URLPattern]:
    standard = standard_url_names(model_admin)
    return [
        p
        for p in model_admin.get_urls()
        if isinstance(p, URLPattern) and p.name not in standard
    ]


def url_params(pattern: URLPattern) -> int:
    converters = getattr(pattern.pattern, "converters", {})
    return len(converters) or pattern.pattern.regex.groups


def url_args(pattern: URLPattern, obj: Any) -> list[str]:
    """Fill a custom URL's parameters with a real object (and a history row)."""
    count = url_params(pattern)
    values = [str(obj.pk)]
    if count > 1 and hasattr(obj, "history"):
        values.append(str(obj.history.earliest("history_id").history_id))
    if count > len(values):
        pytest.fail(f"the sweep cannot fill the parameters of {pattern.pattern}")
    return values[:count]


def sweep_requests() -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(label, method, url, data) for every action and custom view of every admin."""
    for model, model_admin in admin.site._registry.items():
        changelist = reverse(
            f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"
        )
        pks = list(model._default_manager.values_list("pk", flat=True))
        for _func, name, _desc in model_admin._get_base_actions():
            data = {"action": name, "_selected_action": pks, "post": "yes"}
            yield f"{model._meta.label} action {name}", "post", changelist, data
        objects = list(model._default_manager.order_by("pk")[:3])
        for pattern in custom_urls(model_admin):
            if not objects:
                pytest.fail(f"the sweep has no {model._meta.label} to try")
            # Views without parameters need one try, not one per object.
            for obj in objects if url_params(pattern) else objects[:1]:
                url = reverse(f"admin:{pattern.name}", args=url_args(pattern, obj))
                yield f"GET {pattern.name}", "get", url, {}
                yield f"POST {pattern.name}", "post", url, kitchen_sink(obj)


def permission_sweep(client: Client) -> list[str]:
    """Every request that changed a row or did not answer 200/302/403."""
    problems: list[str] = []
    before = snapshot()
    for label, method, url, data in sweep_requests():
        response = getattr(client, method)(url, data)
        after = snapshot()
        changed = sorted(k for k in after if after[k] != before[k])
        if changed:
            problems.append(f"{label} ({url}) changed {', '.join(changed)}")
        if response.status_code not in (200, 302, 403):
            problems.append(f"{label} ({url}) answered {response.status_code}")
        before = after
    return problems


def sweep_fixture() -> Client:
    """Something for every action and view to act on, then the viewer's client."""
    published = load_instrument("rqs-1.0")
    catalogue.new_draft_from(version=published, new_version="1.1")
    lead, reviewer = UserFactory(username="lead"), UserFactory(username="reviewer")
    project = make_project(lead=lead, reviewers=[reviewer], n_studies=1, slug="p")
    assignment.assign_reviewer(
        study=project.studies.get(),
        version=published,
        reviewer=reviewer,
        user=lead,
    )
    project.studies.update(created_by=lead)  # the admin form requires it
    _calibration_records()
    # Two-factor for local accounts: a device for the django-otp admin's views.
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=reviewer, name="Phone", confirmed=True)
    client = client_for(view_only_staff())
    client.raise_request_exception = False  # a 500 is a finding, not a crash
    # Logging in cleans expired lockouts, so the expired one is made afterwards.
    AccessAttempt.objects.create(
        username="someone",
        ip_address="10.0.0.1",
        user_agent="x",
        failures_since_start=1,
        attempt_time=timezone.now() - timedelta(days=2),
    )
    return client


def _calibration_records() -> None:
    """A reference, settings, a certificate and a drill for the sweep."""
    world = make_world(n_training=1)
    calibration.save_settings(
        project=world.project,
        version=world.version,
        values={"certification": True, "min_training_studies": 1},
        user=world.lead,
    )
    train(world, world.trainee, world.training[0], RQS_13)
    Drill.objects.create(
        instrument=world.version.instrument,
        item_code="1",
        passage="A passage.",
        satisfies=True,
        reason="Because.",
        key="sweep:1",
    )


@pytest.mark.django_db
def test_admin_permission_sweep_view_only_staff_changes_nothing() -> None:
    client = sweep_fixture()
    assert permission_sweep(client) == []
    assert InstrumentVersion.objects.filter(status="draft").count() == 1


@pytest.mark.django_db
def test_the_sweep_catches_an_action_without_a_permission_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    @admin.action(description="Rename everything")
    def rename(modeladmin: Any, request: Any, queryset: Any) -> None:
        queryset.update(note="renamed")

    model_admin = admin.site._registry[InstrumentVersion]
    monkeypatch.setattr(model_admin, "actions", [*model_admin.actions, rename])
    problems = permission_sweep(sweep_fixture())
    assert any("action rename" in p for p in problems), problems


# --- finding 15: definition import refuses bombs and non-finite numbers -------


def alias_bomb(levels: int) -> str:
    """The classic "billion laughs": each level repeats the previous one 9 times."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, levels + 1):
        lines.append(f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


def import_file(client: Client, name: str, content: bytes) -> Any:
    return client.post(IMPORT, {"file": SimpleUploadedFile(name, content)})


def errors_of(response: Any) -> str:
    assert response.status_code == 200
    page = response.content.decode()
    return " ".join(
        re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', page, re.S)
    )


@pytest.mark.django_db
def test_import_refuses_a_yaml_alias_bomb_quickly() -> None:
    client = superuser_client()
    started = time.monotonic()
    # Six levels (531,441 values) keep the run short even without the cap.
    errors = errors_of(import_file(client, "bomb.yaml", alias_bomb(6).encode()))
    assert time.monotonic() - started < 5
    assert "aliases" in errors and "100,000 values" in errors
    assert not InstrumentVersion.objects.exists()


@pytest.mark.parametrize(
    ("name", "bound"),
    [
        ("bands.yaml", ".nan"),
        ("bands.yaml", ".inf"),
        ("bands.yaml", "-.inf"),
        ("bands.json", "NaN"),
        ("bands.json", "Infinity"),
    ],
)
@pytest.mark.django_db
def test_import_refuses_a_non_finite_band_bound(name: str, bound: str) -> None:
    doc = load_definition_file(bundled_definitions_dir() / "metrics-1.0.yaml")
    doc["params"]["bands"][0]["min"] = "BOUND"
    dump = json.dumps if name.endswith(".json") else yaml.safe_dump
    text = re.sub(r"""["']?BOUND["']?""", bound, dump(doc))
    errors = errors_of(import_file(superuser_client(), name, text.encode()))
    assert "params/bands/0/min" in errors and "not a finite number" in errors
    assert not InstrumentVersion.objects.exists()


@pytest.mark.django_db
def test_import_refuses_a_file_over_the_size_limit() -> None:
    from assessments.instruments.definition import MAX_DEFINITION_BYTES

    content = b"note: '" + b"x" * MAX_DEFINITION_BYTES + b"'\n"
    errors = errors_of(import_file(superuser_client(), "big.yaml", content))
    assert "limited to 1,000,000 bytes" in errors
    assert not InstrumentVersion.objects.exists()


@pytest.mark.django_db
def test_import_reads_bare_yes_and_no_option_codes_as_text() -> None:
    # Hand-written files say `code: yes`; YAML 1.1 would make that a boolean.
    content = metrics_yaml().replace(b"'yes'", b"yes").replace(b"'no'", b"no")
    assert b"code: yes" in content
    import_file(superuser_client(), "metrics.yaml", content)
    version = InstrumentVersion.objects.by_key("metrics-1.0")
    codes = set(version.items.values_list("options__code", flat=True))
    assert {"yes", "no"} <= codes


@pytest.mark.django_db
def test_load_instruments_refuses_an_alias_bomb(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(9))
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("load_instruments", str(path), stderr=err)
    assert "bomb.yaml" in err.getvalue() and "aliases" in err.getvalue()


def test_bundled_definitions_with_anchors_still_load() -> None:
    doc = load_definition_file(bundled_definitions_dir() / "metrics-1.0.yaml")
    options = [i["options"] for s in doc["sections"] for i in s["items"]]
    assert [{"code": "yes", "label": "Yes"}, {"code": "no", "label": "No"}] in options


# --- finding 21: section choices stay within the item's own version -----------


def section_choices(page: Any) -> set[int]:
    html = page.content.decode()
    select = re.search(r'<select name="section"[^>]*>(.*?)</select>', html, re.S)
    assert select, "no section dropdown on the page"
    return {int(v) for v in re.findall(r'value="(\d+)"', select.group(1))}


@pytest.mark.django_db
def test_item_form_offers_only_sections_of_its_own_version() -> None:
    draft = draft_of_rqs()
    item = draft.items.get(code="1")
    page = superuser_client().get(f"/admin/assessments/item/{item.pk}/change/")
    assert section_choices(page) == set(draft.sections.values_list("pk", flat=True))


@pytest.mark.django_db
def test_new_item_form_offers_only_sections_of_the_draft_being_edited() -> None:
    draft = draft_of_rqs()
    page = superuser_client().get("/admin/assessments/item/add/", {"version": draft.pk})
    assert section_choices(page) == set(draft.sections.values_list("pk", flat=True))


@pytest.mark.django_db
def test_an_item_cannot_be_put_in_a_section_of_another_version() -> None:
    draft = draft_of_rqs()
    foreign = Section.objects.exclude(version=draft).first()
    assert foreign is not None
    client = superuser_client()
    item = draft.items.get(code="1")
    data = {
        **form_data(item),
        "section": foreign.pk,
        "options-TOTAL_FORMS": "0",
        "options-INITIAL_FORMS": "0",
    }
    changed = client.post(f"/admin/assessments/item/{item.pk}/change/", data)
    assert b"Select a valid choice" in changed.content
    assert Item.objects.get(pk=item.pk).section.version_id == draft.pk
    new = {**data, "code": "99", "version": draft.pk}
    added = client.post("/admin/assessments/item/add/", new)
    assert b"Select a valid choice" in added.content
    assert not Item.objects.filter(code="99").exists()


@pytest.mark.django_db
def test_new_item_form_without_a_version_offers_only_draft_sections() -> None:
    draft = draft_of_rqs()
    page = superuser_client().get("/admin/assessments/item/add/")
    assert section_choices(page) == set(draft.sections.values_list("pk", flat=True))
    assert f"{draft.key}: " in page.content.decode()


@pytest.mark.django_db
def test_version_page_offers_only_its_own_sections_for_items() -> None:
    draft = draft_of_rqs()
    page = superuser_client().get(f"{ADMIN}{draft.pk}/change/")
    html = page.content.decode()
    selects = re.findall(
        r'<select name="items-\d+-section"[^>]*>(.*?)</select>', html, re.S
    )
    assert selects
    offered = {int(v) for s in selects for v in re.findall(r'value="(\d+)"', s)}
    assert offered == set(draft.sections.values_list("pk", flat=True))


@pytest.mark.django_db
def test_a_drafts_status_is_not_a_field_anyone_can_set_by_hand() -> None:
    draft = draft_of_rqs()
    page = superuser_client().get(f"{ADMIN}{draft.pk}/change/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="status"' not in body  # only the validating actions change it
    assert "Draft" in body
