"""Every endpoint the simulator serves answers in the shape Atlassian's OpenAPI documents describe.

One sample request per endpoint (with expansions that exercise most nested objects) is validated with jsonschema
against the response schema of the matching operation in /work/shared/specs (Cloud v2, Cloud v1, DC 10.0.3).
OpenAPI 3.0 is not JSON Schema, so the specs are converted: `nullable: true` becomes "or null", and `$ref`s resolve
against the whole document. A final check fails when an endpoint is added to the simulator without a sample here.

Spec glitches worked around (each verified against Atlassian's documentation or real responses):
  * Cloud v2 `parentId`/`parentType` are declared non-nullable, but Atlassian documents `parentId` as "null if
    there is no parent page" (for folders: "or null if there is no parent content") and sends null for top-level
    pages: both are made nullable, on pages and folders.
  * DC `GET /content/{id}/child/attachment` declares its 200 answer as 201: the 201 schema is used.
  * DC `GET /space/{spaceKey}/content` declares one page of content, but Confluence answers a map of content type
    to page (`{"page": {...}, "blogpost": {...}}`): each entry is validated against the per-type page schema.
  * DC `GET /content/{id}/restriction/relevantViewRestrictions` declares `MockRestrictionsResponse` (a placeholder
    left in the generated spec): the body is validated against the spec's `RelevantViewRestrictions` model.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
from referencing import Registry
from referencing.jsonschema import DRAFT7

from confluence_simulator.model import Content
from confluence_simulator.server import Simulator, SimulatorConfig
from confluence_simulator.testing import session_for

SPECS = Path("/work/shared/specs")
CLOUD_V2 = "confluence-cloud-v2.openapi.json"
CLOUD_V1 = "confluence-cloud-v1.openapi.json"
DC = "confluence-dc-10.0.3.openapi.json"
NULLABLE_PATCHES = {CLOUD_V2: {"PageBulk": ("parentId", "parentType"), "PageSingle": ("parentId", "parentType"),
                               "FolderSingle": ("parentId", "parentType")}}
# endpoints that return no JSON document (redirects, bytes) or are not Confluence APIs (the site's edge tells its
# cloud id; no OpenAPI spec describes it: its shape is checked in test_server_auth)
NOT_JSON = {"download", "media", "admin", "v1.attachment.download", "edge.tenant_info"}
POST_ENDPOINTS = {"v2.users.bulk"}  # checked by their own test below
# The OAuth 2.0 token endpoint answers in RFC 6749's format, which no Confluence spec describes (test_server_auth)
TOKEN_ENDPOINTS = {"oauth.token"}


def _to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema: `nullable: true` becomes `anyOf [schema, null]`, recursively."""
    if isinstance(node, list):
        return [_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _to_json_schema(value) for key, value in node.items()}
    if converted.pop("nullable", False) is True:
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@lru_cache(maxsize=None)
def spec(name: str) -> dict[str, Any]:
    document = json.loads((SPECS / name).read_text())
    schemas = document["components"]["schemas"]
    for schema_name, properties in NULLABLE_PATCHES.get(name, {}).items():
        for prop in properties:
            schema = schemas[schema_name]["properties"][prop]
            schemas[schema_name]["properties"][prop] = {**copy.deepcopy(schema), "nullable": True}
    converted: dict[str, Any] = _to_json_schema(document)
    return converted


def _pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def validate(body: Any, spec_name: str, path: str | None = None, status: str = "200",
             component: str | None = None, method: str = "get") -> None:
    document = spec(spec_name)
    uri = f"urn:spec:{spec_name}"
    registry: Registry = Registry().with_resource(uri, DRAFT7.create_resource(document))
    if component is not None:
        pointer = _pointer("components", "schemas", component)
    else:
        assert path is not None
        responses = document["paths"][path][method]["responses"]
        assert status in responses, f"{spec_name} {path}: no {status} response"
        pointer = _pointer("paths", path, method, "responses", status, "content", "application/json", "schema")
    validator = jsonschema.Draft7Validator({"$ref": f"{uri}#/{pointer}"}, registry=registry)
    errors = sorted(validator.iter_errors(body), key=lambda error: list(error.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors[:5])


# ---- fixtures --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cloud() -> Iterator[Simulator]:
    simulator = Simulator.start(SimulatorConfig(flavour="cloud", prewarm=False))
    SAMPLES[id(simulator)] = _samples(simulator)
    yield simulator
    simulator.stop()


@pytest.fixture(scope="module")
def dc() -> Iterator[Simulator]:
    simulator = Simulator.start(SimulatorConfig(flavour="datacenter", prewarm=False))
    SAMPLES[id(simulator)] = _samples(simulator)
    yield simulator
    simulator.stop()


SAMPLES: dict[int, dict[str, Content]] = {}


def _first(sim: Simulator, predicate: Any) -> Content:
    site = sim.site
    user = site.default_user
    for item in sorted(site.content.values(), key=lambda c: c.id):
        if site.can_read(user, item) and predicate(item):
            return item
    raise AssertionError("no matching content in the data set")


def _samples(sim: Simulator) -> dict[str, Any]:
    """One item per role; a blog post gets an attachment, labels and a comment thread so no sample is empty."""
    site = sim.site
    with_children = _first(sim, lambda c: c.type == "page" and c.status == "current"
                           and len(site.child_ids(c.id, "page")) >= 2)
    with_attachments = _first(sim, lambda c: c.type == "page" and c.status == "current"
                              and len(site.child_ids(c.id, "attachment")) >= 2)
    with_comments = _first(sim, lambda c: c.type == "page" and c.status == "current"
                           and any(site.content[i].comment_location == "inline" for i in site.child_ids(c.id, "comment"))
                           and any(site.content[i].comment_location == "footer" for i in site.child_ids(c.id, "comment")))
    blog = _first(sim, lambda c: c.type == "blogpost" and c.status == "current")
    mutations = sim.mutations
    sample_file = mutations.add_attachment(container_id=blog.id, file_name="conformance.txt", data=b"sample")
    mutations.add_labels(content_id=sample_file.id, labels=["conformance"])
    mutations.add_labels(content_id=blog.id, labels=["conformance"])
    inline = mutations.add_comment(container_id=blog.id, body="<p>inline</p>", location="inline",
                                   selection="sample")
    mutations.add_comment(container_id=blog.id, body="<p>reply</p>", parent_comment_id=inline.id)
    mutations.add_comment(container_id=blog.id, body="<p>footer</p>")
    deep = max((c for c in site.content.values() if c.type == "page" and c.status == "current"
                and site.can_read(site.default_user, c)), key=lambda c: (len(site.ancestors(c)), -c.id))
    labelled = _first(sim, lambda c: c.type == "page" and c.status == "current" and len(c.labels) >= 1)
    restricted = _first(sim, lambda c: c.type == "page" and c.status == "current"
                        and bool(c.restrictions.read_users or c.restrictions.read_groups)
                        and len(site.child_ids(c.id, "page")) >= 1)
    folder = mutations.add_folder(space_key="ENG", title="Conformance folder") if sim.config.flavour == "cloud" else None
    footer = _first(sim, lambda c: c.type == "comment" and c.comment_location == "footer" and c.status == "current"
                    and any(site.content[i].parent_comment_id == c.id for i in site.child_ids(c.parent_id, "comment")))
    return {"children": with_children, "attachments": with_attachments, "comments": with_comments, "blog": blog,
            "deep": deep, "labelled": labelled, "folder": folder, "restricted": restricted, "footer": footer, "inline": inline,
            "attachment": sample_file, "space": site.space_by_key("ENG"), "labelled_space": labelled.space_id,
            "page_label": sim.state.fmt.label_id(labelled.labels[0]), "file_label": sim.state.fmt.label_id("conformance"),
            "author": _user_ref(sim, deep.author_id), "editor": _user_ref(sim, deep.versions[-1].author_id)}


def _user_ref(sim: Simulator, account_id: str) -> str:
    """How each flavour names a user in lookups: accountId on Cloud, userKey on Data Center."""
    return account_id if sim.config.flavour == "cloud" else sim.site.users[account_id].user_key


# endpoint name -> (request path template, spec path)
V2_CASES: dict[str, tuple[str, str]] = {
    "v2.spaces.list": ("/spaces?limit=5&description-format=plain&include-icon=true", "/spaces"),
    "v2.spaces.get": ("/spaces/{space}?include-labels=true&include-permissions=true&include-operations=true"
                      "&description-format=view", "/spaces/{id}"),
    "v2.spaces.pages": ("/spaces/{space}/pages?limit=5&body-format=storage", "/spaces/{id}/pages"),
    "v2.spaces.blogposts": ("/spaces/{space}/blogposts?limit=5&body-format=atlas_doc_format",
                            "/spaces/{id}/blogposts"),
    "v2.spaces.permissions": ("/spaces/{space}/permissions?limit=10", "/spaces/{id}/permissions"),
    "v2.pages.list": ("/pages?limit=25&body-format=storage", "/pages"),
    "v2.pages.get": ("/pages/{deep}?body-format=storage&include-labels=true&include-versions=true"
                     "&include-operations=true&include-properties=true&include-likes=true", "/pages/{id}"),
    "v2.pages.attachments": ("/pages/{attachments}/attachments", "/pages/{id}/attachments"),
    "v2.pages.footer_comments": ("/pages/{comments}/footer-comments?body-format=storage",
                                 "/pages/{id}/footer-comments"),
    "v2.pages.inline_comments": ("/pages/{comments}/inline-comments?body-format=storage",
                                 "/pages/{id}/inline-comments"),
    "v2.pages.labels": ("/pages/{labelled}/labels", "/pages/{id}/labels"),
    "v2.pages.ancestors": ("/pages/{deep}/ancestors", "/pages/{id}/ancestors"),
    "v2.pages.children": ("/pages/{children}/children", "/pages/{id}/children"),
    "v2.blogposts.list": ("/blogposts?limit=10&body-format=storage", "/blogposts"),
    "v2.blogposts.get": ("/blogposts/{blog}?body-format=storage&include-labels=true", "/blogposts/{id}"),
    "v2.blogposts.attachments": ("/blogposts/{blog}/attachments", "/blogposts/{id}/attachments"),
    "v2.blogposts.footer_comments": ("/blogposts/{blog}/footer-comments?body-format=storage",
                                     "/blogposts/{id}/footer-comments"),
    "v2.blogposts.inline_comments": ("/blogposts/{blog}/inline-comments",
                                     "/blogposts/{id}/inline-comments"),
    "v2.blogposts.labels": ("/blogposts/{blog}/labels", "/blogposts/{id}/labels"),
    "v2.folders.get": ("/folders/{folder}", "/folders/{id}"),
    "v2.attachments.list": ("/attachments?limit=20", "/attachments"),
    "v2.attachments.get": ("/attachments/att{attachment}?include-labels=true&include-versions=true",
                           "/attachments/{id}"),
    "v2.attachments.labels": ("/attachments/att{attachment}/labels", "/attachments/{id}/labels"),
    "v2.labels.list": ("/labels?limit=10&prefix=global", "/labels"),
    "v2.labels.pages": ("/labels/{page_label}/pages?limit=5&body-format=storage&space-id={labelled_space}",
                        "/labels/{id}/pages"),
    "v2.labels.blogposts": ("/labels/{file_label}/blogposts?body-format=storage", "/labels/{id}/blogposts"),
    "v2.labels.attachments": ("/labels/{file_label}/attachments", "/labels/{id}/attachments"),
    "v2.footer_comments.list": ("/footer-comments?limit=20&body-format=storage", "/footer-comments"),
    "v2.footer_comments.get": ("/footer-comments/{footer}?body-format=storage&version=1",
                               "/footer-comments/{comment-id}"),
    "v2.footer_comments.children": ("/footer-comments/{footer}/children?body-format=storage",
                                    "/footer-comments/{id}/children"),
    "v2.inline_comments.list": ("/inline-comments?limit=20&body-format=storage", "/inline-comments"),
    "v2.inline_comments.get": ("/inline-comments/{inline}", "/inline-comments/{comment-id}"),
    "v2.inline_comments.children": ("/inline-comments/{inline}/children", "/inline-comments/{id}/children"),
}

RICH_EXPAND = ("body.storage,version,space,history,history.lastUpdated,metadata.labels,ancestors,container,"
               "children.attachment,children.comment,restrictions.read.restrictions.user,"
               "restrictions.read.restrictions.group,extensions.inlineProperties")
CLOUD_V1_CASES: dict[str, tuple[str, str]] = {
    "v1.content.search": (f"/content/search?cql=type%3Dpage&limit=10&expand={RICH_EXPAND}",
                          "/wiki/rest/api/content/search"),
    "v1.search": ("/search?cql=type%20in%20(page,comment,attachment)&limit=30&expand=content.version,content.space",
                  "/wiki/rest/api/search"),
    "v1.search.spaces": ("/search?cql=type%20%3D%20space&includeArchivedSpaces=true&expand=space.description.plain",
                         "/wiki/rest/api/search"),
    "v1.content.restrictions": ("/content/{restricted}/restriction/byOperation",
                                "/wiki/rest/api/content/{id}/restriction/byOperation"),
    "v1.content.restrictions.operation": ("/content/{restricted}/restriction/byOperation/read",
                                          "/wiki/rest/api/content/{id}/restriction/byOperation/{operationKey}"),
    "v1.user.current": ("/user/current", "/wiki/rest/api/user/current"),
    "v1.user.get": ("/user?accountId={author}", "/wiki/rest/api/user"),
    "v1.user.bulk": ("/user/bulk?accountId={author}&accountId={editor}", "/wiki/rest/api/user/bulk"),
}

DC_CASES: dict[str, tuple[str, str]] = {
    "v1.content.search": (f"/content/search?cql=type%3Dpage&limit=10&expand={RICH_EXPAND}", "/rest/api/content/search"),
    "v1.search": ("/search?cql=type%20in%20(page,comment,attachment)&limit=30&expand=content.version",
                  "/rest/api/search"),
    "v1.search.spaces": ("/search?cql=type%20%3D%20space&includeArchivedSpaces=true&expand=space.description.plain",
                         "/rest/api/search"),
    "v1.content.restrictions": ("/content/{restricted}/restriction/byOperation",
                                "/rest/api/content/{id}/restriction/byOperation"),
    "v1.content.restrictions.operation": ("/content/{restricted}/restriction/byOperation/read",
                                          "/rest/api/content/{id}/restriction/byOperation/{operationKey}"),
    "v1.user.current": ("/user/current", "/rest/api/user/current"),
    "v1.user.get": ("/user?key={author}", "/rest/api/user"),
    "v1.content.scan": ("/content/scan?limit=10&expand=version,space,body.storage", "/rest/api/content/scan"),
    "v1.space.trash": ("/space/ENG/trash?limit=10", "/rest/api/space/{spaceKey}/trash"),
    "v1.space.permissions": ("/space/ENG/permissions", "/rest/api/space/{spaceKey}/permissions"),
    "v1.space.list": ("/space?limit=10&expand=description.plain,homepage,metadata.labels", "/rest/api/space"),
    "v1.space.get": ("/space/ENG?expand=description.plain,homepage,icon", "/rest/api/space/{spaceKey}"),
    "v1.space.content_type": ("/space/ENG/content/page?limit=5&expand=version,ancestors",
                              "/rest/api/space/{spaceKey}/content/{type}"),
    "v1.content.list": ("/content?type=page&spaceKey=ENG&limit=10&expand=body.storage,version,space",
                        "/rest/api/content"),
    "v1.content.get": ("/content/{deep}?expand=ancestors,body.storage,version,space,history,container,"
                       "metadata.labels,children.page,restrictions.read.restrictions.user", "/rest/api/content/{id}"),
    "v1.content.child": ("/content/{children}/child?expand=page,attachment,comment", "/rest/api/content/{id}/child"),
    "v1.content.child.page": ("/content/{children}/child/page?expand=version", "/rest/api/content/{id}/child/{type}"),
    "v1.content.child.comment": ("/content/{comments}/child/comment?depth=all&expand=body.storage,"
                                 "extensions.inlineProperties,extensions.resolution",
                                 "/rest/api/content/{id}/child/comment"),
    "v1.content.labels": ("/content/{labelled}/label", "/rest/api/content/{id}/label"),
    "v1.content.history": ("/content/{deep}/history?expand=lastUpdated,contributors", "/rest/api/content/{id}/history"),
}


def _get(http: requests.Session, url: str) -> Any:
    response = http.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code} {response.text[:300]}"
    return response.json()


def _fill(template: str, samples: dict[str, Any]) -> str:
    return template.format(**{name: getattr(value, "id", value) for name, value in samples.items()})


@pytest.mark.parametrize("endpoint", sorted(V2_CASES))
def test_cloud_v2_endpoint_matches_spec(cloud: Simulator, endpoint: str) -> None:
    template, spec_path = V2_CASES[endpoint]
    body = _get(session_for(cloud), cloud.origin + "/wiki/api/v2" + _fill(template, SAMPLES[id(cloud)]))
    if "results" in body:
        assert body["results"], f"{endpoint}: the sample should not be empty"
    validate(body, CLOUD_V2, spec_path)


@pytest.mark.parametrize("endpoint", sorted(CLOUD_V1_CASES))
def test_cloud_v1_endpoint_matches_spec(cloud: Simulator, endpoint: str) -> None:
    template, spec_path = CLOUD_V1_CASES[endpoint]
    body = _get(session_for(cloud), cloud.origin + "/wiki/rest/api" + _fill(template, SAMPLES[id(cloud)]))
    validate(body, CLOUD_V1, spec_path)


@pytest.mark.parametrize("endpoint", sorted(DC_CASES))
def test_dc_endpoint_matches_spec(dc: Simulator, endpoint: str) -> None:
    template, spec_path = DC_CASES[endpoint]
    body = _get(session_for(dc), dc.base_url + "/rest/api" + _fill(template, SAMPLES[id(dc)]))
    validate(body, DC, spec_path)


def test_cloud_v2_users_bulk_matches_spec(cloud: Simulator) -> None:
    wanted = [SAMPLES[id(cloud)]["author"], SAMPLES[id(cloud)]["editor"], "557058:unknown"]
    response = session_for(cloud).post(cloud.origin + "/wiki/api/v2/users-bulk", json={"accountIds": wanted})
    assert response.status_code == 200
    body = response.json()
    assert [user["accountId"] for user in body["results"]] == list(dict.fromkeys(wanted[:2]))
    validate(body, CLOUD_V2, "/users-bulk", method="post")
    assert session_for(cloud).post(cloud.origin + "/wiki/api/v2/users-bulk", json={"accountIds": []}).status_code == 400


def test_dc_glitched_endpoints_match_the_intended_schemas(dc: Simulator) -> None:
    http = session_for(dc)
    samples = SAMPLES[id(dc)]
    attachments = _get(http, dc.base_url + f"/rest/api/content/{samples['attachments'].id}/child/attachment"
                                           "?expand=version,container")
    assert attachments["results"]
    validate(attachments, DC, "/rest/api/content/{id}/child/attachment", status="201")
    by_type = _get(http, dc.base_url + "/rest/api/space/ENG/content?limit=5&expand=version")
    for content_type in ("page", "blogpost"):
        validate(by_type[content_type], DC, "/rest/api/space/{spaceKey}/content/{type}")
    child = next(i for i in dc.site.child_ids(samples["restricted"].id, "page"))
    relevant = _get(http, dc.base_url + f"/rest/api/content/{child}/restriction/relevantViewRestrictions")
    assert relevant["viewContentRestrictions"]["results"]
    validate(relevant, DC, component="RelevantViewRestrictions")


def test_every_json_endpoint_has_a_conformance_sample(cloud: Simulator, dc: Simulator) -> None:
    cloud_names = set(cloud.endpoint_names()) - NOT_JSON - TOKEN_ENDPOINTS
    legacy = {name for name in cloud_names if name in DC_CASES and name not in CLOUD_V1_CASES}
    legacy |= {"v1.space.content", "v1.content.child.attachment"}  # 410 on Cloud, checked on DC
    assert cloud_names - legacy - POST_ENDPOINTS <= set(V2_CASES) | set(CLOUD_V1_CASES)
    covered = set(DC_CASES) | {"v1.content.child.attachment", "v1.space.content",
                               "v1.content.relevant_view_restrictions"}
    assert set(dc.endpoint_names()) - NOT_JSON - TOKEN_ENDPOINTS <= covered


@pytest.mark.parametrize("body, spec_name, path", [
    ({"results": [{"id": 65537, "status": "current"}]}, CLOUD_V2, "/pages"),  # id must be a string
    ({"results": [{"id": "1", "status": "deleted-ish"}]}, CLOUD_V2, "/pages"),  # not a status
    ({"results": [{"id": "1", "type": "page"}], "size": 1, "_links": {}}, CLOUD_V1, "/wiki/rest/api/content/search"),
    ({"results": [], "start": "0"}, DC, "/rest/api/content/search"),  # start is a number
])
def test_the_validator_rejects_wrong_shapes(body: Any, spec_name: str, path: str) -> None:
    with pytest.raises(AssertionError):
        validate(body, spec_name, path)
