"""Settings nothing reads: refused before a run, with the name they were probably meant to have.

dlt reads the settings it is asked for and never looks at the rest, so a misspelt key is silently ignored. For this
connector that is worse than a typo elsewhere: `space = "ENG"` (for `spaces`) leaves `spaces` at its default, every
space the account can see, and the next run after the typo is fixed deletes all the other spaces from the index. A
misspelt secret (`api_tokn`) would fail less harmfully, but with a message about a missing setting the user believes
they gave. So keys under `[sources.confluence]` and `[destination.elasticsearch]` and `SOURCES__CONFLUENCE__*` /
`DESTINATION__ELASTICSEARCH__*` variables must name a setting, and the variables must be written in upper case (dlt
looks up no other). Tables nested in those sections, and variables with a deeper path, belong to dlt's own
per-resource settings and are left alone. Settings behind the pipeline name (`[confluence_to_es.sources.confluence]`,
`CONFLUENCE_TO_ES__SOURCES__CONFLUENCE__*`) are refused too: dlt would give them to the load alone, while the source
and the run's own requests to Elasticsearch went by the others.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from dlt.common.configuration.providers.doc import BaseDocProvider
from dlt.common.configuration.providers.provider import ConfigProvider
from dlt.common.configuration.providers.vault import VaultDocProvider


@dataclass(frozen=True)
class UnknownSetting:
    name: str  # as written: `sources.confluence.space` or `SOURCES__CONFLUENCE__SPACE`
    found_in: str  # `config.toml`, `secrets.toml`, `the environment`
    hint: str | None  # what was probably meant, or where the setting belongs


def find_unknown_settings(sections: Mapping[tuple[str, str], Collection[str]], pipeline_name: str,
                          providers: Iterable[ConfigProvider],
                          environment: Mapping[str, str] = os.environ) -> list[UnknownSetting]:
    """Every key of the settings files and every variable under `sections` ((kind, name) -> setting names) that
    names no setting."""
    unknown: list[UnknownSetting] = []
    for (kind, name), known in sections.items():
        for provider in providers:
            if not isinstance(provider, BaseDocProvider) or isinstance(provider, VaultDocProvider):
                continue  # the environment is read below; vaults are asked for known names only
            table, _ = provider.get_value(name, dict, None, kind)  # type: ignore[arg-type]
            if isinstance(table, Mapping):
                unknown.extend(UnknownSetting(f"{kind}.{name}.{key}", provider.name, _did_you_mean(str(key), known))
                               for key, value in table.items()
                               if str(key) not in known and not isinstance(value, Mapping))
            # dlt reads these for the load only: the source, and the run's own requests to Elasticsearch (index,
            # watermarks, deletions), would go by other values (the environment's form is refused below)
            scoped, _ = provider.get_value(name, dict, pipeline_name, kind)  # type: ignore[arg-type]
            if isinstance(scoped, Mapping):
                unknown.extend(UnknownSetting(f"{pipeline_name}.{kind}.{name}.{key}", provider.name,
                                              f"put it under [{kind}.{name}]: behind the pipeline name only part "
                                              "of the run reads it")
                               for key, value in scoped.items() if not isinstance(value, Mapping))
        prefix = f"{kind}__{name}__".upper()
        behind_prefix = f"{pipeline_name}__{prefix}".upper()
        for variable in sorted(environment):
            upper = variable.upper()
            if upper.startswith(behind_prefix) and "__" not in upper[len(behind_prefix):]:
                unknown.append(UnknownSetting(variable, "the environment", f"set {prefix}{upper[len(behind_prefix):]} "
                                              "instead: behind the pipeline name only part of the run reads it"))
                continue
            rest = upper[len(prefix):] if upper.startswith(prefix) else ""
            if not rest or "__" in rest:
                continue
            if variable != upper:  # dlt looks variables up in upper case only
                unknown.append(UnknownSetting(variable, "the environment", f"write it {upper}"))
            elif rest.lower() not in known:
                unknown.append(UnknownSetting(variable, "the environment", _did_you_mean(rest.lower(), known)))
    unknown.extend(_misspelt_sections(sections, providers, environment))
    return unknown


def _misspelt_sections(sections: Mapping[tuple[str, str], Collection[str]], providers: Iterable[ConfigProvider],
                       environment: Mapping[str, str]) -> list[UnknownSetting]:
    """Tables and variables whose section is a near miss of one of `sections` (`[source.confluence]`,
    `[sources.Confluence]`, `[destination.elastic]`, `SOURCE__CONFLUENCE__SPACES`): dlt would ignore everything in
    them, so a whole section of settings, `spaces` among them, would silently fall back to the defaults. Only
    `kind.name` pairs whose kind is a form of `sources` or `destination` are compared, so that dlt's own sections
    (`[runtime]`, `[confluence_to_es.load]`) and other sources' or destinations' (`[sources.confluence_cloud]`,
    `[destination.opensearch]`) pass."""
    found: list[UnknownSetting] = []

    def near_miss(kind: str, name: str) -> str | None:
        """The section `kind.name` was probably meant to be, if it is not one itself."""
        for our_kind, our_name in sections:
            if (kind, name) == (our_kind, our_name):
                return None
        for our_kind, our_name in sections:
            kinds = {our_kind.lower(), our_kind.lower().rstrip("s"), our_kind.lower().rstrip("s") + "s"}
            lowered = name.lower()
            close = (lowered == our_name.lower() or (len(lowered) >= 4 and our_name.startswith(lowered))
                     or difflib.SequenceMatcher(None, lowered, our_name).ratio() >= 0.8)
            if kind.lower() in kinds and close:
                return f"{our_kind}.{our_name}"
        return None

    for provider in providers:
        if not isinstance(provider, BaseDocProvider) or isinstance(provider, VaultDocProvider):
            continue
        try:
            document = tomllib.loads(provider.to_toml())
        except (tomllib.TOMLDecodeError, TypeError, ValueError):
            continue
        for kind, table in document.items():
            if not isinstance(table, Mapping):
                continue
            for name, value in table.items():
                meant = near_miss(str(kind), str(name)) if isinstance(value, Mapping) else None
                if meant is not None:
                    found.append(UnknownSetting(f"[{kind}.{name}]", provider.name,
                                                f"did you mean [{meant}]? nothing in [{kind}.{name}] is read"))
    for variable in sorted(environment):
        parts = variable.split("__")
        if len(parts) != 3 or not parts[-1]:
            continue
        meant = near_miss(parts[0].lower(), parts[1].lower())
        if meant is not None:
            found.append(UnknownSetting(variable, "the environment",
                                        f"did you mean {meant.replace('.', '__').upper()}__{parts[-1].upper()}?"))
    return found


def describe_unknown_settings(unknown: list[UnknownSetting]) -> str:
    """One line: what the run does not read, where it is, and what was probably meant."""
    parts = [f"{item.name} in {item.found_in}" + (f" ({item.hint})" if item.hint else "") for item in unknown]
    if len(parts) == 1:
        return f"a setting the run does not read: {parts[0]}; fix or remove it (the README lists the settings)"
    return f"settings the run does not read: {', '.join(parts)}; fix or remove them (the README lists the settings)"


def _did_you_mean(key: str, known: Collection[str]) -> str | None:
    matches = difflib.get_close_matches(key.lower(), sorted(known), n=1, cutoff=0.6)
    return f"did you mean {matches[0]}?" if matches else None
