"""batch_norm: forward against NumPy, the closed-form VJP against finite differences and
against the graph of its pieces, and the running statistics as PyTorch updates them."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import minigrad
from minigrad.testing import arrays, check_op


def np_batch_norm(x, mean, var, w=None, b=None, eps=1e-5):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return y if w is None else y * w.reshape(shape) + b.reshape(shape)


def channel_axes(x):
    return (0, *range(2, x.ndim))


@st.composite
def bn_inputs(draw):
    """(N, C) or (N, C, H, W) with at least two values per channel, spread apart."""
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    shape = (
        (n, c) if draw(st.booleans()) else (n, c, draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    )
    assume(np.prod(shape) // c >= 2)
    x = draw(arrays(shape))
    # finite differences need the variance well away from 0 (where 1/sqrt(var + eps) explodes)
    assume(x.var(axis=channel_axes(x)).min() > 0.1)
    return x


@given(x=bn_inputs(), affine=st.booleans(), data=st.data())
def test_batch_norm_training(x, affine, data):
    c = x.shape[1]
    ref_stats = (x.mean(axis=channel_axes(x)), x.var(axis=channel_axes(x)))
    if affine:
        w, b = data.draw(arrays((c,))), data.draw(arrays((c,)))
        check_op(
            lambda x, w, b: minigrad.batch_norm(x, None, None, w, b, training=True),
            lambda x, w, b: np_batch_norm(x, *ref_stats, w, b),
            x,
            w,
            b,
        )
    else:
        check_op(
            lambda x: minigrad.batch_norm(x, None, None, training=True),
            lambda x: np_batch_norm(x, *ref_stats),
            x,
        )


@given(x=bn_inputs(), data=st.data())
def test_batch_norm_evaluation(x, data):
    c = x.shape[1]
    mean = data.draw(arrays((c,)))
    var = data.draw(arrays((c,), min_value=0.1, max_value=4.0))
    w, b = data.draw(arrays((c,))), data.draw(arrays((c,)))
    check_op(
        lambda x, w, b: minigrad.batch_norm(x, mean, var, w, b, training=False),
        lambda x, w, b: np_batch_norm(x, mean, var, w, b),
        x,
        w,
        b,
    )


def composed_batch_norm(x, w, b, eps=1e-5):
    """Batch norm as a graph of minigrad's elementwise and reduce ops (no closed form)."""
    axes = channel_axes(x)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mu = x.mean(axis=axes, keepdims=True)
    d = x - mu
    var = (d * d).mean(axis=axes, keepdims=True)
    xhat = d / (var + eps) ** 0.5
    return xhat * w.reshape(shape) + b.reshape(shape)


@given(x=bn_inputs(), data=st.data())
def test_batch_norm_closed_form_vjp_equals_the_graph_of_its_pieces(x, data):
    c = x.shape[1]
    w, b = data.draw(arrays((c,))), data.draw(arrays((c,)))
    upstream = data.draw(arrays(x.shape))
    grads = []
    for fn in (
        lambda x, w, b: minigrad.batch_norm(x, None, None, w, b, training=True),
        composed_batch_norm,
    ):
        ts = [minigrad.Tensor(a, requires_grad=True) for a in (x, w, b)]
        fn(*ts).backward(upstream)
        grads.append([t.grad for t in ts])
    for closed, composed in zip(*grads, strict=True):
        np.testing.assert_allclose(closed, composed, rtol=1e-9, atol=1e-10)


def test_batch_norm_vjp_is_one_node():
    x = minigrad.Tensor(np.random.default_rng(0).standard_normal((4, 3)), requires_grad=True)
    y = minigrad.batch_norm(x, None, None, training=True)
    assert y.grad_fn.name == "batch_norm" and y.grad_fn.parents[0] is x


def test_batch_norm_input_gradient_is_the_derivation_formula():
    # dL/dx = (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) / sqrt(var + eps), dxhat = g gamma
    rng = np.random.default_rng(1)
    x, g = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    gamma, beta = np.array([2.0, -0.5]), np.array([0.1, 0.2])
    t = minigrad.Tensor(x, requires_grad=True)
    minigrad.batch_norm(t, None, None, gamma, beta, training=True).backward(g)
    inv_std = 1 / np.sqrt(x.var(axis=0) + 1e-5)
    xhat = (x - x.mean(axis=0)) * inv_std
    dxhat = g * gamma
    expected = (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0)) * inv_std
    np.testing.assert_allclose(t.grad, expected, rtol=1e-13)


def test_running_statistics_use_the_unbiased_variance():
    x = np.array([[1.0, 10.0], [3.0, 30.0], [5.0, 20.0]])
    rm, rv = np.array([0.0, 1.0]), np.array([1.0, 2.0])
    minigrad.batch_norm(x, rm, rv, training=True, momentum=0.25)
    np.testing.assert_allclose(rm, 0.75 * np.array([0.0, 1.0]) + 0.25 * x.mean(axis=0))
    np.testing.assert_allclose(rv, 0.75 * np.array([1.0, 2.0]) + 0.25 * x.var(axis=0, ddof=1))


def test_running_statistics_of_images_count_every_pixel():
    x = np.random.default_rng(2).standard_normal((2, 3, 4, 5)).astype(np.float32)
    rm = minigrad.Tensor(np.zeros(3, np.float32))
    rv = minigrad.Tensor(np.ones(3, np.float32))
    minigrad.batch_norm(x, rm, rv, training=True)
    np.testing.assert_allclose(rm.data, 0.1 * x.mean(axis=(0, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(rv.data, 0.9 + 0.1 * x.var(axis=(0, 2, 3), ddof=1), rtol=1e-5)
    assert rm.dtype == np.float32


def test_evaluation_leaves_the_running_statistics_alone():
    rm, rv = np.array([1.0]), np.array([4.0])
    y = minigrad.batch_norm(np.array([[3.0], [5.0]]), rm, rv, training=False, eps=0.0 + 1e-12)
    np.testing.assert_allclose(y.data, [[1.0], [2.0]])
    np.testing.assert_array_equal((rm, rv), ([1.0], [4.0]))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: minigrad.batch_norm(np.ones(3), None, None, training=True),
            minigrad.ShapeError,
            r"batch_norm: expected an input of shape \(N, C\) or \(N, C, H, W\), got shape \(3,\)",
        ),
        (
            lambda: minigrad.batch_norm(np.ones((1, 3)), None, None, training=True),
            minigrad.ShapeError,
            "batch_norm: training needs more than one value per channel",
        ),
        (
            lambda: minigrad.batch_norm(np.ones((2, 3)), np.zeros(4), np.ones(4)),
            minigrad.ShapeError,
            r"batch_norm: the mean must have shape \(3,\)",
        ),
        (
            lambda: minigrad.batch_norm(np.ones((2, 3)), None, None),
            minigrad.ShapeError,
            "batch_norm: evaluation .* needs running_mean and running_var",
        ),
        (
            lambda: minigrad.batch_norm(np.ones((2, 3)), None, None, training=True, momentum=2),
            minigrad.ArgumentRangeError,
            r"batch_norm: momentum must be in \[0, 1\]",
        ),
    ],
)
def test_batch_norm_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_a_failed_check_leaves_the_running_statistics_alone():
    rm, rv = np.zeros(2), np.ones(2)
    with pytest.raises(minigrad.ShapeError):
        minigrad.batch_norm(np.ones((4, 2)), rm, rv, np.ones(3), np.ones(3), training=True)
    np.testing.assert_array_equal((rm, rv), ([0.0, 0.0], [1.0, 1.0]))


@given(x=bn_inputs(), data=st.data())
def test_batch_norm_input_gradient_is_orthogonal_to_shifts_and_scalings(x, data):
    # y does not change when x is shifted or scaled per channel, so dL/dx has no component
    # along 1 or along xhat: sum dL/dx = 0 and sum dL/dx * xhat = 0 per channel (exactly so
    # for eps -> 0: eps makes the output change a little with the scale of x)
    upstream = data.draw(arrays(x.shape))
    t = minigrad.Tensor(x, requires_grad=True)
    minigrad.batch_norm(t, None, None, training=True, eps=1e-14).backward(upstream)
    axes = channel_axes(x)
    xhat = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True))
    scale = np.abs(t.grad).max() + 1
    np.testing.assert_allclose(t.grad.sum(axis=axes), 0, atol=1e-12 * scale * x.size)
    np.testing.assert_allclose((t.grad * xhat).sum(axis=axes), 0, atol=1e-12 * scale * x.size)


def test_a_missing_weight_or_bias_is_one_or_zero():
    x = np.random.default_rng(5).standard_normal((4, 2))
    plain = minigrad.batch_norm(x, None, None, training=True).data
    w = minigrad.Tensor(np.array([2.0, 3.0]), requires_grad=True)
    scaled = minigrad.batch_norm(x, None, None, weight=w, training=True)
    np.testing.assert_allclose(scaled.data, plain * [2.0, 3.0])
    scaled.sum().backward()
    assert w.grad.shape == (2,)
    shifted = minigrad.batch_norm(x, None, None, bias=np.array([1.0, -1.0]), training=True)
    np.testing.assert_allclose(shifted.data, plain + np.array([1.0, -1.0]))


def test_batch_norm_of_an_empty_batch_in_evaluation():
    """No samples: an empty output and an empty gradient, as for any other op."""
    x = minigrad.Tensor(np.zeros((0, 3, 4, 4)), requires_grad=True)
    gamma = minigrad.Tensor(np.ones(3), requires_grad=True)
    y = minigrad.batch_norm(x, np.zeros(3), np.ones(3), gamma, np.zeros(3), training=False)
    y.backward(np.zeros(y.shape))
    assert y.shape == x.grad.shape == (0, 3, 4, 4)
    np.testing.assert_array_equal(gamma.grad, np.zeros(3))
