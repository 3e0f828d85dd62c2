"""Shape ops: reshape, flatten, transpose."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad.testing import arrays, check_op, shapes


@given(x=arrays(shapes()), data=st.data())
def test_reshape(x, data):
    target = data.draw(st.permutations(x.shape)).copy()
    if target and data.draw(st.booleans()):
        target[data.draw(st.integers(0, len(target) - 1))] = -1
    check_op(lambda t: minigrad.reshape(t, target), lambda a: a.reshape(target), x)


@given(x=arrays(shapes(min_dims=1)), data=st.data())
def test_flatten(x, data):
    start = data.draw(st.integers(0, x.ndim - 1))
    expected = lambda a: a.reshape(*a.shape[:start], -1)  # noqa: E731
    check_op(lambda t: minigrad.flatten(t, start_axis=start), expected, x)


@given(x=arrays(shapes()), data=st.data())
def test_transpose(x, data):
    axes = tuple(data.draw(st.permutations(range(x.ndim))))
    check_op(lambda t: minigrad.transpose(t, axes), lambda a: np.transpose(a, axes), x)
    check_op(lambda t: t.T, lambda a: a.T, x)


def test_method_forms():
    t = minigrad.Tensor(np.arange(24.0).reshape(2, 3, 4))
    assert t.reshape(6, 4).shape == (6, 4)
    assert t.reshape((4, 6)).shape == (4, 6)
    assert t.flatten().shape == (2, 12)
    assert t.transpose(2, 0, 1).shape == (4, 2, 3)


def test_reshape_to_a_wrong_size():
    with pytest.raises(
        minigrad.ShapeError, match=r"reshape: cannot reshape .* \(2, 3\) .*6 elements.* \(4,\)"
    ):
        minigrad.reshape(minigrad.Tensor(np.ones((2, 3))), (4,))


def test_transpose_needs_a_permutation():
    with pytest.raises(minigrad.ShapeError, match="not a permutation"):
        minigrad.transpose(minigrad.Tensor(np.ones((2, 3))), (0, 0))


@given(data=st.data())
def test_concat(data):
    shape = data.draw(shapes(max_dims=3))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    xs = []
    for _ in range(data.draw(st.integers(1, 3))):
        piece = list(shape)
        piece[axis] = data.draw(st.integers(1, 3))
        xs.append(data.draw(arrays(tuple(piece))))
    check_op(
        lambda *ts: minigrad.concat(ts, axis=axis),
        lambda *a: np.concatenate(a, axis=axis),
        *xs,
    )


def test_concat_cuts_the_gradient_back_into_pieces():
    a = minigrad.Tensor(np.ones((1, 2)), requires_grad=True)
    b = minigrad.Tensor(np.ones((1, 3)), requires_grad=True)
    minigrad.concat([a, b], axis=1).backward(np.array([[1.0, 2.0, 3.0, 4.0, 5.0]]))
    np.testing.assert_array_equal(a.grad, [[1.0, 2.0]])
    np.testing.assert_array_equal(b.grad, [[3.0, 4.0, 5.0]])


def test_concat_errors():
    with pytest.raises(
        minigrad.ShapeError,
        match=r"concat: input 1 has shape \(2, 2\), but input 0 has shape \(1, 3\); they must agree on every axis but 1",
    ):
        minigrad.concat([np.ones((1, 3)), np.ones((2, 2))], axis=1)
    with pytest.raises(minigrad.ArgumentError, match="concat: xs must be a non-empty list"):
        minigrad.concat([])
