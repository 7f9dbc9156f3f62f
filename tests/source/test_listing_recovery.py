"""A listing page the server keeps refusing: smaller pages, then the item without its body, then the listing's own
page size again; never another host, never an outage worked around page by page."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import requests_mock

from confluence_source import ConfluenceRequestError
from confluence_source.listing_recovery import ListingRecovery

from .test_client import SITE, TOKEN, V1, V2, make_client, ok

PAGES = V2 + "/spaces/7/pages"


def test_smaller_pages_cover_the_refused_one_then_the_listing_size_comes_back() -> None:
    recovery = ListingRecovery(PAGES, {"limit": 8, "body-format": "storage"})
    refused = PAGES + "?limit=8&body-format=storage&cursor=c1"
    assert recovery.instead_of_refused(refused, 500) == PAGES + "?limit=4&body-format=storage&cursor=c1"
    assert recovery.instead_of_refused(PAGES + "?limit=4&body-format=storage&cursor=c1", 504).endswith(
        "?limit=2&body-format=storage&cursor=c1")
    assert recovery.after_page(2, PAGES + "?limit=2&body-format=storage&cursor=c2") == (None, False)
    assert recovery.after_page(2, PAGES + "?limit=2&body-format=storage&cursor=c3") == (None, False)
    assert recovery.after_page(2, PAGES + "?limit=2&body-format=storage&cursor=c4") == (None, False)
    # eight items read since the refusal: the next page asks for eight again
    assert recovery.after_page(2, PAGES + "?limit=2&body-format=storage&cursor=c5") == (
        PAGES + "?body-format=storage&cursor=c5&limit=8", False)
    assert not recovery.recovering
    assert recovery.instead_of_refused(refused, 503) is None  # not a refusal of the page's size
    assert recovery.instead_of_refused(refused, 404) is None


def test_a_single_item_refused_is_asked_for_once_without_its_body() -> None:
    expand = "body.storage,version,metadata.labels"
    recovery = ListingRecovery(V1 + "/content/scan", {"limit": 100, "expand": expand, "spaceKey": "ENG"})
    one = V1 + "/content/scan?spaceKey=ENG&limit=1&expand=body.storage%2Cversion%2Cmetadata.labels&cursor=x"
    assert recovery.instead_of_refused(one, 500) == (
        V1 + "/content/scan?spaceKey=ENG&limit=1&expand=version%2Cmetadata.labels&cursor=x")
    assert recovery.instead_of_refused(one, 500) is None  # that request failing too: nothing left to try
    next_url = V1 + "/content/scan?spaceKey=ENG&limit=1&expand=version%2Cmetadata.labels&cursor=y"
    restored, without_bodies = recovery.after_page(1, next_url)
    assert without_bodies and restored == (V1 + "/content/scan?spaceKey=ENG&cursor=y&limit=100&expand=" + expand
                                           .replace(",", "%2C"))
    nothing_to_drop = ListingRecovery(V1 + "/content/search", {"limit": 1, "cql": "type = page"})
    assert nothing_to_drop.instead_of_refused(V1 + "/content/search?limit=1&cql=type+%3D+page", 500) is None


def test_a_page_refused_where_a_redirect_led_is_not_asked_for_there_with_the_credentials() -> None:
    """requests drops the credentials on a redirect to another host: asking the host it led to directly would not."""
    client = make_client(retry_count=0)
    elsewhere = "https://elsewhere.example.com/pages?limit=4"
    with requests_mock.Mocker() as mock:
        mock.get(PAGES, status_code=302, headers={"Location": elsewhere})
        mock.get("https://elsewhere.example.com/pages", status_code=502)
        mock.get(V1 + "/user/current", json={"accountId": "a"})
        with pytest.raises(ConfluenceRequestError):
            list(client.pages(PAGES, {"limit": 4}, purpose="listing pages", api="v2"))
        to_elsewhere = [request for request in mock.request_history if request.netloc == "elsewhere.example.com"]
        assert to_elsewhere and all("Authorization" not in request.headers for request in to_elsewhere)
        assert all(request.netloc == SITE.removeprefix("https://")
                   for request in mock.request_history if "Authorization" in request.headers)


def test_an_outage_is_not_worked_around_page_size_by_page_size(caplog: pytest.LogCaptureFixture) -> None:
    client = make_client(retry_count=0)
    with requests_mock.Mocker() as mock, caplog.at_level(logging.WARNING):
        mock.get(PAGES, status_code=502)
        mock.get(V1 + "/user/current", status_code=502)
        with pytest.raises(ConfluenceRequestError, match=r"HTTP 502 while listing pages") as failed:
            list(client.pages(PAGES, {"limit": 250}, purpose="listing pages", api="v2"))
        assert [request.qs.get("limit") for request in mock.request_history if "/pages" in request.path] == [["250"]]
    assert "at a time" not in caplog.text and "one item" not in str(failed.value)
    assert TOKEN not in caplog.text


def test_the_listing_reads_on_at_its_own_size_after_a_large_item(caplog: Any) -> None:
    client = make_client(retry_count=0)
    sizes: list[int] = []

    def answer(request: Any, context: Any) -> Any:
        limit = int(request.qs["limit"][0])
        start = int(request.qs.get("start", ["0"])[0])
        sizes.append(limit)
        if start <= 3 < start + limit and limit > 1:  # item 3 is too large to go with others
            context.status_code = 500
            return {}
        items = [{"id": str(number)} for number in range(start, min(start + limit, 40))]
        following = f"{PAGES}?limit={limit}&start={start + limit}" if start + limit < 40 else None
        return {"results": items, "_links": {"next": following} if following else {}}

    with requests_mock.Mocker() as mock:
        mock.get(PAGES, json=answer)
        mock.get(V1 + "/user/current", json={"accountId": "a"})
        listed = [item["id"] for page in client.pages(PAGES, {"limit": 8}, purpose="listing", api="v2")
                  for item in page.items]
    assert listed == [str(number) for number in range(40)]
    assert sizes[-3:] == [8, 8, 8] and 8 in sizes[sizes.index(1):]


def test_a_one_item_query_without_bodies_fails_as_it_is_without_asking_the_site_again() -> None:
    """Counts and checks ask for one item: nothing smaller to ask for, so no probe and no talk of an unreadable item."""
    client = make_client(retry_count=0)
    with requests_mock.Mocker() as mock:
        mock.get(V1 + "/content/search", status_code=500)
        mock.get(V1 + "/user/current", json={"accountId": "a"})
        with pytest.raises(ConfluenceRequestError) as failed:
            list(client.pages(V1 + "/content/search", {"limit": 1, "cql": "type = page"}, purpose="counting"))
        assert not [request for request in mock.request_history if request.path.endswith("/user/current")]
    assert "one item" not in str(failed.value)
