"""Matrix products: ``matmul`` and the dense layer's ``linear``.

The design document's dense layer is ``Z^d = A^f . W^d + b^d`` with ``W^d`` of shape
(inputs, classes). ``linear`` stores the weight as PyTorch's ``Linear`` does, ``W`` of shape
(classes, inputs) = ``(W^d)^T``, and computes ``Z^d = A^f W^T + b``. Its VJP is the
document's::

    dL/dW^d = (A^f)^T . dL/dZ^d      (so dL/dW = (dL/dZ^d)^T . A^f)
    dL/db^d = dL/dZ^d                (summed over the batch)
    dL/dA^f = dL/dZ^d . (W^d)^T = dL/dZ^d . W
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from minigrad.engine import Function, Node
from minigrad.errors import DTypeError, ShapeError

if TYPE_CHECKING:
    from minigrad.tensor import Tensor

__all__ = ["linear", "matmul"]


def check_same_dtype(op: str, *arrays: np.ndarray | None) -> None:
    """The inputs of a matrix product share one dtype, as in PyTorch: float32 weights are
    never silently copied to float64 for a float64 batch."""
    dtypes = [a.dtype for a in arrays if a is not None]
    if any(d != dtypes[0] for d in dtypes):
        raise DTypeError(
            f"{op}: expected inputs of one dtype, got ({', '.join(map(str, dtypes))}); convert "
            "them first, e.g. x.astype(np.float32) for a float32 model"
        )


_LONG_ROWS = 4096  # elements per row of an outer product from which broadcasting wins; see product


def product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for the VJPs of the matrix products.

    Speed case: when the shared dimension has length 1 (the weight gradient of one sample, an
    outer product), ``np.matmul`` takes a slow loop (60 us for (10, 1) by (1, 5408) float32
    operands, one 28x28 sample of the design document's CNN, and as long for (5408, 1) by
    (1, 10), the same in the document's (in, out) layout). ``np.dot`` (BLAS) is the fastest
    way for most shapes: 1.9 us against 4.4 us by broadcasting for (84, 1) by (1, 120),
    10.7 us against 15.9 us for (120, 1) by (1, 400) (LeNet-5's dense layers), 20 us against
    44 us for (5408, 1) by (1, 10). Broadcasting ``a * b`` wins when the result's rows are
    long: from about 2,750 elements per row NumPy's loop runs 3x faster than BLAS (5 us against
    15 us for (10, 1) by (1, 5408)); below that it is 1.5-2.5x slower. ``_LONG_ROWS`` keeps a
    margin above that step. Timeit, NumPy 2.4, one BLAS thread, a 2-core machine shared with
    other work. End to end, a per-sample SGD step of the seed CNN is 1.4x faster than with
    ``np.matmul``, and the document's raw-op CNN went from 0.27x-0.29x to 0.32x-0.34x of NumPy per
    sample with ``np.dot`` in its layout (bench).
    """
    if a.ndim == b.ndim == 2 and a.shape[1] == 1 and b.shape[1] < _LONG_ROWS:
        return np.dot(a, b)
    if a.ndim >= 2 and b.ndim >= 2 and a.shape[-1] == 1:
        return a * b
    return np.matmul(a, b)


class MatMul(Function):
    """``C = A @ B`` with NumPy's rules (1-D operands, broadcast batch dimensions).

    VJP: ``dL/dA = dL/dC @ B^T`` and ``dL/dB = A^T @ dL/dC`` (transposing the last two axes);
    a 1-D operand is treated as a row (``A``) or column (``B``) vector and squeezed back.

    Derivation: ``docs/derivations/linalg.md#matmul``
    """

    name = "matmul"

    @staticmethod
    def check(a: np.ndarray, b: np.ndarray) -> None:
        check_same_dtype("matmul", a, b)
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError(
                "matmul: both operands need at least 1 dimension, got shapes "
                f"{a.shape} and {b.shape}"
            )
        k_a, k_b = a.shape[-1], b.shape[-2] if b.ndim > 1 else b.shape[0]
        reason = f"{k_a} != {k_b}" if k_a != k_b else ""
        if not reason:
            try:
                np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
            except ValueError:
                reason = "batch dimensions do not broadcast"
        if reason:
            raise ShapeError(
                f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied ({reason})"
            )

    @staticmethod
    def forward(ctx: Node, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        if a.ndim == 1 and b.ndim == 1:  # the inner product c = a . b
            return (grad * b if need_a else None), (grad * a if need_b else None)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = grad
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        if b.ndim == 1:
            g2 = np.expand_dims(g2, -1)
        ga = gb = None
        if need_a:
            ga = product(g2, np.swapaxes(b2, -1, -2))
            if a.ndim == 1:
                ga = ga[..., 0, :]
        if need_b:
            gb = product(np.swapaxes(a2, -1, -2), g2)
            if b.ndim == 1:
                gb = gb[..., 0]
        return ga, gb


class Linear(Function):
    """``y = x W^T + b``: ``x`` (..., in), ``W`` (out, in), ``b`` (out,); the dense layer.

    VJP (``G = dL/dy`` flattened to (n, out), ``X`` = ``x`` flattened to (n, in)):
    ``dL/dx = G W``, ``dL/dW = G^T X`` (the document's ``(A^f)^T dL/dZ^d``, transposed),
    ``dL/db = sum_n G_n``.

    Derivation: ``docs/derivations/linalg.md#linear``
    """

    name = "linear"

    @staticmethod
    def check(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> None:
        check_same_dtype("linear", x, w, b)
        if w.ndim != 2:
            raise ShapeError(f"linear: weight must be 2-D (out, in), got shape {w.shape}")
        if x.ndim == 0 or x.shape[-1] != w.shape[1]:
            raise ShapeError(
                f"linear: input has {x.shape[-1] if x.ndim else 0} features (shape {x.shape}) "
                f"but the weight of shape {w.shape} expects {w.shape[1]}"
            )
        if b is not None and b.shape != (w.shape[0],):
            raise ShapeError(
                f"linear: bias must have shape ({w.shape[0]},) to match the weight {w.shape}, "
                f"got {b.shape}"
            )

    @staticmethod
    def forward(ctx: Node, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        ctx.save_for_backward(x, w)
        y = np.dot(x, w.T)
        if b is not None:
            y += b
        return y

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        g = grad.reshape(-1, w.shape[0])
        gx = np.matmul(grad, w) if need[0] else None
        gw = product(g.T, x.reshape(-1, w.shape[1])) if need[1] else None
        if len(need) == 2:
            return gx, gw
        return gx, gw, (g.sum(axis=0) if need[2] else None)


def matmul(a: Tensor | Any, b: Tensor | Any) -> Tensor:
    """Matrix product ``a @ b`` with ``numpy.matmul`` semantics (also the ``@`` operator).

    >>> import minigrad, numpy as np
    >>> (minigrad.Tensor(np.ones((2, 3))) @ minigrad.Tensor(np.ones((3, 4)))).shape
    (2, 4)
    """
    return MatMul.apply(a, b)


def linear(x: Tensor | Any, weight: Tensor | Any, bias: Tensor | Any | None = None) -> Tensor:
    """The dense layer ``x @ weight.T + bias``, with ``weight`` of shape (out, in), as PyTorch.

    >>> import minigrad, numpy as np
    >>> x = minigrad.Tensor(np.ones((1, 3)))
    >>> minigrad.linear(x, np.ones((2, 3)), np.array([0.5, -0.5])).data
    array([[3.5, 2.5]])
    """
    if bias is None:
        return Linear.apply(x, weight)
    return Linear.apply(x, weight, bias)
