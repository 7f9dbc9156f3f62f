"""Settings nothing reads are refused with the name they were probably meant to have."""

from __future__ import annotations

from pathlib import Path

from dlt.common.configuration.providers import ConfigTomlProvider, EnvironProvider, SecretsTomlProvider

from pipelines.unknown_settings import describe_unknown_settings, find_unknown_settings

SECTIONS = {("sources", "confluence"): ("spaces", "api_token", "retry_count"),
            ("destination", "elasticsearch"): ("es_hosts", "es_index")}


def providers_for(folder: Path, config: str, secrets: str) -> list:
    (folder / "config.toml").write_text(config)
    (folder / "secrets.toml").write_text(secrets)
    return [EnvironProvider(), SecretsTomlProvider(str(folder)), ConfigTomlProvider(str(folder))]


def test_misspelt_keys_and_variables_are_found_with_the_name_they_were_meant_to_have(tmp_path: Path) -> None:
    providers = providers_for(
        tmp_path,
        config='[sources.confluence]\nspace = "ENG"\nretry_count = 2\n[sources.confluence.pages]\nanything = 1\n'
               '[destination.elasticsearch]\nes_host = "http://es:9200"\n[sources.other]\nwhatever = 1\n'
               '[job_a.sources.confluence]\nspaces = "OPS"\nretry_cont = 4\n',
        secrets='[sources.confluence]\napi_tokn = "never shown"\n')
    environment = {"SOURCES__CONFLUENCE__SPACES": "*", "SOURCES__CONFLUENCE__ZZZ": "1",
                   "SOURCES__CONFLUENCE__PAGES__LIMIT": "5", "DESTINATION__ELASTICSEARCH__ES_INDX": "docs",
                   "SOURCES__OTHER__X": "1", "SPACE": "x", "SOURCES__CONFLUENCE__retry_count": "2",
                   "JOB_A__DESTINATION__ELASTICSEARCH__ES_INDEX": "elsewhere", "JOB_A__SPACES": "left to the hider"}
    found = find_unknown_settings(SECTIONS, "job_a", providers, environment)
    behind = "put it under [sources.confluence]: behind the pipeline name only part of the run reads it"
    assert {(item.name, item.found_in, item.hint) for item in found} == {
        ("sources.confluence.space", "config.toml", "did you mean spaces?"),
        ("job_a.sources.confluence.spaces", "config.toml", behind),  # a real name, but the source never sees it
        ("job_a.sources.confluence.retry_cont", "config.toml", behind),
        ("sources.confluence.api_tokn", "secrets.toml", "did you mean api_token?"),
        ("SOURCES__CONFLUENCE__ZZZ", "the environment", None),
        ("destination.elasticsearch.es_host", "config.toml", "did you mean es_hosts?"),
        ("DESTINATION__ELASTICSEARCH__ES_INDX", "the environment", "did you mean es_index?"),
        ("SOURCES__CONFLUENCE__retry_count", "the environment", "write it SOURCES__CONFLUENCE__RETRY_COUNT"),
        ("JOB_A__DESTINATION__ELASTICSEARCH__ES_INDEX", "the environment",
         "set DESTINATION__ELASTICSEARCH__ES_INDEX instead: behind the pipeline name only part of the run reads it"),
    }
    assert "never shown" not in describe_unknown_settings(found)
    assert find_unknown_settings(SECTIONS, "job_b", providers_for(tmp_path, "", ""), {}) == []


def test_the_message_names_each_and_says_what_to_do(tmp_path: Path) -> None:
    providers = providers_for(tmp_path, config='[sources.confluence]\nspace = "ENG"\n', secrets="")
    one = find_unknown_settings(SECTIONS, "job", providers, {})
    assert describe_unknown_settings(one) == (
        "a setting the run does not read: sources.confluence.space in config.toml (did you mean spaces?); fix or "
        "remove it (the README lists the settings)")
    two = find_unknown_settings(SECTIONS, "job", providers, {"SOURCES__CONFLUENCE__QQQ": "1"})
    assert describe_unknown_settings(two) == (
        "settings the run does not read: sources.confluence.space in config.toml (did you mean spaces?), "
        "SOURCES__CONFLUENCE__QQQ in the environment; fix or remove them (the README lists the settings)")


def test_a_misspelt_section_is_found_with_the_section_it_was_meant_to_be(tmp_path: Path) -> None:
    """dlt ignores a whole table or variable prefix it is not asked for: `spaces` in `[source.confluence]` would
    leave every space synced, and the next run after the fix would delete all the others."""
    providers = providers_for(
        tmp_path,
        config='[source.confluence]\nspaces = "ENG"\n[destinations.elasticsearch]\nes_index = "docs"\n'
               '[sources.Confluence]\nretry_count = 2\n[sources.confluense]\nspaces = "OPS"\n[sources.other]\n'
               'x = 1\n[runtime]\nlog_level = "INFO"\n[confluence_to_es.load]\nworkers = 2\n'
               '[confluence_to_es.runtime]\nlog_level = "INFO"\n[sources.confluence_cloud]\nx = 1\n'
               '[destination.opensearch]\nhost = "h"\n[sources.confluence.pages]\nlimit = 5\n',
        secrets='[destination.elastic]\nes_password = "never shown"\n')
    environment = {"SOURCE__CONFLUENCE__SPACES": "ENG", "DESTINATION__ELASTIC__ES_INDEX": "docs",
                   "SOURCES__CONFLUENCE__SPACES": "*", "RUNTIME__LOG_LEVEL": "INFO", "NORMALIZE__WORKERS": "2",
                   "CONFLUENCE_TO_ES__X": "1", "ELASTICSEARCH__HOSTS": "h", "DESTINATION__OPENSEARCH__HOST": "h",
                   "ELASTIC_APM_SERVER_URL": "u", "CONFLUENCE_HOME": "/var", "SOURCE_DATE_EPOCH": "1"}
    found = find_unknown_settings(SECTIONS, "confluence_to_es", providers, environment)
    assert {(item.name, item.found_in, item.hint) for item in found} == {
        ("[source.confluence]", "config.toml",
         "did you mean [sources.confluence]? nothing in [source.confluence] is read"),
        ("[destinations.elasticsearch]", "config.toml",
         "did you mean [destination.elasticsearch]? nothing in [destinations.elasticsearch] is read"),
        ("[sources.Confluence]", "config.toml",
         "did you mean [sources.confluence]? nothing in [sources.Confluence] is read"),
        ("[sources.confluense]", "config.toml",
         "did you mean [sources.confluence]? nothing in [sources.confluense] is read"),
        ("[destination.elastic]", "secrets.toml",
         "did you mean [destination.elasticsearch]? nothing in [destination.elastic] is read"),
        ("SOURCE__CONFLUENCE__SPACES", "the environment", "did you mean SOURCES__CONFLUENCE__SPACES?"),
        ("DESTINATION__ELASTIC__ES_INDEX", "the environment", "did you mean DESTINATION__ELASTICSEARCH__ES_INDEX?"),
    }
    assert "never shown" not in describe_unknown_settings(found)
