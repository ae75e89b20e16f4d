"""Export page and downloads: any member who may view exports what they may see."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from .. import access, selectors
from ..agreement.reporting import instrument_name, modified_from
from ..models import InstrumentVersion, Project, ReviewerCode
from ..services import exports

FORM_CHOICES = [
    (
        "wide",
        gettext_lazy("Wide: a row per study and reviewer, a column per item, totals"),
    ),
    ("long", gettext_lazy("Long: a row per answer, with evidence, page and comment")),
    (
        "quotes",
        gettext_lazy(
            "Quotes: a row per quote from a paper, with its page and selectors"
        ),
    ),
    (
        "json",
        gettext_lazy("JSON: with the instrument version's metadata and a codebook"),
    ),
    (
        "redcap-dictionary",
        gettext_lazy("REDCap data dictionary: the instrument as a REDCap form"),
    ),
    (
        "redcap-data",
        gettext_lazy("REDCap data: a row per assessment, to import into that form"),
    ),
    (
        "prisma",
        gettext_lazy("PRISMA 2020 counts (CSV): studies assessed, excluded, included"),
    ),
    ("prisma-svg", gettext_lazy("PRISMA 2020 diagram (SVG) of the same counts")),
    (
        "robvis",
        gettext_lazy(
            "robvis: risk of bias per domain, for traffic-light plots (QUADAS-2)"
        ),
    ),
    (
        "robvis-applicability",
        gettext_lazy("robvis: applicability concerns per domain (QUADAS-2)"),
    ),
    (
        "revman",
        gettext_lazy(
            "RevMan Web: judgements with their support, for import (QUADAS-2)"
        ),
    ),
]
FORMAT_CHOICES = [("csv", "CSV"), ("xlsx", "Excel (XLSX)")]
TRUE = ("1", "true", "on", "yes")


class ExportForm(forms.Form):
    # Lives here, not in forms.py: it only parses this page's query string.
    version = forms.CharField(
        label=gettext_lazy("Instrument version"), widget=forms.Select
    )
    form = forms.ChoiceField(
        label=gettext_lazy("Form"),
        choices=FORM_CHOICES,
        initial="wide",
        widget=forms.RadioSelect,
    )
    format = forms.ChoiceField(
        label=gettext_lazy("File format (wide, long and quotes)"),
        choices=FORMAT_CHOICES,
        initial="csv",
        required=False,
        widget=forms.RadioSelect,
    )
    european = forms.BooleanField(
        label=gettext_lazy("European CSV: semicolons and decimal commas"),
        required=False,
        widget=forms.CheckboxInput(attrs={"value": "1"}),
    )

    pseudonymise = forms.BooleanField(
        label=gettext_lazy("Name reviewers by code (R1, R2, ...)"),
        help_text=gettext_lazy(
            "For sharing with a paper: each reviewer keeps the same code in "
            "every export of this project."
        ),
        required=False,
        widget=forms.CheckboxInput(attrs={"value": "1"}),
    )

    def __init__(self, *args: Any, versions: list[InstrumentVersion], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.versions = {v.key: v for v in versions}
        # Links made before keys were used in addresses carry the database id.
        self.by_id = {str(v.pk): v.key for v in versions}
        field = self.fields["version"]
        field.widget.choices = _version_choices(versions)  # type: ignore[attr-defined]
        if versions:
            field.initial = versions[0].key

    def clean_version(self) -> str:
        raw = str(self.cleaned_data.get("version") or "")
        key = self.by_id.get(raw, raw)
        if key not in self.versions:
            raise forms.ValidationError(
                _("Select a valid choice: choose one of the project's instruments.")
            )
        return key

    def clean_format(self) -> str:
        return str(self.cleaned_data.get("format") or "csv")

    def clean_european(self) -> bool:
        # A checkbox's "0" would otherwise read as ticked.
        return str(self.data.get("european", "")).lower() in TRUE

    def clean_pseudonymise(self) -> bool:
        return str(self.data.get("pseudonymise", "")).lower() in TRUE


def _version_choices(versions: list[InstrumentVersion]) -> list[tuple[str, str]]:
    """Versions by the name a reviewer knows; the version itself where names repeat."""
    names = {
        v.key: instrument_name(v.short_name or v.name, modified_from(v))
        for v in versions
    }
    repeated = {n for n in names.values() if list(names.values()).count(n) > 1}
    return [
        (
            v.key,
            _("%(name)s, version %(version)s")
            % {"name": names[v.key], "version": v.version}
            if names[v.key] in repeated
            else names[v.key],
        )
        for v in versions
    ]


def _page(
    request: HttpRequest, project: Project, form: ExportForm, status: int = 200
) -> HttpResponse:
    key = _reviewer_key(request, project)
    context = {"project": project, "form": form, "key": key}
    return render(request, "assessments/project_export.html", context, status=status)


def _reviewer_key(request: HttpRequest, project: Project) -> list[tuple[str, str, str]]:
    """Code -> person, for those who manage the project: the key stays with them."""
    if not access.allows(request.user, project, access.Action.MANAGE):
        return []
    codes = ReviewerCode.objects.filter(project=project).select_related("user")
    rows = [(c.code, c.user.get_full_name(), c.user.get_username()) for c in codes]
    # R2 before R10.
    return sorted(rows, key=lambda row: (len(row[0]), row[0]))


def _attachment(file: exports.ExportFile) -> HttpResponse:
    response = HttpResponse(file.content, content_type=file.content_type)
    disposition = content_disposition_header(True, file.filename)
    response["Content-Disposition"] = disposition or "attachment"
    # Blinded data: no shared cache may keep it.
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def project_export(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.get_project(request.user, slug)
    return _page(
        request, project, ExportForm(versions=selectors.project_versions(project))
    )


@require_GET
def project_export_download(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.get_project(request.user, slug)
    form = ExportForm(request.GET, versions=selectors.project_versions(project))
    if not form.is_valid():
        return _page(request, project, form, status=400)
    data = form.cleaned_data
    version = form.versions[data["version"]]
    try:
        file = exports.export(
            request.user,
            project,
            version,
            data["form"],
            data["format"],
            european=data["european"],
            pseudonymise=data["pseudonymise"],
        )
    except exports.ExportError as exc:
        form.add_error(None, str(exc))
        return _page(request, project, form, status=400)
    return _attachment(file)
