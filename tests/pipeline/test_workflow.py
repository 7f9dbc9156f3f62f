"""The scheduled GitHub Actions workflow: every setting it passes is one the sync reads, under the name it reads it
by, and every secret it passes goes to a setting that dlt treats as a secret (GitHub cannot run it here)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import yaml

from confluence_source import SETTING_NAMES
from destinations.es_config import build_settings

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "confluence_to_es.yml"


def job_environment() -> dict[str, str]:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    return dict(workflow["jobs"]["sync"]["env"])


def test_every_setting_variable_of_the_workflow_names_a_setting() -> None:
    destination_names = set(inspect.signature(build_settings).parameters)
    for name in job_environment():
        if name.startswith("SOURCES__"):
            assert name.removeprefix("SOURCES__CONFLUENCE__").lower() in SETTING_NAMES, name
        elif name.startswith("DESTINATION__"):
            assert name.removeprefix("DESTINATION__ELASTICSEARCH__").lower() in destination_names, name


def test_secrets_go_to_secret_settings_and_nothing_is_cached() -> None:
    secret_settings = {"account_email", "api_token", "username", "password", "personal_access_token", "ssl_ca",
                       "oauth_client_id", "oauth_client_secret",
                       "es_cloud_id", "es_api_key", "es_username", "es_password", "es_ca_certs"}
    for name, value in job_environment().items():
        if "secrets." in str(value):
            assert name.split("__")[-1].lower() in secret_settings, name
    # load packages are copies of Confluence content; a cache can be restored by other runs of the repository
    assert not re.search(r"actions/cache", WORKFLOW.read_text())
