"""OpenID Connect sign-in against a real provider on loopback.

The provider (tests/oidc_provider.py) checks the client's secret and the PKCE
verifier and signs RS256 ID tokens, as Entra ID or Keycloak would. The
settings come from rqs/settings.py itself, computed in a subprocess with the
OIDC_* variables set, so the test uses what a deployment would.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from django.urls import clear_url_caches

from assessments.models import ExternalIdentity, Membership
from tests.factories import UserFactory
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, new_key, serve

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
User = get_user_model()


@pytest.fixture(scope="module")
def deployed_settings() -> dict[str, Any]:
    """The settings rqs/settings.py makes with the OIDC_* variables set."""
    script = (
        "import json, django; django.setup(); from django.conf import settings as s;"
        "print(json.dumps({k: getattr(s, k) for k in dir(s) if k.startswith('OIDC_')"
        " or k in ('AUTHENTICATION_BACKENDS', 'INSTALLED_APPS', 'TEMPLATES')},"
        " default=str))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "rqs.settings",
        "OIDC_ISSUER": "https://issuer.invalid/realms/x",
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
    }
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    values: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return values


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return new_key()


@pytest.fixture
def provider(key: rsa.RSAPrivateKey) -> Iterator[Provider]:
    state = Provider(
        key=key,
        claims={
            "sub": "248289761001",
            "email": "j.jansen@mumc.example",
            "given_name": "Janneke",
            "family_name": "Jansen",
            "preferred_username": "jjansen",
        },
    )
    with serve(state):
        yield state


def _reload_urls() -> None:
    import rqs.urls

    clear_url_caches()
    if "mozilla_django_oidc.urls" in sys.modules:
        # It reads the view classes from the settings when imported.
        importlib.reload(sys.modules["mozilla_django_oidc.urls"])
    importlib.reload(rqs.urls)


@pytest.fixture
def oidc(deployed_settings: dict[str, Any], provider: Provider) -> Iterator[Provider]:
    """The site with OIDC switched on against `provider`, as settings.py does it."""
    from assessments.views import signin_oidc

    overrides = {
        k: v
        for k, v in deployed_settings.items()
        if k.startswith("OIDC_") or k in ("AUTHENTICATION_BACKENDS", "TEMPLATES")
    }
    templates = overrides["TEMPLATES"]
    templates[0]["DIRS"] = [ROOT / "templates"]
    overrides["OIDC_ISSUER"] = provider.issuer
    signin_oidc._discovery.clear()
    with override_settings(**overrides):
        _reload_urls()
        try:
            yield provider
        finally:
            signin_oidc._discovery.clear()
    _reload_urls()


def _start(client: Client, provider: Provider, next_url: str = "") -> str:
    """Press the button; follow to the provider; the URL it sends us back to."""
    query = f"?{urlencode({'next': next_url})}" if next_url else ""
    response = client.get(f"/oidc/authenticate/{query}")
    assert response.status_code == 302
    assert response["Location"].startswith(f"{provider.issuer}/authorize?")
    back = requests.get(response["Location"], allow_redirects=False, timeout=10)
    assert back.status_code == 302
    parts = urlsplit(back.headers["Location"])
    assert parts.path == "/oidc/callback/"
    return f"{parts.path}?{parts.query}"


def _sign_in(client: Client, provider: Provider) -> Any:
    return client.get(_start(client, provider), follow=True)


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_settings_switch_on_with_the_three_variables(
    deployed_settings: dict[str, Any],
) -> None:
    s = deployed_settings
    assert s["OIDC_ENABLED"] is True
    assert "mozilla_django_oidc" in s["INSTALLED_APPS"]
    backends = s["AUTHENTICATION_BACKENDS"]
    assert backends[0] == "axes.backends.AxesStandaloneBackend"
    assert backends[-1] == "assessments.views.signin_oidc.InstitutionBackend"
    assert s["OIDC_USE_PKCE"] is True and s["OIDC_PKCE_CODE_CHALLENGE_METHOD"] == "S256"
    assert s["OIDC_RP_SIGN_ALGO"] == "RS256" and s["OIDC_USE_NONCE"] is True
    assert s["OIDC_STORE_ID_TOKEN"] is True
    assert s["OIDC_RP_SCOPES"] == "openid email profile"
    assert s["OIDC_BUTTON_LABEL"] == "Sign in with your institution"


def test_first_sign_in_makes_an_account_with_no_projects(oidc: Provider) -> None:
    client = Client()
    response = client.get("/oidc/authenticate/?next=/start/")
    asked = parse_qs(urlsplit(response["Location"]).query)
    assert asked["code_challenge_method"] == ["S256"]
    assert asked["state"] and asked["nonce"] and asked["code_challenge"]
    assert asked["scope"] == ["openid email profile"]
    assert asked["client_id"] == [CLIENT_ID]

    page = _sign_in(client, oidc)
    assert page.status_code == 200
    assert _logged_in(client)
    assert "jjansen" in page.content.decode()
    user = User.objects.get(username="jjansen")
    assert (user.first_name, user.last_name) == ("Janneke", "Jansen")
    assert user.email == "j.jansen@mumc.example"
    assert not user.has_usable_password()
    # No password of theirs here, so no "Change password" in their menu.
    assert "Change password" not in page.content.decode()
    assert not Membership.objects.filter(user=user).exists()
    identity = ExternalIdentity.objects.get(user=user)
    assert (identity.protocol, identity.issuer, identity.subject) == (
        "oidc",
        oidc.issuer,
        "248289761001",
    )
    assert identity.last_login_at is not None


def test_sign_in_returns_to_the_page_asked_for(oidc: Provider) -> None:
    client = Client()
    response = client.get(_start(client, oidc, next_url="/instruments/"))
    assert response.status_code == 302
    assert response["Location"] == "/instruments/"


def test_second_sign_in_finds_the_same_account_and_takes_new_names(
    oidc: Provider,
) -> None:
    _sign_in(Client(), oidc)
    oidc.claims = {
        **oidc.claims,
        "family_name": "de Vries",
        "email": "j.devries@mumc.example",
    }
    client = Client()
    _sign_in(client, oidc)
    assert _logged_in(client)
    assert User.objects.filter(external_identities__isnull=False).count() == 1
    user = User.objects.get(username="jjansen")
    assert user.last_name == "de Vries" and user.email == "j.devries@mumc.example"
    assert client.session["_auth_user_id"] == str(user.pk)


def test_a_local_account_with_the_same_email_is_never_joined(oidc: Provider) -> None:
    local = UserFactory(username="jjansen", email="j.jansen@mumc.example")
    client = Client()
    _sign_in(client, oidc)
    assert _logged_in(client)
    assert client.session["_auth_user_id"] != str(local.pk)
    assert not ExternalIdentity.objects.filter(user=local).exists()
    newcomer = ExternalIdentity.objects.get(subject="248289761001").user
    assert newcomer.username != "jjansen"


def test_a_token_signed_with_another_key_is_refused(oidc: Provider) -> None:
    oidc.signing_key = new_key()
    client = Client()
    page = _sign_in(client, oidc)
    assert page.status_code == 200
    assert not _logged_in(client)
    assert "could not be verified" in page.content.decode()
    assert not ExternalIdentity.objects.exists()


def test_a_token_with_another_nonce_is_refused(oidc: Provider) -> None:
    oidc.nonce = "not-the-one-we-sent"
    client = Client()
    page = _sign_in(client, oidc)
    assert not _logged_in(client)
    assert "could not be verified" in page.content.decode()
    assert not User.objects.filter(username="jjansen").exists()


def test_a_token_from_another_issuer_is_refused(oidc: Provider) -> None:
    oidc.token_issuer = "https://elsewhere.example/realms/x"
    client = Client()
    page = _sign_in(client, oidc)
    assert not _logged_in(client)
    assert "could not be verified" in page.content.decode()


def test_userinfo_cannot_change_who_signs_in(oidc: Provider) -> None:
    # Who the person is comes from the signed ID token; userinfo only adds names.
    oidc.userinfo = {**oidc.claims, "sub": "someone-else"}
    client = Client()
    page = _sign_in(client, oidc)
    assert not _logged_in(client)
    assert "could not be verified" in page.content.decode()
    assert not ExternalIdentity.objects.exists()


def test_an_answer_with_an_unknown_state_is_refused(oidc: Provider) -> None:
    client = Client()
    callback = _start(client, oidc)
    forged = callback.replace("state=", "state=x")
    page = client.get(forged, follow=True)
    assert page.status_code == 200
    assert not _logged_in(client)
    assert "started elsewhere or has expired" in page.content.decode()


def test_an_answer_used_twice_does_not_sign_in_again(oidc: Provider) -> None:
    client = Client()
    callback = _start(client, oidc)
    client.get(callback)
    assert _logged_in(client)
    other = Client()
    page = other.get(callback, follow=True)
    assert not _logged_in(other)
    assert "sign-in did not complete" in page.content.decode()


def test_the_provider_refuses_a_wrong_pkce_verifier(oidc: Provider) -> None:
    client = Client()
    callback = _start(client, oidc)
    session = client.session
    for entry in session["oidc_states"].values():
        entry["code_verifier"] = "x" * 64
    session.save()
    page = client.get(callback, follow=True)
    assert oidc.token_refusals == ["pkce"]
    assert not _logged_in(client)
    assert "server refused it" in page.content.decode()


def test_a_deactivated_account_is_refused(oidc: Provider) -> None:
    _sign_in(Client(), oidc)
    User.objects.filter(username="jjansen").update(is_active=False)
    client = Client()
    page = _sign_in(client, oidc)
    assert not _logged_in(client)
    assert "deactivated" in page.content.decode()


def test_deactivating_an_account_ends_its_open_session(oidc: Provider) -> None:
    client = Client()
    _sign_in(client, oidc)
    assert "jjansen" in client.get("/", follow=True).content.decode()
    User.objects.filter(username="jjansen").update(is_active=False)
    response = client.get("/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_provider_unreachable_is_a_message_not_an_error(oidc: Provider) -> None:
    from assessments.views import signin_oidc

    signin_oidc._discovery.clear()
    with override_settings(OIDC_ISSUER="http://127.0.0.1:9/nowhere"):
        page = Client().get("/oidc/authenticate/", follow=True)
    assert page.status_code == 200
    assert "could not be reached" in page.content.decode()


def test_endpoints_named_in_settings_need_no_discovery(oidc: Provider) -> None:
    nowhere = "http://127.0.0.1:9/realms/x"  # nothing listens: no discovery
    oidc.token_issuer = nowhere
    with override_settings(
        OIDC_ISSUER=nowhere,
        OIDC_OP_AUTHORIZATION_ENDPOINT=f"{oidc.issuer}/authorize",
        OIDC_OP_TOKEN_ENDPOINT=f"{oidc.issuer}/token",
        OIDC_OP_JWKS_ENDPOINT=f"{oidc.issuer}/jwks",
        OIDC_OP_USER_ENDPOINT=f"{oidc.issuer}/userinfo",
    ):
        client = Client()
        _sign_in(client, oidc)
    assert _logged_in(client)
    assert ExternalIdentity.objects.get().issuer == nowhere


def test_login_page_shows_the_button_when_switched_on(oidc: Provider) -> None:
    page = Client().get("/accounts/login/?next=/start/")
    body = page.content.decode()
    assert "Sign in with your institution" in body
    assert 'href="/oidc/authenticate/?next=/start/"' in body.replace("%2F", "/")
    assert 'name="username"' in body and 'name="password"' in body


def test_the_button_label_is_a_setting(oidc: Provider) -> None:
    with override_settings(OIDC_BUTTON_LABEL="Sign in with Maastricht UMC+"):
        body = Client().get("/accounts/login/").content.decode()
    assert "Sign in with Maastricht UMC+" in body


def test_switched_off_there_is_no_button_and_no_route() -> None:
    client = Client()
    body = client.get("/accounts/login/").content.decode()
    assert "Sign in with your institution" not in body
    assert client.get("/oidc/authenticate/").status_code in {302, 404}
    user = UserFactory()
    client.force_login(user)
    assert client.get("/oidc/authenticate/").status_code == 404


def test_logout_also_ends_the_provider_session(oidc: Provider) -> None:
    client = Client()
    _sign_in(client, oidc)
    page = client.get("/start/", follow=True).content.decode()
    assert 'action="/oidc/logout/"' in page
    response = client.post("/oidc/logout/")
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{oidc.issuer}/logout"
    query = parse_qs(target.query)
    assert query["post_logout_redirect_uri"] == ["http://testserver/accounts/login/"]
    assert query["id_token_hint"][0].count(".") == 2
    assert not _logged_in(client)


def test_logout_without_an_end_session_endpoint_stays_here(oidc: Provider) -> None:
    oidc.end_session = False
    client = Client()
    _sign_in(client, oidc)
    response = client.post("/oidc/logout/")
    assert response["Location"] == "/accounts/login/"
    assert not _logged_in(client)


def test_a_local_user_logs_out_as_before(oidc: Provider) -> None:
    client = Client()
    client.force_login(UserFactory())
    assert client.get("/oidc/logout/").status_code == 405
    response = client.post("/oidc/logout/")
    assert response["Location"] == "/accounts/login/"
    assert not _logged_in(client)


def test_a_password_login_never_reaches_the_provider(oidc: Provider) -> None:
    UserFactory(username="local", password="pw-local-123")
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": "local", "password": "pw-local-123"}
    )
    assert response.status_code == 302
    assert _logged_in(client)
    assert oidc.authorize_requests == [] and oidc.codes == {}


def test_the_admin_lists_sign_ins_read_only(oidc: Provider) -> None:
    _sign_in(Client(), oidc)
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = admin.get("/admin/assessments/externalidentity/").content.decode()
    assert "248289761001" in page and oidc.issuer in page
    assert admin.get("/admin/assessments/externalidentity/add/").status_code == 403
    row = ExternalIdentity.objects.get()
    change = admin.post(
        f"/admin/assessments/externalidentity/{row.pk}/change/", {"subject": "x"}
    )
    assert change.status_code == 403
    row.refresh_from_db()
    assert row.subject == "248289761001"


def test_cancelling_at_the_provider_returns_to_the_login_page(oidc: Provider) -> None:
    client = Client()
    state = parse_qs(urlsplit(_start(client, oidc)).query)["state"][0]
    page = client.get(f"/oidc/callback/?error=access_denied&state={state}", follow=True)
    assert page.redirect_chain[-1][0] == "/accounts/login/"
    assert "cancelled or refused" in page.content.decode()
    assert not _logged_in(client)
