"""The Confluence HTTP client: JSON requests and paginated listings, with Confluence's errors turned into one-line
messages that name the setting to fix.

It wraps dlt's `RESTClient` (pagination loop, data selection, URL sanitising in its errors) over the retrying
transport in `transport.py`. One `RESTClient` per thread, each on that thread's session, so worker threads can share
one `ConfluenceClient` safely. `stats` counts every attempt and byte; the pipeline prints it.

Error mapping (after the transport's retries):
  401 (and 403 before the credentials were accepted once) -> ConfluenceAuthError naming the credential settings
  404                   -> ConfluenceNotFoundError (readers skip a missing item; preflight makes it a URL hint)
  400 on a CQL request  -> ConfluenceQueryError with Confluence's own message
  certificate failure   -> ConfluenceTLSError naming ssl_ca / ssl_enabled
  DNS / refused / timeout -> ConfluenceConnectionError naming confluence_url / request_timeout (a connection that
                          fails after the site answered once is the site going away: ConfluenceWentAwayError)
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Iterable, Iterator, Mapping, TypeVar
from urllib.parse import quote, unquote, urlencode, urlsplit

import requests
from dlt.common.jsonpath import compile_path
from dlt.sources.helpers.rest_client.client import RESTClient
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth, HttpBasicAuth
from dlt.sources.helpers.rest_client.paginators import BasePaginator
from requests.auth import AuthBase

from .config import ConfluenceSettings, setting
from .errors import (
    ConfluenceAuthError,
    ConfluenceConnectionError,
    ConfluenceError,
    ConfluenceNotFoundError,
    ConfluenceQueryError,
    ConfluenceRequestError,
    ConfluenceTLSError,
    ConfluenceWentAwayError,
    UnknownSpaceQueryError,
)
from . import settings as defaults
from .prefetch import opened_ahead, prefetched
from .oauth import ServiceAccountAuth, service_account_auth
from .listing_recovery import ListingRecovery, recoverable, refused_single_item
from .paginators import V1NextLinkPaginator, V2CursorPaginator
from .tls import verify_setting
from .file_transport import FileAnswer, FileTransport, error_body, read_body
from .transport import (
    BackoffWithJitter,
    RequestPacer,
    RequestStats,
    RetryingHttpClient,
    TruncatedResponseError,
    environment_settings,
    is_retryable_exception,
    new_pacer,
    wait_unless_stopped,
)

logger = logging.getLogger(__name__)
# Where list endpoints put their items; compiled once (dlt would parse the JSONPath again for every response page).
_RESULTS = compile_path("results")

K = TypeVar("K")

# A link that carries its own scheme (what `urlsplit(link).scheme` finds), matched without parsing the whole URL:
# web_url runs for every document and every ancestor of a large read.
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")

JsonObject = dict[str, Any]

# What the gateway says when a scoped token lacks the scope a request needs ("Unauthorized; scope does not match").
_SCOPE_MISMATCH = "scope does not match"
# Confluence 9.3's answer to a CQL query naming a space key no space has (CONFSERVER-101465; 9.2 answers HTTP 500,
# which is not told from a failing server)
_UNKNOWN_SPACE_ANSWER = "parameters should not be empty"
# The container id in a download servlet link: /download/attachments/{container id}/{file name}
_SERVLET_CONTAINER = re.compile(r"/download/attachments/([^/]+)/")


@dataclass(frozen=True)
class Listing:
    """One paged listing to read: its URL, query parameters, which API's paging it uses, and what it is for
    (named in errors)."""

    url: str
    params: Mapping[str, Any]
    purpose: str
    api: str = "v1"


@dataclass
class Page:
    """One page of a listing: its items and the whole response body (for `_links.base`, totals, cursors)."""

    items: list[JsonObject]
    body: JsonObject
    total: int | None = None


class ConfluenceClient:
    """Thread-safe access to one Confluence site's REST APIs."""

    def __init__(self, config: ConfluenceSettings, answered_before: bool = False) -> None:
        self.config = config
        self.stats = RequestStats()  # REST API requests
        self.file_stats = RequestStats()  # attachment file downloads, one request (or two, redirected) per file
        self.token_stats = RequestStats()  # a service account's OAuth token requests
        self._pacer = new_pacer()  # shared: when the site throttles, downloads pause with the API requests
        self._verify, self._trust_env = environment_settings(
            verify_setting(config.ssl_enabled, config.ssl_ca,
                           tuple(urlsplit(url).hostname or "" for url in (config.site_url, config.api_gateway,
                                                                          config.auth.token_url) if url)))
        self._http = self._transport(self.stats, pool_size=max(10, config.concurrent_downloads))
        # a service account's token requests get a transport of their own: Atlassian's token endpoint is not the
        # site, and its answers neither pace nor count as the site's
        self._auth = _auth_for(config, lambda: self._transport(self.token_stats, pool_size=2, pacer=new_pacer(),
                                                                what="OAuth token request").session)
        renewable = self._auth if isinstance(self._auth, ServiceAccountAuth) else None
        self._http.bearer = renewable
        self._files = FileTransport(
            headers=self._http.session.headers,
            credentials=_credentials_of(self._auth),
            renew_refused=renewable.renew_refused if renewable is not None else None,
            verify=self._verify,
            trust_env=self._trust_env,
            timeout=config.request_timeout,
            retry_count=config.retry_count,
            backoff=BackoffWithJitter(config.backoff_seconds, config.max_retry_delay, self._pacer),
            pool_size=config.concurrent_downloads,  # 1 to MAX_DOWNLOAD_THREADS (settings check it)
            stats=self.file_stats,
            pacer=self._pacer,
        )
        self._rest_lock = threading.Lock()
        self._rest_client: RESTClient | None = None
        # Until one request has been accepted, a 403 means the credentials are not good for this site.
        self.credentials_accepted = False
        # The last successful run of this pipeline read this very site at this address: where it does not answer
        # now, before any request of this run was accepted, that is an outage rather than a wrong address.
        self.answered_before = answered_before
        if config.api_gateway and config.cloud_id is None:
            self.config = dataclasses.replace(config, cloud_id=self._cloud_id_of_site())

    def _transport(self, stats: RequestStats, pool_size: int, pacer: RequestPacer | None = None,
                   what: str = "Confluence request") -> RetryingHttpClient:
        config = self.config
        return RetryingHttpClient(
            timeout=config.request_timeout,
            retry_count=config.retry_count,
            backoff_seconds=config.backoff_seconds,
            max_retry_delay=config.max_retry_delay,
            pool_size=pool_size,
            stats=stats,
            pacer=pacer or self._pacer,
            verify=self._verify,
            trust_env=self._trust_env,
            what=what,
        )

    def _cloud_id_of_site(self) -> str:
        """The cloud id the gateway's URLs name, as the site tells it at `/_edge/tenant_info` (asked without
        credentials: the answer needs none, and a scoped token is not good at the site)."""
        site = self.config.site_url
        purpose = "asking the site for its cloud id"
        try:
            response = self._http.session.get(site + defaults.TENANT_INFO, timeout=self.config.request_timeout,
                                              verify=self._verify)
        except requests.RequestException as error:
            raise self._transport_error(error, purpose, site_only=True) from None
        try:
            cloud_id = response.json().get("cloudId") if response.status_code == 200 else None
        except (ValueError, AttributeError):
            cloud_id = None
        if not isinstance(cloud_id, str) or not re.fullmatch(r"[0-9A-Za-z-]+", cloud_id):
            raise ConfluenceConnectionError(
                f"{site} did not tell its cloud id at {defaults.TENANT_INFO} (HTTP {response.status_code}); check "
                f"{setting('confluence_url')} (the site's own address, e.g. https://example.atlassian.net), or give "
                f"{setting('api_gateway')} with the cloud id: https://api.atlassian.com/ex/confluence/<cloud id>"
            )
        return cloud_id

    # ---- URLs --------------------------------------------------------------------------------------------------
    def v1(self, path: str) -> str:
        return self.config.v1_root + path

    def v2(self, path: str) -> str:
        return self.config.v2_root + path

    def web_url(self, link: str | None, base: str | None = None) -> str | None:
        """Absolute URL of a `_links.webui` / download link (relative to the site base)."""
        if not link:
            return None
        if _ABSOLUTE.match(link):
            return link
        root = (base or self.config.web_base).rstrip("/")
        return root + (link if link.startswith("/") else "/" + link)

    # ---- requests --------------------------------------------------------------------------------------------
    def get_json(self, url: str, params: Mapping[str, Any] | None = None, *, purpose: str) -> Any:
        """GET one JSON document. Raises `ConfluenceNotFoundError` on 404 (callers decide whether to skip)."""
        response = self._call(lambda rest: rest.get(url, params=dict(params or {}), verify=self._verify), purpose)
        return self._json_of(response, purpose)

    def post_json(self, url: str, body: Any, *, purpose: str) -> Any:
        """POST a JSON body for a read (e.g. bulk user lookup); the transport retries it like a GET."""
        response = self._call(lambda rest: rest.post(url, json=body, verify=self._verify), purpose)
        return self._json_of(response, purpose)

    def file_link(self, attachment: Mapping[str, Any]) -> str | None:
        """Where the connector fetches the bytes of an attachment document's version. Its `download_url` is the
        download servlet (`/download/attachments/{container}/{file}`), the link for people in a browser. Confluence
        Cloud no longer accepts API tokens there (HTTP 401 since 2026, CHANGE-2735), so on Cloud the bytes come from
        the REST endpoint `/content/{container}/child/attachment/{id}/download?version=N`, which redirects to the
        media service like the servlet did (None when the document names no container). Server and Data Center serve
        the servlet to API clients."""
        servlet = attachment.get("download_url")
        servlet = str(servlet) if servlet else None
        if not self.config.is_cloud:
            return servlet
        container = _container_id(attachment.get("parent_id"), servlet)
        file_id = attachment.get("confluence_id")
        if not container or not file_id:
            return None  # the servlet link would only be refused: no link to fetch the file from
        version = attachment.get("version")
        query = [("version", str(version))] if isinstance(version, int) else []
        if attachment.get("status") == "archived":  # the endpoint serves current files only unless told otherwise
            query.append(("status", "archived"))
        return self.v1(f"/content/{quote(container, safe='')}/child/attachment/{quote(str(file_id), safe='')}"
                       f"/download" + (f"?{urlencode(query)}" if query else ""))

    def download(self, url: str, *, max_bytes: int, purpose: str) -> bytearray:
        """The bytes of a file on the site (an attachment's download link), at most `max_bytes` of them (else
        `FileTooLargeError`, having read no more than that). Cloud answers with a redirect to its media service, which
        is followed; the credentials go to the configured site only (they are dropped when a redirect leaves the
        host, and a link pointing elsewhere is refused before any request). A body cut off midway is fetched again,
        like any failed request, up to `retry_count` times. Downloads go through `file_transport` (urllib3 directly:
        see there why)."""
        if not self.on_site(url):
            raise ConfluenceRequestError(f"Not {purpose}: the link leads away from the Confluence site "
                                         f"({urlsplit(url).netloc})")
        for attempt in range(self.config.retry_count + 1):
            answer = self._file_answer(url, purpose)
            try:
                body = read_body(answer, max_bytes, purpose)
                self.file_stats.record_bytes(len(body))
                return body
            except requests.RequestException as error:
                if attempt >= self.config.retry_count or not is_retryable_exception(error):
                    if not self._on_site_host(answer.url):
                        raise self._file_service_error(answer.url, purpose, _transport_reason(error)) from None
                    raise self._transport_error(error, purpose) from None
                delay = min(self.config.max_retry_delay, self.config.backoff_seconds * 2**attempt)
                self.file_stats.record_retry(delay)
                wait_unless_stopped(delay)
            finally:
                answer.close()
        raise AssertionError("unreachable")  # pragma: no cover

    def _file_answer(self, url: str, purpose: str) -> FileAnswer:
        """The unread answer for a download link. A failure at another host a redirect led to (Cloud's media
        service) is told apart from one at the site: it says nothing about the site's settings, so it names that host
        (see `_file_service_error`)."""
        try:
            answer = self._files.open(url)
        except requests.RequestException as error:
            failed_at = getattr(error.request, "url", None) or url
            failure: ConfluenceError
            if getattr(error, "oauth_token_url", None):  # no token for the download, not the file service failing
                failure = self._transport_error(error, purpose)
            elif not self._on_site_host(failed_at):
                failure = self._file_service_error(failed_at, purpose, _transport_reason(error))
            else:
                failure = self._transport_error(error, purpose)
            failure.unanswered = isinstance(error, (requests.Timeout, requests.ConnectionError))
            raise failure from None
        if answer.status >= 400:
            try:
                if not self._on_site_host(answer.url):
                    raise self._file_service_error(answer.url, purpose, f"HTTP {answer.status}", answer.status)
                self._raise_for_status(answer.status, message_in(error_body(answer)), purpose, None)
            finally:
                answer.close()
        self.credentials_accepted = True
        return answer

    def _file_service_error(self, url: str, purpose: str, reason: str,
                            status: int | None = None) -> ConfluenceRequestError:
        """A failure at the host a download was redirected to. A 401 or 403 there is not the site rejecting the
        credentials (they are not sent to another host): the link the redirect carried was refused, and the next run
        asks the site for a fresh one, so the status is left out (the file counts as failed and is tried again).
        Other statuses (404: the file is gone) are kept, so that such a file counts as refused."""
        host = urlsplit(url).hostname or "?"
        hint = ""
        if status in (401, 403):
            status = None
            if not self.config.is_cloud:  # Server and Data Center have no media service: another name of the site?
                hint = (f"; if {host} is your Confluence too, set {setting('confluence_url')} to it, since "
                        "credentials only go to the configured host")
        elif reason.startswith("its TLS certificate"):
            hint = f"; {setting('ssl_ca')} and {setting('ssl_enabled')} apply to it as well"
        return ConfluenceRequestError(f"The file service at {host} failed while {purpose} ({reason}){hint}", status)

    def _on_site_host(self, url: str) -> bool:
        """Whether `url` is where requests still sends the credentials after a redirect from `confluence_url` (its
        own rule, so that an error blames the host that really got them)."""
        return not self._files.strips_credentials(self.config.api_base, url)

    def on_site(self, url: str) -> bool:
        """Whether `url` has the scheme, host and port the API requests go to (`confluence_url`, or `api_gateway`),
        a default port written out or not."""
        return _origin(url) == _origin(self.config.api_base)

    def pages(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        purpose: str,
        api: str = "v1",
    ) -> Iterator[Page]:
        """Iterate the pages of a v1 (`_links.next` + `_links.base`) or v2 (cursor `_links.next`) listing, fetching
        ahead in the background while the caller processes the current page."""
        return prefetched(self._fetch_pages(url, params, purpose=purpose, api=api))

    def pages_of_each(self, listings: Iterable[tuple[K, Listing]]) -> Iterator[tuple[K, Iterator[Page]]]:
        """(key, pages) of several listings, in order, with the next few already fetching while the current one is
        consumed (at most `concurrent_downloads` listings at a time): a run reads dozens of per-space listings, and
        one after another each would leave the server idle while the previous one is turned into documents.
        A listing's errors (e.g. 404 for a space deleted meanwhile) surface when its own pages are read."""
        starts = (
            (key, partial(self._fetch_pages, listing.url, listing.params, purpose=listing.purpose, api=listing.api))
            for key, listing in listings
        )
        ahead = max(0, min(defaults.LISTINGS_AHEAD, self.config.concurrent_downloads - 1))
        return opened_ahead(starts, ahead=ahead, depth=defaults.LISTING_READ_AHEAD_PAGES)

    def _fetch_pages(
        self,
        url: str,
        params: Mapping[str, Any] | None,
        *,
        purpose: str,
        api: str,
    ) -> Iterator[Page]:
        paginator: BasePaginator = (V1NextLinkPaginator(self.config.api_web_base) if api == "v1"
                                     else V2CursorPaginator(self.config.api_base))
        rest = self._rest()
        iterator = rest.paginate(
            url,
            params=dict(params or {}),
            paginator=paginator,
            data_selector=_RESULTS,
            verify=self._verify,
        )
        recovery = ListingRecovery(url, params)
        while True:
            try:
                page = next(iterator)
            except StopIteration:
                return
            except requests.HTTPError as error:
                response = error.response
                instead = self._instead_of_refused(recovery, response, purpose)
                if instead is not None:
                    # the same place in the listing, asked for differently: the paginator keeps its count of what
                    # was read
                    iterator = rest.paginate(instead, params={}, paginator=paginator, data_selector=_RESULTS,
                                             verify=self._verify)
                    continue
                if (response is not None and recovery.recovering
                        and refused_single_item(response.url, response.status_code)):
                    purpose = f"{purpose}, also one item per page (an item there cannot be read)"
                self._raise_for(response, purpose, params)
                raise  # pragma: no cover - _raise_for always raises for error statuses
            except ConfluenceError:
                raise
            except requests.RequestException as error:
                raise self._transport_error(error, purpose) from None
            self.credentials_accepted = True
            body = page.response.json()
            if not isinstance(body, dict):
                raise ConfluenceRequestError(f"Confluence sent an unexpected answer while {purpose}")
            total = paginator.total if isinstance(paginator, V1NextLinkPaginator) else None
            items = [item for item in page if isinstance(item, dict)]
            instead, without_bodies = recovery.after_page(
                len(items), page.request.url if paginator.has_next_page else None)
            for item in items if without_bodies else ():
                logger.warning("Confluence could not return item %s (%r) with its body while %s, also alone: it is "
                               "indexed without its body (a full refresh asks again)", item.get("id"),
                               item.get("title"), purpose)
            if instead is not None:
                iterator = rest.paginate(instead, params={}, paginator=paginator, data_selector=_RESULTS,
                                         verify=self._verify)
            yield Page(items=items, body=body, total=total)

    def _instead_of_refused(self, recovery: ListingRecovery, response: requests.Response | None,
                            purpose: str) -> str | None:
        """What a listing asks for instead of a page the site kept refusing (see `listing_recovery`), or None. Only
        a request sent to the site is asked again (after a redirect, the URL first sent, not where it led: the
        credentials never follow a redirect to another host), and only while the site answers other requests: an
        outage is not worked around page size by page size."""
        if response is None:
            return None
        sent = response.history[0].url if response.history else response.url
        status = response.status_code
        if not self.on_site(sent) or not recoverable(sent, status):
            return None
        if not recovery.recovering and not self._site_answers(purpose):
            return None
        return recovery.instead_of_refused(sent, status)

    def _site_answers(self, purpose: str) -> bool:
        """Whether the site answers a small request: tells a refused page from a site that is down."""
        try:
            self.get_json(self.v1(defaults.CURRENT_USER), purpose=f"checking that the site answers ({purpose})")
        except ConfluenceError:
            return False
        return True

    # ---- internals --------------------------------------------------------------------------------------------
    def _rest(self) -> RESTClient:
        """One REST client for every thread: it holds only settings (the HTTP session is shared anyway), and
        building one per listing thread resolved dlt's runtime configuration each time, leaving small objects
        behind that kept the memory of a large read from being handed back."""
        with self._rest_lock:
            if self._rest_client is None:
                self._rest_client = RESTClient(base_url=self.config.api_base, auth=self._auth,
                                               session=self._http.session)
            return self._rest_client

    def _call(self, send: Any, purpose: str) -> requests.Response:
        try:
            response: requests.Response = send(self._rest())
        except requests.RequestException as error:
            raise self._transport_error(error, purpose) from None
        if response.status_code >= 400:
            self._raise_for(response, purpose, _query_params(response))
        self.credentials_accepted = True
        return response

    def _json_of(self, response: requests.Response, purpose: str) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            content_type = response.headers.get("Content-Type", "unknown")
            raise ConfluenceConnectionError(
                f"Confluence answered with {content_type.split(';')[0]} instead of JSON while {purpose}; "
                f"check {setting(self.config.address_setting)} = {self.config.api_gateway or self.config.site_url}"
            ) from None

    def _raise_for(self, response: requests.Response | None, purpose: str, params: Mapping[str, Any] | None) -> None:
        if response is None:
            raise ConfluenceRequestError(f"Request failed while {purpose}")
        if response.status_code in (401, 403) and response.history and not self.on_site(response.url):
            # requests drops the credentials on a redirect to another host: nothing was wrong with them
            raise ConfluenceConnectionError(
                f"Confluence redirected a request to {_origin_text(response.url)}, where the credentials are not "
                f"sent, and was refused there (HTTP {response.status_code}) while {purpose}; set "
                f"{setting(self.config.address_setting)} to the address it answers on itself"
            )
        self._raise_for_status(response.status_code, error_message(response), purpose, params)

    def _raise_for_status(self, status: int, message: str, purpose: str, params: Mapping[str, Any] | None) -> None:
        if status == 401 and _SCOPE_MISMATCH in message.lower():
            raise ConfluenceAuthError(
                f"The API token lacks a scope needed for {purpose} (Confluence: {message}); give it the read scopes "
                "the README lists for scoped tokens"
            )
        if status == 401 and self.config.auth.kind == "oauth":
            raise ConfluenceAuthError(
                f"Confluence refused the service account's OAuth access token while {purpose}, also a new one (check "
                f"{self.config.auth.describe()}: the credential may have been revoked, or lack a scope)"
            )
        if status == 401 or (status == 403 and not self.credentials_accepted):
            raise ConfluenceAuthError(
                f"Confluence rejected the credentials (check {self.config.auth.describe()}){self._cloud_site_hint()}"
            )
        if status == 404:
            raise ConfluenceNotFoundError(f"Not found (HTTP 404) while {purpose}")
        if status == 400 and params and "cql" in params:
            refused = f"Confluence rejected the CQL query {params['cql']!r}: {message}"
            if _UNKNOWN_SPACE_ANSWER in message.lower():
                raise UnknownSpaceQueryError(
                    f"{refused} (some Confluence Data Center releases, 9.3 among them, answer so when a query names a "
                    "space key that no space has: a space deleted since the run began, or a key mistyped in an "
                    "advanced rule)")
            raise ConfluenceQueryError(refused)
        if status == 429 or status >= 500:
            raise ConfluenceRequestError(
                f"Confluence kept answering HTTP {status} while {purpose}, also after "
                f"{self.config.retry_count} retries ({setting('retry_count')})",
                status,
            )
        detail = f": {message}" if message else ""
        raise ConfluenceRequestError(f"Confluence answered HTTP {status} while {purpose}{detail}", status)

    def _cloud_site_hint(self) -> str:
        """What else to check when the credentials are refused: a scoped token sent to a Cloud site URL (it needs
        `api_gateway`), or Server credentials sent to an Atlassian Cloud site (`data_source` left at its default)."""
        host = urlsplit(self.config.site_url).hostname or ""
        if self.config.flavour == defaults.CLOUD and not self.config.api_gateway:
            return (f"; {setting('data_source')} says this is Confluence Cloud, which must be what the site is; a "
                    f"scoped API token (a service account's too) works only through Atlassian's API gateway: set "
                    f"{setting('api_gateway')} = 'https://api.atlassian.com'")
        if self.config.flavour == defaults.CLOUD or not host.endswith(_CLOUD_SITE_DOMAIN):
            kind = "Confluence Cloud" if self.config.flavour == defaults.CLOUD else "Confluence Server or Data Center"
            return f"; {setting('data_source')} says this is {kind}, which must be what the site is"
        return (f"; {host} is a Confluence Cloud site: set {setting('data_source')} = 'Confluence Cloud' with "
                f"{setting('account_email')} and {setting('api_token')}")

    def _answered_last_run(self) -> str:
        """The note for a site that fails before this run got an answer, but answered the last successful run."""
        if self.credentials_accepted:
            return ""
        return (f"; it answered the last run at this address, so this run fails as during an outage (should the site "
                f"have moved, set {setting(self.config.address_setting)})")

    def _transport_error(self, error: requests.RequestException, purpose: str,
                         site_only: bool = False) -> ConfluenceError:
        """The error for a request that got no usable answer, naming the setting that says where it went: the site
        (`confluence_url`), or the gateway when API requests go through one, unless `site_only`."""
        token_url = getattr(error, "oauth_token_url", None)
        if token_url and self.credentials_accepted and not isinstance(error, requests.exceptions.SSLError):
            # it gave a token earlier in this run: gone now, no setting is wrong (the run fails, exit 1)
            return ConfluenceWentAwayError(
                f"The OAuth token endpoint {token_url} stopped answering while {purpose} ({_transport_reason(error)}), "
                f"also after {self.config.retry_count} retries")
        if token_url:  # no answer from the OAuth token endpoint
            tls = isinstance(error, requests.exceptions.SSLError)
            return (ConfluenceTLSError if tls else ConfluenceConnectionError)(
                f"Could not get an OAuth access token from {token_url} while {purpose}: "
                f"{_transport_reason(error)}; check {setting('oauth_token_url')}")
        address = "confluence_url" if site_only else self.config.address_setting
        site = self.config.site_url if site_only or not self.config.api_gateway else self.config.api_base
        host = urlsplit(site).hostname or site
        if (isinstance(error, requests.exceptions.SSLError) and not self.credentials_accepted
                and _answered_in_plain_http(error)):
            # (only before any request got through: later, the same OpenSSL wording can mean a damaged connection)
            return ConfluenceTLSError(
                f"Confluence at {site} answered in plain HTTP, not TLS: set {setting(address)} to the "
                f"address where it serves HTTPS, or to {_plain_http_url(site)} if it has none (the credentials then "
                f"travel unencrypted)"
            )
        if isinstance(error, requests.exceptions.SSLError) and _names_another_host(error):
            return ConfluenceTLSError(
                f"The TLS certificate of {host} was issued for another host name; set {setting(address)} "
                f"to a name the certificate covers, or {setting('ssl_enabled')} = false to skip verification"
            )
        if isinstance(error, requests.exceptions.SSLError):
            return ConfluenceTLSError(
                f"The TLS certificate of {host} is not trusted ({_ssl_reason(error)}); set {setting('ssl_ca')} to the "
                f"PEM of the CA that signed it, or {setting('ssl_enabled')} = false to skip verification"
            )
        if isinstance(error, requests.Timeout) and (self.credentials_accepted or self.answered_before):
            # the site answered earlier in this run (or the last one): slow or gone now, not misconfigured (exit 1)
            return ConfluenceWentAwayError(
                f"Confluence at {site} did not answer within {self.config.request_timeout:g} s while {purpose}, also "
                f"after {self.config.retry_count} retries (where it is slow rather than down, raise "
                f"{setting('request_timeout')}){self._answered_last_run()}"
            )
        if isinstance(error, requests.Timeout):
            return ConfluenceConnectionError(
                f"Confluence at {site} did not answer within {self.config.request_timeout:g} s while {purpose} "
                f"(check {setting(address)}, or raise {setting('request_timeout')})"
            )
        if isinstance(error, requests.ConnectionError) and (self.credentials_accepted or self.answered_before):
            # the site answered earlier in this run (or the last one): it went away, no setting is wrong (exit 1)
            return ConfluenceWentAwayError(
                f"Confluence at {site} stopped answering while {purpose} ({_connection_reason(error)}), also after "
                f"{self.config.retry_count} retries{self._answered_last_run()}"
            )
        if isinstance(error, requests.ConnectionError):
            reason = _connection_reason(error)
            https_hint = (" (an HTTPS port drops plain-HTTP requests like this: try https://)"
                          if reason == _DROPPED and urlsplit(site).scheme == "http" else "")
            return ConfluenceConnectionError(
                f"Could not connect to Confluence at {site} ({reason}); check {setting(address)}{https_hint}"
            )
        if isinstance(error, (TruncatedResponseError, requests.exceptions.ChunkedEncodingError,
                              requests.exceptions.ContentDecodingError)):
            # answers cut off mid-body, as a JSON body that does not parse or a chunked one that ends early
            return ConfluenceRequestError(
                f"Confluence kept sending incomplete answers while {purpose}, also after "
                f"{self.config.retry_count} retries ({setting('retry_count')})"
            )
        return ConfluenceRequestError(f"Request to Confluence failed while {purpose}: {type(error).__name__}")


def _container_id(parent_id: Any, servlet_link: str | None) -> str | None:
    """The Confluence id of the page or blog post a file hangs on: from the document's `parent_id` (`page-123`), or
    else from its servlet link (`.../download/attachments/123/name`)."""
    if isinstance(parent_id, str) and "-" in parent_id:
        return parent_id.split("-", 1)[1] or None
    if servlet_link:
        found = _SERVLET_CONTAINER.search(urlsplit(servlet_link).path)
        if found:
            return unquote(found.group(1))
    return None


def _origin_text(url: str) -> str:
    """Scheme, host and port of `url`, for a message (no path, query or user info)."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # a malformed port: compares equal to nothing but itself
        port = -1
    return scheme, (parts.hostname or "").lower(), port


_DEFAULT_PORTS = {"http": 80, "https": 443}
#: The domain of Atlassian Cloud sites.
_CLOUD_SITE_DOMAIN = ".atlassian.net"


def _transport_reason(error: requests.RequestException) -> str:
    if isinstance(error, requests.exceptions.SSLError):
        return f"its TLS certificate is not trusted: {_ssl_reason(error)}"
    if isinstance(error, requests.Timeout):
        return "no answer in time"
    if isinstance(error, requests.ConnectionError):
        return f"could not connect: {_connection_reason(error)}"
    return type(error).__name__


def _auth_for(config: ConfluenceSettings, token_session: Callable[[], requests.Session]) -> AuthBase:
    if config.auth.kind == "oauth":
        return service_account_auth(config.auth, token_session())
    if config.auth.kind == "bearer":
        return BearerTokenAuth(token=config.auth.secret)
    return HttpBasicAuth(username=config.auth.username or "", password=config.auth.secret)


def _credentials_of(auth: AuthBase) -> Callable[[], dict[str, str]]:
    """The Authorization header for each download: worked out once for fixed credentials, asked of a service
    account's auth each time (its token changes)."""
    if isinstance(auth, ServiceAccountAuth):
        return lambda: {"Authorization": auth.header()}
    fixed = _credentials_header(auth)
    return lambda: fixed


def _credentials_header(auth: AuthBase) -> dict[str, str]:
    """The Authorization header that `auth` puts on API requests, for downloads (which do not go through requests):
    taken from `auth` itself, so that both encode the credentials alike (UTF-8)."""
    request = requests.PreparedRequest()
    request.prepare_headers({})
    auth(request)
    return {"Authorization": request.headers["Authorization"]}


def _query_params(response: requests.Response) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(urlsplit(response.url).query)) if response.url else {}


def error_message(response: requests.Response) -> str:
    """Confluence's own explanation from an error body (v1 `message`, v2 `errors[].title/detail`), shortened."""
    try:
        body = response.json()
    except ValueError:
        return ""
    return message_in(body)


def message_in(body: Any) -> str:
    """The explanation in a parsed error body (see `error_message`)."""
    parts: list[str] = []
    if isinstance(body, dict):
        if isinstance(body.get("message"), str):
            parts.append(body["message"])
        for item in body.get("errors") or []:
            if isinstance(item, dict):
                text = item.get("detail") or item.get("title") or item.get("message")
                if isinstance(text, str):
                    parts.append(text)
            elif isinstance(item, str):
                parts.append(item)
    message = "; ".join(part.strip() for part in parts if part and part.strip())
    return message[:500]


def _connection_reason(error: requests.ConnectionError) -> str:
    text = str(error)
    lowered = text.lower()
    if any(
        marker in lowered
        for marker in ("name or service not known", "nodename nor servname", "getaddrinfo failed",
                       "temporary failure in name resolution", "no address associated", "name resolution")
    ):
        return "host name not found"
    if "connection refused" in lowered:
        return "connection refused"
    if "connection reset" in lowered or "remotedisconnected" in lowered or "connection aborted" in lowered:
        return _DROPPED
    return "connection failed"


_DROPPED = "connection dropped by the server"


# What OpenSSL says when the other side answers a TLS handshake in plain HTTP (an https:// URL for an http:// port).
_PLAIN_HTTP_ANSWERS = ("wrong version number", "wrong_version_number", "record layer failure", "packet length too long",
                       "unknown protocol")


def _answered_in_plain_http(error: requests.exceptions.SSLError) -> bool:
    text = str(error).lower()
    return any(answer in text for answer in _PLAIN_HTTP_ANSWERS)


def _plain_http_url(site: str) -> str:
    """The http:// URL of the same host and port (an https:// URL without a port means 443)."""
    parts = urlsplit(site)
    try:
        port = parts.port or 443
    except ValueError:
        port = 443
    return f"http://{parts.hostname}:{port}{parts.path}"


def _names_another_host(error: requests.exceptions.SSLError) -> bool:
    """A trusted certificate for another name (OpenSSL says "Hostname mismatch", or "IP address mismatch")."""
    text = str(error).lower()
    return "hostname mismatch" in text or "ip address mismatch" in text or "doesn't match" in text


def _ssl_reason(error: requests.exceptions.SSLError) -> str:
    text = str(error)
    for marker in ("self-signed certificate in certificate chain", "self signed certificate in certificate chain",
                   "self-signed certificate", "self signed certificate", "unable to get local issuer certificate",
                   "certificate has expired", "hostname mismatch", "Hostname mismatch", "certificate verify failed"):
        if marker in text:
            return marker.lower()
    return "certificate verification failed"
