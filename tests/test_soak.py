"""Long runs: 10,000 training steps with flat resident memory, and a 100,000-op graph.

Resident memory is read from ``/proc/self/statm`` (Linux), falling back to the peak from
``resource.getrusage`` elsewhere. The loops run with the cyclic garbage collector switched
off, so they also prove that every step's graph is freed by reference counting alone: no
reference cycles between tensors and nodes pile up.
"""

from __future__ import annotations

import gc
import os
import resource
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pytest

import minigrad
from minigrad import Tensor, nn
from minigrad.engine import Node
from minigrad.optim import Adam

STEPS = 10_000
WARMUP = 1_000
BOUND_MB = 8.0  # allowed growth of resident memory after the warm-up


def resident_mb() -> float:
    """Current resident set size in MiB."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):  # not Linux: the peak is the best we have
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


@contextmanager
def gc_off() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def live_nodes() -> int:
    gc.collect()
    return sum(isinstance(o, Node) for o in gc.get_objects())


def soak(step: Callable[[int], float]) -> tuple[list[float], list[float]]:
    """Run ``step`` STEPS times; sample memory after the warm-up and every 1,000 steps."""
    losses, memory = [], []
    with gc_off():
        for i in range(STEPS):
            loss = step(i)
            if i % 1_000 == 999:
                losses.append(loss)
                if i >= WARMUP - 1:
                    memory.append(resident_mb())
    return losses, memory


def report(name: str, losses: list[float], memory: list[float]) -> None:
    print(
        f"\n{name}: {STEPS} steps, resident memory {memory[0]:.1f} MiB after {WARMUP} steps, "
        f"{memory[-1]:.1f} MiB at the end (max growth {max(memory) - memory[0]:+.2f} MiB, "
        f"bound {BOUND_MB} MiB); loss {losses[0]:.4f} -> {losses[-1]:.4f}"
    )


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc (Linux)")
def test_10000_steps_with_raw_ops_keep_memory_flat() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 10))
    y = rng.integers(0, 4, size=8)
    w1 = Tensor(rng.standard_normal((16, 10)) * 0.3, requires_grad=True)
    b1 = Tensor(np.zeros(16), requires_grad=True)
    w2 = Tensor(rng.standard_normal((4, 16)) * 0.3, requires_grad=True)
    b2 = Tensor(np.zeros(4), requires_grad=True)
    params = [w1, b1, w2, b2]

    def step(i: int) -> float:
        hidden = minigrad.relu(x @ w1.T + b1)
        loss = minigrad.cross_entropy(minigrad.linear(hidden, w2, b2), y)
        loss.backward()
        with minigrad.no_grad():
            for p in params:
                p.data -= 0.05 * p.grad
                p.grad = None
        return loss.item()

    losses, memory = soak(step)
    report("raw ops", losses, memory)
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert max(memory) - memory[0] < BOUND_MB
    assert live_nodes() == 0


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc (Linux)")
def test_10000_steps_of_a_cnn_with_adam_keep_memory_flat() -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (4, 1, 6, 6)).astype(np.float32)
    y = np.array([0, 1, 2, 1])
    model = nn.from_spec(
        {
            "name": "small_cnn",
            "input_shape": [1, 6, 6],
            "layers": [
                {"type": "Conv2d", "out_channels": 2, "kernel_size": 3},
                {"type": "ReLU"},
                {"type": "Flatten"},
                {"type": "Linear", "out_features": 3},
            ],
        }
    )
    opt = Adam(model.parameters(), lr=1e-3)

    def step(i: int) -> float:
        opt.zero_grad()
        loss = minigrad.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if i % 100 == 0:
            with minigrad.no_grad():
                model(x)
        return loss.item()

    losses, memory = soak(step)
    report("CNN + Adam", losses, memory)
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert max(memory) - memory[0] < BOUND_MB
    assert live_nodes() == 0


def test_a_100000_op_graph_backpropagates_and_is_freed() -> None:
    """Deep enough to break any recursive graph walk, and freed without recursion too."""
    x = Tensor(np.array([0.5, -0.25]), requires_grad=True)
    y = x
    with gc_off():
        for i in range(100_000):
            y = y * 1.00001 if i % 2 else y + 0.5
        loss = y.sum()
        loss.backward()
    np.testing.assert_allclose(x.grad, 1.00001**50_000, rtol=1e-9)
    del y, loss  # the chain of 100,000 nodes is released here, without a stack overflow
    assert live_nodes() == 0


def test_a_100000_op_graph_without_backward_is_freed() -> None:
    x = Tensor(np.ones(1), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    del y
    assert live_nodes() == 0
