"""Settings nothing reads: refused before a run, with the name they were probably meant to have.

dlt reads the settings it is asked for and never looks at the rest, so a misspelt key is silently ignored. For this
connector that is worse than a typo elsewhere: `space = "ENG"` (for `spaces`) leaves `spaces` at its default, every
space the account can see, and the next run after the typo is fixed deletes all the other spaces from the index. A
misspelt secret (`api_tokn`) would fail less harmfully, but with a message about a missing setting the user believes
they gave. So keys under `[sources.confluence]` and `[destination.elasticsearch]` (also behind the pipeline name) and
`SOURCES__CONFLUENCE__*` / `DESTINATION__ELASTICSEARCH__*` variables must name a setting. Tables nested in those
sections, and variables with a deeper path, belong to dlt's own per-resource settings and are left alone.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from dlt.common.configuration.providers.doc import BaseDocProvider
from dlt.common.configuration.providers.provider import ConfigProvider


@dataclass(frozen=True)
class UnknownSetting:
    name: str  # as written: `sources.confluence.space` or `SOURCES__CONFLUENCE__SPACE`
    found_in: str  # `config.toml`, `secrets.toml`, `the environment`
    meant: str | None  # the closest setting name, if one is close


def find_unknown_settings(sections: Mapping[tuple[str, str], Collection[str]], pipeline_name: str,
                          providers: Iterable[ConfigProvider],
                          environment: Mapping[str, str] = os.environ) -> list[UnknownSetting]:
    """Every key of the settings files and every variable under `sections` ((kind, name) -> setting names) that
    names no setting."""
    unknown: list[UnknownSetting] = []
    for (kind, name), known in sections.items():
        for provider in providers:
            if not isinstance(provider, BaseDocProvider):
                continue  # the environment is read below; vaults are asked for known names only
            for scope in (None, pipeline_name):
                table, _ = provider.get_value(name, dict, scope, kind)  # type: ignore[arg-type]
                if not isinstance(table, Mapping):
                    continue
                path = ".".join(part for part in (scope, kind, name) if part)
                unknown.extend(UnknownSetting(f"{path}.{key}", provider.name, _closest(str(key), known))
                               for key, value in table.items()
                               if str(key) not in known and not isinstance(value, Mapping))
        prefix = f"{kind}__{name}__".upper()
        for variable in sorted(environment):
            rest = variable[len(prefix):] if variable.startswith(prefix) else ""
            if rest and "__" not in rest and rest.lower() not in known:
                unknown.append(UnknownSetting(variable, "the environment", _closest(rest.lower(), known)))
    return unknown


def describe_unknown_settings(unknown: list[UnknownSetting]) -> str:
    """One line: what nothing reads, where it is, and what it was probably meant to be."""
    parts = [f"{item.name} in {item.found_in}" + (f" (did you mean {item.meant}?)" if item.meant else "")
             for item in unknown]
    if len(parts) == 1:
        return f"unknown setting {parts[0]}: nothing reads it, so fix its name or remove it (see the README's tables)"
    return (f"unknown settings {', '.join(parts)}: nothing reads them, so fix their names or remove them (see the "
            "README's tables)")


def _closest(key: str, known: Collection[str]) -> str | None:
    matches = difflib.get_close_matches(key.lower(), sorted(known), n=1, cutoff=0.6)
    return matches[0] if matches else None
