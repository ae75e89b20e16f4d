"""The agreement figures a methods section needs, each with its n and CI."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from django.utils import timezone
from django.utils.translation import get_language_info, gettext, gettext_lazy

from ... import access
from ... import agreement as ag
from ...agreement import reporting
from ...instruments import Definition
from ...models import Assessment, InstrumentVersion, Project
from ...words import in_words
from ..wording import MIXED, wording_for
from .ratings import (
    Rating,
    RatingData,
    as_float,
    complete_studies,
    independent_ratings,
    item_scale,
    rating_data,
    study_languages,
)

# --- figures -----------------------------------------------------------------------


def _sample(key: str, n_subjects: int, n_raters: int) -> dict[str, Any]:
    """The n behind a figure, and whether it is enough for a reliable estimate."""
    minimum = reporting.minimum_studies(key)
    reliable = n_subjects >= minimum
    return {
        "n_subjects": n_subjects,
        "n_raters": n_raters,
        "min_subjects": minimum,
        "reliable": reliable,
        "caveat": "" if reliable else reporting.too_few_studies(n_subjects),
    }


def _coefficient(
    key: str, c: ag.Coefficient, n_subjects: int, n_raters: int
) -> dict[str, Any]:
    n = n_subjects if c.n_subjects is None else c.n_subjects
    return {
        "key": key,
        "label": ag.COEFFICIENT_LABELS[key],
        "value": c.value,
        "ci95": list(c.ci95) if c.ci95 else None,
        "ci_method": c.ci_method,
        "weights": c.weights,
        "note": c.note,
        **_sample(key, n, n_raters if c.n_raters is None else c.n_raters),
    }


def _item_figures(
    definition: Definition, data: RatingData, keys: tuple[str, ...]
) -> list[dict[str, Any]]:
    assert data.design is not None
    figures = []
    for item in definition.items:
        matrix, scale = data.items[item.code], item_scale(item)
        paired = sum(1 for row in matrix if sum(v is not None for v in row) >= 2)
        results = ag.item_coefficients(
            matrix,
            design=data.design,
            level=scale.level,
            categories=scale.categories,
            n_raters=data.n_reviewers,
        )
        figures.append(
            {
                "code": item.code,
                "label": item.label,
                "level": scale.level,
                "n_studies": paired,
                "n_raters": data.n_reviewers,
                # The command's shape, so a script reads both the same way.
                **ag.flat(results),
                "coefficients": [
                    _coefficient(key, results[key], paired, data.n_reviewers)
                    for key in keys
                ],
            }
        )
    return figures


def _score_figures(
    matrix: list[list[float | None]],
    iccs: dict[str, ag.Coefficient],
    applicable: tuple[str, ...],
    raters: list[str],
) -> dict[str, Any]:
    n = sum(1 for row in matrix if all(v is not None for v in row))
    out: dict[str, Any] = {
        "n_studies": n,
        "n_raters": len(raters),
        "icc": [
            {**_coefficient(key, c, n, len(raters)), "applies": key in applicable}
            for key, c in iccs.items()
        ],
        "icc_by_form": ag.icc_json(iccs),
        "bland_altman": None,
    }
    if len(raters) == 2:
        first, second = zip(*matrix, strict=True) if matrix else ((), ())
        limits = ag.bland_altman(first, second)
        # Slot names ("reviewer 1") are Phrases: said in the reader's words.
        first_name, second_name = in_words(raters[:2], gettext)
        out["bland_altman"] = {
            **limits,
            "difference": f"{first_name} \N{MINUS SIGN} {second_name}",
            **_sample("bland_altman", limits["n"], 2),
        }
    return out


# Fewer complete studies than this and a reviewer's mean difference from the
# consensus comes close to giving away their individual totals.
LENIENCY_MIN_STUDIES = 3


def _leniency(
    project: Project, version: InstrumentVersion, ratings: list[Rating]
) -> list[dict[str, Any]]:
    """Each reviewer's independent total minus the final consensus total.

    Only over studies every assigned reviewer has submitted, and only for
    reviewers with enough of them.
    """
    complete, _ = complete_studies(ratings)
    ratings = [r for rs in complete.values() for r in rs]
    finals = dict(
        Assessment.objects.filter(
            study__project=project,
            version=version,
            kind=Assessment.Kind.CONSENSUS,
            status=Assessment.Status.SUBMITTED,
            study__excluded=False,
            study__training=False,
        ).values_list("study_id", "total")
    )
    pairs = [
        (r.reviewer, f"{timezone.localtime(r.submitted_at):%Y-%m}", r.total, final)
        for r in ratings
        if r.submitted_at is not None
        and (final := as_float(finals.get(r.study_id))) is not None
    ]
    by_reviewer = sorted(ag.leniency(pairs).items(), key=lambda p: str(p[0]))
    return [
        _leniency_row(str(name), result)
        for name, result in by_reviewer
        if result.overall.n >= LENIENCY_MIN_STUDIES
    ]


def _leniency_row(reviewer: str, result: ag.Leniency) -> dict[str, Any]:
    periods = sorted(result.periods.items(), key=lambda p: str(p[0]))
    return {
        "reviewer": reviewer,
        "mean": result.overall.mean,
        "n": result.overall.n,
        "periods": [
            {"period": p, "mean": d.mean, "n": d.n}
            for p, d in periods
            if d.n >= LENIENCY_MIN_STUDIES
        ],
    }


def _clean(value: Any) -> Any:
    """JSON has no NaN or infinity: undefined numbers become null. The
    agreement package's sentences (Phrases: notes, CI methods, caveats, the
    methods sentence) are said in the reader's language."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return in_words(value, gettext)


DESIGN_NOTES = {
    "fixed": gettext_lazy(
        "The same reviewers scored every study: reviewers are a fixed set, so "
        "Cohen's kappa (Fleiss' kappa for more than two) and the two-way ICCs, "
        "ICC(2,1) for absolute agreement and ICC(3,1) for consistency, fit."
    ),
    "interchangeable": gettext_lazy(
        "Studies were scored by different reviewers: reviewers are "
        "interchangeable (columns are the first, second ... reviewer of each "
        "study), so the one-way ICC(1,1), Fleiss' kappa and Krippendorff's "
        "alpha fit."
    ),
}
NOTES = [
    gettext_lazy(
        "Computed on each reviewer's first independent submission; answers revised "
        "after unblinding do not change these figures."
    ),
    gettext_lazy(
        "Only studies every assigned reviewer has submitted enter; excluded and "
        "training studies are left out, and so are training, hidden-check and "
        "re-read assessments."
    ),
    gettext_lazy("Items that do not apply (N/A) are missing ratings, not a category."),
    gettext_lazy(
        "Single items whose options carry points are compared as ordinal on the "
        "points (weighted kappa with linear weights); other items as nominal. "
        "Fleiss' kappa and Gwet's AC1 are unweighted."
    ),
    gettext_lazy(
        "Mean pairwise agreement is the share of agreeing reviewer pairs per study, "
        "averaged; all raters agree is the share of studies on which every "
        "reviewer gave the same answer."
    ),
    # xgettext:no-python-format
    gettext_lazy(
        "95% CIs: Cohen's kappa from its asymptotic standard error; Fleiss' kappa, "
        "Krippendorff's alpha (nominal items), Gwet's AC1 and mean pairwise "
        "agreement from Gwet's linearised variances as R irrCAC computes them; all "
        "raters agree from the Wilson interval; ICCs from the F distribution."
    ),
]


def project_agreement(
    project: Project,
    version: InstrumentVersion,
    user: Any = None,
    language: str = "",
) -> dict[str, Any]:
    """JSON-safe agreement figures for one project and instrument version.

    With a user, the figures that user may see: without the studies they still
    review, and without per-reviewer figures unless they lead the project.
    With `language` ("nl", "en", "mixed"), only the studies whose reviewers all
    used that wording of the instrument (see `wording_languages`).
    """
    # Items named in the reader's wording; the ratings come from the codes.
    definition = wording_for(version).definition
    original = reporting.modified_from(version, definition)
    name = definition.short_name or definition.name
    ratings = independent_ratings(project, version, user)
    languages = study_languages(ratings)
    counted = wording_languages(languages, complete_studies(ratings)[0])
    if language:
        ratings = [r for r in ratings if languages[r.study_id] == language]
    per_reviewer = user is None or access.sees_per_reviewer_figures(user, project)
    data = rating_data(project, version, ratings)
    out: dict[str, Any] = {
        "project": project.slug,
        "instrument": version.key,
        "instrument_name": reporting.instrument_name(name, original),
        "modified_from": original,
        "minimum_studies": {
            "icc": reporting.MIN_STUDIES_ICC,
            "items": reporting.MIN_STUDIES_ITEMS,
        },
        "n_studies": len(data.studies),
        "n_pending": data.n_pending,
        "n_reviewers": data.n_reviewers,
        "reviewers_per_study": data.per_study,
        "design": data.design,
        "design_note": str(DESIGN_NOTES.get(data.design or "", "")),
        "raters": data.raters,
        "leniency": _leniency(project, version, ratings) if per_reviewer else [],
        "leniency_shown": per_reviewer,
        "notes": [str(note) for note in NOTES],
        "wording_language": language,
        "wording_languages": counted,
    }
    if data.design is None:
        return _clean({**out, **_no_figures()})
    return _clean({**out, **_figures(definition, data, out["instrument_name"])})


def wording_languages(
    languages: dict[int, str], complete: dict[int, list[Rating]]
) -> list[dict[str, Any]]:
    """Each wording language with its number of studies that enter agreement:
    the split a lead can choose, with the words for it."""
    counts: dict[str, int] = {}
    for study in complete:
        counts[languages[study]] = counts.get(languages[study], 0) + 1
    return [
        {"code": code, "label": language_name(code), "n_studies": n}
        for code, n in sorted(counts.items(), key=lambda c: (c[0] == MIXED, c[0]))
    ]


def language_name(code: str) -> str:
    """ "Nederlands" for nl; the mixed group in words."""
    if code == MIXED:
        return str(
            gettext_lazy("Mixed: the reviewers of a study used different languages")
        )
    try:
        return str(get_language_info(code)["name_local"])
    except KeyError:
        return code


def _no_figures() -> dict[str, Any]:
    return {
        "coefficients": {"items": [], "totals": []},
        "items": [],
        "item_summary": None,
        "totals": None,
        "percents": None,
        "methods_sentence": "",
        "methods_reliable": False,
    }


def _figures(
    definition: Definition, data: RatingData, instrument: str
) -> dict[str, Any]:
    assert data.design is not None
    applicable = ag.coefficients_for_design(data.design, len(data.raters))
    items = _item_figures(definition, data, applicable.items)
    summary = ag.summarize_items(
        applicable.items[0], [i["coefficients"][0]["value"] for i in items]
    )
    total_iccs = ag.score_coefficients(data.totals, design=data.design)
    totals = _score_figures(data.totals, total_iccs, applicable.total, data.raters)
    percents = _score_figures(
        data.percents,
        ag.score_coefficients(data.percents, design=data.design),
        applicable.total,
        data.raters,
    )
    methods = reporting.reported_methods(
        n_reviewers=data.n_reviewers,
        n_studies=len(data.studies),
        instrument=instrument,
        design=data.design,
        total_icc=total_iccs[ag.TOTAL_ICC_KEY[data.design]],
        item_summary=summary,
        reviewers_per_study=data.per_study,
        # Judgement instruments have no totals: their studies count instead.
        n_total_studies=totals["n_studies"] or None,
    )
    return {
        "coefficients": {
            "items": [_label(k) for k in applicable.items],
            "totals": [_label(k) for k in applicable.total],
        },
        "items": items,
        "item_summary": None if summary is None else asdict(summary),
        "totals": totals,
        "percents": percents,
        # Below the minimum this is the reason there is no sentence, so a
        # report that prints it says so rather than printing a weak estimate.
        "methods_sentence": methods.text,
        "methods_reliable": methods.reliable,
    }


def _label(key: str) -> dict[str, str]:
    return {"key": key, "label": ag.COEFFICIENT_LABELS[key]}
