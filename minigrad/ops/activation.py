"""Activations: ``relu``, ``softmax`` and ``log_softmax``.

The design document's ReLU is ``A^c = max(0, Z^c)``; its VJP is the mask
``dL/dZ^c = dL/dA^c * 1(Z^c > 0)``. Softmax turns the dense scores ``Z^d`` into
probabilities ``yhat_c = exp(Z^d_c) / sum_j exp(Z^d_j)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from minigrad.engine import Function, Node
from minigrad.errors import ShapeError
from minigrad.ops._axes import normalize_axis, shape_of

if TYPE_CHECKING:
    from minigrad.tensor import Tensor

__all__ = ["log_softmax", "relu", "softmax"]


def _check_axis_not_empty(op: str, z: np.ndarray, axis: int) -> None:
    if z.shape[axis] == 0 and z.size == 0:
        raise ShapeError(
            f"{op}: axis {axis} of the input of shape {z.shape} is empty; {op} needs at least "
            "one element along it"
        )


def stable_log_softmax(z: np.ndarray, axis: int) -> np.ndarray:
    """``z - log sum_j exp(z_j)`` along ``axis``, shifted by the max so nothing overflows.

    The one log-softmax of minigrad: ``log_softmax``, ``nll_loss(log_softmax(z))`` and
    ``cross_entropy`` all compute it here.
    """
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


class ReLU(Function):
    """``A = max(0, Z)``.   VJP: ``dL/dZ = dL/dA * 1(Z > 0)`` (the gradient at 0 is taken as 0).

    Derivation: ``docs/derivations/activation.md#relu``
    """

    name = "relu"

    @staticmethod
    def forward(ctx: Node, z: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(z > 0)
        # np.maximum rather than z * mask: half the time on large arrays (no bool-to-float
        # cast), and max(0, -inf) is 0 where -inf * 0 would be NaN.
        return np.maximum(z, 0)

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray]:
        (mask,) = ctx.saved_tensors
        return (grad * mask,)


class LogSoftmax(Function):
    """``y_c = z_c - log sum_j exp(z_j)`` along ``axis``, computed stably.

    Forward: with ``m = max_j z_j``, ``y = (z - m) - log sum_j exp(z_j - m)``; every exponent
    is at most 0, so nothing overflows for any finite ``z``.

    VJP: ``dy_c/dz_k = 1(c = k) - softmax(z)_k``, hence
    ``dL/dz = dL/dy - softmax(z) * sum_c dL/dy_c``.

    Derivation: ``docs/derivations/activation.md#log_softmax``
    """

    name = "log_softmax"

    @staticmethod
    def check(z: np.ndarray, *, axis: int) -> None:
        _check_axis_not_empty("log_softmax", z, axis)

    @staticmethod
    def forward(ctx: Node, z: np.ndarray, *, axis: int) -> np.ndarray:
        y = stable_log_softmax(z, axis)
        ctx.save_for_backward(y, axis)
        return y

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray]:
        y, axis = ctx.saved_tensors
        return (grad - np.exp(y) * grad.sum(axis=axis, keepdims=True),)


class Softmax(Function):
    """``yhat_c = exp(z_c) / sum_j exp(z_j)`` along ``axis`` (shifted by the max, stably).

    VJP: ``dyhat_c/dz_k = yhat_c (1(c = k) - yhat_k)``, hence
    ``dL/dz = yhat * (dL/dyhat - sum_c dL/dyhat_c * yhat_c)``.

    Derivation: ``docs/derivations/activation.md#softmax``
    """

    name = "softmax"

    @staticmethod
    def check(z: np.ndarray, *, axis: int) -> None:
        _check_axis_not_empty("softmax", z, axis)

    @staticmethod
    def forward(ctx: Node, z: np.ndarray, *, axis: int) -> np.ndarray:
        e = np.exp(z - z.max(axis=axis, keepdims=True))
        y = e / e.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(y, axis)
        return y

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray]:
        y, axis = ctx.saved_tensors
        return (y * (grad - (grad * y).sum(axis=axis, keepdims=True)),)


def relu(x: Tensor | Any) -> Tensor:
    """Rectified linear unit, ``max(0, x)`` elementwise.

    >>> import minigrad
    >>> minigrad.relu(minigrad.Tensor([-4.0, 0.0, 2.5])).data
    array([0. , 0. , 2.5])
    """
    return ReLU.apply(x)


def log_softmax(x: Tensor | Any, axis: int = -1) -> Tensor:
    """``log(softmax(x))`` along ``axis``, without overflow for large scores.

    >>> import minigrad, numpy as np
    >>> y = minigrad.log_softmax(minigrad.Tensor(np.array([[1000.0, 0.0]])))
    >>> np.round(y.data, 3)
    array([[    0., -1000.]])
    """
    return LogSoftmax.apply(
        x, axis=normalize_axis("log_softmax", axis, len(shape_of("log_softmax", x)))
    )


def softmax(x: Tensor | Any, axis: int = -1) -> Tensor:
    """Softmax along ``axis``: non-negative and summing to 1.

    >>> import minigrad, numpy as np
    >>> minigrad.softmax(minigrad.Tensor(np.array([0.0, 0.0]))).data
    array([0.5, 0.5])
    """
    return Softmax.apply(x, axis=normalize_axis("softmax", axis, len(shape_of("softmax", x))))
