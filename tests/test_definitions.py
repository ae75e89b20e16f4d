"""Definition documents: bundled files, validation, parsing, fingerprints."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from assessments.instruments import (
    DefinitionError,
    bundled_definitions_dir,
    iter_bundled,
    load_definition_file,
    parse_definition,
    validate_definition,
)
from assessments.instruments.validation import SCHEMA_PATH

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = {
    "rqs-1.0",
    "rqs-2.0",
    "metrics-1.0",
    "clear-1.0",
    "clear-s-1.0",
    "quadas-2-1.0",
    "probast-ai-development-1.0",
    "probast-ai-evaluation-1.0",
    "claim-2024",
    "future-ai-1.0",
    "tripod-ai-1.0",
    "tripod-ai-abstracts-1.0",
    "ibsi-1-reporting-1.0",
}
# Shipped as drafts until checked against their primary sources.
PROVISIONAL = {"rqs-2.0", "probast-ai-development-1.0", "probast-ai-evaluation-1.0"}
PROVISIONAL |= {"future-ai-1.0"}
PROVISIONAL |= {"tripod-ai-1.0", "tripod-ai-abstracts-1.0"}


def rqs_doc() -> dict[str, Any]:
    return load_definition_file(bundled_definitions_dir() / "rqs-1.0.yaml")


def item_doc(doc: dict[str, Any], code: str) -> dict[str, Any]:
    return next(i for s in doc["sections"] for i in s["items"] if i["code"] == code)


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"].endswith("2020-12/schema")


@pytest.mark.parametrize(
    "doc", iter_bundled(), ids=lambda d: f"{d['code']}-{d['version']}"
)
def test_every_bundled_definition_validates_and_parses(doc: dict[str, Any]) -> None:
    assert validate_definition(doc) == []
    definition = parse_definition(doc)
    assert definition.doi and definition.citation and definition.licence
    assert json.loads(json.dumps(doc)) == doc


def test_bundled_set_and_statuses() -> None:
    definitions = {d.key: d for d in map(parse_definition, iter_bundled())}
    assert set(definitions) == EXPECTED
    for key, definition in definitions.items():
        provisional = key in PROVISIONAL
        assert definition.needs_check is provisional
        assert definition.status == ("draft" if provisional else "published")


def test_file_name_matches_key() -> None:
    for path in bundled_definitions_dir().glob("*.yaml"):
        definition = parse_definition(load_definition_file(path))
        assert path.stem == definition.key


def test_bare_yes_and_no_in_yaml_stay_text(tmp_path: Path) -> None:
    text = (bundled_definitions_dir() / "rqs-1.0.yaml").read_text(encoding="utf-8")
    path = tmp_path / "rqs-1.0.yaml"
    path.write_text(
        text.replace('code: "no"', "code: no").replace('code: "yes"', "code: yes")
    )
    assert load_definition_file(path) == rqs_doc()


def test_standard_options_are_filled_in_by_the_reader() -> None:
    doc = load_definition_file(bundled_definitions_dir() / "clear-1.0.yaml")
    assert [o["code"] for o in item_doc(doc, "1")["options"]] == ["yes", "no", "na"]


def test_schema_errors_name_the_path() -> None:
    doc = rqs_doc()
    doc["sections"][0]["items"][4]["type"] = "pick-one"
    del doc["doi"]
    problems = validate_definition(doc)
    assert any(p.startswith("sections/0/items/4/type:") for p in problems)
    assert any("'doi' is a required property" in p for p in problems)


def _set(item: str, /, **values: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: item_doc(d, item).update(values)


SEMANTIC_CASES: list[tuple[Callable[[dict[str, Any]], None], str]] = [
    (_set("2", code="3"), "item 3 (sections/0/items/2): code already"),
    (
        lambda d: item_doc(d, "9")["options"][1].update(requires=["stats"]),
        "item 9 (sections/0/items/8): option 'resampling' requires unknown "
        "option 'stats'",
    ),
    (
        lambda d: item_doc(d, "5")["options"].pop(),
        "item 5 (sections/0/items/4): needs at least 2",
    ),
    (
        _set("4", applies_when=[{"condition": "C9", "in": ["yes"]}]),
        "item 4 (sections/0/items/3): applies_when names unknown condition 'C9'",
    ),
    (
        lambda d: d.update(needs_check=True),
        "status: a definition that needs checking",
    ),
    (
        _set("7", type="signalling"),
        "item 7 (sections/0/items/6): type signalling is not allowed for points",
    ),
    (
        lambda d: item_doc(d, "8")["options"][0].pop("points"),
        "item 8 (sections/0/items/7): option 'no' needs points",
    ),
    (
        lambda d: d["params"]["domains"][0]["items"].append("99"),
        "params/domains: unknown item '99'",
    ),
]


@pytest.mark.parametrize(("change", "expected"), SEMANTIC_CASES)
def test_semantic_problems_name_the_item(
    change: Callable[[dict[str, Any]], None], expected: str
) -> None:
    doc = rqs_doc()
    change(doc)
    problems = validate_definition(doc)
    assert any(p.startswith(expected) for p in problems), problems
    with pytest.raises(DefinitionError) as info:
        parse_definition(doc)
    assert info.value.problems == problems


def test_weights_must_sum_to_one() -> None:
    doc = load_definition_file(bundled_definitions_dir() / "metrics-1.0.yaml")
    item_doc(doc, "1")["weight"] = "0.0369"
    assert validate_definition(doc) == ["sections: weights sum to 1.0001, not 1"]


def test_applies_when_must_name_an_existing_option() -> None:
    doc = load_definition_file(bundled_definitions_dir() / "metrics-1.0.yaml")
    item_doc(doc, "12")["applies_when"] = [{"condition": "C3", "in": ["maybe"]}]
    assert validate_definition(doc) == [
        "item 12 (sections/3/items/1): condition C3 has no option 'maybe'"
    ]


def test_scope_needs_stage_and_tracks_on_every_item() -> None:
    doc = load_definition_file(bundled_definitions_dir() / "rqs-2.0.yaml")
    del item_doc(doc, "7")["stage"]
    assert validate_definition(doc) == [
        "item 7 (sections/1/items/1): scoped instruments need stage and tracks"
    ]


def test_derived_file_with_unknown_items_is_rejected(tmp_path: Path) -> None:
    base = bundled_definitions_dir() / "clear-1.0.yaml"
    (tmp_path / "clear-1.0.yaml").write_text(base.read_text(encoding="utf-8"))
    derived = tmp_path / "clear-x-1.0.yaml"
    derived.write_text(
        'derived_from: clear-1.0\ninclude_items: ["57-60"]\ncode: clear-x\n'
    )
    with pytest.raises(DefinitionError, match="unknown items"):
        load_definition_file(derived)


def test_scoring_differences_name_a_changed_point_value() -> None:
    old = parse_definition(rqs_doc())
    doc = rqs_doc()
    item_doc(doc, "5")["options"][0]["points"] = -2
    new = parse_definition(doc)
    assert old.scoring_differences(new) == ["item 5: option 'none' points -3 -> -2"]
    assert old.scoring_fingerprint() != new.scoring_fingerprint()


def test_label_and_metadata_changes_do_not_affect_scoring() -> None:
    old = parse_definition(rqs_doc())
    doc = rqs_doc()
    item_doc(doc, "5")["label"] = "Something else"
    item_doc(doc, "5")["options"][0]["label"] = "Neither"
    doc.update(revision=2, status="draft", name="Renamed")
    doc["params"]["domains"][0]["label"] = "Protocol"
    new = parse_definition(doc)
    assert old.scoring_differences(new) == []
    assert old.scoring_fingerprint() == new.scoring_fingerprint()
    assert old.wording_fingerprint() != new.wording_fingerprint()


def test_number_spelling_does_not_change_the_fingerprint() -> None:
    doc = rqs_doc()
    item_doc(doc, "11")["options"][1]["points"] = "7.0"
    assert (
        parse_definition(doc).scoring_fingerprint()
        == parse_definition(rqs_doc()).scoring_fingerprint()
    )


def test_scoring_differences_report_added_and_changed_items() -> None:
    old = parse_definition(rqs_doc())
    doc = rqs_doc()
    extra = copy.deepcopy(item_doc(doc, "15"))
    extra["code"] = "17"
    doc["sections"][0]["items"].append(extra)
    item_doc(doc, "9")["options"][1]["requires"] = []
    item_doc(doc, "2")["type"] = "multi"
    differences = parse_definition(doc).scoring_differences(old)
    assert "item 17 removed" in differences
    differences = old.scoring_differences(parse_definition(doc))
    assert "item 17 added" in differences
    assert "item 9: option 'resampling' requires [stat] -> []" in differences
    assert "item 2: type single -> multi" in differences


def test_instruments_package_imports_no_django() -> None:
    code = (
        "import sys, assessments.instruments; "
        "ours = ('assessments', 'assessments.instruments', 'assessments.words'); "
        "bad = [n for n in sys.modules if n.split('.')[0] == 'django' or "
        "(n.startswith('assessments') and '.'.join(n.split('.')[:2]) not in ours)]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
