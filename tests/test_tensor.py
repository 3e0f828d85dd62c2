"""Tensor's repr: small tensors in full, large ones summarised with their shape."""

import numpy as np
import pytest

import minigrad
from minigrad import Tensor


def test_a_small_tensor_prints_in_full_without_a_shape():
    assert repr(Tensor([2.0, 3.0], requires_grad=True, name="x")) == (
        "Tensor([2., 3.], requires_grad=True, name='x')"
    )
    assert repr(Tensor(np.eye(2), requires_grad=True) * 2) == (
        "Tensor([[2., 0.],\n        [0., 2.]], grad_fn=<mul>)"
    )


@pytest.mark.parametrize(
    ("shape", "max_lines"),
    [((1000, 10), 7), ((100_000,), 1), ((64, 1, 28, 28), 30), ((8, 1, 3, 3), 25)],
)
def test_a_large_tensor_is_summarised_with_its_shape(shape, max_lines):
    data = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    text = repr(Tensor(data, requires_grad=True, name="w"))
    assert len(text.splitlines()) <= max_lines, text
    assert "..." in text
    assert text.endswith(f"shape={shape}, dtype=float32, requires_grad=True, name='w')")
    assert f"{data.flat[0]:.4f}"[:5] in text  # the first entry is shown


def test_a_summarised_result_shows_its_op():
    x = Tensor(np.ones((2, 3, 8, 8)), requires_grad=True)
    text = repr(minigrad.relu(x))
    assert text.endswith("shape=(2, 3, 8, 8), dtype=float64, grad_fn=<relu>)")


def test_three_axes_show_the_shape_even_when_small():
    assert repr(Tensor(np.zeros((1, 2, 2)))).endswith("shape=(1, 2, 2))")
