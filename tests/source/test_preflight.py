"""Preflight against the simulator: configuration mistakes stop the run before anything is extracted, each with one
line that names the setting to fix (and never a secret)."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from confluence_simulator.server import Simulator
from confluence_source import (
    ConfluenceAuthError,
    ConfluenceConfigError,
    ConfluenceConnectionError,
    ConfluenceTLSError,
    confluence,
    open_reader,
)

from .conftest import settings_for


def test_preflight_learns_user_zone_and_spaces(small_sim: Simulator) -> None:
    reader = open_reader(settings_for(small_sim))
    user = small_sim.site.users[small_sim.site.default_user_id]
    assert str(reader.zone) == user.timezone
    assert reader.state.user is not None and reader.state.user.name == user.display_name
    visible = {row.key for row in reader.state.selected}
    assert "ENG" in visible and "LEGACY" not in visible  # archived spaces are not synced by default
    assert reader.stats["requests"] == 2  # current user + space list


def test_unknown_space_lists_the_available_keys(small_sim: Simulator) -> None:
    with pytest.raises(ConfluenceConfigError) as error:
        open_reader(settings_for(small_sim, spaces="ENG, NOPE, ALSO_MISSING"))
    message = str(error.value)
    assert message.startswith("sources.confluence.spaces: unknown space key(s) NOPE, ALSO_MISSING;")
    for key in ("ENG", "DOCS", "OPS"):
        assert key in message
    assert "HR" not in message.split("can see:")[1].replace(",", " ").split()  # hidden space is not offered


def test_an_archived_space_named_in_spaces_stops_the_run_unless_archived_content_is_indexed(
        small_sim: Simulator) -> None:
    with pytest.raises(ConfluenceConfigError) as error:
        open_reader(settings_for(small_sim, spaces="ENG, LEGACY"))
    assert str(error.value) == (
        "sources.confluence.spaces: space(s) LEGACY archived in Confluence; set sources.confluence.index_archived = "
        "true to sync archived content, or take them out of sources.confluence.spaces")
    with pytest.raises(ConfluenceConfigError, match=r"LEGACY \(archived\)"):  # offered as such to a mistyped key
        open_reader(settings_for(small_sim, spaces="ENGG"))
    reader = open_reader(settings_for(small_sim, spaces="ENG, LEGACY", index_archived=True))
    assert [space.key for space in reader.state.selected] == ["ENG", "LEGACY"]


def test_space_keys_match_case_insensitively(small_sim: Simulator) -> None:
    reader = open_reader(settings_for(small_sim, spaces="eng"))
    assert [space.key for space in reader.state.selected] == ["ENG"]


def test_a_space_written_twice_in_another_case_is_read_once(small_sim: Simulator) -> None:
    reader = open_reader(settings_for(small_sim, spaces="ENG, eng"))
    assert [space.key for space in reader.state.selected] == ["ENG"]


def test_rejected_credentials(small_sim: Simulator) -> None:
    wrong = "Wr0ng-Secret-Value"
    cases: list[tuple[dict[str, Any], str]]
    if small_sim.config.flavour == "cloud":
        cases = [({"api_token": wrong}, "account_email and sources.confluence.api_token")]
    else:
        cases = [
            ({"password": wrong}, "username and sources.confluence.password"),
            ({"personal_access_token": wrong, "username": None, "password": None}, "personal_access_token"),
        ]
    for overrides, named in cases:
        with pytest.raises(ConfluenceAuthError) as error:
            open_reader(settings_for(small_sim, **overrides))
        message = str(error.value)
        kind = "Confluence Cloud" if small_sim.config.flavour == "cloud" else "Confluence Server or Data Center"
        gateway_hint = ("; a scoped API token (a service account's too) works only through Atlassian's API gateway: "
                        "set sources.confluence.api_gateway = 'https://api.atlassian.com'"
                        if small_sim.config.flavour == "cloud" else "")
        assert message == (f"Confluence rejected the credentials (check sources.confluence.{named}); "
                           f"sources.confluence.data_source says this is {kind}, which must be what the site is"
                           + gateway_hint)
        assert wrong not in message


def test_datacenter_accepts_a_personal_access_token(small_sim: Simulator) -> None:
    settings = (
        settings_for(small_sim, username=None, password=None, personal_access_token=small_sim.credentials["pat"])
        if small_sim.config.flavour == "datacenter"
        else settings_for(small_sim)
    )
    assert open_reader(settings).state.selected


def test_unreachable_url(small_sim: Simulator) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConfluenceConnectionError, match=r"sources\.confluence\.confluence_url"):
        open_reader(settings_for(small_sim, confluence_url=f"http://127.0.0.1:{port}", retry_count=1))


def test_wrong_path_or_flavour_names_url_and_data_source(small_sim: Simulator) -> None:
    if small_sim.config.flavour == "cloud":
        credentials = small_sim.credentials  # valid Basic credentials, but Server paths lack Cloud's /wiki
        wrong = settings_for(small_sim, data_source="Confluence Server", username=credentials["email"],
                             password=credentials["api_token"])
    else:
        wrong = settings_for(small_sim, confluence_url=small_sim.base_url + "/wrong-context")
    with pytest.raises(ConfluenceConnectionError) as error:
        open_reader(wrong)
    message = str(error.value)
    assert "HTTP 404" in message
    assert "sources.confluence.confluence_url" in message and "sources.confluence.data_source" in message


@pytest.mark.parametrize("ssl_enabled", [True, False])
def test_an_https_url_for_a_plain_http_server_says_so(small_sim: Simulator, ssl_enabled: bool) -> None:
    """Turning verification off cannot help a server that does not speak TLS: the message says what can."""
    https_url = small_sim.base_url.replace("http://", "https://", 1)
    with pytest.raises(ConfluenceTLSError) as error:
        open_reader(settings_for(small_sim, confluence_url=https_url, ssl_enabled=ssl_enabled, retry_count=1))
    message = str(error.value)
    assert "answered in plain HTTP, not TLS" in message and "sources.confluence.confluence_url" in message
    assert "http://" + https_url.split("://", 1)[1] in message and "ssl_enabled" not in message


def test_a_url_of_another_kind_of_server_names_url_and_data_source(small_sim: Simulator, es_url: str) -> None:
    """Elasticsearch answers Confluence's REST paths with HTTP 400: a setting to fix, not a failed run."""
    with pytest.raises(ConfluenceConnectionError) as error:
        open_reader(settings_for(small_sim, confluence_url=es_url, retry_count=1))
    message = str(error.value)
    assert "does not answer like the" in message and "HTTP 4" in message
    assert "sources.confluence.confluence_url" in message and "sources.confluence.data_source" in message


def test_invalid_advanced_rule_stops_with_confluences_message(small_sim: Simulator) -> None:
    with pytest.raises(ConfluenceConfigError) as error:
        open_reader(settings_for(small_sim, advanced_rules=['space = "ENG"', "spaec = ENG and type = page"]))
    message = str(error.value)
    assert message.startswith("sources.confluence.advanced_rules: Confluence rejected the CQL query")
    assert "spaec" in message


def test_a_rule_naming_a_missing_space_on_data_center_9_3_says_why(small_sim: Simulator) -> None:
    """Confluence 9.3 refuses such a query with a cryptic 400 (CONFSERVER-101465) instead of matching nothing
    (Cloud matches nothing: the rule only draws a warning)."""
    rules = ['space = "ENG"', "space = NOPE and type = page"]
    small_sim.config.unknown_space_cql_fails = True
    try:
        if small_sim.config.flavour == "cloud":
            open_reader(settings_for(small_sim, advanced_rules=rules))
            return
        with pytest.raises(ConfluenceConfigError) as error:
            open_reader(settings_for(small_sim, advanced_rules=rules))
    finally:
        small_sim.config.unknown_space_cql_fails = False
    message = str(error.value)
    assert message.startswith("sources.confluence.advanced_rules: Confluence rejected the CQL query")
    assert "parameters should not be empty" in message and "names a space key that no space has" in message


def test_a_rule_that_matches_nothing_is_reported(small_sim: Simulator, caplog: pytest.LogCaptureFixture) -> None:
    """Not an error (its content may come later), but usually a typo the user should hear of."""
    with caplog.at_level("WARNING"):
        open_reader(settings_for(small_sim, advanced_rules=['space = "ENG" and type = page', "space = NOPE",
                                                            "type = space"]))
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert warnings == ["sources.confluence.advanced_rules: the rule 'space = NOPE' matches nothing this account can "
                        "see outside archived spaces; check it if that is unexpected"]


def test_the_source_checks_before_extracting(small_sim: Simulator) -> None:
    settings = settings_for(small_sim)
    arguments: dict[str, Any] = {
        "data_source": "Confluence Cloud" if settings.is_cloud else "Confluence Data Center",
        "confluence_url": small_sim.base_url,
        "spaces": "NOPE",
    }
    credentials = small_sim.credentials
    if settings.is_cloud:
        arguments.update(account_email=credentials["email"], api_token=credentials["api_token"])
    else:
        arguments.update(username=credentials["username"], password=credentials["password"])
    with pytest.raises(ConfluenceConfigError, match="unknown space key"):
        confluence(**arguments)
