"""Sync Confluence into Elasticsearch.

    python pipelines/confluence_to_es.py                 # incremental sync with .dlt/config.toml + secrets.toml
    python pipelines/confluence_to_es.py --full-refresh  # read everything again
    python pipelines/confluence_to_es.py --demo          # built-in demo: simulator + local Elasticsearch

Exit codes: 0 success; 1 the run failed (e.g. Confluence kept failing after all retries); 2 a setting to fix (the
message names it); 3 the mass-delete guard kept documents that Confluence no longer shows (rerun with
--allow-mass-delete if that is really wanted).
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
from pathlib import Path
from typing import NoReturn

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import dlt  # noqa: E402
from dlt.common.configuration.exceptions import ConfigurationException  # noqa: E402
from dlt.common.exceptions import SignalReceivedException  # noqa: E402
from dlt.common.runtime import signals  # noqa: E402
from dlt.common.storages import FileStorage  # noqa: E402
from dlt.pipeline.exceptions import PipelineStepFailed  # noqa: E402

from confluence_source import SETTING_NAMES, SOURCE_ARGUMENTS  # noqa: E402
from confluence_source.errors import (  # noqa: E402
    ConfluenceAuthError,
    ConfluenceConfigError,
    ConfluenceConnectionError,
    ConfluenceError,
    ConfluenceQueryError,
    ConfluenceTokenError,
    ConfluenceWentAwayError,
    UnknownSpaceQueryError,
)
from destinations.elastic import (  # noqa: E402
    ElasticsearchSettingsError,
    ElasticsearchUnavailableError,
    find_wrapped_error,
)
from destinations.es_config import ElasticsearchDestinationConfiguration  # noqa: E402
from pipelines.job_log import quiet_failed_job_attempts, quiet_transport_warnings  # noqa: E402
from pipelines.memory import limit_malloc_arenas  # noqa: E402
from pipelines.read_stages import STAGE_DOCUMENTS  # noqa: E402
from pipelines.report import print_summary, write_summary_json  # noqa: E402
from pipelines.run_lock import SyncAlreadyRunningError  # noqa: E402
from pipelines.setting_environment import (  # noqa: E402
    hide_shortened_source_variables,
    ignored_variable_hint,
    unset_blank_setting_variables,
)
from pipelines.setting_errors import setting_problem  # noqa: E402
from pipelines.sync_run import SyncOptions, run_sync  # noqa: E402
from pipelines.unknown_settings import describe_unknown_settings, find_unknown_settings  # noqa: E402

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_GUARD = 0, 1, 2, 3
# `[destination.elasticsearch]` names: ours, and those dlt reads for any destination (batch_size, ...)
DESTINATION_SETTINGS = tuple(ElasticsearchDestinationConfiguration.get_resolvable_fields())
# errors whose one-line message is the whole story (no traceback) ...
USER_ERRORS = (ConfluenceError, ElasticsearchSettingsError, SyncAlreadyRunningError)
# ... and among them those a setting fixes (exit 2); the rest (e.g. Confluence failing after all retries) exit 1
SETTING_ERRORS = (ConfluenceConfigError, ConfluenceAuthError, ConfluenceConnectionError, ConfluenceQueryError,
                  ElasticsearchSettingsError)


def exit_code_of(error: BaseException) -> int:
    if isinstance(error, ElasticsearchUnavailableError) and not error.names_a_setting:
        return EXIT_FAILED  # e.g. the cluster stayed overloaded (HTTP 503) after every retry: no setting to fix
    if isinstance(error, ConfluenceWentAwayError):
        return EXIT_FAILED  # it answered earlier in the run: no setting to fix
    if isinstance(error, UnknownSpaceQueryError):
        return EXIT_FAILED  # a space deleted during the run (a rule naming no space is refused before: exit 2)
    if isinstance(error, ConfluenceTokenError):
        return EXIT_CONFIG if error.names_a_setting else EXIT_FAILED
    return EXIT_CONFIG if isinstance(error, SETTING_ERRORS) else EXIT_FAILED


def stopped_by(signal_code: int) -> str:
    try:
        name = signal.Signals(signal_code).name
    except ValueError:
        name = f"signal {signal_code}"
    return (f"error: stopped by {name} before the sync finished; the watermarks did not move (but for the spaces "
            f"of the finished stages of a long full read), so the next run repeats the rest of the work")


def fraction(text: str) -> float:
    """A share between 0 and 1, for --max-delete-fraction."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1 (0.2 means 20% of a space)")
    return value


def stage_documents(text: str) -> int:
    """A whole number of documents, 0 or more, for --stage-documents."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is below 0 (0 reads everything in one stage)")
    return value


def space_keys(text: str) -> tuple[str, ...]:
    """Comma-separated space keys, for --refresh-spaces (whether the run syncs them is checked once the spaces are
    known)."""
    keys = tuple(dict.fromkeys(key.strip() for key in text.split(",") if key.strip()))
    if not keys:
        raise argparse.ArgumentTypeError(f"{text!r} names no space key (e.g. ENG,OPS)")
    if "*" in keys:
        raise argparse.ArgumentTypeError("'*' is every space: use --full-refresh")
    return keys


def pipeline_name(text: str) -> str:
    """A dlt pipeline name: it names a folder (and the run lock beside it) on any system, is typed again after
    `dlt pipeline`, and is the prefix of dlt's setting variables behind it."""
    problem = None
    if not text.strip():
        problem = "it is blank"
    elif len(text) > 100:
        problem = "it is longer than 100 characters"
    elif text.startswith(("-", ".")):
        problem = "it must not begin with - or ."
    elif "__" in text:
        problem = "it must not contain __, the separator of dlt's setting variables"
    else:
        try:
            FileStorage.validate_file_name_component(text)
        except ValueError as error:  # pathvalidate's "[PV1100] invalid characters found: ..., platform=..."
            detail = str(error).split("] ", 1)[-1].split(", platform", 1)[0].removeprefix("description=")
            problem = f"it cannot name a folder on every system ({detail})"
    if problem:
        raise argparse.ArgumentTypeError(f"{text!r} is not a pipeline name: {problem} (e.g. confluence_to_es)")
    return text


def writable_file(text: str) -> Path:
    """A file path whose folder exists, for --summary-json: checked before the run, not after it."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder, not a file")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"the folder {path.parent} does not exist")
    return path


HELP_EPILOG = """\
settings: [sources.confluence] and [destination.elasticsearch] in .dlt/config.toml and .dlt/secrets.toml of the
working directory, or environment variables (SOURCES__CONFLUENCE__CONFLUENCE_URL, ...); see README.md.
exit codes: 0 success; 1 the run failed (nothing was deleted, the watermarks did not move but for the finished
stages of a long full read), or another run of the same pipeline is still going (this one did nothing); 2 a
setting to fix (the message names it); 3 the mass-delete guard kept documents that Confluence no longer shows."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Sync a Confluence site into an Elasticsearch index.",
                                     epilog=HELP_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full-refresh", action="store_true", help="ignore saved watermarks and read everything")
    parser.add_argument("--refresh-spaces", type=space_keys, default=(), metavar="KEYS",
                        help="read these spaces (comma-separated keys) in full and the others for their changes: a "
                             "--full-refresh of part of the site")
    parser.add_argument("--allow-mass-delete", action="store_true",
                        help="delete even when a space would lose more than --max-delete-fraction of its documents")
    parser.add_argument("--max-delete-fraction", type=fraction, default=0.2,
                        help="share of a space's documents one run may delete without --allow-mass-delete (0.2)")
    parser.add_argument("--stage-documents", type=stage_documents, default=STAGE_DOCUMENTS,
                        help="documents a stage of a long full read holds at most, each stage loaded and its "
                             "progress saved before the next; halved after a run stopped in its first stage; 0 reads "
                             f"everything in one stage ({STAGE_DOCUMENTS})")
    parser.add_argument("--pipeline-name", type=pipeline_name, default="confluence_to_es",
                        help="dlt pipeline name (confluence_to_es)")
    parser.add_argument("--summary-json", type=writable_file, help="also write the run summary as JSON to this file")
    parser.add_argument("--demo", action="store_true",
                        help="run against the built-in Confluence simulator and a local Elasticsearch node")
    parser.add_argument("--demo-flavour", choices=("cloud", "datacenter"), default="cloud",
                        help="which Confluence the demo's simulator plays (cloud)")
    parser.add_argument("--demo-preset", choices=("small", "medium", "large"), default="small",
                        help="demo data size (small)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    limit_malloc_arenas()
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        quiet_failed_job_attempts()
        quiet_transport_warnings()
    unset_blank_setting_variables()
    environment = dict(os.environ)  # as given: settings behind the pipeline name are refused below, not just hidden
    for name in hide_shortened_source_variables(SOURCE_ARGUMENTS, args.pipeline_name):
        hint = ignored_variable_hint(name, args.pipeline_name, SOURCE_ARGUMENTS, SETTING_NAMES)
        print(f"warning: ignored the environment variable {name}: {hint}", file=sys.stderr)
    options = SyncOptions(
        pipeline_name=args.pipeline_name,
        full_refresh=args.full_refresh,
        allow_mass_delete=args.allow_mass_delete,
        max_delete_fraction=args.max_delete_fraction,
        stage_documents=args.stage_documents,
        refresh_spaces=args.refresh_spaces,
    )
    try:
        # a first SIGINT or SIGTERM stops the run at its next safe point (dlt's steps, and the sync between them); a
        # second one of the same kind stops it at once
        with signals.intercepted_signals():
            unknown = [] if args.demo else find_unknown_settings(  # the demo reads none of the user's settings
                {("sources", "confluence"): SETTING_NAMES, ("destination", "elasticsearch"): DESTINATION_SETTINGS},
                args.pipeline_name, dlt.config.config_providers, environment)
            if unknown:
                return failed(args, EXIT_CONFIG, f"error: {describe_unknown_settings(unknown)}")
            if args.demo:
                from pipelines.demo import run_demo

                return run_demo(options, flavour=args.demo_flavour, preset=args.demo_preset,
                                summary_json=args.summary_json)
            summary = run_sync(options)
    except SignalReceivedException as error:
        return failed(args, EXIT_FAILED, stopped_by(error.signal_code))
    except KeyboardInterrupt:  # a second Ctrl-C: stopped at once
        return failed(args, EXIT_FAILED, stopped_by(signal.SIGINT))
    except USER_ERRORS as error:
        return failed(args, exit_code_of(error), f"error: {error}")
    except ConfigurationException as error:
        return failed(args, EXIT_CONFIG, f"error: {setting_problem(error)}")
    except PipelineStepFailed as error:
        stopped = find_wrapped_error(error, (SignalReceivedException,))
        if isinstance(stopped, SignalReceivedException):
            return failed(args, EXIT_FAILED, stopped_by(stopped.signal_code))
        cause = find_wrapped_error(error, USER_ERRORS)
        if cause is not None:
            return failed(args, exit_code_of(cause), f"error: {cause}")
        setting_error = find_wrapped_error(error, (ConfigurationException,))
        if isinstance(setting_error, ConfigurationException):
            return failed(args, EXIT_CONFIG, f"error: {setting_problem(setting_error)}")
        return failed(args, EXIT_FAILED, f"error: the {error.step} step failed: {error.exception}")
    print_summary(summary)
    outcome = "refused_deletions" if summary.refused_deletions else "succeeded"
    written = (write_summary_json(args.summary_json, {"status": outcome, **summary.as_dict()}) if args.summary_json
               else True)
    if summary.refused_deletions:
        print(f"error: {summary.refusal_message}", file=sys.stderr)
        return EXIT_GUARD
    return EXIT_OK if written else EXIT_CONFIG  # the sync went through; --summary-json is the setting to fix


def failed(args: argparse.Namespace, code: int, message: str) -> int:
    """Print why the run failed and, for --summary-json, write that too (a scheduler reading the file learns of the
    failure there); returns the exit code."""
    print(message, file=sys.stderr)
    if args.summary_json:
        write_summary_json(args.summary_json, {"status": "failed", "exit_code": code,
                                               "error": message.removeprefix("error: ")})
    return code


def exit_with(code: int) -> NoReturn:
    """Exit with the heap frozen, so the interpreter's final garbage collection skips everything the run and its
    imports allocated: the work is done and written, and that pass alone costs about 0.2 s, a sixth of a run with
    nothing to sync. Exit handlers still run and streams are still flushed."""
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    exit_with(main())
