"""The benchmark's timing: interleaved turns, and the untimed warm-up at the start of each."""

from __future__ import annotations

from bench import timing


def test_each_turn_starts_with_its_untimed_warmup() -> None:
    calls: list[tuple[str, int]] = []
    runners = {name: (lambda k, name=name: calls.append((name, k))) for name in ("a", "b")}
    stats = timing.interleave(runners, k=3, rounds=2, warmup=1)
    # the first warm-up of the run (k // 10, at least 1), then per round and contender:
    # the untimed step, then the timed ones; the second round starts with the other contender
    assert calls == [
        ("a", 1), ("b", 1),
        ("a", 1), ("a", 3), ("b", 1), ("b", 3),
        ("b", 1), ("b", 3), ("a", 1), ("a", 3),
    ]  # fmt: skip
    assert [len(s.samples) for s in stats.values()] == [2, 2]


def test_only_the_timed_iterations_are_counted() -> None:
    ticks, clock = iter(range(100)), timing.clock
    timing.set_clock(lambda: float(next(ticks)))
    try:
        # the clock advances once at the start and once at the end of the timed part only
        stat = timing.interleave({"a": lambda k: None}, k=4, rounds=1, warmup=5)["a"]
    finally:
        timing.set_clock(clock)
    assert stat.samples == [1 / 4]
