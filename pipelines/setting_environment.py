"""Settings given as environment variables: a blank one counts as not set.

dlt takes an environment variable that is set to nothing as a value, and the environment comes before
`.dlt/secrets.toml` and `.dlt/config.toml`. Schedulers set variables that way when they are not configured (GitHub
Actions gives an unset `vars.X` as an empty string, so does a systemd `Environment=X=`), which would silently replace
what the settings files say: a blank `SOURCES__CONFLUENCE__DATA_SOURCE` turned a Cloud site into "Confluence Server",
a blank `DESTINATION__ELASTICSEARCH__ES_HOSTS` discarded the configured cluster. So such variables are removed before
anything is read.
"""

from __future__ import annotations

import os
from typing import MutableMapping

SETTING_PREFIXES = ("SOURCES__", "DESTINATION__")


def unset_blank_setting_variables(environment: MutableMapping[str, str] = os.environ) -> list[str]:
    """Remove the source and destination setting variables that hold nothing but spaces; returns their names."""
    blank = sorted(name for name, value in environment.items()
                   if name.upper().startswith(SETTING_PREFIXES) and not value.strip())
    for name in blank:
        del environment[name]
    return blank
