"""`rqs`, the offline command line: run as a subprocess with a clean
environment (no settings, no database), in an empty working directory."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assessments import cli

RQS_HEADER = "id,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16"
DATA = Path(__file__).parent / "data" / "agreement"


def rqs(
    *args: str, cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed console script, else the module, with nothing inherited."""
    script = shutil.which("rqs", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-m", "assessments.cli"]
    return subprocess.run(
        [*command, *args],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin"},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_lists_the_bundled_instruments(tmp_path: Path) -> None:
    done = rqs("instruments", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = dict(line.split("\t", 1) for line in done.stdout.splitlines())
    assert lines["rqs-1.0"] == "RQS 1.0\tpublished"
    assert lines["metrics-1.0"].startswith("METRICS 1.0\tpublished")
    assert "draft" in lines["rqs-2.0"]
    assert list(tmp_path.iterdir()) == []  # nothing written where it ran


def test_scores_a_spreadsheet_as_manage_py_score_does(tmp_path: Path) -> None:
    (tmp_path / "s.csv").write_text(
        f"{RQS_HEADER}\nA,1,1,0,0,3,1,0,1,2,1,0,2,2,0,0,1\n"
        "B,0,0,0,0,-3,0,0,0,0,0,0,-5,0,0,0,0\n"
    )
    done = rqs("score", "--instrument", "rqs", "s.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # The figures manage.py score prints for the same file (test_catalogue).
    assert done.stdout.splitlines() == [
        "id,total,max,percent,band",
        "A,15,36,41.7,",
        "B,-8,36,-22.2,",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv"]


def test_reads_standard_input_and_refuses_bad_rows(tmp_path: Path) -> None:
    bad = (
        f"{RQS_HEADER}\nA,1,1,0,0,0,1,0,1,2,1,0,2,2,0,0,1\n"
        "A,1,1,0,0,3,1,0,1,2,1,0,2,2,0,0,\n"
    )
    done = rqs("score", "--instrument", "rqs-1.0", "-", cwd=tmp_path, stdin=bad)
    assert done.returncode == 1
    assert done.stdout == ""
    assert "item 5" in done.stderr and "duplicate id" in done.stderr


def test_template_codes_and_drafts(tmp_path: Path) -> None:
    assert (
        rqs(
            "score", "--instrument", "rqs-1.0", "--template", cwd=tmp_path
        ).stdout.strip()
        == RQS_HEADER
    )
    assert "either" in rqs("codes", "--instrument", "rqs-1.0", cwd=tmp_path).stdout
    draft = rqs("score", "--instrument", "rqs-2.0", "--template", cwd=tmp_path)
    assert draft.returncode == 1 and "is a draft; add --allow-draft" in draft.stderr
    allowed = rqs(
        "score", "--instrument", "rqs-2.0", "--template", "--allow-draft", cwd=tmp_path
    )
    assert allowed.returncode == 0 and allowed.stdout.startswith("id,")
    unknown = rqs("codes", "--instrument", "nope-9", cwd=tmp_path)
    assert unknown.returncode == 1
    assert "No bundled instrument version 'nope-9'" in unknown.stderr
    assert rqs("score", cwd=tmp_path).returncode == 2  # --instrument is required


def test_agreement_matches_manage_py_agreement(tmp_path: Path) -> None:
    source = DATA / "fleiss_1971_diagnoses.csv"
    done = rqs("agreement", str(source), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    expected = json.loads(
        cli.agreement_text(source.read_text(), level="nominal", order=None, source="x")
    )
    assert json.loads(done.stdout) == expected
    missing = rqs("agreement", "nowhere.csv", cwd=tmp_path)
    assert missing.returncode == 1 and "nowhere.csv: file not found" in missing.stderr


def test_the_command_line_imports_no_django(tmp_path: Path) -> None:
    probe = (
        "import sys, assessments.cli as c; c.bundled_versions(); "
        "print(any(m == 'django' or m.startswith('django.') for m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).parent.parent)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.strip() == "False", done.stderr


@pytest.mark.parametrize("key", ["rqs-1.0", "metrics-1.0", "clear-1.0", "quadas-2-1.0"])
def test_every_published_bundled_version_loads(key: str) -> None:
    assert cli.find_version(key).key == key
