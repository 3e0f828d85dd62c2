"""Numerics: stable softmax and losses for huge logits, and float32 that agrees with float64.

* ``log_softmax``, ``softmax`` and ``cross_entropy`` (value and gradient) stay finite and
  accurate for logits up to +-1e4 in float32 and float64, checked against an extended-precision
  reference (``np.longdouble``).
* Every op computes in float32 what it computes in float64, within float32's precision, and its
  gradients too; a float32 graph stays float32 all the way.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad
from minigrad import Tensor

DTYPES = [np.float32, np.float64]
MODELS = Path(__file__).parent.parent / "models"


def eps(dtype: Any) -> float:
    return float(np.finfo(dtype).eps)


def reference_log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """log softmax in extended precision (80-bit on x86), stable by the max shift."""
    z = z.astype(np.longdouble)
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def assert_close(got: np.ndarray, want: np.ndarray, dtype: Any, scale: float) -> None:
    """Agreement within a few units of ``dtype``'s precision, relative to ``scale``."""
    assert np.all(np.isfinite(got)), got
    tolerance = 16 * eps(dtype) * max(1.0, scale)
    np.testing.assert_allclose(
        got.astype(np.float64), want.astype(np.float64), rtol=0, atol=tolerance
    )


huge_logits = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
    elements=st.floats(-1e4, 1e4, allow_nan=False) | st.sampled_from([1e4, -1e4, 0.0]),
)


@pytest.mark.parametrize("dtype", DTYPES)
@given(z=huge_logits)
def test_log_softmax_and_softmax_for_logits_up_to_1e4(dtype: Any, z: np.ndarray) -> None:
    z = z.astype(dtype)
    want = reference_log_softmax(z)
    scale = float(np.abs(z).max())
    logp = minigrad.log_softmax(Tensor(z))
    assert logp.dtype == dtype
    assert_close(logp.data, want, dtype, scale)
    p = minigrad.softmax(Tensor(z))
    assert p.dtype == dtype
    assert_close(p.data, np.exp(want), dtype, 1.0)
    np.testing.assert_allclose(p.data.sum(axis=-1), 1.0, atol=8 * eps(dtype) * z.shape[1])


@pytest.mark.parametrize("dtype", DTYPES)
@given(z=huge_logits, data=st.data())
def test_cross_entropy_for_logits_up_to_1e4(dtype: Any, z: np.ndarray, data: Any) -> None:
    n, c = z.shape
    target = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    z = z.astype(dtype)
    want_logp = reference_log_softmax(z)
    want = -want_logp[np.arange(n), target].mean()
    logits = Tensor(z, requires_grad=True)
    loss = minigrad.cross_entropy(logits, target)
    assert loss.dtype == dtype
    assert_close(loss.data, np.asarray(want), dtype, float(np.abs(z).max()))
    loss.backward()
    onehot = np.eye(c)[target]
    assert logits.grad.dtype == dtype
    assert_close(logits.grad, (np.exp(want_logp) - onehot) / n, dtype, 1.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "row",
    [
        [1e4, -1e4],
        [-1e4, -1e4, -1e4],
        [1e4, 1e4, 1e4],
        [1e4, 1e4 - 1, -1e4],
        [-1e4, 0.0, 1e4],
        [0.0, 1e-30, -1e-30],
    ],
)
def test_extreme_rows(dtype: Any, row: list[float]) -> None:
    z = np.array([row], dtype=dtype)
    logits = Tensor(z, requires_grad=True)
    for target in range(len(row)):
        logits.zero_grad()
        loss = minigrad.cross_entropy(logits, np.array([target]))
        loss.backward()
        want = -reference_log_softmax(z)[0, target]
        assert_close(loss.data, np.asarray(want), dtype, float(np.abs(z).max()))
        assert np.all(np.isfinite(logits.grad))
        assert abs(float(logits.grad.sum())) < 8 * eps(dtype)  # yhat - y sums to 0
    # soft labels and nll_loss(log_softmax) agree with the one-op form
    soft = np.full_like(z, 1.0 / len(row))
    a = minigrad.cross_entropy(Tensor(z), soft)
    b = minigrad.nll_loss(minigrad.log_softmax(Tensor(z)), soft)
    assert np.isfinite(a.item()) and np.isclose(a.item(), b.item(), rtol=4 * eps(dtype))


# ---------------------------------------------------------------- float32 against float64

rng = np.random.default_rng(0)


def r(*shape: int, low: float = -2.0, high: float = 2.0) -> np.ndarray:
    return rng.uniform(low, high, size=shape)


def positive(*shape: int) -> np.ndarray:
    return r(*shape, low=0.2, high=3.0)


def away_from_zero(*shape: int) -> np.ndarray:
    x = r(*shape)
    return np.where(np.abs(x) < 0.1, 0.5, x)


def distinct(*shape: int) -> np.ndarray:
    return rng.permutation(np.arange(int(np.prod(shape)), dtype=np.float64)).reshape(shape) / 7


TARGET = np.array([0, 2, 1, 2])

# (name, the op on tensors, its float inputs)
MEAN, VAR = np.array([0.5, -1.0, 2.0]), np.array([0.5, 2.0, 4.0])
EVERY_OP: list[tuple[str, Callable[..., Tensor], list[np.ndarray]]] = [
    ("add", minigrad.add, [r(4, 3), r(3)]),
    ("sub", minigrad.sub, [r(4, 1), r(4, 3)]),
    ("mul", minigrad.mul, [r(2, 3), r(2, 3)]),
    ("div", minigrad.div, [r(2, 3), away_from_zero(3)]),
    ("neg", minigrad.neg, [r(5)]),
    ("exp", minigrad.exp, [r(3, 3, low=-20, high=20)]),
    ("log", minigrad.log, [positive(3, 4)]),
    ("pow", lambda x: minigrad.pow(x, 2.5), [positive(6)]),
    ("pow_negative", lambda x: x**-2, [positive(6)]),
    ("relu", minigrad.relu, [away_from_zero(4, 4)]),
    ("sum", lambda x: minigrad.sum(x, axis=1), [r(3, 50)]),
    ("sum_all", minigrad.sum, [r(1000)]),
    ("mean", lambda x: minigrad.mean(x, axis=(0, 2), keepdims=True), [r(3, 4, 5)]),
    ("reshape", lambda x: minigrad.reshape(x, (6, -1)), [r(3, 4)]),
    ("flatten", minigrad.flatten, [r(2, 3, 2, 2)]),
    ("transpose", lambda x: minigrad.transpose(x, (2, 0, 1)), [r(2, 3, 4)]),
    ("getitem", lambda x: minigrad.getitem(x, (slice(1, None), [0, 2, 2])), [r(3, 4)]),
    ("abs", minigrad.abs, [away_from_zero(3, 4)]),
    ("max", lambda x: minigrad.max(x, axis=1), [distinct(3, 5)]),
    ("min", lambda x: minigrad.min(x, axis=(0, 2), keepdims=True), [distinct(2, 3, 2)]),
    ("matmul", minigrad.matmul, [r(5, 7), r(7, 3)]),
    ("matmul_batched", minigrad.matmul, [r(2, 3, 4), r(4, 2)]),
    ("linear", minigrad.linear, [r(4, 6), r(3, 6), r(3)]),
    (
        "conv2d",
        lambda x, w, b: minigrad.conv2d(x, w, b, stride=2, padding=1),
        [r(2, 3, 7, 6), r(4, 3, 3, 3), r(4)],
    ),
    ("max_pool2d", lambda x: minigrad.max_pool2d(x, 2), [distinct(2, 2, 4, 4)]),
    ("softmax", lambda x: minigrad.softmax(x, axis=0), [r(5, 3, low=-30, high=30)]),
    ("log_softmax", minigrad.log_softmax, [r(4, 6, low=-30, high=30)]),
    ("cross_entropy", lambda z: minigrad.cross_entropy(z, TARGET), [r(4, 3, low=-30, high=30)]),
    ("cross_entropy_soft", lambda z, y: minigrad.cross_entropy(z, y), [r(4, 3), positive(4, 3)]),
    ("nll_loss", lambda z: minigrad.nll_loss(minigrad.log_softmax(z), TARGET), [r(4, 3)]),
    ("leaky_relu", lambda x: minigrad.leaky_relu(x, 0.2), [away_from_zero(4, 4)]),
    ("tanh", minigrad.tanh, [r(3, 5, low=-5, high=5)]),
    ("sigmoid", minigrad.sigmoid, [r(3, 5, low=-30, high=30)]),
    ("avg_pool2d", lambda x: minigrad.avg_pool2d(x, 3, 2, 1), [r(2, 3, 7, 6)]),
    (
        "batch_norm",
        lambda x, w, b: minigrad.batch_norm(x, None, None, w, b, training=True),
        [r(4, 3, 5, 5), r(3), r(3)],
    ),
    (
        "batch_norm_eval",
        lambda x, w, b: minigrad.batch_norm(x, MEAN, VAR, w, b),
        [r(6, 3), r(3), r(3)],
    ),
    ("dropout", lambda x: minigrad.dropout(x, 0.3, rng=0), [r(4, 5)]),
    ("concat", lambda a, b: minigrad.concat([a, b], axis=1), [r(2, 3, 2), r(2, 1, 2)]),
]


@pytest.mark.parametrize(("fn", "arrays"), [pytest.param(f, a, id=n) for n, f, a in EVERY_OP])
def test_float32_agrees_with_float64_for_every_op(
    fn: Callable[..., Tensor], arrays: list[np.ndarray]
) -> None:
    """Same inputs (rounded to float32): outputs and gradients agree to float32 precision."""
    arrays = [a.astype(np.float32).astype(np.float64) for a in arrays]  # exactly representable
    results = {}
    for dtype in DTYPES:
        inputs = [Tensor(a.astype(dtype), requires_grad=True) for a in arrays]
        out = fn(*inputs)
        assert out.dtype == dtype, f"{dtype.__name__} inputs gave a {out.dtype} output"
        v = np.linspace(-1, 1, out.size).reshape(out.shape).astype(dtype)
        out.backward(v)
        grads = [t.grad for t in inputs]
        assert all(g is None or g.dtype == dtype for g in grads)
        results[dtype] = (out.data, grads)
    (out32, grads32), (out64, grads64) = results[np.float32], results[np.float64]
    # float32 rounds each intermediate to 24 bits: allow a few ulps of the largest magnitude
    # involved, times the number of terms a reduction adds up (at most a few thousand here)
    tol32 = 64 * eps(np.float32)
    scale = max(1.0, float(np.abs(out64).max(initial=0)))
    np.testing.assert_allclose(out32, out64, rtol=tol32, atol=tol32 * scale)
    for g32, g64 in zip(grads32, grads64, strict=True):
        if g64 is not None:
            gscale = max(1.0, float(np.abs(g64).max(initial=0)))
            np.testing.assert_allclose(g32, g64, rtol=tol32, atol=tol32 * gscale)


def test_every_op_is_covered_by_the_float32_check() -> None:
    names = {
        n.split("_")[0] if n.startswith(("matmul_", "pow_")) else n.removesuffix("_eval")
        for n, _, _ in EVERY_OP
    }
    names |= {"cross_entropy", "nll_loss", "log_softmax", "max_pool2d"}
    assert set(minigrad.ops.__all__) <= names, set(minigrad.ops.__all__) - names


def test_a_float32_model_stays_float32_and_agrees_with_float64() -> None:
    from minigrad import nn

    x = rng.uniform(0, 1, size=(8, 1, 8, 8))
    y = np.arange(8) % 10
    losses = {}
    for dtype in DTYPES:
        model = nn.from_spec(MODELS / "seed_cnn.toml", dtype=dtype, seed=3)
        loss = minigrad.cross_entropy(model(x.astype(dtype)), y)
        loss.backward()
        assert loss.dtype == dtype
        assert all(p.grad.dtype == dtype for p in model.parameters())
        losses[dtype] = loss.item()
    assert losses[np.float32] == pytest.approx(losses[np.float64], rel=1e-5)
