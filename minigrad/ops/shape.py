"""Shape ops: ``reshape``, ``flatten``, ``transpose`` and ``concat``.

They move elements without changing them, so each VJP moves the gradient back:
``reshape``'s VJP reshapes ``dL/dy`` to the input's shape, ``transpose``'s applies the
inverse permutation, ``concat``'s cuts ``dL/dy`` back into the inputs' pieces. The design
document's ``A^f = flatten(A^c)`` is a reshape, and its backward step, "reshape the upstream
gradient to the shape of ``A^c``", is this VJP.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from minigrad.arguments import is_int
from minigrad.engine import Function, Node
from minigrad.errors import ArgumentError, ShapeError
from minigrad.ops._axes import normalize_axis, shape_of

if TYPE_CHECKING:
    from minigrad.tensor import Tensor

__all__ = ["concat", "flatten", "reshape", "transpose"]


class Reshape(Function):
    """``y = x`` viewed with a new shape.   VJP: ``dL/dx = reshape(dL/dy, x.shape)``.

    Derivation: ``docs/derivations/shape.md#reshape``
    """

    name = "reshape"

    @staticmethod
    def check(x: np.ndarray, *, shape: tuple[int, ...]) -> None:
        known = math.prod(s for s in shape if s != -1)
        unknown = shape.count(-1)
        fits = x.size == known if not unknown else known > 0 and x.size % known == 0
        if unknown > 1 or min(shape, default=0) < -1 or not fits:
            raise ShapeError(
                f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) "
                f"into shape {shape}"
            )

    @staticmethod
    def forward(ctx: Node, x: np.ndarray, *, shape: tuple[int, ...]) -> np.ndarray:
        ctx.save_for_backward(x.shape)
        return x.reshape(shape)

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray]:
        (shape,) = ctx.saved_tensors
        return (grad.reshape(shape),)


class Transpose(Function):
    """``y = x`` with its axes permuted by ``axes``.

    VJP: ``dL/dx = dL/dy`` permuted back by the inverse permutation.

    Derivation: ``docs/derivations/shape.md#transpose``
    """

    name = "transpose"

    @staticmethod
    def forward(ctx: Node, x: np.ndarray, *, axes: tuple[int, ...]) -> np.ndarray:
        ctx.save_for_backward(axes)
        return np.transpose(x, axes)

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray]:
        (axes,) = ctx.saved_tensors
        return (np.transpose(grad, np.argsort(axes)),)


class Concat(Function):
    """``y = [x_1, x_2, ...]`` joined along ``axis``.

    VJP: each ``dL/dx_k`` is the slice of ``dL/dy`` that ``x_k`` filled.

    Derivation: ``docs/derivations/shape.md#concat``
    """

    name = "concat"
    promote = True

    @staticmethod
    def check(*xs: np.ndarray, axis: int) -> None:
        first = xs[0]
        for k, x in enumerate(xs[1:], 1):
            if x.ndim != first.ndim or any(
                a != b
                for i, (a, b) in enumerate(zip(x.shape, first.shape, strict=True))
                if i != axis
            ):
                raise ShapeError(
                    f"concat: input {k} has shape {x.shape}, but input 0 has shape "
                    f"{first.shape}; they must agree on every axis but {axis}"
                )

    @staticmethod
    def forward(ctx: Node, *xs: np.ndarray, axis: int) -> np.ndarray:
        ctx.save_for_backward(np.cumsum([x.shape[axis] for x in xs])[:-1], axis)
        return np.concatenate(xs, axis=axis)

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray, ...]:
        cuts, axis = ctx.saved_tensors
        return tuple(np.split(grad, cuts, axis=axis))


def concat(xs: Sequence[Tensor | Any], axis: int = 0) -> Tensor:
    """Join tensors of equal shapes (but along ``axis``) into one, as ``torch.cat``.

    >>> import minigrad, numpy as np
    >>> minigrad.concat([np.ones((1, 2)), np.zeros((1, 1))], axis=1).data
    array([[1., 1., 0.]])
    """
    if not isinstance(xs, (list, tuple)) or not xs:
        raise ArgumentError(
            f"concat: xs must be a non-empty list of tensors, got {type(xs).__name__}"
        )
    ndim = len(shape_of("concat", xs[0]))
    if ndim == 0:
        raise ShapeError("concat: cannot join 0-d tensors; give them an axis first")
    return Concat.apply(*xs, axis=normalize_axis("concat", axis, ndim))


def reshape(x: Tensor | Any, shape: int | Sequence[int]) -> Tensor:
    """``x`` with a new shape of the same size; one entry may be ``-1`` (inferred).

    >>> import minigrad, numpy as np
    >>> minigrad.reshape(minigrad.Tensor(np.arange(6.0)), (2, -1)).shape
    (2, 3)
    """
    sizes = (shape,) if is_int(shape) else shape
    if not isinstance(sizes, (tuple, list)) or not all(map(is_int, sizes)):
        raise ArgumentError(f"reshape: the shape must be an int or a tuple of ints, got {shape!r}")
    return Reshape.apply(x, shape=tuple(int(s) for s in sizes))


def flatten(x: Tensor | Any, start_axis: int = 1) -> Tensor:
    """Merge every axis from ``start_axis`` on into one: ``(N, F, H, W) -> (N, F*H*W)``.

    >>> import minigrad, numpy as np
    >>> minigrad.flatten(minigrad.Tensor(np.zeros((2, 8, 6, 6)))).shape
    (2, 288)
    """
    shape = shape_of("flatten", x)
    start = normalize_axis("flatten", start_axis, max(len(shape), 1))
    return Reshape.apply(x, shape=(*shape[:start], math.prod(shape[start:])))


def transpose(x: Tensor | Any, axes: Sequence[int] | None = None) -> Tensor:
    """Permute the axes (reverse them when ``axes`` is None), as ``numpy.transpose``.

    >>> import minigrad, numpy as np
    >>> minigrad.transpose(minigrad.Tensor(np.zeros((2, 3, 4))), (0, 2, 1)).shape
    (2, 4, 3)
    """
    ndim = len(shape_of("transpose", x))
    if axes is None:
        perm = tuple(reversed(range(ndim)))
    elif not isinstance(axes, (tuple, list)):
        raise ArgumentError(f"transpose: axes must be a tuple of ints or None, got {axes!r}")
    else:
        perm = tuple(normalize_axis("transpose", a, ndim) for a in axes)
        if sorted(perm) != list(range(ndim)):
            raise ShapeError(
                f"transpose: axes {tuple(axes)} are not a permutation of the {ndim} axes"
            )
    return Transpose.apply(x, axes=perm)
