"""The v1 REST API: every Data Center list and lookup, and what Cloud still serves (CQL search, downloads, 410s).

Expected results come from the simulator's model. Paging tests walk `_links.next` (or `nextCursor`) to the end
with odd limits and check that every item shows up exactly once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
import requests

from confluence_simulator.model import Content, Site
from confluence_simulator.server import Simulator, SimulatorConfig
from confluence_simulator.testing import collect, session_for, v1_pages


@pytest.fixture(scope="module")
def dc() -> Iterator[Simulator]:
    simulator = Simulator.start(SimulatorConfig(flavour="datacenter", preset="small", seed=1,
                                                server_tz="Europe/Berlin"))
    yield simulator
    simulator.stop()


@pytest.fixture(scope="module")
def cloud() -> Iterator[Simulator]:
    simulator = Simulator.start(SimulatorConfig(flavour="cloud", preset="small", seed=1))
    yield simulator
    simulator.stop()


@pytest.fixture(scope="module")
def dc_http(dc: Simulator) -> requests.Session:
    return session_for(dc)


@pytest.fixture(scope="module")
def cloud_http(cloud: Simulator) -> requests.Session:
    return session_for(cloud)


def visible(sim: Simulator, item: Content) -> bool:
    return sim.site.can_read(sim.site.default_user, item)


def searchable(sim: Simulator, content_type: str) -> list[str]:
    """What `type=<content_type>` must find: current items in current spaces the default user may read."""
    site = sim.site
    items = [
        item for item in site.content.values()
        if item.type == content_type and item.status == "current"
        and site.spaces[item.space_id].status == "current" and visible(sim, item)
        and container_is_live(site, item)
    ]
    prefix = "att" if content_type == "attachment" and sim.config.flavour == "cloud" else ""
    return [f"{prefix}{item.id}" for item in sorted(items, key=lambda item: item.id)]


def container_is_live(site: Site, item: Content) -> bool:
    """Comments and attachments of a page that is not current (trashed, archived, draft) are not searchable."""
    if item.type not in ("comment", "attachment"):
        return True
    container = site.content.get(item.parent_id) if item.parent_id is not None else None
    return container is not None and container.status == "current"


def page_with(sim: Simulator, child_type: str, minimum: int) -> Content:
    for item in sorted(sim.site.content.values(), key=lambda item: item.id):
        children = [sim.site.content[i] for i in sim.site.child_ids(item.id, child_type)]
        if (item.type == "page" and item.status == "current" and visible(sim, item)
                and len([c for c in children if c.status == "current"]) >= minimum):
            return item
    raise AssertionError(f"no page with {minimum} {child_type} children")


# ---- Data Center: CQL search ------------------------------------------------------------------------------

@pytest.mark.parametrize("expand, limit, effective", [("", 7, 7), ("", 250, 250), ("body.storage", 250, 50),
                                                       ("version,space", 1000, 200)])
def test_dc_content_search_pages_to_the_end_with_silent_caps(
    dc: Simulator, dc_http: requests.Session, expand: str, limit: int, effective: int
) -> None:
    path = f"/rest/api/content/search?cql=type%3Dpage&limit={limit}" + (f"&expand={expand}" if expand else "")
    pages = list(v1_pages(dc_http, dc, path))
    ids = [item["id"] for page in pages for item in page["results"]]
    assert ids == searchable(dc, "page")
    assert {page["limit"] for page in pages} == {effective}
    assert all(page["size"] == len(page["results"]) for page in pages)
    assert all(page["start"] == index * effective for index, page in enumerate(pages))
    first = pages[0]
    assert first["_links"]["base"] == dc.base_url and first["_links"]["context"] == "/confluence"
    assert first["_links"]["next"].startswith("/rest/api/content/search?")
    if "body" in expand:
        storage = first["results"][0]["body"]["storage"]
        assert storage["representation"] == "storage" and storage["value"].startswith("<")


def test_dc_generic_search_reports_totals(dc: Simulator, dc_http: requests.Session) -> None:
    pages = list(v1_pages(dc_http, dc, "/rest/api/search?cql=type%3Dblogpost&limit=9&expand=content.version"))
    results = [result for page in pages for result in page["results"]]
    assert [r["content"]["id"] for r in results] == searchable(dc, "blogpost")
    assert all(page["totalSize"] == len(results) for page in pages)
    assert all(r["entityType"] == "content" and r["content"]["version"]["number"] >= 1 for r in results)
    assert pages[0]["cqlQuery"] == "type=blogpost"


def test_dc_search_excludes_archived_spaces_unless_asked(dc: Simulator, dc_http: requests.Session) -> None:
    legacy = dc.site.space_by_key("LEGACY")
    assert legacy is not None
    cql = "space%3DLEGACY"
    assert collect(v1_pages(dc_http, dc, f"/rest/api/content/search?cql={cql}")) == []
    archived = collect(v1_pages(dc_http, dc, f"/rest/api/search?cql={cql}&includeArchivedSpaces=true&limit=100"))
    assert archived and all(r["resultGlobalContainer"]["title"] == legacy.name for r in archived)


@pytest.mark.parametrize("name", ["dc", "cloud"])
def test_generic_search_returns_the_spaces_a_query_matches(name: str, request: pytest.FixtureRequest) -> None:
    """`/search` returns spaces besides content (`type = space`, or a space's key, title or labels); content search
    never does, and archived spaces only with includeArchivedSpaces."""
    sim: Simulator = request.getfixturevalue(name)
    http: requests.Session = request.getfixturevalue(f"{name}_http")
    site = sim.site
    readable = sorted(space.key for space in site.spaces.values()
                      if space.status == "current" and site.can_read_space(site.default_user, space))

    def space_keys(cql: str, archived: bool = False) -> list[str]:
        params = {"cql": cql, "limit": 2, "expand": "space.description.plain"}
        if archived:
            params["includeArchivedSpaces"] = "true"
        results = collect(v1_pages(http, sim, f"/rest/api/search?{urlencode(params)}"))
        assert all(result["entityType"] == "space" for result in results if "space" in result)
        return sorted(result["space"]["key"] for result in results if result["entityType"] == "space")

    assert space_keys("type = space") == readable and len(readable) > 2
    legacy = site.space_by_key("LEGACY")
    assert legacy is not None and legacy.status == "archived"
    assert "LEGACY" in space_keys("type = space", archived=True)
    assert space_keys(f'space = "{readable[0]}" and type = space') == [readable[0]]
    labelled = next(space for space in site.spaces.values() if space.key in readable and space.labels)
    assert labelled.key in space_keys(f'label = "{labelled.labels[0]}" and type = space')
    assert space_keys("type = page") == [] and space_keys(f'id = {min(site.content)}') == []
    content_search = next(v1_pages(http, sim, "/rest/api/content/search?cql=type%20%3D%20space"))
    assert content_search["results"] == []


@pytest.mark.parametrize("cql", ["type=page and", "type = page order by", "bogusfield = 1", 'lastmodified > "2024-01-01 10:00:30"'])
def test_dc_bad_cql_is_400_with_rest_error(dc: Simulator, dc_http: requests.Session, cql: str) -> None:
    response = dc_http.get(dc.base_url + "/rest/api/content/search", params={"cql": cql})
    assert response.status_code == 400
    body = response.json()
    assert body["statusCode"] == 400 and body["reason"] == "Bad Request" and body["message"]


def test_cql_date_literals_are_read_in_the_users_timezone(dc: Simulator, dc_http: requests.Session) -> None:
    user_zone = ZoneInfo(dc.site.default_user.timezone)
    pages = [c for c in dc.site.content.values() if c.type == "page" and c.status == "current" and visible(dc, c)
             and dc.site.spaces[c.space_id].status == "current"]
    newest = max(pages, key=lambda c: (c.last_modified, c.id))
    local_minute = newest.last_modified.astimezone(user_zone).strftime("%Y-%m-%d %H:%M")
    utc_minute = newest.last_modified.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M")
    found = collect(v1_pages(dc_http, dc, f'/rest/api/content/search?cql=type%3Dpage and lastmodified >= "{local_minute}"'))
    assert str(newest.id) in [r["id"] for r in found]
    if user_zone.utcoffset(newest.last_modified.replace(tzinfo=None)) != timedelta(0):
        shifted = collect(v1_pages(dc_http, dc,
                                   f'/rest/api/content/search?cql=type%3Dpage and lastmodified > "{utc_minute}"'))
        assert str(newest.id) in [r["id"] for r in shifted]  # a UTC watermark read as local time is too early


def test_index_lag_hides_fresh_changes_from_search_only() -> None:
    simulator = Simulator.start(SimulatorConfig(flavour="datacenter", index_lag_seconds=60, prewarm=False))
    try:
        http = session_for(simulator)
        page = next(c for c in sorted(simulator.site.content.values(), key=lambda c: c.id)
                    if c.type == "page" and c.status == "current" and visible(simulator, c))
        cql = f"/rest/api/content/search?cql=id%3D{page.id}"
        assert [r["id"] for r in http.get(simulator.base_url + cql).json()["results"]] == [str(page.id)]
        edited = simulator.mutations.edit(content_id=page.id, body="<p>fresh text</p>")
        assert http.get(simulator.base_url + cql).json()["results"] == []
        direct = http.get(simulator.base_url + f"/rest/api/content/{page.id}?expand=version").json()
        assert direct["version"]["number"] == edited.versions[-1].number
    finally:
        simulator.stop()


# ---- Data Center: lists -----------------------------------------------------------------------------------

@pytest.mark.parametrize("limit", [7, 250])
def test_dc_content_and_space_lists_page_to_the_end(dc: Simulator, dc_http: requests.Session, limit: int) -> None:
    eng = dc.site.space_by_key("ENG")
    assert eng is not None
    wanted = sorted(c.id for c in dc.site.content.values()
                    if c.type == "page" and c.space_id == eng.id and c.status == "current" and visible(dc, c))
    listed = collect(v1_pages(dc_http, dc, f"/rest/api/content?type=page&spaceKey=ENG&limit={limit}"))
    assert [int(c["id"]) for c in listed] == wanted
    by_type = collect(v1_pages(dc_http, dc, f"/rest/api/space/ENG/content/page?limit={limit}"))
    assert [int(c["id"]) for c in by_type] == wanted
    spaces = collect(v1_pages(dc_http, dc, f"/rest/api/space?limit={min(limit, 3)}"))
    readable = {s.key for s in dc.site.spaces.values() if dc.site.can_read_space(dc.site.default_user, s)}
    assert sorted(s["key"] for s in spaces) == sorted(readable)
    assert len(spaces) == len(readable)


def test_dc_space_content_map(dc: Simulator, dc_http: requests.Session) -> None:
    body = dc_http.get(dc.base_url + "/rest/api/space/ENG/content?limit=5&depth=root").json()
    assert set(body) == {"page", "blogpost", "_links"}
    assert body["page"]["limit"] == 5 and body["page"]["size"] <= 5
    eng = dc.site.space_by_key("ENG")
    assert eng is not None
    roots = [c.id for c in dc.site.content.values() if c.type == "page" and c.space_id == eng.id
             and c.parent_id is None and c.status == "current" and visible(dc, c)]
    assert [int(c["id"]) for c in body["page"]["results"]] == sorted(roots)[:5]


@pytest.mark.parametrize("limit", [2, 25])
def test_dc_children_page_to_the_end(dc: Simulator, dc_http: requests.Session, limit: int) -> None:
    site = dc.site
    host = page_with(dc, "attachment", 3)
    attachments = collect(v1_pages(dc_http, dc, f"/rest/api/content/{host.id}/child/attachment?limit={limit}"))
    assert [int(a["id"]) for a in attachments] == [i for i in site.child_ids(host.id, "attachment")
                                                   if site.content[i].status == "current"]
    assert all(a["metadata"]["mediaType"] == a["extensions"]["mediaType"] for a in attachments)
    commented = page_with(dc, "comment", 3)
    thread = [site.content[i] for i in site.child_ids(commented.id, "comment") if site.content[i].status == "current"]
    roots = collect(v1_pages(dc_http, dc, f"/rest/api/content/{commented.id}/child/comment?limit={limit}"))
    assert [int(c["id"]) for c in roots] == [c.id for c in thread if c.parent_comment_id is None]
    everything = collect(v1_pages(dc_http, dc,
                                  f"/rest/api/content/{commented.id}/child/comment?depth=all&limit={limit}"))
    assert [int(c["id"]) for c in everything] == [c.id for c in thread]
    footer = collect(v1_pages(dc_http, dc, f"/rest/api/content/{commented.id}/child/comment?location=footer&depth=all"))
    assert all(c["extensions"]["location"] == "footer" for c in footer)
    parent = page_with(dc, "page", 3)
    kids = collect(v1_pages(dc_http, dc, f"/rest/api/content/{parent.id}/child/page?limit={limit}"))
    wanted = sorted((site.content[i] for i in site.child_ids(parent.id, "page")
                     if site.content[i].status == "current" and visible(dc, site.content[i])),
                    key=lambda c: (c.position, c.id))
    assert [int(k["id"]) for k in kids] == [c.id for c in wanted]


@pytest.mark.parametrize("limit", [7, 100])
def test_dc_scan_cursor_pages_to_the_end(dc: Simulator, dc_http: requests.Session, limit: int) -> None:
    site = dc.site
    wanted = sorted(c.id for c in site.content.values() if c.type == "page" and c.status == "current"
                    and visible(dc, c))
    seen: list[int] = []
    url = dc.base_url + f"/rest/api/content/scan?type=page&limit={limit}"
    cursors: list[str] = []
    while True:
        body = dc_http.get(url).json()
        seen.extend(int(c["id"]) for c in body["results"])
        if "nextCursor" not in body:
            assert "next" not in body["_links"]
            break
        assert re.fullmatch(r"content:false:\d+", body["nextCursor"])
        cursors.append(body["nextCursor"])
        url = body["_links"]["base"] + body["_links"]["next"]
    assert seen == wanted
    assert dc_http.get(dc.base_url + "/rest/api/content/scan?cursor=garbage").status_code == 400


def test_dc_space_trash(dc: Simulator, dc_http: requests.Session) -> None:
    eng = dc.site.space_by_key("ENG")
    assert eng is not None
    trashed = sorted(c.id for c in dc.site.content.values() if c.space_id == eng.id and c.status == "trashed"
                     and visible(dc, c))
    seen: list[int] = []
    url = dc.base_url + "/rest/api/space/ENG/trash?limit=2"
    while url:
        body = dc_http.get(url).json()
        seen.extend(int(c["id"]) for c in body["results"])
        assert all(c["status"] == "trashed" for c in body["results"])
        url = body["_links"]["base"] + body["_links"]["next"] if "next" in body["_links"] else ""
    assert seen == trashed


# ---- Data Center: single content ---------------------------------------------------------------------------

def test_dc_get_content_statuses_expansions_and_versions(dc: Simulator, dc_http: requests.Session) -> None:
    site = dc.site
    page = max((c for c in site.content.values() if c.type == "page" and c.status == "current" and visible(dc, c)
                and len(c.versions) > 1), key=lambda c: (len(site.ancestors(c)), c.id))
    body = dc_http.get(dc.base_url + f"/rest/api/content/{page.id}").json()
    assert {"space", "history", "version"} <= set(body)
    assert body["version"]["number"] == page.versions[-1].number
    assert body["_links"]["base"] == dc.base_url
    expanded = dc_http.get(dc.base_url + f"/rest/api/content/{page.id}?expand=ancestors,container,metadata.labels,"
                                         "history.lastUpdated,body.storage").json()
    assert [int(a["id"]) for a in expanded["ancestors"]] == [a.id for a in site.ancestors(page)]
    assert expanded["container"]["key"] == site.spaces[page.space_id].key
    assert [label["name"] for label in expanded["metadata"]["labels"]["results"]] == page.labels
    assert expanded["history"]["lastUpdated"]["number"] == page.versions[-1].number
    old = dc_http.get(dc.base_url + f"/rest/api/content/{page.id}?status=historical&version=1&expand=version").json()
    assert old["version"]["number"] == 1 and old["status"] == "historical"
    trashed = next(c for c in site.content.values() if c.type == "page" and c.status == "trashed" and visible(dc, c))
    assert dc_http.get(dc.base_url + f"/rest/api/content/{trashed.id}").status_code == 404
    for status in ("trashed", "any"):
        found = dc_http.get(dc.base_url + f"/rest/api/content/{trashed.id}?status={status}")
        assert found.status_code == 200 and found.json()["status"] == "trashed"
    missing = dc_http.get(dc.base_url + "/rest/api/content/999999999")
    assert missing.status_code == 404 and missing.json()["statusCode"] == 404


def test_dc_reply_comments_expose_their_parent(dc: Simulator, dc_http: requests.Session) -> None:
    reply = next(c for c in sorted(dc.site.content.values(), key=lambda c: c.id)
                 if c.type == "comment" and c.parent_comment_id and c.status == "current" and visible(dc, c))
    body = dc_http.get(dc.base_url + f"/rest/api/content/{reply.id}?expand=ancestors,container,body.storage").json()
    assert body["ancestors"][-1]["id"] == str(reply.parent_comment_id)
    assert body["container"]["id"] == str(reply.parent_id)
    assert 'ri:account-id="' not in body["body"]["storage"]["value"]


def test_dc_restrictions_and_hidden_content(dc: Simulator, dc_http: requests.Session) -> None:
    site = dc.site
    hidden = site.landmarks["hidden_tree_root"][0]
    for path in (f"/rest/api/content/{hidden}", f"/rest/api/content/{hidden}/restriction/byOperation",
                 f"/rest/api/content/{hidden}/child/page"):
        assert dc_http.get(dc.base_url + path).status_code == 404
    restricted = next(c for c in sorted(site.content.values(), key=lambda c: c.id)
                      if c.type == "page" and c.status == "current" and visible(dc, c)
                      and (c.restrictions.read_users or c.restrictions.read_groups))
    by_op = dc_http.get(dc.base_url + f"/rest/api/content/{restricted.id}/restriction/byOperation").json()
    users = by_op["read"]["restrictions"]["user"]["results"]
    groups = by_op["read"]["restrictions"]["group"]["results"]
    assert sorted(u["userKey"] for u in users) == sorted(site.users[a].user_key for a in restricted.restrictions.read_users)
    assert sorted(g["name"] for g in groups) == sorted(site.groups[g].name for g in restricted.restrictions.read_groups)
    child = next((site.content[i] for i in site.child_ids(restricted.id, "page") if visible(dc, site.content[i])
                  and site.content[i].status == "current"), None)
    if child is not None:
        relevant = dc_http.get(dc.base_url + f"/rest/api/content/{child.id}/restriction/relevantViewRestrictions")
        contents = [r["content"]["id"] for r in relevant.json()["viewContentRestrictions"]["results"]]
        assert str(restricted.id) in contents
    expanded = dc_http.get(dc.base_url + f"/rest/api/content/{restricted.id}"
                                         "?expand=restrictions.read.restrictions.user,restrictions.read.restrictions.group").json()
    assert expanded["restrictions"]["read"]["restrictions"]["user"]["size"] == len(users)
    listed = collect(v1_pages(dc_http, dc, "/rest/api/content?type=page&spaceKey=ENG&limit=200"))
    assert str(hidden) not in {c["id"] for c in listed}
    assert dc_http.get(dc.base_url + "/rest/api/space/HR").status_code == 404


def test_dc_timestamps_carry_the_server_offset(dc: Simulator, dc_http: requests.Session) -> None:
    text = dc_http.get(dc.base_url + "/rest/api/content/search?cql=type%3Dpage&expand=version,history&limit=50").text
    stamps = re.findall(r'"(?:when|createdDate)":"([^"]+)"', text)
    assert stamps and all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0[12]:00", s) for s in stamps)
    parsed = datetime.fromisoformat(stamps[0])
    assert parsed.utcoffset() in (timedelta(hours=1), timedelta(hours=2))


def test_dc_user_current_and_downloads(dc: Simulator, dc_http: requests.Session) -> None:
    me = dc_http.get(dc.base_url + "/rest/api/user/current").json()
    assert me["username"] == dc.credentials["username"] and me["timeZone"] == dc.site.default_user.timezone
    host = page_with(dc, "attachment", 1)
    attachment = collect(v1_pages(dc_http, dc, f"/rest/api/content/{host.id}/child/attachment?expand=version"))[0]
    download = dc_http.get(dc.base_url + attachment["_links"]["download"], allow_redirects=False)
    model = dc.site.content[int(attachment["id"])]
    assert download.status_code == 200
    assert download.content == dc.site.blobs[(model.id, model.versions[-1].number)]
    multi = next((a for a in dc.site.content.values() if a.type == "attachment" and len(a.versions) > 1
                  and a.status == "current" and visible(dc, a)), None)
    if multi is not None:
        old = dc_http.get(dc.base_url + f"/download/attachments/{multi.parent_id}/{multi.title}?version=1")
        assert old.status_code == 200 and old.content == dc.site.blobs[(multi.id, 1)]


def test_dc_without_context_path() -> None:
    simulator = Simulator.start(SimulatorConfig(flavour="datacenter", context_path="", prewarm=False))
    try:
        http = session_for(simulator, scheme="pat")
        body = http.get(simulator.base_url + "/rest/api/content/search?cql=type%3Dpage&limit=3").json()
        assert body["_links"]["context"] == "" and body["_links"]["base"] == simulator.origin
        assert http.get(simulator.origin + body["_links"]["next"]).status_code == 200
    finally:
        simulator.stop()


# ---- Cloud v1 -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("limit", [7, 250])
def test_cloud_content_search_pages_with_cursor(cloud: Simulator, cloud_http: requests.Session, limit: int) -> None:
    pages = list(v1_pages(cloud_http, cloud, f"/rest/api/content/search?cql=type%3Dattachment&limit={limit}"))
    ids = [item["id"] for page in pages for item in page["results"]]
    assert ids == searchable(cloud, "attachment")
    for page in pages[:-1]:
        next_link = page["_links"]["next"]
        assert next_link.startswith("/rest/api/content/search?") and "cursor=" in next_link
    assert pages[0]["_links"]["base"] == cloud.origin + "/wiki"


def test_cloud_search_ignores_start_without_cursor(cloud: Simulator, cloud_http: requests.Session) -> None:
    first = cloud_http.get(cloud.origin + "/wiki/rest/api/content/search?cql=type%3Dpage&limit=5").json()
    shifted = cloud_http.get(cloud.origin + "/wiki/rest/api/content/search?cql=type%3Dpage&limit=5&start=10").json()
    assert [r["id"] for r in shifted["results"]] == [r["id"] for r in first["results"]]
    generic = list(v1_pages(cloud_http, cloud, "/rest/api/search?cql=type%3Dpage&limit=100"))
    assert [r["content"]["id"] for p in generic for r in p["results"]] == searchable(cloud, "page")


@pytest.mark.parametrize("path", ["/wiki/rest/api/content", "/wiki/rest/api/content/65537", "/wiki/rest/api/space",
                                  "/wiki/rest/api/space/ENG", "/wiki/rest/api/content/65537/child/attachment",
                                  "/wiki/rest/api/content/65537/child/comment", "/wiki/rest/api/space/ENG/content"])
def test_cloud_removed_v1_endpoints_are_gone(cloud: Simulator, cloud_http: requests.Session, path: str) -> None:
    response = cloud_http.get(cloud.origin + path)
    assert response.status_code == 410
    assert "GoneException" in response.json()["message"]
    assert response.headers["Deprecation"]
    assert 'rel="deprecation"' in response.headers["Link"]


def test_cloud_legacy_v1_can_be_served_with_deprecation_headers() -> None:
    simulator = Simulator.start(SimulatorConfig(flavour="cloud", cloud_v1_removed=False, prewarm=False))
    try:
        response = session_for(simulator).get(simulator.origin + "/wiki/rest/api/content?type=page&limit=3")
        assert response.status_code == 200 and len(response.json()["results"]) == 3
        assert response.headers["Deprecation"] and "Deprecated API" in response.headers["Warning"]
    finally:
        simulator.stop()


def test_cloud_v1_download_redirects_and_restrictions(cloud: Simulator, cloud_http: requests.Session) -> None:
    host = page_with(cloud, "attachment", 1)
    attachment_id = cloud.site.child_ids(host.id, "attachment")[0]
    redirect = cloud_http.get(cloud.origin + f"/wiki/rest/api/content/{host.id}/child/attachment/att{attachment_id}"
                                             "/download", allow_redirects=False)
    assert redirect.status_code == 302
    final = cloud_http.get(redirect.headers["Location"])
    attachment = cloud.site.content[attachment_id]
    assert final.content == cloud.site.blobs[(attachment_id, attachment.versions[-1].number)]
    read = cloud_http.get(cloud.origin + f"/wiki/rest/api/content/{host.id}/restriction/byOperation/read").json()
    assert read["operation"] == "read" and "user" in read["restrictions"]
    me = cloud_http.get(cloud.origin + "/wiki/rest/api/user/current").json()
    assert me["accountId"] == cloud.site.default_user.account_id and me["timeZone"]


def test_user_lookups(dc: Simulator, dc_http: requests.Session, cloud: Simulator, cloud_http: requests.Session
                      ) -> None:
    someone = next(u for u in dc.site.users.values() if u.account_id != dc.site.default_user_id)
    by_key = dc_http.get(dc.base_url + "/rest/api/user", params={"key": someone.user_key}).json()
    by_name = dc_http.get(dc.base_url + "/rest/api/user", params={"username": someone.username}).json()
    assert by_key == by_name and by_key["displayName"] == someone.display_name
    assert dc_http.get(dc.base_url + "/rest/api/user", params={"key": "nope"}).status_code == 404
    assert dc_http.get(dc.base_url + "/rest/api/user").status_code == 400
    cloud_user = cloud_http.get(cloud.origin + "/wiki/rest/api/user", params={"accountId": someone.account_id}).json()
    assert cloud_user["accountId"] == someone.account_id and cloud_user["timeZone"] == someone.timezone
    bulk = cloud_http.get(cloud.origin + "/wiki/rest/api/user/bulk",
                          params=[("accountId", someone.account_id), ("accountId", "missing")]).json()
    assert [u["accountId"] for u in bulk["results"]] == [someone.account_id]
