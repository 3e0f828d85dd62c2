"""Activations: ``relu``, ``leaky_relu``, ``tanh``, ``sigmoid``, ``softmax``, ``log_softmax``.

The design document's ReLU is ``A^c = max(0, Z^c)``; its VJP is the mask
``dL/dZ^c = dL/dA^c * 1(Z^c > 0)``. Softmax turns the dense scores ``Z^d`` into
probabilities ``yhat_c = exp(Z^d_c) / sum_j exp(Z^d_j)``. ``tanh`` and ``sigmoid`` save their
output, since each derivative is a function of it: ``1 - y^2`` and ``y (1 - y)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from minigrad.arguments import real
from minigrad.engine import Function, Node
from minigrad.errors import ShapeError
from minigrad.ops._axes import normalize_axis, shape_of

if TYPE_CHECKING:
    from minigrad.tensor import Tensor

__all__ = ["leaky_relu", "log_softmax", "relu", "sigmoid", "softmax", "tanh"]


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


class LeakyReLU(Function):
    """``y = x`` for ``x > 0``, ``y = a x`` otherwise (``a`` the ``negative_slope``).

    VJP: ``dL/dx = dL/dy * (1 if x > 0 else a)`` (at 0 the slope ``a`` is taken, as PyTorch).

    Derivation: ``docs/derivations/activation.md#leaky_relu``
    """

    name = "leaky_relu"

    @staticmethod
    def forward(ctx: Node, x: np.ndarray, *, negative_slope: float) -> np.ndarray:
        slope = np.where(x > 0, 1, negative_slope).astype(x.dtype)
        ctx.save_for_backward(slope)
        return x * slope

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray]:
        (slope,) = ctx.saved_tensors
        return (grad * slope,)


class Tanh(Function):
    """``y = tanh(x)``.   VJP: ``dL/dx = dL/dy * (1 - y^2)``, from the saved output.

    Derivation: ``docs/derivations/activation.md#tanh``
    """

    name = "tanh"

    @staticmethod
    def forward(ctx: Node, x: np.ndarray) -> np.ndarray:
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray]:
        (y,) = ctx.saved_tensors
        return (grad * (1 - y * y),)


class Sigmoid(Function):
    """``y = 1 / (1 + exp(-x))``.   VJP: ``dL/dx = dL/dy * y (1 - y)``, from the saved output.

    Forward: ``exp(-log(1 + exp(-x)))`` with ``np.logaddexp``, so no ``exp`` overflows for any
    finite ``x`` (``1 / (1 + exp(1000))`` would warn and pass through inf).

    Derivation: ``docs/derivations/activation.md#sigmoid``
    """

    name = "sigmoid"

    @staticmethod
    def forward(ctx: Node, x: np.ndarray) -> np.ndarray:
        y = np.exp(-np.logaddexp(0, -x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray]:
        (y,) = ctx.saved_tensors
        return (grad * y * (1 - y),)


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


def leaky_relu(x: Tensor | Any, negative_slope: float = 0.01) -> Tensor:
    """``x`` where positive, ``negative_slope * x`` elsewhere (PyTorch's default slope 0.01).

    >>> import minigrad
    >>> minigrad.leaky_relu(minigrad.Tensor([-4.0, 0.0, 2.5]), 0.1).data
    array([-0.4,  0. ,  2.5])
    """
    return LeakyReLU.apply(x, negative_slope=real("leaky_relu", "negative_slope", negative_slope))


def tanh(x: Tensor | Any) -> Tensor:
    """Hyperbolic tangent, elementwise: ``(e^x - e^-x) / (e^x + e^-x)``, in (-1, 1).

    >>> import minigrad
    >>> minigrad.tanh(minigrad.Tensor([0.0, 100.0])).data
    array([0., 1.])
    """
    return Tanh.apply(x)


def sigmoid(x: Tensor | Any) -> Tensor:
    """The logistic function ``1 / (1 + e^-x)``, elementwise, in (0, 1).

    >>> import minigrad
    >>> minigrad.sigmoid(minigrad.Tensor([0.0, -1000.0])).data
    array([0.5, 0. ])
    """
    return Sigmoid.apply(x)


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
