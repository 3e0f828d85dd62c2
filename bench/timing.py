"""Timing on a noisy shared machine: contenders interleaved, medians of rounds, same-run ratios.

Every contender is a function ``run(k)`` that performs ``k`` iterations of the measured work.
One *round* times each contender once (rotating who goes first), so slow phases of the
machine hit every contender alike; the ratio of two contenders is taken round by round and
its median reported.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["Stat", "interleave", "ratio", "set_clock"]

Runner = Callable[[int], object]


@dataclass
class Stat:
    """Seconds per iteration over the rounds: median, extremes and their spread."""

    samples: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def spread(self) -> float:
        """(max - min) / median, a fraction."""
        return (max(self.samples) - min(self.samples)) / self.median if self.median else 0.0

    def as_dict(self, scale: float = 1.0) -> dict[str, float]:
        return {
            "median": self.median * scale,
            "min": min(self.samples) * scale,
            "max": max(self.samples) * scale,
            "spread": self.spread,
            "rounds": len(self.samples),
        }


#: The clock every measurement reads. ``time.thread_time`` by default: the CPU time of the
#: calling thread, which is where every contender runs (one BLAS thread, one PyTorch thread),
#: so time spent waiting for a core that other processes hold is not counted. On a machine
#: shared with other work this removes most of the noise; ``set_clock(time.perf_counter)``
#: (``python -m bench --wall``) measures wall-clock time instead.
clock: Callable[[], float] = time.thread_time


def set_clock(fn: Callable[[], float]) -> None:
    """Make every later measurement read ``fn``."""
    global clock
    clock = fn


def _timed(run: Runner, k: int, warmup: int = 0) -> float:
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()  # as timeit does: a collection landing in one contender's turn is noise
    try:
        if warmup:
            run(warmup)  # not timed: brings this contender's memory back into the caches
        start = clock()
        run(k)
        return (clock() - start) / k
    finally:
        if enabled:
            gc.enable()


def interleave(
    contenders: Mapping[str, Runner], k: int, rounds: int, warmup: int = 0
) -> dict[str, Stat]:
    """Seconds per iteration of each contender: ``rounds`` interleaved rounds of ``k`` each.

    With ``warmup``, each turn first runs that many iterations untimed, so that the timed ones
    find the contender's own data in the caches, not the previous contender's.
    """
    names = list(contenders)
    for name in names:  # warm up: caches, index tables, lazy imports
        contenders[name](max(1, k // 10))
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(_timed(contenders[name], k, warmup))
    return {name: Stat(s) for name, s in samples.items()}


def ratio(stats: Mapping[str, Stat], slow: str, fast: str) -> dict[str, float]:
    """Speed of ``slow`` relative to ``fast`` (time of fast / time of slow), round by round.

    Above 1 means ``slow`` was in fact faster. Returns the median and the extremes.
    """
    per_round = [f / s for f, s in zip(stats[fast].samples, stats[slow].samples, strict=True)]
    return {
        "median": statistics.median(per_round),
        "min": min(per_round),
        "max": max(per_round),
    }
