"""Start or check an instrument's translation file.

`manage.py instrument_translation rqs-1.0 fr --translator "A. Name"` writes
`assessments/definitions/translations/rqs-1.0.fr.yaml` holding every text of
the English definition, to be overwritten in the new language. `--check`
reads every translation file instead and reports, per file, what is wrong and
how many texts are still the English; it fails when a file cannot be used.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...instruments import DefinitionError, iter_bundled, parse_definition
from ...instruments.translation_files import (
    LANGUAGE_CODE,
    bundled_languages,
    check_translation,
    load_translation,
    translation_path,
    translation_skeleton,
)
from ...instruments.translations import TranslationError


class Command(BaseCommand):
    help = "Write a translation file to fill in, or check every translation file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("key", nargs="?", help="definition key, e.g. rqs-1.0")
        parser.add_argument("language", nargs="?", help="language code, e.g. fr")
        parser.add_argument("--translator", default="", help="who translates it")
        parser.add_argument("--check", action="store_true", help="check every file")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            definitions = {
                d.key: d for d in (parse_definition(doc) for doc in iter_bundled())
            }
        except DefinitionError as exc:
            raise CommandError("; ".join(exc.problems)) from exc
        if options["check"]:
            self._check(definitions)
            return
        key, language = options["key"], options["language"]
        if not key or not language:
            raise CommandError("Name a definition and a language: rqs-1.0 fr")
        if key not in definitions:
            known = ", ".join(sorted(definitions))
            raise CommandError(
                f"There is no bundled definition {key}; there are {known}"
            )
        if not LANGUAGE_CODE.match(language):
            raise CommandError(f"{language!r} is not a language code such as fr or it")
        path = translation_path(key, language)
        if path.exists():
            raise CommandError(f"{path.name} exists already; edit it instead")
        if not options["translator"].strip():
            raise CommandError("Say who translates it: --translator 'A. Name'")
        text = translation_skeleton(definitions[key], language, options["translator"])
        path.write_text(text, encoding="utf-8")
        self.stdout.write(
            f"Wrote {path}: replace each English text with its translation, then "
            "run `manage.py instrument_translation --check`."
        )

    def _check(self, definitions: dict[str, Any]) -> None:
        failed = False
        for key, definition in sorted(definitions.items()):
            for language in bundled_languages(key):
                name = translation_path(key, language).name
                try:
                    translation = load_translation(key, language)
                except TranslationError as exc:
                    failed = True
                    self.stdout.write(f"{name}: cannot be used: {exc}")
                    continue
                assert translation is not None
                problems = check_translation(translation, definition)
                if not translation.fits(definition):
                    problems.append(
                        f"made from wording revision {translation.translates_revision}"
                        f", but the English is at revision {definition.revision}: "
                        "the form shows the English until it is brought up to date"
                    )
                failed = failed or bool(problems)
                english = len(translation.missing(definition))
                state = "validated" if translation.validated else "not yet validated"
                self.stdout.write(
                    f"{name}: {len(problems)} problems, {english} texts still as "
                    f"the English, {state}"
                )
                for problem in problems:
                    self.stdout.write(f"  {problem}")
        if failed:
            raise CommandError("Some translation files need attention (listed above).")
