"""Reader details in isolation (requests-mock): the choice between the Cloud label listing and a body-less CQL search
(and the fallback for a site without `/labels`), and the Data Center time zone fallback. The label listing also runs
end to end against the simulator in tests/pipeline/test_sync_job.py."""

from __future__ import annotations

from typing import Any

import requests_mock

from confluence_source import build_settings
from confluence_source.client import ConfluenceClient
from confluence_source.cloud import CloudReader
from confluence_source.datacenter import DataCenterReader
from confluence_source.documents import SpaceInfo

SITE = "https://example.atlassian.net"
V2 = SITE + "/wiki/api/v2"
V1 = SITE + "/wiki/rest/api"


def reader_with_spaces(*spaces: SpaceInfo) -> CloudReader:
    settings = build_settings(data_source="cloud", confluence_url=SITE, account_email="a@b.c", api_token="t",
                              backoff_seconds=0.01)
    reader = CloudReader(ConfluenceClient(settings))
    reader.state.selected = list(spaces)
    reader.state.all_spaces = {space.key: space for space in spaces}
    return reader


def page(ids: list[str], next_link: str | None = None) -> dict[str, Any]:
    return {"results": [{"id": i} for i in ids], "_links": {"next": next_link} if next_link else {}}


def test_labels_are_read_per_label_and_filtered_to_the_synced_spaces() -> None:
    reader = reader_with_spaces(SpaceInfo("11", "ENG", "Engineering"), SpaceInfo("12", "OPS", "Operations"))
    with requests_mock.Mocker() as mock:
        mock.get(V2 + "/labels", json={"results": [
            {"id": "1", "name": "runbook", "prefix": "global"},
            {"id": "2", "name": "todo", "prefix": "my"},
        ], "_links": {}})
        first = mock.get(V2 + "/labels/1/pages", json=page(["100", "101"], "/wiki/api/v2/labels/1/pages?cursor=c"))
        mock.get(V2 + "/labels/1/pages?cursor=c", json=page(["102"]))
        mock.get(V2 + "/labels/2/pages", json=page(["101"]))
        mock.get(V1 + "/search", json={"results": [], "totalSize": 5000, "size": 0, "_links": {}})
        mapping = reader._label_map("page")  # noqa: SLF001 - the unit under test
        assert first.last_request.qs["space-id"] == ["11,12"]
        assert first.last_request.qs["limit"] == ["250"]
        calls = mock.call_count
        assert reader._label_map("page") is mapping and mock.call_count == calls  # noqa: SLF001 - built once
    assert mapping == {"100": ["runbook"], "101": ["my:todo", "runbook"], "102": ["runbook"]}


def site_with_more_labels_than_search_pages(mock: requests_mock.Mocker, found: list[dict[str, Any]]) -> Any:
    """40 labels, 900 items to search (5 responses): a label search wins. Returns (count, search) matchers."""
    mock.get(V2 + "/labels", json={"results": [{"id": str(n), "name": f"l{n}"} for n in range(40)], "_links": {}})
    count = mock.get(V1 + "/search", json={"results": [], "totalSize": 900, "size": 0, "_links": {}})
    search = mock.get(V1 + "/content/search", json={"results": found, "size": len(found), "_links": {}})
    return count, search


def labelled(content_id: str, content_type: str, *labels: tuple[str, str]) -> dict[str, Any]:
    return {"id": content_id, "type": content_type,
            "metadata": {"labels": {"results": [{"prefix": prefix, "name": name} for prefix, name in labels]}}}


def test_with_more_labels_than_search_pages_labels_come_from_search() -> None:
    reader = reader_with_spaces(SpaceInfo("11", "ENG", "Engineering"))
    with requests_mock.Mocker() as mock:
        count, search = site_with_more_labels_than_search_pages(mock, [labelled("7", "page", ("global", "l3"))])
        assert reader._label_map("page") == {"7": ["l3"]}  # noqa: SLF001 - the unit under test
        assert count.call_count == 1 and search.call_count == 1
        assert count.last_request.qs["cql"] == ['space = "eng" and type in (page, blogpost, attachment)']
        reader._label_map("attachment")  # noqa: SLF001 - one count of all types settled this type too
        assert count.call_count == 1 and search.call_count == 2
        assert not any("/labels/" in request.path for request in mock.request_history)


def test_one_label_search_maps_the_types_read_next() -> None:
    reader = reader_with_spaces(SpaceInfo("11", "ENG", "Engineering"))
    with requests_mock.Mocker() as mock:
        count, search = site_with_more_labels_than_search_pages(mock, [
            labelled("7", "page", ("global", "l3")), labelled("8", "blogpost", ("team", "l4")),
            labelled("9", "attachment"),
        ])
        assert reader._label_map("page", ("blogpost", "attachment")) == {"7": ["l3"]}  # noqa: SLF001 - the unit
        assert search.call_count == 1 and count.call_count == 1
        assert search.last_request.qs["cql"] == ['space = "eng" and type in (page, blogpost, attachment)']
        assert reader._label_map("blogpost") == {"8": ["team:l4"]}  # noqa: SLF001 - mapped by the same search
        assert reader._label_map("attachment") == {}  # noqa: SLF001 - mapped by the same search
        assert search.call_count == 1 and count.call_count == 1


def test_companions_are_not_searched_when_the_label_listing_may_be_their_way() -> None:
    reader = reader_with_spaces(SpaceInfo("11", "ENG", "Engineering"))
    with requests_mock.Mocker() as mock:
        mock.get(V2 + "/labels", json={"results": [{"id": "1", "name": "l1"}, {"id": "2", "name": "l2"}],
                                       "_links": {}})
        # fewer labels than all three types would take to search, more than the pages alone
        counts = iter([{"totalSize": 900}, {"totalSize": 100}])
        mock.get(V1 + "/search", json=lambda request, context: {"results": [], "size": 0, "_links": {},
                                                                 **next(counts)})
        search = mock.get(V1 + "/content/search", json={"results": [], "size": 0, "_links": {}})
        assert reader._label_map("page", ("blogpost", "attachment")) == {}  # noqa: SLF001 - the unit under test
        assert search.last_request.qs["cql"] == ['space = "eng" and type = page']


def test_without_a_label_listing_labels_come_from_search() -> None:
    reader = reader_with_spaces(SpaceInfo("11", "ENG", "Engineering"))
    with requests_mock.Mocker() as mock:
        mock.get(V2 + "/labels", status_code=404, json={"errors": [{"status": 404, "title": "Not Found"}]})
        search = mock.get(V1 + "/content/search", json={"results": [
            {"id": "100", "type": "attachment",
             "metadata": {"labels": {"results": [{"prefix": "global", "name": "diagram"}]}}},
            {"id": "101", "type": "attachment", "metadata": {"labels": {"results": []}}},
        ], "size": 2, "_links": {}})
        mapping = reader._label_map("attachment")  # noqa: SLF001 - the unit under test
        assert search.last_request.qs["cql"] == ['space = "eng" and type = attachment']
        assert search.last_request.qs["expand"] == ["metadata.labels"]
    assert mapping == {"100": ["diagram"]}


ONE_SPACE = {"results": [{"id": 1, "key": "ENG", "name": "Engineering", "type": "global", "status": "current"}],
             "size": 1, "_links": {}}


def test_datacenter_without_a_user_time_zone_uses_the_servers_offset() -> None:
    base = "https://wiki.example.com/confluence"
    settings = build_settings(data_source="dc", confluence_url=base, username="u", password="p")
    reader = DataCenterReader(ConfluenceClient(settings))
    with requests_mock.Mocker() as mock:
        mock.get(base + "/rest/api/user/current", json={"type": "known", "username": "u", "userKey": "k1",
                                                         "displayName": "U"})
        mock.get(base + "/rest/api/space", json=ONE_SPACE)
        mock.get(base + "/rest/api/content/search", json={"results": [
            {"id": "5", "type": "page", "version": {"when": "2024-05-09T11:14:01.818+02:00", "number": 3}},
        ], "size": 1, "_links": {}})
        reader.preflight()
    assert reader.zone.utcoffset(None).total_seconds() == 7200  # type: ignore[union-attr]
    explicit = DataCenterReader(ConfluenceClient(build_settings(
        data_source="dc", confluence_url=base, username="u", password="p", cql_timezone="Asia/Tokyo")))
    with requests_mock.Mocker() as mock:
        mock.get(base + "/rest/api/user/current", json={"type": "known", "username": "u", "timeZone": "UTC"})
        mock.get(base + "/rest/api/space", json=ONE_SPACE)
        explicit.preflight()
    assert str(explicit.zone) == "Asia/Tokyo"


def test_outline_listing_spreads_spaces_over_a_few_queries_of_similar_size() -> None:
    from confluence_source.reader import Scope

    spaces = [SpaceInfo(str(n), f"S{n}", f"Space {n}") for n in range(230)]
    archived = SpaceInfo("999", "OLD", "Old", status="archived")
    reader = reader_with_spaces(*spaces, archived)
    scopes = [Scope(key=space.key, kind="space", space=space) for space in [*spaces, archived]]
    sizes = {"S0": 5000, "S1": 4000, "S2": 3000} | {f"S{n}": 10 for n in range(3, 230)}
    queries = reader._outline_queries("type in (page, blogpost)", scopes, sizes)  # noqa: SLF001 - the unit under test
    current = [cql for _, cql, is_archived in queries if not is_archived]
    assert len(current) == 4  # 230 spaces need at least 3 queries of 100; four run side by side
    assert [cql for _, cql, is_archived in queries if is_archived] == ['space = "OLD" and type in (page, blogpost)']
    per_query = [sum(sizes[key] for key in sizes if f'"{key}"' in cql) for cql in current]
    assert max(per_query) < 6000  # the three big spaces landed in different queries
    assert all(cql.count('"S') <= 100 for cql in current)
    listed = [key for cql in current for key in sizes if f'"{key}"' in cql]
    assert sorted(listed) == sorted(sizes)  # every space in exactly one query


def test_a_short_outline_listing_is_one_query_and_a_long_one_runs_side_by_side() -> None:
    from confluence_source.reader import Scope

    spaces = [SpaceInfo(str(n), f"S{n}", f"Space {n}") for n in range(6)]
    reader = reader_with_spaces(*spaces)
    scopes = [Scope(key=space.key, kind="space", space=space) for space in spaces]
    few = reader._outline_queries("type = attachment", scopes, {"S0": 300, "S1": 200})  # noqa: SLF001
    assert [cql for _, cql, _ in few] == [
        'space in ("S0", "S1", "S2", "S3", "S4", "S5") and type = attachment']
    assert len(reader._outline_queries("type = attachment", scopes, {})) == 1  # nothing indexed yet  # noqa: SLF001
    many = reader._outline_queries("type = page", scopes, {"S0": 1500, "S1": 900, "S2": 300})  # noqa: SLF001
    assert len(many) == 3  # 2,700 items: three queries of similar size


def test_cloud_lists_what_carries_each_label_only_where_that_costs_fewer_requests_than_a_search() -> None:
    from confluence_source.cloud import CloudReader

    assert not CloudReader._label_listing_beats(2, None)  # noqa: SLF001 - a search of two requests: never
    assert CloudReader._label_listing_beats(3, None)  # noqa: SLF001 - worth listing the labels to see
    assert CloudReader._label_listing_beats(76, 35)  # noqa: SLF001 - 36 requests instead of 76
    assert CloudReader._label_listing_beats(8, 7)  # noqa: SLF001 - 7 requests (the labels are listed already)
    assert not CloudReader._label_listing_beats(8, 8)  # noqa: SLF001 - as many requests: search


def test_cloud_label_listing_for_the_check_gives_up_as_soon_as_a_search_would_be_cheaper() -> None:
    from confluence_source.reader import Scope

    eng = SpaceInfo("11", "ENG", "Engineering")
    scopes = [Scope(key="ENG", kind="space", space=eng)]
    labels = {"results": [{"id": str(n), "name": f"l{n}", "prefix": "global"} for n in range(1, 4)], "_links": {}}
    with requests_mock.Mocker() as mock:
        mock.get(V2 + "/labels", json=labels)
        mock.get(V2 + "/labels/1/attachments", json=page(["att7"]))
        mock.get(V2 + "/labels/2/attachments", json=page(["att7", "att8"]))
        mock.get(V2 + "/labels/3/attachments", json=page([]))
        # 2,000 files: a search of 11 requests against 1 + 3 here
        assert reader_with_spaces(eng).current_labels(("attachment",), scopes, 2_000) == {
            "attachment-att7": ("l1", "l2"), "attachment-att8": ("l2",)}
        assert reader_with_spaces(eng).current_labels(("attachment",), scopes, 500) is None  # 3 requests vs 1 + 3
        assert mock.call_count == 5  # the second reader stopped at the label listing
        # a label on many files: its pages of results overrun the budget of the search it replaces
        mock.get(V2 + "/labels/2/attachments", json=page(["att8"], "/wiki/api/v2/labels/2/attachments?cursor=c"))
        assert reader_with_spaces(eng).current_labels(("attachment",), scopes, 1_000) is None


def test_a_page_below_a_folder_that_cannot_be_read_is_not_held_back() -> None:
    """Pages wait in the page tree until their parent is listed; a folder known to be unreadable ends the chain."""
    from confluence_source.hierarchy import Node, SpaceTree

    tree = SpaceTree("ENG")
    tree.add(Node("page", "2", "Guide", parent_id="9", url=None, status="current"))
    assert tree.ancestors("2", final=False) is None  # parent 9 may still be listed
    tree.end_chain_at("9")
    assert tree.ancestors("2", final=False) == []


def test_a_site_without_labels_is_neither_counted_nor_searched() -> None:
    reader = reader_with_spaces(SpaceInfo("11", "ENG", "Engineering"))
    with requests_mock.Mocker() as mock:
        mock.get(V2 + "/labels", json={"results": [], "_links": {}})
        assert reader._label_map("page") == {}  # noqa: SLF001 - the unit under test
        assert [request.path for request in mock.request_history] == ["/wiki/api/v2/labels"]


def test_spaces_a_rule_matches_come_from_the_generic_search_in_either_result_shape() -> None:
    reader = reader_with_spaces(SpaceInfo("11", "ENG", "Engineering"), SpaceInfo("12", "OPS", "Operations"),
                                SpaceInfo("13", "OLD", "Old", status="archived"))
    with requests_mock.Mocker() as mock:
        search = mock.get(V1 + "/search", json={"results": [
            {"entityType": "space", "space": {"key": "ENG", "name": "Engineering"}},
            {"entityType": "space", "entity": {"key": "OPS", "name": "Operations"}},  # Data Center 10's schema
            {"entityType": "content", "content": {"id": "5", "type": "page"}},
            {"entityType": "space", "space": {"key": "ENG"}},
            {"entityType": "space", "space": {"key": "OLD"}},  # archived: left out without index_archived
            {"entityType": "space", "space": {"key": "HIDDEN"}},  # not in the space listing
        ], "size": 6, "_links": {}})
        assert reader.spaces_matched_by_rule('label = "team" order by created') == ["ENG", "OPS"]
    assert search.last_request.qs["cql"] == ['(label = "team") and type = space']
    assert "includeArchivedSpaces" not in search.last_request.qs


def _comment(confluence_id: str, created_at: str | None) -> Any:
    from confluence_source.documents import ContentFacts

    return ContentFacts(doc_type="comment", confluence_id=confluence_id, title="", status="current", space_key="ENG",
                        space_name="Engineering", url=None, created_at=created_at, updated_at=None, version=2,
                        author_id=None, author_name=None)


def test_edited_comments_are_dated_in_searches_of_200_and_every_one_is_emitted() -> None:
    """v2 lists date a comment only by its first version: edited ones wait for one search per 200 of them."""
    reader = reader_with_spaces(SpaceInfo("11", "ENG", "Engineering"))
    emitted: list[str] = []
    reader.emit = lambda batch: iter(emitted.extend(facts.confluence_id for _, facts in batch) or [])  # type: ignore
    with requests_mock.Mocker() as mock:
        search = mock.get(V1 + "/content/search", json=lambda request, context: {"results": [
            {"id": value.strip(), "history": {"createdDate": "2024-01-02T03:04:05.000Z"}}
            for value in request.qs["cql"][0].split("(")[1].rstrip(")").split(",")
        ], "size": 0, "_links": {}})
        undated: list[Any] = []
        batches = [[("ENG", _comment(str(1000 + n), None if n % 3 else "2020-01-01T00:00:00+00:00"))
                    for n in range(start, start + 250)] for start in range(0, 750, 250)]
        for batch in batches:
            list(reader._emit_dated(batch, undated))  # noqa: SLF001 - the unit under test
        assert search.call_count == 2 and len(undated) == 100  # 500 undated so far: two full searches
        list(reader._emit_dated([], undated, final=True))  # noqa: SLF001 - the end of the listing
        assert search.call_count == 3 and undated == []
    assert sorted(emitted) == sorted(str(1000 + n) for n in range(750))
    dated = [facts for batch in batches for _, facts in batch]
    assert all(facts.created_at for facts in dated)
    assert [len(request.qs["cql"][0].split(",")) for request in search.request_history] == [200, 200, 100]


def test_archived_pages_on_cloud_get_their_whole_chain_and_an_unreadable_parent_ends_it() -> None:
    """The v2 listing shows an archived page's parent only: archived parents come from the listing itself, folders
    from their own reads, a current page's ancestors from one search; a folder that cannot be read ends the chain
    below it, as a full read's page tree does, and a cycle in corrupt data ends the walk."""
    reader = reader_with_spaces(SpaceInfo("11", "ENG", "Engineering"))
    archived = [  # 1 under current page 5; 2 under archived 1; 3 under folder 7 (under folder 8, under page 5);
        # 4 under unreadable folder 9; 20 and 21 under each other
        {"id": "1", "spaceId": "11", "status": "archived", "title": "One", "parentId": "5", "parentType": "page"},
        {"id": "2", "spaceId": "11", "status": "archived", "title": "Two", "parentId": "1", "parentType": "page"},
        {"id": "3", "spaceId": "11", "status": "archived", "title": "Three", "parentId": "7", "parentType": "folder"},
        {"id": "4", "spaceId": "11", "status": "archived", "title": "Four", "parentId": "9", "parentType": "folder"},
        {"id": "20", "spaceId": "11", "status": "archived", "title": "A", "parentId": "21", "parentType": "page"},
        {"id": "21", "spaceId": "11", "status": "archived", "title": "B", "parentId": "20", "parentType": "page"},
        {"id": "6", "spaceId": "99", "status": "archived", "title": "Elsewhere", "parentId": None},
    ]
    with requests_mock.Mocker() as mock:
        listing = mock.get(V2 + "/pages", json={"results": archived, "_links": {}})
        mock.get(V2 + "/folders/7", json={"id": "7", "title": "Folder", "parentId": "8", "parentType": "folder"})
        mock.get(V2 + "/folders/8", json={"id": "8", "title": "Outer", "parentId": "5", "parentType": "page"})
        mock.get(V2 + "/folders/9", status_code=404, json={})
        search = mock.get(V1 + "/content/search", json={"results": [
            {"id": "5", "type": "page", "title": "Five", "_expandable": {"space": "/rest/api/space/ENG"},
             "ancestors": [{"id": "100", "type": "page", "title": "Home"}]}], "_links": {}})
        found = reader.archived_pages(["ENG"])["ENG"]
    assert listing.last_request.qs["space-id"] == ["11"] and listing.last_request.qs["status"] == ["archived"]
    assert "id in (5)" in search.last_request.qs["cql"][0]
    home, five = ("page-100", "Home"), ("page-5", "Five")
    assert found["page-1"] == (home, five)
    assert found["page-2"] == (home, five, ("page-1", "One"))
    assert found["page-3"] == (home, five, ("folder-8", "Outer"), ("folder-7", "Folder"))
    assert found["page-4"] == ()
    assert found["page-20"] == (("page-21", "B"),) and "page-6" not in found  # the cycle ends the walk
