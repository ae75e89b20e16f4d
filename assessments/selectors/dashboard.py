"""Dashboard figures of a project and instrument version, aggregated in SQL.

A study's final result is its consensus where one is submitted (and not
stale); before that, for point and weighted instruments, the mean of the
submitted reviewer totals, with the percentage and band computed from that
mean and a floor applied after averaging. Every figure is a handful of
queries whatever the number of studies; the unfiltered dashboard of a large
project is stored (DashboardSnapshot) and refreshed by a Celery task.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Avg,
    Case,
    Count,
    Exists,
    F,
    FloatField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext_lazy

from .. import access
from ..instruments import Definition
from ..models import (
    Assessment,
    DashboardSnapshot,
    InstrumentVersion,
    Project,
    Study,
)
from .dashboard_figures import (
    STATES,
    domain_scores,
    item_adherence,
    judgement_counts,
    progress,
    score_figures,
    traffic_rows,
)
from .progress import progress_counts
from .review import review_studies
from .wording import Wording

# Lazy translations, rendered in the reader's language (Any: they read as text).
STATE_LABELS: dict[str, Any] = {
    "assigned": gettext_lazy("Assigned"),
    "in_progress": gettext_lazy("In progress"),
    "submitted": gettext_lazy("Submitted (all reviewers)"),
    "in_consensus": gettext_lazy("In consensus"),
    "final": gettext_lazy("Final"),
}
FILTER_FIELDS = ("year", "modality", "disease", "reviewer", "status")
# Above this many studies the unfiltered page is served from the stored snapshot.
LIVE_LIMIT = 300


@dataclass
class Filters:
    year: int | None = None
    modality: str = ""
    disease: str = ""
    reviewer: int | None = None
    status: str = ""

    @classmethod
    def from_params(cls, params: dict[str, str]) -> Filters:
        def number(name: str) -> int | None:
            value = params.get(name, "").strip()
            return int(value) if re.fullmatch(r"[0-9]{1,9}", value) else None

        status = params.get("status", "").strip()
        return cls(
            year=number("year"),
            modality=params.get("modality", "").strip(),
            disease=params.get("disease", "").strip(),
            reviewer=number("reviewer"),
            status=status if status in STATES else "",
        )

    @property
    def active(self) -> bool:
        return any(getattr(self, name) for name in FILTER_FIELDS)

    def as_params(self) -> dict[str, str]:
        return {k: str(getattr(self, k)) for k in FILTER_FIELDS if getattr(self, k)}


# --- per-study annotations -------------------------------------------------------


def _reviewers(version: InstrumentVersion) -> QuerySet[Assessment]:
    return Assessment.objects.filter(
        study_id=OuterRef("pk"), version=version, kind=Assessment.Kind.REVIEWER
    )


def annotated_studies(
    project: Project, version: InstrumentVersion, *, floor: bool
) -> QuerySet[Study]:
    """Studies with their state and final total/percent, in one GROUP BY.

    Aggregates over a join of studies and their assessments (no correlated
    subquery per study), so the cost grows with the data, not with
    queries.
    """
    rev = Q(assessments__version=version, assessments__kind="reviewer")
    sub = rev & Q(assessments__status="submitted")
    any_consensus = Q(assessments__version=version, assessments__kind="consensus")
    fin = any_consensus & Q(assessments__status="submitted", assessments__stale=False)
    qs = (
        review_studies(project)
        .filter(excluded=False)
        .annotate(
            n_assigned=Count("assessments", filter=rev),
            n_started=Count(
                "assessments", filter=rev & ~Q(assessments__status="assigned")
            ),
            n_submitted=Count("assessments", filter=sub),
            n_consensus=Count("assessments", filter=any_consensus),
            n_final=Count("assessments", filter=fin),
            c_total=Cast(Max("assessments__total", filter=fin), FloatField()),
            c_max=Cast(Max("assessments__maximum", filter=fin), FloatField()),
            m_total=Cast(Avg("assessments__total", filter=sub), FloatField()),
            m_max=Cast(Avg("assessments__maximum", filter=sub), FloatField()),
        )
    )
    qs = qs.annotate(
        final_total=Coalesce(F("c_total"), F("m_total")),
        final_max=Coalesce(F("c_max"), F("m_max")),
        is_final=Case(When(n_final__gt=0, then=Value(True)), default=Value(False)),
    )
    percent: Any = Case(
        When(final_max__gt=0, then=F("final_total") * 100.0 / F("final_max")),
        default=None,
        output_field=FloatField(),
    )
    if floor:
        percent = Greatest(percent, Value(0.0))
    return qs.annotate(final_percent=percent, state=state_expression())


def state_expression() -> Case:
    """A study's state from the counts `annotated_studies` names (n_assigned...)."""
    return Case(
        When(n_final__gt=0, then=Value("final")),
        When(n_consensus__gt=0, then=Value("in_consensus")),
        When(
            Q(n_assigned__gt=0) & Q(n_submitted=F("n_assigned")),
            then=Value("submitted"),
        ),
        When(n_started__gt=0, then=Value("in_progress")),
        default=Value("assigned"),
    )


def filtered_studies(
    project: Project, version: InstrumentVersion, filters: Filters, *, floor: bool
) -> QuerySet[Study]:
    qs = (
        annotated_studies(project, version, floor=floor).filter(
            pk__in=_where_only(project, version, filters).values("pk")
        )
        if _has_where(filters)
        else annotated_studies(project, version, floor=floor)
    )
    if filters.status:
        qs = qs.filter(state=filters.status)  # type: ignore[misc]
    return qs


def _has_where(filters: Filters) -> bool:
    return bool(filters.year or filters.modality or filters.disease or filters.reviewer)


def study_table(
    project: Project,
    version: InstrumentVersion,
    filters: Filters,
    user: Any,
    number: Any,
) -> tuple[Any, list[dict[str, Any]]]:
    """One page of the dashboard's study table: states for all, results if visible.

    Pages plain study rows first and aggregates only the page's fifty, so the
    table costs the same at 100 or 10,000 studies (unless filtered by state).
    """
    from django.core.paginator import Paginator

    floor = project.floor_percent
    if filters.status:
        source: QuerySet[Study] = filtered_studies(
            project, version, filters, floor=floor
        )
    else:
        source = _where_only(project, version, filters)
    page = Paginator(
        source.order_by("title", "pk").only("pk", "uuid", "title", "year"), 50
    ).get_page(number)
    ids = [study.pk for study in page.object_list]
    every = annotated_studies(project, version, floor=floor).filter(pk__in=ids)
    seen = for_viewer(every, user, project, version)
    states = {row.pk: row for row in every.exclude(pk__in=_pending(user, project))}
    results = {row.pk: row for row in seen}
    rows = []
    for study in page.object_list:
        state = getattr(states.get(study.pk), "state", "")
        rows.append(
            {
                "study": study,
                "state": state,
                "state_label": STATE_LABELS.get(state, ""),
                "result": results.get(study.pk),
            }
        )
    return page, rows


def _where_only(
    project: Project, version: InstrumentVersion, filters: Filters
) -> QuerySet[Study]:
    qs = review_studies(project).filter(excluded=False)
    if filters.year:
        qs = qs.filter(year=filters.year)
    if filters.modality:
        qs = qs.filter(modality__iexact=filters.modality)
    if filters.disease:
        qs = qs.filter(disease__iexact=filters.disease)
    if filters.reviewer:
        qs = qs.filter(Exists(_reviewers(version).filter(reviewer_id=filters.reviewer)))
    return qs


def for_viewer(
    studies: QuerySet[Study], user: Any, project: Project, version: InstrumentVersion
) -> QuerySet[Study]:
    """Only the studies whose results the viewer may see (the rule is access.py's)."""
    rule = access.result_filter(user, project, version)
    return studies if rule is None else studies.filter(rule)


def _pending(user: Any, project: Project) -> Any:
    return access.pending_studies(user, project).values("pk")


# --- the whole dashboard --------------------------------------------------------------


@dataclass
class Dashboard:
    version: InstrumentVersion
    definition: Definition
    filters: Filters
    figures: dict[str, Any] = field(default_factory=dict)
    charts: list[dict[str, Any]] = field(default_factory=list)
    computed_at: Any = None
    data_revision: int = 0
    duration_ms: int = 0


def compute(
    project: Project, version: InstrumentVersion, filters: Filters, user: Any = None
) -> Dashboard:
    """Compute every figure live (a constant number of queries).

    Without a user, the full view (leads, staff, the stored snapshot); with
    one, only the results that user may see.
    """
    started = time.perf_counter()
    definition = version.as_definition()
    revision = (
        Project.objects.filter(pk=project.pk)
        .values_list("data_revision", flat=True)
        .get()
    )
    every = filtered_studies(project, version, filters, floor=project.floor_percent)
    studies = every
    if user is not None:
        # Blinding holds in aggregates too: a study the viewer may not see the
        # result of is left out of every figure, progress included when the
        # viewer's own review of it is still open.
        studies = for_viewer(every, user, project, version)
        every = every.exclude(pk__in=_pending(user, project))
    figures: dict[str, Any] = {
        "kind": definition.kind,
        "progress": progress(every),  # statuses only, never scores
        **score_figures(studies, definition),
    }
    if user is None and not filters.active:
        # The full view is stored: its per-reviewer progress is read from the
        # snapshot, not grouped over every assessment on each page view.
        figures["reviewer_progress"] = progress_counts(project, version)
    if definition.kind in ("points", "weighted", "checklist"):
        adherence = item_adherence(studies, version)
        figures["adherence"] = [
            (item.code, item.label, *adherence.get(item.code, (0, 0, None)))
            for item in definition.items
        ]
        figures["domains"] = domain_scores(definition, adherence)
    if definition.kind == "judgement":
        figures["judgements"] = judgement_counts(studies, version)
        figures["traffic"] = traffic_rows(studies, version)
        # The risk-of-bias charts name domains in words, not by their codes.
        figures["item_labels"] = {item.code: item.label for item in definition.items}
    dashboard = Dashboard(
        version,
        definition,
        filters,
        figures=figures,
        computed_at=timezone.now(),
        data_revision=revision,
    )
    dashboard.duration_ms = int((time.perf_counter() - started) * 1000)
    return dashboard


def stale_snapshots() -> list[tuple[int, int]]:
    """(project, version) pairs whose stored dashboard is older than the data."""
    stale = DashboardSnapshot.objects.exclude(data_revision=F("project__data_revision"))
    return list(stale.values_list("project_id", "version_id"))


def in_wording(figures: dict[str, Any], wording: Wording) -> dict[str, Any]:
    """`figures` naming items and domains in the reader's wording: figures are
    computed (and stored) with the English names; codes and numbers stay."""
    if not wording.translated:
        return figures
    shown = wording.definition
    items = {i.code: i.label for i in shown.items}
    out = dict(figures)
    if "adherence" in figures:
        out["adherence"] = [
            [code, items.get(code, label), *rest]
            for code, label, *rest in figures["adherence"]
        ]
    if "domains" in figures:
        # In the definition's order, as domain_scores lists them.
        names = [d.label for d in shown.domains]
        out["domains"] = [
            [names[n] if n < len(names) else label, value]
            for n, (label, value) in enumerate(figures["domains"])
        ]
    if "item_labels" in figures:
        out["item_labels"] = {
            code: items.get(code, label)
            for code, label in figures["item_labels"].items()
        }
    return out
