"""Grad mode, anomaly mode and module scopes are per thread; training in threads is independent.

The modes are context variables, so a ``no_grad()`` in one thread never turns recording off in
another, and one ``@no_grad()`` function can run in many threads at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

import minigrad
from minigrad import Tensor, nn
from minigrad.optim import SGD

THREADS = 8


def run_threads(target: Callable[[int], Any], n: int = THREADS) -> list[Any]:
    """Run ``target(i)`` in ``n`` threads started together; re-raise the first failure."""
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            results[i] = target(i)
        except BaseException as exc:  # re-raised in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    if errors:
        raise errors[0]
    return results


def test_grad_mode_is_per_thread_under_contention() -> None:
    """Half the threads record, half are in no_grad, interleaved step by step by a barrier."""
    barrier = threading.Barrier(THREADS)
    w = Tensor(np.ones(3), requires_grad=True)

    def worker(i: int) -> list[bool]:
        seen = []
        for _ in range(50):
            if i % 2:
                with minigrad.no_grad():
                    barrier.wait()
                    seen.append((w * 2).requires_grad is False)
            else:
                barrier.wait()
                seen.append((w * 2).requires_grad is True)
        return seen

    assert all(all(s) for s in run_threads(worker))
    assert minigrad.is_grad_enabled()


def test_one_no_grad_function_runs_in_many_threads_at_once() -> None:
    barrier = threading.Barrier(THREADS)
    w = Tensor(np.ones(3), requires_grad=True)

    @minigrad.no_grad()
    def evaluate(i: int) -> bool:
        barrier.wait()  # every thread is inside the same decorated function now
        inside = (w * i).requires_grad
        barrier.wait()
        return inside

    assert run_threads(evaluate) == [False] * THREADS
    assert minigrad.is_grad_enabled() and (w * 2).requires_grad


def test_enable_grad_inside_no_grad_in_threads() -> None:
    w = Tensor(np.ones(2), requires_grad=True)
    barrier = threading.Barrier(THREADS)

    def worker(i: int) -> tuple[bool, bool, bool]:
        with minigrad.no_grad():
            barrier.wait()
            with minigrad.enable_grad():
                barrier.wait()
                inner = (w * 2).requires_grad
            barrier.wait()
            outer = (w * 2).requires_grad
        return inner, outer, minigrad.is_grad_enabled()

    assert run_threads(worker) == [(True, False, True)] * THREADS


def test_a_new_thread_starts_with_grad_enabled() -> None:
    with minigrad.no_grad():
        (inside,) = run_threads(lambda i: minigrad.is_grad_enabled(), n=1)
    assert inside is True


def test_training_in_threads_matches_training_alone() -> None:
    """Each thread trains its own model on a shared one; results equal a single-thread run."""
    x = np.random.default_rng(0).standard_normal((16, 1, 8, 8)).astype(np.float32)
    y = np.arange(16) % 10

    def train(seed: int) -> np.ndarray:
        model = nn.from_spec(
            {
                "name": "mlp",
                "input_shape": [1, 8, 8],
                "layers": [
                    {"type": "Flatten"},
                    {"type": "Linear", "out_features": 16},
                    {"type": "ReLU"},
                    {"type": "Linear", "out_features": 10},
                ],
            },
            seed=seed,
        )
        opt = SGD(model.parameters(), lr=0.1)
        for step in range(30):
            opt.zero_grad()
            loss = minigrad.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            if step % 3 == 0:
                with minigrad.no_grad():  # an evaluation between steps, as a real loop does
                    model(x)
        return np.concatenate([p.data.ravel() for p in model.parameters()])

    alone = [train(i % 4) for i in range(4)]
    together = run_threads(lambda i: train(i % 4))
    for i, params in enumerate(together):
        np.testing.assert_array_equal(params, alone[i % 4])


def test_one_model_called_from_many_threads_scopes_each_graph_correctly() -> None:
    model = nn.Sequential(nn.Linear(4, 3, rng=np.random.default_rng(1)), nn.ReLU())
    x = np.ones((2, 4), dtype=np.float32)
    barrier = threading.Barrier(THREADS)

    def worker(i: int) -> set[tuple[str, ...]]:
        barrier.wait()
        out = model(x * (i + 1))
        return {node.scope for node in minigrad.engine.graph_nodes(out)}

    scopes = run_threads(worker)
    assert all(s == scopes[0] for s in scopes)
    assert all(scope and scope[0] == "Sequential" for scope in scopes[0])


def test_backward_in_threads_on_separate_graphs() -> None:
    def worker(i: int) -> np.ndarray:
        x = Tensor(np.full(5, float(i)), requires_grad=True)
        y = x
        for _ in range(200):
            y = y * 1.01 + x * 0.001
        y.sum().backward()
        return x.grad

    grads = run_threads(worker)
    for g in grads[1:]:
        np.testing.assert_array_equal(g, grads[0])  # the gradient does not depend on x here
