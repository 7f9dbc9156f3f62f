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


def test_the_warning_names_the_full_setting_or_the_command_line() -> None:
    assert "SOURCES__CONFLUENCE__SPACES" in ignored_variable_hint("JOB__SOURCES__SPACES", ("spaces", "username"))
    # no setting holds a run's own arguments: pointing at SOURCES__CONFLUENCE__FULL_REFRESH would send the user to
    # a name the command line refuses as unknown
    hint = ignored_variable_hint("SOURCES__FULL_REFRESH", ("spaces", "username"))
    assert "SOURCES__CONFLUENCE__" not in hint and "full_refresh is not a setting" in hint
