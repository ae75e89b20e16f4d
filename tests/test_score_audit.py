"""Auditing a published score table (issue 18, point 11): `rqs score` with
reported_total, reported_percent and reported_band columns recomputes each
row and names every figure that does not add up.

The METRICS rows are the worked example of tests/test_spreadsheet.py (64.8%,
"good"); the RQS row is the one tests/test_cli.py checks against
`manage.py score` (15 of 36 points, 41.7%).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from assessments.instruments.spreadsheet import score_csv
from tests.factories import load_instrument
from tests.test_cli import RQS_HEADER, rqs
from tests.test_spreadsheet import EXAMPLE_YES, METRICS_HEADER, bundled, metrics_row

RQS_ANSWERS = "1,1,0,0,3,1,0,1,2,1,0,2,2,0,0,1"


def test_a_table_that_adds_up_exits_0_with_the_extra_columns(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text(
        f"{RQS_HEADER},reported_total,reported_percent\nA,{RQS_ANSWERS},15,41.7%\n"
    )
    done = rqs("score", "--instrument", "rqs-1.0", "t.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "id,total,max,percent,band,reported_total,difference",
        "A,15,36,41.7,,15,0",
    ]
    assert done.stderr == ""


def test_each_figure_that_differs_is_named_and_the_status_is_3(
    tmp_path: Path,
) -> None:
    (tmp_path / "t.csv").write_text(
        f"{RQS_HEADER},reported_total,reported_percent\n"
        f"A,{RQS_ANSWERS},15,41.7\n"
        f"B,{RQS_ANSWERS},17,41.7\n"
        f"C,{RQS_ANSWERS},15,45\n"
    )
    done = rqs("score", "--instrument", "rqs-1.0", "t.csv", cwd=tmp_path)
    assert done.returncode == 3
    assert done.stdout.splitlines()[2:] == ["B,15,36,41.7,,17,-2", "C,15,36,41.7,,15,0"]
    assert done.stderr.splitlines() == [
        "row B: reported 17, computed 15",
        "row C: reported 45, computed 41.7%",
    ]


def test_half_a_unit_of_the_last_decimal_is_a_match() -> None:
    """64.81...% reported as 65 (half a unit: 0.5) or 64.8 (0.05) matches;
    64.9 does not. METRICS totals are percentages."""
    header = METRICS_HEADER + ";reported_total;reported_band"
    rows = [
        metrics_row("R1", "YNYYN", EXAMPLE_YES, i9="", i17="") + ";65;good",
        metrics_row("R2", "YNYYN", EXAMPLE_YES, i9="", i17="") + ";64,8 %;Good",
        metrics_row("R3", "YNYYN", EXAMPLE_YES, i9="", i17="") + ";64.9;moderate",
    ]
    result = score_csv(bundled("metrics-1.0"), "\n".join([header, *rows]))
    assert result.ok, result.errors
    assert [r["difference"] for r in result.rows] == ["-0.2", "0", "-0.1"]
    assert result.differences == [
        "row R3: reported 64.9, computed 64.8%",
        "row R3: reported moderate, computed good",
    ]


def test_invalid_answers_stay_errors_naming_the_item_and_take_precedence(
    tmp_path: Path,
) -> None:
    bad = RQS_ANSWERS.replace("1,1,0,0,3", "1,1,0,0,0", 1)  # item 5 cannot be 0
    (tmp_path / "t.csv").write_text(
        f"{RQS_HEADER},reported_total\nA,{bad},99\nB,{RQS_ANSWERS},99\n"
    )
    done = rqs("score", "--instrument", "rqs-1.0", "t.csv", cwd=tmp_path)
    assert done.returncode == 1
    assert "row A, item 5" in done.stderr
    assert done.stdout == ""


def test_an_unreadable_reported_figure_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text(
        f"{RQS_HEADER},reported_total\nA,{RQS_ANSWERS},fifteen\n"
    )
    done = rqs("score", "--instrument", "rqs-1.0", "t.csv", cwd=tmp_path)
    assert done.returncode == 1
    assert "row A, reported_total: 'fifteen' is not a number" in done.stderr


@pytest.mark.django_db
def test_manage_py_score_audits_the_same_way(tmp_path: Path, capsys: Any) -> None:
    load_instrument("rqs-1.0")
    sheet = tmp_path / "t.csv"
    sheet.write_text(f"{RQS_HEADER},reported_total\nB,{RQS_ANSWERS},17\n")
    with pytest.raises(SystemExit) as exited:
        call_command("score", "--instrument", "rqs-1.0", str(sheet))
    assert exited.value.code == 3
    assert "row B: reported 17, computed 15" in capsys.readouterr().err
