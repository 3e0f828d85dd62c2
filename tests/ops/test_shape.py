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
