"""A bad day on the wire (simulator fault injection): retries heal transient failures without losing or doubling
documents; a space or an item that vanishes mid-run is skipped; failures that do not heal stop the run loudly."""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime, timezone
from typing import Any, Callable

import pytest

from confluence_simulator.faults import FaultKind, FaultRule
from confluence_simulator.model import Content, Version
from confluence_simulator.server import Simulator
from confluence_source import ConfluenceRequestError, IncompleteListingError, open_reader

from .conftest import (
    COMPACT,
    RecordingLedger,
    document_id,
    expected_ids,
    run_pipeline,
    settings_for,
    start_simulator,
)

TABLES = {"page": "pages", "blogpost": "blogposts", "comment": "comments", "attachment": "attachments"}


def listing_endpoints(sim: Simulator) -> list[str]:
    if sim.config.flavour == "cloud":
        return ["v2.spaces.pages", "v2.footer_comments.list", "v2.attachments.list", "v2.blogposts.list"]
    return ["v1.content.scan", "v1.content.search"]


def assert_every_document_once(sim: Simulator, run: Any) -> None:
    """The run yielded each document the site shows exactly once, none missing."""
    expected = expected_ids(sim)
    for doc_type, table in TABLES.items():
        rows = run.rows[table]
        assert len(rows) == len({row["id"] for row in rows}), doc_type
        assert {row["id"] for row in rows} == expected[doc_type], doc_type


def test_transient_failures_heal_without_losing_or_repeating_documents(fresh_sim: Simulator, tmp_path: Any) -> None:
    for endpoint in listing_endpoints(fresh_sim):
        for kind in (FaultKind.SERVICE_UNAVAILABLE, FaultKind.SERVER_ERROR, FaultKind.TRUNCATED_BODY,
                     FaultKind.DROP_CONNECTION):
            fresh_sim.faults.add(FaultRule(kind=kind, endpoint=endpoint, count=1, retry_after=None))
        fresh_sim.faults.add(FaultRule(kind=FaultKind.EMPTY_PAGE, endpoint=endpoint, nth=6))
    # the four faults of an endpoint hit four consecutive attempts of one request
    run = run_pipeline(settings_for(fresh_sim, retry_count=5), tmp_path)
    assert_every_document_once(fresh_sim, run)
    stats = run.reader.stats
    assert stats["retries"] >= 4 * len(listing_endpoints(fresh_sim)), stats
    assert fresh_sim.stats()["faults"].get("truncated_body", 0) >= 1


def test_rate_limits_are_waited_out(fresh_sim: Simulator, tmp_path: Any) -> None:
    endpoint = listing_endpoints(fresh_sim)[0]
    fresh_sim.faults.add(FaultRule(kind=FaultKind.RATE_LIMIT, endpoint=endpoint, count=1, retry_after=1))
    started = time.monotonic()
    run = run_pipeline(settings_for(fresh_sim), tmp_path)
    assert time.monotonic() - started >= 1.0
    assert run.reader.stats["throttled"] == 1
    assert run.ids("pages") == expected_ids(fresh_sim)["page"]


def test_a_stop_ends_a_long_wait_for_the_rate_limit(fresh_sim: Simulator, tmp_path: Any,
                                                  stop_noted_after: Callable[[float], None]) -> None:
    from dlt.common.exceptions import SignalReceivedException

    from destinations.elastic import find_wrapped_error

    # on a listing, so that the wait is in one of the reader's threads, not in the preflight
    fresh_sim.faults.add(FaultRule(kind=FaultKind.RATE_LIMIT, endpoint=listing_endpoints(fresh_sim)[0], count=1000,
                                   retry_after=60))
    stop_noted_after(0.5)
    started = time.monotonic()
    with pytest.raises(BaseException) as stopped:  # a KeyboardInterrupt, as dlt's stop is
        run_pipeline(settings_for(fresh_sim, max_retry_delay=120), tmp_path)
    assert fresh_sim.stats()["faults"].get("rate_limit")
    assert time.monotonic() - started < 30  # not after the minute the site asked for
    assert find_wrapped_error(stopped.value, (SignalReceivedException,)) is not None, stopped.value


def test_failures_that_do_not_heal_stop_the_read(fresh_sim: Simulator) -> None:
    endpoint = listing_endpoints(fresh_sim)[0]
    fresh_sim.faults.add(FaultRule(kind=FaultKind.SERVER_ERROR, endpoint=endpoint, status=502))
    reader = open_reader(settings_for(fresh_sim, retry_count=2))
    with pytest.raises(ConfluenceRequestError, match=r"HTTP 502.*2 retries \(sources\.confluence\.retry_count\)"):
        for _ in reader.iter_content("page", reader.plan()):
            pass


def test_answers_cut_off_every_time_stop_the_read_saying_so(fresh_sim: Simulator) -> None:
    """A body cut short is retried like any transient failure; where it lasts, the message says what happened (not
    the name of the library's exception), whether the cut came inside a JSON body or inside a chunked one."""
    endpoint = listing_endpoints(fresh_sim)[0]
    fresh_sim.faults.add(FaultRule(kind=FaultKind.TRUNCATED_BODY, endpoint=endpoint))
    reader = open_reader(settings_for(fresh_sim, retry_count=1))
    with pytest.raises(ConfluenceRequestError,
                       match=r"kept sending incomplete answers while .*1 retries \(sources\.confluence\.retry_count\)"):
        for _ in reader.iter_content("page", reader.plan()):
            pass


def body_listing_endpoint(sim: Simulator) -> str:
    """The listing that carries page bodies: Cloud's per-space pages, Data Center's content scan."""
    return "v2.spaces.pages" if sim.config.flavour == "cloud" else "v1.content.scan"


def test_pages_of_results_too_large_for_the_server_are_asked_for_in_smaller_ones(
        fresh_sim: Simulator, tmp_path: Any, caplog: pytest.LogCaptureFixture) -> None:
    """A server that cannot build a page of 100 or 250 bodies (out of memory, a proxy's limit) answers 500 however
    often it is asked: the same place in the listing is asked for with half as many items, and nothing is lost."""
    largest_body = max(len(item.body or "") for item in fresh_sim.site.iter_content() if item.type == "page")
    # room for the largest page alone in one answer, not for a full page of answers with it
    fresh_sim.faults.add(FaultRule(kind=FaultKind.TOO_LARGE, endpoint=body_listing_endpoint(fresh_sim),
                                   max_bytes=int(largest_body * 1.25) + 5_000))
    with caplog.at_level(logging.WARNING):
        run = run_pipeline(settings_for(fresh_sim, retry_count=1), tmp_path)
    assert_every_document_once(fresh_sim, run)
    assert fresh_sim.stats()["faults"]["too_large"] >= 2  # each failed size asked twice (one retry)
    halved = [record.getMessage() for record in caplog.records if "at a time" in record.getMessage()]
    assert halved and all(re.search(r"HTTP 500 for a page of \d+ items", message) for message in halved), halved


def test_a_page_whose_body_the_server_cannot_return_is_indexed_without_it(
        fresh_sim: Simulator, tmp_path: Any, caplog: pytest.LogCaptureFixture) -> None:
    """Elastic's connector aborts the whole sync on one such page; here the listing goes on, complete (so deletions
    stay safe), and only that page lacks its body."""
    bodies = sorted(((len(item.body or ""), item.id) for item in fresh_sim.site.iter_content() if item.type == "page"),
                    reverse=True)
    (largest, culprit), (second, _) = bodies[0], bodies[1]
    assert largest > 2 * second  # one page far larger than the rest
    fresh_sim.faults.add(FaultRule(kind=FaultKind.TOO_LARGE, endpoint=body_listing_endpoint(fresh_sim),
                                   max_bytes=(largest + second) // 2))
    with caplog.at_level(logging.WARNING):  # bodies converted in worker processes, as a full read does
        run = run_pipeline(settings_for(fresh_sim, retry_count=0), tmp_path, body_workers=2)
    expected = expected_ids(fresh_sim)
    for doc_type, table in TABLES.items():
        assert {row["id"] for row in run.rows[table]} == expected[doc_type], doc_type
    pages = {row["id"]: row for row in run.rows["pages"]}
    assert not pages[f"page-{culprit}"].get("body") and pages[f"page-{culprit}"]["title"]
    assert all(row.get("body") for doc_id, row in pages.items() if doc_id != f"page-{culprit}")
    warnings = [record.getMessage() for record in caplog.records if "indexed without its body" in record.getMessage()]
    assert len(warnings) == 1 and f"item {culprit} " in warnings[0], warnings


def test_an_item_the_server_cannot_return_even_alone_stops_the_read_saying_so(fresh_sim: Simulator) -> None:
    fresh_sim.faults.add(FaultRule(kind=FaultKind.TOO_LARGE, endpoint=body_listing_endpoint(fresh_sim),
                                   max_bytes=200))
    reader = open_reader(settings_for(fresh_sim, retry_count=0))
    with pytest.raises(ConfluenceRequestError, match=r"HTTP 500 while .*, also one item per page \(an item there "
                                                     r"cannot be read\)"):
        for _ in reader.iter_content("page", reader.plan()):
            pass


def vanishing_space_faults(sim: Simulator) -> list[FaultRule]:
    """A 404 for a listing of one space's content, and, where asked, for that space itself (it is gone)."""
    docs = sim.site.space_by_key("DOCS")
    assert docs is not None
    if sim.config.flavour == "cloud":
        return [FaultRule(kind=FaultKind.SERVER_ERROR, status=404, endpoint="v2.spaces.pages",
                          path=f"/spaces/{docs.id}/pages"),
                FaultRule(kind=FaultKind.SERVER_ERROR, status=404, endpoint="v2.spaces.get")]
    # scan takes the space as a query parameter: fail the second scan request, a later page of the first space or
    # the first page of another (with read-ahead, whichever listing asked second)
    return [FaultRule(kind=FaultKind.SERVER_ERROR, status=404, endpoint="v1.content.scan", nth=2),
            FaultRule(kind=FaultKind.SERVER_ERROR, status=404, endpoint="v1.space.get")]


@pytest.mark.parametrize("concurrent_downloads", [1, 50], ids=["one-listing-at-a-time", "next-spaces-read-ahead"])
def test_a_space_that_vanishes_mid_run_is_skipped(fresh_sim: Simulator, tmp_path: Any,
                                                  caplog: pytest.LogCaptureFixture, concurrent_downloads: int) -> None:
    for rule in vanishing_space_faults(fresh_sim):
        fresh_sim.faults.add(rule)
    caplog.set_level(logging.WARNING)
    ledger = RecordingLedger()
    run = run_pipeline(settings_for(fresh_sim, concurrent_downloads=concurrent_downloads), tmp_path, ledger=ledger)
    vanished = run.reader.vanished
    assert len(vanished) == 1
    (lost,) = vanished
    assert f"Space {lost} disappeared during the run" in caplog.text
    assert (lost, "page") not in ledger.fully_read
    expected = expected_ids(fresh_sim)["page"]
    others = {row["id"] for row in run.rows["pages"] if row["space_key"] != lost}
    assert others == {doc for doc in expected if _space_of(fresh_sim, doc) != lost}
    for key in {row["space_key"] for row in run.rows["spaces"]} - {lost}:
        assert (key, "page") in ledger.fully_read


def test_a_404_from_a_space_that_still_exists_fails_the_run(fresh_sim: Simulator, tmp_path: Any) -> None:
    """A proxy or a node answering 404 for a moment must not make a space look read while part of it is missing:
    that space would be saved as read, and what was not listed would stay out of the index."""
    from destinations.elastic import find_wrapped_error

    listing_fault, _ = vanishing_space_faults(fresh_sim)
    fresh_sim.faults.add(listing_fault)
    with pytest.raises(Exception) as failed:  # wrapped by dlt's extract step
        run_pipeline(settings_for(fresh_sim), tmp_path)
    cause = find_wrapped_error(failed.value, (IncompleteListingError,))
    assert cause is not None and re.search("404 while listing the content of space .*, which still exists",
                                           str(cause)), failed.value


def _archived_page_with_files(sim: Simulator) -> int:
    site = sim.site
    return next(page.id for page in site.iter_content("page") if page.status == "archived"
                and any(item.parent_id == page.id for item in site.iter_content("attachment")))


@pytest.mark.parametrize("page_gone", [True, False], ids=["page-gone", "page-still-there"])
def test_a_404_for_an_archived_pages_files_is_believed_only_when_the_page_is_gone(tmp_path: Any,
                                                                                  page_gone: bool) -> None:
    """Data Center lists the files of archived pages one page at a time: a 404 there is about that page. Its files
    may only be left out (and so deleted) when the page is gone indeed."""
    sim = start_simulator("datacenter")
    try:
        page_id = _archived_page_with_files(sim)
        sim.faults.add(FaultRule(kind=FaultKind.SERVER_ERROR, status=404, path=f"/content/{page_id}/child/attachment"))
        if page_gone:
            sim.faults.add(FaultRule(kind=FaultKind.SERVER_ERROR, status=404, path=f"/content/{page_id}$"))
            run = run_pipeline(settings_for(sim, index_archived=True), tmp_path)
            files = {f"attachment-{item.id}" for item in sim.site.iter_content("attachment")
                     if item.parent_id == page_id}
            assert not files & run.ids("attachments") and run.ids("attachments")
            assert not run.reader.vanished
        else:
            from destinations.elastic import find_wrapped_error

            with pytest.raises(Exception) as failed:
                run_pipeline(settings_for(sim, index_archived=True), tmp_path)
            cause = find_wrapped_error(failed.value, (IncompleteListingError,))
            assert cause is not None and f"archived page {page_id}, which still exists" in str(cause), failed.value
    finally:
        sim.stop()


def test_an_item_that_vanishes_mid_run_is_skipped(fresh_sim: Simulator, tmp_path: Any,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """A comment on an attachment: Cloud reads the attachment for its container; when that 404s, the comment is
    skipped and everything else is synced."""
    site = fresh_sim.site
    user = site.users[site.default_user_id]
    attachment = next(
        item for item in site.iter_content("attachment")
        if item.status == "current" and site.can_read(user, item)
        and site.content[item.parent_id].status == "current" and site.spaces[item.space_id].status == "current"
    )
    now = datetime.now(timezone.utc)
    comment = Content(id=site.new_id(), type="comment", status="current", title=f"Re: {attachment.title}",
                      space_id=attachment.space_id, created_at=now, author_id=user.account_id,
                      versions=[Version(1, now, user.account_id)], body="<p>About this file</p>",
                      parent_id=attachment.id, comment_location="footer")
    site.add_content(comment)
    fresh_sim.notify_changed()

    run = run_pipeline(settings_for(fresh_sim), tmp_path / "first")
    document = run.by_id()[f"comment-{comment.id}"]
    assert document["parent_type"] == "attachment" and document["parent_id"] == document_id(fresh_sim, attachment)
    assert document["parent_title"] == attachment.title and document["body"] == "About this file"
    assert document["ancestor_ids"][-1] == document_id(fresh_sim, attachment)

    if fresh_sim.config.flavour == "cloud":
        fresh_sim.faults.add(FaultRule(kind=FaultKind.SERVER_ERROR, status=404, endpoint="v2.attachments.get"))
        caplog.set_level(logging.INFO)
        again = run_pipeline(settings_for(fresh_sim), tmp_path / "second")
        assert f"comment-{comment.id}" not in again.ids("comments")
        assert again.ids("comments") == run.ids("comments") - {f"comment-{comment.id}"}
        assert f"Attachment att{attachment.id} is gone" in caplog.text


def test_datacenter_without_the_scan_api_reads_with_search(tmp_path: Any) -> None:
    sim = start_simulator("datacenter", dataset=COMPACT)
    try:
        sim.faults.add(FaultRule(kind=FaultKind.SERVER_ERROR, status=404, endpoint="v1.content.scan"))
        ledger = RecordingLedger()
        run = run_pipeline(settings_for(sim), tmp_path, ledger=ledger)
        expected = expected_ids(sim)
        for doc_type, table in TABLES.items():
            assert run.ids(table) == expected[doc_type], doc_type
        assert not run.reader.vanished
        assert all((row["space_key"], "page") in ledger.fully_read for row in run.rows["spaces"])
        assert sim.stats()["endpoints"]["v1.content.scan"]["requests"] == 1  # asked once, then not again
    finally:
        sim.stop()


def test_id_listings_raise_instead_of_coming_up_short(fresh_sim: Simulator) -> None:
    reader = open_reader(settings_for(fresh_sim, retry_count=1))
    endpoint = "v2.spaces.pages" if fresh_sim.config.flavour == "cloud" else "v1.content.scan"
    fresh_sim.faults.add(FaultRule(kind=FaultKind.SERVER_ERROR, endpoint=endpoint))
    with pytest.raises(ConfluenceRequestError):
        list(reader.iter_current_ids("ENG", "page"))
    fresh_sim.faults.clear()
    endpoint = "v2.attachments.list" if fresh_sim.config.flavour == "cloud" else "v1.search"
    fresh_sim.faults.add(FaultRule(kind=FaultKind.EMPTY_PAGE, endpoint=endpoint))
    with pytest.raises(IncompleteListingError):
        list(reader.iter_current_ids("ENG", "attachment"))


def _space_of(sim: Simulator, document: str) -> str:
    item = sim.site.content[int(document.split("-", 1)[1].removeprefix("att"))]
    return sim.site.spaces[item.space_id].key


def test_a_scan_refused_for_a_deleted_space_does_not_pass_for_a_server_without_scan() -> None:
    """A Data Center that answers the scan of a deleted space with 404, before any scan has answered this run: the
    space is gone, the scan API is not, so the other spaces are still scanned (search would leave archived pages
    out of their listings, and they would look deleted)."""
    from confluence_source.errors import SpaceVanishedError

    sim = start_simulator("datacenter", dataset=COMPACT)
    try:
        reader = open_reader(settings_for(sim, index_archived=True))
        sim.mutations.delete_space(space_key="ENG")
        sim.faults.add(FaultRule(kind=FaultKind.SERVER_ERROR, status=404, endpoint="v1.content.scan", nth=1))
        with pytest.raises(SpaceVanishedError):
            list(reader.current_ids("ENG", "page"))
        assert reader.vanished == {"ENG"}
        other = next(key for key in reader.state.all_spaces if key != "ENG")
        before = sim.stats()["endpoints"]["v1.content.scan"]["requests"]
        list(reader.current_ids(other, "page"))
        assert sim.stats()["endpoints"]["v1.content.scan"]["requests"] > before, "the other space was not scanned"
    finally:
        sim.stop()


def test_a_full_read_whose_first_scan_meets_a_deleted_space_goes_on_scanning() -> None:
    """The first space of a full read is scanned alone, to ask a server without the scan API only once; when that
    space was deleted since the preflight and its scan answers 404, the space is skipped and the others scanned."""
    sim = start_simulator("datacenter", dataset=COMPACT)
    try:
        reader = open_reader(settings_for(sim, index_archived=True))
        scopes = reader.plan({}, full_refresh=True).scopes
        first = next(scope for scope in scopes if scope.key == "ENG")
        sim.mutations.delete_space(space_key="ENG")
        sim.faults.add(FaultRule(kind=FaultKind.SERVER_ERROR, status=404, endpoint="v1.content.scan", nth=1))
        read = list(reader.read_full("page", [first, *(scope for scope in scopes if scope is not first)]))
        assert reader.vanished == {"ENG"} and reader._scan_supported is True
        assert read and all(document["space_key"] != "ENG" for _, document in read)
    finally:
        sim.stop()
