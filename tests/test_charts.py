"""Charts: valid, accessible, deterministic SVG with a data table for every figure."""

from __future__ import annotations

import base64
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest

from assessments import charts
from assessments.charts import Chart

NS = "{http://www.w3.org/2000/svg}"
DOMAINS = ["Patient selection", "Index test", "Reference standard", "Flow and timing"]


def parse(chart: Chart) -> ET.Element:
    # Our own output, parsed as a browser or WeasyPrint would take it.
    return ET.fromstring(chart.svg.encode("utf-8"))  # noqa: S314


def texts(chart: Chart) -> list[str]:
    root = parse(chart)
    return ["".join(t.itertext()) for t in root.iter(f"{NS}text")]


def judgements(studies: list[str]) -> dict[tuple[str, str], str | None]:
    levels = ["low", "high", "unclear", "low"]
    return {
        (s, d): levels[(i + k) % 4]
        for i, s in enumerate(studies)
        for k, d in enumerate(DOMAINS)
    }


BUILDERS: dict[str, Callable[[], Chart]] = {
    "bar": lambda: charts.bar_chart(
        "Progress", ["Assigned", "Submitted"], [3, 5], xlabel="Status", ylabel="Count"
    ),
    "bar-percent": lambda: charts.bar_chart(
        "Domain scores",
        ["Protocol", "Validation"],
        [40.5, -10],
        xlabel="Percent of ideal",
        ylabel="Domain",
        horizontal=True,
        percent=True,
    ),
    "histogram": lambda: charts.histogram(
        "Score distribution", [1, 2, 2, 3, 8], bins=[0, 5, 10], xlabel="RQS", ylabel="N"
    ),
    "stacked": lambda: charts.stacked_bars(
        "Bands by year",
        ["2020", "2021"],
        {"Low": [1, 2], "High": [0, 3]},
        xlabel="Year",
        ylabel="Studies",
    ),
    "box": lambda: charts.box_by_group(
        "Scores by modality",
        {"CT": [1, 2, 3, 4, 5], "MRI": [7, 9]},
        xlabel="Modality",
        ylabel="RQS total",
    ),
    "adherence": lambda: charts.adherence_chart(
        "Per-item adherence", [("1", "Image protocol", 0.5), ("2", "Phantom", 0.25)]
    ),
    "traffic": lambda: charts.traffic_light(
        "Risk of bias",
        ["Aerts 2014", "Lambin 2017"],
        DOMAINS,
        judgements(["Aerts 2014", "Lambin 2017"]),
    ),
    "summary": lambda: charts.rob_summary(
        "Risk of bias summary",
        DOMAINS,
        {d: {"low": 6, "unclear": 3, "high": 1} for d in DOMAINS}
        | {"Overall": {"low": 2, "high": 8}},
    ),
}
LABELS = {
    "bar": ("Progress", "Status", "Count"),
    "bar-percent": ("Domain scores", "Percent of ideal", "Domain"),
    "histogram": ("Score distribution", "RQS", "N"),
    "stacked": ("Bands by year", "Year", "Studies"),
    "box": ("Scores by modality", "Modality", "RQS total"),
    "adherence": ("Per-item adherence", "Studies adhering (%)", "Item"),
    "traffic": ("Risk of bias", "Domain", "Study"),
    "summary": ("Risk of bias summary", "Studies (%)", "Domain"),
}


@pytest.mark.parametrize("name", BUILDERS)
def test_every_chart_is_valid_accessible_svg_with_title_and_axis_labels(
    name: str,
) -> None:
    chart = BUILDERS[name]()
    root = parse(chart)
    assert root.tag == f"{NS}svg"
    assert root.get("role") == "img"
    title = root.find(f"{NS}title")
    assert title is not None and title.text == chart.title
    assert root.get("aria-labelledby") == title.get("id")
    desc = root.find(f"{NS}desc")
    assert desc is not None and desc.text == chart.alt
    found = texts(chart)
    for label in LABELS[name]:
        assert label in found, f"{label!r} is not drawn as text in {name}"
    assert chart.alt.strip() and chart.table.rows
    assert chart.render_ms > 0


@pytest.mark.parametrize("name", BUILDERS)
def test_the_same_input_gives_the_same_bytes(name: str) -> None:
    assert BUILDERS[name]().svg == BUILDERS[name]().svg


def test_data_uri_carries_the_svg() -> None:
    chart = BUILDERS["bar"]()
    prefix = "data:image/svg+xml;base64,"
    assert chart.data_uri.startswith(prefix)
    assert base64.b64decode(chart.data_uri[len(prefix) :]).decode() == chart.svg


def test_text_stays_text_in_dejavu_sans_with_okabe_ito_colours() -> None:
    chart = BUILDERS["stacked"]()
    assert "<text" in chart.svg and "DejaVu Sans" in chart.svg
    assert "#0072b2" in chart.svg and "#e69f00" in chart.svg
    assert "Date" not in chart.svg  # no timestamp: reports fingerprint the bytes


# --- data tables ----------------------------------------------------------------------


def test_bar_chart_table_matches_the_input() -> None:
    table = BUILDERS["bar"]().table
    assert table.headers == ["Status", "Count"]
    assert table.rows == [["Assigned", "3"], ["Submitted", "5"]]
    percent = BUILDERS["bar-percent"]().table
    assert percent.headers == ["Domain", "Percent of ideal"]
    assert percent.rows == [["Protocol", "40.5%"], ["Validation", "-10.0%"]]


def test_histogram_table_counts_per_bin() -> None:
    table = BUILDERS["histogram"]().table
    assert table.headers == ["RQS", "N"]
    assert table.rows == [["0 to 5 (excl.)", "4"], ["5 to 10", "1"]]


def test_stacked_bars_table_has_series_and_totals() -> None:
    table = BUILDERS["stacked"]().table
    assert table.headers == ["Year", "Low", "High", "Total"]
    assert table.rows == [["2020", "1", "0", "1"], ["2021", "2", "3", "5"]]


def test_box_table_has_n_median_and_quartiles() -> None:
    chart = charts.box_by_group(
        "Scores", {"CT": [1, 2, 3, 4, 5], "PET": []}, xlabel="Modality", ylabel="RQS"
    )
    assert chart.table.headers == ["Modality", "n", "Median", "Q1", "Q3", "Min", "Max"]
    assert chart.table.rows == [
        ["CT", "5", "3", "2", "4", "1", "5"],
        ["PET", "0", "", "", "", "", ""],
    ]
    assert "CT\n(n=5)" in texts(chart) or "(n=5)" in " ".join(texts(chart))


def test_adherence_table_has_code_label_and_percentage() -> None:
    chart = charts.adherence_chart(
        "Adherence", [("1", "Image protocol", 0.5), ("2", "Phantom", None)]
    )
    assert chart.table.rows == [
        ["1", "Image protocol", "50.0%"],
        ["2", "Phantom", "no data"],
    ]
    assert "1. Image protocol" in texts(chart)


# --- risk of bias ---------------------------------------------------------------------


def test_traffic_light_uses_colour_and_symbol_for_each_judgement() -> None:
    chart = BUILDERS["traffic"]()
    svg = chart.svg.lower()
    for colour in ("#009e73", "#f0e442", "#d55e00"):
        assert colour in svg
    drawn = texts(chart)
    assert "+ Low" in drawn
    assert "\u00d7 High" in drawn
    assert "\u2212 Unclear" in drawn
    heads = ["D1", "D2", "D3", "D4", "Overall"]
    assert [t for t in drawn if t in heads] == heads
    assert any("D1: Patient selection" in t for t in drawn)
    assert chart.table.headers == ["Study", *DOMAINS, "Overall"]
    assert chart.table.rows[0] == [
        "Aerts 2014",
        "Low",
        "High",
        "Unclear",
        "Low",
        "High",
    ]


def test_traffic_light_takes_a_given_overall_and_can_leave_it_out() -> None:
    given = judgements(["A"]) | {("A", "Overall"): "some_concerns"}
    chart = charts.traffic_light("RoB 2", ["A"], DOMAINS, given)
    assert chart.table.rows[0][-1] == "Some concerns"
    bare = charts.traffic_light("RoB", ["A"], DOMAINS, given, overall=False)
    assert bare.table.headers == ["Study", *DOMAINS]
    assert "Overall" not in texts(bare)


def test_missing_judgements_read_no_information() -> None:
    chart = charts.traffic_light("RoB", ["A"], ["D1", "D2"], {("A", "D1"): "low"})
    assert chart.table.rows == [["A", "Low", "No information", "No information"]]
    assert "? No information" in texts(chart)
    assert "#bbbbbb" in chart.svg.lower()


def test_long_study_names_are_shortened_in_the_figure_and_whole_in_the_table() -> None:
    name = "A very long study title about radiomics of lung nodules in low-dose CT"
    chart = charts.traffic_light("RoB", [name], DOMAINS, judgements([name]))
    assert chart.table.rows[0][0] == name
    shortened = [t for t in texts(chart) if t.startswith("A very long")]
    assert shortened and shortened[0].endswith("\u2026") and len(shortened[0]) <= 45


def test_traffic_light_shows_the_first_60_studies_and_says_so() -> None:
    studies = [f"Study {n:03d}" for n in range(75)]
    chart = charts.traffic_light("Risk of bias", studies, DOMAINS, judgements(studies))
    assert chart.title == "Risk of bias (first 60 of 75 studies)"
    assert "first 60" in chart.alt
    drawn = [t for t in texts(chart) if t.startswith("Study ")]
    assert drawn == studies[:60]
    assert len(chart.table.rows) == 75
    small = charts.traffic_light(
        "Risk of bias", studies[:10], DOMAINS, judgements(studies)
    )
    assert _height(chart) > _height(small)


def _height(chart: Chart) -> float:
    return float(parse(chart).get("height", "0").removesuffix("pt"))


def test_rob_summary_table_has_counts_and_shares_with_overall_last() -> None:
    chart = BUILDERS["summary"]()
    assert chart.table.headers == ["Domain", "Low", "Unclear", "High", "Studies"]
    assert chart.table.rows[0] == [
        "Patient selection",
        "6 (60.0%)",
        "3 (30.0%)",
        "1 (10.0%)",
        "10",
    ]
    assert chart.table.rows[-1] == [
        "Overall",
        "2 (20.0%)",
        "0 (0.0%)",
        "8 (80.0%)",
        "10",
    ]
    assert "+ 60%" in texts(chart)
    without = charts.rob_summary("S", DOMAINS, {"Overall": {"low": 1}}, overall=False)
    assert "Overall" not in [row[0] for row in without.table.rows]


# --- robustness -----------------------------------------------------------------------


EMPTY: dict[str, Callable[[], Chart]] = {
    "bar": lambda: charts.bar_chart("Empty", [], [], xlabel="X", ylabel="Y"),
    "histogram": lambda: charts.histogram("Empty", [], bins=5, xlabel="X", ylabel="Y"),
    "stacked": lambda: charts.stacked_bars("Empty", [], {}, xlabel="X", ylabel="Y"),
    "box": lambda: charts.box_by_group("Empty", {"CT": []}, xlabel="X", ylabel="Y"),
    "adherence": lambda: charts.adherence_chart("Empty", []),
    "traffic": lambda: charts.traffic_light("Empty", [], DOMAINS, {}),
    "summary": lambda: charts.rob_summary("Empty", DOMAINS, {}),
}


@pytest.mark.parametrize("name", EMPTY)
def test_empty_data_gives_a_chart_that_says_no_data_yet(name: str) -> None:
    chart = EMPTY[name]()
    found = texts(chart)
    assert charts.NO_DATA in found and "Empty" in found
    assert chart.table.rows == []
    assert "no data yet" in chart.alt


def test_dollars_and_markup_in_labels_are_drawn_literally() -> None:
    chart = charts.bar_chart(
        "Costs in $ and <b>", ["$x$ & <i>", "$"], [1, 2], xlabel="$a", ylabel="b$"
    )
    drawn = texts(chart)
    assert "$x$ & <i>" in drawn and "$a" in drawn and "b$" in drawn
    assert parse(chart).findtext(f"{NS}title") == "Costs in $ and <b>"


def test_mismatched_lengths_are_a_programming_error() -> None:
    with pytest.raises(ValueError):
        charts.bar_chart("T", ["a"], [1, 2], xlabel="x", ylabel="y")
    with pytest.raises(ValueError):
        charts.stacked_bars("T", ["a"], {"s": [1, 2]}, xlabel="x", ylabel="y")


def test_rendering_from_several_threads_gives_identical_figures() -> None:
    expected = BUILDERS["traffic"]().svg
    results: list[str] = []

    def work() -> None:
        results.append(BUILDERS["traffic"]().svg)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 4


# --- the reader's language ------------------------------------------------------------


DUTCH = {
    "Studies adhering (%)": "Studies die voldoen (%)",
    "Item": "Onderdeel",
    "Per-item adherence, %(title)s; items: %(n)s; highest %(high)s "
    "(%(high_value)s), lowest %(low)s (%(low_value)s)": (
        "Naleving per onderdeel, %(title)s; onderdelen: %(n)s; hoogste %(high)s "
        "(%(high_value)s), laagste %(low)s (%(low_value)s)"
    ),
    "Overall": "Totaal",
    "Low": "Laag",
    "Study": "Studie",
    "No data yet": "Nog geen gegevens",
}


def dutch(text: str) -> str:
    return DUTCH.get(text, text)


def test_the_words_hook_draws_axis_table_and_alt_text_in_the_readers_language() -> None:
    items = [("1", "Image protocol", 0.5), ("2", "Phantom", 0.25)]
    chart = charts.adherence_chart("Naleving", items, _=dutch)
    assert "Studies die voldoen (%)" in texts(chart) and "Onderdeel" in texts(chart)
    assert chart.table.headers == ["Onderdeel", "Label", "Studies die voldoen (%)"]
    assert chart.alt == (
        "Naleving per onderdeel, Naleving; onderdelen: 2; "
        "hoogste 1 (50.0%), laagste 2 (25.0%)"
    )
    assert parse(chart).findtext(f"{NS}desc") == chart.alt
    english = charts.adherence_chart("Adherence", items)
    assert "Studies adhering (%)" in texts(english)
    assert "Studies die voldoen" not in english.svg
    assert english.table.headers == ["Item", "Label", "Studies adhering (%)"]
    assert english.alt.startswith("Per-item adherence, Adherence; items: 2; highest")


def test_the_words_hook_translates_what_is_drawn_never_the_keys() -> None:
    given = {("A", "D1"): "low", ("A", "D2"): "low", ("A", "Overall"): "high"}
    chart = charts.traffic_light("RoB", ["A"], ["D1", "D2"], given, _=dutch)
    assert chart.table.headers == ["Studie", "D1", "D2", "Totaal"]
    assert chart.table.rows == [["A", "Laag", "Laag", "High"]]  # "Overall" is read
    assert "Totaal" in texts(chart) and "+ Laag" in texts(chart)
    empty = charts.bar_chart("Leeg", [], [], xlabel="X", ylabel="Y", _=dutch)
    assert "Nog geen gegevens" in texts(empty)
    assert charts.NO_DATA == "No data yet"
