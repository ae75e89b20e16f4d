"""The shipped languages are complete, and the compiled catalogues are the
ones the app reads.

A string marked for translation but not translated would show in English in
the middle of a Dutch or German page; a placeholder lost in translation would
raise or print the wrong value; a .mo file older than its .po would serve
yesterday's words. (`manage.py update_catalogues --check`, run by CI, checks
that the catalogues hold exactly the strings marked in the code.)
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from tests.conftest import require

LOCALE = Path(settings.BASE_DIR) / "locale"
LANGUAGES = ("nl", "de")
DOMAINS = ("django", "djangojs")
PLACEHOLDER = re.compile(r"%\(\w+\)[sdfr]|%[sdfr]")
# A translation identical to the English is accepted for names and codes, and
# for words that are the same in the language ("Dashboard", "Status") when the
# entry says so in a translator comment, reviewed one by one.
SAME_ON_PURPOSE = "Same as the English on purpose (reviewed)"


def catalogues() -> list[tuple[str, str, polib.POFile]]:
    found = []
    for lang in LANGUAGES:
        for domain in DOMAINS:
            path = LOCALE / lang / "LC_MESSAGES" / f"{domain}.po"
            if path.exists():
                found.append((lang, domain, polib.pofile(str(path))))
    return found


def _is_name_or_code(text: str) -> bool:
    # No word of three lower-case letters: a name (RQS, TRIPOD+AI), a code or
    # a number, not a phrase in English.
    return not re.search(r"[a-z]{3}", PLACEHOLDER.sub("", text))


def test_both_languages_ship_a_catalogue() -> None:
    assert {lang for lang, domain, _ in catalogues() if domain == "django"} == set(
        LANGUAGES
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_string_is_translated_and_none_is_fuzzy(lang: str) -> None:
    problems = []
    for found_lang, domain, po in catalogues():
        if found_lang != lang:
            continue
        for entry in po:
            if entry.obsolete:
                continue
            where = f"{domain}: {entry.msgid!r}"
            if "fuzzy" in entry.flags:
                problems.append(f"{where} is fuzzy")
            elif not entry.translated():
                problems.append(f"{where} is not translated")
            elif (
                not entry.msgid_plural
                and entry.msgstr == entry.msgid
                and not _is_name_or_code(entry.msgid)
                and SAME_ON_PURPOSE not in (entry.tcomment or "")
            ):
                problems.append(f"{where} is left in English")
    assert not problems, "\n".join(problems)


def test_every_placeholder_survives_translation() -> None:
    problems = []
    for lang, domain, po in catalogues():
        for entry in po.translated_entries():
            wanted = sorted(PLACEHOLDER.findall(entry.msgid))
            if entry.msgid_plural:
                plural = sorted(PLACEHOLDER.findall(entry.msgid_plural))
                texts = list(entry.msgstr_plural.values())
                ok = all(
                    sorted(PLACEHOLDER.findall(t)) in (wanted, plural) for t in texts
                )
            else:
                ok = sorted(PLACEHOLDER.findall(entry.msgstr)) == wanted
            if not ok:
                problems.append(f"{lang} {domain}: {entry.msgid!r}")
    assert not problems, "\n".join(problems)


def test_the_compiled_catalogues_are_the_translations() -> None:
    for lang, domain, po in catalogues():
        compiled = LOCALE / lang / "LC_MESSAGES" / f"{domain}.mo"
        assert compiled.exists(), f"{compiled} is missing: run make messages"
        mo = polib.mofile(str(compiled))

        def table(entries: list[polib._BaseEntry]) -> dict[tuple[str, str], str]:
            return {
                (e.msgctxt or "", e.msgid): e.msgstr or repr(e.msgstr_plural)
                for e in entries
                if e.msgid
            }

        assert table(po.translated_entries()) == table(list(mo)), (
            f"{compiled} is older than its .po: run make messages"
        )


def test_the_catalogues_hold_exactly_the_marked_strings() -> None:
    require(
        shutil.which("xgettext") is not None,
        "GNU gettext is not installed (apt-get install -y gettext)",
    )
    call_command("update_catalogues", check=True)


@pytest.mark.django_db
def test_a_page_reads_in_dutch_and_german() -> None:
    for lang, words in (("nl", "Wachtwoord"), ("de", "Passwort")):
        page = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE=lang)
        assert words in page.content.decode()
