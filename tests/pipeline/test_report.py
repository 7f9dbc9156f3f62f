"""The printed run summary."""

from __future__ import annotations

import pytest

from pipelines.report import print_summary
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


def test_oauth_token_requests_have_their_own_line_only_for_a_service_account(
        capsys: pytest.CaptureFixture[str]) -> None:
    print_summary(SyncSummary(mode="full", requests=40, token_requests=2))
    print_summary(SyncSummary(mode="full", requests=40))
    lines = [line for line in capsys.readouterr().out.splitlines() if "OAuth" in line]
    assert lines == ["  OAuth tokens        2 requested"]
