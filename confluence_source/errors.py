"""Exceptions the source raises, each meant to be shown to the user as one line that names the setting to fix.

The pipeline catches `ConfluenceError` and prints `str(error)` without a traceback, so every message must stand on
its own: what went wrong, and which `sources.confluence.*` setting to look at. No message may contain a secret.
"""

from __future__ import annotations


class ConfluenceError(Exception):
    """Base class: any failure the source reports to the user."""

    # Set on a failed file download that got no answer at all (timed out, or no connection), from the site or from
    # the host it redirected to: what tells a site that went away from one that refuses a file.
    unanswered: bool = False


class ConfluenceConfigError(ConfluenceError):
    """A setting is missing or malformed (detected before any request is sent)."""


class ConfluenceAuthError(ConfluenceError):
    """Confluence rejected the credentials (401/403)."""


class ConfluenceConnectionError(ConfluenceError):
    """The site could not be reached: DNS, refused connection, timeout, or no Confluence API at the URL."""


class ConfluenceWentAwayError(ConfluenceConnectionError):
    """The site answered earlier in this run, then stopped accepting connections: the run failed, but no setting is
    wrong (the command line exits 1, not 2). Still a connection error, so whatever lets a failed request pass (a
    name lookup, say) does not let this one: the run fails instead of writing documents without what it could not
    read."""


class ConfluenceTLSError(ConfluenceConnectionError):
    """The server's certificate was not trusted."""


class ConfluenceTokenError(ConfluenceError):
    """No access token from the OAuth token endpoint (a service account's). Not an answer of Confluence's: nothing
    that reads a refusal or an error status as "skip this item" or "this feature is unavailable" may take it for one.
    `names_a_setting`: the credentials or the endpoint are wrong (exit 2), not the endpoint failing (exit 1)."""

    def __init__(self, message: str, names_a_setting: bool) -> None:
        super().__init__(message)
        self.names_a_setting = names_a_setting


class ConfluenceQueryError(ConfluenceError):
    """Confluence rejected a CQL query (an advanced rule or a query the source built)."""


class UnknownSpaceQueryError(ConfluenceQueryError):
    """Confluence 9.3 refuses a CQL query that names a space key no space has (CONFSERVER-101465), where most other
    releases match nothing (9.2 answers HTTP 500, which passes for a failing server): a space deleted since the run
    listed the spaces, or a key mistyped in an advanced rule."""


class ConfluenceNotFoundError(ConfluenceError):
    """One item is gone (404); readers skip it and carry on."""


class SpaceVanishedError(ConfluenceError):
    """A synced space is gone since the run read it (deleted, or no longer visible): its id listing answered 404."""


class ConfluenceRequestError(ConfluenceError):
    """Any other failed request, after retries where retrying made sense."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class IncompleteListingError(ConfluenceError):
    """An id listing ended early or disagreed with the server's own total; deleting on it would be unsafe."""


class FileTooLargeError(ConfluenceError):
    """A downloaded file turned out larger than the limit it was read with (its listed size was wrong or missing)."""
