"""Appraisal instruments as data, and pure scoring over that data.

Nothing here imports Django or any other module of the project. Layers, each
importing only those above it:

    vocabulary    the format's fixed words (kinds, `na`, standard options) and
                  DefinitionError
    files         reading definition files into plain documents
    validation    schema and semantic checks of a document
    definition    the frozen types, and parse_definition (fingerprints: their hashes)
    answers       checking a choice for one item or condition
    result        Result and the answer sheet every engine starts from
    points, weighted, checklist, judgement, engine, spreadsheet
    translations  another language's words for a definition (never its numbers);
                  translation_files reads, checks and starts their files
"""

from .answers import ChoiceProblem, choice_problems, entry_choice_problems
from .definition import (
    Band,
    Clause,
    Condition,
    Definition,
    Domain,
    Item,
    Option,
    Scope,
    Section,
    parse_definition,
)
from .engine import score
from .files import (
    MAX_DEFINITION_BYTES,
    bundled_definitions_dir,
    iter_bundled,
    load_definition_file,
    read_definition_text,
    with_standard_options,
)
from .result import (
    Answers,
    ItemResult,
    Problem,
    Result,
    Subtotal,
    cached_na_codes,
    round_half_up,
)
from .spreadsheet import (
    SpreadsheetResult,
    accepted_codes,
    parse_row_answers,
    score_csv,
    template_header,
)
from .validation import validate_definition
from .vocabulary import NA, DefinitionError

__all__ = [
    "MAX_DEFINITION_BYTES",
    "NA",
    "Answers",
    "Band",
    "ChoiceProblem",
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
    "cached_na_codes",
    "choice_problems",
    "entry_choice_problems",
    "iter_bundled",
    "load_definition_file",
    "parse_definition",
    "parse_row_answers",
    "read_definition_text",
    "round_half_up",
    "score",
    "score_csv",
    "template_header",
    "validate_definition",
    "with_standard_options",
]
