"""Who is calling: the credential schemes each flavour accepts, and the 401 answers for the rest.

Cloud (site URL) accepts HTTP Basic with e-mail + API token only; a Bearer token, a password or a scoped API token
is refused there, as on Atlassian's site URLs. Through the api.atlassian.com gateway (`/ex/confluence/{cloudId}`)
Basic e-mail + API token is accepted with a scoped token as well, and so are the Bearer access tokens of OAuth 2.0
client credentials (`oauth.TokenIssuer`). Data Center accepts Basic username + password, and Bearer personal access
tokens or OAuth access tokens. An expired access token gets 401.
Requests without an Authorization header are refused too unless the simulator is told to allow anonymous access,
in which case they run as an anonymous user who sees only spaces granted to anonymous users (Confluence's
behaviour when anonymous access is on).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import threading
from typing import Literal

from confluence_simulator.model import Site, User
from confluence_simulator.oauth import TokenIssuer
from confluence_simulator.routes import ApiError

Flavour = Literal["cloud", "datacenter"]

ANONYMOUS = User(
    account_id="",
    user_key="",
    username="",
    display_name="Anonymous",
    email="",
    password="",
    api_token="",
    personal_access_token="",
)


def _same(secret: str, offered: str) -> bool:
    return bool(secret) and hmac.compare_digest(secret.encode("utf-8"), offered.encode("utf-8"))


class Authenticator:
    """Maps an Authorization header to a `User`, caching decoded headers (re-checked against the user each time)."""

    def __init__(self, site: Site, flavour: Flavour, allow_anonymous: bool = False,
                 tokens: TokenIssuer | None = None) -> None:
        self.site = site
        self.flavour = flavour
        self.allow_anonymous = allow_anonymous
        self.tokens = tokens
        self._cache: dict[str, str] = {}  # Authorization header -> account id
        self._lock = threading.Lock()

    def authenticate(self, header: str | None, via_gateway: bool = False) -> User:
        if not header:
            if self.allow_anonymous and not via_gateway:
                return ANONYMOUS
            raise ApiError(401, "Client must be authenticated to access this resource.")
        key = f"{via_gateway}:{header}"
        cached = self._cache.get(key)
        if cached is not None:
            user = self.site.users.get(cached)
            if user is not None and self._still_valid(user, header, via_gateway):
                return user
        user = self._resolve(header, via_gateway)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = user.account_id
        return user

    def _resolve(self, header: str, via_gateway: bool) -> User:
        scheme, _, value = header.strip().partition(" ")
        scheme = scheme.lower()
        value = value.strip()
        if scheme == "basic":
            name, secret = _decode_basic(value)
            if self.flavour == "cloud":
                user = self.site.user_by_email(name)
                if user is not None and _cloud_token_fits(user, secret, via_gateway):
                    return user
                raise ApiError(401, "Basic authentication with passwords is deprecated or the API token is wrong.")
            user = self.site.user_by_username(name)
            if user is not None and _same(user.password, secret):
                return user
            raise ApiError(401, "Authentication failed: wrong username or password.")
        if scheme == "bearer":
            holder = self._token_holder(value, via_gateway)
            if holder is not None:
                return holder
            if self.flavour == "cloud":
                raise ApiError(401, "Bearer tokens are only accepted on the api.atlassian.com gateway.")
            for user in self.site.users.values():
                if _same(user.personal_access_token, value):
                    return user
            raise ApiError(401, "Authentication failed: the personal access token is invalid or expired.")
        raise ApiError(401, f"Unsupported authorization scheme: {scheme or 'none'}")

    def _still_valid(self, user: User, header: str, via_gateway: bool) -> bool:
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() == "bearer":
            holder, valid = self.tokens.holder(value.strip()) if self.tokens is not None else (None, False)
            if holder is not None:
                return valid and holder is user and (via_gateway or self.flavour == "datacenter")
            return self.flavour == "datacenter" and _same(user.personal_access_token, value.strip())
        try:
            _, secret = _decode_basic(value.strip())
        except ApiError:
            return False
        if self.flavour == "cloud":
            return _cloud_token_fits(user, secret, via_gateway)
        return _same(user.password, secret)

    def _token_holder(self, token: str, via_gateway: bool) -> User | None:
        """The user an OAuth access token was issued to; None for a token never issued (maybe a PAT)."""
        holder, valid = self.tokens.holder(token) if self.tokens is not None else (None, False)
        if holder is None:
            return None
        if not valid:
            raise ApiError(401, "The access token expired.",
                           headers=[("WWW-Authenticate", 'Bearer error="invalid_token", error_description="expired"')])
        if self.flavour == "cloud" and not via_gateway:
            raise ApiError(401, "OAuth access tokens are only accepted on the api.atlassian.com gateway.")
        return holder


def _cloud_token_fits(user: User, secret: str, via_gateway: bool) -> bool:
    """A classic API token works at the site and through the gateway; a scoped one only through the gateway."""
    return _same(user.api_token, secret) or (via_gateway and _same(user.scoped_api_token, secret))


def _decode_basic(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ApiError(401, "Malformed Basic authorization header.") from exc
    name, sep, secret = decoded.partition(":")
    if not sep:
        raise ApiError(401, "Malformed Basic authorization header.")
    return name, secret
