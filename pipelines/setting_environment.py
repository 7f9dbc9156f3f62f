"""Settings given as environment variables: a blank one counts as not set, and a source setting counts only under
its full name.

dlt takes an environment variable that is set to nothing as a value, and the environment comes before
`.dlt/secrets.toml` and `.dlt/config.toml`. Schedulers set variables that way when they are not configured (GitHub
Actions gives an unset `vars.X` as an empty string, so does a systemd `Environment=X=`), which would silently replace
what the settings files say: a blank `SOURCES__CONFLUENCE__DATA_SOURCE` turned a Cloud site into "Confluence Server",
a blank `DESTINATION__ELASTICSEARCH__ES_HOSTS` discarded the configured cluster. So such variables are removed before
anything is read.

dlt also falls back from `SOURCES__CONFLUENCE__USERNAME` to `SOURCES__USERNAME` and to a bare `USERNAME`, ahead of
the settings files. The source's setting names are common words: `USERNAME` is set on every Windows machine and
many desktops, `PASSWORD` or `SPACES` may belong to another tool, and a stray `SPACES` once meant deleting every
other space from the index. So those shortened forms are hidden from dlt for the run, and so are settings given
behind the pipeline name (`CONFLUENCE_TO_ES__DESTINATION__...`), which only part of the run would see (the command
line then refuses the run: `unknown_settings.py`). The same goes for the arguments a run gives the source itself
(`full_refresh`, `plan`, ...): the scheduled workflow's Sync step sets `FULL_REFRESH` for its own script, and dlt
would read it as the source's argument and fail the run.
"""

from __future__ import annotations

import os
from typing import Collection, Iterable, MutableMapping

SETTING_PREFIXES = ("SOURCES__", "DESTINATION__")


def unset_blank_setting_variables(environment: MutableMapping[str, str] = os.environ) -> list[str]:
    """Remove the source and destination setting variables that hold nothing but spaces; returns their names."""
    blank = sorted(name for name, value in environment.items()
                   if name.upper().startswith(SETTING_PREFIXES) and not value.strip())
    for name in blank:
        del environment[name]
    return blank


def hide_shortened_source_variables(setting_names: Iterable[str], pipeline_name: str,
                                    environment: MutableMapping[str, str] = os.environ) -> list[str]:
    """Remove the variables that dlt would read as a source setting under a shortened name (`USERNAME`,
    `SOURCES__USERNAME`, also behind the pipeline name), and every setting given behind the pipeline name
    (`CONFLUENCE_TO_ES__DESTINATION__...`); returns the removed names worth a warning: not the bare ones, which are
    too common, nor the full setting names behind the pipeline name, which the command line refuses anyway."""
    shortened: dict[str, bool] = {}  # upper-case name -> worth a warning
    for setting in setting_names:
        shortened[setting.upper()] = False
        shortened.update((name, True) for name in _shortened_names(setting, pipeline_name))
    # dlt's settings behind the pipeline name: the source's and the run's own Elasticsearch client are set up before
    # the pipeline exists and would not see them, while the load would
    behind_pipeline_name = tuple(f"{pipeline_name.upper()}__{section}" for section in SETTING_PREFIXES)
    # exact names: dlt looks variables up in upper case (on Windows the environment ignores case anyway)
    hidden = sorted(name for name in environment if name in shortened or name.startswith(behind_pipeline_name))
    for name in hidden:
        del environment[name]
    refused = tuple(f"{pipeline_name.upper()}__{section}" for section in ("SOURCES__CONFLUENCE__",
                                                                           "DESTINATION__ELASTICSEARCH__"))
    return [name for name in hidden if shortened.get(name, True) and not name.startswith(refused)]


def _shortened_names(argument: str, pipeline_name: str) -> tuple[str, ...]:
    """The names, besides the bare one, under which dlt would read a source argument from the environment."""
    key, pipeline = argument.upper(), pipeline_name.upper()
    return f"SOURCES__{key}", f"{pipeline}__{key}", f"{pipeline}__SOURCES__{key}"


def ignored_variable_hint(name: str, pipeline_name: str, arguments: Collection[str],
                          setting_names: Collection[str]) -> str:
    """What to set instead of a variable `hide_shortened_source_variables` removed. A shortened name of a setting
    (`SOURCES__SPACES`, `<PIPELINE>__SPACES`) gets its full name; one of an argument the run passes itself
    (`full_refresh`, `plan`, ...) is no setting at all; anything else behind the pipeline name gets the general
    rule."""
    argument = next((argument for argument in arguments if name in _shortened_names(argument, pipeline_name)), None)
    if argument is None:
        return "settings are read as SOURCES__CONFLUENCE__<NAME> and DESTINATION__ELASTICSEARCH__<NAME>"
    if argument in setting_names:
        return f"settings are read as SOURCES__CONFLUENCE__{argument.upper()}"
    return f"{argument} is not a setting: the run sets it itself (see --help for the options it takes)"
