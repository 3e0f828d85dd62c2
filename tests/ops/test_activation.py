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
