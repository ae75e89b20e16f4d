"""SAML 2.0 sign-in against an identity provider built here with pysaml2.

The IdP has its own key and certificate; its metadata goes to a file the site
reads, and it trusts the SP metadata made from the site's own SAML settings.
Every response is signed (the Response and the assertion) by xmlsec1, exactly
as in production; the site checks it with xmlsec1 too.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import datetime as dt
import importlib
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import parse_qs, urlparse

import pytest
import saml2.time_util
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from django.urls import clear_url_caches
from saml2 import BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig, SPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import AUTHN_PASSWORD, NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server

import rqs.urls
from assessments.models import ExternalIdentity, Membership
from rqs.settings import saml_settings
from tests.conftest import require

pytestmark = pytest.mark.django_db

User = get_user_model()
IDP = "https://idp.uni.example/saml/idp"
SSO = "https://idp.uni.example/saml/sso"
SLO = "https://idp.uni.example/saml/slo"
SITE = "http://testserver"
SP = f"{SITE}/saml2/metadata/"
XMLSEC = "/usr/bin/xmlsec1"


@pytest.fixture(autouse=True)
def _xmlsec1() -> None:
    # pysaml2 signs and checks every message with the xmlsec1 program.
    require(
        shutil.which("xmlsec1") is not None,
        "Debian's xmlsec1 is not installed (apt-get install -y xmlsec1)",
    )


def _key_pair(folder: Path, name: str) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = folder / f"{name}.key", folder / f"{name}.crt"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(key_file), str(cert_file)


def _idp_config(key: str, cert: str, sp_metadata: str | None) -> IdPConfig:
    conf = IdPConfig()
    conf.load(
        {
            "entityid": IDP,
            "xmlsec_binary": XMLSEC,
            "key_file": key,
            "cert_file": cert,
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [(SSO, BINDING_HTTP_REDIRECT)],
                        "single_logout_service": [(SLO, BINDING_HTTP_REDIRECT)],
                    },
                    "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                    "policy": {"default": {"lifetime": {"minutes": 5}}},
                }
            },
            "metadata": {"local": [sp_metadata]} if sp_metadata else {},
        }
    )
    return conf


@dataclass
class FakeIdP:
    server: Server
    env: dict[str, str]

    def answer(
        self,
        location: str,
        *,
        subject: str = "pers-7f3a",
        mail: str = "a.jansen@uni.example",
        given: str = "Anna",
        sn: str = "Jansen",
        name_format: str = NAMEID_FORMAT_PERSISTENT,
    ) -> dict[str, str]:
        """The POST the browser makes to the ACS after the IdP signed it in."""
        query = parse_qs(urlparse(location).query)
        request = self.server.parse_authn_request(
            query["SAMLRequest"][0], BINDING_HTTP_REDIRECT
        ).message
        response = self.server.create_authn_response(
            {"mail": [mail], "givenName": [given], "sn": [sn]},
            in_response_to=request.id,
            destination=request.assertion_consumer_service_url,
            sp_entity_id=SP,
            name_id=NameID(
                format=name_format,
                text=subject,
                name_qualifier=IDP,
                sp_name_qualifier=SP,
            ),
            authn={"class_ref": AUTHN_PASSWORD, "authn_auth": IDP},
            sign_response=True,
            sign_assertion=True,
        )
        return {
            "SAMLResponse": base64.b64encode(str(response).encode()).decode(),
            "RelayState": query["RelayState"][0],
        }


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("saml")
    idp_key, idp_cert = _key_pair(folder, "idp")
    sp_key, sp_cert = _key_pair(folder, "sp")
    idp_metadata = folder / "idp-metadata.xml"
    idp_metadata.write_text(
        str(entity_descriptor(_idp_config(idp_key, idp_cert, None)))
    )
    return {
        "folder": folder,
        "idp": (idp_key, idp_cert),
        "env": {
            "SAML_IDP_METADATA_FILE": str(idp_metadata),
            "SAML_SP_KEY_FILE": sp_key,
            "SAML_SP_CERT_FILE": sp_cert,
        },
    }


def _reload_urls() -> None:
    clear_url_caches()
    importlib.reload(rqs.urls)


def _overrides(env: dict[str, str]) -> dict[str, Any]:
    """What rqs/settings.py adds with these variables set."""
    middleware = list(settings.MIDDLEWARE)
    session = middleware.index("django.contrib.sessions.middleware.SessionMiddleware")
    middleware.insert(session + 1, "djangosaml2.middleware.SamlSessionMiddleware")
    middleware.append("assessments.views.signin_saml.SingleLogout")
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["OPTIONS"]["context_processors"].append(
        "assessments.views.signin_saml.saml_signin"
    )
    return {
        **saml_settings(env, SITE),
        "INSTALLED_APPS": [*settings.INSTALLED_APPS, "djangosaml2"],
        "MIDDLEWARE": middleware,
        "AUTHENTICATION_BACKENDS": [
            *settings.AUTHENTICATION_BACKENDS,
            "assessments.views.signin_saml.InstitutionSaml2Backend",
        ],
        "TEMPLATES": templates,
    }


@contextlib.contextmanager
def saml_on(env: dict[str, str]) -> Iterator[None]:
    try:
        with override_settings(**_overrides(env)):
            _reload_urls()
            yield
    finally:
        _reload_urls()


@pytest.fixture
def idp(keys: dict[str, Any]) -> Iterator[FakeIdP]:
    env = dict(keys["env"])
    with saml_on(env):
        sp_conf = SPConfig()
        sp_conf.load(copy.deepcopy(settings.SAML_CONFIG))
        sp_metadata = keys["folder"] / "sp-metadata.xml"
        sp_metadata.write_text(str(entity_descriptor(sp_conf)))
        server = Server(config=_idp_config(*keys["idp"], str(sp_metadata)))
        yield FakeIdP(server, env)


@contextlib.contextmanager
def idp_clock(offset: float) -> Iterator[None]:
    """The IdP's clock, `offset` seconds off: pysaml2 reads time in time_util."""

    class Clock:
        def __getattr__(self, name: str) -> Any:
            return getattr(time, name)

        def gmtime(self, secs: float | None = None) -> time.struct_time:
            return time.gmtime(time.time() + offset if secs is None else secs)

    class Moment(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> Any:
            return dt.datetime.now(tz) + dt.timedelta(seconds=offset)

    with (
        mock.patch.object(saml2.time_util, "time", Clock()),
        mock.patch.object(saml2.time_util, "datetime", Moment),
    ):
        yield


def _start(client: Client, next_url: str = "/") -> str:
    response = client.get(f"/saml2/login/?next={next_url}")
    assert response.status_code == 302
    assert response["Location"].startswith(SSO + "?")
    return str(response["Location"])


def _sign_in(client: Client, idp: FakeIdP, **assertion: Any) -> Any:
    return client.post("/saml2/acs/", idp.answer(_start(client), **assertion))


def _signed_in(client: Client) -> bool:
    return client.get("/").status_code == 200


def _login_page_says(client: Client, response: Any, words: str) -> None:
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    page = client.get(response["Location"]).content.decode()
    assert words in page


def test_first_sign_in_makes_an_account_with_no_project_access(
    client: Client, idp: FakeIdP
) -> None:
    response = _sign_in(client, idp)

    assert response.status_code == 302 and response["Location"] == "/"
    assert _signed_in(client)
    user = User.objects.get(email="a.jansen@uni.example")
    assert (user.first_name, user.last_name) == ("Anna", "Jansen")
    assert not user.has_usable_password()
    assert not Membership.objects.filter(user=user).exists()
    identity = ExternalIdentity.objects.get(user=user)
    assert (identity.protocol, identity.issuer, identity.subject) == (
        "saml",
        IDP,
        "pers-7f3a",
    )


def test_the_authn_request_is_signed_and_asks_for_a_persistent_nameid(
    client: Client, idp: FakeIdP
) -> None:
    location = _start(client)
    query = parse_qs(urlparse(location).query)
    assert "Signature" in query and "SigAlg" in query
    request = idp.server.parse_authn_request(
        query["SAMLRequest"][0], BINDING_HTTP_REDIRECT
    ).message
    assert request.name_id_policy.format == NAMEID_FORMAT_PERSISTENT
    assert request.assertion_consumer_service_url == f"{SITE}/saml2/acs/"


def test_second_sign_in_finds_the_same_account_and_syncs_names(
    idp: FakeIdP,
) -> None:
    _sign_in(Client(), idp)
    second = Client()
    _sign_in(second, idp, given="Anne", sn="Jansen-de Vries", mail="anne@uni.example")

    assert _signed_in(second)
    user = User.objects.get()
    assert (user.first_name, user.last_name, user.email) == (
        "Anne",
        "Jansen-de Vries",
        "anne@uni.example",
    )
    assert ExternalIdentity.objects.count() == 1


def test_a_local_account_with_the_same_email_is_not_joined(
    client: Client, idp: FakeIdP
) -> None:
    local = User.objects.create_user(
        "anna", email="a.jansen@uni.example", password="local-pass-123"
    )

    _sign_in(client, idp)

    assert _signed_in(client)
    assert int(client.session["_auth_user_id"]) != local.pk
    assert not ExternalIdentity.objects.filter(user=local).exists()
    local.refresh_from_db()
    assert local.check_password("local-pass-123")


@pytest.mark.parametrize(
    ("before", "after"),
    [("a.jansen@uni.example", "mallory@evil.example"), ("pers-7f3a", "pers-0001")],
    ids=["attribute", "nameid"],
)
def test_a_tampered_assertion_is_refused(
    client: Client, idp: FakeIdP, before: str, after: str
) -> None:
    data = idp.answer(_start(client))
    xml = base64.b64decode(data["SAMLResponse"]).decode()
    assert before in xml
    data["SAMLResponse"] = base64.b64encode(
        xml.replace(before, after).encode()
    ).decode()

    response = client.post("/saml2/acs/", data)

    _login_page_says(client, response, "could not be verified")
    assert not _signed_in(client)
    assert not ExternalIdentity.objects.exists()


def test_an_expired_assertion_is_refused(client: Client, idp: FakeIdP) -> None:
    location = _start(client)
    with idp_clock(-3600):  # signed an hour ago, valid for five minutes
        data = idp.answer(location)

    response = client.post("/saml2/acs/", data)

    _login_page_says(client, response, "expired")
    assert not _signed_in(client)
    assert not ExternalIdentity.objects.exists()


def test_a_replayed_response_is_refused(client: Client, idp: FakeIdP) -> None:
    data = idp.answer(_start(client))
    assert client.post("/saml2/acs/", data)["Location"] == "/"
    client.post("/accounts/logout/")

    again = client.post("/saml2/acs/", data)
    elsewhere = Client()
    elsewhere.get("/saml2/login/")  # a browser with a request of its own
    replayed = elsewhere.post("/saml2/acs/", data)

    _login_page_says(client, again, "already used")
    _login_page_says(elsewhere, replayed, "already used")
    assert not _signed_in(client) and not _signed_in(elsewhere)


def test_an_unsolicited_response_is_refused(client: Client, idp: FakeIdP) -> None:
    response = idp.server.create_authn_response(
        {"mail": ["a.jansen@uni.example"]},
        in_response_to="id-nobody-asked-for-this",
        destination=f"{SITE}/saml2/acs/",
        sp_entity_id=SP,
        name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text="pers-7f3a"),
        authn={"class_ref": AUTHN_PASSWORD, "authn_auth": IDP},
        sign_response=True,
        sign_assertion=True,
    )
    data = {
        "SAMLResponse": base64.b64encode(str(response).encode()).decode(),
        "RelayState": "/",
    }

    _login_page_says(client, client.post("/saml2/acs/", data), "not started")
    assert not _signed_in(client)
    assert not User.objects.exists()


def test_a_transient_nameid_without_an_attribute_is_refused(
    client: Client, idp: FakeIdP
) -> None:
    response = _sign_in(
        client, idp, name_format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
    )

    _login_page_says(client, response, "one-time identifier")
    assert not _signed_in(client)
    assert not User.objects.exists()


def test_the_configured_attribute_identifies_the_person(
    keys: dict[str, Any], idp: FakeIdP
) -> None:
    with override_settings(SAML_ID_ATTRIBUTE="urn:oid:0.9.2342.19200300.100.1.3"):
        first, second = Client(), Client()
        _sign_in(first, idp, subject="transient-1")
        _sign_in(second, idp, subject="transient-2")

    assert _signed_in(first) and _signed_in(second)
    identity = ExternalIdentity.objects.get()
    assert identity.subject == "a.jansen@uni.example"


def test_sp_metadata_is_served_with_the_entity_id(client: Client, idp: FakeIdP) -> None:
    response = client.get("/saml2/metadata/")

    assert response.status_code == 200
    body = response.content.decode()
    assert f'entityID="{SP}"' in body
    assert f'Location="{SITE}/saml2/acs/"' in body
    assert "X509Certificate" in body  # ours, for signed requests


def test_the_login_page_offers_the_institution_only_when_enabled(
    client: Client, keys: dict[str, Any]
) -> None:
    label = "Sign in through SURFconext / your institution"
    assert label not in client.get("/accounts/login/").content.decode()
    with saml_on(keys["env"]):
        page = client.get("/accounts/login/?next=/projects/").content.decode()
    assert label in page
    assert 'href="/saml2/login/?next=/projects/"' in page


def test_saml_routes_do_not_exist_when_disabled(client: Client) -> None:
    for url in ("/saml2/metadata/", "/saml2/login/", "/saml2/acs/"):
        assert client.get(url).status_code == 404


def test_logout_ends_the_session_here_and_at_the_idp(
    client: Client, idp: FakeIdP
) -> None:
    _sign_in(client, idp)

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert response["Location"].startswith(SLO + "?SAMLRequest=")
    assert not _signed_in(client)


def test_a_local_account_logs_out_as_before(client: Client, idp: FakeIdP) -> None:
    client.force_login(User.objects.create_user("local", password="x-pass-123"))

    response = client.post("/accounts/logout/")

    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert not _signed_in(client)


def _idp_redirect(idp: FakeIdP, message: Any, destination: str, **kw: Any) -> str:
    """The browser's GET to the SP, as the IdP's HTTP-Redirect binding sends it."""
    info = idp.server.apply_binding(
        BINDING_HTTP_REDIRECT, str(message), destination, relay_state="rs", **kw
    )
    location = dict(info["headers"])["Location"]
    parts = urlparse(location)
    return f"{parts.path}?{parts.query}"


def test_a_logout_started_at_the_idp_ends_the_session_here(
    client: Client, idp: FakeIdP
) -> None:
    _sign_in(client, idp)
    assert _signed_in(client)
    _, request = idp.server.create_logout_request(
        f"{SITE}/saml2/ls/",
        SP,
        name_id=NameID(
            format=NAMEID_FORMAT_PERSISTENT,
            text="pers-7f3a",
            name_qualifier=IDP,
            sp_name_qualifier=SP,
        ),
        sign=True,
    )

    response = client.get(_idp_redirect(idp, request, f"{SITE}/saml2/ls/"))

    # Back to the IdP with its LogoutResponse, and signed out here.
    assert response.status_code == 302, response.content[:500]
    assert response["Location"].startswith(SLO + "?SAMLResponse=")
    assert not _signed_in(client)


def test_the_idps_answer_to_our_logout_request_is_accepted(
    client: Client, idp: FakeIdP
) -> None:
    _sign_in(client, idp)
    sent = client.post("/accounts/logout/")["Location"]
    query = parse_qs(urlparse(sent).query)
    request = idp.server.parse_logout_request(
        query["SAMLRequest"][0], BINDING_HTTP_REDIRECT
    ).message
    answer = idp.server.create_logout_response(
        request, [BINDING_HTTP_REDIRECT], sign=True
    )

    response = client.get(
        _idp_redirect(idp, answer, f"{SITE}/saml2/ls/", response=True)
    )

    assert response.status_code == 302, response.content[:500]
    assert not _signed_in(client)
    assert "/saml2/" not in response["Location"]
