"""Load the bundled instrument definitions (idempotent)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assessments.instruments import bundled_definitions_dir, load_definition_file
from assessments.instruments.crosswalk import (
    CrosswalkError,
    bundled_crosswalk_files,
    load_crosswalk_file,
)
from assessments.instruments.drills import DrillFileError
from assessments.services.catalogue import load_definition
from assessments.services.crosswalk import load_crosswalk
from assessments.services.drills import seed_drills


class Command(BaseCommand):
    help = (
        "Load instrument definitions (default: the bundled ones). A newer wording "
        "revision is applied; a scoring difference in a published version is an error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="*", type=Path, help="definition files")

    def handle(self, *args: Any, **options: Any) -> None:
        files = options["files"] or sorted(bundled_definitions_dir().glob("*.yaml"))
        failed = False
        for path in files:
            try:
                doc = load_definition_file(path)
            except Exception as exc:  # a broken file must name itself, not crash
                self.stderr.write(f"{path.name}: {exc}")
                failed = True
                continue
            outcome = load_definition(doc)
            stream = (
                self.stderr
                if outcome.action in {"error", "kept-edited"}
                else self.stdout
            )
            stream.write(f"{outcome.key}: {outcome.action}")
            for message in outcome.messages:
                stream.write(f"  {message}")
            failed = failed or outcome.action == "error"
        try:
            seeded = seed_drills()
        except DrillFileError as exc:  # like a broken definition: named, not a crash
            self.stderr.write(f"Drills: {exc}")
            failed = True
        else:
            self.stdout.write(f"Drills: {seeded.added} added, {seeded.updated} updated")
        if not options["files"]:  # the bundled crosswalk names bundled versions
            failed = self._load_crosswalks() or failed
        if failed:
            raise CommandError("Some definitions were not loaded (see above).")

    def _load_crosswalks(self) -> bool:
        """The bundled crosswalk(s), after the definitions they name; True: failed."""
        failed = False
        for path in bundled_crosswalk_files():
            try:
                outcome = load_crosswalk(load_crosswalk_file(path))
            except CrosswalkError as exc:
                self.stderr.write(f"{path.name}: {exc}")
                failed = True
                continue
            bad = outcome.action in {"error", "kept-edited"}
            stream = self.stderr if bad else self.stdout
            stream.write(f"Crosswalk {outcome.version} {outcome.action}")
            for message in outcome.messages:
                stream.write(f"  {message}")
            failed = failed or outcome.action == "error"
        return failed
