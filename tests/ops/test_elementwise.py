"""Elementwise ops: forward against NumPy, VJPs against finite differences, broadcasting."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad.testing import arrays, broadcastable_shapes, check_op, shapes

BINARY = [
    (minigrad.add, np.add),
    (minigrad.sub, np.subtract),
    (minigrad.mul, np.multiply),
]


@pytest.mark.parametrize(("op", "reference"), BINARY, ids=lambda f: getattr(f, "__name__", ""))
@given(data=st.data())
def test_binary_ops_broadcast_like_numpy(op, reference, data):
    shape_a, shape_b = data.draw(broadcastable_shapes())
    a = data.draw(arrays(shape_a))
    b = data.draw(arrays(shape_b))
    check_op(op, reference, a, b)


@given(data=st.data())
def test_div(data):
    shape_a, shape_b = data.draw(broadcastable_shapes())
    a = data.draw(arrays(shape_a))
    b = data.draw(arrays(shape_b, min_value=0.5, max_value=3.0))
    b = b * data.draw(st.sampled_from([1.0, -1.0]))
    check_op(minigrad.div, np.divide, a, b)


@pytest.mark.parametrize(
    ("op", "reference", "low"),
    [(minigrad.neg, np.negative, -3.0), (minigrad.exp, np.exp, -3.0), (minigrad.log, np.log, 0.2)],
    ids=["neg", "exp", "log"],
)
@given(data=st.data())
def test_unary_ops(op, reference, low, data):
    x = data.draw(arrays(shapes(), min_value=low))
    check_op(op, reference, x)


@given(x=arrays(shapes(), min_value=0.2), p=st.sampled_from([2, 3, 0.5, -1.0, 1.5]))
def test_pow(x, p):
    check_op(lambda t: minigrad.pow(t, p), lambda a: a**p, x)


def test_operators_call_the_same_functions():
    a = minigrad.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = minigrad.Tensor(np.array([3.0, 5.0]), requires_grad=True)
    assert (a + b).grad_fn.name == "add"
    assert (a - b).grad_fn.name == "sub"
    assert (a * b).grad_fn.name == "mul"
    assert (a / b).grad_fn.name == "div"
    assert (-a).grad_fn.name == "neg"
    assert (a**2).grad_fn.name == "pow"
    np.testing.assert_allclose((2 - a).data, [1.0, 0.0])
    np.testing.assert_allclose((6 / a).data, [6.0, 3.0])
    np.testing.assert_allclose((np.array([1.0, 1.0]) + a).data, [2.0, 3.0])


def test_python_numbers_take_the_tensor_dtype():
    x = minigrad.Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    y = x * 2.5 + 1
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, [2.5, 2.5, 2.5])


def test_mixed_float_dtypes_promote_and_cast_gradients_back():
    a = minigrad.Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    b = minigrad.Tensor(np.full(2, 3.0), requires_grad=True)
    y = a * b
    assert y.dtype == np.float64
    assert y.grad_fn.parents[0].grad_fn.name == "cast"
    y.sum().backward()
    assert a.grad.dtype == np.float32
    assert b.grad.dtype == np.float64
    np.testing.assert_allclose(a.grad, [3.0, 3.0])


def test_broadcast_gradient_is_summed_to_the_input_shape():
    a = minigrad.Tensor(np.ones((2, 3)), requires_grad=True)
    b = minigrad.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    (a * b).sum().backward()
    np.testing.assert_allclose(b.grad, [2.0, 2.0, 2.0])
    np.testing.assert_allclose(a.grad, [[1.0, 2.0, 3.0]] * 2)


def test_shapes_that_do_not_broadcast_are_a_clear_error():
    with pytest.raises(
        minigrad.ShapeError, match=r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"
    ):
        minigrad.Tensor(np.ones((2, 3))) + minigrad.Tensor(np.ones(4))


@given(x=arrays(shapes(), min_magnitude=0.1))
def test_abs(x):
    """abs against NumPy and finite differences, away from the kink at 0."""
    check_op(minigrad.abs, np.abs, x)
    check_op(abs, np.abs, x)


def test_abs_gradient_is_the_sign_and_zero_at_zero():
    """The hand formula: dL/dx = dL/dy * sign(x), with sign(0) = 0 as in PyTorch."""
    x = minigrad.Tensor(np.array([-2.0, -0.0, 0.0, 3.0]), requires_grad=True)
    v = np.array([5.0, 7.0, 11.0, 13.0])
    abs(x).backward(v)
    np.testing.assert_array_equal(x.grad, v * np.sign(x.data))
    np.testing.assert_array_equal(x.grad, [-5.0, 0.0, 0.0, 13.0])
    assert x.abs().grad_fn.name == "abs"
