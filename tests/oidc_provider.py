"""A small OpenID Connect provider for the tests, served on loopback.

Discovery, an authorisation endpoint that redirects back with a code, a token
endpoint that checks the client's secret and the PKCE verifier (S256), RS256
ID tokens, JWKS and userinfo; each field of `Provider` lets a test make it
misbehave in one way.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_ID, CLIENT_SECRET = "rqs-platform", "s3cret-of-the-client"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Provider:
    """State of the provider; the HTTP handler below reads and writes it."""

    key: rsa.RSAPrivateKey
    claims: dict[str, Any]
    signing_key: rsa.RSAPrivateKey | None = None  # None: the published key
    nonce: str | None = None  # None: the one the client sent
    end_session: bool = True
    issuer: str = ""
    token_issuer: str = ""  # empty: the provider's own
    userinfo: dict[str, Any] | None = None  # None: the ID token's claims
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_refusals: list[str] = field(default_factory=list)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)

    def discovery(self) -> dict[str, Any]:
        doc = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "code_challenge_methods_supported": ["S256"],
        }
        if self.end_session:
            doc["end_session_endpoint"] = f"{self.issuer}/logout"
        return doc

    def id_token(self, nonce: str) -> str:
        now = int(time.time())
        payload = {
            **self.claims,
            "iss": self.token_issuer or self.issuer,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": self.nonce if self.nonce is not None else nonce,
        }
        return jwt.encode(
            payload,
            self.signing_key or self.key,
            algorithm="RS256",
            headers={"kid": "k1"},
        )


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any = None, **headers: str) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                self._send(200, provider.discovery())
            elif url.path == "/jwks":
                public = jwt.algorithms.RSAAlgorithm.to_jwk(
                    provider.key.public_key(), as_dict=True
                )
                self._send(200, {"keys": [{**public, "kid": "k1", "use": "sig"}]})
            elif url.path == "/authorize":
                provider.authorize_requests.append(query)
                code = secrets.token_urlsafe(16)
                provider.codes[code] = query
                back = f"{query['redirect_uri']}?" + urlencode(
                    {"code": code, "state": query["state"]}
                )
                self._send(302, Location=back)
            elif url.path == "/userinfo":
                if self.headers.get("Authorization") != "Bearer at-1":
                    self._send(401, {"error": "invalid_token"})
                else:
                    self._send(200, provider.userinfo or provider.claims)
            else:
                self._send(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {
                k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()
            }
            refusal = _refusal(provider, form)
            if refusal:
                provider.token_refusals.append(refusal)
                self._send(400, {"error": "invalid_grant"})
                return
            request = provider.codes.pop(form["code"])
            self._send(
                200,
                {
                    "access_token": "at-1",
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": provider.id_token(request.get("nonce", "")),
                },
            )

    return Handler


def _refusal(provider: Provider, form: dict[str, str]) -> str:
    """Why the token endpoint refuses this request ('' when it does not)."""
    if form.get("client_id") != CLIENT_ID or form.get("client_secret") != (
        CLIENT_SECRET
    ):
        return "client"
    request = provider.codes.get(form.get("code", ""))
    if request is None or form.get("redirect_uri") != request["redirect_uri"]:
        return "code"
    digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    if request.get("code_challenge_method") != "S256" or (
        challenge != request.get("code_challenge")
    ):
        return "pkce"
    return ""


@contextmanager
def serve(provider: Provider) -> Iterator[Provider]:
    """Serve `provider` on a free loopback port; its issuer is that address."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    provider.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
