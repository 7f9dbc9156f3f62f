"""Display names of Confluence users, looked up in bulk and cached for the run.

Cloud v2 objects carry only account ids (`authorId`), and storage bodies mention people by account id (Cloud) or
user key / username (Data Center). Names are needed for `author_name` and for readable mentions in body text. To
keep requests per document low, the readers first collect every id a batch of items refers to and resolve the
unknown ones together (Cloud: 250 per `users-bulk` request; Data Center has no bulk lookup, so a bounded thread pool
resolves keys in parallel); conversion then only reads the cache. v1 objects already embed user objects, whose
names are remembered for free.
"""

from __future__ import annotations

import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable

from . import settings as defaults
from .client import ConfluenceClient
from .errors import ConfluenceNotFoundError, ConfluenceRequestError

logger = logging.getLogger(__name__)

_MENTION = re.compile(r'ri:(account-id|userkey|username)\s*=\s*"([^"]+)"')


def mentioned_users(storage: str | None) -> set[tuple[str, str]]:
    """(kind, value) of every user a storage body mentions; kind is account-id, userkey or username."""
    if not storage or "ri:" not in storage:
        return set()
    return {(kind, value) for kind, value in _MENTION.findall(storage)}


def display_name(user: Any) -> str | None:
    """The name to show for a v1/v2 user object (display name, else public name, else username)."""
    if not isinstance(user, dict):
        return None
    for key in ("displayName", "publicName", "username"):
        value = user.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def user_id(user: Any) -> str | None:
    """The stable id of a v1 user object: accountId on Cloud, userKey (else username) on Data Center."""
    if not isinstance(user, dict):
        return None
    for key in ("accountId", "userKey", "username"):
        value = user.get(key)
        if isinstance(value, str) and value:
            return value
    return None


class UserDirectory:
    """Id -> display name, shared by all readers and threads of one run."""

    def __init__(self, client: ConfluenceClient, workers: int) -> None:
        self._client = client
        self._workers = max(1, workers)
        self._names: dict[str, str | None] = {}
        self._lock = threading.Lock()
        # set when the site has no user lookup API (404 on the endpoint itself): stop asking
        self._lookups_unavailable = False

    def name(self, identifier: str | None) -> str | None:
        """The cached name (None when unknown or unresolvable); never sends a request."""
        if not identifier:
            return None
        with self._lock:
            return self._names.get(identifier)

    def remember(self, user: Any) -> None:
        """Learn the name from a user object embedded in an API answer (v1 `version.by`, `history.createdBy`)."""
        name = display_name(user)
        if not name or not isinstance(user, dict):
            return
        with self._lock:
            for key in ("accountId", "userKey", "username"):
                value = user.get(key)
                if isinstance(value, str) and value:
                    self._names[value] = name

    def resolve(self, references: Iterable[tuple[str, str]]) -> None:
        """Make sure the given (kind, value) references are in the cache, with as few requests as possible."""
        with self._lock:
            wanted = {(kind, value) for kind, value in references if value and value not in self._names}
        if not wanted or self._lookups_unavailable:
            return
        if self._client.config.is_cloud:
            self._resolve_cloud(sorted(value for kind, value in wanted if kind == "account-id"))
        else:
            self._resolve_datacenter(sorted(wanted))

    def resolve_account_ids(self, account_ids: Iterable[str | None]) -> None:
        self.resolve(("account-id", value) for value in account_ids if value)

    def _resolve_cloud(self, account_ids: list[str]) -> None:
        for start in range(0, len(account_ids), defaults.CLOUD_USERS_BULK_MAX):
            chunk = account_ids[start : start + defaults.CLOUD_USERS_BULK_MAX]
            try:
                body = self._client.post_json(
                    self._client.v2(defaults.V2_USERS_BULK),
                    {"accountIds": chunk},
                    purpose="looking up user names",
                )
            except ConfluenceNotFoundError:
                logger.warning("This site offers no bulk user lookup; author names and mentions stay unresolved")
                self._lookups_unavailable = True
                return
            except ConfluenceRequestError as error:
                logger.warning("Could not look up %d user names: %s", len(chunk), error)
                body = None
            found: dict[str, str | None] = {value: None for value in chunk}
            for user in (body or {}).get("results") or []:
                if isinstance(user, dict) and user.get("accountId"):
                    found[user["accountId"]] = display_name(user)
            with self._lock:
                self._names.update(found)

    def _resolve_datacenter(self, references: list[tuple[str, str]]) -> None:
        def lookup(reference: tuple[str, str]) -> tuple[str, str | None]:
            kind, value = reference
            param = "key" if kind in ("userkey", "account-id") else "username"
            try:
                user = self._client.get_json(
                    self._client.v1(defaults.DC_USER), {param: value}, purpose="looking up a user name"
                )
            except ConfluenceNotFoundError:
                return value, None
            except ConfluenceRequestError as error:
                logger.warning("Could not look up a user name: %s", error)
                return value, None
            return value, display_name(user)

        workers = min(self._workers, len(references))
        if workers <= 1:
            results = [lookup(reference) for reference in references]
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="confluence-users") as pool:
                results = list(pool.map(lookup, references))
        with self._lock:
            self._names.update(dict(results))
