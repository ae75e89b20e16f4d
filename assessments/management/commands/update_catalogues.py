"""Refresh the translation catalogues from the marked strings, or check them.

`manage.py update_catalogues` runs makemessages for both domains (templates
and Python; the page scripts) and every shipped language, then compiles the
catalogues; the .mo files are committed so `make run` needs no gettext.
`--check` extracts into a scratch copy instead and fails when the committed
catalogues miss a marked string or hold one no longer marked, so CI catches
a string marked without `make messages` (GNU gettext: apt-get install gettext).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

# What is scanned: the app, the wiring, the templates and the page scripts.
SOURCES = ("assessments", "rqs", "templates", "static/js")
OPTIONS: dict[str, Any] = {
    "no_obsolete": True,
    "no_location": True,
    "verbosity": 0,
}


def shipped_languages() -> list[str]:
    return [code for code, _ in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


def extract(root: Path, languages: list[str]) -> None:
    """makemessages in `root` (a tree with a `locale` folder)."""
    with contextlib.chdir(root):
        for domain in ("django", "djangojs"):
            call_command(
                "makemessages",
                locale=languages,
                domain=domain,
                ignore_patterns=["static/vendor/*", "*/migrations/*"],
                **OPTIONS,
            )


def messages(locale: Path, lang: str) -> set[tuple[str, str, str]]:
    # A development tool's dependency (the check runs in CI, not in the image).
    import polib  # type: ignore[import-untyped]

    found = set()
    for domain in ("django", "djangojs"):
        path = locale / lang / "LC_MESSAGES" / f"{domain}.po"
        if path.exists():
            found |= {(domain, e.msgctxt or "", e.msgid) for e in polib.pofile(path)}
    return found


class Command(BaseCommand):
    help = "Refresh (or with --check, verify) the Dutch and German catalogues."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="Change nothing; fail if the catalogues are not up to date.",
        )

    def handle(self, *args: Any, check: bool = False, **options: Any) -> None:
        base = Path(settings.BASE_DIR)
        languages = shipped_languages()
        # Both extract from a copy of SOURCES only, so nothing else in the
        # tree (a build/ left by a wheel build, a scratch script) is scanned.
        with tempfile.TemporaryDirectory() as scratch:
            copy = Path(scratch)
            for name in SOURCES:
                shutil.copytree(base / name, copy / name, ignore=_ignore)
            shutil.copytree(base / "locale", copy / "locale")
            extract(copy, languages)
            if not check:
                for po in (copy / "locale").glob("*/LC_MESSAGES/*.po"):
                    shutil.copyfile(po, base / po.relative_to(copy))
            stale = {
                lang: messages(copy / "locale", lang) ^ messages(base / "locale", lang)
                for lang in languages
            }
        if not check:
            call_command("compilemessages", locale=languages, verbosity=0)
            self.stdout.write(
                "Catalogues refreshed and compiled: " + ", ".join(languages)
            )
            return
        problems = [
            f"{lang}: {ctx + ' | ' if ctx else ''}{msgid!r} ({domain})"
            for lang, keys in stale.items()
            for domain, ctx, msgid in sorted(keys)
        ]
        if problems:
            raise CommandError(
                "The catalogues are not up to date with the marked strings; run "
                "`make messages` and translate what is new:\n" + "\n".join(problems)
            )
        self.stdout.write("The catalogues hold exactly the marked strings.")


def _ignore(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if n in {"__pycache__", "vendor", "migrations"}}
