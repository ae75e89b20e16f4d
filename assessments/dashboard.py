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
from decimal import Decimal
from typing import Any

from django.db import connection
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

from .instruments import Definition
from .models import (
    Answer,
    Assessment,
    DashboardSnapshot,
    InstrumentVersion,
    Project,
    Study,
)
from .services.catalogue import definition_of

STATES = ["assigned", "in_progress", "submitted", "in_consensus", "final"]
STATE_LABELS = {
    "assigned": "Assigned",
    "in_progress": "In progress",
    "submitted": "Submitted (all reviewers)",
    "in_consensus": "In consensus",
    "final": "Final",
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


def _final_study_ids(version: InstrumentVersion) -> Any:
    """Studies whose consensus is submitted (and not stale): their final result."""
    return Assessment.objects.filter(
        version=version,
        kind=Assessment.Kind.CONSENSUS,
        status=Assessment.Status.SUBMITTED,
        stale=False,
    ).values("study_id")


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
    qs = Study.objects.filter(project=project, excluded=False).annotate(
        n_assigned=Count("assessments", filter=rev),
        n_started=Count("assessments", filter=rev & ~Q(assessments__status="assigned")),
        n_submitted=Count("assessments", filter=sub),
        n_consensus=Count("assessments", filter=any_consensus),
        n_final=Count("assessments", filter=fin),
        c_total=Cast(Max("assessments__total", filter=fin), FloatField()),
        c_max=Cast(Max("assessments__maximum", filter=fin), FloatField()),
        m_total=Cast(Avg("assessments__total", filter=sub), FloatField()),
        m_max=Cast(Avg("assessments__maximum", filter=sub), FloatField()),
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
    return qs.annotate(final_percent=percent, state=_state_expression())


def _state_expression() -> Case:
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
    rows = [
        {
            "study": study,
            "state": getattr(states.get(study.pk), "state", ""),
            "result": results.get(study.pk),
        }
        for study in page.object_list
    ]
    return page, rows


def _where_only(
    project: Project, version: InstrumentVersion, filters: Filters
) -> QuerySet[Study]:
    qs = Study.objects.filter(project=project, excluded=False)
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
    from . import access

    rule = access.result_filter(user, project, version)
    return studies if rule is None else studies.filter(rule)


def _pending(user: Any, project: Project) -> Any:
    from . import access

    return access.pending_studies(user, project).values("pk")


# --- figures: outer aggregates over the per-study derived table -----------------------


def progress(studies: QuerySet[Study]) -> dict[str, int]:
    counts = dict.fromkeys(STATES, 0)
    rows = _with_table(studies, "SELECT state, COUNT(*) FROM t GROUP BY state")
    counts.update({state: int(n) for state, n in rows})
    return counts


GROUPS = ("year", "modality", "disease")


def _band_case(definition: Definition) -> str:
    rounded = "FLOOR(final_percent * 10 + 0.5) / 10.0"
    whens = " ".join(
        f"WHEN {rounded} >= {float(b['min'])} AND {rounded} "
        f"{'<=' if b.get('inclusive_max') else '<'} {float(b['max'])} THEN {i}"
        for i, b in enumerate(definition.params.get("bands") or [])
    )
    return f"CASE {whens} ELSE -1 END" if whens else "-1"


def score_figures(studies: QuerySet[Study], definition: Definition) -> dict[str, Any]:
    """Summary, distribution, bands and scores by group in one query.

    The per-study table is computed once (a CTE) and every figure is a GROUP
    BY over it, stitched with UNION ALL: one round trip, all in the database.
    """
    scored = "FROM t WHERE final_percent IS NOT NULL"
    parts = [
        "SELECT 'summary', '', COUNT(*), AVG(final_total), AVG(final_percent), "
        f"SUM(CASE WHEN n_final > 0 THEN 1 ELSE 0 END) {scored}",
        "SELECT 'bin', CAST(CAST(FLOOR(final_percent / 10) AS INTEGER) AS TEXT), "
        f"COUNT(*), NULL, NULL, NULL {scored} GROUP BY 2",
        f"SELECT 'band', CAST({_band_case(definition)} AS TEXT), COUNT(*), NULL, "
        f"NULL, NULL {scored} GROUP BY 2",
        *(
            f"SELECT '{g}', CAST({g} AS TEXT), COUNT(*), NULL, AVG(final_percent), "
            f"NULL {scored} GROUP BY 2"
            for g in GROUPS
        ),
    ]
    rows = _with_table(studies, " UNION ALL ".join(parts))
    return _unstack(rows, definition)


def _with_table(
    studies: QuerySet[Study], body: str, extra: list[Any] | None = None
) -> list[tuple]:
    inner = studies.order_by().values(  # type: ignore[misc]
        "pk",
        "year",
        "modality",
        "disease",
        "state",
        "final_total",
        "final_percent",
        "n_final",
    )
    sql, params = inner.query.sql_with_params()
    with connection.cursor() as cursor:
        # `body` is built from this module's constants; values are bound.
        full = f"WITH t AS MATERIALIZED ({sql}) {body}"
        cursor.execute(full, [*params, *(extra or [])])
        return list(cursor.fetchall())


def _two(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


def _unstack(rows: list[tuple], definition: Definition) -> dict[str, Any]:
    out: dict[str, Any] = {
        "summary": {"n": 0, "mean_total": None, "mean_percent": None, "n_final": 0},
        "distribution": [],
        **{f"by_{g}": [] for g in GROUPS},
    }
    band_counts: dict[int, int] = {}
    for kind, key, n, total, percent, finals in rows:
        if kind == "summary":
            out["summary"] = {
                "n": int(n),
                "mean_total": _two(total),
                "mean_percent": _two(percent),
                "n_final": int(finals or 0),
            }
        elif kind == "bin":
            out["distribution"].append((int(key) * 10, int(n)))
        elif kind == "band":
            band_counts[int(key)] = int(n)
        else:
            label = key or "unknown"
            out[f"by_{kind}"].append((label, round(float(percent), 1), int(n)))
    out["distribution"].sort()
    for g in GROUPS:
        out[f"by_{g}"].sort(key=lambda row: row[0])
    spec = definition.params.get("bands") or []
    out["bands"] = [(b["label"], band_counts.get(i, 0)) for i, b in enumerate(spec)]
    return out


def item_adherence(
    studies: QuerySet[Study], version: InstrumentVersion
) -> dict[str, tuple[int, int, float | None]]:
    """Per item: studies adhering, studies with a result, mean final item points.

    A study adheres when its final result earns points on the item: the
    consensus answer, or the mean of the submitted reviewers' points.
    """
    answer, assessment = Answer._meta.db_table, Assessment._meta.db_table
    # Table names come from the models; values are bound parameters.
    body = f"""
        SELECT item_code, SUM(CASE WHEN p > 0 THEN 1 ELSE 0 END), COUNT(*), AVG(p)
        FROM (
            SELECT a.study_id, w.item_code, AVG(w.points) AS p
            FROM {answer} w
            JOIN {assessment} a ON a.id = w.assessment_id
            JOIN t ON t.pk = a.study_id
            WHERE a.version_id = %s AND a.status = 'submitted'
              AND NOT w.na AND w.choices IS NOT NULL
              AND ((a.kind = 'consensus' AND NOT a.stale)
                   OR (a.kind = 'reviewer' AND t.n_final = 0))
            GROUP BY a.study_id, w.item_code
        ) per_study
        GROUP BY item_code"""  # noqa: S608
    rows = _with_table(studies, body, [version.pk])
    return {
        code: (int(yes or 0), int(n), None if mean is None else float(mean))
        for code, yes, n, mean in rows
    }


def domain_scores(
    definition: Definition, adherence: dict[str, tuple[int, int, float | None]]
) -> list[tuple[str, float | None]]:
    """RQS domains as percentage of the ideal: sum of mean item points / maximum."""
    out: list[tuple[str, float | None]] = []
    for domain in definition.params.get("domains", []):
        items = [definition.item(code) for code in domain["items"]]
        maximum = sum((item.max_points() for item in items), Decimal(0))
        means = [adherence.get(item.code, (0, 0, None))[2] for item in items]
        if maximum <= 0 or all(m is None for m in means):
            out.append((domain["label"], None))
            continue
        total = sum(m or 0.0 for m in means)
        out.append((domain["label"], round(100.0 * total / float(maximum), 1)))
    return out


def judgement_counts(
    studies: QuerySet[Study], version: InstrumentVersion
) -> dict[str, dict[str, int]]:
    """Per judgement item: final (or per-reviewer) answers by low/high/unclear."""
    rows = (
        Answer.objects.filter(
            assessment__version=version,
            assessment__study_id__in=studies.values("pk"),
            assessment__status="submitted",
            item_code__contains=".",
        )
        .filter(Q(item_code__endswith=".rob") | Q(item_code__endswith=".app"))
        .filter(
            Q(assessment__kind="consensus")
            | ~Q(assessment__study_id__in=_final_study_ids(version))
        )
        .order_by()
        .values("item_code", "choices")
        .annotate(n=Count("pk"))
    )
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        value = (row["choices"] or ["unanswered"])[0]
        counts.setdefault(row["item_code"], {})[value] = row["n"]
    return counts


def traffic_rows(
    studies: QuerySet[Study], version: InstrumentVersion, limit: int = 60
) -> list[tuple[str, dict[str, str | None]]]:
    """Per study (and reviewer, until final) the judgements, for the traffic light."""
    assessments = (
        Assessment.objects.filter(
            version=version,
            study_id__in=studies.values("pk"),
            status=Assessment.Status.SUBMITTED,
        )
        .filter(Q(kind="consensus") | ~Q(study_id__in=_final_study_ids(version)))
        .select_related("study", "reviewer")
        .order_by("study__title", "kind", "reviewer__username")[:limit]
    )
    rows = []
    for a in assessments:
        label = a.study.title[:60]
        if a.kind == "reviewer":
            label += f" ({a.reviewer})"
        rows.append((label, dict(a.result.get("judgements", {}))))
    return rows


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
    definition = definition_of(version)
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


def store(project: Project, dashboard: Dashboard, charts: list[dict[str, Any]]) -> None:
    DashboardSnapshot.objects.update_or_create(
        project=project,
        version=dashboard.version,
        defaults={
            "data_revision": dashboard.data_revision,
            "computed_at": dashboard.computed_at,
            "duration_ms": dashboard.duration_ms,
            "figures": {"figures": dashboard.figures, "charts": charts},
        },
    )


def stale_snapshots() -> list[tuple[int, int]]:
    """(project, version) pairs whose stored dashboard is older than the data."""
    stale = DashboardSnapshot.objects.exclude(data_revision=F("project__data_revision"))
    return list(stale.values_list("project_id", "version_id"))
