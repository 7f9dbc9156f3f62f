"""The /__admin/ control API (faults, mutations, reset) and determinism of the served bytes."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
import requests

from confluence_simulator.server import Simulator, SimulatorConfig
from confluence_simulator.testing import collect, session_for, v1_pages, v2_pages


@pytest.fixture()
def cloud() -> Iterator[Simulator]:
    simulator = Simulator.start(SimulatorConfig(flavour="cloud", prewarm=False))
    yield simulator
    simulator.stop()


def mutate(sim: Simulator, op: str, **kwargs: object) -> requests.Response:
    return requests.post(sim.origin + "/__admin/mutations", json={"op": op, "kwargs": kwargs})


def test_mutations_over_http_show_up_with_versions_and_statuses(cloud: Simulator) -> None:
    http = session_for(cloud)
    home = cloud.site.space_by_key("ENG").homepage_id  # type: ignore[union-attr]
    before = http.get(cloud.origin + f"/wiki/api/v2/pages/{home}?body-format=storage").json()
    search_before = http.get(cloud.origin + f"/wiki/rest/api/content/search?cql=id%3D{home}&expand=version").json()
    edited = mutate(cloud, "edit", content_id=home, body="<p>Edited over HTTP</p>")
    assert edited.status_code == 200
    assert edited.json()["content"]["version"] == before["version"]["number"] + 1
    after = http.get(cloud.origin + f"/wiki/api/v2/pages/{home}?body-format=storage").json()
    assert after["version"]["number"] == before["version"]["number"] + 1
    assert after["body"]["storage"]["value"] == "<p>Edited over HTTP</p>"
    search_after = http.get(cloud.origin + f"/wiki/rest/api/content/search?cql=id%3D{home}&expand=version").json()
    assert search_after["results"][0]["version"]["number"] == search_before["results"][0]["version"]["number"] + 1

    created = mutate(cloud, "add_page", space_key="ENG", title="Made by the admin API", parent_id=home).json()
    new_id = str(created["content"]["id"])
    listed = [p["id"] for p in collect(v2_pages(http, cloud, "/wiki/api/v2/pages?limit=250"))]
    assert new_id in listed
    assert mutate(cloud, "trash", content_id=int(new_id)).json()["content"]["status"] == "trashed"
    assert new_id not in [p["id"] for p in collect(v2_pages(http, cloud, "/wiki/api/v2/pages?limit=250"))]
    trashed = [p["id"] for p in collect(v2_pages(http, cloud, "/wiki/api/v2/pages?status=trashed&limit=250"))]
    assert new_id in trashed
    assert mutate(cloud, "purge", content_id=int(new_id)).status_code == 200
    assert http.get(cloud.origin + f"/wiki/api/v2/pages/{new_id}?status=trashed").status_code == 404

    attached = mutate(cloud, "add_attachment", container_id=home, file_name="notes.txt",
                      data_base64=base64.b64encode(b"hello world").decode()).json()["content"]
    download = http.get(cloud.origin + f"/wiki/rest/api/content/{home}/child/attachment/{attached['id']}/download")
    assert download.status_code == 200 and download.content == b"hello world"
    assert attached["file_size"] == 11


def test_admin_errors_and_faults(cloud: Simulator) -> None:
    assert mutate(cloud, "no_such_op").status_code == 400
    assert mutate(cloud, "_get", content_id=1).status_code == 400
    assert mutate(cloud, "edit", content_id=999999999, body="<p/>").status_code == 404
    assert mutate(cloud, "purge", content_id=cloud.site.space_by_key("ENG").homepage_id).status_code == 400  # type: ignore[union-attr]
    added = requests.post(cloud.origin + "/__admin/faults",
                          json={"add": {"kind": "server_error", "endpoint": "v2.spaces.list", "count": 1}})
    assert added.status_code == 200 and len(added.json()["ids"]) == 1
    http = session_for(cloud)
    assert http.get(cloud.origin + "/wiki/api/v2/spaces").status_code == 500
    assert requests.get(cloud.origin + "/__admin/faults").json()["rules"][0]["fired"] == 1
    assert requests.post(cloud.origin + "/__admin/faults", json={"add": {"kind": "nope"}}).status_code == 400
    assert requests.post(cloud.origin + "/__admin/faults", json={"clear": True}).json()["rules"] == []
    info = requests.get(cloud.origin + "/__admin/info").json()
    assert info["flavour"] == "cloud" and "v2.pages.list" in info["endpoints"]


def test_reset_restores_the_generated_site(cloud: Simulator) -> None:
    http = session_for(cloud)
    home = cloud.site.space_by_key("ENG").homepage_id  # type: ignore[union-attr]
    original = http.get(cloud.origin + f"/wiki/api/v2/pages/{home}?body-format=storage").content
    mutate(cloud, "edit", content_id=home, body="<p>changed</p>")
    assert http.get(cloud.origin + f"/wiki/api/v2/pages/{home}?body-format=storage").content != original
    assert requests.post(cloud.origin + "/__admin/reset").status_code == 200
    assert http.get(cloud.origin + f"/wiki/api/v2/pages/{home}?body-format=storage").content == original
    restored = http.get(cloud.origin + f"/wiki/api/v2/pages/{home}?body-format=storage").json()
    assert restored["body"]["storage"]["value"] == cloud.site.content[home].body != "<p>changed</p>"


def _snapshot(sim: Simulator) -> list[bytes]:
    http = session_for(sim)
    if sim.config.flavour == "cloud":
        paths = ["/wiki/api/v2/pages?limit=40&body-format=storage", "/wiki/api/v2/attachments?limit=40",
                 "/wiki/api/v2/footer-comments?limit=40&body-format=storage",
                 "/wiki/rest/api/content/search?cql=type%3Dblogpost&expand=body.storage,version,space&limit=20"]
        urls = [sim.origin + path for path in paths]
    else:
        paths = ["/rest/api/content/search?cql=type%3Dpage&expand=body.storage,version,ancestors&limit=40",
                 "/rest/api/space?expand=description.plain", "/rest/api/content/scan?limit=30&expand=version"]
        urls = [sim.base_url + path for path in paths]
    return [http.get(url).content.replace(sim.origin.encode(), b"ORIGIN") for url in urls]


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_same_seed_same_bytes(flavour: str) -> None:
    first = Simulator.start(SimulatorConfig(flavour=flavour, seed=7, prewarm=False))  # type: ignore[arg-type]
    second = Simulator.start(SimulatorConfig(flavour=flavour, seed=7, prewarm=False))  # type: ignore[arg-type]
    other = Simulator.start(SimulatorConfig(flavour=flavour, seed=8, prewarm=False))  # type: ignore[arg-type]
    try:
        assert first.port != second.port
        one, two, three = _snapshot(first), _snapshot(second), _snapshot(other)
        assert one == two
        assert one != three
    finally:
        for simulator in (first, second, other):
            simulator.stop()


def test_dc_mutations_visible_through_v1() -> None:
    simulator = Simulator.start(SimulatorConfig(flavour="datacenter", prewarm=False))
    try:
        http = session_for(simulator)
        created = simulator.mutations.add_blogpost(space_key="DOCS", title="Release notes 42", labels=["release"])
        found = collect(v1_pages(http, simulator, "/rest/api/content/search?cql=label%3Drelease and type%3Dblogpost"
                                                  "&expand=metadata.labels"))
        assert str(created.id) in [r["id"] for r in found]
        simulator.mutations.trash(content_id=created.id)
        found = collect(v1_pages(http, simulator, "/rest/api/content/search?cql=label%3Drelease and type%3Dblogpost"))
        assert str(created.id) not in [r["id"] for r in found]
        trash = http.get(simulator.base_url + "/rest/api/space/DOCS/trash?limit=200").json()
        assert str(created.id) in [r["id"] for r in trash["results"]]
    finally:
        simulator.stop()


def test_changes_behind_the_servers_back_reach_the_next_sync() -> None:
    """Direct model edits (not through sim.mutations) show up from the first page of the next paging loop."""
    from confluence_simulator.mutations import Mutations

    simulator = Simulator.start(SimulatorConfig(flavour="datacenter", prewarm=False))
    try:
        http = session_for(simulator)
        query = "/rest/api/content/search?cql=type%3Dpage and lastmodified >%3D now(\"-1h\")&expand=version"
        assert collect(v1_pages(http, simulator, query)) == []
        page = next(c for c in sorted(simulator.site.content.values(), key=lambda c: c.id)
                    if c.type == "page" and c.status == "current"
                    and simulator.site.can_read(simulator.site.default_user, c))
        edited = Mutations(simulator.site).edit(content_id=page.id, body="<p>direct</p>")
        found = collect(v1_pages(http, simulator, query))
        assert [(r["id"], r["version"]["number"]) for r in found] == [(str(page.id), edited.versions[-1].number)]
    finally:
        simulator.stop()


def test_moves_update_ancestors_of_the_whole_subtree() -> None:
    simulator = Simulator.start(SimulatorConfig(flavour="datacenter", prewarm=False))
    try:
        http = session_for(simulator)
        site = simulator.site
        readable = [c for c in sorted(site.content.values(), key=lambda c: c.id) if c.type == "page"
                    and c.status == "current" and site.can_read(site.default_user, c)]
        grandchild = next(c for c in readable if len(site.ancestors(c)) >= 2)
        moved = site.ancestors(grandchild)[-1]
        subtree = {c.id for c in readable if moved.id in {a.id for a in site.ancestors(c)}} | {moved.id}
        target = next(c for c in readable if c.space_id == moved.space_id and c.id not in subtree
                      and c.id != moved.parent_id)
        url = simulator.base_url + f"/rest/api/content/{grandchild.id}?expand=ancestors"
        before = http.get(url).json()
        assert before["ancestors"][-1]["id"] == str(moved.id)
        assert str(target.id) not in [a["id"] for a in before["ancestors"]]
        simulator.mutations.move_page(page_id=moved.id, parent_id=target.id)
        after = http.get(url).json()
        expected = [a.id for a in site.ancestors(target)] + [target.id, moved.id]
        assert [a["id"] for a in after["ancestors"]] == [str(i) for i in expected]
    finally:
        simulator.stop()


def test_concurrent_readers_during_mutations_get_consistent_pages(cloud: Simulator) -> None:
    from concurrent.futures import ThreadPoolExecutor

    home = cloud.site.space_by_key("ENG").homepage_id  # type: ignore[union-attr]

    def read_all(_: int) -> int:
        http = session_for(cloud)
        pages = collect(v2_pages(http, cloud, "/wiki/api/v2/pages?limit=50&body-format=storage"))
        ids = [int(p["id"]) for p in pages]
        assert ids == sorted(set(ids))
        return len(ids)

    with ThreadPoolExecutor(max_workers=8) as pool:
        readers = [pool.submit(read_all, n) for n in range(8)]
        for number in range(20):
            cloud.mutations.edit(content_id=home, body=f"<p>edit {number}</p>")
        counts = [reader.result() for reader in readers]
    assert min(counts) > 100
    final = session_for(cloud).get(cloud.origin + f"/wiki/api/v2/pages/{home}?body-format=storage").json()
    assert final["body"]["storage"]["value"] == "<p>edit 19</p>" and final["version"]["number"] >= 21
