"""Cloud REST v2 as the simulator serves it: paging to the end, filters, sorting, single GETs, permissions.

Expected results are computed from the simulator's model (`sim.site`), so every test checks the HTTP layer
against the data rather than against numbers copied from a previous run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from confluence_simulator.model import Content
from confluence_simulator.server import Simulator, SimulatorConfig
from confluence_simulator.testing import collect, session_for, v2_pages


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    simulator = Simulator.start(SimulatorConfig(flavour="cloud", preset="small", seed=1))
    yield simulator
    simulator.stop()


@pytest.fixture(scope="module")
def http(sim: Simulator) -> requests.Session:
    return session_for(sim)


def visible(sim: Simulator, item: Content) -> bool:
    return sim.site.can_read(sim.site.default_user, item)


def expected(sim: Simulator, content_type: str, statuses: tuple[str, ...], **where: Any) -> list[str]:
    items = [
        item
        for item in sim.site.content.values()
        if item.type == content_type and item.status in statuses and visible(sim, item)
        and all(getattr(item, name) == value for name, value in where.items())
    ]
    prefix = "att" if content_type == "attachment" else ""
    return [f"{prefix}{item.id}" for item in sorted(items, key=lambda item: item.id)]


def first_page_with(sim: Simulator, child_type: str, minimum: int) -> Content:
    for item in sorted(sim.site.content.values(), key=lambda item: item.id):
        children = [sim.site.content[i] for i in sim.site.child_ids(item.id, child_type)]
        if item.type == "page" and item.status == "current" and visible(sim, item) and len(
                [c for c in children if c.status == "current"]) >= minimum:
            return item
    raise AssertionError(f"no page with {minimum} {child_type} children in the data set")


LIST_CASES = [
    ("/wiki/api/v2/pages", "page", ("current", "archived"), {}),
    ("/wiki/api/v2/pages?status=trashed", "page", ("trashed",), {}),
    ("/wiki/api/v2/pages?status=current", "page", ("current",), {}),
    ("/wiki/api/v2/blogposts", "blogpost", ("current",), {}),
    ("/wiki/api/v2/blogposts?status=trashed", "blogpost", ("trashed",), {}),
    ("/wiki/api/v2/attachments", "attachment", ("current", "archived"), {}),
    ("/wiki/api/v2/footer-comments", "comment", ("current",), {"comment_location": "footer"}),
    ("/wiki/api/v2/inline-comments", "comment", ("current",), {"comment_location": "inline"}),
]


@pytest.mark.parametrize("limit", [7, 250])
@pytest.mark.parametrize("path, content_type, statuses, where", LIST_CASES)
def test_bulk_lists_page_to_the_end_without_duplicates(
    sim: Simulator, http: requests.Session, path: str, content_type: str, statuses: tuple[str, ...],
    where: dict[str, Any], limit: int,
) -> None:
    separator = "&" if "?" in path else "?"
    pages = list(v2_pages(http, sim, f"{path}{separator}limit={limit}"))
    ids = [item["id"] for page in pages for item in page["results"]]
    assert ids == expected(sim, content_type, statuses, **where)
    assert all(len(page["results"]) <= limit for page in pages)
    assert all(len(page["results"]) == limit for page in pages[:-1])


@pytest.mark.parametrize("limit", [7, 250])
def test_space_lists_page_to_the_end(sim: Simulator, http: requests.Session, limit: int) -> None:
    main = sim.site.space_by_key("ENG")
    assert main is not None
    pages = collect(v2_pages(http, sim, f"/wiki/api/v2/spaces/{main.id}/pages?limit={limit}"))
    assert [p["id"] for p in pages] == expected(sim, "page", ("current", "archived"), space_id=main.id)
    blogs = collect(v2_pages(http, sim, f"/wiki/api/v2/spaces/{main.id}/blogposts?limit={limit}"))
    assert [b["id"] for b in blogs] == expected(sim, "blogpost", ("current",), space_id=main.id)
    spaces = collect(v2_pages(http, sim, f"/wiki/api/v2/spaces?limit={limit}"))
    readable = sorted(s.id for s in sim.site.spaces.values() if sim.site.can_read_space(sim.site.default_user, s))
    assert [s["id"] for s in spaces] == [str(space_id) for space_id in readable]
    assert "HR" not in {s["key"] for s in spaces}


def test_space_pages_depth_root(sim: Simulator, http: requests.Session) -> None:
    main = sim.site.space_by_key("ENG")
    assert main is not None
    roots = collect(v2_pages(http, sim, f"/wiki/api/v2/spaces/{main.id}/pages?depth=root&limit=250"))
    assert [p["id"] for p in roots] == expected(sim, "page", ("current", "archived"), space_id=main.id,
                                                parent_id=None)


@pytest.mark.parametrize("limit", [3, 250])
def test_container_lists_page_to_the_end(sim: Simulator, http: requests.Session, limit: int) -> None:
    page = first_page_with(sim, "attachment", 4)
    attachments = collect(v2_pages(http, sim, f"/wiki/api/v2/pages/{page.id}/attachments?limit={limit}"))
    assert [a["id"] for a in attachments] == expected(sim, "attachment", ("current", "archived"), parent_id=page.id)
    commented = first_page_with(sim, "comment", 4)
    for location in ("footer", "inline"):
        found = collect(v2_pages(http, sim, f"/wiki/api/v2/pages/{commented.id}/{location}-comments?limit={limit}"))
        assert [c["id"] for c in found] == expected(sim, "comment", ("current",), parent_id=commented.id,
                                                    comment_location=location, parent_comment_id=None)
    parent = first_page_with(sim, "page", 4)
    children = collect(v2_pages(http, sim, f"/wiki/api/v2/pages/{parent.id}/children?limit={limit}"))
    model_children = [sim.site.content[i] for i in sim.site.child_ids(parent.id, "page")]
    wanted = sorted((c for c in model_children if c.status in ("current", "archived") and visible(sim, c)),
                    key=lambda c: (c.position, c.id))
    assert [c["id"] for c in children] == [str(c.id) for c in wanted]
    assert [c["childPosition"] for c in children] == [c.position for c in wanted]


def test_comment_replies_via_children_endpoint(sim: Simulator, http: requests.Session) -> None:
    reply = next(c for c in sorted(sim.site.content.values(), key=lambda c: c.id)
                 if c.type == "comment" and c.parent_comment_id is not None and c.status == "current"
                 and visible(sim, c))
    parent = sim.site.content[reply.parent_comment_id]  # type: ignore[index]
    location = parent.comment_location
    children = collect(v2_pages(http, sim, f"/wiki/api/v2/{location}-comments/{parent.id}/children?limit=2"))
    assert str(reply.id) in [c["id"] for c in children]
    assert all(c["parentCommentId"] == str(parent.id) for c in children)


@pytest.mark.parametrize("sort", ["-id", "title", "-title", "modified-date", "-modified-date", "created-date"])
def test_sorted_paging_visits_everything_in_order(sim: Simulator, http: requests.Session, sort: str) -> None:
    items = collect(v2_pages(http, sim, f"/wiki/api/v2/pages?sort={sort}&limit=13"))
    assert sorted(i["id"] for i in items) == sorted(expected(sim, "page", ("current", "archived")))
    assert len({i["id"] for i in items}) == len(items)
    field = sort.lstrip("-")
    keys: list[Any]
    if field == "id":
        keys = [int(i["id"]) for i in items]
    elif field == "title":
        keys = [i["title"].casefold() for i in items]
    elif field == "modified-date":
        keys = [i["version"]["createdAt"] for i in items]
    else:
        keys = [i["createdAt"] for i in items]
    assert keys == sorted(keys, reverse=sort.startswith("-"))


def test_next_link_and_link_header_agree(sim: Simulator, http: requests.Session) -> None:
    response = http.get(sim.origin + "/wiki/api/v2/pages?limit=5&body-format=storage")
    body = response.json()
    next_link = body["_links"]["next"]
    assert next_link.startswith("/wiki/api/v2/pages?")
    assert "body-format=storage" in next_link and "limit=5" in next_link
    assert body["_links"]["base"] == sim.origin + "/wiki"
    assert response.headers["Link"] == f'<{next_link}>; rel="next", <{sim.origin}/wiki>; rel="base"'


@pytest.mark.parametrize("query", ["limit=251", "limit=0", "limit=abc", "sort=size", "status=bogus",
                                   "body-format=wiki", "cursor=%%%"])
def test_bad_parameters_answer_400_with_v2_errors(sim: Simulator, http: requests.Session, query: str) -> None:
    response = http.get(sim.origin + f"/wiki/api/v2/pages?{query}")
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["status"] == 400 and error["code"] == "INVALID_REQUEST_PARAMETER"


def test_limit_over_maximum_can_be_clamped() -> None:
    simulator = Simulator.start(SimulatorConfig(flavour="cloud", v2_clamp_limit=True, prewarm=False))
    try:
        response = session_for(simulator).get(simulator.origin + "/wiki/api/v2/pages?limit=1000")
        assert response.status_code == 200
        assert len(response.json()["results"]) == 250
    finally:
        simulator.stop()


def test_bodies_per_format(sim: Simulator, http: requests.Session) -> None:
    page = sim.site.content[sim.site.space_by_key("ENG").homepage_id]  # type: ignore[union-attr]
    plain = http.get(sim.origin + f"/wiki/api/v2/pages?id={page.id}").json()["results"][0]
    assert plain["body"] == {}
    storage = http.get(sim.origin + f"/wiki/api/v2/pages?id={page.id}&body-format=storage").json()["results"][0]
    assert storage["body"]["storage"] == {"representation": "storage", "value": page.body}
    adf = http.get(sim.origin + f"/wiki/api/v2/pages/{page.id}?body-format=atlas_doc_format").json()
    document = json.loads(adf["body"]["atlas_doc_format"]["value"])
    assert document["type"] == "doc" and document["content"]


def test_single_page_statuses_and_versions(sim: Simulator, http: requests.Session) -> None:
    trashed = next(c for c in sim.site.content.values() if c.type == "page" and c.status == "trashed"
                   and visible(sim, c))
    assert http.get(sim.origin + f"/wiki/api/v2/pages/{trashed.id}").status_code == 404
    found = http.get(sim.origin + f"/wiki/api/v2/pages/{trashed.id}?status=trashed")
    assert found.status_code == 200 and found.json()["status"] == "trashed"
    edited = next(c for c in sorted(sim.site.content.values(), key=lambda c: c.id)
                  if c.type == "page" and c.status == "current" and len(c.versions) >= 3 and visible(sim, c))
    current = http.get(sim.origin + f"/wiki/api/v2/pages/{edited.id}?include-versions=true&include-labels=true")
    body = current.json()
    assert body["version"]["number"] == edited.versions[-1].number
    assert [v["number"] for v in body["versions"]["results"]] == [v.number for v in reversed(edited.versions)][:50]
    assert body["_links"]["base"] == sim.origin + "/wiki"
    old = http.get(sim.origin + f"/wiki/api/v2/pages/{edited.id}?version=1").json()
    assert old["version"]["number"] == 1 and old["status"] == "historical"


def test_restricted_and_hidden_content_is_404_and_absent(sim: Simulator, http: requests.Session) -> None:
    hidden_root = sim.site.landmarks["hidden_tree_root"][0]
    descendants = [c for c in sim.site.content.values()
                   if c.type == "page" and hidden_root in [a.id for a in sim.site.ancestors(c)]]
    assert descendants, "the data set should hide a whole tree"
    for page_id in [hidden_root, descendants[0].id]:
        response = http.get(sim.origin + f"/wiki/api/v2/pages/{page_id}")
        assert response.status_code == 404
        assert response.json()["errors"][0]["code"] == "NOT_FOUND"
    listed = {p["id"] for p in collect(v2_pages(http, sim, "/wiki/api/v2/pages?limit=250"))}
    assert str(hidden_root) not in listed and str(descendants[0].id) not in listed
    hr = sim.site.space_by_key("HR")
    assert hr is not None
    assert http.get(sim.origin + f"/wiki/api/v2/spaces/{hr.id}").status_code == 404
    assert http.get(sim.origin + f"/wiki/api/v2/spaces/{hr.id}/pages").status_code == 404
    by_id = http.get(sim.origin + f"/wiki/api/v2/pages?id={hidden_root}").json()
    assert by_id["results"] == []


def test_ancestors_top_down_and_limited(sim: Simulator, http: requests.Session) -> None:
    deep = max((c for c in sim.site.content.values() if c.type == "page" and c.status == "current"
                and visible(sim, c)), key=lambda c: (len(sim.site.ancestors(c)), -c.id))
    chain = [str(a.id) for a in sim.site.ancestors(deep)]
    assert len(chain) >= 2
    body = http.get(sim.origin + f"/wiki/api/v2/pages/{deep.id}/ancestors").json()
    assert [a["id"] for a in body["results"]] == chain
    assert {a["type"] for a in body["results"]} == {"page"}
    nearest = http.get(sim.origin + f"/wiki/api/v2/pages/{deep.id}/ancestors?limit=1").json()
    assert [a["id"] for a in nearest["results"]] == chain[-1:]


def test_labels_and_space_permissions(sim: Simulator, http: requests.Session) -> None:
    labelled = next(c for c in sorted(sim.site.content.values(), key=lambda c: c.id)
                    if c.type == "page" and c.status == "current" and len(c.labels) >= 2 and visible(sim, c))
    labels = collect(v2_pages(http, sim, f"/wiki/api/v2/pages/{labelled.id}/labels?limit=1"))
    assert [label["name"] for label in labels] == labelled.labels
    assert all(label["prefix"] == "global" and label["id"].isdigit() for label in labels)
    main = sim.site.space_by_key("ENG")
    assert main is not None
    permissions = collect(v2_pages(http, sim, f"/wiki/api/v2/spaces/{main.id}/permissions?limit=2"))
    assert len(permissions) == len(main.permissions)
    assert {p["operation"]["key"] for p in permissions} <= {"read", "create", "update", "delete", "administer",
                                                             "export", "restrict_content", "archive"}


def test_folders_sit_in_the_page_tree(sim: Simulator, http: requests.Session) -> None:
    """A page in a nested folder names the folder as parent; both APIs list the folders among its ancestors."""
    outer = sim.mutations.add_folder(space_key="ENG", title="Tree test outer")
    inner = sim.mutations.add_folder(parent_id=outer.id, title="Tree test inner")
    page = sim.mutations.add_page(parent_id=inner.id, title="Tree test page")
    listed = http.get(sim.origin + f"/wiki/api/v2/pages?id={page.id}").json()["results"][0]
    assert (listed["parentId"], listed["parentType"]) == (str(inner.id), "folder")
    folder = http.get(sim.origin + f"/wiki/api/v2/folders/{inner.id}").json()
    assert (folder["title"], folder["parentId"], folder["parentType"]) == ("Tree test inner", str(outer.id), "folder")
    assert http.get(sim.origin + f"/wiki/api/v2/folders/{page.id}").status_code == 404
    chain = http.get(sim.origin + f"/wiki/api/v2/pages/{page.id}/ancestors").json()["results"]
    assert chain == [{"id": str(outer.id), "type": "folder"}, {"id": str(inner.id), "type": "folder"}]
    v1 = http.get(sim.origin + "/wiki/rest/api/content/search",
                  params={"cql": f"id={page.id}", "expand": "ancestors"}).json()["results"][0]
    assert [(a["id"], a["type"], a["title"]) for a in v1["ancestors"]] == [
        (str(outer.id), "folder", "Tree test outer"), (str(inner.id), "folder", "Tree test inner")]


def test_label_listing_and_content_by_label(sim: Simulator, http: requests.Session) -> None:
    """`/labels` pages through every label the caller can see; `/labels/{id}/<kind>` lists what carries one."""
    listed = collect(v2_pages(http, sim, "/wiki/api/v2/labels?limit=3"))
    names = {label["name"] for label in listed}
    labelled_pages = [c for c in sim.site.content.values()
                      if c.type == "page" and c.status in ("current", "archived") and c.labels and visible(sim, c)]
    assert {name for page in labelled_pages for name in page.labels} <= names
    assert len(names) == len(listed), "each label is listed once"
    label = next(entry for entry in listed if entry["name"] == labelled_pages[0].labels[0])
    ids = [p["id"] for p in collect(v2_pages(http, sim, f"/wiki/api/v2/labels/{label['id']}/pages?limit=7"))]
    assert ids == [str(c.id) for c in sorted(labelled_pages, key=lambda c: c.id) if label["name"] in c.labels]
    space_id = labelled_pages[0].space_id
    in_space = collect(v2_pages(http, sim, f"/wiki/api/v2/labels/{label['id']}/pages?space-id={space_id}"))
    assert in_space and {p["spaceId"] for p in in_space} == {str(space_id)}
    by_id = http.get(sim.origin + f"/wiki/api/v2/labels?label-id={label['id']}").json()["results"]
    assert by_id == [label]
    assert http.get(sim.origin + "/wiki/api/v2/labels/99/pages").status_code == 404

    # a new label shows up at once, with the attachment that carries it (and nothing else)
    attachment = next(c for c in sorted(sim.site.content.values(), key=lambda c: c.id)
                      if c.type == "attachment" and c.status == "current" and visible(sim, c))
    sim.mutations.add_labels(content_id=attachment.id, labels=["team:label-listing-test"])
    team = http.get(sim.origin + "/wiki/api/v2/labels?prefix=team").json()["results"]
    assert [(entry["name"], entry["prefix"]) for entry in team] == [("label-listing-test", "team")]
    files = http.get(sim.origin + f"/wiki/api/v2/labels/{team[0]['id']}/attachments").json()["results"]
    assert [entry["id"] for entry in files] == [f"att{attachment.id}"]
    assert http.get(sim.origin + f"/wiki/api/v2/labels/{team[0]['id']}/pages").json()["results"] == []

    # a label carried only by content the caller cannot read is not listed
    hidden_root = sim.site.landmarks["hidden_tree_root"][0]
    sim.mutations.add_labels(content_id=hidden_root, labels=["hidden-only-label"])
    assert "hidden-only-label" not in {entry["name"] for entry in
                                       collect(v2_pages(http, sim, "/wiki/api/v2/labels?limit=250"))}


def test_timestamps_are_utc_with_z(sim: Simulator, http: requests.Session) -> None:
    text = http.get(sim.origin + "/wiki/api/v2/pages?limit=50").text
    stamps = re.findall(r'"createdAt":"([^"]+)"', text)
    assert stamps and all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", s) for s in stamps)


def test_attachment_download_endpoint_redirects_to_media(sim: Simulator, http: requests.Session) -> None:
    page = first_page_with(sim, "attachment", 1)
    attachment = collect(v2_pages(http, sim, f"/wiki/api/v2/pages/{page.id}/attachments"))[0]
    servlet = http.get(sim.origin + "/wiki" + attachment["downloadLink"], allow_redirects=False)
    assert servlet.status_code == 401  # the browser link: Cloud refuses API tokens there
    url = sim.origin + f"/wiki/rest/api/content/{page.id}/child/attachment/{attachment['id']}/download"
    redirect = http.get(url, allow_redirects=False)
    assert redirect.status_code == 302
    location = redirect.headers["Location"]
    assert "/media/file/" in location
    media = requests.get(location)  # the media URL needs no credentials
    model = sim.site.content[int(attachment["id"][3:])]
    assert media.status_code == 200
    assert media.content == sim.site.blobs[(model.id, model.versions[-1].number)]
    assert media.headers["Content-Type"] == model.media_type
    single = http.get(sim.origin + f"/wiki/api/v2/attachments/{attachment['id']}").json()
    assert single["fileSize"] == len(media.content)
    assert requests.get(sim.origin + "/media/file/1.1.forged/binary").status_code == 404
