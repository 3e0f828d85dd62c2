"""``Tensor``: a NumPy array that remembers the op that made it.

The tensor is thin on purpose: its data, its gradient, whether it requires one, the graph
node that produced it, and a name. Every operator and method below calls the same public
function a user would call (``a + b`` is ``minigrad.add(a, b)``).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad import engine, ops
from minigrad.errors import ArgumentError, DTypeError, GraphError, ShapeError

__all__ = ["Tensor"]

_ALLOWED_KINDS = "fiub"  # float, signed and unsigned integer, bool


def _to_array(data: Any, dtype: Any, op: str) -> np.ndarray:
    """A numeric copy of ``data``, or a DTypeError that names ``op``."""
    if isinstance(data, Tensor):
        data = data.data
    try:
        array = np.array(data, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise DTypeError(
            f"{op}: cannot make a numeric array from {type(data).__name__} ({exc})"
        ) from exc
    if array.dtype.kind not in _ALLOWED_KINDS:
        raise DTypeError(f"{op}: expected a float, integer or bool array, got dtype {array.dtype}")
    return array


class Tensor:
    """An n-dimensional array that records the computation graph for reverse-mode autodiff.

    Args:
        data: an array-like; it is copied. A float array keeps its dtype (float32 stays
            float32); Python floats become float64, as in NumPy. Integer and bool arrays are
            allowed for tensors that need no gradient, such as class labels.
        requires_grad: make this a leaf whose gradient ``backward()`` accumulates in ``.grad``.
            Only float tensors can require grad.
        dtype: convert ``data`` to this dtype first.
        name: a label for graphs and error messages.

    >>> import minigrad, numpy as np
    >>> x = minigrad.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    >>> y = (x * x).sum()          # y = sum_i x_i^2
    >>> y.backward()               # dy/dx_i = 2 x_i
    >>> x.grad
    array([2., 4., 6.])
    """

    __slots__ = ("__weakref__", "_node", "_requires_grad", "data", "grad", "name")

    # ndarray + Tensor must call Tensor.__radd__ rather than NumPy's elementwise loop.
    __array_ufunc__ = None

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        dtype: Any = None,
        name: str | None = None,
    ) -> None:
        array = _to_array(data, dtype, "Tensor")
        self.data = array
        self.grad: np.ndarray | None = None
        self._node: engine.Node | None = None
        self._requires_grad = False
        self.name = name
        self.requires_grad = requires_grad

    @classmethod
    def _make(cls, data: np.ndarray, node: engine.Node | None) -> Tensor:
        """The engine's constructor: no copy, no checks."""
        t = object.__new__(Tensor)
        t.data = data
        t.grad = None
        t._node = node
        t._requires_grad = node is not None
        t.name = None
        return t

    @classmethod
    def _lift(cls, value: Any, op: str = "Tensor") -> Tensor:
        """A constant tensor (no grad) for an array-like that ``op`` was given."""
        if isinstance(value, Tensor):
            return value
        return cls._make(_to_array(value, None, op), None)

    # ---------------------------------------------------------------- attributes

    @property
    def requires_grad(self) -> bool:
        """Whether backward computes a gradient for this tensor."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value and self.data.dtype.kind != "f":
            raise DTypeError(
                f"requires_grad: only float tensors can require gradients, got dtype "
                f"{self.data.dtype}; convert first, e.g. Tensor(x, dtype=np.float32)"
            )
        if not value and self._node is not None:
            raise GraphError(
                "requires_grad: cannot turn off gradients of a non-leaf tensor; "
                "use .detach() for a copy outside the graph"
            )
        self._requires_grad = bool(value)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for tensors the user created (no op made them)."""
        return self._node is None

    @property
    def grad_fn(self) -> engine.Node | None:
        """The graph node that produced this tensor, or None for a leaf."""
        return self._node

    def numpy(self) -> np.ndarray:
        """The underlying array (not a copy)."""
        return self.data

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ShapeError(
                f"item: only one-element tensors can be converted to a Python number, "
                f"got shape {self.data.shape}"
            )
        return self.data.item()

    def detach(self) -> Tensor:
        """A tensor sharing this data, outside the graph (requires_grad False)."""
        return Tensor._make(self.data, None)

    def astype(self, dtype: Any) -> Tensor:
        """This tensor converted to ``dtype``; recorded, so gradients flow back through it.

        A conversion to an integer or bool dtype is not differentiable: its result is a
        constant outside the graph (as in PyTorch).
        """
        try:
            dtype = np.dtype(dtype)
        except TypeError as exc:
            raise DTypeError(f"astype: {dtype!r} is not a NumPy dtype") from exc
        if dtype.kind not in _ALLOWED_KINDS:
            raise DTypeError(f"astype: expected a float, integer or bool dtype, got {dtype}")
        if dtype == self.data.dtype:
            return self
        if dtype.kind != "f":
            return Tensor._make(self.data.astype(dtype), None)
        return engine.Cast.apply(self, dtype=dtype)

    # ---------------------------------------------------------------- autograd

    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        ``grad`` is dL/d(self) and may be omitted only when this tensor has one element.
        Pass ``retain_graph=True`` to backpropagate through the same graph again.
        """
        engine.backward(self, grad, retain_graph=retain_graph)

    def retain_grad(self) -> Tensor:
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward."""
        if self._node is not None:
            self._node.out_ref = weakref.ref(self)
        return self

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``.grad = None``)."""
        self.grad = None

    # ---------------------------------------------------------------- display

    #: Above this many elements (a quarter of it for 3+ axes, which print a block per leading
    #: index) a repr shows only the first and last entries of each axis (3, or 2 for 3+ axes),
    #: as NumPy's ``threshold`` and ``edgeitems`` do, with 4 digits.
    REPR_THRESHOLD = 100

    def __repr__(self) -> str:
        """``Tensor(data, ...)`` with the shape too when the data is summarised or has 3+ axes.

        >>> Tensor(np.arange(3.0), requires_grad=True, name="x")
        Tensor([0., 1., 2.], requires_grad=True, name='x')
        >>> Tensor(np.zeros((500, 10), dtype=np.float32))
        Tensor([[0., 0., 0., ..., 0., 0., 0.],
                [0., 0., 0., ..., 0., 0., 0.],
                [0., 0., 0., ..., 0., 0., 0.],
                ...,
                [0., 0., 0., ..., 0., 0., 0.],
                [0., 0., 0., ..., 0., 0., 0.],
                [0., 0., 0., ..., 0., 0., 0.]], shape=(500, 10), dtype=float32)
        """
        data = self.data
        threshold = self.REPR_THRESHOLD if data.ndim <= 2 else self.REPR_THRESHOLD // 4
        summarised = data.size > threshold
        body = np.array2string(
            data,
            separator=", ",
            prefix="Tensor(",
            threshold=threshold,
            edgeitems=3 if data.ndim <= 2 else 2,
            precision=4 if summarised else None,  # a summary is for the eye, as PyTorch's
            suppress_small=True if summarised else None,
        )
        extra = []
        if summarised or data.ndim >= 3:
            extra.append(f"shape={data.shape}")
        if summarised or data.dtype not in (np.float64, np.int64, np.bool_):
            extra.append(f"dtype={data.dtype}")
        if self._node is not None:
            extra.append(f"grad_fn=<{self._node.name}>")
        elif self._requires_grad:
            extra.append("requires_grad=True")
        if self.name:
            extra.append(f"name={self.name!r}")
        return "Tensor(" + ", ".join([body, *extra]) + ")"

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise ArgumentError("len: a 0-d tensor has no length (shape ())")
        return len(self.data)

    def __bool__(self) -> bool:
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    # ---------------------------------------------------------------- operators

    def __add__(self, other: Any) -> Tensor:
        return ops.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return ops.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return ops.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return ops.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.div(other, self)

    def __neg__(self) -> Tensor:
        return ops.neg(self)

    def __pow__(self, exponent: float) -> Tensor:
        return ops.pow(self, exponent)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.matmul(other, self)

    # ---------------------------------------------------------------- methods

    def exp(self) -> Tensor:
        return ops.exp(self)

    def log(self) -> Tensor:
        return ops.log(self)

    def relu(self) -> Tensor:
        return ops.relu(self)

    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return ops.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return ops.mean(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])  # type: ignore[arg-type]
        return ops.reshape(self, shape)  # type: ignore[arg-type]

    def flatten(self, start_axis: int = 1) -> Tensor:
        return ops.flatten(self, start_axis=start_axis)

    def transpose(self, *axes: int) -> Tensor:
        return ops.transpose(self, axes or None)

    @property
    def T(self) -> Tensor:
        return ops.transpose(self)

    def softmax(self, axis: int = -1) -> Tensor:
        return ops.softmax(self, axis=axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        return ops.log_softmax(self, axis=axis)
