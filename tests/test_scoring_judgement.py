"""Judgement engine: QUADAS-2 domains and the derived overall judgements."""

from __future__ import annotations

from functools import cache

import pytest

from assessments.instruments import (
    Definition,
    bundled_definitions_dir,
    load_definition_file,
    parse_definition,
    score,
)
from assessments.instruments.judgement import overall

ROB = ("D1.rob", "D2.rob", "D3.rob", "D4.rob")
APP = ("D1.app", "D2.app", "D3.app")


@cache
def quadas() -> Definition:
    path = bundled_definitions_dir() / "quadas-2-1.0.yaml"
    return parse_definition(load_definition_file(path))


def answers(rob: str, app: str, signalling: str = "yes") -> dict[str, tuple[str, ...]]:
    """Judgements given as one letter per domain, e.g. rob="LLHU" (L/H/U)."""
    names = {"L": "low", "H": "high", "U": "unclear"}
    out: dict[str, tuple[str, ...]] = {
        i.code: (signalling,) for i in quadas().items if i.type == "signalling"
    }
    out.update({code: (names[v],) for code, v in zip(ROB, rob, strict=True)})
    out.update({code: (names[v],) for code, v in zip(APP, app, strict=True)})
    return out


def test_quadas_structure_matches_the_reference() -> None:
    definition = quadas()
    assert [s.label for s in definition.sections] == [
        "Patient selection",
        "Index test",
        "Reference standard",
        "Flow and timing",
    ]
    signalling = [
        [i.code for i in s.items if i.type == "signalling"] for s in definition.sections
    ]
    assert signalling == [
        ["1.1", "1.2", "1.3"],
        ["2.1", "2.2"],
        ["3.1", "3.2"],
        ["4.1", "4.2", "4.3", "4.4"],
    ]
    assert [i.code for i in definition.items if i.judgement == "risk_of_bias"] == list(
        ROB
    )
    assert [i.code for i in definition.items if i.judgement == "applicability"] == list(
        APP
    )
    assert definition.item("1.1").option_codes == ("yes", "no", "unclear")
    assert definition.item("D1.rob").option_codes == ("low", "high", "unclear")
    assert "convention" in definition.params["overall_rule_note"]


@pytest.mark.parametrize(
    ("rob", "app", "overall_rob", "overall_app"),
    [
        ("LLLL", "LLL", "low", "low"),
        ("LLLH", "LLL", "high", "low"),
        ("ULLH", "LUL", "high", "unclear"),
        ("LULL", "HLL", "unclear", "high"),
        ("UUUU", "UUU", "unclear", "unclear"),
    ],
)
def test_overall_is_low_if_all_low_high_if_any_high_else_unclear(
    rob: str, app: str, overall_rob: str, overall_app: str
) -> None:
    result = score(quadas(), answers(rob, app))
    assert result.complete
    assert result.judgements["overall_risk_of_bias"] == overall_rob
    assert result.judgements["overall_applicability"] == overall_app
    assert result.band == overall_rob
    assert (
        result.judgements["D1.rob"] == {"L": "low", "H": "high", "U": "unclear"}[rob[0]]
    )


def test_judgements_are_never_summed() -> None:
    result = score(quadas(), answers("LLLL", "LLL"))
    assert (result.total, result.maximum, result.percent) == (None, None, None)
    assert result.percent_display is None
    assert result.subtotals == ()


def test_missing_domain_judgement_leaves_overall_open_and_is_listed() -> None:
    given = answers("HLLL", "LLL")
    del given["D1.rob"]
    del given["D2.app"]
    result = score(quadas(), given)
    assert result.judgements["overall_risk_of_bias"] is None
    assert result.judgements["overall_applicability"] is None
    assert result.missing == ("D1.rob", "D2.app")
    assert result.band is None


def test_invalid_judgement_is_a_problem() -> None:
    given = answers("LLLL", "LLL")
    given["D4.rob"] = ("probably low",)
    result = score(quadas(), given)
    assert [p.item for p in result.problems] == ["D4.rob"]
    assert result.judgements["overall_risk_of_bias"] is None


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["low", "low"], "low"),
        (["low", "high", "unclear"], "high"),
        (["low", "unclear"], "unclear"),
        (["low", None], None),
        (["high", None], None),
    ],
)
def test_overall_rule(values: list[str | None], expected: str | None) -> None:
    assert overall(values) == expected
