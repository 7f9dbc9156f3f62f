"""The project's performance targets, checked against the medians and printed as PASS / FAIL / SKIP lines.

These are reported, never asserted: a benchmark on a shared two-core machine is evidence, not a gate. A target
whose size was not measured (e.g. "on medium" in a --quick run) is SKIP, with the value at the sizes that were run
shown for information.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from bench.records import FULL, INCREMENTAL_NO_CHANGE, NAIVE, SINK_LIMIT, RunRecord, ScenarioSummary, find

TARGET_SIZE = "medium"
MIN_SPEEDUP_OVER_NAIVE = 5.0
MIN_SHARE_OF_SINK_LIMIT = 0.5
MIN_CLOUD_DOCS_PER_REQUEST = 100.0
MAX_NO_CHANGE_SHARE = 0.10
MAX_PEAK_RSS_MB = 500.0
MAX_RSS_GROWTH_LARGE_OVER_MEDIUM = 1.3
MAX_PER_DOC_TIME_GROWTH = 1.25  # per-document time may not grow more than this from one size to the next
SIZE_ORDER = ("small", "medium", "large")


@dataclass(frozen=True)
class TargetResult:
    name: str
    status: str  # PASS | FAIL | SKIP
    value: float | None
    threshold: str
    detail: str

    def line(self) -> str:
        shown = "n/a" if self.value is None else f"{self.value:.3g}"
        return f"{self.status:<4}  {self.name}: {shown} (target {self.threshold}) {self.detail}".rstrip()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def ratios(summaries: list[ScenarioSummary], flavour: str, size: str) -> dict[str, float | None]:
    """Throughput and time ratios of one flavour and size, from medians."""

    def metric(scenario: str, name: str) -> float | None:
        summary = find(summaries, scenario, flavour, size)
        return summary.get(name) if summary else None

    ours = metric(FULL, "docs_per_second")
    return {
        "ours_vs_sink_limit": _ratio(ours, metric(SINK_LIMIT, "docs_per_second")),
        "ours_vs_naive": _ratio(ours, metric(NAIVE, "docs_per_second")),
        "incremental_no_change_vs_full_time": _ratio(metric(INCREMENTAL_NO_CHANGE, "wall_seconds"),
                                                     metric(FULL, "wall_seconds")),
        # the same without process start-up (interpreter and imports), from the times the pipeline reports
        "incremental_no_change_vs_full_own_time": _ratio(metric(INCREMENTAL_NO_CHANGE, "reported_elapsed_seconds"),
                                                         metric(FULL, "reported_elapsed_seconds")),
    }


def _check(name: str, value: float | None, threshold: str, passed: bool | None, detail: str = "") -> TargetResult:
    if value is None or passed is None:
        return TargetResult(name, "SKIP", value, threshold, detail or "(not measured)")
    return TargetResult(name, "PASS" if passed else "FAIL", value, threshold, detail)


def _at_target_size(summaries: list[ScenarioSummary], sizes: tuple[str, ...], flavour: str, name: str,
                    threshold: str, compute: Any, passes: Any) -> TargetResult:
    """Evaluate at TARGET_SIZE; when it was not run, SKIP and show the value at the largest size that was."""
    if TARGET_SIZE in sizes:
        value = compute(flavour, TARGET_SIZE)
        return _check(name, value, threshold, None if value is None else passes(value), f"[{flavour}, medium]")
    if not sizes:
        return _check(name, None, threshold, None)
    largest = sizes[-1]
    value = compute(flavour, largest)
    return TargetResult(name, "SKIP", value, threshold, f"[{flavour}] medium not run; value shown is for {largest}")


def evaluate(summaries: list[ScenarioSummary], records: list[RunRecord], flavours: tuple[str, ...],
             sizes: tuple[str, ...]) -> list[TargetResult]:
    sizes = tuple(size for size in SIZE_ORDER if size in sizes)
    results: list[TargetResult] = []

    def median(scenario: str, flavour: str, size: str, metric: str) -> float | None:
        summary = find(summaries, scenario, flavour, size)
        return summary.get(metric) if summary else None

    for flavour in flavours:
        results.append(_at_target_size(
            summaries, sizes, flavour, "full sync vs naive baseline (docs/s ratio)", f">= {MIN_SPEEDUP_OVER_NAIVE}x",
            lambda f, s: ratios(summaries, f, s)["ours_vs_naive"], lambda v: v >= MIN_SPEEDUP_OVER_NAIVE))
        results.append(_at_target_size(
            summaries, sizes, flavour, "full sync vs sink limit (docs/s ratio)", f">= {MIN_SHARE_OF_SINK_LIMIT}x",
            lambda f, s: ratios(summaries, f, s)["ours_vs_sink_limit"], lambda v: v >= MIN_SHARE_OF_SINK_LIMIT))
        no_change = _at_target_size(
            summaries, sizes, flavour, "incremental with no change vs full sync (wall time share)",
            f"< {MAX_NO_CHANGE_SHARE:.0%}",
            lambda f, s: ratios(summaries, f, s)["incremental_no_change_vs_full_time"],
            lambda v: v < MAX_NO_CHANGE_SHARE)
        own = ratios(summaries, flavour, TARGET_SIZE if TARGET_SIZE in sizes else (sizes[-1] if sizes else ""))
        if own["incremental_no_change_vs_full_own_time"] is not None:
            no_change = replace(no_change, detail=f"{no_change.detail}; without process start-up: "
                                                  f"{own['incremental_no_change_vs_full_own_time']:.3g}")
        results.append(no_change)
    if "cloud" in flavours:
        results.append(_at_target_size(
            summaries, sizes, "cloud", "Cloud full sync documents per request", f">= {MIN_CLOUD_DOCS_PER_REQUEST:g}",
            lambda f, s: median(FULL, f, s, "docs_per_request"), lambda v: v >= MIN_CLOUD_DOCS_PER_REQUEST))

    ours = [r for r in records if r.ok and r.scenario.startswith(("full", "incremental")) and r.peak_rss_mb]
    peak = max((r.peak_rss_mb or 0.0 for r in ours), default=None)
    results.append(_check("peak RSS of the pipeline process, MB (all runs)", peak, f"< {MAX_PEAK_RSS_MB:g}",
                          None if peak is None else peak < MAX_PEAK_RSS_MB))
    for flavour in flavours:
        large = median(FULL, flavour, "large", "peak_rss_mb")
        medium = median(FULL, flavour, "medium", "peak_rss_mb")
        growth = _ratio(large, medium)
        results.append(_check(f"peak RSS large vs medium [{flavour}]", growth,
                              f"<= {MAX_RSS_GROWTH_LARGE_OVER_MEDIUM}x",
                              None if growth is None else growth <= MAX_RSS_GROWTH_LARGE_OVER_MEDIUM,
                              "" if growth is not None else "(needs medium and large)"))
        results.extend(_linearity(summaries, flavour, sizes))
    return results


def _linearity(summaries: list[ScenarioSummary], flavour: str, sizes: tuple[str, ...]) -> list[TargetResult]:
    """Per-document time of the full sync must not grow (much) from one size to the next.

    The time is the pipeline's own (without the fixed interpreter and import start-up, which would make the small
    size look slow per document and hide a super-linear step); wall time when the pipeline reports none."""
    name = f"full sync time linear in size [{flavour}] (per-doc time ratio)"
    threshold = f"<= {MAX_PER_DOC_TIME_GROWTH}x per size step"
    per_doc: dict[str, float] = {}
    for size in sizes:
        summary = find(summaries, FULL, flavour, size)
        if summary is None:
            continue
        seconds = summary.get("reported_elapsed_seconds") or summary.get("wall_seconds")
        docs = summary.get("documents")
        if seconds and docs:
            per_doc[size] = seconds / docs
    measured = [size for size in sizes if size in per_doc]
    if len(measured) < 2:
        return [_check(name, None, threshold, None, "(needs two sizes)")]
    results = []
    for smaller, larger in zip(measured, measured[1:]):
        growth = per_doc[larger] / per_doc[smaller]
        results.append(_check(name, growth, threshold, growth <= MAX_PER_DOC_TIME_GROWTH, f"[{smaller} -> {larger}]"))
    return results
