"""The small change applied between two incremental runs: a few edits, one trashed page, one replaced attachment.

Targets are picked through the public API (CQL over the biggest space), so they are content the sync user can
see, and a different set is picked on every repetition. The change goes through the simulator's admin mutation
endpoint, which applies Confluence's rules (an edit adds a version; trashing does not).
"""

from __future__ import annotations

from typing import Any

from confluence_simulator.generator import KEY_MAIN

from bench.simulator_process import SimulatorProcess
from bench.site_client import SiteClient

EDITS = 3


def _numeric_id(value: Any) -> int:
    text = str(value)
    return int(text[3:] if text.startswith("att") else text)


def apply_small_change(simulator: SimulatorProcess, repeat: int) -> list[str]:
    """Apply the change for repetition `repeat` (0-based); returns what was done, for the report."""
    client = SiteClient(simulator)
    try:
        pages = client.search(f"space = {KEY_MAIN} and type = page order by id", limit=50)
        attachments = client.search(f"space = {KEY_MAIN} and type = attachment order by id", limit=50)
        needed = (repeat + 1) * (EDITS + 1)
        if len(pages) < needed or len(attachments) <= repeat:
            raise RuntimeError(f"space {KEY_MAIN} has too little visible content to pick changes from")
        chosen = pages[repeat * (EDITS + 1): needed]
        edited, trashed = chosen[:EDITS], chosen[EDITS]
        done = []
        for page in edited:
            body = client.storage_body(str(page["id"]), "page")
            simulator.mutate("edit", content_id=_numeric_id(page["id"]),
                             body=body + f"<p>Benchmark edit {repeat + 1}: figures updated.</p>",
                             message="benchmark edit")
            done.append(f"edited page {page['id']}")
        simulator.mutate("trash", content_id=_numeric_id(trashed["id"]))
        done.append(f"trashed page {trashed['id']}")
        attachment = attachments[repeat]
        simulator.mutate("add_attachment_version", attachment_id=_numeric_id(attachment["id"]),
                         comment="replaced by the benchmark")
        done.append(f"replaced attachment {attachment['id']}")
        return done
    finally:
        client.close()
