"""What both readers (Cloud and Server/Data Center) share: preflight, the sync plan, CQL reading, id listings.

Preflight runs when the source is created, before dlt extracts or writes anything: it authenticates, learns the
user's time zone (CQL date literals are read in it), resolves `spaces` against the spaces the user can see, and asks
Confluence to check every advanced rule. Any problem stops the run with one line naming the setting.

The plan decides per scope (a space key, or the text of an advanced rule) whether it is read in full or only its
changes since the scope's watermark. Change reading is CQL `lastmodified` in a window frozen for the whole run, and
scopes sharing a window are read with one query (`space in (...)`), so an incremental run costs a handful of
requests however many spaces are synced.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import partial
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, Callable, Collection, Iterable, Iterator, Literal, Mapping, Protocol, Sequence, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import settings as defaults
from .client import ConfluenceClient, JsonObject
from .config import ConfluenceSettings, setting
from .cql import ChangeWindow, and_all, change_window, id_clause, parse_instant, run_window_end, space_clause
from .cql import type_clause, without_order_by
from .attachment_text import AttachmentTextReader
from .body_conversion import BodyConversionPool, BodyResult, PendingBody
from .documents import (
    PENDING_BODY,
    Ancestry,
    ContentFacts,
    DocumentBuilder,
    Outline,
    SpaceInfo,
    doc_id,
    facts_from_v1,
    has_body,
    outline_from_v1,
)
from .errors import (
    ConfluenceConfigError,
    ConfluenceConnectionError,
    ConfluenceNotFoundError,
    ConfluenceQueryError,
    ConfluenceRequestError,
    IncompleteListingError,
    SpaceVanishedError,
    UnknownSpaceQueryError,
)
from .users import UserDirectory

logger = logging.getLogger(__name__)
T = TypeVar("T")

ScopeKind = Literal["space", "rule"]
# Below this many bodies in a batch, handing them to a worker costs more than converting them here.
MIN_BODIES_FOR_WORKERS = 8
# Bodies per job handed to a conversion worker.
BODIES_PER_JOB = 50
Emitted = tuple[str, JsonObject]  # (scope key, document)
Outlined = tuple[str, str, str, Outline]  # (scope key, type, Confluence id, outline)


class SeenLedger(Protocol):
    """Where readers record what they yielded (implemented by `sync_state.SyncLedger`)."""

    def saw(self, space_key: str, doc_type: str, doc_id: str) -> None: ...

    def mark_fully_read(self, space_key: str, doc_type: str) -> None: ...


@dataclass(frozen=True)
class Scope:
    """One unit of syncing and of watermarks: a space, or an advanced rule (key = the rule text)."""

    key: str
    kind: ScopeKind
    space: SpaceInfo | None = None
    rule: str | None = None
    window: ChangeWindow | None = None  # None: read in full

    @property
    def is_full(self) -> bool:
        return self.window is None


@dataclass(frozen=True)
class SyncPlan:
    """What one run reads. `started_at` is taken before anything is read, so storing it as every scope's new
    watermark after a successful run cannot skip a change made while the run was reading."""

    scopes: tuple[Scope, ...]
    started_at: datetime  # store this as the new watermark of every scope once the run has succeeded
    window_end: datetime

    @property
    def full_scopes(self) -> list[Scope]:
        return [scope for scope in self.scopes if scope.is_full]

    @property
    def changed_scopes(self) -> list[Scope]:
        return [scope for scope in self.scopes if not scope.is_full]


@dataclass
class CurrentUser:
    id: str | None
    name: str | None
    timezone: str | None


@dataclass
class ReaderState:
    """What preflight found out."""

    user: CurrentUser | None = None
    zone: tzinfo = timezone.utc
    # added to the overlap of change windows: an inferred zone may be an hour off (`INFERRED_ZONE_MARGIN`)
    zone_margin: timedelta = timedelta(0)
    all_spaces: dict[str, SpaceInfo] = field(default_factory=dict)  # by key, every space the user can see
    selected: list[SpaceInfo] = field(default_factory=list)


class ConfluenceReader(ABC):
    """Reads one Confluence site. Subclasses implement full reads and id listings for their API generation."""

    def __init__(self, client: ConfluenceClient) -> None:
        self.client = client
        self.config: ConfluenceSettings = client.config
        self.state = ReaderState()
        self.users = UserDirectory(client, client.config.concurrent_downloads)
        self.builder = DocumentBuilder(client.config.site_url, client.config.web_base, self.users)
        self.plan_in_use: SyncPlan | None = None
        # where yielded ids are recorded for deletion reconciliation (set by the source; optional)
        self.ledger: SeenLedger | None = None
        # spaces that answered 404 after preflight (deleted or hidden mid-run): skipped, never marked fully read
        self.vanished: set[str] = set()
        # worker processes converting bodies during large reads (None: convert inline)
        self.body_pool: BodyConversionPool | None = None
        self.bodies_sent_to_workers = 0
        # threads downloading attachment files and extracting their text
        self.attachment_text = AttachmentTextReader(client)
        # (scope key, type) whose current ids this run listed through search, or read in full through it (see
        # `confirm_gone`)
        self._searched_listings: set[tuple[str, str]] = set()

    # ---- public interface ------------------------------------------------------------------------------------
    @property
    def stats(self) -> dict[str, Any]:
        return self.client.stats.as_dict()

    @property
    def zone(self) -> tzinfo:
        return self.state.zone

    def preflight(self) -> None:
        """Authenticate, learn the time zone, resolve spaces, validate rules. Raises a `ConfluenceError` on problems."""
        self.state.user = self._current_user()
        self.state.zone, self.state.zone_margin = self._choose_zone(self.state.user)
        self.state.all_spaces = {space.key: space for space in self._list_spaces()}
        if self.config.advanced_rules:
            # the rules replace `spaces`, which is then neither used nor checked (a stale key must not stop the run)
            self.state.selected = []
        else:
            self.state.selected = self._select_spaces()
        for rule in self.config.advanced_rules:
            self._validate_rule(rule)

    def plan(self, watermarks: Mapping[str, str] | None = None, full_refresh: bool = False) -> SyncPlan:
        """Which scopes to read in full and which only for changes since their watermark."""
        started_at = datetime.now(timezone.utc)
        window_end = run_window_end(started_at)
        overlap = timedelta(minutes=self.config.overlap_minutes) + self.state.zone_margin
        scopes: list[Scope] = []
        candidates: list[tuple[str, ScopeKind, SpaceInfo | None, str | None]]
        if self.config.advanced_rules:
            candidates = [(rule, "rule", None, rule) for rule in self.config.advanced_rules]
        else:
            candidates = [(space.key, "space", space, None) for space in self.state.selected]
        for key, kind, space, rule in candidates:
            window = None
            mark = None if full_refresh else (watermarks or {}).get(key)
            if mark:
                try:
                    # the end reaches further by the zone's margin too: an offset an hour behind would end it early
                    window = change_window(parse_instant(mark), overlap, window_end + self.state.zone_margin)
                except ValueError:
                    logger.warning("Ignoring unreadable watermark %r of %s; reading it in full", mark, key)
            scopes.append(Scope(key=key, kind=kind, space=space, rule=rule, window=window))
        plan = SyncPlan(scopes=tuple(scopes), started_at=started_at, window_end=window_end)
        self.plan_in_use = plan
        for scope in plan.scopes:
            how = "in full" if scope.window is None else f"changes since {scope.window.start.isoformat()}"
            logger.info("Confluence scope %s: reading %s", scope.key, how)
        return plan

    def iter_spaces(self, plan: SyncPlan) -> Iterator[Emitted]:
        """Space documents of the synced spaces (rule scopes emit theirs from the content they match)."""
        spaced = [(scope.key, scope.space) for scope in plan.scopes if scope.space is not None]
        self.resolve_space_authors([space for _, space in spaced])
        for scope_key, space in spaced:
            yield scope_key, self.builder.space(space)

    def resolve_space_authors(self, spaces: list[SpaceInfo]) -> None:
        """Look up the names of the spaces' creators not known yet (one request for all of `spaces`): space documents
        are built before any content, whose batches would otherwise have resolved them."""
        kind = "account-id" if self.config.is_cloud else "userkey"
        self.users.resolve((kind, space.author_id) for space in spaces if space.author_id)

    def spaces_matched_by_rule(self, rule: str) -> list[str]:
        """Keys of the spaces an advanced rule matches itself (`type = space`, or a space's key, title or labels):
        Confluence's generic search returns spaces besides content, content search never does. One request for most
        rules (those that cannot match a space find none)."""
        params = self._rule_space_query(rule)
        params["limit"] = defaults.V1_PAGE_SIZE_NO_BODY
        keys: dict[str, None] = {}  # in the order found, once each
        for page in self.client.pages(self.client.v1(defaults.SEARCH), params,
                                      purpose="listing the spaces an advanced rule matches"):
            for result in page.items:
                # Cloud and older Data Center name the space `space`; Data Center 10's schema has a generic `entity`
                space = (result.get("space") or result.get("entity")) if result.get("entityType") == "space" else None
                key = space.get("key") if isinstance(space, dict) else None
                known = self.state.all_spaces.get(str(key)) if key else None
                if known is not None and (known.status != "archived" or self.config.index_archived):
                    keys[known.key] = None
        return list(keys)

    def _rule_space_query(self, rule: str) -> dict[str, Any]:
        """The generic search for the spaces a rule matches (archived ones only with `index_archived`)."""
        params: dict[str, Any] = {"cql": and_all(f"({without_order_by(rule)})", type_clause("space"))}
        if self.config.index_archived:
            params["includeArchivedSpaces"] = "true"
        return params

    def iter_content(self, doc_type: str, plan: SyncPlan) -> Iterator[Emitted]:
        """Documents of one type for every scope of the plan: full reads first, then change windows."""
        full = [scope for scope in plan.full_scopes if scope.kind == "space"]
        if full:
            yield from self.read_full(doc_type, full)
        rule_scopes = [scope for scope in plan.scopes if scope.kind == "rule"]
        for scope in rule_scopes:
            yield from self.read_cql(doc_type, [scope], scope.window)
        changed = [scope for scope in plan.changed_scopes if scope.kind == "space"]
        by_window: dict[ChangeWindow, list[Scope]] = {}
        for scope in changed:
            if scope.window is not None:
                by_window.setdefault(scope.window, []).append(scope)
        for window, scopes in by_window.items():
            yield from self.read_cql(doc_type, scopes, window)

    @property
    def splits_full_reads_cheaply(self) -> bool:
        """Whether a full read may be split into groups of spaces (`pipelines/read_stages.py`): not where every
        group would read the same listings of the whole site again."""
        return True

    def release_read_caches(self) -> None:
        """Drop what only the content read needed (page trees, label maps): the deletion check that follows lists
        ids afresh, and a large site's caches would otherwise stay in memory through the load."""

    @abstractmethod
    def read_full(self, doc_type: str, scopes: list[Scope]) -> Iterator[Emitted]:
        """Every current item of this type in these spaces."""

    def count_total(self, space_keys: Iterable[str], doc_types: Iterable[str]) -> int:
        """How many current items of these types Confluence's search counts in these scopes (space keys, or
        advanced-rule texts): one request per 100 spaces and per rule, whatever the number of types.

        The deletion check starts with one such count for the whole site and only narrows down (per type, then over
        halves of the spaces) where it disagrees with the index, so a run without deletions costs a single request.
        A count cannot apply every indexing rule (very recent changes may not be searchable yet), so it decides
        whether an id listing is needed; it is never the list of what exists.
        """
        keys = sorted(set(space_keys))
        types = sorted(set(doc_types))
        if not keys or not types:
            return 0
        type_filter = type_clause(*types)
        spaces = [key for key in keys if key not in self.config.advanced_rules and key not in self.vanished]
        queries: list[tuple[str, bool, list[str]]] = [  # (scope filter, includes archived spaces, space keys)
            (self._scope_filter(rule), self.config.index_archived, [])
            for rule in keys if rule in self.config.advanced_rules]
        for start in range(0, len(spaces), defaults.CQL_SPACE_BATCH):
            batch = spaces[start : start + defaults.CQL_SPACE_BATCH]
            queries.append((space_clause(batch), any(self._in_archived_space(key) for key in batch), batch))
        total = 0
        for scope_filter, include_archived, batch in queries:
            params: dict[str, Any] = {"cql": and_all(scope_filter, type_filter), "limit": 1}
            if include_archived:
                params["includeArchivedSpaces"] = "true"
            try:
                body = self.client.get_json(self.client.v1(defaults.SEARCH), params,
                                            purpose="counting current content")
            except UnknownSpaceQueryError as error:
                if not batch or not self._deleted_spaces_noted(batch):
                    raise error from None
                total += self.count_total(batch, types)  # without the spaces found gone (`vanished`)
                continue
            count = (body or {}).get("totalSize", (body or {}).get("totalCount"))
            if not isinstance(count, int):
                raise IncompleteListingError("Confluence did not report a total for a content count")
            total += count
        return total

    def _deleted_spaces_noted(self, keys: list[str]) -> bool:
        """Whether some of these spaces (a count's batch, up to 100) are gone since the run listed them; each is then
        noted as vanished. One listing of the spaces finds the candidates, and each is looked up by key before it
        counts as gone: a space deleted while the listing pages on can shift another one out of it."""
        visible = {space.key for space in self._list_spaces()}
        gone = [key for key in keys
                if key not in visible and key not in self.vanished and not self._space_still_there(key)]
        for key in gone:
            self._note_vanished(key)
        return bool(gone)

    @abstractmethod
    def archived_pages(self, space_keys: Collection[str]) -> dict[str, dict[str, Ancestry]]:
        """Space key -> document id -> ancestors of the archived pages in these spaces that the account can read, as
        a full read gives them, from body-less listings (CQL search leaves archived pages out)."""

    @abstractmethod
    def iter_current_ids(self, scope_key: str, doc_type: str) -> Iterator[str]:
        """Document ids of every current item of one type in one scope, without bodies; raises on any failed or
        incomplete listing (callers delete what is not listed, so a short listing must never pass silently)."""

    def current_ids(self, scope_key: str, doc_type: str) -> Iterator[str]:
        """`iter_current_ids` for the deletion check. Where the listing of a space deleted since this run read it
        answers 404 (or Data Center 9.3 refuses its key), this raises `SpaceVanishedError`: its documents stay for now,
        and the next run, which no longer sees the space, treats them as those of any vanished space (under the
        mass-delete guard). A 404 from a space that is still there fails the run (`space_vanished`)."""
        if scope_key in self.vanished:
            raise SpaceVanishedError(f"Space {scope_key} disappeared during the run")
        try:
            yield from self.iter_current_ids(scope_key, doc_type)
        except ConfluenceNotFoundError:
            if scope_key in self.config.advanced_rules:
                raise
            self.space_vanished(scope_key)
            raise SpaceVanishedError(f"Space {scope_key} disappeared before the deletion check") from None
        except UnknownSpaceQueryError:  # a listing through search, on the releases that refuse a missing key
            if scope_key in self.config.advanced_rules or self._space_still_there(scope_key):
                raise
            self._note_vanished(scope_key)
            raise SpaceVanishedError(f"Space {scope_key} disappeared before the deletion check") from None

    # ---- preflight steps -------------------------------------------------------------------------------------
    def _current_user(self) -> CurrentUser:
        try:
            body = self.client.get_json(self.client.v1(defaults.CURRENT_USER), purpose="checking the credentials")
        except ConfluenceNotFoundError:
            where = (f"{setting('api_gateway')} (its cloud id: leave the /ex/confluence/... part out to have it "
                     "looked up)" if self.config.api_gateway else f"{setting('confluence_url')} and "
                     f"{setting('data_source')}")
            raise ConfluenceConnectionError(
                f"No {self.config.flavour_label} REST API at {self.config.v1_root} (HTTP 404); check {where}"
            ) from None
        except ConfluenceRequestError as error:
            if error.status == 407:
                raise ConfluenceConnectionError(
                    "The proxy between this machine and Confluence asks for credentials (HTTP 407): give them in "
                    "HTTPS_PROXY / HTTP_PROXY (http://user:password@proxy:port), or exempt the site with NO_PROXY"
                ) from None
            if error.status is None or not 400 <= error.status < 500 or error.status in (408, 410, 429):
                raise  # the server failed, kept failing, or retired the endpoint: not a setting
            # a client error on the simplest GET there is: the URL points at some other kind of server
            raise ConfluenceConnectionError(
                f"{self.config.v1_root} does not answer like the {self.config.flavour_label} REST API ({error}); "
                f"check {setting(self.config.address_setting)} and {setting('data_source')}"
            ) from None
        if not isinstance(body, dict):
            raise ConfluenceConnectionError(
                f"Unexpected answer from {self.config.v1_root}; check {setting(self.config.address_setting)}"
            )
        if body.get("type") == "anonymous":
            raise ConfluenceConfigError(
                f"Confluence treated the request as anonymous (check {self.config.auth.describe()})"
            )
        self.users.remember(body)
        user_key = body.get("accountId") or body.get("userKey") or body.get("username")
        return CurrentUser(id=user_key, name=body.get("displayName"), timezone=body.get("timeZone"))

    def _choose_zone(self, user: CurrentUser) -> tuple[tzinfo, timedelta]:
        """The zone CQL date literals are read in, and how much further back change windows must reach for it."""
        for name, origin in ((self.config.cql_timezone, "cql_timezone"), (user.timezone, "the user's profile")):
            if not name:
                continue
            try:
                return ZoneInfo(name), timedelta(0)
            except (ZoneInfoNotFoundError, ValueError):
                logger.warning("Unknown time zone %r from %s; ignoring it", name, origin)
        inferred = self._infer_zone()
        if inferred is not None:
            return inferred, defaults.INFERRED_ZONE_MARGIN
        logger.warning(
            "Confluence did not tell the user's time zone; change windows use UTC (set %s if that is wrong)",
            setting("cql_timezone"),
        )
        return timezone.utc, timedelta(0)

    def _infer_zone(self) -> tzinfo | None:
        """Server/Data Center: the server's offset, read from a timestamp it renders (its default zone)."""
        return None

    @abstractmethod
    def _list_spaces(self) -> list[SpaceInfo]:
        """Every space the user can see (current and archived)."""

    def _space_exists(self, space: SpaceInfo) -> bool:
        """Whether the user still sees the space (current or archived): one request."""
        return self.read_if_visible(self._space_url(space), {}, "checking that a space still exists") is not None

    def _space_still_there(self, key: str) -> bool:
        """Whether a space the run listed at its start is still there for the user (`_space_exists`)."""
        space = self.state.all_spaces.get(key)
        return space is not None and self._space_exists(space)

    def read_if_visible(self, url: str, params: Mapping[str, Any], purpose: str) -> Any | None:
        """One item read by its address, or None when it is gone (404) or no longer visible to the account (403).
        Any other failure, a 401 (broken credentials) among them, propagates: it says nothing about the item."""
        try:
            return self.client.get_json(url, params, purpose=purpose)
        except ConfluenceNotFoundError:
            return None
        except ConfluenceRequestError as error:
            if error.status == 403:
                return None
            raise

    @abstractmethod
    def _space_url(self, space: SpaceInfo) -> str:
        """The API address of one space."""

    def _select_spaces(self) -> list[SpaceInfo]:
        spaces = self.state.all_spaces
        include_archived = self.config.index_archived
        if self.config.spaces is None:
            if not spaces and not self.config.advanced_rules:
                # more likely an account that lost its permissions (or the wrong account) than a site without spaces;
                # a run that went on would read nothing and, on a schedule, succeed every time while the index ages
                raise ConfluenceConfigError(
                    f"The account sees no space at all on {self.config.site_url}: nothing was read and nothing is "
                    f"deleted; give it permission to view the spaces to sync, or check {self.config.auth.describe()}")
            return [s for s in spaces.values() if include_archived or s.status != "archived"]
        selected: list[SpaceInfo] = []
        unknown: list[str] = []
        archived: list[str] = []
        by_upper = {key.upper(): key for key in spaces}
        for wanted in self.config.spaces:
            key = wanted if wanted in spaces else by_upper.get(wanted.upper())
            if key is None:
                unknown.append(wanted)
                continue
            space = spaces[key]
            if any(chosen.key == key for chosen in selected):
                continue  # the same space written twice, in another case ("ENG, eng")
            if space.status == "archived" and not include_archived:
                archived.append(key)
                continue
            selected.append(space)
        if unknown:
            available = sorted(key if include_archived or spaces[key].status != "archived" else f"{key} (archived)"
                               for key in spaces)
            shown = ", ".join(available[:100]) + (", ..." if len(available) > 100 else "")
            raise ConfluenceConfigError(
                f"{setting('spaces')}: unknown space key(s) {', '.join(unknown)}; the user can see: {shown or 'none'}"
            )
        if archived:
            # named, but never synced as things are: like an unknown key, a setting to change rather than a space to
            # skip quietly (and whose documents the run would remove from the index)
            raise ConfluenceConfigError(
                f"{setting('spaces')}: space(s) {', '.join(archived)} archived in Confluence; set "
                f"{setting('index_archived')} = true to sync archived content, or take them out of {setting('spaces')}")
        return selected

    def _validate_rule(self, rule: str) -> None:
        """Both searches a rule runs in (content, and the spaces it matches) accept it, before anything is read."""
        try:
            content = self.client.get_json(
                self.client.v1(defaults.CONTENT_SEARCH), {"cql": rule, "limit": 1}, purpose="checking an advanced rule"
            )
            spaces = self.client.get_json(self.client.v1(defaults.SEARCH),
                                          {**self._rule_space_query(rule), "limit": 1},
                                          purpose="checking an advanced rule")
        except ConfluenceQueryError as error:
            raise ConfluenceConfigError(f"{setting('advanced_rules')}: {error}") from None
        if _finds_nothing(content) and _finds_nothing(spaces):
            # not an error (a rule may be written before its content exists), but most often a typo
            logger.warning("%s: the rule %r matches nothing this account can see outside archived spaces; check it "
                           "if that is unexpected", setting("advanced_rules"), rule)

    # ---- CQL reading (incremental windows, advanced rules, and per-space fallbacks) -------------------------------
    def _scope_filter(self, key: str) -> str:
        """The CQL filter of a scope key: an advanced rule's own text, or `space = "KEY"`."""
        if key in self.config.advanced_rules:
            return f"({without_order_by(key)})"
        return space_clause([key])

    def read_cql(
        self, doc_type: str, scopes: list[Scope], window: ChangeWindow | None, mark_fully_read: bool = True
    ) -> Iterator[Emitted]:
        """Items of one type matching the scopes' CQL (space keys batched into `space in (...)`), deduplicated by
        (id, version); every document is attributed to the scope that selected it. Without a window (and unless
        the caller completes the read itself) the scopes are recorded as fully read."""
        seen: set[tuple[str, Any]] = set()
        window_clause = window.clause(self.zone) if window is not None else None
        if window is None:  # what search leaves out is not proof that it is gone (`confirm_gone`)
            self._searched_listings.update((scope.key, doc_type) for scope in scopes)
        for scope_key_of, cql, archived in self._cql_queries(type_clause(doc_type), scopes, window_clause):
            for items in self.search(cql, defaults.V1_EXPAND[doc_type], defaults.V1_PAGE_SIZE_WITH_BODY, archived,
                                     purpose=f"searching {doc_type}s"):
                batch: list[tuple[str, ContentFacts]] = []
                for raw in items:
                    facts = self._facts_from_v1(raw)
                    if facts is None or facts.doc_type != doc_type:
                        continue
                    marker = (facts.confluence_id, facts.version)
                    if marker in seen:
                        continue
                    seen.add(marker)
                    scope_key = scope_key_of(facts)
                    if scope_key is None:
                        continue
                    batch.append((scope_key, facts))
                yield from self.emit(batch)
        if window is None and mark_fully_read:
            for scope in scopes:
                self.record_fully_read(scope.key, doc_type)

    def current_labels(
        self, doc_types: tuple[str, ...], scopes: list[Scope], expected_items: int, max_workers: int = 16
    ) -> dict[str, tuple[str, ...]] | None:
        """Document id -> sorted labels of every item of these types that carries labels now, site-wide, where a
        flavour can tell that in fewer requests than listing the `expected_items` of these scopes (`iter_outlines`),
        with at most `max_workers` requests at a time; None where it cannot."""
        return None

    def iter_outlines(
        self, doc_types: tuple[str, ...], scopes: list[Scope], sizes: Mapping[str, int] | None = None,
        expand: str = defaults.V1_OUTLINE_EXPAND, keep: Callable[[Outlined], bool] | None = None,
        max_workers: int | None = None, abandon: threading.Event | None = None,
    ) -> Iterator[Outlined]:
        """(scope key, type, Confluence id, outline) of every current item of these types in these scopes: no
        bodies, just what shows a change that creates no version (title, space, labels, ancestors), about one request
        per 200 items. The space comes from the unexpanded `space` link and no version is asked for: both expansions
        would more than double what Confluence has to render. `expand` may leave out the ancestors (their outline then
        has none) where only labels are compared: they are most of what a listing weighs. `keep`, where given, picks
        the items to yield as they are listed, so that a long listing is never held in memory whole.

        Such a listing is a long chain of small requests, so it is split into a few queries of similar size (`sizes`:
        items per space key, e.g. what the index holds) that run side by side (at most `max_workers`, and never more
        than `concurrent_downloads`); on the simulator four queries list a 50,000-page site three times faster than
        one. A failed query fails the whole listing: the others stop at their next response. So does every query once
        the caller sets `abandon` (e.g. a listing running beside this one failed): the listing then raises
        `ListingStopped`."""
        queries = self._outline_queries(type_clause(*doc_types), scopes, sizes or {})
        purpose = f"listing {'labels' if 'ancestors' not in expand else 'labels and page trees'} of " + ", ".join(
            f"{doc_type}s" for doc_type in doc_types)

        stop = threading.Event()  # set when the listing ends early (a query failed): the other queries stop too
        stopping = (stop,) if abandon is None else (stop, abandon)

        def run(query: tuple[Any, str, bool]) -> list[Outlined]:
            scope_key_of, cql, archived = query
            found: list[Outlined] = []
            for items in self.search(cql, expand, defaults.V1_PAGE_SIZE_NO_BODY, archived, purpose=purpose):
                if any(event.is_set() for event in stopping):
                    raise ListingStopped()
                for raw in items:
                    if not self.is_indexed_status(raw.get("status")):
                        continue
                    doc_type, confluence_id, outline = outline_from_v1(raw)
                    scope_key = scope_key_of(outline) if doc_type in doc_types else None
                    if scope_key is None:
                        continue
                    item = (scope_key, doc_type, confluence_id, outline)
                    if keep is None or keep(item):
                        found.append(item)
            return found

        budget = min(self.config.concurrent_downloads, max_workers or defaults.OUTLINE_QUERIES)
        workers = max(1, min(defaults.OUTLINE_QUERIES, budget, len(queries)))
        if workers == 1:
            for query in queries:
                yield from run(query)
            return
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="confluence-outlines")
        try:
            for future in as_completed([pool.submit(run, query) for query in queries]):
                yield from future.result()
        finally:
            stop.set()  # after a failure, or when the caller stops reading: the running queries end at their next page
            pool.shutdown(wait=True, cancel_futures=True)

    def _outline_queries(
        self, type_filter: str, scopes: list[Scope], sizes: Mapping[str, int]
    ) -> list[tuple[Any, str, bool]]:
        """The queries of an outline listing: one per advanced rule, and the spaces spread over a few queries of
        similar expected size (largest spaces first, each to the lightest query; at most 100 spaces per query). A
        listing short enough to take a few responses is one query: splitting it would only add requests."""
        queries: list[tuple[Any, str, bool]] = [
            query for query in self._cql_queries(type_filter, [s for s in scopes if s.kind == "rule"], None)
        ]
        for archived in (False, True):
            keys = sorted((s.key for s in scopes if s.kind == "space" and self._in_archived_space(s.key) == archived),
                          key=lambda key: -sizes.get(key, 1))
            if not keys:
                continue
            expected = sum(max(1, sizes.get(key, 1)) for key in keys)
            side_by_side = min(defaults.OUTLINE_QUERIES, len(keys), -(-expected // defaults.OUTLINE_ITEMS_PER_QUERY))
            count = max(side_by_side, -(-len(keys) // defaults.CQL_SPACE_BATCH))
            groups: list[list[str]] = [[] for _ in range(count)]
            loads = [0] * count
            for key in keys:
                lightest = min((i for i in range(count) if len(groups[i]) < defaults.CQL_SPACE_BATCH),
                               key=lambda i: loads[i])
                groups[lightest].append(key)
                loads[lightest] += max(1, sizes.get(key, 1))
            for group in groups:
                allowed = set(group)
                queries.append((lambda outline, allowed=allowed: outline.space_key if outline.space_key in allowed
                                else None, and_all(space_clause(group), type_filter), archived))
        return queries

    def _reads_archived(self) -> bool:
        """Whether reads by id must include archived spaces (archived content, or an archived space synced)."""
        return self.config.index_archived or any(space.status == "archived" for space in self.state.selected)

    def iter_contained(self, container_ids: list[str], doc_types: tuple[str, ...],
                       rules: Sequence[str] = ()) -> Iterator[tuple[str, str, str]]:
        """(type, Confluence id, container id) of the items of these types hanging on these pages or blog posts,
        without bodies: CQL `container in (...)`, one query per batch of containers; with advanced rules, only
        those one of the rules matches too."""
        archived = self._reads_archived()
        within = " or ".join(self._scope_filter(rule) for rule in rules) or None
        for start in range(0, len(container_ids), defaults.CQL_ID_BATCH):
            batch = container_ids[start : start + defaults.CQL_ID_BATCH]
            cql = and_all(type_clause(*doc_types), id_clause(batch, field="container"), within)
            for items in self.search(cql, "container", defaults.V1_PAGE_SIZE_NO_BODY, archived,
                                     purpose="listing comments and attachments of returning pages"):
                for raw in items:
                    container = raw.get("container")
                    if raw.get("type") in doc_types and isinstance(container, dict) and container.get("id"):
                        yield str(raw["type"]), str(raw.get("id")), str(container["id"])

    def _synced_space_keys(self) -> set[str]:
        plan = self.plan_in_use
        return {scope.key for scope in plan.scopes if scope.kind == "space"} if plan is not None else set()

    def read_ids(self, doc_type: str, wanted: Mapping[str, str]) -> Iterator[Emitted]:
        """Full documents of chosen items (Confluence id -> scope key), fetched with CQL `id in (...)` in batches
        and every expansion a document needs. Items that vanished in the meantime are simply not returned; an item
        chosen for one space that has moved to another since is returned for that one where it is synced, and not
        at all where it is not."""
        ids = sorted(wanted)
        archived = self._reads_archived()
        for start in range(0, len(ids), defaults.CQL_ID_BATCH):
            batch = ids[start : start + defaults.CQL_ID_BATCH]
            cql = and_all(type_clause(doc_type), id_clause(batch))
            for items in self.search(cql, defaults.V1_EXPAND[doc_type], defaults.V1_PAGE_SIZE_WITH_BODY, archived,
                                     purpose=f"reading changed {doc_type}s"):
                emitted: list[tuple[str, ContentFacts]] = []
                for raw in items:
                    facts = self._facts_from_v1(raw)
                    if facts is None or facts.doc_type != doc_type or facts.confluence_id not in wanted:
                        continue
                    scope_key = wanted[facts.confluence_id]
                    if scope_key in self.state.all_spaces and facts.space_key != scope_key:
                        if facts.space_key not in self._synced_space_keys():
                            continue
                        scope_key = facts.space_key  # moved to another synced space since it was chosen
                    emitted.append((scope_key, facts))
                yield from self.emit(emitted)

    def search(
        self, cql: str, expand: str, limit: int, archived_spaces: bool, *, purpose: str
    ) -> Iterator[list[JsonObject]]:
        """Pages of content matching `cql`. Content search leaves archived spaces out; when those are wanted the
        generic search is used with `includeArchivedSpaces` (its results wrap each item in `content`)."""
        if not archived_spaces:
            params: dict[str, Any] = {"cql": cql, "limit": limit}
            if expand:
                params["expand"] = expand
            for page in self.client.pages(self.client.v1(defaults.CONTENT_SEARCH), params, purpose=purpose):
                yield page.items
            return
        params = {"cql": cql, "limit": limit, "includeArchivedSpaces": "true"}
        if expand:
            params["expand"] = ",".join(f"content.{part}" for part in expand.split(","))
        for page in self.client.pages(self.client.v1(defaults.SEARCH), params, purpose=purpose):
            yield [result["content"] for result in page.items if isinstance(result.get("content"), dict)]

    def _in_archived_space(self, key: str) -> bool:
        space = self.state.all_spaces.get(key)
        return bool(space is not None and space.status == "archived")

    def _cql_queries(
        self, type_filter: str, scopes: list[Scope], window_clause: str | None
    ) -> Iterator[tuple[Any, str, bool]]:
        """(scope attribution, CQL, whether archived spaces are involved) for each query to run."""
        for scope in scopes:
            if scope.kind == "rule":
                key = scope.key
                yield (lambda facts, key=key: key), and_all(
                    f"({without_order_by(scope.rule or '')})", type_filter, window_clause
                ), self.config.index_archived
        for archived in (False, True):
            keys = [s.key for s in scopes if s.kind == "space" and self._in_archived_space(s.key) == archived]
            for start in range(0, len(keys), defaults.CQL_SPACE_BATCH):
                batch = keys[start : start + defaults.CQL_SPACE_BATCH]
                allowed = set(batch)
                yield (lambda facts, allowed=allowed: facts.space_key if facts.space_key in allowed else None), and_all(
                    space_clause(batch), type_filter, window_clause
                ), archived

    def _facts_from_v1(self, raw: JsonObject) -> ContentFacts | None:
        for path in (("version", "by"), ("history", "createdBy")):
            node: Any = raw
            for part in path:
                node = node.get(part) if isinstance(node, dict) else None
            self.users.remember(node)
        if not self.is_indexed_status(raw.get("status")):
            return None
        container = raw.get("container")
        hangs_on = container.get("status") if isinstance(container, dict) else None
        # content hanging on a trashed (or, unless wanted, archived) page is not indexed with it
        if raw.get("type") in ("comment", "attachment") and not self.is_indexed_status(hangs_on):
            return None
        facts = facts_from_v1(raw, self.client.web_url)
        if facts.space_name is None and facts.space_key in self.state.all_spaces:
            facts.space_name = self.state.all_spaces[facts.space_key].name  # `space` was not expanded
        return facts

    def is_indexed_status(self, status: Any) -> bool:
        """Current content is indexed; archived content only with `index_archived`. Also applied to the container
        of a comment or attachment: what hangs on a trashed (or unwanted archived) page is not indexed."""
        if status in (None, "current"):
            return True
        return status == "archived" and self.config.index_archived

    # ---- emitting --------------------------------------------------------------------------------------------
    def emit(self, batch: list[tuple[str, ContentFacts]]) -> Iterator[Emitted]:
        """Resolve the names a batch needs (one lookup round for all of it), then build its documents."""
        if not batch:
            return
        references: set[tuple[str, str]] = set()
        for _, facts in batch:
            references |= facts.mentions()
            if facts.author_id and not facts.author_name and self.users.name(facts.author_id) is None:
                references.add(("account-id" if self.config.is_cloud else "userkey", facts.author_id))
        self.users.resolve(references)
        pool = self.body_pool
        with_bodies = [facts for _, facts in batch if has_body(facts.doc_type) and facts.storage]
        # facts id -> (the future of its job, its place in the job); bodies of a job the pool refused are converted here
        place: dict[int, tuple[Future[list[BodyResult]], int]] = {}
        if pool is not None and len(with_bodies) >= MIN_BODIES_FOR_WORKERS:
            # jobs of a few dozen bodies: a worker starts on the first while the rest are still being packed, and
            # never holds a whole listing page of bodies and their conversions at once
            for start in range(0, len(with_bodies), BODIES_PER_JOB):
                chunk = with_bodies[start : start + BODIES_PER_JOB]
                future = pool.submit([self.builder.body_job(facts) for facts in chunk])
                if future is None:
                    break
                place.update((id(facts), (future, index)) for index, facts in enumerate(chunk))
        self.bodies_sent_to_workers += len(place)
        built: list[tuple[str, JsonObject]] = []
        for scope_key, facts in batch:
            document = self.builder.content(facts, convert=id(facts) not in place)
            if id(facts) in place:
                job_future, index = place[id(facts)]
                document[PENDING_BODY] = PendingBody(job_future, index, partial(self.builder.convert_body, facts))
            built.append((scope_key, document))
        attachments = [document for _, document in built if document["type"] == "attachment"]
        if attachments:
            self.attachment_text.attach(attachments)  # their text, or its download, pending
        for scope_key, document in built:
            self.record_seen(scope_key, document["type"], document["id"])
            yield scope_key, document

    def start_body_workers(self, workers: int) -> None:
        """Convert bodies in `workers` forked processes from now on (see `body_conversion`); documents then carry
        a pending body that `documents.finish_body` fills in."""
        if workers > 0 and self.body_pool is None:
            self.body_pool = BodyConversionPool(workers, self.builder.web_base)

    def stop_workers(self) -> None:
        """Stop the body conversion processes and the attachment download threads (once extraction is over)."""
        if self.body_pool is not None:
            self.body_pool.close()
            self.body_pool = None
        self.attachment_text.finish()

    def guarded(self, scope: Scope, reading: Iterator[Emitted]) -> Iterator[Emitted]:
        """Read one space; if it disappears mid-run (404), log it, skip it and carry on with the others."""
        try:
            yield from reading
        except ConfluenceNotFoundError:
            self.space_vanished(scope.key)

    def space_vanished(self, key: str) -> None:
        """A listing of the space answered 404: skip the space if it is gone indeed. A 404 from a space that is still
        there (a proxy, a node that lost its index for a moment) must not pass for its end: that space would be
        saved as read with part of its content missing, so the run fails instead and the next one reads it again."""
        if key in self.vanished:
            return
        if self._space_still_there(key):
            raise IncompleteListingError(
                f"Confluence answered 404 while listing the content of space {key}, which still exists: this run "
                "stops without deleting anything, and the next run reads it again")
        self._note_vanished(key)

    def _note_vanished(self, key: str) -> None:
        logger.warning("Space %s disappeared during the run (gone, or no longer visible to the account); skipping it",
                       key)
        self.vanished.add(key)

    # ---- ledger ----------------------------------------------------------------------------------------------
    def record_seen(self, scope_key: str, doc_type: str, document_id: str) -> None:
        if self.ledger is not None:
            self.ledger.saw(scope_key, doc_type, document_id)

    def record_fully_read(self, scope_key: str, doc_type: str) -> None:
        if self.ledger is not None and scope_key not in self.vanished:
            self.ledger.mark_fully_read(scope_key, doc_type)

    # ---- id listings helpers -----------------------------------------------------------------------------------
    def scope_ids_by_search(self, scope_key: str, doc_type: str) -> Iterator[str]:
        """Ids of one type in a scope (space or rule) from CQL search, checked against the server's own total.

        The generic search is used because it reports `totalSize` (so a listing that ends short is detected) and
        can include archived spaces. The container is expanded so that content hanging on trashed (or unwanted
        archived) pages is left out exactly as the readers leave it out.
        """
        include_archived = self._in_archived_space(scope_key) or (
            scope_key in self.config.advanced_rules and self.config.index_archived
        )
        self._searched_listings.add((scope_key, doc_type))
        yield from self._ids_from_search(and_all(self._scope_filter(scope_key), type_clause(doc_type)), doc_type,
                                         include_archived, f"listing {doc_type} ids of {scope_key}",
                                         "not reconciling deletions on it")

    def _ids_from_search(self, cql: str, doc_type: str, include_archived: bool, purpose: str,
                         if_short: str) -> Iterator[str]:
        """Document ids of the items of one type that the generic search returns for `cql` and the readers would
        index, checked against the server's own total: a listing that ends short raises (`if_short` says what the
        caller then refrains from), because callers delete what it leaves out."""
        params: dict[str, Any] = {"cql": cql, "limit": defaults.V1_PAGE_SIZE_NO_BODY}
        if include_archived:
            params["includeArchivedSpaces"] = "true"
        if doc_type in ("comment", "attachment"):
            params["expand"] = "content.container"
        listed = 0
        total: int | None = None
        for page in self.client.pages(self.client.v1(defaults.SEARCH), params, purpose=purpose):
            total = page.total if page.total is not None else total
            for result in page.items:
                item = result.get("content")
                if not isinstance(item, dict) or item.get("id") is None:
                    continue
                listed += 1
                if item.get("type") != doc_type or self._facts_from_v1(item) is None:
                    continue
                yield doc_id(doc_type, item["id"])
        if total is None or listed < total:
            raise IncompleteListingError(
                f"Confluence listed {listed} of {total if total is not None else 'an unknown number of'} items "
                f"while {purpose}; {if_short}"
            )

    def confirm_gone(self, scope_key: str, doc_type: str, document_ids: Sequence[str]) -> set[str]:
        """Of these indexed documents that the scope's id listing left out, those that are gone from the scope.

        A listing taken from search (`scope_ids_by_search`, or a full read through search: `read_cql`) can leave out
        an item that changed moments before without a new version (a label added, restrictions saved): search
        indexes it again a little later, and an item missing from it meanwhile would be deleted, and no later listing
        would bring it back (nothing dates it).
        So each such candidate is read by its id, which does not go through search, and stays when it is still a
        current item of this scope (one request per candidate, several at a time). Other listings are taken as
        they are."""
        if (scope_key, doc_type) not in self._searched_listings or scope_key in self.config.advanced_rules:
            return set(document_ids)
        statuses = ["current", "archived"] if self.config.index_archived else ["current"]

        def still_here(document_id: str) -> bool:
            confluence_id = document_id.split("-", 1)[1]
            raw = self.read_if_visible(  # restricted away from the account counts as gone for this index
                self.client.v1(defaults.CONTENT_BY_ID.format(content_id=confluence_id)),
                {"expand": defaults.V1_CONFIRM_EXPAND, "status": statuses},
                f"checking that {doc_type} {confluence_id} is gone",
            )
            facts = self._facts_from_v1(raw) if isinstance(raw, dict) else None
            return facts is not None and facts.doc_type == doc_type and facts.space_key == scope_key

        ids = list(document_ids)
        kept = {document_id for document_id, here in zip(ids, self.in_parallel(still_here, ids)) if here}
        if kept:
            logger.info("Kept %d %s document(s) of %s that search does not list (yet), but Confluence still has",
                        len(kept), doc_type, scope_key)
        return set(ids) - kept

    def still_matched_by_rules(self, doc_type: str, document_ids: Sequence[str]) -> set[str]:
        """Of these indexed documents, those an advanced rule matches now, by the rules' own CQL narrowed to their
        ids (100 per query) and the status filters the read applies. The generic search reports its total, so a
        short answer raises instead of passing for items no rule matches (their documents would go)."""
        rules = " or ".join(self._scope_filter(rule) for rule in self.config.advanced_rules)
        ids = sorted({document_id.split("-", 1)[1] for document_id in document_ids})
        found: set[str] = set()
        for start in range(0, len(ids), defaults.CQL_ID_BATCH):
            cql = and_all(f"({rules})", type_clause(doc_type), id_clause(ids[start : start + defaults.CQL_ID_BATCH]))
            found.update(self._ids_from_search(cql, doc_type, self.config.index_archived,
                                               f"checking which {doc_type}s the advanced rules still match",
                                               "not deleting any of them"))
        return found

    def spaces_matched_by_rules(self) -> set[str]:
        """Keys of the spaces an advanced rule matches itself (one search per rule)."""
        return {key for rule in self.config.advanced_rules for key in self.spaces_matched_by_rule(rule)}

    def in_parallel(self, read: Callable[[str], T], keys: list[str]) -> list[T]:
        """`read` of each key, in order, several at once (single-item reads, mostly waiting)."""
        workers = min(self.config.concurrent_downloads, len(keys), 16)
        if workers <= 1:
            return [read(key) for key in keys]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="confluence-items") as pool:
            return list(pool.map(read, keys))


class ListingStopped(Exception):
    """An outline listing stopped before its end: one of its queries failed (that error is the one raised), or the
    caller abandoned it."""


def _finds_nothing(answer: Any) -> bool:
    """Whether a search answer has no result and no next page (some searches answer a first empty page)."""
    if not isinstance(answer, dict) or answer.get("results") != []:
        return False
    links = answer.get("_links")
    return not (isinstance(links, dict) and links.get("next"))
