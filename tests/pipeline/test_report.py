"""The printed run summary."""

from __future__ import annotations

import pytest

from confluence_source.deletions import DeletionPlan
from pipelines import missing_items
from pipelines.report import print_summary
from pipelines.missing_items import items_for_next_run
from pipelines.sync_run import SyncSummary


def test_documents_kept_after_a_short_listing_are_counted_and_placed(capsys: pytest.CaptureFixture[str]) -> None:
    summary = SyncSummary(mode="incremental", documents={"pages": 3}, short_listings=[
        {"space_key": "ENG", "doc_type": "page", "listed": 7, "counted": 9, "kept": 2},
        {"space_key": "OPS", "doc_type": "blogpost", "listed": 1, "counted": 2, "kept": 1},
    ])
    print_summary(summary)
    kept = [line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("kept")]
    assert kept == ["  kept                3 (pages of ENG, blogposts of OPS: listed fewer than Confluence counts; "
                    "checked again next run, --allow-mass-delete deletes them)"]
    assert summary.as_dict()["short_listings"][0]["kept"] == 2


def test_spaces_left_to_other_pipelines_are_counted_and_named(capsys: pytest.CaptureFixture[str]) -> None:
    summary = SyncSummary(mode="incremental", left_to_other_pipelines={"team_ops": ["OPS", "HR"], "trial": ["MKT"]})
    print_summary(summary)
    left = [line for line in capsys.readouterr().out.splitlines() if "left alone" in line]
    assert left == ["  left alone          3 space(s) other pipelines sync into this index (team_ops, trial)"]


def test_documents_no_rule_matches_are_counted_with_when_they_go(capsys: pytest.CaptureFixture[str]) -> None:
    summary = SyncSummary(mode="full", unmatched=4)
    print_summary(summary)
    print_summary(SyncSummary(mode="full"))
    lines = [line for line in capsys.readouterr().out.splitlines() if "unmatched" in line]
    assert lines == ["  unmatched           4 (no advanced rule matches them now: they go once a search an hour after "
                     "they were first found so still matches none of them)"]
    assert summary.as_dict()["unmatched"] == 4


def test_oauth_token_requests_have_their_own_line_only_for_a_service_account(
        capsys: pytest.CaptureFixture[str]) -> None:
    print_summary(SyncSummary(mode="full", requests=40, token_requests=2))
    print_summary(SyncSummary(mode="full", requests=40))
    lines = [line for line in capsys.readouterr().out.splitlines() if "OAuth" in line]
    assert lines == ["  OAuth tokens        2 requested"]


def test_items_missing_from_the_index_are_counted_for_the_next_run(capsys: pytest.CaptureFixture[str]) -> None:
    print_summary(SyncSummary(mode="incremental", missing_from_index=2, unreadable=1))
    print_summary(SyncSummary(mode="incremental"))
    lines = [line for line in capsys.readouterr().out.splitlines() if "missing" in line or "unreadable" in line]
    assert lines == ["  missing             2 (listed by Confluence, not in the index: restored from the trash or "
                     "created during the run; the next run reads them)",
                     "  unreadable          1 (listed by Confluence, still not in the index after a run read them: "
                     "tried again a day later)"]


def test_the_items_carried_to_the_next_run_are_bounded(monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """The state document is read and written whole by every run: of a flood of missing items (a space restored
    from the trash while a full refresh ran) a part is carried; the count still differs after the next run has read
    them, so the rest follow in later runs."""
    monkeypatch.setattr(missing_items, "MAX_ITEMS_FOR_NEXT_RUN", 3)
    plan = DeletionPlan()
    plan.unindexed["comment"].update({"11": "ENG", "12": "ENG"})
    plan.unindexed["attachment"].update({"att1": "ENG", "att2": "OPS"})
    kept = items_for_next_run(plan)
    assert kept == {"attachment": {"att1": "ENG", "att2": "OPS"}, "comment": {"11": "ENG"}}
    assert "the next run reads 3 of them, later runs the rest" in caplog.text
    assert items_for_next_run(DeletionPlan()) == {}


def test_the_stages_of_a_long_full_read_are_counted_when_there_are_several(capsys: pytest.CaptureFixture[str]) -> None:
    print_summary(SyncSummary(mode="full", stages=3))
    print_summary(SyncSummary(mode="full"))
    lines = [line for line in capsys.readouterr().out.splitlines() if "stage" in line]
    assert lines == ["  stages              3 (a long full read, each stage loaded and its progress saved before the "
                     "next)"]
    assert SyncSummary(stages=3).as_dict()["stages"] == 3
