"""dropout: the mask, its scale 1/(1-p), its VJP, evaluation mode and seeded randomness."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad.testing import arrays, check_op, shapes


@given(x=arrays(shapes()), p=st.floats(0.0, 0.9), seed=st.integers(0, 2**32 - 1))
def test_dropout(x, p, seed):
    keep = np.random.default_rng(seed).random(x.shape) >= p
    check_op(
        lambda t: minigrad.dropout(t, p, rng=seed),
        lambda a: np.where(keep, a / (1 - p), 0.0),
        x,
    )


def test_dropout_gradient_is_the_forward_mask():
    x = minigrad.Tensor(np.arange(1.0, 101.0), requires_grad=True)
    y = minigrad.dropout(x, p=0.3, rng=5)
    upstream = np.linspace(-1, 1, 100)
    y.backward(upstream)
    kept = y.data != 0
    np.testing.assert_allclose(x.grad, np.where(kept, upstream / 0.7, 0.0), rtol=1e-15)


def test_dropout_keeps_the_expected_value():
    y = minigrad.dropout(np.ones(200_000), p=0.25, rng=0).data
    assert abs(y.mean() - 1.0) < 0.01
    assert abs((y == 0).mean() - 0.25) < 0.01


def test_evaluation_and_p_zero_return_the_input():
    x = minigrad.Tensor(np.ones(4), requires_grad=True)
    assert minigrad.dropout(x, 0.5, training=False) is x
    assert minigrad.dropout(x, 0.0) is x


def test_p_one_drops_everything():
    x = minigrad.Tensor(np.ones(4, np.float32), requires_grad=True)
    y = minigrad.dropout(x, 1.0, rng=0)
    y.sum().backward()
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.data, 0)
    np.testing.assert_array_equal(x.grad, 0)


def test_one_seed_one_mask_and_a_generator_continues_its_stream():
    a = minigrad.dropout(np.ones(50), rng=3).data
    np.testing.assert_array_equal(a, minigrad.dropout(np.ones(50), rng=3).data)
    gen = np.random.default_rng(3)
    first = minigrad.dropout(np.ones(50), rng=gen).data
    second = minigrad.dropout(np.ones(50), rng=gen).data
    np.testing.assert_array_equal(first, a)
    assert not np.array_equal(first, second)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"p": 1.5}, minigrad.ArgumentRangeError, r"dropout: p must be in \[0, 1\], got 1.5"),
        ({"p": "0.5"}, minigrad.ArgumentError, r"dropout: p must be in \[0, 1\], got '0.5'"),
        ({"training": 1}, minigrad.ArgumentError, "dropout: training must be a bool"),
        (
            {"rng": "seed"},
            minigrad.ArgumentError,
            "dropout: rng must be a numpy Generator, an int seed or None, got .seed.",
        ),
    ],
)
def test_dropout_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        minigrad.dropout(np.ones(3), **kwargs)
