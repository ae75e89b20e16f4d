"""`manage.py agreement FILE.csv`: published examples, JSON output, bad files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

DATA = Path(__file__).parent / "data" / "agreement"
ROOT = Path(__file__).resolve().parent.parent


def agreement(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command("agreement", *args, stdout=out)
    return json.loads(out.getvalue())


def test_shrout_and_fleiss_1979_iccs_are_reproduced_at_the_interval_level() -> None:
    result = agreement(
        str(DATA / "shrout_fleiss_1979_semicolon.csv"), "--level", "interval"
    )
    published = {
        "ICC1": 0.17,
        "ICC2": 0.29,
        "ICC3": 0.71,
        "ICC1k": 0.44,
        "ICC2k": 0.62,
        "ICC3k": 0.91,
    }
    assert {key: round(result["icc"][key]["value"], 2) for key in published} == (
        published
    )
    assert (result["subjects"], result["raters"]) == (6, 4)
    low, high = result["icc"]["ICC2"]["ci95"]
    assert low < result["icc"]["ICC2"]["value"] < high


def test_fleiss_1971_diagnoses_give_kappa_0_43() -> None:
    result = agreement(str(DATA / "fleiss_1971_diagnoses.csv"))
    assert round(result["fleiss_kappa"], 2) == 0.43
    assert (result["subjects"], result["raters"]) == (30, 6)
    assert result["cohen_kappa"] is None
    assert any("two raters" in note for note in result["notes"])
    assert result["icc"] is None  # nominal is the default level


def test_output_keeps_full_precision() -> None:
    out = StringIO()
    call_command("agreement", str(DATA / "fleiss_1971_diagnoses.csv"), stdout=out)
    assert "0.43024452006" in out.getvalue()


def test_an_item_column_gives_one_object_per_item(tmp_path: Path) -> None:
    csv = tmp_path / "items.csv"
    csv.write_text(
        "item,subject,rater,value\n"
        + "".join(
            f"{item},s{s},{r},{(s + (r == 'b') * (item == 'q2')) % 3}\n"
            for item in ("q1", "q2")
            for s in range(6)
            for r in ("a", "b")
        )
    )
    result = agreement(str(csv), "--level", "ordinal")
    assert set(result["items"]) == {"q1", "q2"}
    assert result["items"]["q1"]["cohen_kappa"] == pytest.approx(1.0)
    assert result["items"]["q2"]["percent_agreement"] == 0


def test_ordinal_text_values_follow_the_given_order(tmp_path: Path) -> None:
    csv = tmp_path / "grades.csv"
    rows = [("1", "low", "low"), ("2", "mid", "high"), ("3", "high", "high")]
    rows += [("4", "mid", "mid"), ("5", "low", "mid")]
    csv.write_text(
        "subject,rater,value\n" + "".join(f"{s},a,{x}\n{s},b,{y}\n" for s, x, y in rows)
    )
    result = agreement(str(csv), "--level", "ordinal", "--order", "low,mid,high")
    assert result["percent_agreement"] == pytest.approx(3 / 5)
    assert result["cohen_kappa"] is not None
    with pytest.raises(CommandError, match="--order"):
        agreement(str(csv), "--level", "ordinal")


def test_a_repeated_rating_names_its_line(tmp_path: Path) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text("subject,rater,value\ns1,a,1\ns1,b,2\ns1,a,3\n")
    with pytest.raises(CommandError, match="line 4"):
        agreement(str(csv))


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    # Named for what is wrong, not as an encoding problem (issue 18, point 7).
    with pytest.raises(CommandError, match="file not found"):
        agreement(str(tmp_path / "absent.csv"))


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(CommandError, match="invalid choice"):
        agreement(str(DATA / "fleiss_1971_diagnoses.csv"), "--level", "cardinal")


def test_a_bad_file_exits_1_with_the_message_on_stderr(tmp_path: Path) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text("subject,rater,score\ns1,a,1\n")
    env = {**os.environ, "DEBUG": "1"}
    done = subprocess.run(
        [sys.executable, "manage.py", "agreement", str(csv)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "line 1" in done.stderr and "score" in done.stderr
    assert done.stdout == ""
