"""Reductions: sum and mean over any axes, with and without keepdims."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad.testing import arrays, check_op, distinct_arrays, shapes


@st.composite
def array_and_axis(draw, distinct=False):
    """An array (with all elements 0.1 apart if ``distinct``), an axis and keepdims."""
    x = draw(distinct_arrays(draw(shapes())) if distinct else arrays(shapes()))
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


@pytest.mark.parametrize(("op", "reference"), [(minigrad.max, np.max), (minigrad.min, np.min)])
@given(case=array_and_axis(distinct=True))
def test_max_min(op, reference, case):
    """max and min over any axes, against NumPy and finite differences (no ties: 0.1 apart)."""
    x, axis, keepdims = case
    check_op(
        lambda t: op(t, axis=axis, keepdims=keepdims),
        lambda a: reference(a, axis=axis, keepdims=keepdims),
        x,
    )


@pytest.mark.parametrize(("op", "pick"), [(minigrad.max, np.max), (minigrad.min, np.min)])
@given(data=st.data())
def test_tied_extrema_share_the_gradient_evenly(op, pick, data):
    """The hand formula dL/dx_ij = dL/dy_i * 1(x_ij = y_i) / n_i, with ties on purpose."""
    shape = data.draw(shapes(max_dims=3, max_side=4))
    x = data.draw(arrays(shape).map(np.round))  # integers in [-3, 3]: many ties
    axis = data.draw(st.none() | st.integers(0, x.ndim - 1))
    t = minigrad.Tensor(x, requires_grad=True)
    y = op(t, axis=axis)
    v = data.draw(arrays(y.shape))
    y.backward(v)
    ref = pick(x, axis=axis, keepdims=True)
    hit = x == ref
    expected = np.expand_dims(v, axis) if axis is not None else v
    np.testing.assert_allclose(t.grad, expected * hit / hit.sum(axis=axis, keepdims=True))
    np.testing.assert_allclose(t.grad.sum(axis=axis), v)  # the whole gradient arrives


def test_full_max_splits_the_gradient_among_ties():
    x = minigrad.Tensor(np.array([[1.0, 4.0], [4.0, 4.0]]), requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad, [[0.0, 1 / 3], [1 / 3, 1 / 3]])
    assert x.min(axis=0).grad_fn.name == "min"


def test_max_of_nothing_is_a_clear_error():
    with pytest.raises(minigrad.ShapeError, match=r"max: cannot reduce over axes \(0,\)"):
        minigrad.Tensor(np.zeros((0, 3))).max(axis=0)
    assert minigrad.Tensor(np.zeros((0, 3))).max(axis=1).shape == (0,)
