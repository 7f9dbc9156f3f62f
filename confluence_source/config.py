"""Validated settings of the Confluence source, built from the source arguments (i.e. from dlt config and secrets).

Everything a user can get wrong in `[sources.confluence]` is checked here, before a single request is sent, and
reported as one line naming the setting. The rest of the package only ever sees a `ConfluenceSettings`, whose values
are normalised: one flavour name, URLs without trailing slashes, space keys as a tuple, rules as plain CQL strings.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence
from urllib.parse import SplitResult, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import settings as defaults
from .errors import ConfluenceConfigError

Flavour = Literal["cloud", "datacenter"]
SECTION = "sources.confluence"


def setting(name: str) -> str:
    """The full name of a setting as the user writes it, for error messages."""
    return f"{SECTION}.{name}"


@dataclass(frozen=True)
class AuthSettings:
    """How to authenticate. `secret` is a password, API token, personal access token or OAuth client secret; never
    log it. For "oauth" (a service account's client credentials), `username` is the client id, and every request
    carries an access token asked of `token_url` (with `scope`, where given) and asked again before it expires."""

    kind: Literal["basic", "bearer", "oauth"]
    username: str | None
    secret: str = field(repr=False)
    setting_names: tuple[str, ...]
    token_url: str | None = None
    scope: str | None = None

    def describe(self) -> str:
        """The settings to check when Confluence rejects these credentials."""
        return " and ".join(setting(name) for name in self.setting_names)


@dataclass(frozen=True)
class ConfluenceSettings:
    """All settings the readers use, validated and normalised."""

    flavour: Flavour
    site_url: str  # Cloud: https://site.atlassian.net ; DC: https://host[:port][/context]
    auth: AuthSettings
    spaces: tuple[str, ...] | None  # None means every space the user can see
    advanced_rules: tuple[str, ...] = ()
    ssl_enabled: bool = True
    ssl_ca: str | None = field(default=None, repr=False)
    retry_count: int = defaults.DEFAULT_RETRY_COUNT
    concurrent_downloads: int = defaults.DEFAULT_CONCURRENT_DOWNLOADS
    request_timeout: float = defaults.DEFAULT_REQUEST_TIMEOUT
    index_archived: bool = False
    overlap_minutes: int = defaults.DEFAULT_OVERLAP_MINUTES
    cql_timezone: str | None = None
    check_labels_and_moves: bool = True
    extract_attachment_content: bool = True
    max_file_download_size: int = defaults.MAX_ATTACHMENT_BYTES  # bytes: larger files are indexed without text
    max_file_text_length: int = defaults.MAX_EXTRACTED_CHARS  # characters of a file's text that are kept
    backoff_seconds: float = defaults.DEFAULT_BACKOFF_SECONDS
    max_retry_delay: float = defaults.DEFAULT_MAX_RETRY_DELAY
    api_gateway: str | None = None  # Cloud: origin of Atlassian's API gateway (scoped tokens), e.g. api.atlassian.com
    cloud_id: str | None = None  # the site's cloud id, which the gateway's URLs name (looked up when not given)

    @property
    def is_cloud(self) -> bool:
        return self.flavour == defaults.CLOUD

    @property
    def api_base(self) -> str:
        """Where the REST APIs are: the site, or through the gateway `{gateway}/ex/confluence/{cloudId}`."""
        if self.api_gateway is None:
            return self.site_url
        if self.cloud_id is None:
            raise ValueError("the cloud id of the site has not been looked up yet")
        return f"{self.api_gateway}{defaults.GATEWAY_PATH}{self.cloud_id}"

    @property
    def api_web_base(self) -> str:
        """What the v1 API's relative `_links.next` are relative to: `/wiki` on Cloud (also through the gateway)."""
        return self.api_base + defaults.CLOUD_WIKI_PREFIX if self.is_cloud else self.site_url

    @property
    def address(self) -> str:
        """Where the API requests go, as configured: the gateway (with the cloud id where given) or the site."""
        return f"{self.api_gateway} {self.cloud_id or ''}".strip() if self.api_gateway else self.site_url

    @property
    def address_setting(self) -> str:
        """The setting that says where the API requests go (named when they cannot get there)."""
        return "api_gateway" if self.api_gateway else "confluence_url"

    @property
    def web_base(self) -> str:
        """What `_links.webui` and `_links.download` are relative to."""
        return self.site_url + defaults.CLOUD_WIKI_PREFIX if self.is_cloud else self.site_url

    @property
    def v1_root(self) -> str:
        return self.api_base + (defaults.CLOUD_V1_ROOT if self.is_cloud else defaults.DC_V1_ROOT)

    @property
    def v2_root(self) -> str:
        if not self.is_cloud:
            raise ValueError("REST v2 exists on Confluence Cloud only")
        return self.api_base + defaults.CLOUD_V2_ROOT

    @property
    def flavour_label(self) -> str:
        return "Confluence Cloud" if self.is_cloud else "Confluence Server/Data Center"


def build_settings(
    *,
    data_source: str | None = defaults.DEFAULT_DATA_SOURCE,
    confluence_url: str | None = None,
    username: str | None = None,
    password: str | None = None,
    account_email: str | None = None,
    api_token: str | None = None,
    personal_access_token: str | None = None,
    data_center_username: str | None = None,
    data_center_password: str | None = None,
    data_center_personal_access_token: str | None = None,
    spaces: str | Sequence[str] | None = defaults.DEFAULT_SPACES,
    advanced_rules: str | Sequence[Any] | None = None,
    ssl_enabled: bool | str | None = True,
    ssl_ca: str | None = None,
    retry_count: int | str | None = defaults.DEFAULT_RETRY_COUNT,
    concurrent_downloads: int | str | None = defaults.DEFAULT_CONCURRENT_DOWNLOADS,
    request_timeout: float | str | None = defaults.DEFAULT_REQUEST_TIMEOUT,
    index_archived: bool | str | None = False,
    overlap_minutes: int | str | None = defaults.DEFAULT_OVERLAP_MINUTES,
    cql_timezone: str | None = None,
    check_labels_and_moves: bool | str | None = True,
    extract_attachment_content: bool | str | None = True,
    max_file_download_size: int | str | None = defaults.MAX_ATTACHMENT_BYTES,
    max_file_text_length: int | str | None = defaults.MAX_EXTRACTED_CHARS,
    backoff_seconds: float | str | None = defaults.DEFAULT_BACKOFF_SECONDS,
    max_retry_delay: float | str | None = defaults.DEFAULT_MAX_RETRY_DELAY,
    api_gateway: str | None = None,
    oauth_client_id: str | None = None,
    oauth_client_secret: str | None = None,
    oauth_token_url: str | None = None,
    oauth_scope: str | None = None,
    data_center_auth_method: str | None = None,
    use_document_level_security: bool | str | None = False,
    index_labels: bool | str | None = None,
    use_text_extraction_service: bool | str | None = None,
) -> ConfluenceSettings:
    """Check and normalise the raw source arguments; raises `ConfluenceConfigError` naming the first bad setting.

    `data_center_username`, `data_center_password` and `data_center_personal_access_token` are the names newer
    versions of Elastic's connector use for Data Center credentials; where set, they are used instead of `username`
    and `password` (as a pair) or `personal_access_token`, and its `data_center_auth_method` picks one of them, so
    such a configuration carries over. Its `index_labels` and `use_text_extraction_service` are checked and change
    nothing (labels are always indexed, files' text is extracted here); `use_document_level_security` is refused,
    since permissions are not synced."""
    if _parse_bool(use_document_level_security, "use_document_level_security", default=False):
        raise ConfluenceConfigError(
            f"{setting('use_document_level_security')}: this connector does not sync Confluence permissions, so "
            "every indexed document is visible to everyone who may read the index: restrict who reads it in "
            "Elasticsearch, and set this to false (or remove it)")
    _parse_bool(index_labels, "index_labels", default=True)
    _parse_bool(use_text_extraction_service, "use_text_extraction_service", default=False)
    flavour = parse_data_source(data_source)
    site_url = normalise_url(confluence_url, flavour)
    basic_names = ("username", "password")
    data_center_pair = (_blank_to_none(data_center_username), _blank_to_none(data_center_password))
    if flavour == defaults.DATA_CENTER and any(data_center_pair):
        # as in Elastic's connector, a Data Center configuration's own pair is used whole, never mixed with a
        # Server pair left over from before
        username, password, basic_names = data_center_username, data_center_password, (
            "data_center_username", "data_center_password")
    token_name = "personal_access_token"
    if flavour == defaults.DATA_CENTER and _blank_to_none(data_center_personal_access_token):
        personal_access_token, token_name = data_center_personal_access_token, "data_center_personal_access_token"
    method = parse_data_center_auth_method(data_center_auth_method)  # checked everywhere, used on Data Center
    method = method if flavour == defaults.DATA_CENTER else None
    if method == "basic":
        if not (_blank_to_none(username) and _blank_to_none(password)):
            raise ConfluenceConfigError(f"{setting('data_center_auth_method')} = basic needs "
                                        f"{setting(basic_names[0])} and {setting(basic_names[1])}")
        personal_access_token = None  # as in Elastic's connector: the method chosen, whatever else is left set
    elif method == "personal_access_token":
        if not _blank_to_none(personal_access_token):
            raise ConfluenceConfigError(f"{setting('data_center_auth_method')} = personal_access_token needs "
                                        f"{setting(token_name)}")
        username = password = None
    others = {basic_names[0]: username, basic_names[1]: password, "account_email": account_email,
              "api_token": api_token, token_name: personal_access_token}
    oauth = select_oauth(flavour, site_url, client_id=_blank_to_none(oauth_client_id),
                         client_secret=_blank_to_none(oauth_client_secret), token_url=_blank_to_none(oauth_token_url),
                         scope=_blank_to_none(oauth_scope),
                         other_credentials=[name for name, value in others.items() if _blank_to_none(value)])
    auth = oauth or select_auth(
        flavour,
        username=_blank_to_none(username),
        password=_blank_to_none(password),
        account_email=_blank_to_none(account_email),
        api_token=_blank_to_none(api_token),
        personal_access_token=_blank_to_none(personal_access_token),
        basic_names=basic_names,
        token_name=token_name,
    )
    if oauth is not None and flavour == defaults.CLOUD and not _blank_to_none(api_gateway):
        api_gateway = defaults.ATLASSIAN_API_GATEWAY  # Atlassian takes OAuth access tokens only there
    timezone_name = _blank_to_none(cql_timezone)
    if timezone_name is not None:
        try:
            ZoneInfo(timezone_name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfluenceConfigError(
                f"{setting('cql_timezone')} = {timezone_name!r} is not a known time zone "
                "(use a name like 'Europe/Berlin')"
            ) from exc
    rules = parse_advanced_rules(advanced_rules)
    gateway, cloud_id = parse_api_gateway(api_gateway, flavour, site_url)
    return ConfluenceSettings(
        flavour=flavour,
        site_url=site_url,
        auth=auth,
        spaces=None if rules else parse_spaces(spaces),  # the rules replace `spaces`: it is neither read nor checked
        advanced_rules=rules,
        ssl_enabled=_parse_bool(ssl_enabled, "ssl_enabled", default=True),
        ssl_ca=_blank_to_none(ssl_ca),
        retry_count=_parse_int(retry_count, "retry_count", defaults.DEFAULT_RETRY_COUNT, minimum=0),
        concurrent_downloads=_parse_int(
            concurrent_downloads, "concurrent_downloads", defaults.DEFAULT_CONCURRENT_DOWNLOADS, minimum=1,
            maximum=defaults.MAX_DOWNLOAD_THREADS,
        ),
        request_timeout=_parse_float(request_timeout, "request_timeout", defaults.DEFAULT_REQUEST_TIMEOUT),
        index_archived=_parse_bool(index_archived, "index_archived", default=False),
        overlap_minutes=_parse_int(overlap_minutes, "overlap_minutes", defaults.DEFAULT_OVERLAP_MINUTES, minimum=0,
                                   maximum=defaults.MAX_OVERLAP_MINUTES),
        cql_timezone=timezone_name,
        check_labels_and_moves=_parse_bool(check_labels_and_moves, "check_labels_and_moves", default=True),
        extract_attachment_content=_parse_bool(extract_attachment_content, "extract_attachment_content",
                                               default=True),
        max_file_download_size=_parse_int(max_file_download_size, "max_file_download_size",
                                          defaults.MAX_ATTACHMENT_BYTES, minimum=1,
                                          maximum=defaults.MAX_ATTACHMENT_BYTES_LIMIT),
        max_file_text_length=_parse_int(max_file_text_length, "max_file_text_length", defaults.MAX_EXTRACTED_CHARS,
                                        minimum=1, maximum=defaults.MAX_EXTRACTED_CHARS_LIMIT),
        backoff_seconds=_parse_float(backoff_seconds, "backoff_seconds", defaults.DEFAULT_BACKOFF_SECONDS, minimum=0),
        max_retry_delay=_parse_float(max_retry_delay, "max_retry_delay", defaults.DEFAULT_MAX_RETRY_DELAY, minimum=0),
        api_gateway=gateway,
        cloud_id=cloud_id,
    )


def _netloc(parts: SplitResult, name: str) -> str:
    """Host (lower case, an IPv6 literal in brackets) and port of a URL given in setting `name`."""
    try:
        port = parts.port
    except ValueError as exc:
        raise ConfluenceConfigError(f"{name} has an invalid port") from exc
    host = (parts.hostname or "").lower()
    return (f"[{host}]" if ":" in host else host) + (f":{port}" if port else "")


def parse_api_gateway(value: str | None, flavour: Flavour, site_url: str = "") -> tuple[str | None, str | None]:
    """(gateway origin, cloud id) of `api_gateway`: blank for none; `https://api.atlassian.com`, whose cloud id is
    then looked up from the site; or the whole `https://api.atlassian.com/ex/confluence/{cloudId}` (a `/wiki` or
    longer path after it is dropped). Scoped API tokens and service accounts work only through the gateway."""
    name = setting("api_gateway")
    raw = (value or "").strip()
    if not raw:
        return None, None
    if flavour != defaults.CLOUD:
        raise ConfluenceConfigError(f"{name} is for Confluence Cloud only; leave it empty for Server/Data Center")
    if _USER_INFO.match(raw):
        raise ConfluenceConfigError(f"{name} must not contain credentials; put them in the credential settings instead")
    parts = urlsplit(raw)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfluenceConfigError(f"{name} = {raw!r} is not an http(s) URL (e.g. https://api.atlassian.com)")
    host = parts.hostname.lower()
    if host == (urlsplit(site_url).hostname or "").lower() or host.endswith(".atlassian.net"):
        raise ConfluenceConfigError(
            f"{name} = {raw!r} is a site's address; the gateway is https://api.atlassian.com (the site's own address "
            f"goes in {setting('confluence_url')})"
        )
    origin = f"{parts.scheme.lower()}://{_netloc(parts, name)}"
    path = re.sub(r"/+", "/", parts.path or "").rstrip("/")
    if not path:
        return origin, None
    found = _GATEWAY_SITE_PATH.fullmatch(path)
    if found is None:
        raise ConfluenceConfigError(
            f"{name} = {raw!r}: give the gateway's address (https://api.atlassian.com), or its URL of the site "
            "(https://api.atlassian.com/ex/confluence/<cloud id>)"
        )
    return origin, found.group(1)


def parse_data_source(value: str | None) -> Flavour:
    """'Confluence Cloud' / 'cloud' -> cloud; 'Confluence Server' / 'Confluence Data Center' / 'datacenter' and
    similar spellings -> datacenter (Server and Data Center share one API)."""
    raw = (value or defaults.DEFAULT_DATA_SOURCE).strip()
    key = re.sub(r"[\s_\-]+", "", raw.lower())
    flavour = defaults.DATA_SOURCE_ALIASES.get(key)
    if flavour is None:
        raise ConfluenceConfigError(
            f"{setting('data_source')} = {raw!r} is not one of 'Confluence Cloud', 'Confluence Server', "
            "'Confluence Data Center'"
        )
    return flavour  # type: ignore[return-value]


_GATEWAY_SITE_PATH = re.compile(r"/ex/confluence/([0-9A-Za-z-]+)(?:/.*)?")
_USER_INFO = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.\-]*:)?(?://)?[^/?#@\s]*@")


def normalise_url(value: str | None, flavour: Flavour) -> str:
    """The site URL without trailing slash.

    Cloud: the site root, whether the user wrote it with or without `/wiki` (or pasted a page link under `/wiki`).
    Data Center: scheme, host, port and context path (e.g. `/confluence`); a pasted REST URL is cut at `/rest/`.
    """
    name = setting("confluence_url")
    raw = (value or "").strip()
    if not raw:
        raise ConfluenceConfigError(
            f"{name} is not set (e.g. https://example.atlassian.net or https://host/confluence)")
    # `user:password@` in front of the host, also in a URL that is malformed otherwise: refused before the value is
    # quoted in any message
    if _USER_INFO.match(raw):
        raise ConfluenceConfigError(
            f"{name} must not contain credentials; put them in the credential settings instead"
        )
    parts = urlsplit(raw)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ConfluenceConfigError(f"{name} = {raw!r} is not an http(s) URL (e.g. https://example.atlassian.net)")
    netloc = _netloc(parts, name)
    path = re.sub(r"/+", "/", parts.path or "").rstrip("/")
    if flavour == defaults.CLOUD:
        if path == defaults.CLOUD_WIKI_PREFIX or path.startswith(defaults.CLOUD_WIKI_PREFIX + "/"):
            path = ""
        elif path:
            raise ConfluenceConfigError(
                f"{name} = {raw!r}: for Confluence Cloud use the site URL, e.g. https://example.atlassian.net"
            )
    else:
        rest_at = path.find("/rest/")
        if rest_at >= 0 or path.endswith("/rest"):
            path = path[: rest_at if rest_at >= 0 else len(path) - len("/rest")]
    return urlunsplit((parts.scheme.lower(), netloc, path, "", ""))


def select_oauth(
    flavour: Flavour,
    site_url: str,
    *,
    client_id: str | None,
    client_secret: str | None,
    token_url: str | None,
    scope: str | None,
    other_credentials: Sequence[str] = (),
) -> AuthSettings | None:
    """OAuth 2.0 client credentials (a service account's) when `oauth_client_id` or `oauth_client_secret` is set,
    else None; both must be set, and no other credential beside them (which one to use would be a guess)."""
    if not (client_id or client_secret):
        for name, value in (("oauth_token_url", token_url), ("oauth_scope", scope)):
            if value:
                raise ConfluenceConfigError(f"{setting(name)} is set, but {setting('oauth_client_id')} and "
                                            f"{setting('oauth_client_secret')} are not")
        return None
    if not (client_id and client_secret):
        missing = "oauth_client_secret" if client_id else "oauth_client_id"
        raise ConfluenceConfigError(f"OAuth 2.0 client credentials need {setting(missing)} as well")
    if other_credentials:
        raise ConfluenceConfigError(
            f"{setting('oauth_client_id')} and {setting('oauth_client_secret')} are set, and so is "
            + ", ".join(setting(name) for name in other_credentials)
            + ": give one kind of credentials only"
        )
    if token_url is None:
        token_url = (defaults.CLOUD_OAUTH_TOKEN_URL if flavour == defaults.CLOUD
                     else site_url + defaults.DC_OAUTH_TOKEN_PATH)
    else:
        token_url = _token_url(token_url, site_url)
    if scope is None and flavour == defaults.DATA_CENTER:
        scope = defaults.DC_OAUTH_DEFAULT_SCOPE
    return AuthSettings("oauth", client_id, client_secret, ("oauth_client_id", "oauth_client_secret"),
                        token_url=token_url, scope=" ".join(scope.split()) if scope else None)


def _token_url(raw: str, site_url: str) -> str:
    """`oauth_token_url`, normalised. Plain http only to the site's own host or this machine: the client secret
    travels in the request."""
    name = setting("oauth_token_url")
    if _USER_INFO.match(raw):
        raise ConfluenceConfigError(f"{name} must not contain credentials; put them in the credential settings instead")
    parts = urlsplit(raw)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ConfluenceConfigError(f"{name} = {raw!r} is not an http(s) URL (e.g. {defaults.CLOUD_OAUTH_TOKEN_URL})")
    host = parts.hostname.lower()
    if parts.scheme.lower() == "http" and host != urlsplit(site_url).hostname and not _is_this_machine(host):
        raise ConfluenceConfigError(f"{name} = {raw!r} would send the client secret unencrypted to another host than "
                                    "the Confluence site; use https")
    return urlunsplit((parts.scheme.lower(), _netloc(parts, name), parts.path, parts.query, ""))


def _is_this_machine(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def select_auth(
    flavour: Flavour,
    *,
    username: str | None,
    password: str | None,
    account_email: str | None,
    api_token: str | None,
    personal_access_token: str | None,
    basic_names: tuple[str, str] = ("username", "password"),
    token_name: str = "personal_access_token",
) -> AuthSettings:
    """Pick the authentication mode from the credentials present, or say exactly which ones are missing (under the
    setting names they came from: `basic_names`, `token_name`)."""
    if flavour == defaults.CLOUD:
        given = {"account_email": account_email, "api_token": api_token}
        missing = [name for name, value in given.items() if not value]
        if missing:
            server_credentials = [name for name, value in (("username", username), ("password", password),
                                  ("personal_access_token", personal_access_token)) if value]
            raise ConfluenceConfigError(
                "Confluence Cloud needs " + " and ".join(setting(n) for n in ("account_email", "api_token"))
                + " (missing: " + ", ".join(setting(n) for n in missing) + ")"
                + (_other_flavour_hint(server_credentials, "Server/Data Center", "'Confluence Data Center'")
                   if server_credentials else "")
            )
        return AuthSettings("basic", account_email, api_token or "", ("account_email", "api_token"))
    if personal_access_token:
        return AuthSettings("bearer", None, personal_access_token, (token_name,))
    if username and password:
        return AuthSettings("basic", username, password, basic_names)
    if username or password:
        missing_name = basic_names[1] if username else basic_names[0]
        raise ConfluenceConfigError(
            f"Confluence Server/Data Center basic authentication needs {setting(missing_name)} as well "
            f"(or set {setting(token_name)} instead)"
        )
    cloud_credentials = [name for name, value in (("account_email", account_email), ("api_token", api_token)) if value]
    raise ConfluenceConfigError(
        f"Confluence Server/Data Center needs {setting('personal_access_token')}, "
        f"or {setting('username')} and {setting('password')}"
        + (_other_flavour_hint(cloud_credentials, "Cloud", "'Confluence Cloud'") if cloud_credentials else "")
    )


def _other_flavour_hint(given: list[str], kind: str, data_source: str) -> str:
    """Credentials of the other deployment are set: the usual cause is `data_source` left at its default."""
    described = f"are Confluence {kind} credentials" if len(given) > 1 else f"is a Confluence {kind} credential"
    return (f"; {' and '.join(setting(name) for name in given)} {described}: for a {kind} site, set "
            f"{setting('data_source')} = {data_source}")


DATA_CENTER_AUTH_METHODS = ("basic", "personal_access_token")  # Elastic's connector's values


def parse_data_center_auth_method(value: str | None) -> str | None:
    """Elastic's `data_center_auth_method`; None (not set) lets the credentials present choose."""
    method = _blank_to_none(value)
    if method is None:
        return None
    if method.strip().lower() not in DATA_CENTER_AUTH_METHODS:
        raise ConfluenceConfigError(f"{setting('data_center_auth_method')} = {method!r} is neither "
                                    + " nor ".join(repr(name) for name in DATA_CENTER_AUTH_METHODS))
    return method.strip().lower()


def parse_spaces(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """'*' (or not set) -> None meaning all spaces; 'A, B' or ['A', 'B'] -> ('A', 'B') without duplicates. A value
    that is set but names no key (`spaces = ""`, `[]`, `","` in a settings file) is refused rather than read as
    every space: it is more likely a list whose keys went missing, and the run after it is fixed would delete every
    other space from the index. (A blank environment variable counts as not set: `setting_environment.py`.)"""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = [str(item) for item in json.loads(value)]
        except (json.JSONDecodeError, TypeError) as exc:
            raise ConfluenceConfigError(f"{setting('spaces')} is not a valid list: {value!r}") from exc
    items = value.split(",") if isinstance(value, str) else [str(item) for item in value]
    keys: list[str] = []
    for item in items:
        key = item.strip()
        if key and key not in keys:
            keys.append(key)
    if not keys:
        raise ConfluenceConfigError(f"{setting('spaces')} lists no space key: {value!r} (use '*' for every space)")
    if "*" in keys:
        if len(keys) > 1:
            raise ConfluenceConfigError(f"{setting('spaces')}: use either '*' or a list of space keys, not both")
        return None
    for key in keys:
        if not re.fullmatch(r"~?[\w.\-@]+", key):
            raise ConfluenceConfigError(f"{setting('spaces')}: {key!r} is not a space key")
    return tuple(keys)


def parse_advanced_rules(value: str | Sequence[Any] | None) -> tuple[str, ...]:
    """Advanced sync rules as plain CQL strings.

    Accepts a list of CQL strings, the Elastic connector's JSON form `[{"query": "..."}]` (as a list or as JSON text),
    or a single CQL string.
    """
    name = setting("advanced_rules")
    if value is None:
        return ()
    items: Sequence[Any]
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return ()
        if text.startswith("[") or text.startswith("{"):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ConfluenceConfigError(f"{name} is not valid JSON: {exc.msg} at position {exc.pos}") from exc
            items = parsed if isinstance(parsed, list) else [parsed]
        else:
            items = [text]
    else:
        items = list(value)
    rules: list[str] = []
    for position, item in enumerate(items, start=1):
        if isinstance(item, dict) and set(item) - {"query"}:  # a misspelt key would be a rule silently ignored
            raise ConfluenceConfigError(f"{name}: rule {position} has keys other than \"query\": "
                                        f"{', '.join(sorted(str(key) for key in set(item) - {'query'}))}")
        query = item.get("query") if isinstance(item, dict) else item
        if not isinstance(query, str) or not query.strip():
            raise ConfluenceConfigError(
                f"{name}: rule {position} must be a CQL string or an object like {{\"query\": \"space = DEV\"}}"
            )
        if query.strip() not in rules:
            rules.append(query.strip())
    return tuple(rules)


def _blank_to_none(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _parse_bool(value: Any, name: str, default: bool) -> bool:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfluenceConfigError(f"{setting(name)} = {value!r} is not true or false")


def _parse_int(value: Any, name: str, default: int, minimum: int, maximum: int | None = None) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError as exc:
        raise ConfluenceConfigError(f"{setting(name)} = {value!r} is not a whole number") from exc
    if number < minimum:
        raise ConfluenceConfigError(f"{setting(name)} must be at least {minimum}")
    if maximum is not None and number > maximum:
        raise ConfluenceConfigError(f"{setting(name)} must be at most {maximum}")
    return number


def _parse_float(value: Any, name: str, default: float, minimum: float = 0.001,
                 maximum: float = defaults.MAX_SECONDS_SETTING) -> float:
    """A number of seconds; TOML and the environment also spell `nan` and `inf`, which no wait can use."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfluenceConfigError(f"{setting(name)} = {value!r} is not a number") from exc
    if not math.isfinite(number) or number > maximum:
        raise ConfluenceConfigError(f"{setting(name)} must be a number of seconds of at most {maximum:g}")
    if number < minimum:
        raise ConfluenceConfigError(f"{setting(name)} must be at least {minimum}")
    return number
