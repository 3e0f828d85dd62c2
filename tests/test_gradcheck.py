"""gradcheck accepts correct VJPs and rejects wrong ones, saying where."""

import numpy as np
import pytest

import minigrad
from minigrad import Function, Tensor


class BadSquare(Function):
    """y = x^2 with a deliberately wrong VJP (x instead of 2x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return (grad * x,)


class OffByOneElement(Function):
    """Identity whose VJP is wrong in one element only."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        g = grad.copy()
        g[1, 2] += 0.01
        return (g,)


def test_accepts_a_correct_vjp():
    x = Tensor(np.array([[0.3, -1.2], [2.0, 0.7]]), requires_grad=True)
    assert minigrad.gradcheck(lambda t: (t * t).exp().sum(axis=1), [x])


def test_rejects_a_wrong_vjp_naming_input_index_and_values():
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True, name="x")
    with pytest.raises(minigrad.GradcheckError) as info:
        minigrad.gradcheck(lambda t: BadSquare.apply(t), [x])
    message = str(info.value)
    assert "input 0 ('x') of shape (3,)" in message
    assert "analytic" in message and "numeric" in message


def test_finds_a_single_wrong_element():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(minigrad.GradcheckError, match=r"at index \(1, 2\)"):
        minigrad.gradcheck(OffByOneElement.apply, [x])


def test_fast_mode_rejects_a_wrong_vjp_and_accepts_a_right_one():
    x = Tensor(np.linspace(-1, 1, 50).reshape(5, 10), requires_grad=True)
    assert minigrad.gradcheck(lambda t: minigrad.log_softmax(t), [x], fast=True)
    with pytest.raises(minigrad.GradcheckError, match="in a random direction"):
        minigrad.gradcheck(lambda t: BadSquare.apply(t), [x], fast=True)


def test_only_inputs_that_require_grad_are_checked():
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = Tensor(np.array([3.0, 4.0]))  # a constant: BadSquare on it would not be noticed
    assert minigrad.gradcheck(lambda a, b: a * BadSquare.apply(b), [a, b])


def test_inputs_are_not_modified_and_float32_is_checked_in_float64():
    data = np.array([0.5, 1.5], dtype=np.float32)
    x = Tensor(data, requires_grad=True)
    assert minigrad.gradcheck(lambda t: t * t, [x])
    np.testing.assert_array_equal(x.data, data)
    assert x.grad is None


def test_errors_for_unusable_functions():
    x = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(TypeError, match="fn must return a Tensor"):
        minigrad.gradcheck(lambda t: t.data, [x])
    with pytest.raises(ValueError, match="no input requires grad"):
        minigrad.gradcheck(lambda t: t * 2, [Tensor(np.ones(2))])
