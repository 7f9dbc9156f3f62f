"""Environment variables dlt would read under shortened names, or behind the pipeline name, are hidden from it."""

from pipelines.setting_environment import hide_shortened_source_variables


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
