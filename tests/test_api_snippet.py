"""The README's Python snippet (docs/examples/api_results.py), run as a user
would: a separate process with nothing but the server's address and a token
from `manage.py api_token`."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from assessments.models import InstrumentVersion
from assessments.services.score_imports import create_submitted
from tests.factories import RQS_13, StudyFactory, UserFactory, make_project

SNIPPET = Path(__file__).parents[1] / "docs" / "examples" / "api_results.py"


@pytest.mark.django_db(transaction=True)
def test_the_python_snippet_pulls_results_and_draws_the_plot(
    live_server: Any, tmp_path: Path
) -> None:
    lead = UserFactory(username="lead")
    ana, ben = UserFactory(username="ana"), UserFactory(username="ben")
    project = make_project(lead=lead, reviewers=[ana, ben], slug="lung")
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    for authors, year in (("Smith, J; Doe, A", 2020), ("Zhang, W", 2021)):
        study = StudyFactory(project=project, authors=authors, year=year)
        create_submitted(study, version, ana, RQS_13)
        create_submitted(study, version, ben, RQS_13 | {"3": ["yes"]})
    out = io.StringIO()
    call_command("api_token", user="lead", projects=["lung"], stdout=out)
    token = out.getvalue().strip()

    plot = tmp_path / "traffic-light.png"
    run = subprocess.run(
        [sys.executable, str(SNIPPET), "lung", "rqs-1.0", str(plot)],
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "RQS_URL": live_server.url,
            "RQS_TOKEN": token,
            "MPLCONFIGDIR": str(tmp_path),
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].split() == ["reviewer", "ana", "ben"]
    assert any(line.split()[:2] == ["Smith", "2020"] for line in lines)
    assert any(line.split()[:2] == ["Zhang", "2021"] for line in lines)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
