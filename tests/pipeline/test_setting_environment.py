"""Environment variables dlt would read under shortened names, or behind the pipeline name, are hidden from it."""

from pipelines.setting_environment import hide_shortened_source_variables, ignored_variable_hint


def test_hidden_variables_are_reported_once_and_only_where_a_warning_helps() -> None:
    environment = {"USERNAME": "someone", "SOURCES__SPACES": "ENG", "JOB__SPACES": "ENG",
                   "JOB__SOURCES__SPACES": "ENG", "JOB__SOURCES__CONFLUENCE__SPACES": "ENG",
                   "JOB__DESTINATION__ELASTICSEARCH__ES_INDEX": "docs", "SOURCES__CONFLUENCE__SPACES": "OPS",
                   "HOME": "/home/someone"}
    warned = hide_shortened_source_variables(["spaces", "username"], "job", environment)
    # the bare name is too common to warn about; the full names behind the pipeline name are refused by the command
    # line with their own message, so a warning that they were ignored would contradict it
    assert warned == ["JOB__SOURCES__SPACES", "JOB__SPACES", "SOURCES__SPACES"]
    assert environment == {"SOURCES__CONFLUENCE__SPACES": "OPS", "HOME": "/home/someone"}


def test_the_warning_names_the_full_setting_or_says_the_run_sets_it() -> None:
    arguments, settings = ("spaces", "username", "full_refresh", "plan"), ("spaces", "username")

    def hint(name: str) -> str:
        return ignored_variable_hint(name, "job", arguments, settings)

    for shortened in ("SOURCES__SPACES", "JOB__SPACES", "JOB__SOURCES__SPACES"):
        assert hint(shortened) == "settings are read as SOURCES__CONFLUENCE__SPACES", shortened
    # no setting holds a run's own arguments: SOURCES__CONFLUENCE__FULL_REFRESH would be refused as unknown
    for argument in ("SOURCES__FULL_REFRESH", "JOB__PLAN"):
        assert "is not a setting: the run sets it itself" in hint(argument), argument
    # destination settings behind the pipeline name are not source settings: the general rule, not a source name
    for other in ("JOB__DESTINATION__ES_INDEX", "JOB__DESTINATION__CREDENTIALS__PASSWORD", "JOB__SOURCES__X__Y"):
        assert hint(other) == ("settings are read as SOURCES__CONFLUENCE__<NAME> and "
                               "DESTINATION__ELASTICSEARCH__<NAME>"), other
