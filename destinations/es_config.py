"""Settings of the Elasticsearch destination: the dlt config spec and its validated, immutable form.

The spec is the single list of settings. dlt injects it into the sink (section
`[destination.elasticsearch]`, env `DESTINATION__ELASTICSEARCH__*`), and
`resolve_settings()` resolves the same spec outside a load so the pipeline's own client sees exactly
what the sink sees. Every name starts with `es_` because dlt falls back to bare top-level keys, and a
plain `api_key` or `password` would silently pick up the Confluence source's value.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from contextlib import AbstractContextManager
from typing import Any, Final
from urllib.parse import urlsplit

from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.utils import get_resolved_traces
from dlt.common.typing import TSecretStrValue
from dlt.destinations.impl.destination.configuration import (
    CustomDestinationClientConfiguration,
)

from destinations.es_errors import (
    ElasticsearchConfigurationError,
    explained_client_errors,
    redact_hosts,
    redact_url,
)
from destinations.es_mapping import DEFAULT_LANGUAGE, LANGUAGE_ANALYZERS, NO_LANGUAGE

DEFAULT_HOSTS: Final = "http://127.0.0.1:9200"
DEFAULT_INDEX: Final = "search-confluence"
DEFAULT_REQUEST_TIMEOUT: Final = 60.0
MAX_REQUEST_TIMEOUT: Final = 86_400.0  # a day
#: Retries (with exponential backoff and jitter) of a bulk request on 429/5xx/connection errors.
DEFAULT_MAX_RETRIES: Final = 6
#: A document larger than this is dead-lettered instead of sent: one giant body would otherwise be
#: rejected by indexing-pressure limits (429) forever and block its whole load package.
DEFAULT_MAX_DOCUMENT_BYTES: Final = 20 * 1024 * 1024
SECTIONS: Final = ("destination", "elasticsearch")

_PEM_MARKER: Final = "-----BEGIN"
_INVALID_INDEX_CHARS: Final = re.compile(r'[\\/*?"<>| ,#:]')


@configspec
class ElasticsearchDestinationConfiguration(CustomDestinationClientConfiguration):
    """What a user can set under [destination.elasticsearch]."""

    es_hosts: str = DEFAULT_HOSTS
    es_cloud_id: str | None = None
    es_api_key: TSecretStrValue | None = None
    es_username: TSecretStrValue | None = None
    es_password: TSecretStrValue | None = None
    es_ca_certs: str | None = None
    es_verify_certs: bool = True
    es_request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    es_index: str = DEFAULT_INDEX
    es_max_retries: int = DEFAULT_MAX_RETRIES
    es_max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES
    es_language: str = DEFAULT_LANGUAGE
    es_pipeline: str | None = None

    def on_resolved(self) -> None:
        hide_host_credentials_from_config_trace()

    def __str__(self) -> str:
        """dlt prints this as the "location" the destination loaded to: where, never credentials."""
        if self.es_cloud_id:
            where = "Elastic Cloud (es_cloud_id)"
        else:
            where = redact_hosts(str(self.es_hosts or ""))
        return f"{where} index {self.es_index}"


def hide_host_credentials_from_config_trace() -> None:
    """Take the user:password@ out of `es_hosts` in dlt's log of resolved settings. dlt saves that log with the run
    trace (`trace.pickle`, printed by `dlt pipeline <name> trace`) and blanks only secret-typed settings; `es_hosts` is
    not one (it belongs in config.toml), yet a URL may carry a password."""
    log = get_resolved_traces()
    for entries in (log.resolved_traces, log.all_traces):
        for position, entry in enumerate(entries):
            if entry.key == "es_hosts" and isinstance(entry.value, str) and "@" in entry.value:
                entries[position] = entry._replace(value=redact_hosts(entry.value))


@dataclasses.dataclass(frozen=True, repr=False)
class ConnectionSettings:
    """Everything the client depends on; hashable, so it keys the shared-client cache.

    Its repr shows where and how we connect, never a secret (hosts may carry user:password@).
    """

    hosts: tuple[str, ...]
    cloud_id: str | None = None
    api_key: str | None = dataclasses.field(default=None, repr=False)
    username: str | None = dataclasses.field(default=None, repr=False)
    password: str | None = dataclasses.field(default=None, repr=False)
    ca_certs: str | None = dataclasses.field(default=None, repr=False)
    verify_certs: bool = True
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT

    @property
    def ca_certs_is_pem(self) -> bool:
        return self.ca_certs is not None and self.ca_certs.lstrip().startswith(_PEM_MARKER)

    @property
    def uses_tls(self) -> bool:
        return self.cloud_id is not None or any(h.lower().startswith("https://") for h in self.hosts)

    def __repr__(self) -> str:
        auth = "api_key" if self.api_key else "basic" if self.username else "none"
        return (
            f"ConnectionSettings(where={self.describe()!r}, auth={auth}, verify_certs={self.verify_certs},"
            f" request_timeout={self.request_timeout})"
        )

    @property
    def location_setting(self) -> str:
        """The setting that says where the cluster is, for messages about reaching it."""
        return "es_cloud_id" if self.cloud_id else "es_hosts"

    def explained_errors(
        self, index: str | None = None, precedence: tuple[type[BaseException], ...] = ()
    ) -> AbstractContextManager[None]:
        """`explained_client_errors` for this cluster."""
        return explained_client_errors(self.describe(), index, self.location_setting, precedence)

    def describe(self) -> str:
        """Where we connect to, safe for messages: no credentials, even ones embedded in a URL."""
        if self.cloud_id:
            return "the Elastic Cloud deployment of es_cloud_id"
        return ", ".join(redact_url(host) for host in self.hosts)


@dataclasses.dataclass(frozen=True)
class ElasticsearchSettings:
    """Validated destination settings."""

    connection: ConnectionSettings
    index: str = DEFAULT_INDEX
    max_retries: int = DEFAULT_MAX_RETRIES
    max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES
    #: The built-in analyzer of the `language` sub-fields (stemming, stop words), or `none` for no such sub-fields.
    language: str = DEFAULT_LANGUAGE
    #: The ingest pipeline every document goes through (e.g. one that adds embeddings for semantic search), or None.
    pipeline: str | None = None

    @property
    def dead_letter_index(self) -> str:
        return dead_letter_index_name(self.index)


def dead_letter_index_name(index: str) -> str:
    """Rejected documents of `index` are kept in `<index>-errors`."""
    return f"{index}-errors"


def _parse_hosts(raw: str) -> tuple[str, ...]:
    hosts = tuple(part.strip().rstrip("/") for part in raw.split(",") if part.strip())
    if not hosts:
        raise ElasticsearchConfigurationError("No Elasticsearch URL given", "es_hosts")
    for host in hosts:
        try:
            parts = urlsplit(host)
            port_ok = parts.port is None or parts.port > 0
        except ValueError:
            parts, port_ok = None, False
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
            problem = (f"Elasticsearch URL {redact_url(host)} is not a valid http(s) URL like https://host:9200"
                       if "://" in host else
                       "An Elasticsearch URL lacks its scheme: write it with http:// or https://, "
                       "like https://host:9200")
            raise ElasticsearchConfigurationError(problem, "es_hosts")
    return hosts


def _validate_index(index: str) -> str:
    name = index.strip()
    problem = None
    if not name:
        problem = "is empty"
    elif name != name.lower():
        problem = "must be lowercase"
    elif name[0] in "-_+" or name in (".", ".."):
        problem = "must not start with -, _ or + (nor be . or ..)"
    elif _INVALID_INDEX_CHARS.search(name):
        problem = 'must not contain spaces or any of \\ / * ? " < > | , # :'
    elif len(name.encode("utf-8")) > 240:  # leaves room for the "-errors" suffix under 255 bytes
        problem = "is too long (at most 240 bytes)"
    if problem:
        raise ElasticsearchConfigurationError(
            f"Elasticsearch index name '{index}' {problem}", "es_index"
        )
    return name


def _validate_language(language: str | None) -> str:
    """An `es_language` value, lowercased; blank means the default, as for any unset setting."""
    name = str(language or "").strip().lower() or DEFAULT_LANGUAGE
    if name != NO_LANGUAGE and name not in LANGUAGE_ANALYZERS:
        raise ElasticsearchConfigurationError(
            f"Unknown search language '{language}': use one of {', '.join(LANGUAGE_ANALYZERS)}, or {NO_LANGUAGE} "
            f"(no language sub-fields)", "es_language")
    return name


def _validate_pipeline(value: str | None) -> str | None:
    """An `es_pipeline` name: one pipeline (a pattern or a list would pass the preflight's lookup, then fail every
    document of the load)."""
    name = _blank_to_none(value)
    if name is not None and ("*" in name or "," in name):
        raise ElasticsearchConfigurationError(
            f"Ingest pipeline name '{name}' must name a single pipeline (no * or ,)", "es_pipeline")
    return name


def _validate_ca_certs(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if value.lstrip().startswith(_PEM_MARKER):
        # a PEM pasted into one line of a settings file or variable keeps its line breaks as the two characters \n
        return value.strip().replace("\\n", "\n") + "\n"
    path = os.path.expanduser(value.strip())
    if not os.path.isfile(path):
        raise ElasticsearchConfigurationError(
            "CA certificate file for Elasticsearch not found (give a path to a PEM file or the"
            " PEM text itself)",
            "es_ca_certs",
        )
    return path


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def build_settings(
    es_hosts: str = DEFAULT_HOSTS,
    es_cloud_id: str | None = None,
    es_api_key: str | None = None,
    es_username: str | None = None,
    es_password: str | None = None,
    es_ca_certs: str | None = None,
    es_verify_certs: bool = True,
    es_request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    es_index: str = DEFAULT_INDEX,
    es_max_retries: int = DEFAULT_MAX_RETRIES,
    es_max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES,
    es_language: str | None = DEFAULT_LANGUAGE,
    es_pipeline: str | None = None,
) -> ElasticsearchSettings:
    """Validates raw setting values (as dlt injects them) into `ElasticsearchSettings`.

    Raises ElasticsearchConfigurationError, a terminal destination error, on the first bad value.
    """
    cloud_id = _blank_to_none(es_cloud_id)
    hosts = () if cloud_id else _parse_hosts(es_hosts or "")
    api_key = _blank_to_none(es_api_key)
    username = _blank_to_none(es_username)
    password = es_password if es_password else None
    if (username is None) != (password is None):
        raise ElasticsearchConfigurationError(
            "Elasticsearch basic authentication needs both a user name and a password",
            "es_username",
            "es_password",
        )
    if api_key and username:
        raise ElasticsearchConfigurationError(
            "Both an API key and a user name are set for Elasticsearch; keep only one",
            "es_api_key",
            "es_username/es_password",
        )
    try:
        timeout = float(es_request_timeout)
    except (TypeError, ValueError):
        timeout = -1.0
    # TOML and the environment also spell nan and inf, which no socket timeout can use
    if not math.isfinite(timeout) or not 0 < timeout <= MAX_REQUEST_TIMEOUT:
        raise ElasticsearchConfigurationError(
            f"Elasticsearch request timeout must be a positive number of seconds, at most {MAX_REQUEST_TIMEOUT:g}",
            "es_request_timeout",
        )
    if int(es_max_retries) < 0:
        raise ElasticsearchConfigurationError(
            "Elasticsearch retry count must not be negative", "es_max_retries"
        )
    if int(es_max_document_bytes) < 1024:
        raise ElasticsearchConfigurationError(
            "Elasticsearch maximum document size must be at least 1024 bytes", "es_max_document_bytes"
        )
    connection = ConnectionSettings(
        hosts=hosts,
        cloud_id=cloud_id,
        api_key=api_key,
        username=username,
        password=password,
        ca_certs=_validate_ca_certs(es_ca_certs),
        verify_certs=bool(es_verify_certs),
        request_timeout=timeout,
    )
    return ElasticsearchSettings(
        connection=connection,
        index=_validate_index(es_index or ""),
        max_retries=int(es_max_retries),
        max_document_bytes=int(es_max_document_bytes),
        language=_validate_language(es_language),
        pipeline=_validate_pipeline(es_pipeline),
    )


def settings_from_configuration(config: ElasticsearchDestinationConfiguration) -> ElasticsearchSettings:
    values: dict[str, Any] = {
        field.name: getattr(config, field.name)
        for field in dataclasses.fields(config)
        if field.name.startswith("es_")
    }
    return build_settings(**values)


def resolve_settings(**explicit: Any) -> ElasticsearchSettings:
    """Resolves [destination.elasticsearch] from dlt's config providers (env, secrets.toml, config.toml).

    Keyword arguments (`es_index="..."`) take precedence over configured values, as they do for
    the sink factory.
    """
    unknown = [name for name in explicit if not name.startswith("es_")]
    if unknown:
        raise TypeError(f"Unknown Elasticsearch destination setting(s): {', '.join(sorted(unknown))}")
    config = resolve_configuration(
        ElasticsearchDestinationConfiguration(), sections=SECTIONS, explicit_value=explicit or None
    )
    return settings_from_configuration(config)
