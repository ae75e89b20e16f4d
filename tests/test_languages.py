"""The interface's language: the browser's for anonymous pages, the person's
own choice once signed in, kept with the account across devices."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from assessments.models import LanguagePreference
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def html_lang(response: Any) -> str:
    text = response.content.decode()
    start = text.index("<html lang=") + len('<html lang="')
    return text[start : text.index('"', start)]


def test_anonymous_pages_follow_the_browsers_language() -> None:
    for header, lang, word in (
        ("nl-NL,nl;q=0.9,en;q=0.5", "nl", "Naar de hoofdinhoud"),
        ("de-DE,de;q=0.9", "de", "Zum Hauptinhalt springen"),
        ("fr-FR,fr;q=0.9", "en-gb", "Skip to main content"),
    ):
        response = Client().get(LOGIN, HTTP_ACCEPT_LANGUAGE=header)
        assert response.status_code == 200
        assert html_lang(response) == lang
        assert response["Content-Language"] == lang
        assert word in response.content.decode()


def test_the_chooser_works_before_login_and_is_remembered_by_cookie() -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="nl")
    response = client.post(
        "/account/language", {"language": "de", "next": LOGIN}, follow=False
    )
    assert response.status_code == 302 and response["Location"] == LOGIN
    page = client.get(LOGIN)
    assert html_lang(page) == "de"
    assert LanguagePreference.objects.count() == 0  # nobody to keep it for


def test_a_signed_in_choice_follows_the_person_to_another_device() -> None:
    user = UserFactory(username="anna")
    laptop = Client(HTTP_ACCEPT_LANGUAGE="en")
    laptop.force_login(user)
    laptop.post("/account/language", {"language": "nl", "next": "/"})
    assert LanguagePreference.objects.get(user=user).language == "nl"
    assert html_lang(laptop.get("/")) == "nl"

    tablet = Client(HTTP_ACCEPT_LANGUAGE="de")  # a German browser
    tablet.post(LOGIN, {"username": "anna", "password": "pw"})
    page = tablet.get("/")
    assert html_lang(page) == "nl"
    assert "Mijn werklijst" in page.content.decode()


def test_an_unknown_language_changes_nothing_and_says_which_exist() -> None:
    user = UserFactory()
    client = Client()
    client.force_login(user)
    response = client.post(
        "/account/language", {"language": "fr", "next": "/"}, follow=True
    )
    assert "Choose one of: English, Nederlands, Deutsch." in response.content.decode()
    assert not LanguagePreference.objects.filter(user=user).exists()


def test_the_chooser_never_sends_anyone_to_another_site() -> None:
    response = Client().post(
        "/account/language", {"language": "nl", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_every_page_offers_the_languages_by_their_own_names() -> None:
    text = Client().get(LOGIN).content.decode()
    for code, name in (("en-gb", "English"), ("nl", "Nederlands"), ("de", "Deutsch")):
        assert f'value="{code}" lang="{code}"' in text and name in text


def test_the_scripts_words_are_served_without_login() -> None:
    response = Client().get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="nl")
    assert response.status_code == 200
    assert "gettext" in response.content.decode()
