"""Judgement engine (QUADAS-2): domain judgements and a derived overall, never sums."""

from __future__ import annotations

from collections.abc import Sequence

from .result import ANSWERED, Result, Sheet, build_result

ASPECTS = ("risk_of_bias", "applicability")


def score(sheet: Sheet, floor_percent: bool = False) -> Result:
    """Per-domain judgements plus overall_risk_of_bias and overall_applicability."""
    judgements: dict[str, str | None] = {}
    for aspect in ASPECTS:
        members = [i for i in sheet.definition.items if i.judgement == aspect]
        if not members:
            continue
        values = [_chosen(sheet, i.code) for i in members]
        judgements.update({i.code: v for i, v in zip(members, values, strict=True)})
        judgements[f"overall_{aspect}"] = overall(values)
    return build_result(
        sheet,
        dict(sheet.items),
        floor_percent=floor_percent,
        band=judgements.get("overall_risk_of_bias"),
        judgements=judgements,
    )


def _chosen(sheet: Sheet, code: str) -> str | None:
    result = sheet.items[code]
    return result.value[0] if result.state == ANSWERED else None


def overall(values: Sequence[str | None]) -> str | None:
    """Low if all low, high if any high, else unclear; None while any is missing.

    The review convention, not the 2011 paper's (which only defines "low").
    """
    if any(v is None for v in values):
        return None
    if all(v == "low" for v in values):
        return "low"
    return "high" if "high" in values else "unclear"
