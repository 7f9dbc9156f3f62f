"""Attachment text during a sync: files downloaded from the simulator over HTTP (Cloud through its media redirect),
their text extracted into `body`, and what became of every file in `content_extraction`."""

from __future__ import annotations

import collections
import time

import pytest

from confluence_simulator import files
from confluence_simulator.faults import FaultKind, FaultRule
from confluence_source import attachment_text
from confluence_source.client import ConfluenceClient
from confluence_source.errors import ConfluenceRequestError
from confluence_source.extraction import extractable_type

from .conftest import document_id, run_pipeline, settings_for


def attachment_rows(run):
    return {row["id"]: row for row in run.rows.get("attachments", [])}


def test_every_attachment_says_what_became_of_its_text(small_sim, tmp_path):
    run = run_pipeline(settings_for(small_sim), tmp_path)
    rows = attachment_rows(run)
    site = small_sim.site
    landmarks = {name: document_id(small_sim, site.content[ids[0]]) for name, ids in site.landmarks.items()
                 if name in ("large_file", "encrypted_pdf", "corrupt_pdf")}
    assert rows[landmarks["large_file"]]["content_extraction"] == "too_large"
    assert rows[landmarks["encrypted_pdf"]]["content_extraction"] == "encrypted"
    assert rows[landmarks["corrupt_pdf"]]["content_extraction"] == "unreadable"
    checked = 0
    for item in site.iter_content("attachment"):
        row = rows.get(document_id(small_sim, item))
        if row is None or row["id"] in landmarks.values():
            continue
        if extractable_type(item.media_type, item.title) is None:
            assert row["content_extraction"] == "unsupported_type" and row.get("body") is None, row
            continue
        assert row["content_extraction"] == "extracted", row
        assert " ".join(item.extractable_phrase.split()) in " ".join(row["body"].split()), row["file_name"]
        checked += 1
    assert checked >= 20
    # the 11 MB file was never downloaded, and file downloads are not API requests
    downloads = run.reader.client.file_stats.as_dict()
    assert downloads["bytes_received"] < files.LARGE_FILE_SIZE
    assert downloads["requests"] >= checked
    assert run.requests < downloads["requests"]


def test_nothing_is_downloaded_when_extraction_is_off(fresh_sim, tmp_path):
    run = run_pipeline(settings_for(fresh_sim, extract_attachment_content="false"), tmp_path)
    rows = attachment_rows(run)
    assert rows
    assert {row["content_extraction"] for row in rows.values()} == {"disabled"}
    assert all(row.get("body") is None for row in rows.values())
    assert run.reader.client.file_stats.as_dict()["requests"] == 0


def test_failed_downloads_leave_the_metadata_indexed_and_the_run_going(fresh_sim, tmp_path, caplog):
    fresh_sim.faults.add(FaultRule(kind=FaultKind.SERVER_ERROR, endpoint=fresh_sim.file_endpoint, status=502))
    run = run_pipeline(settings_for(fresh_sim, retry_count=1), tmp_path)
    rows = attachment_rows(run)
    statuses = {row["content_extraction"] for row in rows.values()}
    assert "download_failed" in statuses and "extracted" not in statuses
    assert all(row["file_name"] and row["download_url"] for row in rows.values())
    assert "indexed without their text" in caplog.text
    # the API requests themselves were unaffected
    assert run.ids("pages")


def test_downloads_stop_once_the_site_stops_answering_and_the_files_are_tried_next_run(fresh_sim, tmp_path,
                                                                                        monkeypatch, caplog):
    """Against a site that went away mid-read, each download would wait out its timeouts and retries; after enough
    downloads in a row without any answer the rest are not asked for, so the read ends instead of taking hours."""
    monkeypatch.setattr(attachment_text, "UNANSWERED_DOWNLOADS_BEFORE_GIVING_UP", 5)
    fresh_sim.faults.add(FaultRule(kind=FaultKind.DROP_CONNECTION, endpoint=fresh_sim.file_endpoint))
    run = run_pipeline(settings_for(fresh_sim, retry_count=0, concurrent_downloads=1), tmp_path)
    rows = attachment_rows(run)
    to_download = [row for row in rows.values() if row["content_extraction"] == "download_failed"]
    assert len(to_download) > 5
    assert run.reader.client.file_stats.as_dict()["requests"] == 5  # one at a time: exactly five were tried
    assert "5 downloads in a row got no answer" in caplog.text
    assert run.ids("pages")  # the API requests themselves were unaffected


def test_a_media_service_that_stopped_answering_counts_as_the_site_gone(tmp_path, monkeypatch, caplog):
    """On Cloud the download link redirects to a media service: no answer there stops the downloads just the same."""
    from .conftest import COMPACT, start_simulator

    monkeypatch.setattr(attachment_text, "UNANSWERED_DOWNLOADS_BEFORE_GIVING_UP", 5)
    sim = start_simulator("cloud", dataset=COMPACT)
    try:
        sim.faults.add(FaultRule(kind=FaultKind.DROP_CONNECTION, endpoint="media"))
        run = run_pipeline(settings_for(sim, retry_count=0, concurrent_downloads=1), tmp_path)
        failed = [row for row in attachment_rows(run).values() if row["content_extraction"] == "download_failed"]
        assert len(failed) > 5
        assert run.reader.client.file_stats.as_dict()["requests"] == 2 * 5  # five files, each link and redirect
        assert "5 downloads in a row got no answer" in caplog.text
    finally:
        sim.stop()


def test_after_giving_up_a_probe_finds_the_site_back_and_the_rest_is_read(fresh_sim, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(attachment_text, "UNANSWERED_DOWNLOADS_BEFORE_GIVING_UP", 5)
    monkeypatch.setattr(attachment_text, "PROBE_INTERVAL_SECONDS", 0.0)  # the very next download is a probe
    # then it heals
    fresh_sim.faults.add(FaultRule(kind=FaultKind.DROP_CONNECTION, endpoint=fresh_sim.file_endpoint, count=5))
    run = run_pipeline(settings_for(fresh_sim, retry_count=0, concurrent_downloads=1), tmp_path)
    statuses = collections.Counter(row["content_extraction"] for row in attachment_rows(run).values())
    assert statuses["download_failed"] == 5 and statuses["extracted"] > 5
    assert "answers downloads again" in caplog.text


def test_downloads_that_get_an_answer_never_stop_the_others(fresh_sim, tmp_path, monkeypatch):
    monkeypatch.setattr(attachment_text, "UNANSWERED_DOWNLOADS_BEFORE_GIVING_UP", 5)
    fresh_sim.faults.add(FaultRule(kind=FaultKind.SERVER_ERROR, endpoint=fresh_sim.file_endpoint, status=502))
    run = run_pipeline(settings_for(fresh_sim, retry_count=0, concurrent_downloads=1), tmp_path)
    failed = [row for row in attachment_rows(run).values() if row["content_extraction"] == "download_failed"]
    assert len(failed) > 5
    assert run.reader.client.file_stats.as_dict()["requests"] == len(failed)  # every file was asked for


def test_a_download_that_heals_on_retry_is_extracted(fresh_sim, tmp_path):
    fresh_sim.faults.add(FaultRule(kind=FaultKind.DROP_CONNECTION, endpoint=fresh_sim.file_endpoint, count=3))
    run = run_pipeline(settings_for(fresh_sim), tmp_path)
    statuses = [row["content_extraction"] for row in attachment_rows(run).values()]
    assert "download_failed" not in statuses and "extracted" in statuses
    assert run.reader.client.file_stats.as_dict()["retries"] >= 3


def test_links_that_leave_the_site_are_not_followed_with_credentials(small_sim):
    client = ConfluenceClient(settings_for(small_sim))
    with pytest.raises(ConfluenceRequestError, match="leads away from the Confluence site"):
        client.download("https://elsewhere.example.com/download/attachments/1/a.pdf", max_bytes=1000,
                        purpose="downloading a.pdf")
    assert client.file_stats.as_dict()["requests"] == 0


def test_a_file_larger_than_listed_is_not_read_past_the_limit(fresh_sim, tmp_path):
    site = fresh_sim.site
    large = site.content[site.landmarks["large_file"][0]]
    large.file_size = 2048  # the listing now understates the size; the download itself must stop at 10 MB
    run = run_pipeline(settings_for(fresh_sim), tmp_path)
    row = attachment_rows(run)[document_id(fresh_sim, large)]
    assert row["content_extraction"] == "too_large" and row.get("body") is None


def statuses_by_media_type(run) -> dict[str, set[str]]:
    by_type: dict[str, set[str]] = {}
    for row in attachment_rows(run).values():
        by_type.setdefault(row["media_type"], set()).add(row["content_extraction"])
    return by_type


def test_a_file_whose_reading_hangs_is_given_up_and_the_run_ends(fresh_sim, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(attachment_text, "EXTRACTOR", "tests.source.extraction_targets:hang_on_pdfs")
    monkeypatch.setattr(attachment_text.defaults, "EXTRACTION_TIMEOUT_SECONDS", 0)
    monkeypatch.setattr(attachment_text, "EXTRACTION_GRACE_SECONDS", 0.3)
    started = time.monotonic()
    run = run_pipeline(settings_for(fresh_sim), tmp_path)
    assert time.monotonic() - started < 25
    by_type = statuses_by_media_type(run)
    assert by_type["application/pdf"] == {"timed_out"}
    assert "extracted" in set().union(*(statuses for kind, statuses in by_type.items() if kind != "application/pdf"))
    assert "Gave up reading" in caplog.text


def test_a_file_that_crashes_the_extractor_is_unreadable_and_the_run_goes_on(fresh_sim, tmp_path, monkeypatch,
                                                                              caplog):
    monkeypatch.setattr(attachment_text, "EXTRACTOR", "tests.source.extraction_targets:crash_on_pdfs")
    run = run_pipeline(settings_for(fresh_sim), tmp_path)
    by_type = statuses_by_media_type(run)
    assert by_type["application/pdf"] == {"unreadable"}
    assert "extracted" in set().union(*(statuses for kind, statuses in by_type.items() if kind != "application/pdf"))
    assert "the extractor stopped (signal SIGABRT)" in caplog.text


def test_failed_media_downloads_log_neither_credentials_nor_media_tokens(tmp_path, caplog):
    from .conftest import COMPACT, start_simulator

    sim = start_simulator("cloud", dataset=COMPACT)
    try:
        sim.faults.add(FaultRule(kind=FaultKind.DROP_CONNECTION, endpoint="media"))
        caplog.set_level("DEBUG", logger="confluence_source")
        run = run_pipeline(settings_for(sim, retry_count=1), tmp_path)
        statuses = {row["content_extraction"] for row in attachment_rows(run).values()}
        assert "download_failed" in statuses and "extracted" not in statuses
        assert "Could not download" in caplog.text
        for secret in (sim.credentials["api_token"], "/media/file/"):
            assert secret not in caplog.text
    finally:
        sim.stop()


def test_a_refused_download_is_not_tried_again_but_a_failed_one_is(fresh_sim, tmp_path):
    fresh_sim.faults.add(FaultRule(kind=FaultKind.SERVER_ERROR, endpoint=fresh_sim.file_endpoint, status=403))
    run = run_pipeline(settings_for(fresh_sim), tmp_path)
    statuses = {row["content_extraction"] for row in attachment_rows(run).values()}
    assert "download_refused" in statuses and "download_failed" not in statuses
    assert attachment_text.DOWNLOAD_REFUSED not in attachment_text.RETRIED
    assert attachment_text.DOWNLOAD_FAILED in attachment_text.RETRIED


def test_files_behind_a_media_host_are_read_and_its_refusals_are_not_called_bad_credentials(tmp_path, caplog):
    """Cloud sends downloads on to its media service, another host: the files are read from there, and a 401 from
    that host (an expired link) is told apart from Confluence rejecting the credentials, and asked again next run."""
    from .conftest import COMPACT, start_simulator

    sim = start_simulator("cloud", dataset=COMPACT, media_host="localhost")
    try:
        run = run_pipeline(settings_for(sim), tmp_path / "first")
        assert "extracted" in {row["content_extraction"] for row in attachment_rows(run).values()}

        sim.faults.add(FaultRule(kind=FaultKind.SERVER_ERROR, endpoint="media", status=401))
        run = run_pipeline(settings_for(sim), tmp_path / "second", full_refresh=True)
        statuses = {row["content_extraction"] for row in attachment_rows(run).values()}
        assert "download_failed" in statuses and "download_refused" not in statuses
        assert "The file service at localhost failed" in caplog.text and "HTTP 401" in caplog.text
        assert "rejected the credentials" not in caplog.text

        sim.faults.clear()
        sim.faults.add(FaultRule(kind=FaultKind.SERVER_ERROR, endpoint="media", status=404))
        run = run_pipeline(settings_for(sim), tmp_path / "third")
        statuses = {row["content_extraction"] for row in attachment_rows(run).values()}
        assert "download_refused" in statuses and "download_failed" not in statuses  # the file is gone: not retried
    finally:
        sim.stop()


def test_the_site_itself_refusing_a_download_still_names_the_credentials(fresh_sim, tmp_path, caplog):
    fresh_sim.faults.add(FaultRule(kind=FaultKind.SERVER_ERROR, endpoint=fresh_sim.file_endpoint, status=401))
    run = run_pipeline(settings_for(fresh_sim, retry_count=0), tmp_path)
    assert "download_failed" in {row["content_extraction"] for row in attachment_rows(run).values()}
    assert "rejected the credentials" in caplog.text and "file service" not in caplog.text


def test_the_extractor_stamp_says_how_much_text_was_kept_where_that_is_not_the_default():
    from confluence_source.attachment_text import extractor_stamp, read_stamp
    from confluence_source.extraction import extractor_version

    version = extractor_version()
    assert extractor_stamp(200_000) == version  # as stamped before the length was a setting
    assert read_stamp(version) == (version, 200_000)
    assert read_stamp(extractor_stamp(1_000_000)) == (version, 1_000_000)
    assert extractor_stamp(40).endswith("; first 40 characters")
    assert read_stamp("odd; first many characters") == ("odd; first many characters", 200_000)
