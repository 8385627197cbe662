"""Timing and reporting shared by all benchmarks."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field


@dataclass
class Figure:
    """One benchmark result: ``value`` beside ``baseline`` (same unit), and their ratio."""

    name: str
    value: float
    unit: str
    baseline: float
    n: int
    p50: float | None = None
    p99: float | None = None
    baseline_p50: float | None = None
    baseline_p99: float | None = None
    goal: str = ""
    met: bool | None = None
    notes: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("inf")

    def to_json(self) -> dict:
        data = asdict(self)
        data["ratio"] = round(self.ratio, 3)
        for key in ("value", "baseline", "p50", "p99", "baseline_p50", "baseline_p99"):
            if data[key] is not None:
                data[key] = round(data[key], 4)
        return data


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile: with 1,000 samples p99 is the 990th, not an interpolation."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def time_each(fn: Callable[[int], object], n: int, warmup: int = 5) -> list[float]:
    """Milliseconds per call of ``fn(i)`` for i in range(n), after ``warmup`` untimed calls."""
    for i in range(warmup):
        fn(-1 - i)
    samples = []
    clock = time.perf_counter_ns
    for i in range(n):
        start = clock()
        fn(i)
        samples.append((clock() - start) / 1e6)
    return samples


def latency_figure(name: str, samples: list[float], baseline: list[float], goal: str = "", **notes) -> Figure:
    """A latency figure: value and baseline are the medians (ms); p50/p99 of both are kept."""
    return Figure(
        name=name,
        value=statistics.median(samples),
        unit="ms",
        baseline=statistics.median(baseline),
        n=len(samples),
        p50=percentile(samples, 50),
        p99=percentile(samples, 99),
        baseline_p50=percentile(baseline, 50),
        baseline_p99=percentile(baseline, 99),
        goal=goal,
        notes=notes,
    )


def format_table(figures: list[Figure]) -> str:
    lines = [f"{'benchmark':<20} {'value':>10} {'baseline':>10} {'ratio':>7} {'p50':>9} {'p99':>9}  goal"]
    for f in figures:
        p50 = f"{f.p50:.3f}" if f.p50 is not None else "-"
        p99 = f"{f.p99:.3f}" if f.p99 is not None else "-"
        verdict = "" if f.met is None else (" ✓" if f.met else " ✗")
        lines.append(
            f"{f.name:<20} {f.value:>10.3f} {f.baseline:>10.3f} {f.ratio:>7.2f} {p50:>9} {p99:>9}  "
            f"{f.goal}{verdict}  [{f.unit}, n={f.n}]"
        )
    return "\n".join(lines)
