"""Reductions: ``sum`` and ``mean``.

The VJP of a reduction copies the upstream gradient back along every reduced axis:
each input element contributed once to its sum (with weight ``1/n`` to its mean).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from minigrad.engine import Function, Node
from minigrad.errors import ShapeError
from minigrad.ops._axes import normalize_axes, shape_of

if TYPE_CHECKING:
    from minigrad.tensor import Tensor

__all__ = ["mean", "sum"]


def _spread(
    grad: np.ndarray, shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool
) -> np.ndarray:
    if not keepdims:
        grad = np.expand_dims(grad, axes)
    return np.broadcast_to(grad, shape)


class Sum(Function):
    """``y = sum_{i in axes} x_i``.   VJP: ``dL/dx_i = dL/dy`` (broadcast back over ``axes``).

    Derivation: ``docs/derivations/reduce.md#sum``
    """

    name = "sum"

    @staticmethod
    def forward(ctx: Node, x: np.ndarray, *, axis: tuple[int, ...], keepdims: bool) -> np.ndarray:
        ctx.save_for_backward(x.shape, axis, keepdims)
        return x.sum(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray]:
        shape, axis, keepdims = ctx.saved_tensors
        return (_spread(grad, shape, axis, keepdims),)


class Mean(Function):
    """``y = (1/n) sum_{i in axes} x_i``, ``n`` the number of elements reduced.

    VJP: ``dL/dx_i = dL/dy / n``.

    Derivation: ``docs/derivations/reduce.md#mean``
    """

    name = "mean"

    @staticmethod
    def check(x: np.ndarray, *, axis: tuple[int, ...], keepdims: bool) -> None:
        if x.size == 0 and math.prod(x.shape[a] for a in axis) == 0:
            raise ShapeError(
                f"mean: cannot average over axes {axis} of shape {x.shape}: there are no "
                "elements to average"
            )

    @staticmethod
    def forward(ctx: Node, x: np.ndarray, *, axis: tuple[int, ...], keepdims: bool) -> np.ndarray:
        ctx.save_for_backward(x.shape, axis, keepdims)
        return x.mean(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray]:
        shape, axis, keepdims = ctx.saved_tensors
        n = math.prod(shape[a] for a in axis)
        return (_spread(grad / n, shape, axis, keepdims),)


def sum(x: Tensor | Any, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
    """Sum over ``axis`` (all axes when None), keeping reduced axes as size 1 if ``keepdims``.

    >>> import minigrad, numpy as np
    >>> minigrad.sum(minigrad.Tensor(np.arange(6.0).reshape(2, 3)), axis=0).data
    array([3., 5., 7.])
    """
    return Sum.apply(
        x, axis=normalize_axes("sum", axis, len(shape_of("sum", x))), keepdims=bool(keepdims)
    )


def mean(
    x: Tensor | Any, axis: int | Sequence[int] | None = None, keepdims: bool = False
) -> Tensor:
    """Arithmetic mean over ``axis`` (all axes when None).

    >>> import minigrad, numpy as np
    >>> minigrad.mean(minigrad.Tensor(np.array([[1.0, 3.0]]))).item()
    2.0
    """
    return Mean.apply(
        x, axis=normalize_axes("mean", axis, len(shape_of("mean", x))), keepdims=bool(keepdims)
    )
