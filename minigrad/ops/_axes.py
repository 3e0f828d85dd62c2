"""Axis arguments, checked once for every op that takes one, and the shapes they index."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.arguments import is_int
from minigrad.errors import ArgumentError, DTypeError, ShapeError


def shape_of(op: str, x: Any) -> tuple[int, ...]:
    """The shape of a tensor or array-like, or the DTypeError ``Tensor`` would raise for it."""
    shape = getattr(x, "shape", None)
    if type(shape) is tuple:  # a tensor or an array: np.shape(tensor) would go through
        return shape  # Tensor.__array_function__ (0.5 us of a 4.5 us flatten, measured)
    try:
        return np.shape(x)
    except (TypeError, ValueError) as exc:  # a ragged list
        raise DTypeError(
            f"{op}: cannot make a numeric array from {type(x).__name__} ({exc})"
        ) from exc


def normalize_axis(op: str, axis: int, ndim: int) -> int:
    """``axis`` as a non-negative index into ``ndim`` dimensions, or a ShapeError naming ``op``."""
    if not is_int(axis):
        raise ArgumentError(f"{op}: axis must be an int, got {type(axis).__name__} {axis!r}")
    if not -ndim <= axis < ndim:
        raise ShapeError(
            f"{op}: axis {axis} is out of range for a tensor with {ndim} dimension"
            f"{'s' if ndim != 1 else ''} (expected {-ndim} <= axis < {ndim})"
        )
    return int(axis) % ndim


def normalize_axes(op: str, axis: int | Sequence[int] | None, ndim: int) -> tuple[int, ...]:
    """Every axis of ``axis`` (all of them for None) as sorted, distinct, non-negative indices."""
    if axis is None:
        return tuple(range(ndim))
    axes: Any = (axis,) if isinstance(axis, (int, np.integer)) else axis
    if not isinstance(axes, (tuple, list)):
        raise ArgumentError(
            f"{op}: axis must be an int, a tuple of ints or None, got {type(axis).__name__} "
            f"{axis!r}"
        )
    out = tuple(sorted(normalize_axis(op, a, ndim) for a in axes))
    if len(set(out)) != len(out):
        raise ShapeError(f"{op}: repeated axis in {axis}")
    return out
