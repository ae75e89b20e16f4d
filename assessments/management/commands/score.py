"""Score a spreadsheet of assessments (one row each) with an instrument version."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assessments.instruments.spreadsheet import (
    accepted_codes,
    rows_to_csv,
    score_csv,
    template_header,
)
from assessments.models import InstrumentVersion


class Command(BaseCommand):
    help = (
        "Score FILE.csv (one row per assessment: id, then one column per condition "
        "and item) and write id,total,max,percent,band to stdout."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", type=Path)
        parser.add_argument(
            "--instrument",
            required=True,
            help="rqs-1.0, or a bare code for its latest published",
        )
        parser.add_argument("--allow-draft", action="store_true")
        parser.add_argument(
            "--template", action="store_true", help="print the input header and exit"
        )
        parser.add_argument(
            "--codes",
            action="store_true",
            help="print each item's accepted values and exit",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        version = self._version(options["instrument"], options["allow_draft"])
        definition = version.as_definition()
        if options["template"]:
            self.stdout.write(",".join(template_header(definition)))
            return
        if options["codes"]:
            self.stdout.write("\n".join(accepted_codes(definition)))
            return
        if options["file"] is None:
            raise CommandError("Give the spreadsheet file (CSV).")
        try:
            text = options["file"].read_bytes().decode("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(
                f"{options['file']}: cannot read as UTF-8 ({exc})"
            ) from exc
        result = score_csv(definition, text)
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning}")
        if not result.ok:
            for error in result.errors:
                self.stderr.write(error)
            sys.exit(1)
        self.stdout.write(rows_to_csv(result.rows), ending="")

    def _version(self, key: str, allow_draft: bool) -> InstrumentVersion:
        try:
            version = InstrumentVersion.objects.by_key(key)
        except InstrumentVersion.DoesNotExist:
            raise CommandError(
                f"No instrument version {key!r} in the database; run "
                "`manage.py load_instruments` first."
            ) from None
        if version.status == InstrumentVersion.Status.DRAFT and not allow_draft:
            raise CommandError(
                f"{version.key} is a draft; add --allow-draft to use it."
            )
        return version
