"""nll_loss and cross_entropy: values, VJPs, targets as indices or one-hot rows."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad.testing import arrays, check_op


def np_log_softmax(z):
    s = z - z.max(axis=1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=1, keepdims=True))


REDUCE = {"mean": np.mean, "sum": np.sum, "none": lambda v: v}


@st.composite
def logits_and_target(draw):
    n, c = draw(st.integers(1, 5)), draw(st.integers(1, 6))
    z = draw(arrays((n, c), min_value=-5, max_value=5))
    target = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    return z, target


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@given(case=logits_and_target())
def test_cross_entropy_with_class_indices(case, reduction):
    z, target = case
    expected = lambda z: REDUCE[reduction](-np_log_softmax(z)[np.arange(len(target)), target])  # noqa: E731
    check_op(lambda t: minigrad.cross_entropy(t, target, reduction=reduction), expected, z)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@given(case=logits_and_target())
def test_nll_loss(case, reduction):
    z, target = case
    logp = np_log_softmax(z)
    expected = lambda lp: REDUCE[reduction](-lp[np.arange(len(target)), target])  # noqa: E731
    check_op(lambda t: minigrad.nll_loss(t, target, reduction=reduction), expected, logp)


@given(case=logits_and_target(), data=st.data())
def test_soft_targets_are_differentiable_too(case, data):
    z, _ = case
    y = data.draw(arrays(z.shape, min_value=0.0, max_value=1.0))
    expected = lambda z, y: np.mean(-(y * np_log_softmax(z)).sum(axis=1))  # noqa: E731
    check_op(minigrad.cross_entropy, expected, z, y)


@given(case=logits_and_target())
def test_cross_entropy_is_nll_of_log_softmax(case):
    z, target = case
    a = minigrad.Tensor(z, requires_grad=True)
    b = minigrad.Tensor(z, requires_grad=True)
    fused = minigrad.cross_entropy(a, target)
    composed = minigrad.nll_loss(minigrad.log_softmax(b), target)
    np.testing.assert_allclose(fused.data, composed.data, rtol=1e-12)
    fused.backward()
    composed.backward()
    np.testing.assert_allclose(a.grad, b.grad, rtol=1e-10, atol=1e-14)


def test_one_hot_and_index_targets_agree():
    z = np.array([[2.0, 1.0, 0.1], [0.0, 3.0, -1.0]])
    onehot = np.eye(3)[[0, 1]]
    a = minigrad.cross_entropy(z, np.array([0, 1])).item()
    b = minigrad.cross_entropy(z, onehot).item()
    assert a == pytest.approx(b, rel=1e-14)


@pytest.mark.parametrize(
    ("target", "error", "message"),
    [
        (
            np.array([0, 3]),
            minigrad.ShapeError,
            "cross_entropy: target 3 is out of range for 3 classes",
        ),
        (np.array([0, -1]), minigrad.ShapeError, "target -1 is out of range"),
        (
            np.array([0, 1, 2]),
            minigrad.ShapeError,
            r"target of class indices must have shape \(2,\)",
        ),
        (
            np.array(["a", "b"]),
            minigrad.DTypeError,
            "cross_entropy: expected a float, integer or bool array, got dtype <U1",
        ),
        (
            np.ones((2, 4)),
            minigrad.ShapeError,
            "float .one-hot. target must have the input's shape",
        ),
    ],
)
def test_bad_targets(target, error, message):
    with pytest.raises(error, match=message):
        minigrad.cross_entropy(np.zeros((2, 3)), target)
