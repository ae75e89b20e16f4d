"""The dashboard's figures: outer aggregates over the per-study derived table.

selectors/dashboard.py annotates each study once (state, final total and
percent); every figure here is a GROUP BY over that table, materialised once as
a CTE, in one round trip.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet

from ..instruments import Definition
from ..models import Answer, Assessment, InstrumentVersion, Study
from .review import REVIEW_KINDS

STATES = ["assigned", "in_progress", "submitted", "in_consensus", "final"]


def progress(studies: QuerySet[Study]) -> dict[str, int]:
    counts = dict.fromkeys(STATES, 0)
    rows = _with_table(studies, "SELECT state, COUNT(*) FROM t GROUP BY state")
    counts.update({state: int(n) for state, n in rows})
    return counts


GROUPS = ("year", "modality", "disease")


def _band_case(definition: Definition) -> str:
    # The exact score decides the band (59.95% is below 60), as for one assessment.
    exact = "final_percent"
    whens = " ".join(
        f"WHEN {exact} >= {float(b['min'])} AND {exact} "
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
            # Re-reads and checks of a live study are calibration, not results.
            assessment__kind__in=REVIEW_KINDS,
            item_code__contains=".",
        )
        .filter(Q(item_code__endswith=".rob") | Q(item_code__endswith=".app"))
        .filter(
            Q(assessment__kind="consensus")
            | ~Q(assessment__study_id__in=final_study_ids(version))
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
            kind__in=REVIEW_KINDS,
        )
        .filter(Q(kind="consensus") | ~Q(study_id__in=final_study_ids(version)))
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


def final_study_ids(version: InstrumentVersion) -> Any:
    """Studies whose consensus is submitted (and not stale): their final result."""
    return Assessment.objects.filter(
        version=version,
        kind=Assessment.Kind.CONSENSUS,
        status=Assessment.Status.SUBMITTED,
        stale=False,
    ).values("study_id")
