"""Testing tools for ops: hypothesis strategies and one-line assertions.

minigrad's own tests use exactly these, and so can yours. A property test of an op that
checks its forward against NumPy and its VJP against finite differences, for random shapes::

    from hypothesis import given
    import numpy as np
    import minigrad
    from minigrad.testing import arrays, check_op, shapes

    @given(arrays(shapes()))
    def test_exp(x):
        check_op(minigrad.exp, np.exp, x)

This module needs hypothesis (``pip install minigrad-autograd[test]``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigrad.gradcheck import gradcheck
from minigrad.tensor import Tensor

__all__ = [
    "arrays",
    "assert_forward",
    "assert_gradients",
    "broadcastable_shapes",
    "check_op",
    "conv2d_args",
    "distinct_arrays",
    "pool2d_args",
    "shapes",
]

Shape = tuple[int, ...]


# --------------------------------------------------------------------------- strategies


def shapes(
    *, min_dims: int = 1, max_dims: int = 4, min_side: int = 1, max_side: int = 5
) -> st.SearchStrategy[Shape]:
    """Array shapes with ``min_dims..max_dims`` axes of ``min_side..max_side`` elements.

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20)
    ... @given(shapes(max_dims=2, max_side=3))
    ... def test_shape(shape):
    ...     assert 1 <= len(shape) <= 2 and all(1 <= n <= 3 for n in shape)
    >>> test_shape()
    """
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def arrays(
    shape: Shape | st.SearchStrategy[Shape],
    *,
    dtype: Any = np.float64,
    min_value: float = -3.0,
    max_value: float = 3.0,
    min_magnitude: float = 0.0,
) -> st.SearchStrategy[np.ndarray]:
    """Float arrays of ``shape`` (a shape or a strategy of shapes) with finite elements.

    ``min_magnitude`` keeps every element at least that far from 0, for ops with a kink
    there (``relu``), where finite differences are not defined.

    >>> import numpy as np
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20)
    ... @given(arrays(shapes(), min_magnitude=0.1))
    ... def test_away_from_zero(x):
    ...     assert x.dtype == np.float64 and np.all(np.abs(x) >= 0.1)
    >>> test_away_from_zero()
    """
    elements = st.floats(min_value, max_value, allow_nan=False, allow_infinity=False, width=64)
    if min_magnitude > 0:
        elements = elements.filter(lambda v: abs(v) >= min_magnitude)
    return hnp.arrays(np.float64, shape, elements=elements).map(lambda a: a.astype(dtype))


def distinct_arrays(shape: Shape, *, dtype: Any = np.float64) -> st.SearchStrategy[np.ndarray]:
    """Arrays whose elements all differ by at least 0.1 (no ties for ``max``).

    >>> import numpy as np
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20)
    ... @given(distinct_arrays((2, 3)))
    ... def test_no_ties(x):
    ...     assert np.min(np.diff(np.sort(x, axis=None))) >= 0.1 - 1e-12
    >>> test_no_ties()
    """
    size = int(np.prod(shape))
    return st.permutations(range(size)).map(
        lambda p: (np.asarray(p, dtype=np.float64).reshape(shape) * 0.1 - size * 0.05).astype(dtype)
    )


def broadcastable_shapes(
    *, max_dims: int = 4, max_side: int = 4
) -> st.SearchStrategy[tuple[Shape, Shape]]:
    """Pairs of shapes that broadcast together, e.g. ``((3, 1, 4), (2, 4))``.

    >>> import numpy as np
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20)
    ... @given(broadcastable_shapes())
    ... def test_broadcast(pair):
    ...     np.broadcast_shapes(*pair)                # raises if they do not broadcast
    >>> test_broadcast()
    """
    return hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=0, max_dims=max_dims, max_side=max_side
    ).map(lambda b: b.input_shapes)


@st.composite
def conv2d_args(
    draw: st.DrawFn,
    *,
    max_batch: int = 3,
    max_channels: int = 3,
    max_filters: int = 4,
    max_size: int = 8,
    max_kernel: int = 4,
    max_stride: int = 3,
    max_padding: int = 2,
) -> dict[str, Any]:
    """Consistent conv2d arguments: ``x_shape``, ``w_shape``, ``stride``, ``padding``.

    The kernel always fits the padded input, so every draw is a valid convolution.
    """
    n = draw(st.integers(1, max_batch))
    c = draw(st.integers(1, max_channels))
    f = draw(st.integers(1, max_filters))
    stride = (draw(st.integers(1, max_stride)), draw(st.integers(1, max_stride)))
    padding = (draw(st.integers(0, max_padding)), draw(st.integers(0, max_padding)))
    kh, kw = draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel))
    h = draw(st.integers(max(1, kh - 2 * padding[0]), max_size))
    w = draw(st.integers(max(1, kw - 2 * padding[1]), max_size))
    return {
        "x_shape": (n, c, h, w),
        "w_shape": (f, c, kh, kw),
        "stride": stride,
        "padding": padding,
    }


@st.composite
def pool2d_args(
    draw: st.DrawFn,
    *,
    max_batch: int = 2,
    max_channels: int = 3,
    max_size: int = 7,
    max_kernel: int = 3,
    max_stride: int = 3,
) -> dict[str, Any]:
    """Consistent max_pool2d arguments: ``x_shape``, ``kernel_size``, ``stride``."""
    kernel = (draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel)))
    stride = (draw(st.integers(1, max_stride)), draw(st.integers(1, max_stride)))
    h = draw(st.integers(kernel[0], max_size))
    w = draw(st.integers(kernel[1], max_size))
    shape = (draw(st.integers(1, max_batch)), draw(st.integers(1, max_channels)), h, w)
    return {"x_shape": shape, "kernel_size": kernel, "stride": stride}


# --------------------------------------------------------------------------- assertions


def assert_gradients(
    fn: Callable[..., Tensor],
    *arrays: np.ndarray,
    eps: float = 1e-6,
    atol: float = 1e-6,
    rtol: float = 1e-4,
) -> None:
    """Assert that the VJPs of ``fn`` match central finite differences, in float64.

    Every float array is an input that requires grad; integer arrays are passed as constants.

    >>> import numpy as np, minigrad
    >>> assert_gradients(lambda a, b: a * b, np.array([1.0, 2.0]), np.array([3.0, -1.0]))
    """
    inputs = [
        Tensor(a.astype(np.float64), requires_grad=True) if a.dtype.kind == "f" else Tensor(a)
        for a in map(np.asarray, arrays)
    ]
    gradcheck(fn, inputs, eps=eps, atol=atol, rtol=rtol)


def assert_forward(
    fn: Callable[..., Tensor],
    reference: Callable[..., np.ndarray],
    *arrays: np.ndarray,
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> None:
    """Assert that ``fn`` on tensors computes what ``reference`` computes on the arrays.

    Checked in float64 (to ``rtol``) and in float32: a float32 input must give a float32
    output agreeing with the float64 reference within float32 precision.

    >>> import numpy as np, minigrad
    >>> assert_forward(minigrad.relu, lambda a: np.maximum(a, 0), np.array([-1.0, 2.0]))
    """
    arrays64 = [np.asarray(a) for a in arrays]
    expected = np.asarray(reference(*arrays64))
    got = fn(*[Tensor(a) for a in arrays64])
    np.testing.assert_allclose(got.data, expected, rtol=rtol, atol=atol)
    arrays32 = [a.astype(np.float32) if a.dtype.kind == "f" else a for a in arrays64]
    got32 = fn(*[Tensor(a) for a in arrays32])
    assert got32.dtype == np.float32, f"float32 inputs gave a {got32.dtype} output"
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(got32.data, expected, rtol=2e-5, atol=2e-5 * scale)


def check_op(
    fn: Callable[..., Tensor],
    reference: Callable[..., np.ndarray] | None,
    *arrays: np.ndarray,
    atol: float = 1e-6,
    rtol: float = 1e-4,
) -> None:
    """The whole check of an op in one line: forward against ``reference`` (float64 and
    float32), gradients against finite differences (float64), and float32 gradients that
    stay float32.

    Args:
        fn: the op on tensors, e.g. ``minigrad.exp`` or ``lambda x, w: minigrad.conv2d(x, w)``.
        reference: the same computation on NumPy arrays, or None to skip the forward check.
        *arrays: the inputs; float arrays are checked, integer arrays passed as constants.
        atol: the absolute tolerance of the gradient check.
        rtol: the relative tolerance of the gradient check.

    >>> import numpy as np, minigrad
    >>> check_op(minigrad.exp, np.exp, np.array([[0.5, -1.0, 2.0]]))
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10, deadline=None)
    ... @given(arrays(shapes()))
    ... def test_exp(x):
    ...     check_op(minigrad.exp, np.exp, x)
    >>> test_exp()
    """
    if reference is not None:
        assert_forward(fn, reference, *arrays)
    assert_gradients(fn, *arrays, atol=atol, rtol=rtol)
    inputs32 = [
        Tensor(a.astype(np.float32), requires_grad=True) if a.dtype.kind == "f" else Tensor(a)
        for a in map(np.asarray, arrays)
    ]
    out = fn(*inputs32)
    out.backward(np.ones(out.shape, dtype=np.float32))
    for i, t in enumerate(inputs32):
        if t.requires_grad and t.grad is not None:
            assert t.grad.dtype == np.float32, (
                f"input {i}: a float32 input got a {t.grad.dtype} grad"
            )
