"""The instrument admin's own pages: import, compare, new draft, points, preview."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext, gettext_noop

from ..instruments import DefinitionError, Result
from ..models import Answer, Assessment, InstrumentVersion, Item, Project, Study
from ..services import catalogue
from ..views.formview import build_form_context
from ..words import in_words
from .base import messages_of, require
from .forms import (
    CompareForm,
    ImportDefinitionForm,
    NewDraftForm,
    PointsForm,
    not_readable,
)

FORM = "admin/assessments/instrument_form.html"

# What loading a definition file did, by `LoadOutcome.action`.
OUTCOME_WORDS = {
    "created": gettext_noop("%(key)s: created"),
    "unchanged": gettext_noop("%(key)s: unchanged"),
    "reworded": gettext_noop("%(key)s: reworded"),
    "replaced": gettext_noop("%(key)s: replaced"),
    "published": gettext_noop("%(key)s: published"),
    "kept-edited": gettext_noop("%(key)s: kept-edited"),
    "error": gettext_noop("%(key)s: error"),
}


def outcome_words(outcome: catalogue.LoadOutcome) -> str:
    said = OUTCOME_WORDS.get(outcome.action)
    if said is None:
        return f"{outcome.key}: {outcome.action}"
    return gettext(said) % {"key": outcome.key}


def change_url(version: InstrumentVersion) -> str:
    return reverse("admin:assessments_instrumentversion_change", args=[version.pk])


def scratch_choices(data: QueryDict) -> dict[str, list[str]]:
    """The preview form's ticks, as the engine reads answers ("none" ticked: [])."""
    choices: dict[str, list[str]] = {}
    for name in data:
        kind, _, code = name.partition("-")
        if kind == "choice" and code:
            choices[code] = data.getlist(name)
        elif kind == "none" and code:
            choices.setdefault(code, [])
    return choices


def preview_context(
    version: InstrumentVersion, choices: Mapping[str, list[str]], result: Result
) -> dict[str, Any]:
    """The reviewer form's own context, around records that are never saved."""
    project = Project(name=gettext("Preview"), slug="preview")
    title = gettext("Preview of %(version)s") % {"version": version}
    study = Study(project=project, title=title)
    assessment = Assessment(version=version, study=study)
    answers = {
        code: Answer(assessment=assessment, item_code=code, choices=list(chosen))
        for code, chosen in choices.items()
    }
    return {
        **build_form_context(assessment, answers, result, editable=True),
        "version": version,
        "admin_url": change_url(version),
    }


class VersionPagesMixin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Pages of InstrumentVersionAdmin beyond the standard change form."""

    def _page(self, request: HttpRequest, template: str, **context: Any) -> Any:
        return render(
            request, template, {**self.admin_site.each_context(request), **context}
        )

    def import_view(self, request: HttpRequest) -> HttpResponse:
        # Loading creates versions and may replace drafts or reword published ones.
        require(self.has_add_permission(request), self.has_change_permission(request))
        form = ImportDefinitionForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                outcome = catalogue.load_definition(form.cleaned_data["file"])
            except DefinitionError as exc:
                form.add_error("file", [not_readable(p) for p in exc.problems])
            except ValidationError as exc:  # e.g. a published file failing checks
                form.add_error("file", messages_of(exc))
            else:
                level = messages.ERROR if outcome.action == "error" else messages.INFO
                self.message_user(request, outcome_words(outcome), level)
                for line in outcome.messages:
                    self.message_user(request, in_words(line, gettext), level)
                if outcome.action != "error":
                    return HttpResponseRedirect(
                        reverse("admin:assessments_instrumentversion_changelist")
                    )
        return self._page(
            request, FORM, form=form, title=gettext("Import a definition file")
        )

    def compare_view(self, request: HttpRequest) -> HttpResponse:
        require(self.has_view_permission(request))
        form = CompareForm(request.GET or None)
        rows: list[catalogue.Difference] | None = None
        problems: list[str] = []
        if form.is_valid():
            left, right = form.cleaned_data["left"], form.cleaned_data["right"]
            try:
                rows = [
                    row.translated(gettext)
                    for row in catalogue.compare_versions(left, right)
                ]
            except ValidationError as exc:
                problems = messages_of(exc)
        return self._page(
            request,
            "admin/assessments/compare.html",
            form=form,
            rows=rows,
            scoring=[r for r in rows or [] if r.is_scoring],
            wording=[r for r in rows or [] if not r.is_scoring],
            problems=problems,
            left=form.cleaned_data.get("left") if form.is_bound else None,
            right=form.cleaned_data.get("right") if form.is_bound else None,
            title=gettext("Compare two versions"),
        )

    def new_draft_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        require(self.has_add_permission(request))
        version = get_object_or_404(InstrumentVersion, pk=pk)
        form = NewDraftForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                draft = catalogue.new_draft_from(
                    version=version, new_version=form.cleaned_data["new_version"]
                )
            except ValidationError as exc:
                form.add_error("new_version", messages_of(exc))
            else:
                return HttpResponseRedirect(change_url(draft))
        title = gettext("New draft from %(version)s") % {"version": version}
        return self._page(request, FORM, form=form, title=title)

    def points_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Every option's points of a version on one page; saved at once in a draft."""
        require(self.has_view_permission(request))
        version = get_object_or_404(
            InstrumentVersion.objects.select_related("instrument"), pk=pk
        )
        editable = self.has_change_permission(request, version)
        items = list(
            Item.objects.filter(version=version)
            .select_related("section")
            .prefetch_related("options")
        )
        weighted = version.kind == InstrumentVersion.Kind.WEIGHTED
        data = request.POST if request.method == "POST" else None
        form = PointsForm(data, items=items, weighted=weighted, editable=editable)
        if data is not None:
            require(editable)
            if form.is_valid():
                changed = catalogue.set_points(
                    version=version,
                    points=form.values("points"),
                    weights=form.values("weight"),
                )
                self.message_user(
                    request,
                    gettext("Saved: %(count)d value(s) changed.") % {"count": changed},
                )
                return HttpResponseRedirect(request.path)
        return self._page(
            request,
            "admin/assessments/points.html",
            form=form,
            version=version,
            editable=editable,
            weighted=weighted,
            admin_url=change_url(version),
            title=gettext("Points of %(version)s") % {"version": version},
        )

    def preview_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The reviewer's form for this version; a POST scores scratch choices."""
        require(self.has_view_permission(request))
        version = get_object_or_404(
            InstrumentVersion.objects.select_related("instrument"), pk=pk
        )
        choices = scratch_choices(request.POST) if request.method == "POST" else {}
        try:
            _definition, result = catalogue.preview_score(
                version=version, choices=choices
            )
        except ValidationError as exc:
            return render(
                request,
                "admin/assessments/preview.html",
                {
                    "version": version,
                    "problems": messages_of(exc),
                    "admin_url": change_url(version),
                },
            )
        context = preview_context(version, choices, result)
        partial = request.method == "POST" and request.headers.get("X-Preview") == "1"
        template = "admin/assessments/_preview_form.html" if partial else None
        return render(request, template or "admin/assessments/preview.html", context)
