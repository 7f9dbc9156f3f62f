"""Settings are validated and normalised before any request; every mistake names the setting to fix."""

from __future__ import annotations

import os
from typing import Any

import pytest

from confluence_source import ConfluenceConfigError, build_settings, confluence_settings

CLOUD = {"data_source": "Confluence Cloud", "account_email": "a@example.com", "api_token": "tok"}
DC = {"data_source": "Confluence Data Center", "username": "bob", "password": "pw"}


def cloud(url: str = "https://example.atlassian.net", **extra: Any) -> Any:
    return build_settings(confluence_url=url, **{**CLOUD, **extra})


def dc(url: str = "https://wiki.example.com/confluence", **extra: Any) -> Any:
    return build_settings(confluence_url=url, **{**DC, **extra})


@pytest.mark.parametrize(
    "value, flavour",
    [
        ("Confluence Cloud", "cloud"),
        ("confluence cloud", "cloud"),
        ("CLOUD", "cloud"),
        ("Confluence Server", "datacenter"),
        ("server", "datacenter"),
        ("Confluence Data Center", "datacenter"),
        ("datacenter", "datacenter"),
        ("data-center", "datacenter"),
    ],
)
def test_data_source_names(value: str, flavour: str) -> None:
    credentials = CLOUD if flavour == "cloud" else DC
    config = build_settings(confluence_url="https://x.example.com", **{**credentials, "data_source": value})
    assert config.flavour == flavour


def test_data_source_defaults_to_server() -> None:
    config = build_settings(confluence_url="https://wiki.example.com", username="u", password="p")
    assert config.flavour == "datacenter"


def test_unknown_data_source_is_named() -> None:
    with pytest.raises(ConfluenceConfigError, match="sources.confluence.data_source"):
        build_settings(confluence_url="https://x", data_source="Jira")


@pytest.mark.parametrize(
    "url",
    [
        "https://example.atlassian.net",
        "https://example.atlassian.net/",
        "https://example.atlassian.net/wiki",
        "https://Example.Atlassian.net/wiki/",
        "https://example.atlassian.net/wiki/spaces/ENG/overview",
    ],
)
def test_cloud_url_with_or_without_wiki(url: str) -> None:
    config = cloud(url)
    assert config.site_url == "https://example.atlassian.net"
    assert config.v2_root == "https://example.atlassian.net/wiki/api/v2"
    assert config.v1_root == "https://example.atlassian.net/wiki/rest/api"
    assert config.web_base == "https://example.atlassian.net/wiki"


@pytest.mark.parametrize(
    "url, site",
    [
        ("https://wiki.example.com/confluence", "https://wiki.example.com/confluence"),
        ("https://wiki.example.com/confluence/", "https://wiki.example.com/confluence"),
        ("https://wiki.example.com:8443/confluence/rest/api/space", "https://wiki.example.com:8443/confluence"),
        ("http://10.0.0.5:8090", "http://10.0.0.5:8090"),
        ("http://10.0.0.5:8090/", "http://10.0.0.5:8090"),
    ],
)
def test_datacenter_url_keeps_the_context_path(url: str, site: str) -> None:
    config = dc(url)
    assert config.site_url == site
    assert config.v1_root == site + "/rest/api"


@pytest.mark.parametrize("url", ["", "example.atlassian.net", "ftp://example.com", "https://"])
def test_bad_urls_name_the_setting(url: str) -> None:
    with pytest.raises(ConfluenceConfigError, match="sources.confluence.confluence_url"):
        cloud(url)


def test_cloud_url_with_another_path_is_refused() -> None:
    with pytest.raises(ConfluenceConfigError, match="site URL"):
        cloud("https://example.atlassian.net/jira")


@pytest.mark.parametrize("url", ["https://bob:hunter2@wiki.example.com", "htps://bob:hunter2@wiki.example.com/c",
                                 "bob:hunter2@wiki.example.com/confluence", "https://bob:hunter2@/confluence"],
                         ids=["well-formed", "misspelt-scheme", "no-scheme", "no-host"])
def test_credentials_in_the_url_are_refused_without_echoing_them(url: str) -> None:
    with pytest.raises(ConfluenceConfigError, match="must not contain credentials") as error:
        dc(url)
    assert "hunter2" not in str(error.value)


def test_cloud_needs_email_and_token() -> None:
    with pytest.raises(ConfluenceConfigError, match=r"missing: sources\.confluence\.api_token"):
        build_settings(data_source="cloud", confluence_url="https://x.atlassian.net", account_email="a@b.c")
    with pytest.raises(ConfluenceConfigError, match=r"missing: sources\.confluence\.account_email, "):
        build_settings(data_source="cloud", confluence_url="https://x.atlassian.net")


def test_datacenter_auth_modes() -> None:
    bearer = build_settings(data_source="dc", confluence_url="https://w", personal_access_token="pat", username="u")
    assert bearer.auth.kind == "bearer" and bearer.auth.describe() == "sources.confluence.personal_access_token"
    basic = dc()
    assert basic.auth.kind == "basic" and basic.auth.username == "bob"
    assert basic.auth.describe() == "sources.confluence.username and sources.confluence.password"
    with pytest.raises(ConfluenceConfigError, match="sources.confluence.password"):
        build_settings(data_source="dc", confluence_url="https://w", username="u")
    with pytest.raises(ConfluenceConfigError, match="personal_access_token"):
        build_settings(data_source="dc", confluence_url="https://w")


def test_credentials_of_the_other_kind_of_site_point_at_data_source() -> None:
    # data_source defaults to Confluence Server: a Cloud user who leaves it out has only Cloud credentials set
    with pytest.raises(ConfluenceConfigError) as error:
        build_settings(confluence_url="https://x.atlassian.net", account_email="a@b.c", api_token="tok")
    assert str(error.value).endswith(
        "; sources.confluence.account_email and sources.confluence.api_token are Confluence Cloud credentials: "
        "for a Cloud site, set sources.confluence.data_source = 'Confluence Cloud'"
    )
    with pytest.raises(ConfluenceConfigError) as error:
        build_settings(data_source="cloud", confluence_url="https://x.atlassian.net", username="u", password="pw")
    assert "sources.confluence.username and sources.confluence.password are Confluence Server/Data Center " \
        "credentials: for a Server/Data Center site, set sources.confluence.data_source = 'Confluence Data Center'" \
        in str(error.value)
    with pytest.raises(ConfluenceConfigError) as error:
        build_settings(data_source="cloud", confluence_url="https://x.atlassian.net", personal_access_token="pat")
    assert ("sources.confluence.personal_access_token is a Confluence Server/Data Center credential: "
            in str(error.value))
    with pytest.raises(ConfluenceConfigError) as error:
        build_settings(data_source="dc", confluence_url="https://w")
    assert "Cloud" not in str(error.value)


def test_elastic_data_center_credential_names_carry_over() -> None:
    basic = build_settings(data_source="Confluence Data Center", confluence_url="https://w",
                           data_center_username="bob", data_center_password="pw")
    assert basic.auth.kind == "basic" and basic.auth.username == "bob" and basic.auth.secret == "pw"
    bearer = build_settings(data_source="dc", confluence_url="https://w", data_center_personal_access_token="pat")
    assert bearer.auth.kind == "bearer" and bearer.auth.secret == "pat"
    # as in Elastic's connector, a Data Center pair is used whole, never mixed with a Server pair left over
    left_over = build_settings(data_source="dc", confluence_url="https://w", username="old", password="old-pw",
                               data_center_username="bob", data_center_password="pw")
    assert left_over.auth.username == "bob" and left_over.auth.secret == "pw"
    assert left_over.auth.describe() == ("sources.confluence.data_center_username and "
                                         "sources.confluence.data_center_password")
    with pytest.raises(ConfluenceConfigError, match=r"needs sources\.confluence\.data_center_password as well"):
        build_settings(data_source="dc", confluence_url="https://w", username="old", password="old-pw",
                       data_center_username="bob")


def test_elastic_data_center_auth_method_picks_the_credential_both_kinds_left_set() -> None:
    both = {"data_source": "Confluence Data Center", "confluence_url": "https://w",
            "data_center_username": "bob", "data_center_password": "pw", "data_center_personal_access_token": "pat"}
    assert build_settings(**both).auth.kind == "bearer"  # not set: the token, as before
    assert build_settings(**both, data_center_auth_method="basic").auth.username == "bob"
    token = build_settings(**both, data_center_auth_method=" Personal_Access_Token ").auth
    assert token.kind == "bearer" and token.secret == "pat"
    with pytest.raises(ConfluenceConfigError, match=r"data_center_auth_method = basic needs "
                                                    r"sources\.confluence\.username and sources\.confluence\.password"):
        build_settings(data_source="dc", confluence_url="https://w", personal_access_token="pat",
                       data_center_auth_method="basic")
    with pytest.raises(ConfluenceConfigError, match=r"= personal_access_token needs sources\.confluence\."
                                                    r"personal_access_token"):
        build_settings(data_source="dc", confluence_url="https://w", username="u", password="p",
                       data_center_auth_method="personal_access_token")
    with pytest.raises(ConfluenceConfigError, match=r"data_center_auth_method = 'oauth' is neither 'basic' nor"):
        build_settings(**both, data_center_auth_method="oauth")
    # Elastic reads it on Data Center only; its default travels with every exported configuration
    assert cloud(data_center_auth_method="basic").auth.username == CLOUD["account_email"]
    with pytest.raises(ConfluenceConfigError, match=r"data_center_auth_method = 'bsic' is neither"):
        cloud(data_center_auth_method="bsic")


def test_elastic_only_switches_carry_over_except_document_level_security() -> None:
    assert dc(index_labels=False, use_text_extraction_service=True, use_document_level_security=False).spaces is None
    with pytest.raises(ConfluenceConfigError, match=r"sources\.confluence\.index_labels = 'maybe' is not true"):
        dc(index_labels="maybe")
    with pytest.raises(ConfluenceConfigError) as refused:
        dc(use_document_level_security="true")
    assert str(refused.value).startswith("sources.confluence.use_document_level_security: this connector does not "
                                         "sync Confluence permissions")


def test_secrets_are_not_in_the_settings_repr() -> None:
    assert "pw" not in repr(dc().auth).replace("password", "")
    assert "tok" not in repr(cloud().auth).replace("api_token", "").replace("token_url", "")


@pytest.mark.parametrize(
    "value, expected",
    [
        ("*", None),
        (None, None),
        ("ENG", ("ENG",)),
        ("ENG, OPS,  ~jdoe ,ENG", ("ENG", "OPS", "~jdoe")),
        (["ENG", "OPS"], ("ENG", "OPS")),
        ('["ENG", "OPS"]', ("ENG", "OPS")),
    ],
)
def test_spaces(value: Any, expected: Any) -> None:
    assert dc(spaces=value).spaces == expected


@pytest.mark.parametrize("value", [",", " , ,", "", "  ", [], "[]"])
def test_spaces_set_without_a_key_are_refused(value: Any) -> None:
    with pytest.raises(ConfluenceConfigError, match="sources.confluence.spaces lists no space key"):
        dc(spaces=value)


def test_spaces_mixing_star_and_keys_is_refused() -> None:
    with pytest.raises(ConfluenceConfigError, match="sources.confluence.spaces"):
        dc(spaces="*, ENG")


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, ()),
        ("", ()),
        ("space = ENG and type = page", ("space = ENG and type = page",)),
        ('[{"query": "space = ENG"}, {"query": "label = x"}]', ("space = ENG", "label = x")),
        ('["space = ENG"]', ("space = ENG",)),
        ([{"query": "space = ENG"}, "label = x", "label = x"], ("space = ENG", "label = x")),
    ],
)
def test_advanced_rules(value: Any, expected: Any) -> None:
    assert dc(advanced_rules=value).advanced_rules == expected


@pytest.mark.parametrize("value", ['[{"query": ', '[{"q": "x"}]', "[1]", '[{"query": "  "}]',
                                   '[{"query": "space = DOCS", "quer": "space = OPS"}]'])
def test_bad_advanced_rules_are_named(value: str) -> None:
    with pytest.raises(ConfluenceConfigError, match="sources.confluence.advanced_rules"):
        dc(advanced_rules=value)


def test_numbers_and_booleans() -> None:
    config = dc(ssl_enabled="false", retry_count="5", concurrent_downloads="8", request_timeout="12.5",
                index_archived="yes")
    assert (config.ssl_enabled, config.retry_count, config.concurrent_downloads) == (False, 5, 8)
    assert (config.request_timeout, config.index_archived) == (12.5, True)
    defaults = dc()
    assert (defaults.ssl_enabled, defaults.retry_count, defaults.concurrent_downloads) == (True, 3, 50)
    assert (defaults.request_timeout, defaults.index_archived, defaults.spaces) == (30.0, False, None)
    with pytest.raises(ConfluenceConfigError, match="sources.confluence.retry_count"):
        dc(retry_count="many")
    with pytest.raises(ConfluenceConfigError, match="sources.confluence.concurrent_downloads"):
        dc(concurrent_downloads=0)
    with pytest.raises(ConfluenceConfigError, match="sources.confluence.concurrent_downloads must be at most 100"):
        dc(concurrent_downloads=101)
    with pytest.raises(ConfluenceConfigError, match="sources.confluence.ssl_enabled"):
        dc(ssl_enabled="maybe")


def test_attachment_limits_default_to_the_reference_connectors_and_are_bounded() -> None:
    defaults = dc()
    assert (defaults.max_file_download_size, defaults.max_file_text_length) == (10 * 1024 * 1024, 200_000)
    config = dc(max_file_download_size="52428800", max_file_text_length=" 1000000 ")
    assert (config.max_file_download_size, config.max_file_text_length) == (50 * 1024 * 1024, 1_000_000)
    assert dc(max_file_download_size="").max_file_download_size == 10 * 1024 * 1024  # blank: the default
    for name, value, problem in [("max_file_download_size", 0, "at least 1"),
                                 ("max_file_download_size", 2 * 1024 ** 3, "at most 1073741824"),
                                 ("max_file_download_size", "10MB", "is not a whole number"),
                                 ("max_file_text_length", 10_000_001, "at most 10000000")]:
        with pytest.raises(ConfluenceConfigError, match=f"sources.confluence.{name}.*{problem}"):
            dc(**{name: value})


@pytest.mark.parametrize("name, value", [
    ("request_timeout", "nan"), ("request_timeout", float("inf")), ("request_timeout", "1e400"),
    ("request_timeout", 86_401), ("backoff_seconds", "nan"), ("max_retry_delay", "inf"),
    ("overlap_minutes", 99_999_999_999),
])
def test_numbers_no_wait_or_date_can_use_are_refused(name: str, value: Any) -> None:
    """TOML and the environment spell nan and inf too; they (and absurd sizes) would fail deep inside a request or
    a date calculation instead of here."""
    with pytest.raises(ConfluenceConfigError, match=f"sources.confluence.{name} must be"):
        dc(**{name: value})


def test_spaces_are_not_checked_when_advanced_rules_choose_the_content() -> None:
    config = dc(spaces="*, ENG", advanced_rules="space = DOCS and type = page")
    assert config.advanced_rules == ("space = DOCS and type = page",) and config.spaces is None


def test_cql_timezone_is_checked() -> None:
    assert dc(cql_timezone="Europe/Berlin").cql_timezone == "Europe/Berlin"
    with pytest.raises(ConfluenceConfigError, match="sources.confluence.cql_timezone"):
        dc(cql_timezone="Mars/Olympus")


def test_settings_come_from_dlt_config_and_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SOURCES__CONFLUENCE__"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SOURCES__CONFLUENCE__DATA_SOURCE", "Confluence Cloud")
    monkeypatch.setenv("SOURCES__CONFLUENCE__CONFLUENCE_URL", "https://example.atlassian.net/wiki")
    monkeypatch.setenv("SOURCES__CONFLUENCE__ACCOUNT_EMAIL", "bot@example.com")
    monkeypatch.setenv("SOURCES__CONFLUENCE__API_TOKEN", "secret-token")
    monkeypatch.setenv("SOURCES__CONFLUENCE__SPACES", "ENG, OPS")
    monkeypatch.setenv("SOURCES__CONFLUENCE__ADVANCED_RULES", '[{"query": "label = runbook"}]')
    monkeypatch.setenv("SOURCES__CONFLUENCE__MAX_RETRY_DELAY", "900")
    config = confluence_settings()
    assert config.is_cloud and config.site_url == "https://example.atlassian.net"
    assert config.max_retry_delay == 900
    assert config.auth.username == "bot@example.com" and config.auth.secret == "secret-token"
    assert config.spaces is None and config.advanced_rules == ("label = runbook",)  # the rules replace `spaces`
