"""What a local node is: its port, heap and folder, validated once so every other module can trust them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from es_local.errors import EsLocalError

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
# Gitignored: indices, node log and pid file of every local node, one sub-folder per port.
DEFAULT_DATA_ROOT = REPO_ROOT / ".es-data"

DEFAULT_PORT = 9200
DEFAULT_HEAP = "1g"
DEFAULT_STARTUP_TIMEOUT_S = 180.0

_HEAP_PATTERN = re.compile(r"^[1-9][0-9]*[mMgG]$")


def default_data_dir(port: int) -> Path:
    """One folder per port, so nodes on different ports never fight over the same data lock."""
    return DEFAULT_DATA_ROOT / str(port)


@dataclass(frozen=True)
class NodeOptions:
    """How to run a local node. ``data_dir`` defaults to ``.es-data/<port>/`` at the repository root."""

    port: int = DEFAULT_PORT
    heap: str = DEFAULT_HEAP
    data_dir: Path | None = None
    startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S
    # Extra node settings (name -> value), passed as -Ename=value; they win over the launcher's defaults.
    extra_settings: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= self.port <= 65535:
            raise EsLocalError(f"port {self.port} is out of range: choose --port between 1 and 65535")
        if not _HEAP_PATTERN.match(self.heap):
            raise EsLocalError(f"heap size {self.heap!r} is not valid: use --heap like 512m or 1g")
        if self.startup_timeout_s <= 0:
            raise EsLocalError("the startup timeout must be a positive number of seconds")

    @property
    def home(self) -> Path:
        """The node's home folder (Elasticsearch ``path.home``): data, logs, config copy and pid file."""
        return (self.data_dir or default_data_dir(self.port)).resolve()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
