"""What a reader finds in the PDFs: labels not codes, the summary first, agreement
with its n, one font family; and the stage on the report status page.

PDFs are slow to render on a small machine: one project of five studies is
built and its three reports rendered once for the whole module.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from assessments import charts
from assessments.models import InstrumentVersion, Report
from assessments.renderers.reports import render_report
from assessments.selectors.reports import ReportRequest, instrument_label
from assessments.services import assignment, consensus
from assessments.services.score_imports import create_submitted
from tests.conftest import require
from tests.factories import RQS_13, StudyFactory, UserFactory, make_project

STATE_CODES = ("in_progress", "in_consensus")


def _poppler(tool: str) -> str:
    found = shutil.which(tool)
    require(found is not None, f"{tool} (poppler-utils) needed")
    return str(found)


def _text(pdf: bytes, path: Path) -> str:
    path.write_bytes(pdf)
    out = subprocess.run(
        [_poppler("pdftotext"), "-layout", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def _build() -> dict[str, Any]:
    lead = UserFactory(username="lead")
    r1, r2 = UserFactory(username="r1"), UserFactory(username="r2")
    project = make_project(lead=lead, reviewers=[r1, r2], slug="t")
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    final, disputed, single, waiting, dropped = (
        StudyFactory(project=project, title=f"Radiomics of tumour {name}")
        for name in ("Alpha", "Beta", "Gamma", "Delta", "Epsilon")
    )
    other = {**RQS_13, "7": ["yes"], "12": ["one_other"], "1": ["public_protocol"]}
    for study in (final, disputed):
        create_submitted(study, version, r1, RQS_13)
        create_submitted(study, version, r2, other)
    own = final.assessments.get(reviewer=r1).answers.get(item_code="12")
    own.evidence, own.page = "validated on patients of the same hospital", "7"
    own.save()
    target = consensus.start_consensus(study=final, version=version, user=lead)
    decisions = {"1": ["documented", "public_protocol"], "7": ["yes"]}
    for code, choices in {**decisions, "12": ["same_institute"]}.items():
        consensus.resolve_item(
            consensus=target,
            item_code=code,
            choices=choices,
            rationale=f"decided {code} from the methods section",
            user=lead,
        )
    consensus.finalise_consensus(consensus=target, user=lead)
    consensus.start_consensus(study=disputed, version=version, user=lead)
    create_submitted(single, version, r1, RQS_13)
    assignment.assign_reviewer(study=single, version=version, reviewer=r2, user=lead)
    for reviewer in (r1, r2):
        assignment.assign_reviewer(
            study=waiting, version=version, reviewer=reviewer, user=lead
        )
    assignment.exclude_study(study=dropped, reason="not radiomics", user=lead)
    return {
        "lead": lead,
        "r1": r1,
        "project": project,
        "version": version,
        "final": final,
    }


def _requests(world: dict[str, Any]) -> dict[str, ReportRequest]:
    project, version, lead = world["project"], world["version"], world["lead"]
    own = world["final"].assessments.get(reviewer=world["r1"])
    return {
        "assessment": ReportRequest(
            kind="assessment",
            project=project,
            version=version,
            user=world["r1"],
            study=world["final"],
            assessment=own,
        ),
        "study": ReportRequest(
            kind="study", project=project, version=version, user=lead, study=own.study
        ),
        "project": ReportRequest(
            kind="project", project=project, version=version, user=lead, appendix=True
        ),
    }


@pytest.fixture(scope="module")
def pdfs(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: Any
) -> Iterator[dict[str, tuple[Path, str]]]:
    """Each report kind's file and text, from one project rolled back afterwards."""
    folder = tmp_path_factory.mktemp("pdfs")
    out: dict[str, tuple[Path, str]] = {}
    with django_db_blocker.unblock(), transaction.atomic():
        for kind, req in _requests(_build()).items():
            path = folder / f"{kind}.pdf"
            out[kind] = (path, _text(render_report(req), path))
        transaction.set_rollback(True)
    yield out


def _codes() -> set[str]:
    """Every option code of RQS 1.0 that is not also an English word."""
    from tests.factories import load_instrument

    definition = load_instrument("rqs-1.0").as_definition()
    return {o.code for item in definition.items for o in item.options if "_" in o.code}


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["assessment", "study", "project"])
def test_reports_name_options_states_and_instruments_in_words(
    pdfs: dict[str, tuple[Path, str]], kind: str
) -> None:
    text = pdfs[kind][1]
    flat = " ".join(text.split())
    for code in (*_codes(), *STATE_CODES, "{'", "rqs-1.0", "(final)"):
        assert code not in flat, f"{kind} report shows the code {code!r}"
    assert "Radiomics Quality Score (RQS 1.0)" in flat


def test_the_assessment_report_gives_points_of_the_maximum_then_percent(
    pdfs: dict[str, tuple[Path, str]],
) -> None:
    flat = " ".join(pdfs["assessment"][1].split())
    assert re.search(r"13 of 36 points · 36\.1\d?% of the maximum", flat), flat[:800]
    assert "validated on patients of the" in flat and "same hospital (p. 7)" in flat
    assert "Total 13 of 36" in flat


def test_the_study_report_names_decisions_and_closes_tables_with_a_total(
    pdfs: dict[str, tuple[Path, str]],
) -> None:
    flat = " ".join(pdfs["study"][1].split())
    assert "Status: Final" in flat
    assert "r2: Yes" in flat and "r1: No" in flat  # item 7, by option label
    assert "3 of 3 disputed items decided" in flat
    assert flat.count("Total") >= 3  # reviewers, resolutions, consensus answers


def test_the_project_report_opens_with_the_summary_table(
    pdfs: dict[str, tuple[Path, str]],
) -> None:
    text = pdfs["project"][1]
    first_page = " ".join(text.split("\f")[0].split())
    for state, n in (
        ("Assigned", 1),
        ("In progress", 1),
        (r"Submitted \(all reviewers\)", 0),
        ("In consensus", 1),
        ("Final", 1),
        ("Excluded", 1),
    ):
        assert re.search(rf"{state} {n}\b", first_page), (state, first_page[:1500])
    assert "Mean ± SD" in first_page and "Median [IQR]" in first_page
    assert "Range" in first_page and "Percentage of the maximum" in first_page
    # Alpha 15 (consensus), Beta 14 (mean of 13 and 15), Gamma 13 (one reviewer).
    assert "14.0 ± 1.0" in first_page and "14.0 [13.5\N{EN DASH}14.5]" in first_page
    assert "13.0\N{EN DASH}15.0" in first_page and "38.9 ± 2.8" in first_page
    assert "1 of the results shown comes from one reviewer only" in first_page
    assert "Figures" not in first_page


def test_the_project_report_draws_figures_two_to_a_page_and_flags_one_reviewer(
    pdfs: dict[str, tuple[Path, str]],
) -> None:
    pages = pdfs["project"][1].split("\f")
    per_page = [len(re.findall(r"Figure \d+\.", page)) for page in pages]
    drawn = [n for n in per_page if n]
    assert drawn and max(drawn) == 2 and drawn.count(1) <= 1, per_page
    flat = " ".join(pdfs["project"][1].split())
    assert "Includes 1 single-reviewer result" in flat
    assert "Radiomics of tumour Gamma †" in flat


def test_agreement_below_the_minimum_says_too_few_studies_with_n_and_ci(
    pdfs: dict[str, tuple[Path, str]],
) -> None:
    flat = " ".join(pdfs["project"][1].split())
    section = flat[flat.index("Inter-rater agreement") :]
    assert "too few studies (n = 2) for a reliable estimate" in section
    assert "independently scored" not in section  # no methods sentence
    assert "95% CI" in section and "n (studies)" in section


def test_one_font_family_for_text_tables_and_figures(
    pdfs: dict[str, tuple[Path, str]],
) -> None:
    out = subprocess.run(
        [_poppler("pdffonts"), str(pdfs["project"][0])],
        capture_output=True,
        text=True,
        check=True,
    )
    names = {line.split()[0].split("+")[-1] for line in out.stdout.splitlines()[2:]}
    styles = r"(Bold|Oblique|Italic|Book)+$"
    families = {re.sub(styles, "", n.replace("-", "")) for n in names}
    assert families == {"DejaVuSans"}, names


@pytest.mark.django_db
def test_a_modified_copy_is_named_as_modified_wherever_reports_name_it() -> None:
    from tests.factories import load_instrument

    original = load_instrument("rqs-1.0").as_definition()
    assert instrument_label(original) == "Radiomics Quality Score (RQS 1.0)"
    copy = dataclasses.replace(
        original, short_name="Local RQS", modified_from="RQS 1.0"
    )
    assert instrument_label(copy) == (
        "Radiomics Quality Score (Local RQS) (modified from RQS 1.0)"
    )


def test_count_axes_have_whole_number_ticks() -> None:
    chart = charts.bar_chart(
        "Progress of the studies",
        ["Assigned", "In progress", "Final"],
        [1, 2, 0],
        xlabel="Studies",
        ylabel="State",
        horizontal=True,
    )
    ticks = re.findall(r"<text[^>]*>([^<]*)</text>", chart.svg)
    numbers = [t for t in ticks if re.fullmatch("[-\N{MINUS SIGN}]?[0-9.]+", t)]
    assert numbers and all("." not in t for t in numbers), numbers


@pytest.mark.django_db
def test_the_status_page_names_the_stage_of_a_running_report() -> None:
    lead = UserFactory(username="lead")
    project = make_project(lead=lead, reviewers=[], slug="s")
    report = Report.objects.create(
        project=project,
        version=InstrumentVersion.objects.by_key("rqs-1.0"),
        kind="project",
        requested_by=lead,
        status="running",
        progress=45,
        options={"scope": {"studies": "all"}},
    )
    client = Client()
    client.force_login(lead)
    url = f"/p/s/reports/{report.uuid}/"
    fragment = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Drawing figures" in fragment and 'value="45"' in fragment
    assert "Collecting data" in fragment  # the stages, this one done
    assert client.get(url + "?format=json").json()["stage"] == "Drawing figures"
    Report.objects.filter(pk=report.pk).update(progress=70)
    assert "Laying out the PDF" in client.get(url).content.decode()
    Report.objects.filter(pk=report.pk).update(status="queued", progress=0)
    assert "Waiting for a worker" in client.get(url).content.decode()
