"""Judgement engine (QUADAS-2, PROBAST+AI): domain judgements and a derived
overall per aspect, never sums.

An instrument may name, per aspect, an overall item (`params.overall_items`)
where the reviewer can choose another overall judgement than the derived one:
an override, which counts only with a written reason (`require_reasons`). What
people read for each aspect comes from `params.aspect_labels` ("Quality
concerns" for PROBAST+AI development); the codes stay `risk_of_bias` and
`applicability`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from ..words import Words, gettext_noop, same
from .definition import Definition, Item
from .result import ANSWERED, Override, Problem, Result, Sheet, build_result
from .vocabulary import STANDARD_OPTIONS

ASPECTS = ("risk_of_bias", "applicability")
ASPECT_LABELS = {
    "risk_of_bias": gettext_noop("Risk of bias"),
    "applicability": gettext_noop("Applicability"),
}
# Low / High / Unclear in words, for every place that shows a judgement.
JUDGEMENT_LABELS = dict(STANDARD_OPTIONS["judgement"])


def aspect_label(definition: Definition, aspect: str, default: str = "") -> str:
    """What people read for `aspect`: the definition's own name for it, else
    `default` (the caller's wording so far), else "Risk of bias"/"Applicability"."""
    labels = definition.params.get("aspect_labels") or {}
    return str(labels.get(aspect) or default or ASPECT_LABELS[aspect])


def overall_item(definition: Definition, aspect: str) -> str | None:
    """The code of the item where the overall `aspect` may be overridden."""
    return (definition.params.get("overall_items") or {}).get(aspect)


def optional_items(definition: Definition) -> frozenset[str]:
    """The overall items: left empty, the derived judgement stands."""
    return frozenset((definition.params.get("overall_items") or {}).values())


def domain_items(definition: Definition, aspect: str) -> list[Item]:
    """The domains' judgement items of `aspect`, without the overall item."""
    overall_codes = optional_items(definition)
    return [
        i
        for i in definition.items
        if i.judgement == aspect and i.code not in overall_codes
    ]


def score(sheet: Sheet, floor_percent: bool = False) -> Result:
    """Per-domain judgements plus overall_risk_of_bias and overall_applicability.

    Where the instrument has overall items, `derived_<aspect>` keeps the
    derived value, `overall_<aspect>` is the reviewer's choice when made (else
    the derived one), and an overall item left empty is not missing.
    """
    definition = sheet.definition
    judgements: dict[str, str | None] = {}
    overrides: list[Override] = []
    for aspect in ASPECTS:
        members = domain_items(definition, aspect)
        if not members:
            continue
        values = [_chosen(sheet, i.code) for i in members]
        judgements.update({i.code: v for i, v in zip(members, values, strict=True)})
        derived = overall(values)
        judgements[f"overall_{aspect}"] = derived
        code = overall_item(definition, aspect)
        if code is None:
            continue
        chosen = _chosen(sheet, code)
        judgements[f"derived_{aspect}"] = derived
        judgements[f"overall_{aspect}"] = chosen or derived
        if chosen and derived and chosen != derived:
            overrides.append(Override(aspect, code, derived, chosen))
    optional = optional_items(definition)
    sheet = replace(sheet, missing=tuple(c for c in sheet.missing if c not in optional))
    result = build_result(
        sheet,
        dict(sheet.items),
        floor_percent=floor_percent,
        band=judgements.get("overall_risk_of_bias"),
        judgements=judgements,
    )
    return replace(result, overrides=tuple(overrides))


def require_reasons(
    definition: Definition, result: Result, reasons: Mapping[str, str]
) -> Result:
    """`result` with each override's reason (`reasons`: item code to text), and
    a problem naming the item for every override that has none."""
    overrides = tuple(
        replace(o, reason=(reasons.get(o.item) or "").strip()) for o in result.overrides
    )
    problems = [_no_reason(definition, o) for o in overrides if not o.reason]
    return replace(result, overrides=overrides, problems=(*result.problems, *problems))


def override_text(
    definition: Definition, override: Override, *, _: Words = same
) -> str:
    """One line for people: derived value, chosen value and the reason."""
    words = {
        "aspect": aspect_label(
            definition, override.aspect, _(ASPECT_LABELS[override.aspect])
        ),
        "chosen": _(_level(override.chosen)),
        "derived": _(_level(override.derived)),
        "reason": override.reason,
    }
    if override.reason:
        return (
            _(
                "%(aspect)s: %(chosen)s chosen by the reviewer, overriding %(derived)s "
                "derived from the domains. Reason: %(reason)s"
            )
            % words
        )
    return (
        _(
            "%(aspect)s: %(chosen)s chosen by the reviewer, overriding %(derived)s "
            "derived from the domains."
        )
        % words
    )


def no_reason_text(
    definition: Definition,
    override: Override,
    *,
    _: Words = same,
    in_sentence: Words = str.lower,
) -> str:
    """What an override without a reason needs, for the reviewer."""
    item = definition.item(override.item)
    aspect = aspect_label(
        definition, override.aspect, _(ASPECT_LABELS[override.aspect])
    )
    return _(
        "Item %(code)s (%(label)s): %(chosen)s differs from the overall %(aspect)s "
        "derived from the domains (%(derived)s). Write your reason for the "
        "override in this item's comment, or clear the item to keep the derived "
        "value."
    ) % {
        "code": item.code,
        "label": item.label,
        "chosen": _(_level(override.chosen)),
        "aspect": in_sentence(aspect),
        "derived": _(_level(override.derived)),
    }


def _no_reason(definition: Definition, override: Override) -> Problem:
    item = definition.item(override.item)
    return Problem(
        item=item.code,
        value=(override.chosen,),
        allowed=item.option_codes,
        message=(
            f"Item {item.code}: '{override.chosen}' overrides the derived "
            f"'{override.derived}' and needs a written reason"
        ),
        text=no_reason_text(definition, override),
    )


def _level(code: str) -> str:
    return JUDGEMENT_LABELS.get(code, code)


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
