"""One-line messages for the settings dlt itself refuses, before the source or destination sees them.

dlt reads `.dlt/config.toml`, `.dlt/secrets.toml` and the environment, and coerces each value to the type of its
field. A value of the wrong type (`retry_count = "three"`), a file that is not TOML, or a secret written into
config.toml stop it with an exception whose traceback says little to someone who only edited a settings file. These
messages name the setting or the file instead, and never repeat a value: it may be a secret.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

from dlt.common.configuration.exceptions import (
    ConfigurationException,
    ConfigValueCannotBeCoercedException,
    ValueNotSecretException,
)
from dlt.common.configuration.providers.toml import TomlProviderReadException

from confluence_source import confluence_settings
from confluence_source.config import SECTION as SOURCE_SECTION
from destinations.es_errors import CONFIG_SECTION as DESTINATION_SECTION

_KINDS = {int: "a whole number", float: "a number", bool: "true or false", str: "text"}
_POSITION = re.compile(r"line \d+ col(?:umn)? \d+")


def setting_problem(error: ConfigurationException) -> str:
    """What is wrong, and where to fix it, for one of dlt's configuration errors."""
    if isinstance(error, ConfigValueCannotBeCoercedException):
        return f"{_setting_path(error.field_name)} must be {_kind(error.hint)}; the configured value is not"
    if isinstance(error, ValueNotSecretException):
        return (f"{error.key} is a secret and cannot be set in {error.provider_name}: move it to .dlt/secrets.toml "
                f"or an environment variable")
    if isinstance(error, TomlProviderReadException):
        position = _POSITION.search(str(error))
        where = f" at {position.group(0)}" if position else ""
        candidates = [Path(path) for path in error.full_paths or [] if path]
        files = [str(path if path.is_file() else path / error.file_name) for path in candidates
                 if path.is_file() or (path / error.file_name).is_file()]
        found = f" ({' or '.join(files)})" if files else " (in .dlt/ of the working directory, or ~/.dlt)"
        return f"{error.file_name} is not valid TOML{where}: fix the file{found}"
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return f"a setting could not be read: {first_line}"


def _setting_path(field_name: str) -> str:
    """The section a field lives in (every destination setting starts with `es_`); dlt's own settings by name."""
    if field_name.startswith("es_"):
        return f"{DESTINATION_SECTION}.{field_name}"
    if field_name in inspect.signature(confluence_settings).parameters:
        return f"{SOURCE_SECTION}.{field_name}"
    return field_name


def _kind(hint: Any) -> str:
    for python_type, words in _KINDS.items():
        if hint is python_type or (getattr(hint, "__args__", None) and python_type in hint.__args__):
            return words
    return f"of type {getattr(hint, '__name__', hint)}"
