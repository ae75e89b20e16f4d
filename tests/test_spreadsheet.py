"""Spreadsheet scoring: the pure core of the `score` command."""

from __future__ import annotations

from functools import cache

import pytest

from assessments.instruments import (
    Definition,
    accepted_codes,
    bundled_definitions_dir,
    load_definition_file,
    parse_definition,
    parse_row_answers,
    score_csv,
    template_header,
)
from assessments.instruments.spreadsheet import COLUMNS, rows_to_csv

RQS_HEADER = "id," + ",".join(str(n) for n in range(1, 17))
# The same 17 points written as points and as option codes.
RQS_ROW_POINTS = "S1,1,0,0,0,3,0,0,0,1,0,7,3,0,0,0,2"
RQS_ROW_CODES = (
    "S2,documented,no,no,no,either,no,no,no,stat,0,yes,one_other,no,no,no,scans+code"
)
RQS_ROW_WORST = "S3,0,0,0,0,-3,0,0,0,0,0,0,-5,0,0,0,0"
METRICS_HEADER = "id;C1;C2;C3;C4;C5;" + ";".join(str(n) for n in range(1, 31))
EXAMPLE_YES = {1, 2, 3, 6, 8, 11, 12, 13, 15, 16, 18, 20, 21, 26}


@cache
def bundled(key: str) -> Definition:
    return parse_definition(
        load_definition_file(bundled_definitions_dir() / f"{key}.yaml")
    )


def metrics_row(row_id: str, conditions: str, yes: set[int], **cells: str) -> str:
    """`conditions` like "YNYYN" (written 1/0); `cells` override, e.g. i9="yes"."""
    values = {f"C{n}": "1" if c == "Y" else "0" for n, c in enumerate(conditions, 1)}
    values.update({str(n): ("1" if n in yes else "0") for n in range(1, 31)})
    values.update({k.removeprefix("i"): v for k, v in cells.items()})
    return ";".join([row_id, *(values[c] for c in METRICS_HEADER.split(";")[1:])])


def rqs_csv(*rows: str, header: str = RQS_HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def test_template_header_is_id_conditions_then_items() -> None:
    assert template_header(bundled("rqs-1.0")) == [
        "id",
        *(str(n) for n in range(1, 17)),
    ]
    assert template_header(bundled("metrics-1.0")) == [
        "id",
        "C1",
        "C2",
        "C3",
        "C4",
        "C5",
        *(str(n) for n in range(1, 31)),
    ]
    assert template_header(bundled("rqs-2.0"))[:4] == ["id", "TRACK", "RRL", "1"]


def test_accepted_codes_describe_every_column() -> None:
    lines = accepted_codes(bundled("rqs-1.0"))
    assert len(lines) == 16
    assert lines[4].startswith("5: -3, 3, none, either - ")
    metrics = accepted_codes(bundled("metrics-1.0"))
    assert metrics[1].startswith("C2: yes, no, 1, 0 - ")
    assert metrics[1].endswith("(only when C1 = yes)")
    assert any(
        line.startswith("9: yes, no, 1, 0 - ") and "C2 = yes" in line
        for line in metrics
    )


def test_valid_rqs_csv_with_points_and_codes() -> None:
    result = score_csv(
        bundled("rqs-1.0"), rqs_csv(RQS_ROW_POINTS, RQS_ROW_CODES, RQS_ROW_WORST)
    )
    assert result.ok, result.errors
    assert result.warnings == []
    assert result.rows == [
        {"id": "S1", "total": "17", "max": "36", "percent": "47.2", "band": ""},
        {"id": "S2", "total": "17", "max": "36", "percent": "47.2", "band": ""},
        {"id": "S3", "total": "-8", "max": "36", "percent": "-22.2", "band": ""},
    ]


def test_multi_item_points_map_to_a_canonical_option_set() -> None:
    answers, errors, warnings = parse_row_answers(
        bundled("rqs-1.0"),
        dict(zip(RQS_HEADER.split(","), RQS_ROW_POINTS.split(","), strict=True)),
    )
    assert (errors, warnings) == ([], [])
    assert answers["16"] == ("scans", "segmentations")
    assert answers["9"] == ("stat",)
    assert answers["10"] == ()
    assert answers["5"] == ("either",)
    assert answers["12"] == ("one_other",)


def test_semicolons_decimal_commas_and_bom_are_accepted() -> None:
    text = "\ufeff" + rqs_csv(
        RQS_ROW_POINTS.replace(",", ";").replace(";3;", ";3,0;", 1),
        header=RQS_HEADER.replace(",", ";"),
    )
    result = score_csv(bundled("rqs-1.0"), text)
    assert result.ok, result.errors
    assert result.rows[0]["total"] == "17"


def test_metrics_worked_example_from_a_semicolon_csv() -> None:
    codes = {"C1": "yes", "C2": "no", "C3": "YES", "C4": "yes", "C5": "no"}
    rows = [
        metrics_row("Smith 2020", "YNYYN", EXAMPLE_YES, i9="", i17=""),
        metrics_row(
            "Jones 2021", "", EXAMPLE_YES, i9="", i17="na", i1="yes", i4="no", **codes
        ),
    ]
    result = score_csv(
        bundled("metrics-1.0"), "\ufeff" + "\r\n".join([METRICS_HEADER, *rows])
    )
    assert result.ok, result.errors
    assert result.warnings == []
    expected = {"total": "64.8", "max": "100", "percent": "64.8", "band": "good"}
    assert result.rows == [
        {"id": "Smith 2020", **expected},
        {"id": "Jones 2021", **expected},
    ]


def test_comma_separated_metrics_works_too() -> None:
    row = metrics_row("A", "11111", set(range(1, 31))).replace(";", ",")
    result = score_csv(
        bundled("metrics-1.0"), METRICS_HEADER.replace(";", ",") + "\n" + row
    )
    assert result.rows == [
        {
            "id": "A",
            "total": "100",
            "max": "100",
            "percent": "100.0",
            "band": "excellent",
        }
    ]


def test_yes_given_for_an_na_item_is_ignored_with_a_warning() -> None:
    row = metrics_row("W1", "YNYYN", EXAMPLE_YES, i9="yes", i17="NA")
    result = score_csv(bundled("metrics-1.0"), METRICS_HEADER + "\n" + row)
    assert result.ok
    assert result.warnings == [
        "row W1, item 9: 'yes' ignored because it does not apply"
    ]
    assert result.rows[0]["total"] == "64.8"


def test_condition_that_does_not_apply_may_say_no_but_not_yes() -> None:
    na = {"i8": "", "i9": "", "i10": "na", "i17": ""}
    quiet = metrics_row("Q", "NNYYN", EXAMPLE_YES, **na)
    loud = metrics_row("L", "NYYYN", EXAMPLE_YES, **na)
    result = score_csv(bundled("metrics-1.0"), "\n".join([METRICS_HEADER, quiet, loud]))
    assert result.ok, result.errors
    assert result.warnings == [
        "row L, condition C2: '1' ignored because it does not apply"
    ]


def test_invalid_value_names_row_item_and_allowed_values() -> None:
    bad = "S7,1,0,0,0,0,0,0,0,1,0,7,3,0,0,0,2"
    result = score_csv(bundled("rqs-1.0"), rqs_csv(RQS_ROW_POINTS, bad))
    assert result.rows == []
    assert result.errors == [
        "row S7, item 5: '0' not allowed; allowed: -3, 3, none, either"
    ]


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("resampling", "row S9, item 9: 'resampling' counts only together with 'stat'"),
        ("3", "row S9, item 9: '3' not allowed; allowed: 0, 1, 2, stat, resampling"),
        ("1,5", "row S9, item 9: '1,5' not allowed"),
        ("", "row S9, item 9: empty; allowed: 0, 1, 2, stat, resampling"),
    ],
)
def test_bad_multi_cells_are_errors(cell: str, message: str) -> None:
    cells = RQS_ROW_POINTS.replace("S1", "S9").split(",")
    cells[9] = f'"{cell}"' if "," in cell else cell
    result = score_csv(bundled("rqs-1.0"), rqs_csv(",".join(cells)))
    assert len(result.errors) == 1
    assert result.errors[0].startswith(message)


def test_all_errors_are_collected_and_no_rows_are_returned() -> None:
    bad_a = RQS_ROW_POINTS.replace("S1", "A").removesuffix(",2") + ","
    result = score_csv(
        bundled("rqs-1.0"), rqs_csv(RQS_ROW_POINTS, RQS_ROW_POINTS, bad_a)
    )
    assert result.rows == []
    assert result.errors[0] == "row S1: duplicate id (lines 2 and 3)"
    assert any(e.startswith("row A, item 16: empty") for e in result.errors)


def test_empty_applicable_metrics_cell_is_an_error() -> None:
    row = metrics_row("E1", "YYYYY", EXAMPLE_YES, i9="")
    result = score_csv(bundled("metrics-1.0"), METRICS_HEADER + "\n" + row)
    assert result.errors == ["row E1, item 9: empty; allowed: yes, no, 1, 0"]


def test_empty_condition_is_an_error() -> None:
    row = metrics_row("E2", "YYYYY", EXAMPLE_YES, C1="")
    result = score_csv(bundled("metrics-1.0"), METRICS_HEADER + "\n" + row)
    assert result.errors[0] == "row E2, condition C1: empty; allowed: yes, no, 1, 0"


def test_missing_and_unknown_columns_are_errors() -> None:
    header = RQS_HEADER.replace(",16", ",17")
    result = score_csv(bundled("rqs-1.0"), rqs_csv(RQS_ROW_POINTS, header=header))
    assert result.errors == ["unknown column '17'", "missing column(s): 16"]
    result = score_csv(bundled("rqs-1.0"), rqs_csv(header="study," + RQS_HEADER[3:]))
    assert result.errors == ["the first column must be id"]


def test_empty_file_and_header_only_file_are_errors() -> None:
    assert score_csv(bundled("rqs-1.0"), "").errors == ["the file is empty"]
    assert score_csv(bundled("rqs-1.0"), RQS_HEADER).errors == [
        "the file has no data rows"
    ]


def test_checklist_rows_give_yes_count_applicable_count_and_adherence() -> None:
    header = ",".join(template_header(bundled("clear-1.0")))
    row = ",".join(["C1", *["yes"] * 55, "no", "na", "1"])
    result = score_csv(bundled("clear-1.0"), f"{header}\n{row}\n")
    assert result.rows == [
        {"id": "C1", "total": "56", "max": "57", "percent": "98.2", "band": ""}
    ]


def test_judgement_rows_give_the_overall_risk_of_bias_and_applicability() -> None:
    """QUADAS-2 (Whiting et al. 2011): any high domain makes the overall high;
    applicability is judged apart and reported beside it (issue 18, point 10)."""
    definition = bundled("quadas-2-1.0")
    cells = ["yes" if i.type == "signalling" else "low" for i in definition.items]
    cells[definition.items.index(definition.item("D4.rob"))] = "HIGH"
    cells[definition.items.index(definition.item("D2.app"))] = "unclear"
    text = ",".join(template_header(definition)) + "\nQ1," + ",".join(cells)
    result = score_csv(definition, text)
    assert result.rows == [
        {
            "id": "Q1",
            "total": "",
            "max": "",
            "percent": "",
            "band": "high",
            "applicability": "unclear",
        }
    ]
    assert rows_to_csv(result.rows).splitlines() == [
        "id,total,max,percent,band,applicability",
        "Q1,,,,high,unclear",
    ]


def test_rqs2_cells_out_of_scope_may_be_empty() -> None:
    definition = bundled("rqs-2.0")
    cells = {code: "" for code in template_header(definition)[1:]}
    cells.update(
        {"TRACK": "dl", "RRL": "1", "1": "2", "2": "yes", "3": "1", "4": "0", "5": "1"}
    )
    cells["6"] = "1"
    answers, errors, warnings = parse_row_answers(definition, cells)
    assert errors == []
    assert warnings == ["item 6: '1' ignored because it does not apply"]
    assert answers["1"] == ("consensus",)


def test_rows_to_csv_writes_the_output_columns() -> None:
    result = score_csv(bundled("rqs-1.0"), rqs_csv(RQS_ROW_POINTS))
    assert rows_to_csv(result.rows) == ",".join(COLUMNS) + "\nS1,17,36,47.2,\n"


def test_na_is_read_in_the_spellings_other_tools_export() -> None:
    """CLEAR's checklist and the official METRICS calculator's exports write
    "N/A" or "n/a" for not applicable (issue 18, point 9): read as "na"."""
    clear = bundled("clear-1.0")
    header = template_header(clear)
    items = header[1:]
    rows = [
        ",".join([f"S{n}", *(na if i % 3 == 0 else "yes" for i in range(len(items)))])
        for n, na in enumerate(("na", "NA", "N/A", "n/a"))
    ]
    result = score_csv(clear, "\n".join([",".join(header), *rows]))
    assert result.ok, result.errors
    figures = {tuple(v for k, v in row.items() if k != "id") for row in result.rows}
    assert len(figures) == 1  # every spelling scores the same
    # Where an item does not apply, "N/A" is as quiet as "na".
    row = metrics_row("W2", "YNYYN", EXAMPLE_YES, i9="N/A", i17="n/a")
    metrics = score_csv(bundled("metrics-1.0"), METRICS_HEADER + "\n" + row)
    assert metrics.ok and metrics.warnings == []
    assert metrics.rows[0]["total"] == "64.8"
    # An item with no "not applicable" still refuses it, naming the item.
    refused = score_csv(bundled("rqs-1.0"), rqs_csv("S9,N/A" + ",0" * 15))
    assert not refused.ok
    assert "item 1: 'N/A' not allowed" in refused.errors[0]
