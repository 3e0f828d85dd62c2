"""Reductions: sum and mean over any axes, with and without keepdims."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad.testing import arrays, check_op, shapes


@st.composite
def array_and_axis(draw):
    x = draw(arrays(shapes()))
    axis = draw(
        st.none()
        | st.integers(-x.ndim, x.ndim - 1)
        | st.lists(st.integers(0, x.ndim - 1), min_size=1, max_size=x.ndim, unique=True).map(tuple)
    )
    return x, axis, draw(st.booleans())


@pytest.mark.parametrize(("op", "reference"), [(minigrad.sum, np.sum), (minigrad.mean, np.mean)])
@given(case=array_and_axis())
def test_reductions(op, reference, case):
    x, axis, keepdims = case
    check_op(
        lambda t: op(t, axis=axis, keepdims=keepdims),
        lambda a: reference(a, axis=axis, keepdims=keepdims),
        x,
    )


def test_mean_gradient_is_one_over_n():
    x = minigrad.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    x.mean(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, np.full((2, 3), 1 / 3))


def test_axis_out_of_range():
    with pytest.raises(minigrad.ShapeError, match="sum: axis 2 is out of range"):
        minigrad.sum(minigrad.Tensor(np.ones((2, 3))), axis=2)
