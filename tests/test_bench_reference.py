"""The benchmark's hand-written NumPy reference computes what minigrad computes.

``bench/reference.py`` is the ceiling minigrad's speed is measured against; a ratio means
something only if both sides do the same arithmetic. Checked in float64, tightly.
"""

import numpy as np
import pytest

import minigrad
from bench.contenders import MinigradCNN, MinigradOpsCNN, NumpyCNN
from bench.reference import conv2d_backward, conv2d_forward, init_cnn
from bench.tape import TapeCNN


@pytest.mark.parametrize("batch", [1, 5])
@pytest.mark.parametrize("system", [MinigradCNN, MinigradOpsCNN, TapeCNN])
def test_cnn_loss_and_gradients_match_minigrad(system, batch):
    rng = np.random.default_rng(batch)
    params = init_cnn(rng, dtype=np.float64)
    x = rng.random((batch, 1, 28, 28))
    t = rng.integers(0, 10, batch)
    want_loss, want = NumpyCNN(params, 0.1).grads(x, t)
    got_loss, got = system(params, 0.1).grads(x, t)
    assert got_loss == pytest.approx(want_loss, rel=1e-12)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


def test_sgd_steps_match_minigrad():
    rng = np.random.default_rng(7)
    params = init_cnn(rng, size=12, dtype=np.float64)
    x, t = rng.random((6, 1, 12, 12)), rng.integers(0, 10, 6)
    ref, mg, tape = NumpyCNN(params, 0.05), MinigradCNN(params, 0.05), TapeCNN(params, 0.05)
    for i in range(6):
        want = ref.step(x[i : i + 1], t[i : i + 1])
        assert mg.step(x[i : i + 1], t[i : i + 1]) == pytest.approx(want, rel=1e-12)
        assert tape.step(x[i : i + 1], t[i : i + 1]) == pytest.approx(want, rel=1e-12)
    for p, q, r in zip(mg.model.parameters(), tape.params, ref.params.arrays(), strict=True):
        np.testing.assert_allclose(p.data, r, rtol=1e-12)
        np.testing.assert_allclose(q.data, r, rtol=1e-12)


# Both sides of im2col's size switch (np.take for small inputs, sliding windows for large).
@pytest.mark.parametrize("shape", [(1, 1, 28, 28, 8), (3, 2, 9, 7, 4), (64, 1, 28, 28, 8)])
def test_conv2d_matches_minigrad(shape):
    n, c, h, w, f = shape
    rng = np.random.default_rng(0)
    x, wt = rng.standard_normal((n, c, h, w)), rng.standard_normal((f, c, 3, 3))
    b, gy = rng.standard_normal(f), rng.standard_normal((n, f, h - 2, w - 2))
    y, cols = conv2d_forward(x, wt, b)
    gx, gw, gb = conv2d_backward(gy, cols, x.shape, wt)
    tx, tw, tb = (minigrad.Tensor(a, requires_grad=True) for a in (x, wt, b))
    ty = minigrad.conv2d(tx, tw, tb)
    ty.backward(gy)
    for got, want in ((ty.data, y), (tx.grad, gx), (tw.grad, gw), (tb.grad, gb)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
