"""The floor under any recording framework: a bare tape around the reference's NumPy calls.

``TapeCNN`` trains the design document's CNN the way an autograd framework does, by recording
each op's VJP on a tape during the forward pass and walking the tape backwards, but with
nothing else: no argument checks, no shape or dtype checks of the gradients, no version
counters or read-only saved arrays, no hooks, modules or optimiser objects. Its NumPy calls
are :mod:`bench.reference`'s, so the distance from ``numpy`` to ``tape`` is what recording a
graph in Python costs at the least, and the distance from ``tape`` to ``minigrad`` is what
minigrad's guarantees cost. It is a yardstick, not a framework: it knows five ops and trusts
its inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from bench.reference import CNNParams, conv2d_forward

__all__ = ["TapeCNN"]

VJP = Callable[[Any, np.ndarray], tuple[np.ndarray | None, ...]]


class Var:
    """An array on the tape: ``grad`` for a parameter, ``step`` for an op's output."""

    __slots__ = ("data", "grad", "step")

    def __init__(self, data: np.ndarray, step: Step | None = None) -> None:
        self.data, self.grad, self.step = data, None, step


class Step:
    """One recorded op: its VJP, its inputs (None: no gradient wanted) and what it saved."""

    __slots__ = ("inputs", "saved", "vjp")

    def __init__(self, vjp: VJP, inputs: tuple[Var | None, ...], saved: Any) -> None:
        self.vjp, self.inputs, self.saved = vjp, inputs, saved


class Tape:
    """The steps of one forward pass, walked backwards once."""

    def __init__(self) -> None:
        self.steps: list[Step] = []

    def record(self, out: np.ndarray, vjp: VJP, inputs: tuple[Var | None, ...], saved: Any) -> Var:
        step = Step(vjp, inputs, saved)
        self.steps.append(step)
        return Var(out, step)

    def backward(self, root: Var) -> None:
        """Each step's VJP once, in reverse order, with the sum of what reached it."""
        assert root.step is not None
        pending: dict[Step, np.ndarray] = {root.step: np.ones((), root.data.dtype)}
        for step in reversed(self.steps):
            g = pending.pop(step, None)
            if g is None:
                continue
            for var, vg in zip(step.inputs, step.vjp(step.saved, g), strict=True):
                if var is None or vg is None:
                    continue
                if var.step is None:
                    var.grad = vg if var.grad is None else var.grad + vg
                else:
                    sent = pending.get(var.step)
                    pending[var.step] = vg if sent is None else sent + vg
        self.steps.clear()


def _conv_vjp(saved: tuple[np.ndarray, tuple[int, ...]], g: np.ndarray) -> tuple[Any, ...]:
    cols, w_shape = saved
    n, f = g.shape[:2]
    g = g.reshape(n, f, -1)
    gw = np.matmul(g, cols.transpose(0, 2, 1)).sum(axis=0).reshape(w_shape)
    return None, gw, g.sum(axis=(0, 2))


def _relu_vjp(mask: np.ndarray, g: np.ndarray) -> tuple[np.ndarray]:
    return (g * mask,)


def _flatten_vjp(shape: tuple[int, ...], g: np.ndarray) -> tuple[np.ndarray]:
    return (g.reshape(shape),)


def _linear_vjp(saved: tuple[np.ndarray, np.ndarray], g: np.ndarray) -> tuple[np.ndarray, ...]:
    x, w = saved
    gw = g.T * x if x.shape[0] == 1 else np.dot(g.T, x)
    return np.dot(g, w), gw, g.sum(axis=0)


def _cross_entropy_vjp(saved: tuple[np.ndarray, np.ndarray], g: np.ndarray) -> tuple[Any, ...]:
    yhat, target = saved
    n = len(target)
    yhat[np.arange(n), target] -= 1  # yhat - y
    yhat *= g / n
    return yhat, None


class TapeCNN:
    """The design document's CNN on a :class:`Tape`, trained with in-place SGD."""

    def __init__(self, params: CNNParams, lr: float) -> None:
        self.params = [Var(a.copy()) for a in params.arrays()]
        self.lr = lr

    def _loss(self, tape: Tape, x: np.ndarray, target: np.ndarray) -> Var:
        conv_w, conv_b, dense_w, dense_b = self.params
        zc, cols = conv2d_forward(x, conv_w.data, conv_b.data)
        z = tape.record(zc, _conv_vjp, (None, conv_w, conv_b), (cols, conv_w.data.shape))
        a = tape.record(np.maximum(zc, 0), _relu_vjp, (z,), zc > 0)
        af = a.data.reshape(len(x), -1)
        f = tape.record(af, _flatten_vjp, (a,), zc.shape)
        zd = np.dot(af, dense_w.data.T)
        zd += dense_b.data
        d = tape.record(zd, _linear_vjp, (f, dense_w, dense_b), (af, dense_w.data))
        shifted = zd - zd.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        s = e.sum(axis=1, keepdims=True)
        loss = -(shifted[np.arange(len(x)), target] - np.log(s[:, 0])).mean()
        return tape.record(np.asarray(loss), _cross_entropy_vjp, (d, None), (e / s, target))

    def grads(self, x: np.ndarray, target: np.ndarray) -> tuple[float, list[np.ndarray]]:
        for p in self.params:
            p.grad = None
        tape = Tape()
        loss = self._loss(tape, x, target)
        tape.backward(loss)
        return float(loss.data), [p.grad for p in self.params]  # type: ignore[misc]

    def step(self, x: np.ndarray, target: np.ndarray) -> float:
        loss, grads = self.grads(x, target)
        for p, g in zip(self.params, grads, strict=True):
            p.data -= self.lr * g  # W <- W - eta dL/dW
        return loss
