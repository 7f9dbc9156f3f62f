"""A tiny dlt pipeline through the Elasticsearch destination, shaped like the real one.

Imported by the tests for its source, and run as a subprocess to check what a user sees:
    python tests/destination/tiny_pipeline.py --pipeline-name NAME --pipelines-dir DIR [--count N]
        [--delete ID ...] [--no-preflight]
Settings come from the environment (DESTINATION__ELASTICSEARCH__*). Exit codes: 0 loaded,
2 a destination error whose message names the setting to fix, 1 any other load failure.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import dlt  # noqa: E402
from destination_samples import page_documents  # noqa: E402
from dlt.pipeline.exceptions import PipelineStepFailed  # noqa: E402

from destinations.elastic import (  # noqa: E402
    ElasticsearchSettingsError,
    check_connection,
    elasticsearch_destination,
    find_destination_error,
)

EXIT_OK, EXIT_FAILED, EXIT_SETTINGS = 0, 1, 2
DELETED_AT = datetime(2030, 1, 1, tzinfo=UTC)


@dlt.source(name="tiny_confluence")
def tiny_source(count: int = 10, delete_ids: Sequence[str] = ()) -> Any:
    """Pages with an incremental cursor, plus tombstones for `delete_ids`, plus one space."""

    @dlt.resource(
        name="pages",
        primary_key="id",
        write_disposition="merge",
        columns={"deleted": {"hard_delete": True, "data_type": "bool"}},
    )
    def pages(
        updated_at: dlt.sources.incremental[datetime] = dlt.sources.incremental(
            "updated_at", initial_value=datetime(2000, 1, 1, tzinfo=UTC)
        ),
    ) -> Iterator[list[dict[str, Any]]]:
        yield page_documents(count)
        yield [{"id": doc_id, "deleted": True, "updated_at": DELETED_AT} for doc_id in delete_ids]

    @dlt.resource(name="spaces", primary_key="id", write_disposition="merge")
    def spaces() -> Iterator[dict[str, Any]]:
        yield {"id": "space-1", "type": "space", "space_key": "SP1", "space_name": "Space SP1"}

    return pages, spaces


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pipeline-name", required=True)
    parser.add_argument("--pipelines-dir", required=True)
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--delete", action="append", default=[])
    parser.add_argument("--no-preflight", action="store_true")
    args = parser.parse_args(argv)
    try:
        if not args.no_preflight:
            check_connection()
        pipeline = dlt.pipeline(
            pipeline_name=args.pipeline_name,
            destination=elasticsearch_destination(),
            pipelines_dir=args.pipelines_dir,
        )
        pipeline.run(tiny_source(args.count, args.delete))
    except ElasticsearchSettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_SETTINGS
    except PipelineStepFailed as error:
        ours = find_destination_error(error)
        print(f"error: {ours if ours is not None else error}", file=sys.stderr)
        return EXIT_SETTINGS if ours is not None else EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
