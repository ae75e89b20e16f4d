"""Points engine: RQS 1.0 and RQS 2.0 against the reference numbers."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assessments.instruments import (
    Definition,
    bundled_definitions_dir,
    load_definition_file,
    parse_definition,
    score,
)


@cache
def bundled(key: str) -> Definition:
    return parse_definition(
        load_definition_file(bundled_definitions_dir() / f"{key}.yaml")
    )


def rqs() -> Definition:
    return bundled("rqs-1.0")


# Every option of RQS 1.0 with its points, typed in from the reference table.
RQS_POINTS = {
    "1": {"documented": 1, "public_protocol": 1},
    "2": {"no": 0, "yes": 1},
    "3": {"no": 0, "yes": 1},
    "4": {"no": 0, "yes": 1},
    "5": {"none": -3, "either": 3},
    "6": {"no": 0, "yes": 1},
    "7": {"no": 0, "yes": 1},
    "8": {"no": 0, "yes": 1},
    "9": {"stat": 1, "resampling": 1},
    "10": {"stat": 1, "resampling": 1},
    "11": {"no": 0, "yes": 7},
    "12": {
        "none": -5,
        "same_institute": 2,
        "one_other": 3,
        "two_distinct": 4,
        "published_signature": 4,
        "three_plus": 5,
    },
    "13": {"no": 0, "yes": 2},
    "14": {"no": 0, "yes": 2},
    "15": {"no": 0, "yes": 1},
    "16": {"scans": 1, "segmentations": 1, "code": 1, "features": 1},
}
MULTI = {"1", "9", "10", "16"}
ALL_NO = {
    code: ((), ("no",))[code not in MULTI]
    for code in RQS_POINTS
    if code not in {"5", "12"}
}


def baseline(**overrides: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """A complete answer set worth zero points except where overridden."""
    answers: dict[str, tuple[str, ...]] = {**ALL_NO, "5": ("either",), "12": ("none",)}
    answers.update({k.removeprefix("i"): v for k, v in overrides.items()})
    return answers


def test_rqs_has_the_sixteen_reference_items_and_no_other_options() -> None:
    definition = rqs()
    assert [i.code for i in definition.items] == [str(n) for n in range(1, 17)]
    for item in definition.items:
        assert set(item.option_codes) == set(RQS_POINTS[item.code]), item.code
        assert item.is_multi == (item.code in MULTI)
        assert item.applies_when == ()
    assert definition.status == "published" and not definition.needs_check


@pytest.mark.parametrize(
    ("item", "option", "points"),
    [(i, o, p) for i, opts in RQS_POINTS.items() for o, p in opts.items()],
)
def test_every_rqs_option_scores_exactly_its_reference_points(
    item: str, option: str, points: int
) -> None:
    definition = rqs()
    assert definition.item(item).option(option).points == Decimal(points)  # type: ignore[union-attr]
    answers = baseline(**{f"i{item}": (option,)})
    if option == "resampling":
        answers[item] = ("stat", "resampling")
        points += 1
    result = score(definition, answers)
    assert result.complete
    assert result.items[item].points == Decimal(points)


def test_rqs_items_5_and_12_have_no_zero_option() -> None:
    for code in ("5", "12"):
        assert Decimal(0) not in {o.points for o in rqs().item(code).options}


def test_item_12_help_says_to_pick_the_highest_that_applies() -> None:
    assert "highest" in rqs().item("12").help


def test_rqs_maximum_is_36_and_minimum_is_minus_8() -> None:
    items = rqs().items
    assert sum(i.max_points() for i in items) == 36
    worst = sum(min(o.points or 0 for o in i.options) for i in items if not i.is_multi)
    assert worst == -8


def test_best_and_worst_answer_sets_reach_the_reference_extremes() -> None:
    best = {
        c: tuple(opts) if c in MULTI else (max(opts, key=opts.__getitem__),)
        for c, opts in RQS_POINTS.items()
    }
    result = score(rqs(), best)
    assert (result.total, result.maximum, result.percent_display) == (
        Decimal(36),
        Decimal(36),
        Decimal("100.0"),
    )
    worst = baseline(i5=("none",))
    result = score(rqs(), worst)
    assert result.total == -8
    assert result.percent_display == Decimal("-22.2")
    assert score(rqs(), worst, floor_percent=True).percent_display == Decimal("0.0")
    assert score(rqs(), worst, floor_percent=True).percent == result.percent


@pytest.mark.parametrize(
    ("domain", "maximum"),
    [("D1", 5), ("D2", 8), ("D3", 6), ("D4", 5), ("D5", 8), ("D6", 4)],
)
def test_rqs_domain_maxima_match_the_reference(domain: str, maximum: int) -> None:
    result = score(rqs(), {})
    subtotal = next(s for s in result.subtotals if s.code == domain)
    assert subtotal.maximum == maximum


def test_domain_two_goes_down_to_minus_eight() -> None:
    result = score(rqs(), baseline(i5=("none",)))
    assert next(s for s in result.subtotals if s.code == "D2").total == -8


def test_total_of_14_is_38_9_percent() -> None:
    answers = baseline(i1=("documented",), i11=("yes",), i12=("one_other",))
    result = score(rqs(), answers)
    assert result.total == 14
    assert result.percent_display == Decimal("38.9")
    assert result.band is None


def test_resampling_alone_is_a_problem_and_earns_nothing() -> None:
    for code in ("9", "10"):
        result = score(rqs(), baseline(**{f"i{code}": ("resampling",)}))
        assert not result.complete
        [problem] = result.problems
        assert problem.item == code
        assert (
            problem.message
            == f"Item {code}: 'resampling' counts only together with 'stat'"
        )
        assert result.items[code].state == "invalid"
        assert result.items[code].points is None
        assert result.total == 3 - 5


def test_item_5_answered_zero_is_rejected_with_the_allowed_values() -> None:
    result = score(rqs(), baseline(i5=("0",)))
    [problem] = result.problems
    assert problem.item == "5"
    assert problem.allowed == ("none", "either")
    assert "'0' not allowed" in problem.message
    assert result.total == -5


def test_two_options_for_a_single_item_is_a_problem() -> None:
    result = score(rqs(), baseline(i12=("none", "three_plus")))
    assert [p.item for p in result.problems] == ["12"]


def test_incomplete_answers_score_what_is_answered_and_list_the_rest_in_order() -> None:
    result = score(rqs(), {"11": ("yes",), "16": (), "3": "yes"})
    assert result.total == 8
    assert result.maximum == 36
    assert result.missing == tuple(c for c in RQS_POINTS if c not in {"3", "11", "16"})
    assert result.items["16"].state == "answered"
    assert not result.complete


def test_adherence_means_earning_a_point() -> None:
    result = score(rqs(), baseline(i5=("either",), i12=("none",), i9=("stat",)))
    assert result.items["5"].adheres is True
    assert result.items["12"].adheres is False
    assert result.items["9"].adheres is True
    assert result.items["2"].adheres is False


def test_result_as_dict_is_json_safe() -> None:
    data = score(rqs(), baseline(i9=("resampling",))).as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["total"] == "-2"
    assert data["complete"] is False


def _rqs_answers() -> st.SearchStrategy[dict[str, tuple[str, ...]]]:
    """Any valid, possibly incomplete, RQS 1.0 answer set."""
    strategies: dict[str, st.SearchStrategy[tuple[str, ...]]] = {}
    for code, options in RQS_POINTS.items():
        if code in {"9", "10"}:
            strategies[code] = st.sampled_from([(), ("stat",), ("stat", "resampling")])
        elif code in MULTI:
            strategies[code] = st.sets(st.sampled_from(list(options))).map(tuple)
        else:
            strategies[code] = st.sampled_from(list(options)).map(lambda o: (o,))
    return st.fixed_dictionaries({}, optional=strategies)


@settings(max_examples=300)
@given(_rqs_answers())
def test_any_valid_rqs_answer_set_stays_within_the_reference_range(
    answers: dict[str, tuple[str, ...]],
) -> None:
    result = score(rqs(), answers)
    assert not result.problems
    assert result.total is not None and result.percent_display is not None
    assert -8 <= result.total <= 36
    assert result.maximum == 36
    assert Decimal("-22.2") <= result.percent_display <= 100
    assert result.complete == (len(answers) == 16)


# --- RQS 2.0 ---------------------------------------------------------------------

CUMULATIVE = {
    "hcr": [7, 12, 17, 26, 34, 39, 46, 52, 56],
    "both": [7, 12, 17, 26, 34, 39, 46, 52, 56],
    "dl": [7, 10, 13, 22, 30, 35, 42, 48, 52],
}


@pytest.mark.parametrize(
    ("track", "rrl", "maximum"),
    [(t, n + 1, m) for t, maxima in CUMULATIVE.items() for n, m in enumerate(maxima)],
)
def test_rqs2_maximum_per_readiness_level_and_track(
    track: str, rrl: int, maximum: int
) -> None:
    result = score(bundled("rqs-2.0"), {"TRACK": (track,), "RRL": (str(rrl),)})
    assert result.maximum == maximum
    in_scope = [i for i in bundled("rqs-2.0").items if i.code not in result.na]
    assert all(i.stage is not None and i.stage <= rrl for i in in_scope)


def test_rqs2_is_a_provisional_draft_of_42_items() -> None:
    definition = bundled("rqs-2.0")
    assert (definition.status, definition.needs_check) == ("draft", True)
    assert "check" in definition.note.lower()
    assert [i.code for i in definition.items] == [str(n) for n in range(1, 43)]
    stages = [i.stage or 0 for i in definition.items]
    assert stages == sorted(stages)
    assert [i.code for i in definition.items if i.tracks == ("hcr",)] == [
        "6",
        "9",
        "11",
        "12",
    ]
    assert all(
        o.points is not None and o.points >= 0
        for i in definition.items
        for o in i.options
    )


def test_rqs2_multi_level_items_are_single_choice_with_a_zero() -> None:
    item = bundled("rqs-2.0").item("1")
    assert item.type == "single"
    assert [o.points for o in item.options] == [0, 1, 2]


def test_rqs2_without_scope_answers_has_nothing_in_scope() -> None:
    result = score(bundled("rqs-2.0"), {"1": ("consensus",)})
    assert result.missing == ("TRACK", "RRL")
    assert result.maximum == 0
    assert result.percent is None
    assert len(result.na) == 42


def test_rqs2_hcr_only_answers_are_ignored_for_deep_learning() -> None:
    answers = {"TRACK": ("dl",), "RRL": ("2",), "6": ("yes",), "2": ("yes",)}
    result = score(bundled("rqs-2.0"), answers)
    assert result.total == 1
    assert result.maximum == 10
    assert "6" in result.na
    assert "6" not in result.missing
    assert result.items["6"].value == ("yes",)


def test_scoring_the_same_answers_again_gives_the_same_score_and_a_change_counts() -> (
    None
):
    # Scores are remembered per process (most autosaves change only evidence
    # text); a remembered score must never stand in for a changed answer or a
    # changed definition.
    definition = rqs()
    first = score(definition, baseline(i11=("yes",)))
    assert first.total == 7 + 3 - 5
    assert score(definition, {**baseline(), "11": "yes"}) is first  # a bare string
    assert score(definition, baseline(i11=("no",))).total == 3 - 5
    document = load_definition_file(bundled_definitions_dir() / "rqs-1.0.yaml")
    item_11 = next(
        i for s in document["sections"] for i in s["items"] if i["code"] == "11"
    )
    item_11["options"][1]["points"] = 6  # an edited copy of the instrument
    edited = parse_definition(document)
    assert score(edited, baseline(i11=("yes",))).total == 6 + 3 - 5
    assert score(definition, baseline(i11=("yes",))) is first
