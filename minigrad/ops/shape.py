"""Shape ops: ``reshape``, ``flatten``, ``transpose``, ``getitem`` (indexing, ``x[...]``) and
``concat``.

They move elements without changing them, so each VJP moves the gradient back:
``reshape``'s VJP reshapes ``dL/dy`` to the input's shape, ``transpose``'s applies the
inverse permutation, ``getitem``'s adds each element of ``dL/dy`` into the place it was read
from, ``concat``'s cuts ``dL/dy`` back into the inputs' pieces. The design document's
``A^f = flatten(A^c)`` is a reshape, and its backward step, "reshape the upstream gradient to
the shape of ``A^c``", is this VJP.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from minigrad.arguments import is_int
from minigrad.engine import Function, Node
from minigrad.errors import ArgumentError, IndexingError, ShapeError
from minigrad.ops._axes import normalize_axis, shape_of

if TYPE_CHECKING:
    from minigrad.tensor import Tensor

__all__ = ["concat", "flatten", "getitem", "reshape", "transpose"]

#: One component of a normalised index: an int, a slice, None, ``...``, or an int or bool array.
IndexPart = Any


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


def normalize_index(op: str, index: Any) -> tuple[IndexPart, ...]:
    """``index`` as a tuple of ints, slices, None, ``...`` and int or bool arrays.

    Tensors and lists become arrays; anything else (a float, a string, a float array) is an
    :class:`~minigrad.errors.ArgumentError` naming ``op``.
    """
    parts = index if isinstance(index, tuple) else (index,)
    out: list[IndexPart] = []
    for part in parts:
        if part is None or part is Ellipsis or is_int(part):
            out.append(int(part) if is_int(part) else part)
            continue
        if isinstance(part, slice):
            if not all(v is None or is_int(v) for v in (part.start, part.stop, part.step)):
                raise ArgumentError(f"{op}: slice bounds must be ints or None, got {part!r}")
            out.append(part)
            continue
        try:
            array = np.asarray(part)
        except (TypeError, ValueError) as exc:  # a ragged list
            raise ArgumentError(f"{op}: cannot make an index array from {part!r} ({exc})") from exc
        if array.size == 0 and array.dtype.kind == "f":  # x[[]], as NumPy: no elements
            array = array.astype(np.intp)
        if array.dtype.kind not in "iub":
            raise ArgumentError(
                f"{op}: indices must be ints, slices, None, ..., or arrays of ints or bools, "
                f"got {type(part).__name__} {part!r}"
            )
        out.append(array)
    return tuple(out)


def _axes_taken(part: IndexPart) -> int:
    if part is None or part is Ellipsis:
        return 0
    return part.ndim if isinstance(part, np.ndarray) and part.dtype.kind == "b" else 1


def check_index(op: str, shape: tuple[int, ...], index: tuple[IndexPart, ...]) -> None:
    """Every component of a normalised ``index`` fits ``shape``, or an IndexingError."""
    taken = [_axes_taken(part) for part in index]
    if sum(part is Ellipsis for part in index) > 1:
        raise IndexingError(f"{op}: an index can have only one ellipsis (...)")
    if sum(taken) > len(shape):
        raise IndexingError(
            f"{op}: too many indices for a tensor of shape {shape}: {sum(taken)} axes indexed, "
            f"it has {len(shape)}"
        )
    axis = 0
    for part, width in zip(index, taken, strict=True):
        if part is Ellipsis:
            axis += len(shape) - sum(taken)
        elif isinstance(part, np.ndarray) and part.dtype.kind == "b":
            expected = shape[axis : axis + width]
            if part.shape != expected:
                raise IndexingError(
                    f"{op}: a boolean mask of shape {part.shape} does not fit axes {axis} to "
                    f"{axis + width - 1} of a tensor of shape {shape}; it must have shape "
                    f"{expected}"
                )
        elif part is not None and not isinstance(part, slice):
            size, values = shape[axis], np.asarray(part)
            outside = values[(values < -size) | (values >= size)]
            if outside.size:
                raise IndexingError(
                    f"{op}: index {outside.flat[0]} is out of range for axis {axis} of size "
                    f"{size} (shape {shape})"
                )
        axis += width


class GetItem(Function):
    """``y = x[index]``, with NumPy's basic and advanced indexing.

    VJP: ``dL/dx = 0`` except where elements were read: ``dL/dx[index] += dL/dy``, a
    scatter-add, so an element read twice (a repeated integer index) gets both gradients.

    Derivation: ``docs/derivations/shape.md#getitem``
    """

    name = "getitem"

    @staticmethod
    def check(x: np.ndarray, *, index: tuple[IndexPart, ...]) -> None:
        check_index("getitem", x.shape, index)

    @staticmethod
    def forward(ctx: Node, x: np.ndarray, *, index: tuple[IndexPart, ...]) -> np.ndarray:
        ctx.save_for_backward(x.shape, index)
        return x[index]

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray]:
        shape, index = ctx.saved_tensors
        gx = np.zeros(shape, dtype=grad.dtype)
        if any(isinstance(part, np.ndarray) for part in index):
            np.add.at(gx, index, grad)  # integer arrays may repeat an element
        else:
            gx[index] = grad  # basic indexing reads each element at most once
        return (gx,)


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


def getitem(x: Tensor | Any, index: Any) -> Tensor:
    """``x[index]``: ints, slices, None, ``...``, integer arrays and boolean masks, as NumPy.

    >>> import minigrad, numpy as np
    >>> x = minigrad.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    >>> x[:, 1:].data
    array([[1., 2.],
           [4., 5.]])
    >>> x[0, [2, 2]].sum().backward()             # element (0, 2) read twice
    >>> x.grad
    array([[0., 0., 2.],
           [0., 0., 0.]])
    """
    return GetItem.apply(x, index=normalize_index("getitem", index))
