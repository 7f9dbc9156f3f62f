"""OAuth 2.0 client credentials, the way Atlassian's service accounts sign in without a person's password or token.

Cloud service accounts ask `https://auth.atlassian.com/oauth/token` for an access token and use it only through the
API gateway; Data Center service accounts ask the site's own `/rest/oauth2/latest/token`. Either token lives about an
hour and there is no refresh token: the client credentials are sent again for a new one. dlt's
`OAuth2ClientCredentials` builds that exchange; this adds what a long sync with many threads needs:

* one exchange at a time. Shortly before the token expires, one thread renews it while the others go on with the
  current one; only a token that has expired makes them wait;
* a request that is sent again (a retry after a 429 or 5xx, possibly minutes later) carries the current token, not
  the one it was first prepared with (`fresh_header`);
* a token the site refuses although it should still be good (revoked, or the site's clock ahead) is replaced once
  and the request sent again (`renew_refused`);
* errors that name the setting to fix instead of a bare HTTP status.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import requests
from dlt.sources.helpers.rest_client.auth import OAuth2ClientCredentials

from .config import AuthSettings, setting
from .errors import ConfluenceError, ConfluenceTokenError

logger = logging.getLogger(__name__)

#: Renew a token this long before it expires (at most a tenth of its lifetime).
RENEW_BEFORE_SECONDS = 60.0
#: Token endpoint errors (RFC 6749, section 5.2) that mean the scope, not the client credentials, is wrong.
_SCOPE_ERRORS = ("invalid_scope",)
#: After a failed early renewal, try again this long later at most (the current token is still good meanwhile).
RETRY_RENEWAL_SECONDS = 30.0
#: Longest lifetime believed of a token, whatever `expires_in` says.
MAX_LIFETIME_SECONDS = 86_400
_MAX_QUOTED = 200  # characters of the token endpoint's own error text quoted in a message


class ServiceAccountAuth(OAuth2ClientCredentials):
    """Bearer access tokens from a token endpoint, for every thread of one client."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._lock = threading.Lock()
        self._renew_at = 0.0  # time.monotonic() after which the token is renewed ...
        self._expires_at = 0.0  # ... and after which it is no longer sent
        # recent tokens (replaced whole, read without the lock): a header carrying one of them is ours to update
        self._issued: tuple[str, ...] = ()
        self._exchanges = 0  # token requests so far, and how the last one failed (None: it did not)
        self._failure: BaseException | None = None

    def __repr__(self) -> str:  # the dataclass repr would show the client secret and the token
        return f"{type(self).__name__}(access_token_url={self.access_token_url!r})"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self.header()
        return request

    def header(self) -> str:
        """The Authorization header with a token that is still good."""
        return f"Bearer {self.token()}"

    def token(self) -> str:
        """A token that is still good, renewed first where it is due."""
        token, now = self.access_token, time.monotonic()
        if token is not None and now < self._renew_at:
            return token
        if token is not None and now < self._expires_at:
            if self._lock.acquire(blocking=False):  # one thread renews; the others go on with the current token
                try:
                    if time.monotonic() >= self._renew_at:
                        self.obtain_token()
                except (ConfluenceError, requests.RequestException) as error:
                    # the current token is still good: use it, and try again a little later (once it has expired,
                    # a failed renewal fails the request)
                    self._renew_at = now + min(RETRY_RENEWAL_SECONDS, (self._expires_at - now) / 2)
                    logger.warning("Could not renew the OAuth access token yet (%s); the current one is still valid",
                                   type(error).__name__)
                finally:
                    self._lock.release()
            return self.access_token or token
        exchanges = self._exchanges
        with self._lock:
            self._raise_failure_since(exchanges)
            if self.access_token is None or time.monotonic() >= self._renew_at:
                self.obtain_token()
            return str(self.access_token)

    def is_token_expired(self) -> bool:
        return time.monotonic() >= self._expires_at

    def fresh_header(self, sent: str | None) -> str | None:
        """The Authorization header to send instead of `sent` where `sent` carries one of this auth's tokens that is
        no longer the current one (a request sent again later); None to leave the request as it is."""
        if self._own_token(sent) is None:
            return None
        current = self.header()
        return None if current == sent else current

    def renew_refused(self, sent: str | None) -> bool:
        """The site refused the token in `sent` (401): replace it, unless another thread already has. True when `sent`
        carried one of this auth's tokens, so that the request may be sent once more with the current one."""
        token = self._own_token(sent)
        if token is None:
            return False
        exchanges = self._exchanges
        with self._lock:
            self._raise_failure_since(exchanges)
            if self.access_token == token:
                self.obtain_token()
        return True

    def obtain_token(self) -> None:
        """Exchange the client credentials for an access token (callers hold the lock). A `requests.RequestException`
        (no answer) leaves with `oauth_token_url` set on it, so that the client's message names that setting. A
        failure is kept until the next exchange: threads that waited for this one fail with it instead of asking
        the token endpoint again, each with its own retries."""
        try:
            self._exchange()
        except BaseException as error:
            self._failure = error
            raise
        else:
            self._failure = None
        finally:
            self._exchanges += 1  # counted once it is over: whoever waited for it sees that it happened

    def _raise_failure_since(self, exchanges: int) -> None:
        if self._exchanges != exchanges and self._failure is not None:
            raise self._failure

    def _exchange(self) -> None:
        try:
            # never redirected: the client secret goes to `oauth_token_url` and nowhere else
            response = self.session.post(self.access_token_url, allow_redirects=False,
                                         **self.build_access_token_request())
        except requests.RequestException as error:
            error.oauth_token_url = self.access_token_url  # type: ignore[attr-defined]
            raise
        answer = _json_object(response)
        status = response.status_code
        if status in (400, 401, 403):
            raise ConfluenceTokenError(self._refusal(status, answer), names_a_setting=True)
        if status == 429 or status >= 500:
            raise ConfluenceTokenError(
                f"The OAuth token endpoint {self.access_token_url} kept answering HTTP {status}, also after retries",
                names_a_setting=False)
        token = answer.get("access_token")
        if status >= 300 or not isinstance(token, str) or not token:
            raise ConfluenceTokenError(
                f"The OAuth token endpoint {self.access_token_url} answered HTTP {status} without an access token; "
                f"check {setting('oauth_token_url')}", names_a_setting=True)
        lifetime = self.parse_expiration_in_seconds(answer)
        now = time.monotonic()
        self.access_token = token
        self._issued = (*self._issued[-7:], token)
        self._expires_at = now + lifetime
        self._renew_at = self._expires_at - min(RENEW_BEFORE_SECONDS, lifetime / 10)

    def parse_expiration_in_seconds(self, response_json: Any) -> int:
        try:
            lifetime = int(float(response_json.get("expires_in", self.default_token_expiration)))
        except (TypeError, ValueError, OverflowError):
            lifetime = self.default_token_expiration
        return min(max(lifetime, 1), MAX_LIFETIME_SECONDS)

    def _own_token(self, header: str | None) -> str | None:
        scheme, _, token = (header or "").partition(" ")
        return token if scheme == "Bearer" and token in self._issued else None

    def _refusal(self, status: int, answer: dict[str, Any]) -> str:
        code = str(answer.get("error") or "")[:_MAX_QUOTED]
        description = str(answer.get("error_description") or "")[:_MAX_QUOTED]
        said = ": ".join(part for part in (code, description) if part) or "no reason given"
        check = (setting("oauth_scope") if code in _SCOPE_ERRORS
                 else f"{setting('oauth_client_id')} and {setting('oauth_client_secret')}")
        return (f"The OAuth token endpoint {self.access_token_url} refused the client credentials (HTTP {status}, "
                f"{said}); check {check}")


def service_account_auth(auth: AuthSettings, session: requests.Session) -> ServiceAccountAuth:
    """The auth for `auth.kind == "oauth"`, exchanging through `session` (its TLS settings, proxies, timeouts and
    retries; a session of its own, so that the token endpoint's answers do not pace or count as Confluence's)."""
    return ServiceAccountAuth(
        access_token_url=auth.token_url,
        client_id=auth.username,
        client_secret=auth.secret,
        access_token_request_data={"scope": auth.scope} if auth.scope else {},
        session=session,
    )


def _json_object(response: requests.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
