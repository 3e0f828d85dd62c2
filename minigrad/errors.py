"""The exceptions minigrad raises.

Every error a user can cause is one of these. Each subclasses the built-in exception a Python
programmer would expect (``ValueError`` for a bad shape or value, ``TypeError`` for a bad dtype
or argument type, ``RuntimeError`` for misuse of the graph), so ``except ValueError`` keeps
working, and each message names the op, what it expected and what it got.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "AnomalyError",
    "ArgumentError",
    "ArgumentRangeError",
    "CheckpointError",
    "DTypeError",
    "DataError",
    "ExportError",
    "GradcheckError",
    "GraphError",
    "GraphvizNotFoundError",
    "IndexingError",
    "MinigradError",
    "ShapeError",
    "SpecError",
    "StateDictError",
    "VizError",
]


class MinigradError(Exception):
    """Base class of every error minigrad raises on purpose."""


class ShapeError(MinigradError, ValueError):
    """An array has a shape, size or axis the op cannot take.

    Example: ``matmul: shapes (2, 3) and (4, 5) cannot be multiplied (3 != 4)``.
    """


class IndexingError(ShapeError, IndexError):
    """An index does not fit the tensor: out of range, too many indices, or a boolean mask of
    the wrong shape.

    Example: ``getitem: index 3 is out of range for axis 0 of size 3 (shape (3, 2))``. It is a
    :class:`ShapeError` and also an ``IndexError``, as Python's own sequences raise.
    """


class DTypeError(MinigradError, TypeError):
    """An array has a dtype the op cannot take, e.g. ``requires_grad`` on integers."""


class ArgumentError(MinigradError, TypeError, ValueError):
    """An option or value that is neither a shape nor a dtype is of the wrong type or value.

    Examples: ``conv2d: stride must be an int or a pair of ints, got 1.5``;
    ``cross_entropy: reduction must be one of ('mean', 'sum', 'none'), got 'avg'``;
    ``cross_entropy: the float target holds nan``. It is both a ``TypeError`` and a
    ``ValueError``, so either ``except`` catches it.
    """


class ArgumentRangeError(ArgumentError, ShapeError):
    """An argument of the right kind outside its range: ``stride=0``, ``lr=-1``, ``momentum=1``.

    Example: ``conv2d: stride must be >= 1, got 0 (int)``. It is an :class:`ArgumentError` and,
    since most such arguments are sizes, a :class:`ShapeError`; so it is also a ``ValueError``.
    """


class GraphError(MinigradError, RuntimeError):
    """The computation graph was used in a way backpropagation cannot follow.

    Examples: ``backward()`` on a non-scalar without a gradient, or a second backward through
    a graph whose saved arrays were already released.
    """


class AnomalyError(MinigradError, FloatingPointError):
    """Inside ``detect_anomaly()``, an op produced NaN or inf (forward or backward)."""


class GradcheckError(MinigradError, AssertionError):
    """``gradcheck`` found an analytic gradient that disagrees with finite differences."""


class SpecError(MinigradError, ValueError):
    """A model spec (TOML file or dict) is invalid.

    The message names the file, the layer's index and type, and the problem, e.g.
    ``models/net.toml: layer 2 (Linear): unknown argument 'out' (expected ...)``.
    """


class StateDictError(MinigradError, ValueError):
    """``load_state_dict`` got missing, unexpected or wrongly shaped entries (it names the key)."""


class CheckpointError(MinigradError, ValueError):
    """A checkpoint file is missing, damaged, or does not fit the model it is loaded into."""


class DataError(MinigradError, ValueError):
    """A dataset file is missing, truncated, has a wrong magic number or mismatched counts."""


class ExportError(MinigradError, ValueError):
    """A model cannot be written to ONNX or safetensors, or a safetensors file cannot be read.

    Examples: a layer type with no ONNX exporter (the message names the layer and lists the
    types that have one), a float64 weight too large for float32, a file that is not
    safetensors. A safetensors file that holds other names or shapes than the model is a
    :class:`StateDictError`, as for ``load_state_dict``.
    """


class VizError(MinigradError, TypeError, ValueError):
    """The graph renderer was given something it cannot draw.

    It draws the graph behind tensors: pass the tensor a computation returned (usually the
    loss), not a module, an array, or a tensor that recorded no graph. The message says what
    to pass instead. Like :class:`ArgumentError` it is both a ``TypeError`` (a module or an
    array is the wrong type) and a ``ValueError`` (a tensor without a graph is the wrong value).
    """


class GraphvizNotFoundError(MinigradError, RuntimeError):
    """Rendering needs the Graphviz ``dot`` program, and it is not installed (or not on PATH).

    The message says how to install it; the DOT source is written next to the requested file.
    """


def numpy_failure(op: str, arrays: Sequence[np.ndarray], exc: Exception) -> MinigradError:
    """The net under the ops' checks: NumPy's failure inside ``op`` as a minigrad error that
    names the op and the inputs' shapes and dtypes, so no input ever surfaces as a bare NumPy
    message. A type or arithmetic failure is a DTypeError, an index an IndexingError, anything
    else a ShapeError."""
    shapes = ", ".join(str(a.shape) for a in arrays)
    dtypes = ", ".join(str(a.dtype) for a in arrays)
    error: type[MinigradError] = ShapeError
    if isinstance(exc, (TypeError, ArithmeticError)):
        error = DTypeError
    elif isinstance(exc, IndexError):
        error = IndexingError
    return error(
        f"{op}: cannot compute it for inputs of shapes {shapes} and dtypes {dtypes} "
        f"({type(exc).__name__}: {exc})"
    )
