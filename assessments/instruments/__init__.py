"""Appraisal instruments as data, and pure scoring over that data.

Nothing here imports Django or any other module of the project.
"""

from .definition import (
    Band,
    Clause,
    Condition,
    Definition,
    DefinitionError,
    Domain,
    Item,
    Option,
    Scope,
    Section,
    bundled_definitions_dir,
    iter_bundled,
    load_definition_file,
    parse_definition,
    validate_definition,
    with_standard_options,
)
from .engine import score
from .result import (
    Answers,
    ItemResult,
    Problem,
    Result,
    Subtotal,
    round_half_up,
)
from .spreadsheet import (
    SpreadsheetResult,
    accepted_codes,
    parse_row_answers,
    score_csv,
    template_header,
)

__all__ = [
    "Answers",
    "Band",
    "Clause",
    "Condition",
    "Definition",
    "DefinitionError",
    "Domain",
    "Item",
    "ItemResult",
    "Option",
    "Problem",
    "Result",
    "Scope",
    "Section",
    "SpreadsheetResult",
    "Subtotal",
    "accepted_codes",
    "bundled_definitions_dir",
    "iter_bundled",
    "load_definition_file",
    "parse_definition",
    "parse_row_answers",
    "round_half_up",
    "score",
    "score_csv",
    "template_header",
    "validate_definition",
    "with_standard_options",
]
