"""TLS trust for the Confluence connection: what `requests` should verify against.

`ssl_ca` holds the PEM text of an extra CA (a private or corporate CA that signed the Confluence server's
certificate). Trusting *only* that CA would break sites whose certificate comes from a public CA, and proxies that
re-sign with a public chain, so the extra CA is appended to the usual trust store (certifi, plus the operating
system's bundle when there is one) in a private bundle file that lives as long as the process needs it.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import ssl
import tempfile
import warnings
from pathlib import Path

import certifi
from urllib3.exceptions import InsecureRequestWarning

from .config import setting
from .errors import ConfluenceConfigError

logger = logging.getLogger(__name__)

_PEM_BEGIN = "-----BEGIN CERTIFICATE-----"


def verify_setting(ssl_enabled: bool, ssl_ca: str | None, hosts: tuple[str, ...] = ()) -> bool | str:
    """The `verify` value for requests: False, True (default trust store) or the path of a combined CA bundle.
    `hosts` are those the requests go to (the site, and the API gateway where one is used)."""
    if not ssl_enabled:
        if ssl_ca:
            logger.warning(
                "%s is ignored because %s is false: the server certificate is not verified",
                setting("ssl_ca"),
                setting("ssl_enabled"),
            )
        else:
            logger.warning("TLS certificate verification is off (%s = false)", setting("ssl_enabled"))
        # said once above; urllib3 would repeat it for every single request
        for host in hosts:
            warnings.filterwarnings(
                "ignore",
                message=f"Unverified HTTPS request is being made to host '{re.escape(host)}'",
                category=InsecureRequestWarning,
            )
        return False
    if not ssl_ca:
        return True
    pem = _read_pem(ssl_ca)
    return _write_bundle(pem)


def _read_pem(value: str) -> str:
    """The PEM text of `ssl_ca`; also accepts the path of a PEM file, which is what people often paste."""
    text = value.strip()
    if _PEM_BEGIN not in text:
        looks_like_path = len(text) < 4096 and "\n" not in text
        candidate = _existing_file(text) if looks_like_path else None
        if candidate is not None:
            text = candidate.read_text(encoding="utf-8", errors="replace").strip()
        elif looks_like_path and (text.startswith(("/", "~", ".")) or Path(text).suffix):
            raise ConfluenceConfigError(
                f"{setting('ssl_ca')} names no readable file: give the PEM certificate itself "
                "(-----BEGIN CERTIFICATE----- ...) or the path of a file holding it"
            )
        if _PEM_BEGIN not in text:
            raise ConfluenceConfigError(
                f"{setting('ssl_ca')} must hold a PEM certificate (-----BEGIN CERTIFICATE----- ...), "
                "or the path of a file holding one"
            )
    text = _reshaped_pem(text)
    try:
        ssl.create_default_context(cadata=text)
    except (ssl.SSLError, ValueError) as exc:
        raise ConfluenceConfigError(f"{setting('ssl_ca')} is not a valid PEM certificate ({exc})") from exc
    return text + "\n"


_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)


def _reshaped_pem(text: str) -> str:
    """The PEM blocks of `text` laid out as OpenSSL reads them. A certificate pasted into TOML or an environment
    variable arrives indented (as in Elastic's connector's example), on one line, or with literal "\\n" sequences;
    the base64 between its BEGIN and END lines is the same whatever the spacing, so it is rewrapped at 64 columns."""
    blocks = []
    for match in _PEM_BLOCK.finditer(text.replace("\\r", "").replace("\\n", "\n")):
        label, body = match.group(1), re.sub(r"\s+", "", match.group(2))
        lines = [body[start:start + 64] for start in range(0, len(body), 64)]
        blocks.append("\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"]))
    return "\n".join(blocks) if blocks else text


def _existing_file(text: str) -> Path | None:
    """The file `text` names, or None: also for what cannot be a path at all (a certificate's base64 without its
    BEGIN line is a "name" too long for the file system; `~nobody/x` names no home)."""
    try:
        candidate = Path(text).expanduser()
        return candidate if candidate.is_file() else None
    except (OSError, RuntimeError, ValueError):
        return None


def _write_bundle(extra_pem: str) -> str:
    """Write certifi's bundle + the system bundle (if any) + the extra CA into a temporary file; return its path."""
    public = certifi.where()
    parts = [Path(public).read_text(encoding="utf-8")]
    system_cafile = ssl.get_default_verify_paths().cafile
    if system_cafile and os.path.isfile(system_cafile) and os.path.realpath(system_cafile) != os.path.realpath(public):
        with contextlib.suppress(OSError):
            parts.append(Path(system_cafile).read_text(encoding="utf-8"))
    parts.append(extra_pem)
    descriptor, path = tempfile.mkstemp(prefix="confluence-ca-", suffix=".pem")
    with os.fdopen(descriptor, "w", encoding="utf-8") as bundle:
        bundle.write("\n".join(parts))
    atexit.register(_remove_quietly, path)
    return path


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
