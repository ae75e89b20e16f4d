"""The lead's calibration pages: every reviewer against the reference, the
thresholds and re-read rules, giving out training studies and hidden checks.

Leads and staff only (per-reviewer figures name people's scores); reviewers
read their own figures on their own page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import (
    require_http_methods,
    require_POST,
    require_safe,
)

from .. import access, selectors
from ..access import Action
from ..agreement.calibration import UNITS, unit_of
from ..agreement.reporting import format_range, format_value
from ..forms_calibration import (
    CalibrationSettingsForm,
    HiddenCheckForm,
    TrainingAssignForm,
)
from ..models import Certification, InstrumentVersion, Project, Reference, Study
from ..renderers.drift import render_drift
from ..selectors import calibration as figures
from ..selectors import training
from ..selectors.audit import person
from ..selectors.numbers import local_number
from ..selectors.worklist import instrument_label
from ..services import calibration, rereads
from ..words import in_words
from .training import percent_text

NONE = "\N{EM DASH}"


def _project_version(
    request: HttpRequest, slug: str, version_key: str
) -> tuple[Project, InstrumentVersion]:
    project = access.get_project(request.user, slug, Action.MANAGE)
    version = selectors.project_version(project, version_key)
    if version is None or version.key != version_key:
        raise Http404(_("This project does not use that instrument version."))
    return project, version


def _overview_url(project: Project, version: InstrumentVersion | None = None) -> str:
    url = reverse("calibration-overview", args=[project.slug])
    return f"{url}#cal-{version.key}" if version else url


# --- the overview ------------------------------------------------------------------


@require_safe
def calibration_overview(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.get_project(request.user, slug, Action.MANAGE)
    who = access.calibration_reviewers(request.user, project)
    versions = selectors.project_versions(project)
    rows = figures.calibration_rows(project, who)
    certificates = {
        (c.reviewer.get_username(), c.version_id): c
        for c in figures.certificates(project)
    }
    charts = render_drift(
        in_words(figures.drift_series(project, who), _),
        {v.key: instrument_label(v) for v in versions},
    )
    studies = list(training.training_studies(project).order_by("title"))
    references = figures.current_references([s.pk for s in studies])
    sections = [
        {
            **_section(project, version, studies, references, rows),
            "rows": [
                _row(r, certificates.get((r["reviewer"], version.pk)))
                for r in rows
                if r["instrument"] == version.key
            ],
            "charts": charts.get(version.key, []),
        }
        for version in versions
    ]
    return render(
        request,
        "assessments/calibration_overview.html",
        {"project": project, "sections": sections, "studies": studies},
    )


def _section(
    project: Project,
    version: InstrumentVersion,
    studies: list[Study],
    references: Mapping[tuple[int, int], Reference],
    rows: list[dict[str, Any]],
) -> dict[str, Any]:
    """One instrument version: its rules, sentence, studies and forms."""
    settings = figures.settings_for(project, version)
    unit = _unit_words(unit_of(version.as_definition().kind))
    referenced = {s.pk for s in studies if (s.pk, version.pk) in references}
    return {
        "version": version,
        "label": instrument_label(version),
        "unit": unit,
        "settings": settings,
        "rules": _rules(settings, unit),
        "sentence": in_words(training.methods_sentence(project, version, rows), _),
        "references": [(s, references.get((s.pk, version.pk))) for s in studies],
        "assign_form": TrainingAssignForm(
            project=project, referenced=referenced, prefix=f"train-{version.key}"
        ),
        "check_form": (
            HiddenCheckForm(
                project=project, referenced=referenced, prefix=f"check-{version.key}"
            )
            if settings.hidden_checks
            else None
        ),
    }


def _unit_words(unit: str | None) -> str | None:
    """The unit in the reader's words: given as a Phrase, or as the English
    a certificate stored."""
    for _field, known in UNITS.values():
        if unit is not None and known == unit:
            return str(in_words(known, _))
    return unit


def _num(value: Any) -> str:
    """80.00 as "80", 2.50 as "2.5": settings are stored with two decimals."""
    return local_number(value, trim=True)


def _rules(settings: Any, unit: str | None) -> list[str]:
    """The version's calibration rules in words."""
    if settings.certification:
        n = settings.min_training_studies
        needs = [
            ngettext(
                "at least %(n)s training study", "at least %(n)s training studies", n
            )
            % {"n": n},
            _("item agreement of %(percent)s%% or more")
            % {"percent": _num(settings.min_item_agreement)},
        ]
        if unit:
            needs.append(
                _("a mean difference in the total of %(size)s %(unit)s or less")
                % {"size": _num(settings.max_total_difference), "unit": unit}
            )
        first = _("Certification is required: %(needs)s.") % {"needs": ", ".join(needs)}
    else:
        first = _(
            "Certification is off: reviewers are assigned whatever their figures."
        )
    checks = (
        _("Hidden checks are on.")
        if settings.hidden_checks
        else _("Hidden checks are off.")
    )
    if settings.reread_fraction > 0:
        again = _(
            "Re-reads: %(percent)s%% of each reviewer's submitted studies, "
            "%(days)s days or more after the first reading."
        ) % {
            "percent": _num(settings.reread_fraction),
            "days": settings.reread_interval_days,
        }
    else:
        again = _("Re-reads are off.")
    return [first, checks, again]


def _cell(value: Any, shown: str, why: str | None) -> dict[str, str]:
    """A figure as shown, or a dash with the reason the data cannot give it."""
    if value is None:
        return {"text": NONE, "why": why or _("not enough data yet")}
    return {"text": shown, "why": ""}


def _difference(value: float | None, unit: str | None) -> str:
    return "" if value is None else f"{format_value(value)} {unit}"


def _row(row: Mapping[str, Any], certificate: Certification | None) -> dict[str, Any]:
    # Reasons, gaps and the unit come from the agreement package as Phrases.
    row = in_words(dict(row), _)
    reasons = row["reasons"]
    unit = row["unit"]
    checks = row["hidden_checks"]
    icc = row["intra_rater_icc"]
    icc_text = ""
    if icc["value"] is not None:
        icc_text = format_value(icc["value"])
        if icc.get("ci"):
            icc_text = _("%(value)s (95%% CI %(range)s)") % {
                "value": icc_text,
                "range": in_words(format_range(*icc["ci"]), _),
            }
    mean = row["mean_total_difference"]
    return {
        "name": row["name"],
        "training": row["training_studies"],
        "agreement": _cell(
            row["percent_agreement"],
            percent_text(row["percent_agreement"]),
            reasons.get("training") or reasons.get("percent_agreement"),
        ),
        "ac1": _cell(
            row["ac1"],
            "" if row["ac1"] is None else format_value(row["ac1"]),
            reasons.get("training") or reasons.get("ac1"),
        ),
        "difference": _cell(
            mean,
            _difference(mean, unit),
            reasons.get("total_difference") or reasons.get("training"),
        ),
        "size": _difference(row["mean_absolute_total_difference"], unit),
        "checks": checks["studies"],
        "check_agreement": percent_text(checks["percent_agreement"]),
        "rereads": row["rereads"],
        "icc": _cell(icc["value"], icc_text, icc.get("reason")),
        "required": row["certification_required"],
        "certificate": certificate,
        "on": _certified_on(certificate) if certificate else "",
        "still_needed": row["still_needed"],
    }


def _certified_on(certificate: Certification) -> str:
    """The figures a certificate was given on, and the threshold they met."""
    got, rule = certificate.figures or {}, certificate.threshold or {}
    unit = _unit_words(got.get("unit"))
    on = [_("%(n)s training studies") % {"n": got.get("training_studies", 0)}]
    if got.get("percent_agreement") is not None:
        on.append(
            _("item agreement %(percent)s")
            % {"percent": f"{got['percent_agreement']:.0%}"}
        )
    if got.get("mean_absolute_total_difference") is not None:
        size = format_value(got["mean_absolute_total_difference"])
        on.append(
            _("mean size of the difference in the total %(size)s %(unit)s")
            % {"size": size, "unit": unit}
        )
    needs = [_("at least %(n)s studies") % {"n": rule.get("min_studies")}]
    if rule.get("min_agreement") is not None:
        needs.append(
            _("agreement %(percent)s or more")
            % {"percent": f"{rule['min_agreement']:.0%}"}
        )
    if rule.get("max_difference") is not None:
        needs.append(
            _("difference %(size)s %(unit)s or less")
            % {"size": local_number(rule["max_difference"], trim=True), "unit": unit}
        )
    return _("on %(figures)s (threshold: %(needs)s)") % {
        "figures": ", ".join(on),
        "needs": ", ".join(needs),
    }


# --- settings and re-reads ---------------------------------------------------------


def _certified(project: Project, version: InstrumentVersion) -> set[int]:
    return set(
        Certification.objects.filter(project=project, version=version).values_list(
            "reviewer_id", flat=True
        )
    )


@require_http_methods(["GET", "HEAD", "POST"])
def calibration_settings(
    request: HttpRequest, slug: str, version_key: str
) -> HttpResponse:
    project, version = _project_version(request, slug, version_key)
    definition = version.as_definition()
    form = CalibrationSettingsForm(
        request.POST or None,
        instance=figures.settings_for(project, version),
        unit=_unit_words(unit_of(definition.kind)),
        short_name=instrument_label(version),
    )
    if request.method == "POST" and form.is_valid():
        before = _certified(project, version)
        try:
            calibration.save_settings(
                project=project,
                version=version,
                values=form.cleaned_data,
                user=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            _say_saved(request, before, _certified(project, version))
            return redirect(
                "calibration-settings", slug=project.slug, version_key=version.key
            )
    return render(
        request,
        "assessments/calibration_settings.html",
        {
            "project": project,
            "version": version,
            "label": instrument_label(version),
            "form": form,
        },
    )


def _say_saved(request: HttpRequest, before: set[int], after: set[int]) -> None:
    news = [_("Calibration settings saved.")]
    if gained := len(after - before):
        news.append(
            ngettext(
                "%(n)s reviewer now certified.",
                "%(n)s reviewers now certified.",
                gained,
            )
            % {"n": gained}
        )
    if lost := len(before - after):
        news.append(
            ngettext(
                "%(n)s certificate withdrawn: no longer meeting the threshold.",
                "%(n)s certificates withdrawn: no longer meeting the threshold.",
                lost,
            )
            % {"n": lost}
        )
    messages.success(request, " ".join(news))


@require_POST
def calibration_rereads(request: HttpRequest, slug: str) -> HttpResponse:
    """Assign the re-reads due now rather than waiting for the periodic sweep."""
    project = access.get_project(request.user, slug, Action.MANAGE)
    n = rereads.assign_due_rereads(project, request.user)
    text = ngettext("%(n)s re-read assigned.", "%(n)s re-reads assigned.", n) % {"n": n}
    if not n:
        none_due = _(
            "None is due: re-reads need a share above 0 and studies first "
            "submitted longer ago than the interval."
        )
        text = f"{text} {none_due}"
    messages.success(request, text)
    back = selectors.project_version(project, request.POST.get("version"))
    if back is not None:
        return redirect("calibration-settings", slug=project.slug, version_key=back.key)
    return redirect(_overview_url(project))


# --- training and hidden checks ----------------------------------------------------


def _form_errors(request: HttpRequest, form: Form) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(
                request, _("Nothing was changed. %(error)s") % {"error": error}
            )


@require_POST
def calibration_assign(
    request: HttpRequest, slug: str, version_key: str
) -> HttpResponse:
    """Give chosen reviewers training studies, or one a hidden check."""
    project, version = _project_version(request, slug, version_key)
    studies = training.training_studies(project)
    references = figures.current_references(
        studies.values_list("pk", flat=True), [version.pk]
    )
    referenced = {study_id for study_id, _version in references}
    if request.POST.get("what") == "check":
        _assign_check(request, project, version, referenced)
    else:
        _assign_training(request, project, version, referenced)
    return redirect(_overview_url(project, version))


def _assign_training(
    request: HttpRequest,
    project: Project,
    version: InstrumentVersion,
    referenced: set[int],
) -> None:
    form = TrainingAssignForm(
        request.POST,
        project=project,
        referenced=referenced,
        prefix=f"train-{version.key}",
    )
    if not form.is_valid():
        _form_errors(request, form)
        return
    try:
        n = calibration.assign_training(
            project=project,
            version=version,
            studies=list(form.cleaned_data["studies"]),
            reviewers=list(form.cleaned_data["reviewers"]),
            user=request.user,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return
    if n:
        messages.success(
            request,
            ngettext(
                "%(n)s training assessment assigned.",
                "%(n)s training assessments assigned.",
                n,
            )
            % {"n": n},
        )
    else:
        messages.info(
            request,
            _(
                "Nothing new to assign: the chosen reviewers already have these "
                "studies."
            ),
        )


def _assign_check(
    request: HttpRequest,
    project: Project,
    version: InstrumentVersion,
    referenced: set[int],
) -> None:
    form = HiddenCheckForm(
        request.POST,
        project=project,
        referenced=referenced,
        prefix=f"check-{version.key}",
    )
    if not form.is_valid():
        _form_errors(request, form)
        return
    reviewer = form.cleaned_data["reviewer"]
    try:
        calibration.assign_hidden_check(
            study=form.cleaned_data["study"],
            version=version,
            reviewer=reviewer,
            user=request.user,
        )
    except ValidationError as exc:
        messages.error(
            request,
            _("Nothing was changed. %(error)s") % {"error": " ".join(exc.messages)},
        )
        return
    messages.success(
        request,
        _(
            "Hidden check assigned to %(name)s: it appears in their worklist like "
            "any other study."
        )
        % {"name": person(reviewer)},
    )
