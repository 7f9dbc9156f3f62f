"""TLS against a loopback HTTPS simulator whose certificate comes from a private CA (trustme)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import certifi
import pytest
import trustme

from confluence_simulator.server import Simulator
from confluence_source import ConfluenceConfigError, ConfluenceTLSError, open_reader
from confluence_source.client import ConfluenceClient

from .conftest import COMPACT, FLAVOURS, settings_for, start_simulator


@pytest.fixture(scope="module")
def private_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module", params=FLAVOURS)
def https_sim(request: pytest.FixtureRequest, private_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[Simulator]:
    folder = tmp_path_factory.mktemp("tls")
    server_cert = private_ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file = folder / "server.pem", folder / "server.key"
    server_cert.cert_chain_pems[0].write_to_path(str(cert_file))
    for extra in server_cert.cert_chain_pems[1:]:
        extra.write_to_path(str(cert_file), append=True)
    server_cert.private_key_pem.write_to_path(str(key_file))
    sim = start_simulator(request.param, dataset=COMPACT, tls_cert=str(cert_file), tls_key=str(key_file))
    yield sim
    sim.stop()


def test_private_ca_is_trusted_through_ssl_ca(https_sim: Simulator, private_ca: trustme.CA) -> None:
    assert https_sim.base_url.startswith("https://127.0.0.1:")
    pem = private_ca.cert_pem.bytes().decode()
    reader = open_reader(settings_for(https_sim, ssl_ca=pem))
    assert reader.state.selected
    plan = reader.plan()
    assert sum(1 for _ in reader.iter_content("page", plan)) > 10


def test_the_combined_bundle_keeps_the_public_roots(https_sim: Simulator, private_ca: trustme.CA) -> None:
    reader = open_reader(settings_for(https_sim, ssl_ca=private_ca.cert_pem.bytes().decode()))
    bundle = Path(str(reader.client._verify)).read_text()  # noqa: SLF001 - inspect what requests verifies with
    assert private_ca.cert_pem.bytes().decode().strip() in bundle
    first_public_root = Path(certifi.where()).read_text().split("-----END CERTIFICATE-----")[0]
    assert first_public_root in bundle


def test_ssl_ca_may_be_a_file_path(https_sim: Simulator, private_ca: trustme.CA, tmp_path: Path) -> None:
    path = tmp_path / "ca.pem"
    private_ca.cert_pem.write_to_path(str(path))
    assert open_reader(settings_for(https_sim, ssl_ca=str(path))).state.selected


def test_untrusted_certificate_is_refused_without_retries(https_sim: Simulator) -> None:
    with pytest.raises(ConfluenceTLSError) as error:
        open_reader(settings_for(https_sim, retry_count=3))
    message = str(error.value)
    assert "not trusted" in message
    assert "sources.confluence.ssl_ca" in message and "sources.confluence.ssl_enabled" in message
    client = ConfluenceClient(settings_for(https_sim, retry_count=3))
    with pytest.raises(ConfluenceTLSError):
        client.get_json(client.v1("/user/current"), purpose="checking the credentials")
    assert client.stats.as_dict()["requests"] == 1


def test_verification_can_be_switched_off(https_sim: Simulator, recwarn: pytest.WarningsRecorder) -> None:
    assert open_reader(settings_for(https_sim, ssl_enabled=False)).state.selected
    assert not [w for w in recwarn if "Unverified HTTPS request" in str(w.message)]  # one log line, not per request


def test_verification_switched_off_stays_quiet_for_the_gateway_too(https_sim: Simulator,
                                                                   recwarn: pytest.WarningsRecorder) -> None:
    if https_sim.config.flavour != "cloud":
        pytest.skip("the API gateway is Atlassian Cloud's")
    gateway = f"https://localhost:{https_sim.port}"
    settings = settings_for(https_sim, ssl_enabled=False, api_gateway=gateway,
                            api_token=https_sim.credentials["scoped_api_token"])
    assert open_reader(settings).state.selected
    assert not [w for w in recwarn if "Unverified HTTPS request" in str(w.message)]


@pytest.mark.parametrize("layout", ["indented", "one line", "escaped newlines", "escaped CRLF", "chain on one line"])
def test_ssl_ca_pasted_in_any_layout_is_trusted(https_sim: Simulator, private_ca: trustme.CA, layout: str) -> None:
    """Indented as in Elastic's example, squeezed onto one line by a form or an environment variable, or with
    literal \\n: the same certificate."""
    pem = private_ca.cert_pem.bytes().decode().strip()
    lines = pem.splitlines()
    other_ca = trustme.CA().cert_pem.bytes().decode().strip()
    pasted = {
        "indented": "\n".join("    " + line for line in lines),
        "one line": " ".join(lines),
        "escaped newlines": "\\n".join(lines),
        "escaped CRLF": "\\r\\n".join(lines),
        "chain on one line": " ".join(other_ca.splitlines() + lines),
    }[layout]
    assert open_reader(settings_for(https_sim, ssl_ca=pasted)).state.selected


def test_garbage_ssl_ca_is_a_config_error(https_sim: Simulator) -> None:
    with pytest.raises(ConfluenceConfigError, match="sources.confluence.ssl_ca"):
        open_reader(settings_for(https_sim, ssl_ca="not a certificate"))
    broken = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    with pytest.raises(ConfluenceConfigError, match="sources.confluence.ssl_ca"):
        open_reader(settings_for(https_sim, ssl_ca=broken))


def test_an_ssl_ca_path_that_names_no_file_says_so(https_sim: Simulator, tmp_path: Path) -> None:
    with pytest.raises(ConfluenceConfigError, match="sources.confluence.ssl_ca names no readable file"):
        open_reader(settings_for(https_sim, ssl_ca=str(tmp_path / "missing.pem")))
    with pytest.raises(ConfluenceConfigError, match="sources.confluence.ssl_ca names no readable file"):
        open_reader(settings_for(https_sim, ssl_ca="~nosuchuser-here/ca.pem"))


def test_a_certificate_without_its_pem_lines_is_a_config_error(https_sim: Simulator,
                                                               private_ca: trustme.CA) -> None:
    """Its base64 alone is one long word: never taken for a file name the system refuses."""
    pem = private_ca.cert_pem.bytes().decode()
    bare = "".join(line for line in pem.splitlines() if "-----" not in line)
    with pytest.raises(ConfluenceConfigError, match="sources.confluence.ssl_ca must hold a PEM certificate"):
        open_reader(settings_for(https_sim, ssl_ca=bare))


def test_files_are_downloaded_over_tls_as_the_api_is(https_sim: Simulator, private_ca: trustme.CA) -> None:
    from .test_file_transport import a_file_link

    trusted = ConfluenceClient(settings_for(https_sim, ssl_ca=private_ca.cert_pem.bytes().decode(), retry_count=3))
    link = a_file_link(trusted)
    assert link.startswith("https://") and trusted.download(link, max_bytes=10_000_000, purpose="downloading")
    unverified = ConfluenceClient(settings_for(https_sim, ssl_enabled=False))
    assert unverified.download(link, max_bytes=10_000_000, purpose="downloading")
    untrusting = ConfluenceClient(settings_for(https_sim, retry_count=3))
    with pytest.raises(ConfluenceTLSError, match="not trusted"):
        untrusting.download(link, max_bytes=10_000_000, purpose="downloading")
    assert untrusting.file_stats.as_dict()["requests"] == 1  # a certificate failure is not retried


def test_a_certificate_for_another_host_name_points_at_the_url(private_ca: trustme.CA,
                                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    """Trusting its CA cannot help a certificate issued for another name: the URL (or the certificate) is wrong."""
    folder = tmp_path_factory.mktemp("tls-other-name")
    server_cert = private_ca.issue_cert("wiki.example.com")
    cert_file, key_file = folder / "server.pem", folder / "server.key"
    server_cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    server_cert.private_key_pem.write_to_path(str(key_file))
    sim = start_simulator("datacenter", dataset=COMPACT, tls_cert=str(cert_file), tls_key=str(key_file))
    try:
        with pytest.raises(ConfluenceTLSError) as error:
            open_reader(settings_for(sim, ssl_ca=private_ca.cert_pem.bytes().decode()))
    finally:
        sim.stop()
    message = str(error.value)
    assert "issued for another host name" in message and "sources.confluence.confluence_url" in message, message
    assert "ssl_ca" not in message
