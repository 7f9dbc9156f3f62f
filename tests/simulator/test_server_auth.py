"""Authentication and authorization: which credentials each flavour accepts, the 401 bodies, and 404 for content
a user may not read (Confluence does not tell 'forbidden' from 'missing')."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from confluence_simulator.generator import GROUP_FINANCE
from confluence_simulator.model import User
from confluence_simulator.server import Simulator, SimulatorConfig
from confluence_simulator.testing import collect, session_for, v2_pages


@pytest.fixture(scope="module")
def cloud() -> Iterator[Simulator]:
    simulator = Simulator.start(SimulatorConfig(flavour="cloud", prewarm=False))
    yield simulator
    simulator.stop()


@pytest.fixture(scope="module")
def dc() -> Iterator[Simulator]:
    simulator = Simulator.start(SimulatorConfig(flavour="datacenter", prewarm=False))
    yield simulator
    simulator.stop()


def finance_user(sim: Simulator) -> User:
    finance = next(g.id for g in sim.site.groups.values() if g.name == GROUP_FINANCE)
    return next(u for u in sim.site.users.values() if finance in u.groups)


@pytest.mark.parametrize("auth, headers", [
    (None, {}),
    (("sync.bot@example.com", "wrong-token"), {}),
    (("sync.bot", "Simulator-Passw0rd"), {}),  # Cloud refuses passwords
    (None, {"Authorization": "Bearer whatever"}),  # Bearer only works on the api.atlassian.com gateway
    (None, {"Authorization": "Basic !!notbase64"}),
])
def test_cloud_bad_credentials_get_401(cloud: Simulator, auth: tuple[str, str] | None, headers: dict[str, str]
                                       ) -> None:
    v2 = requests.get(cloud.origin + "/wiki/api/v2/pages", auth=auth, headers=headers)
    assert v2.status_code == 401
    assert v2.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert v2.headers["WWW-Authenticate"].startswith("Basic")
    v1 = requests.get(cloud.origin + "/wiki/rest/api/content/search?cql=type=page", auth=auth, headers=headers)
    assert v1.status_code == 401 and v1.json()["statusCode"] == 401
    download = requests.get(cloud.origin + "/wiki/download/attachments/1/x.txt", auth=auth, headers=headers)
    assert download.status_code == 401


def test_cloud_good_credentials(cloud: Simulator) -> None:
    credentials = cloud.credentials
    ok = requests.get(cloud.origin + "/wiki/api/v2/spaces", auth=(credentials["email"], credentials["api_token"]))
    assert ok.status_code == 200
    upper = requests.get(cloud.origin + "/wiki/api/v2/spaces",
                         auth=(credentials["email"].upper(), credentials["api_token"]))
    assert upper.status_code == 200  # e-mail addresses are case-insensitive


def test_cloud_download_servlet_refuses_api_tokens(cloud: Simulator) -> None:
    """Cloud's `/download/attachments/` (the link in `_links.download`) answers an API token with 401 and an OAuth
    challenge; the v1 REST download endpoint redirects the same credentials to the media service."""
    http = session_for(cloud)
    attachment = next(item for item in cloud.site.content.values()
                      if item.type == "attachment" and item.status == "current" and item.parent_id is not None)
    servlet = http.get(cloud.origin + f"/wiki/download/attachments/{attachment.parent_id}/{attachment.title}",
                       allow_redirects=False)
    assert servlet.status_code == 401
    assert servlet.headers["WWW-Authenticate"].startswith("OAuth realm=")
    rest = http.get(cloud.origin + f"/wiki/rest/api/content/{attachment.parent_id}/child/attachment/att{attachment.id}"
                    "/download", allow_redirects=False)
    assert rest.status_code == 302 and "/media/file/" in rest.headers["Location"]


@pytest.mark.parametrize("auth, headers", [
    (None, {}),
    (("sync.bot", "wrong"), {}),
    (("nobody", "Simulator-Passw0rd"), {}),
    (None, {"Authorization": "Bearer not-a-token"}),
])
def test_dc_bad_credentials_get_401(dc: Simulator, auth: tuple[str, str] | None, headers: dict[str, str]) -> None:
    response = requests.get(dc.base_url + "/rest/api/space", auth=auth, headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert body["statusCode"] == 401 and body["reason"] == "Unauthorized"
    assert response.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"


def test_dc_password_and_personal_access_token(dc: Simulator) -> None:
    for scheme in ("basic", "pat"):
        me = session_for(dc, scheme).get(dc.base_url + "/rest/api/user/current")
        assert me.status_code == 200 and me.json()["username"] == dc.credentials["username"]
    pat_as_password = requests.get(dc.base_url + "/rest/api/user/current",
                                   auth=(dc.credentials["username"], dc.credentials["pat"]))
    assert pat_as_password.status_code == 401


def test_what_a_user_sees_depends_on_who_asks(cloud: Simulator) -> None:
    hidden_root = cloud.site.landmarks["hidden_tree_root"][0]
    default = session_for(cloud)
    assert default.get(cloud.origin + f"/wiki/api/v2/pages/{hidden_root}").status_code == 404
    insider = finance_user(cloud)
    session = requests.Session()
    session.auth = (insider.email, insider.api_token)
    assert session.get(cloud.origin + f"/wiki/api/v2/pages/{hidden_root}").status_code == 200
    insider_pages = {p["id"] for p in collect(v2_pages(session, cloud, "/wiki/api/v2/pages?limit=250"))}
    default_pages = {p["id"] for p in collect(v2_pages(default, cloud, "/wiki/api/v2/pages?limit=250"))}
    assert str(hidden_root) in insider_pages - default_pages
    search = default.get(cloud.origin + f"/wiki/rest/api/content/search?cql=id%3D{hidden_root}").json()
    assert search["results"] == []


def test_restricted_attachment_download_is_404(dc: Simulator) -> None:
    site = dc.site
    hidden_root = site.landmarks["hidden_tree_root"][0]
    hidden_pages = {hidden_root} | {c.id for c in site.content.values()
                                    if c.type == "page" and hidden_root in {a.id for a in site.ancestors(c)}}
    attachment = next((c for c in site.content.values() if c.type == "attachment" and c.parent_id in hidden_pages),
                      None)
    if attachment is None:
        pytest.skip("no attachment under the hidden tree in this data set")
    response = session_for(dc).get(dc.base_url + f"/download/attachments/{attachment.parent_id}/{attachment.title}")
    assert response.status_code == 404


def test_anonymous_access_sees_only_anonymous_spaces() -> None:
    simulator = Simulator.start(SimulatorConfig(flavour="datacenter", allow_anonymous=True, prewarm=False))
    try:
        spaces = requests.get(simulator.base_url + "/rest/api/space?limit=50").json()["results"]
        anonymous = sorted(s.key for s in simulator.site.spaces.values()
                           if any(p.principal_type == "anonymous" for p in s.permissions))
        assert sorted(s["key"] for s in spaces) == anonymous
        me = requests.get(simulator.base_url + "/rest/api/user/current").json()
        assert me["type"] == "anonymous"
        assert requests.get(simulator.base_url + "/rest/api/space", auth=("sync.bot", "bad")).status_code == 401
    finally:
        simulator.stop()


def test_admin_endpoints_need_no_confluence_credentials_but_honour_the_admin_token() -> None:
    simulator = Simulator.start(SimulatorConfig(flavour="cloud", admin_token="s3cret", prewarm=False))
    try:
        assert requests.get(simulator.origin + "/__admin/stats").status_code == 401
        ok = requests.get(simulator.origin + "/__admin/stats", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200 and "endpoints" in ok.json()
    finally:
        simulator.stop()


def test_cloud_gateway_routes_take_scoped_tokens_and_answer_like_the_site(cloud: Simulator) -> None:
    """`/ex/confluence/{cloudId}/wiki/...` serves the site's API (the `/wiki` may be left out); a scoped API token works
    there only; the cloud id comes from `/_edge/tenant_info` without credentials; links name the site."""
    credentials = cloud.credentials
    scoped = (credentials["email"], credentials["scoped_api_token"])
    cloud_id = requests.get(cloud.origin + "/_edge/tenant_info").json()["cloudId"]
    gateway = f"{cloud.gateway_origin()}/ex/confluence/{cloud_id}"
    assert requests.get(cloud.origin + "/wiki/api/v2/spaces", auth=scoped).status_code == 401
    listed = requests.get(gateway + "/wiki/api/v2/spaces?limit=1", auth=scoped)
    assert listed.status_code == 200
    assert listed.json()["_links"]["next"].startswith("/wiki/api/v2/spaces?")  # relative to the gateway's prefix
    assert listed.json()["_links"]["base"] == cloud.origin + "/wiki"
    assert requests.get(gateway + "/api/v2/spaces?limit=1", auth=scoped).status_code == 200
    classic = requests.get(gateway + "/wiki/rest/api/content/search?cql=type=page&limit=1",
                           auth=(credentials["email"], credentials["api_token"]))
    assert classic.status_code == 200 and classic.json()["_links"]["next"].startswith("/rest/api/content/search?")
    assert requests.get(f"{cloud.gateway_origin()}/ex/confluence/not-this-site/wiki/api/v2/spaces",
                        auth=scoped).status_code == 404
    assert requests.get(gateway + "/__admin/info", auth=scoped).status_code == 404


def test_cloud_download_endpoint_serves_archived_files_only_when_asked(cloud: Simulator) -> None:
    """Without `status` the v1 download endpoint serves current files only, as its specification says."""
    http = session_for(cloud)
    attachment = next(item for item in cloud.site.content.values()
                      if item.type == "attachment" and item.status == "current" and item.parent_id is not None)
    url = cloud.origin + f"/wiki/rest/api/content/{attachment.parent_id}/child/attachment/att{attachment.id}/download"
    with cloud.site.lock:
        attachment.status = "archived"
    cloud.notify_changed()
    try:
        assert http.get(url, allow_redirects=False).status_code == 404
        assert http.get(url + "?status=archived", allow_redirects=False).status_code == 302
        assert http.get(url + "?status=current&status=archived", allow_redirects=False).status_code == 302
    finally:
        with cloud.site.lock:
            attachment.status = "current"
        cloud.notify_changed()


def test_oauth_client_credentials_give_short_lived_bearer_tokens() -> None:
    """Both token endpoints take the client credentials in the form body or as HTTP Basic (Cloud also as JSON) and
    answer RFC 6749 errors; Cloud tokens work on the gateway routes only, Data Center's on the site; an expired
    token is refused."""
    for flavour, token_path, api_path in (
        ("cloud", "/oauth/token", "/ex/confluence/{cloud_id}/wiki/api/v2/spaces?limit=1"),
        ("datacenter", "/confluence/rest/oauth2/latest/token", "/confluence/rest/api/space?limit=1"),
    ):
        simulator = Simulator.start(SimulatorConfig(flavour=flavour, prewarm=False, oauth_token_seconds=1))
        try:
            credentials = simulator.credentials
            client = {"client_id": credentials["oauth_client_id"], "client_secret": credentials["oauth_client_secret"]}
            token_url = simulator.origin + token_path
            cloud_id = requests.get(simulator.origin + "/_edge/tenant_info").json()["cloudId"] if flavour == "cloud" \
                else ""
            api = simulator.origin + api_path.format(cloud_id=cloud_id)
            issued = requests.post(token_url, data={"grant_type": "client_credentials", **client})
            assert issued.status_code == 200 and issued.json()["token_type"] == "Bearer"
            assert issued.json()["expires_in"] == 1
            bearer = {"Authorization": f"Bearer {issued.json()['access_token']}"}
            assert requests.get(api, headers=bearer).status_code == 200
            if flavour == "cloud":
                assert requests.get(simulator.origin + "/wiki/api/v2/spaces", headers=bearer).status_code == 401
                as_json = requests.post(token_url, json={"grant_type": "client_credentials", **client})
                assert as_json.status_code == 200
            else:
                assert requests.post(token_url, data={"grant_type": "client_credentials", "scope": "READ WRITE",
                                                      **client}).json()["scope"] == "READ WRITE"
                bad_scope = requests.post(token_url, data={"grant_type": "client_credentials", "scope": "ALL",
                                                           **client})
                assert bad_scope.status_code == 400 and bad_scope.json()["error"] == "invalid_scope"
            as_basic = requests.post(token_url, data={"grant_type": "client_credentials"},
                                     auth=(client["client_id"], client["client_secret"]))
            assert as_basic.status_code == 200
            wrong = requests.post(token_url, data={"grant_type": "client_credentials", **client,
                                                   "client_secret": "wrong"})
            assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
            wrong_basic = requests.post(token_url, data={"grant_type": "client_credentials"},
                                        auth=(client["client_id"], "wrong"))
            assert wrong_basic.status_code == 401 and wrong_basic.headers["WWW-Authenticate"].startswith("Basic")
            grant = requests.post(token_url, data={"grant_type": "password", **client})
            assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
            time.sleep(1.05)
            expired = requests.get(api, headers=bearer)
            assert expired.status_code == 401 and 'error="invalid_token"' in expired.headers["WWW-Authenticate"]
        finally:
            simulator.stop()
