"""The report's own sentences: the instrument as a paper names it, and the
methods paragraph of a project report (see reports.py)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext, ngettext

from ..agreement import reporting
from ..models import Assessment, InstrumentVersion, Project
from ..words import in_words


def instrument_label(definition: Any, version: Any = None) -> str:
    """The instrument as a paper names it, marking an admin-modified copy."""
    short = definition.short_name
    name = (
        f"{definition.name} ({short})"
        if short
        else f"{definition.name} {definition.version}"
    )
    label = reporting.instrument_name(
        name, reporting.modified_from(definition, version)
    )
    # "(modified from ...)" is the agreement package's Phrase: in the reader's words.
    return str(in_words(label, gettext))


def methods_text(project: Project, version: InstrumentVersion) -> str:
    n_reviewers = (
        Assessment.objects.filter(
            study__project=project,
            study__training=False,
            version=version,
            kind="reviewer",
        )
        .values("reviewer")
        .distinct()
        .count()
    )
    definition = version.as_definition()
    doi = f" doi:{definition.doi}" if definition.doi else ""
    words = {
        "name": instrument_label(definition, version),
        "revision": definition.revision,
        "citation": f"{definition.citation}{doi}",
        "count": n_reviewers,
        "per_study": project.reviewers_per_study,
    }
    return (
        _appraisal(project.blinding, bool(project.floor_percent), n_reviewers) % words
    )


def _appraisal(blinded: bool, floored: bool, n: int) -> str:
    # Whole sentences: blinding and the percentage convention change the grammar.
    if blinded and floored:
        return ngettext(
            "Studies were appraised with %(name)s (wording revision %(revision)s; "
            "%(citation)s) by %(count)s reviewer, %(per_study)s per study, blinded "
            "to each other's answers until all had submitted. Percentages are "
            "floored at 0.",
            "Studies were appraised with %(name)s (wording revision %(revision)s; "
            "%(citation)s) by %(count)s reviewers, %(per_study)s per study, blinded "
            "to each other's answers until all had submitted. Percentages are "
            "floored at 0.",
            n,
        )
    if blinded:
        return ngettext(
            "Studies were appraised with %(name)s (wording revision %(revision)s; "
            "%(citation)s) by %(count)s reviewer, %(per_study)s per study, blinded "
            "to each other's answers until all had submitted. Percentages are raw "
            "(negative totals allowed).",
            "Studies were appraised with %(name)s (wording revision %(revision)s; "
            "%(citation)s) by %(count)s reviewers, %(per_study)s per study, blinded "
            "to each other's answers until all had submitted. Percentages are raw "
            "(negative totals allowed).",
            n,
        )
    if floored:
        return ngettext(
            "Studies were appraised with %(name)s (wording revision %(revision)s; "
            "%(citation)s) by %(count)s reviewer, %(per_study)s per study, "
            "unblinded to each other's answers until all had submitted. "
            "Percentages are floored at 0.",
            "Studies were appraised with %(name)s (wording revision %(revision)s; "
            "%(citation)s) by %(count)s reviewers, %(per_study)s per study, "
            "unblinded to each other's answers until all had submitted. "
            "Percentages are floored at 0.",
            n,
        )
    return ngettext(
        "Studies were appraised with %(name)s (wording revision %(revision)s; "
        "%(citation)s) by %(count)s reviewer, %(per_study)s per study, unblinded "
        "to each other's answers until all had submitted. Percentages are raw "
        "(negative totals allowed).",
        "Studies were appraised with %(name)s (wording revision %(revision)s; "
        "%(citation)s) by %(count)s reviewers, %(per_study)s per study, unblinded "
        "to each other's answers until all had submitted. Percentages are raw "
        "(negative totals allowed).",
        n,
    )
