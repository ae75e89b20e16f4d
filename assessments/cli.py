"""`rqs`: score spreadsheets and compute agreement with no server.

Reads the instrument definitions bundled with the package; needs no
database, no settings and no environment, and writes only to standard
output and standard error. `manage.py score` and `manage.py agreement` run the
same code over the project's database (where admins may have edited drafts).

    rqs instruments
    rqs score --instrument rqs-1.0 FILE.csv      (or --template, --codes)
    rqs codes --instrument metrics-1.0
    rqs agreement FILE.csv [--level nominal|ordinal|interval|ratio]
        [--design auto|fixed|interchangeable] [--order a,b,c]

Exit codes: 0 done, 1 bad input (the message says what), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, TextIO

from .agreement.csvfile import (
    DESIGN_CHOICES,
    DESIGN_HELP,
    LEVEL_HELP,
    LEVELS,
    AgreementInputError,
    compute_from_csv,
)
from .instruments import Definition, DefinitionError, iter_bundled, parse_definition
from .instruments.spreadsheet import (
    accepted_codes,
    rows_to_csv,
    score_csv,
    template_header,
)


class Writer(Protocol):
    """Standard output, or a Django command's wrapper around it."""

    def write(self, text: str, /) -> Any: ...


class CliError(Exception):
    """Input the tool cannot use; the message names what is wrong."""


def bundled_versions() -> dict[str, Definition]:
    """Every bundled instrument version by its key (`rqs-1.0`)."""
    found = {}
    for doc in iter_bundled():
        try:
            definition = parse_definition(doc)
        except DefinitionError as exc:  # a broken bundled file is a packaging bug
            raise CliError(f"a bundled definition does not load: {exc}") from exc
        found[definition.key] = definition
    return found


def _version_order(definition: Definition) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in definition.version.split("."))


def find_version(key: str, *, allow_draft: bool = False) -> Definition:
    """A bundled version by key, or by bare code its latest published one."""
    versions = bundled_versions()
    definition = versions.get(key)
    if definition is None:
        published = [
            d for d in versions.values() if d.code == key and d.status == "published"
        ]
        definition = max(published, key=_version_order) if published else None
    if definition is None:
        raise CliError(
            f"No bundled instrument version {key!r}; `rqs instruments` lists them."
        )
    if definition.status == "draft" and not allow_draft:
        raise CliError(f"{definition.key} is a draft; add --allow-draft to use it.")
    return definition


def read_text(name: str | Path, stdin: TextIO | None = None) -> str:
    """A UTF-8 file (a byte-order mark allowed), or standard input for '-'."""
    if str(name) == "-":
        return (stdin or sys.stdin).read()
    try:
        return Path(name).read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise CliError(f"{name}: file not found") from None
    except UnicodeDecodeError as exc:
        raise CliError(f"{name}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise CliError(f"{name}: {exc.strerror}") from None


# Exit status when a reported figure differs from the recomputed one.
DIFFERS = 3


def score_file(definition: Definition, text: str, out: Writer, err: Writer) -> int:
    """Score a spreadsheet: id,total,max,percent,band on `out`; 1 on bad rows.

    With reported_total, reported_percent or reported_band columns (a
    published review's table), each figure that does not add up is named on
    `err` and the status is 3.
    """
    result = score_csv(definition, text)
    for warning in result.warnings:
        err.write(f"warning: {warning}\n")
    if not result.ok:
        for error in result.errors:
            err.write(f"{error}\n")
        return 1
    out.write(rows_to_csv(result.rows))
    for difference in result.differences:
        err.write(f"{difference}\n")
    return DIFFERS if result.differences else 0


def agreement_text(
    text: str,
    *,
    level: str,
    order: str | None,
    source: str,
    design: str = "auto",
) -> str:
    """The agreement JSON for a long-format CSV, at full precision."""
    try:
        result = compute_from_csv(
            text,
            level=level,
            order=order.split(",") if order else None,
            design=design,
        )
    except AgreementInputError as exc:
        raise CliError(f"{source}: {exc}") from exc
    return json.dumps(result, indent=2)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rqs",
        description="Score appraisal spreadsheets and compute inter-rater "
        "agreement, offline, with the bundled instruments.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("instruments", help="list the bundled instrument versions")
    score = commands.add_parser(
        "score",
        help="score FILE.csv (one row per assessment: id, then one column per "
        "condition and item) and write id,total,max,percent,band (QUADAS-2: "
        "the band is the overall risk of bias, then applicability)",
    )
    score.add_argument("file", nargs="?", help="the CSV file, or - for standard input")
    _instrument_arguments(score)
    score.add_argument(
        "--template", action="store_true", help="print the input header and exit"
    )
    score.add_argument(
        "--codes", action="store_true", help="print each item's accepted values"
    )
    codes = commands.add_parser("codes", help="each item's accepted values")
    _instrument_arguments(codes)
    agreement = commands.add_parser(
        "agreement",
        help="agreement for a CSV with columns subject,rater,value and an optional "
        "item; an empty value, na or NA is a missing rating (prints JSON)",
    )
    agreement.add_argument("file", help="the CSV file, or - for standard input")
    agreement.add_argument(
        "--level", choices=LEVELS, default="nominal", help=LEVEL_HELP
    )
    agreement.add_argument(
        "--design", choices=DESIGN_CHOICES, default="auto", help=DESIGN_HELP
    )
    agreement.add_argument(
        "--order", help="comma-separated order of text values at the ordinal level"
    )
    return parser


def _instrument_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--instrument",
        required=True,
        help="rqs-1.0, or a bare code (rqs) for its latest published version",
    )
    parser.add_argument("--allow-draft", action="store_true")


def _run(args: argparse.Namespace, out: Writer, err: Writer) -> int:
    if args.command == "instruments":
        for key, d in sorted(bundled_versions().items()):
            name = d.short_name or d.name
            name = name if d.version in name else f"{name} {d.version}"
            check = ", needs a check against the paper" if d.needs_check else ""
            out.write(f"{key}\t{name}\t{d.status}{check}\n")
        return 0
    if args.command == "agreement":
        text = read_text(args.file)
        out.write(
            agreement_text(
                text,
                level=args.level,
                order=args.order,
                source=args.file,
                design=args.design,
            )
            + "\n"
        )
        return 0
    definition = find_version(args.instrument, allow_draft=args.allow_draft)
    if args.command == "codes" or args.codes:
        out.write("\n".join(accepted_codes(definition)) + "\n")
        return 0
    if args.template:
        out.write(",".join(template_header(definition)) + "\n")
        return 0
    if args.file is None:
        raise CliError("Give the spreadsheet file (CSV), or - for standard input.")
    return score_file(definition, read_text(args.file), out, err)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args, sys.stdout, sys.stderr)
    except CliError as exc:
        sys.stderr.write(f"rqs: {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
