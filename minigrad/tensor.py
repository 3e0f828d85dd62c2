"""``Tensor``: a NumPy array that remembers the op that made it.

The tensor is thin on purpose: its data, its gradient, whether it requires one, the graph
node that produced it, and a name. Every operator and method below calls the same public
function a user would call (``a + b`` is ``minigrad.add(a, b)``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from minigrad import engine, ops
from minigrad.errors import ArgumentError, DTypeError, GraphError, ShapeError
from minigrad.hooks import Hook, RemovableHandle
from minigrad.ops.shape import check_index, normalize_index
from minigrad.versions import unlocked

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


# NumPy ufuncs that Python operators call when an array or a NumPy scalar is on the left
# (``array + tensor``): they run as the minigrad op, as ``tensor + array`` does.
_OPERATOR_UFUNCS = {
    np.add: ops.add,
    np.subtract: ops.sub,
    np.multiply: ops.mul,
    np.true_divide: ops.div,
    np.matmul: ops.matmul,
}

# What to write instead of a NumPy function applied to a tensor.
_INSTEAD = {
    np.exp: "minigrad.exp(t) or t.exp()",
    np.log: "minigrad.log(t) or t.log()",
    np.absolute: "abs(t) or minigrad.abs(t)",
    np.negative: "-t",
    np.power: "t ** p (a constant exponent)",
    np.sum: "minigrad.sum(t) or t.sum()",
    np.mean: "minigrad.mean(t) or t.mean()",
    np.max: "minigrad.max(t) or t.max()",
    np.amax: "minigrad.max(t) or t.max()",
    np.min: "minigrad.min(t) or t.min()",
    np.amin: "minigrad.min(t) or t.min()",
    np.reshape: "minigrad.reshape(t, shape) or t.reshape(shape)",
    np.transpose: "minigrad.transpose(t) or t.T",
    np.dot: "t @ u",
}

# NumPy functions that only read a tensor's shape: they work on tensors.
_SHAPE_FUNCTIONS = (np.shape, np.ndim, np.size)


def _numpy_refused(name: str, function: Any) -> ArgumentError:
    instead = _INSTEAD.get(function)
    hint = (
        f"use {instead}"
        if instead
        else f"minigrad has no {name} op: compute it from minigrad ops, or call "
        f"np.{name}(t.numpy()) for the values without a gradient"
    )
    return ArgumentError(
        f"np.{name}: NumPy functions do not record the graph, so a tensor's gradient would be "
        f"lost; {hint}"
    )


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

    Changing a tensor in place (``x -= y`` inside ``no_grad()``, an optimiser step, assigning
    ``x.data``) bumps its version (``x._version``); a graph that saved the tensor before the
    change refuses to backpropagate through it, and while a graph holds a tensor's array,
    the array is read-only (see ``docs/autodiff.md#changing-a-tensor-in-place``).
    """

    __slots__ = (
        "__weakref__",
        "_counter",
        "_data",
        "_hooks",
        "_node",
        "_requires_grad",
        "_retains_grad",
        "grad",
        "name",
    )

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        dtype: Any = None,
        name: str | None = None,
    ) -> None:
        array = _to_array(data, dtype, "Tensor")
        self._data = array
        self._counter: list[Any] = [0, 0, False]  # [version, pins, flipped]: see versions.py
        self.grad: np.ndarray | None = None
        self._node: engine.Node | None = None
        self._requires_grad = False
        self._retains_grad = False
        self._hooks: list[Hook] | None = None
        self.name = name
        self.requires_grad = requires_grad

    @classmethod
    def _make(cls, data: np.ndarray, node: engine.Node | None) -> Tensor:
        """The engine's constructor: no copy, no checks."""
        t = object.__new__(Tensor)
        t._data = data
        t._counter = [0, 0, False]
        t.grad = None
        t._node = node
        t._requires_grad = node is not None
        t._retains_grad = False
        t._hooks = None
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
    def data(self) -> np.ndarray:
        """The array itself (not a copy); read-only while a live graph holds it.

        Assigning to it (``x.data = a``, ``x.data -= y``) counts as an in-place change and
        bumps the version. Write into a tensor through the tensor (``x[...] = a`` or
        ``x -= y`` inside ``no_grad()``), not into ``x.data[...]``.
        """
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        self._counter[0] += 1
        if value is self._data:  # ``x.data -= y``: the array itself was changed in place
            return
        value = _to_array(value, None, "data") if type(value) is not np.ndarray else value
        if self._requires_grad and value.dtype.kind != "f":
            raise DTypeError(
                f"data: a tensor that requires grad needs float data, got dtype {value.dtype}"
            )
        self._data = value
        # New memory: views of the old array no longer share it, and no graph holds it yet.
        self._counter = [self._counter[0], 0, False]

    @property
    def _version(self) -> int:
        """How many times this tensor (or a view sharing its memory) was changed in place."""
        return self._counter[0]

    @property
    def requires_grad(self) -> bool:
        """Whether backward computes a gradient for this tensor."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value and self._data.dtype.kind != "f":
            raise DTypeError(
                f"requires_grad: only float tensors can require gradients, got dtype "
                f"{self._data.dtype}; convert first, e.g. Tensor(x, dtype=np.float32)"
            )
        if not value and self._node is not None:
            raise GraphError(
                "requires_grad: cannot turn off gradients of a non-leaf tensor; "
                "use .detach() for a copy outside the graph"
            )
        self._requires_grad = bool(value)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def size(self) -> int:
        return self._data.size

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for tensors the user created (no op made them)."""
        return self._node is None

    @property
    def grad_fn(self) -> engine.Node | None:
        """The graph node that produced this tensor, or None for a leaf."""
        return self._node

    def numpy(self) -> np.ndarray:
        """The underlying array (not a copy; read-only while a live graph holds it)."""
        return self._data

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ShapeError(
                f"item: only one-element tensors can be converted to a Python number, "
                f"got shape {self._data.shape}"
            )
        return self._data.item()

    def detach(self) -> Tensor:
        """A tensor sharing this data (and its version), outside the graph."""
        t = Tensor._make(self._data, None)
        t._counter = self._counter
        return t

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
        if dtype == self._data.dtype:
            return self
        if dtype.kind != "f":
            return Tensor._make(self._data.astype(dtype), None)
        return ops.elementwise.Cast.apply(self, dtype=dtype)

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
            self._retains_grad = True
        return self

    def register_hook(self, hook: Hook) -> RemovableHandle:
        """Call ``hook(grad)`` with this tensor's gradient during every backward, as PyTorch.

        The gradient is complete when the hook sees it: for a tensor an op made, the total
        dL/d(tensor) before its op's VJP runs; for a leaf, the total of this backward, before
        it is added to ``.grad``. The hook may return a replacement array of the same shape
        and dtype (or None to keep the gradient). Hooks run in the order they were
        registered; ``handle.remove()`` removes one.

        >>> import minigrad, numpy as np
        >>> x = minigrad.Tensor(np.array([1.0, 2.0]), requires_grad=True)
        >>> y = x * 3
        >>> seen = []
        >>> handle = y.register_hook(lambda g: seen.append(g.copy()))
        >>> doubled = x.register_hook(lambda g: 2 * g)
        >>> (y * y).sum().backward()
        >>> seen[0], x.grad                  # dL/dy = 2y, then dL/dx = 3 dL/dy, doubled
        (array([ 6., 12.]), array([36., 72.]))
        >>> handle.remove()
        """
        if not self._requires_grad:
            raise GraphError(
                "register_hook: this tensor does not require grad, so backward never computes "
                "its gradient; create it with requires_grad=True (outside no_grad())"
            )
        if not callable(hook):
            raise ArgumentError(
                f"register_hook: the hook must be callable, got {type(hook).__name__}"
            )
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return RemovableHandle(self._hooks, hook)

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
        data = self._data
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
        if self._data.ndim == 0:
            raise ArgumentError("len: a 0-d tensor has no length (shape ())")
        return len(self._data)

    def __iter__(self) -> Iterator[Tensor]:
        """The sub-tensors along axis 0 (``t[0]``, ``t[1]``, ...), each in the graph."""
        for i in range(len(self)):
            yield ops.getitem(self, i)

    def __bool__(self) -> bool:
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    # ---------------------------------------------------------------- NumPy protocols

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """NumPy's protocol: ``np.asarray(t)`` is the array itself, ``np.array(t)`` a copy.

        ``copy=True`` always returns a new array (a snapshot that later updates do not
        change); ``copy=None`` copies only to convert the dtype; ``copy=False`` never copies.
        """
        data = self._data
        if copy:
            return np.array(data, dtype=dtype, copy=True)
        if dtype is None or np.dtype(dtype) == data.dtype:
            return data
        if copy is False:
            raise ArgumentError(
                f"Tensor.__array__: a tensor of dtype {data.dtype} cannot be converted to "
                f"{np.dtype(dtype)} without a copy (copy=False)"
            )
        return data.astype(dtype)

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """``array + tensor`` runs minigrad's op; any other NumPy ufunc is refused with the
        minigrad op to use instead (a NumPy result would have no gradient)."""
        if method == "__call__" and not kwargs and ufunc in _OPERATOR_UFUNCS:
            return _OPERATOR_UFUNCS[ufunc](*inputs)
        name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
        raise _numpy_refused(name, ufunc if method == "__call__" else None)

    def __array_function__(
        self, func: Any, types: tuple[type, ...], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """``np.shape(t)``, ``np.ndim(t)`` and ``np.size(t)`` work; other NumPy functions
        are refused with the minigrad op to use instead."""
        if func in _SHAPE_FUNCTIONS:
            return func(*[a._data if isinstance(a, Tensor) else a for a in args], **kwargs)
        raise _numpy_refused(func.__name__, func)

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

    def __abs__(self) -> Tensor:
        return ops.abs(self)

    def __getitem__(self, index: Any) -> Tensor:
        return ops.getitem(self, index)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.matmul(other, self)

    # ---------------------------------------------------------------- in place

    def __iadd__(self, other: Any) -> Tensor:
        return self._in_place("add_", np.add, other)

    def __isub__(self, other: Any) -> Tensor:
        return self._in_place("sub_", np.subtract, other)

    def __imul__(self, other: Any) -> Tensor:
        return self._in_place("mul_", np.multiply, other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self._in_place("div_", np.true_divide, other)

    def __setitem__(self, index: Any, value: Any) -> None:
        """``t[index] = value`` in place, with the rules of ``t -= y`` (see ``_in_place``)."""
        if self._requires_grad and engine.is_grad_enabled():
            _refuse_in_place("setitem", self)
        key = normalize_index("setitem", index)
        data = self._data
        check_index("setitem", data.shape, key)
        value = value._data if isinstance(value, Tensor) else value
        try:
            dtype = np.result_type(np.empty(0, data.dtype), value)
        except (TypeError, ValueError, OverflowError) as exc:
            raise DTypeError(
                f"setitem: cannot store {value!r} in a tensor of dtype {data.dtype}"
            ) from exc
        if not np.can_cast(dtype, data.dtype, "same_kind"):
            raise DTypeError(
                f"setitem: cannot store {dtype} values in a tensor of dtype {data.dtype} without "
                f"changing their kind; convert them first, e.g. value.astype(np.{data.dtype})"
            )
        with unlocked("setitem", data):
            try:
                data[key] = value
            except ValueError as exc:
                raise ShapeError(
                    f"setitem: a value of shape {np.shape(value)} cannot be stored in the "
                    f"selected elements of shape {data[key].shape}"
                ) from exc
        self._counter[0] += 1

    def _in_place(self, op: str, ufunc: np.ufunc, other: Any) -> Tensor:
        """``self <- ufunc(self, other)`` in this tensor's own array, with PyTorch's rules.

        Allowed on a tensor that requires grad only inside ``no_grad()`` (the change is not
        recorded); the dtype and shape stay; the version goes up by one.
        """
        if self._requires_grad and engine.is_grad_enabled():
            _refuse_in_place(op, self)
        data = self._data
        value = other._data if isinstance(other, Tensor) else other
        if not (type(value) is np.ndarray and value.dtype == data.dtype):
            value = _in_place_operand(op, ufunc, data, value)
        if value.shape != data.shape and not _broadcasts_to(value.shape, data.shape):
            raise ShapeError(
                f"{op}: an operand of shape {value.shape} cannot be broadcast to the tensor's "
                f"shape {data.shape}"
            )
        try:
            if data.flags.writeable:  # no live graph holds it (a step after backward())
                ufunc(data, value, out=data)
            else:
                with unlocked(op, data):
                    ufunc(data, value, out=data)
        except TypeError as exc:  # bool - bool
            raise DTypeError(
                f"{op}: not defined for dtypes {data.dtype} and {value.dtype}"
            ) from exc
        self._counter[0] += 1
        return self

    # ---------------------------------------------------------------- methods

    def exp(self) -> Tensor:
        return ops.exp(self)

    def log(self) -> Tensor:
        return ops.log(self)

    def relu(self) -> Tensor:
        return ops.relu(self)

    def abs(self) -> Tensor:
        return ops.abs(self)

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return ops.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return ops.min(self, axis=axis, keepdims=keepdims)

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


def _refuse_in_place(op: str, t: Tensor) -> None:
    """PyTorch's rule: no in-place change of a tensor that requires grad while recording."""
    if t._node is None:
        raise GraphError(
            f"{op}: a leaf tensor that requires grad is being used in an in-place operation; "
            "update it inside minigrad.no_grad() (as an optimiser step does), or compute a new "
            "tensor (w = w - lr * g)"
        )
    raise GraphError(
        f"{op}: an in-place operation on a tensor that is part of a graph is not recorded; "
        "compute a new tensor instead (y = y + x), or do it inside minigrad.no_grad()"
    )


def _broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def _in_place_operand(op: str, ufunc: np.ufunc, data: np.ndarray, value: Any) -> np.ndarray:
    """``value`` as an array for ``ufunc(data, value, out=data)``, or the error if the result
    would not have ``data``'s dtype (minigrad never casts a tensor in place silently)."""
    weak = isinstance(value, (int, float)) and not isinstance(value, np.generic)
    array = np.asarray(value) if weak else _to_array(value, None, op)
    try:
        result = ufunc(np.empty(0, data.dtype), value if weak else np.empty(0, array.dtype)).dtype
    except OverflowError as exc:  # uint8 tensor += 300
        raise DTypeError(f"{op}: {exc}; convert the tensor to a wider dtype first") from exc
    except TypeError as exc:  # bool - bool
        raise DTypeError(f"{op}: not defined for dtypes {data.dtype} and {array.dtype}") from exc
    if result != data.dtype:
        raise DTypeError(
            f"{op}: the result would be {result} but the tensor is {data.dtype}; an in-place "
            f"operation keeps the tensor's dtype: convert the operand first "
            f"(e.g. other.astype(np.{data.dtype})) or compute a new tensor"
        )
    return array.astype(data.dtype, copy=False) if weak else array
