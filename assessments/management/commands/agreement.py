"""Agreement coefficients for ratings kept in a spreadsheet (long-format CSV)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assessments.agreement.csvfile import LEVELS, AgreementInputError, compute_from_csv


class Command(BaseCommand):
    help = (
        "Inter-rater agreement for a CSV with columns subject,rater,value and an "
        "optional item; an empty value, na or NA is a missing rating. Prints JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the CSV file, or - for standard input")
        parser.add_argument("--level", choices=LEVELS, default="nominal")
        parser.add_argument(
            "--order",
            help="comma-separated order of text values at the ordinal level: a,b,c",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        text = _read(options["file"])
        order = options["order"].split(",") if options["order"] else None
        try:
            result = compute_from_csv(text, level=options["level"], order=order)
        except AgreementInputError as exc:
            raise CommandError(f"{options['file']}: {exc}") from exc
        # Full precision: json writes the shortest repr that round-trips a float.
        self.stdout.write(json.dumps(result, indent=2))


def _read(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    try:
        return Path(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CommandError(f"{name}: no such file") from None
    except UnicodeDecodeError as exc:
        raise CommandError(f"{name}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise CommandError(f"{name}: {exc.strerror}") from None
