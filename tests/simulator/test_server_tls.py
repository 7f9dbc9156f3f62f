"""HTTPS: the simulator serves TLS with a given certificate; clients verify it against the issuing CA."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import trustme

from confluence_simulator.server import Simulator, SimulatorConfig
from confluence_simulator.testing import session_for


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def tls_sim(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    folder: Path = tmp_path_factory.mktemp("tls")
    certificate = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(b"".join(pem.bytes() for pem in certificate.cert_chain_pems))
    certificate.private_key_pem.write_to_path(str(key_file))
    simulator = Simulator.start(SimulatorConfig(flavour="datacenter", tls_cert=str(cert_file),
                                                tls_key=str(key_file), prewarm=False))
    yield simulator
    simulator.stop()


def test_https_with_the_right_ca(tls_sim: Simulator, ca: trustme.CA, tmp_path: Path) -> None:
    assert tls_sim.base_url.startswith("https://127.0.0.1:")
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    http = session_for(tls_sim)
    # verify per request: a session-level `verify` loses against REQUESTS_CA_BUNDLE in requests
    response = http.get(tls_sim.base_url + "/rest/api/space?limit=2", verify=str(ca_file))
    assert response.status_code == 200
    assert response.json()["_links"]["base"] == tls_sim.base_url
    many = [http.get(tls_sim.base_url + "/rest/api/content/search?cql=type%3Dpage&limit=5", verify=str(ca_file))
            for _ in range(3)]
    assert all(r.status_code == 200 for r in many)


def test_https_without_trusting_the_ca_fails(tls_sim: Simulator) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        session_for(tls_sim).get(tls_sim.base_url + "/rest/api/space")


def test_plain_http_against_tls_port_does_not_hang_the_server(tls_sim: Simulator, ca: trustme.CA,
                                                             tmp_path: Path) -> None:
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(tls_sim.base_url.replace("https://", "http://") + "/rest/api/space", timeout=5)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    http = session_for(tls_sim)
    assert http.get(tls_sim.base_url + "/rest/api/space", verify=str(ca_file)).status_code == 200
