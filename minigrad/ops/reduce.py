"""Reductions: ``sum``, ``mean``, ``max`` and ``min``.

The VJP of a reduction copies the upstream gradient back along every reduced axis:
each input element contributed once to its sum (with weight ``1/n`` to its mean), and only
the elements that attain the maximum (minimum) contributed to it, tied ones in equal shares.
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

__all__ = ["max", "mean", "min", "sum"]


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


def _check_not_empty(op: str, x: np.ndarray, axis: tuple[int, ...]) -> None:
    if math.prod(x.shape[a] for a in axis) == 0 and x.size == 0:
        raise ShapeError(
            f"{op}: cannot reduce over axes {axis} of shape {x.shape}: there are no elements "
            f"to take the {'maximum' if op == 'max' else 'minimum'} of"
        )


def _tie_shares(x: np.ndarray, y: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    """``1(x_ij = y_i) / n_i``, with ``n_i`` the number of elements tied at the extremum."""
    share = (x == y).astype(x.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):  # a NaN maximum: no element equals it
        share /= share.sum(axis=axis, keepdims=True)
    return share


def _keep_shares(
    ctx: Node, x: np.ndarray, y: np.ndarray, axis: tuple[int, ...], keepdims: bool
) -> np.ndarray:
    """Save the tie shares for backward; ``y`` (with the reduced axes kept) as the output."""
    if ctx.needs_input_grad[0]:
        ctx.save_for_backward(_tie_shares(x, y, axis), axis, keepdims)
    return y if keepdims else np.squeeze(y, axis)


def _spread_shares(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray]:
    share, axis, keepdims = ctx.saved_tensors
    return ((grad if keepdims else np.expand_dims(grad, axis)) * share,)


class Max(Function):
    """``y_i = max_j x_ij`` over ``axes``.

    VJP: ``dL/dx_ij = dL/dy_i * 1(x_ij = y_i) / n_i``, where ``n_i`` counts the elements tied
    at the maximum: tied maxima share the gradient evenly, as ``torch.amax`` does.

    Derivation: ``docs/derivations/reduce.md#max-and-min``
    """

    name = "max"

    @staticmethod
    def check(x: np.ndarray, *, axis: tuple[int, ...], keepdims: bool) -> None:
        _check_not_empty("max", x, axis)

    @staticmethod
    def forward(ctx: Node, x: np.ndarray, *, axis: tuple[int, ...], keepdims: bool) -> np.ndarray:
        return _keep_shares(ctx, x, np.max(x, axis=axis, keepdims=True), axis, keepdims)

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray]:
        return _spread_shares(ctx, grad)


class Min(Function):
    """``y_i = min_j x_ij`` over ``axes``.

    VJP: ``dL/dx_ij = dL/dy_i * 1(x_ij = y_i) / n_i``, ``n_i`` the number of tied minima.

    Derivation: ``docs/derivations/reduce.md#max-and-min``
    """

    name = "min"

    @staticmethod
    def check(x: np.ndarray, *, axis: tuple[int, ...], keepdims: bool) -> None:
        _check_not_empty("min", x, axis)

    @staticmethod
    def forward(ctx: Node, x: np.ndarray, *, axis: tuple[int, ...], keepdims: bool) -> np.ndarray:
        return _keep_shares(ctx, x, np.min(x, axis=axis, keepdims=True), axis, keepdims)

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray]:
        return _spread_shares(ctx, grad)


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


def max(x: Tensor | Any, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
    """The maximum over ``axis`` (all axes when None); tied maxima share the gradient evenly.

    >>> import minigrad, numpy as np
    >>> x = minigrad.Tensor(np.array([[1.0, 5.0, 5.0], [2.0, 0.0, 1.0]]), requires_grad=True)
    >>> minigrad.max(x, axis=1).data
    array([5., 2.])
    >>> x.max().backward()                        # the two 5s tie: half the gradient each
    >>> x.grad
    array([[0. , 0.5, 0.5],
           [0. , 0. , 0. ]])
    """
    return Max.apply(
        x, axis=normalize_axes("max", axis, len(shape_of("max", x))), keepdims=bool(keepdims)
    )


def min(x: Tensor | Any, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
    """The minimum over ``axis`` (all axes when None); tied minima share the gradient evenly.

    >>> import minigrad, numpy as np
    >>> minigrad.min(minigrad.Tensor(np.array([[1.0, -5.0], [2.0, 0.0]])), axis=0).data
    array([ 1., -5.])
    """
    return Min.apply(
        x, axis=normalize_axes("min", axis, len(shape_of("min", x))), keepdims=bool(keepdims)
    )
