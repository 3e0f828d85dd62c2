"""relu, softmax and log_softmax; the design document's ReLU mask."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad.testing import arrays, check_op, shapes


def np_log_softmax(a, axis):
    shifted = a - a.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


@given(x=arrays(shapes(), min_magnitude=1e-3))
def test_relu(x):
    check_op(minigrad.relu, lambda a: np.maximum(a, 0), x)


@given(x=arrays(shapes()), data=st.data())
def test_log_softmax(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    check_op(lambda t: minigrad.log_softmax(t, axis=axis), lambda a: np_log_softmax(a, axis), x)


@given(x=arrays(shapes()), data=st.data())
def test_softmax(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    check_op(lambda t: minigrad.softmax(t, axis=axis), lambda a: np.exp(np_log_softmax(a, axis)), x)


def test_relu_gradient_is_the_design_document_mask():
    # dL/dZc = dL/dAc * 1(Zc > 0)
    z = np.array([[-4.0, 0.0, 2.5], [1.0, -0.5, 3.0]])
    upstream = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    t = minigrad.Tensor(z, requires_grad=True)
    minigrad.relu(t).backward(upstream)
    np.testing.assert_array_equal(t.grad, upstream * (z > 0))


def test_log_softmax_axis_out_of_range():
    with pytest.raises(minigrad.ShapeError, match="log_softmax: axis 2 is out of range"):
        minigrad.log_softmax(minigrad.Tensor(np.ones((2, 3))), axis=2)


@given(x=arrays(shapes(), min_magnitude=1e-3), slope=st.floats(-2.0, 2.0))
def test_leaky_relu(x, slope):
    check_op(
        lambda t: minigrad.leaky_relu(t, negative_slope=slope),
        lambda a: np.where(a > 0, a, slope * a),
        x,
    )


@given(x=arrays(shapes()))
def test_tanh(x):
    check_op(minigrad.tanh, np.tanh, x)


@given(x=arrays(shapes(), min_value=-8.0, max_value=8.0))
def test_sigmoid(x):
    check_op(minigrad.sigmoid, lambda a: 1 / (1 + np.exp(-a)), x)


def test_tanh_and_sigmoid_gradients_are_their_output_formulas():
    # d tanh = 1 - y^2, d sigmoid = y (1 - y): the forms the derivation page derives
    z = np.array([-2.0, -0.5, 0.0, 1.5])
    upstream = np.array([1.0, -2.0, 3.0, 0.5])
    for fn, formula in (
        (minigrad.tanh, lambda y: 1 - y**2),
        (minigrad.sigmoid, lambda y: y * (1 - y)),
    ):
        t = minigrad.Tensor(z, requires_grad=True)
        y = fn(t)
        y.backward(upstream)
        np.testing.assert_allclose(t.grad, upstream * formula(y.data), rtol=1e-15)


def test_sigmoid_saturates_without_overflow():
    with np.errstate(over="raise", invalid="raise"):
        y = minigrad.sigmoid(minigrad.Tensor(np.array([-1000.0, 1000.0], dtype=np.float32)))
    np.testing.assert_array_equal(y.data, [0.0, 1.0])
    assert y.dtype == np.float32


def test_leaky_relu_defaults_to_pytorch_slope_and_checks_it():
    np.testing.assert_allclose(minigrad.leaky_relu(minigrad.Tensor([-1.0, 2.0])).data, [-0.01, 2.0])
    with pytest.raises(minigrad.ArgumentError, match="leaky_relu: negative_slope must be a finite"):
        minigrad.leaky_relu(minigrad.Tensor([1.0]), negative_slope="0.1")
