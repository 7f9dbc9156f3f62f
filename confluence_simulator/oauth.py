"""The OAuth 2.0 token endpoint of service accounts (client credentials grant, RFC 6749 section 4.4).

Cloud: `POST /oauth/token` stands in for `https://auth.atlassian.com/oauth/token`; its access tokens are accepted
only through the API gateway's routes, as Atlassian's are. Data Center: `POST {ctx}/rest/oauth2/latest/token`, whose
tokens the site accepts like personal access tokens; a requested `scope` must name Data Center's scopes. The client
credentials come in the form body (or HTTP Basic); Cloud also takes a JSON body. Tokens expire after
`SimulatorConfig.oauth_token_seconds` and there is no refresh token: a client asks again. Errors are RFC 6749's
`{"error", "error_description"}` answers. Scopes are not enforced on the API: a token reads what its user may read.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
import threading
import time
from typing import Any
from urllib.parse import parse_qs

from confluence_simulator.model import Site, User
from confluence_simulator.routes import Request, Response

#: Scopes a Data Center service account's token may be asked for.
DATA_CENTER_SCOPES = frozenset({"READ", "WRITE", "ADMIN", "SYSTEM_ADMIN"})


class TokenIssuer:
    """Issues access tokens for users' OAuth client credentials and tells whose a token is, while it lives."""

    def __init__(self, site: Site, flavour: str, lifetime_seconds: int) -> None:
        self.site = site
        self.flavour = flavour
        self.lifetime_seconds = lifetime_seconds
        self.issued = 0
        self._tokens: dict[str, tuple[str, float]] = {}  # access token -> (account id, monotonic expiry)
        self._lock = threading.Lock()

    def handle(self, request: Request) -> Response:
        fields = self._fields(request)
        if fields.get("grant_type") != "client_credentials":
            return _error(400, "unsupported_grant_type", "Only the client_credentials grant is supported.")
        user = self._client(fields.get("client_id", ""), fields.get("client_secret", ""))
        if user is None:
            challenge = request.headers.get("authorization", "").lower().startswith("basic ")
            return _error(401, "invalid_client", "Unauthorized",
                          [("WWW-Authenticate", 'Basic realm="oauth"')] if challenge else [])
        scope = " ".join(fields.get("scope", "").split())
        if self.flavour == "datacenter" and scope and not set(scope.split()) <= DATA_CENTER_SCOPES:
            return _error(400, "invalid_scope", f"Unknown scope in {scope!r}.")
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            self._tokens = {key: value for key, value in self._tokens.items() if value[1] > now}
            self._tokens[token] = (user.account_id, now + self.lifetime_seconds)
            self.issued += 1
        answer: dict[str, Any] = {"access_token": token, "token_type": "Bearer", "expires_in": self.lifetime_seconds}
        if scope:
            answer["scope"] = scope
        return Response.json_obj(answer, headers=[("Cache-Control", "no-store")])

    def revoke_all(self) -> None:
        """Every token issued so far stops working (as when an admin deletes or rotates the credential)."""
        with self._lock:
            self._tokens.clear()

    def holder(self, token: str) -> tuple[User | None, bool]:
        """(the user a token was issued to, whether it is still valid); (None, False) for a token never issued."""
        with self._lock:
            found = self._tokens.get(token)
        if found is None:
            return None, False
        return self.site.users.get(found[0]), time.monotonic() < found[1]

    def _client(self, client_id: str, client_secret: str) -> User | None:
        for user in self.site.users.values():
            if (user.oauth_client_id and hmac.compare_digest(user.oauth_client_id.encode(), client_id.encode())
                    and hmac.compare_digest(user.oauth_client_secret.encode(), client_secret.encode())):
                return user
        return None

    def _fields(self, request: Request) -> dict[str, str]:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        fields: dict[str, str] = {}
        if content_type == "application/json" and self.flavour == "cloud":
            try:
                body = json.loads(request.body or b"{}")
            except ValueError:
                body = {}
            if isinstance(body, dict):
                fields = {str(key): str(value) for key, value in body.items() if value is not None}
        elif content_type == "application/x-www-form-urlencoded":
            fields = {key: values[0] for key, values in parse_qs(request.body.decode("utf-8", "replace")).items()}
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic" and "client_id" not in fields:  # client_secret_basic
            try:
                client_id, _, client_secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                client_id = client_secret = ""
            fields.update(client_id=client_id, client_secret=client_secret)
        return fields


def _error(status: int, code: str, description: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response.json_obj({"error": code, "error_description": description}, status=status,
                             headers=[("Cache-Control", "no-store"), *(headers or [])])
