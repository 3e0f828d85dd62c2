"""The autograd engine: ``Function``, the graph ``Node``, grad mode and the backward walk.

An op is a subclass of :class:`Function` with two static methods side by side::

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):                  # y = exp(x)
            y = np.exp(x)
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):              # dL/dx = dL/dy * exp(x)
            (y,) = ctx.saved_tensors
            return (grad * y,)

``Exp.apply(t)`` runs the forward on the tensors' arrays and, when grad mode is on and an input
requires grad, records a :class:`Node` (which is the ``ctx`` the op saw) on the output tensor.
Ops never see the graph. This module owns everything generic:

* recording a node only when it is needed;
* the backward walk: one pass over the nodes in reverse creation order (no recursion, so
  graphs of any depth), each node's vector-Jacobian product (VJP) called once with the sum
  of the gradients that reached it;
* reducing a gradient over the dimensions its input was broadcast along, then checking that
  it has the input's exact shape and dtype, with an error that names the op;
* gradient accumulation: a tensor used twice receives the sum, ``(x + x) * x`` included;
* releasing each node's saved arrays once its VJP has run, unless ``retain_graph=True``.
"""

from __future__ import annotations

import contextvars
import itertools
import os
import re
import traceback
import weakref
from collections.abc import Callable, Iterator
from contextlib import ContextDecorator, contextmanager
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from minigrad.errors import AnomalyError, DTypeError, GraphError, MinigradError, ShapeError

if TYPE_CHECKING:
    from minigrad.tensor import Tensor

__all__ = [
    "Cast",
    "Function",
    "Node",
    "backward",
    "detect_anomaly",
    "enable_grad",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "name_scope",
    "no_grad",
]

# Grad mode, anomaly mode and the module scope are per thread and per asyncio task:
# a ContextVar, not a module global, so one thread's ``no_grad`` never leaks into another.
_grad_enabled: contextvars.ContextVar[bool] = contextvars.ContextVar("grad_enabled", default=True)
_anomaly: contextvars.ContextVar[bool] = contextvars.ContextVar("detect_anomaly", default=False)
_scope: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("scope", default=())
# The modes that entered no_grad/enable_grad blocks replaced, innermost last (per context too).
_outer_modes: contextvars.ContextVar[tuple[bool, ...]] = contextvars.ContextVar(
    "outer_grad_modes", default=()
)


# --------------------------------------------------------------------------- grad mode


def is_grad_enabled() -> bool:
    """True unless inside :class:`no_grad` (in this thread).

    >>> import minigrad
    >>> with minigrad.no_grad():
    ...     print(minigrad.is_grad_enabled())
    False
    >>> minigrad.is_grad_enabled()
    True
    """
    return _grad_enabled.get()


class _GradMode(ContextDecorator):
    """Sets grad mode on entry and restores the previous mode on exit."""

    _mode: ClassVar[bool]

    def __enter__(self) -> None:
        # The previous mode is kept in a context variable, not on the instance: one decorated
        # function may be running in several threads (or calling itself) at once.
        _outer_modes.set((*_outer_modes.get(), _grad_enabled.get()))
        _grad_enabled.set(self._mode)

    def __exit__(self, *exc: object) -> None:
        *outer, previous = _outer_modes.get()
        _outer_modes.set(tuple(outer))
        _grad_enabled.set(previous)


class no_grad(_GradMode):  # noqa: N801 - the PyTorch name
    """Context manager and decorator under which no graph is recorded.

    Use it for evaluation and for parameter updates::

        with minigrad.no_grad():
            y = model(x)          # y.requires_grad is False; nothing is kept for backward

    The mode is per thread: another thread keeps recording.

    >>> import minigrad, numpy as np
    >>> w = minigrad.Tensor(np.ones(3), requires_grad=True)
    >>> with minigrad.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    _mode = False


class enable_grad(_GradMode):  # noqa: N801 - the PyTorch name
    """Context manager and decorator that turns recording back on inside :class:`no_grad`.

    >>> import minigrad, numpy as np
    >>> w = minigrad.Tensor(np.ones(2), requires_grad=True)
    >>> with minigrad.no_grad():
    ...     with minigrad.enable_grad():
    ...         y = w * 2
    >>> y.requires_grad
    True
    """

    _mode = True


# --------------------------------------------------------------------------- anomaly mode


def is_anomaly_enabled() -> bool:
    """True inside :func:`detect_anomaly` (in this thread).

    >>> import minigrad
    >>> with minigrad.detect_anomaly():
    ...     print(minigrad.is_anomaly_enabled())
    True
    >>> minigrad.is_anomaly_enabled()
    False
    """
    return _anomaly.get()


@contextmanager
def detect_anomaly() -> Iterator[None]:
    """Make the first op that produces NaN or inf raise :class:`~minigrad.AnomalyError`.

    Inside the block every op's output is checked in the forward pass, and every gradient a
    VJP returns is checked in the backward pass (run ``backward()`` inside the block too). The
    error names the op, its module and which input or gradient went bad, and shows where in
    your code that op was created (the frames inside minigrad are listed after it). It costs
    a check and a stack capture per op, so it is off by default. It can also decorate a
    function, and it is per thread: other threads are not affected.

    >>> import minigrad, numpy as np
    >>> x = minigrad.Tensor(np.array([0.0, 1.0]), requires_grad=True)
    >>> with minigrad.detect_anomaly():
    ...     minigrad.log(x)
    Traceback (most recent call last):
    ...
    minigrad.errors.AnomalyError: log produced -inf in its forward pass: its output ...
    """
    token = _anomaly.set(True)
    try:
        yield
    finally:
        _anomaly.reset(token)


# --------------------------------------------------------------------------- scopes


class name_scope(ContextDecorator):  # noqa: N801 - used like a function: ``with name_scope(...)``
    """Label every node recorded inside the block with ``name`` (nested scopes join with ``.``).

    ``minigrad.nn.Module`` enters a scope named after its attribute path on each call, so the
    graph renderer can group what a module created into one cluster.

    >>> import minigrad, numpy as np
    >>> w = minigrad.Tensor(np.ones(2), requires_grad=True)
    >>> with minigrad.name_scope("encoder"):
    ...     with minigrad.name_scope("layer1"):
    ...         y = w * 2
    >>> y.grad_fn.scope
    ('encoder', 'layer1')
    """

    # A small class rather than @contextmanager: every layer call of every training step
    # enters one, and a generator-based context manager costs about three times as much.
    # Nothing is kept on the instance, so one decorated function can run in several threads.

    def __init__(self, name: str) -> None:
        self._name = name

    def __enter__(self) -> None:
        _scope.set((*_scope.get(), self._name))

    def __exit__(self, *exc: object) -> None:
        _scope.set(_scope.get()[:-1])


# --------------------------------------------------------------------------- the node

# Numbers the nodes in creation order (next() on it is atomic under the GIL).
_creation_counter = itertools.count()


class Node:
    """One recorded op application: the ``ctx`` an op's forward and backward share.

    Attributes:
        op: the :class:`Function` subclass that was applied.
        parents: the input tensors, in argument order (an ordered tuple, never a set).
        attrs: the keyword attributes the op was called with (stride, axis, ...).
        needs_input_grad: one bool per input: does backward need that input's gradient?
        saved_tensors: what forward passed to :meth:`save_for_backward`.
        scope: the module path the op was called under (see :func:`name_scope`).
        stack: where the op was created, recorded inside :func:`detect_anomaly` only.
        seq: the creation number; a node is always created after the nodes it reads, so
            decreasing ``seq`` is an order in which backward can visit the graph.
    """

    __slots__ = (
        "__dict__",
        "attrs",
        "needs_input_grad",
        "op",
        "out_ref",
        "parents",
        "released",
        "saved_tensors",
        "scope",
        "seq",
        "stack",
    )

    def __init__(
        self,
        op: type[Function],
        parents: tuple[Tensor, ...],
        attrs: dict[str, Any],
        needs_input_grad: tuple[bool, ...],
    ) -> None:
        self.op = op
        self.parents = parents
        self.attrs = attrs
        self.needs_input_grad = needs_input_grad
        self.saved_tensors: tuple[Any, ...] = ()
        self.out_ref: weakref.ref[Tensor] | None = None
        self.released = False
        self.scope = _scope.get()
        self.stack: list[traceback.FrameSummary] | None = None
        self.seq = next(_creation_counter)

    def save_for_backward(self, *values: Any) -> None:
        """Keep arrays (or any values) that backward needs; released after backward runs."""
        self.saved_tensors = values

    @property
    def name(self) -> str:
        """The op's name, e.g. ``"conv2d"``."""
        return self.op.name

    def release(self) -> None:
        """Drop the saved arrays; a later backward through this node is an error."""
        self.saved_tensors = ()
        self.__dict__.clear()
        self.released = True

    def __repr__(self) -> str:
        attrs = "".join(f", {k}={v!r}" for k, v in self.attrs.items())
        return f"<{self.op.__name__}Backward inputs={len(self.parents)}{attrs}>"


# --------------------------------------------------------------------------- Function


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


class Function:
    """Base class of every op: a forward and its vector-Jacobian product, side by side.

    Subclasses define two static methods:

    * ``forward(ctx, *arrays, **attrs) -> ndarray`` computes the output from NumPy arrays.
      It may call ``ctx.save_for_backward(...)`` and read ``ctx.needs_input_grad`` to skip
      work nobody needs.
    * ``backward(ctx, grad) -> tuple`` receives ``grad`` = dL/d(output), an array of the
      output's shape, and returns dL/d(input) for each input, in order (``None`` where
      ``ctx.needs_input_grad`` is False). A gradient may keep dimensions its input was
      broadcast along; the engine sums them away and then checks the exact shape and dtype.
      Never modify ``grad`` in place (other nodes may hold it), and return new arrays or
      views: the engine may keep a returned array as a leaf's ``.grad`` without copying it.

    Call ``MyOp.apply(*tensors, **attrs)``; it accepts tensors, arrays and Python numbers.
    ``name`` (default: the class name in snake case) is what errors and graphs show.

    >>> import minigrad, numpy as np
    >>> class Square(minigrad.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x
    ...     @staticmethod
    ...     def backward(ctx, grad):
    ...         (x,) = ctx.saved_tensors
    ...         return (2 * x * grad,)
    >>> t = minigrad.Tensor(np.array([1.0, 3.0]), requires_grad=True)
    >>> Square.apply(t).sum().backward()
    >>> t.grad
    array([2., 6.])
    """

    name: ClassVar[str] = ""
    #: Optional ``check(*arrays, **attrs)``: validates the arguments and raises a minigrad
    #: error naming the op. The engine runs it once per call signature (the op, the inputs'
    #: shapes and dtypes, the attributes) and remembers that it passed.
    check: ClassVar[Callable[..., None] | None] = None
    #: True when ``check`` also looks at the input values (a loss's class indices): it then
    #: runs on every call.
    checks_values: ClassVar[bool] = False
    #: True for elementwise ops (add, mul, ...): Python numbers take the tensors' dtype, as
    #: PyTorch's scalars do, and a narrower float input is cast to the widest one by a
    #: recorded ``cast`` node, so each VJP sees one dtype.
    promote: ClassVar[bool] = False
    #: True for the matrix-product ops (matmul, linear, conv2d): inputs of different dtypes
    #: are an error, as in PyTorch, rather than a silent float64 copy of float32 weights.
    same_dtype: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("name"):
            cls.name = _snake(cls.__name__)

    @staticmethod
    def forward(ctx: Node, *arrays: np.ndarray, **attrs: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Any, **attrs: Any) -> Tensor:
        """Run the op on ``inputs`` and record it in the graph when a gradient is needed."""
        if cls.promote:
            parents = _promote(cls.name, inputs)
        else:
            parents = tuple(
                [x if isinstance(x, Tensor) else Tensor._lift(x, cls.name) for x in inputs]
            )
            if cls.same_dtype:
                _check_same_dtype(cls.name, parents)
        if _grad_enabled.get():
            needs = tuple([p._requires_grad for p in parents])
        else:
            needs = (False,) * len(parents)
        record = True in needs
        ctx = Node(cls, parents, attrs, needs)
        anomaly = _anomaly.get()
        if anomaly:
            ctx.stack = traceback.extract_stack()[:-1]
        arrays = [p.data for p in parents]
        try:
            if cls.check is not None:
                _validate(cls, arrays, attrs)
            data = cls.forward(ctx, *arrays, **attrs)
        except MinigradError:
            raise
        except (TypeError, ValueError, IndexError, OverflowError) as exc:
            # The ops check what users get wrong; this is the net under those checks, so that
            # no input ever surfaces as a bare NumPy message.
            raise _forward_error(cls.name, parents, exc) from exc
        if type(data) is not np.ndarray:
            data = np.asarray(data)
        if anomaly:
            _check_finite(cls.name, "forward", data, ctx)
        if not record:
            return Tensor._make(data, None)
        return Tensor._make(data, ctx)


# The call signatures whose check passed. Bounded: emptied when full (a model has a few dozen).
_checked: dict[tuple[Any, ...], None] = {}
_CHECKED_MAX = 4096


def _validate(cls: type[Function], arrays: list[np.ndarray], attrs: dict[str, Any]) -> None:
    """Run ``cls.check`` unless it already passed for this signature."""
    assert cls.check is not None
    if cls.checks_values:
        cls.check(*arrays, **attrs)
        return
    key = (cls, *[(a.shape, a.dtype) for a in arrays], *attrs.items())
    try:
        if key in _checked:
            return
    except TypeError:  # an unhashable attribute: check every time
        cls.check(*arrays, **attrs)
        return
    cls.check(*arrays, **attrs)
    if len(_checked) >= _CHECKED_MAX:
        _checked.clear()
    _checked[key] = None


class Cast(Function):
    """``y = x.astype(dtype)``; the VJP casts back: ``dL/dx = (dL/dy).astype(x.dtype)``.

    The engine inserts this node when an op's inputs have different float dtypes.

    Derivation: ``docs/derivations/elementwise.md#cast-dtype-promotion``
    """

    name = "cast"

    @staticmethod
    def forward(ctx: Node, x: np.ndarray, *, dtype: np.dtype) -> np.ndarray:
        ctx.save_for_backward(x.dtype)
        return x.astype(dtype)

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray]:
        (dtype,) = ctx.saved_tensors
        return (grad.astype(dtype),)


def _check_same_dtype(op: str, inputs: tuple[Tensor, ...]) -> None:
    dtype = inputs[0].data.dtype
    if not all([t.data.dtype == dtype for t in inputs]):  # a list: cheaper than a generator
        dtypes = ", ".join(str(t.data.dtype) for t in inputs)
        raise DTypeError(
            f"{op}: expected inputs of one dtype, got ({dtypes}); convert them first, "
            f"e.g. x.astype(np.float32) for a float32 model"
        )


def _promote(op: str, inputs: tuple[Any, ...]) -> tuple[Tensor, ...]:
    """Bring ``inputs`` to one dtype, with NumPy's rules (Python numbers are weak)."""
    first = inputs[0]
    if isinstance(first, Tensor) and all(
        [isinstance(x, Tensor) and x.data.dtype == first.data.dtype for x in inputs]
    ):
        return inputs
    values = [
        x if isinstance(x, (Tensor, int, float, bool)) else Tensor._lift(x, op) for x in inputs
    ]
    target = np.result_type(*[v.data.dtype if isinstance(v, Tensor) else v for v in values])
    out = []
    for v in values:
        if not isinstance(v, Tensor):
            v = Tensor._make(np.asarray(v, dtype=target), None)
        elif v.data.dtype != target:
            v = Cast.apply(v, dtype=target)
        out.append(v)
    return tuple(out)


# --------------------------------------------------------------------------- backward


def _forward_error(op: str, parents: tuple[Tensor, ...], exc: Exception) -> MinigradError:
    shapes = ", ".join(str(p.data.shape) for p in parents)
    dtypes = ", ".join(str(p.data.dtype) for p in parents)
    error = DTypeError if isinstance(exc, TypeError) else ShapeError
    return error(
        f"{op}: cannot compute it for inputs of shapes {shapes} and dtypes {dtypes} "
        f"({type(exc).__name__}: {exc})"
    )


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
_FRAMES = 8  # the user's frames shown, innermost last


def _where_created(node: Node) -> str:
    """The creation stack up to the last line of user code, then the frames inside minigrad."""
    if not node.stack:
        return "  (not recorded: run the forward pass inside detect_anomaly() too)\n"
    stack = list(node.stack)
    inner: list[traceback.FrameSummary] = []
    while len(stack) > 1 and os.path.abspath(stack[-1].filename).startswith(_PACKAGE):
        inner.insert(0, stack.pop())
    text = "".join(traceback.format_list(stack[-_FRAMES:]))
    if len(stack) > _FRAMES:
        text = f"  ({len(stack) - _FRAMES} outer frames not shown)\n" + text
    if inner:
        via = " -> ".join(f"{os.path.basename(f.filename)}:{f.lineno} {f.name}" for f in inner)
        text += f"  (then inside minigrad: {via})\n"
    return text


def _bad_value(array: np.ndarray) -> str:
    return "nan" if np.isnan(array).any() else "inf" if np.isposinf(array).any() else "-inf"


def _check_finite(op: str, where: str, array: np.ndarray, node: Node, index: int = -1) -> None:
    if array.dtype.kind in "fc" and not np.isfinite(array).all():
        module = f" (in module {'.'.join(node.scope)!r})" if node.scope else ""
        what = f"the gradient for input {index}" if index >= 0 else "its output"
        notes = ""
        if where == "forward":
            for i, p in enumerate(node.parents):
                data = p.data
                if data.dtype.kind in "fc" and not np.isfinite(data).all():
                    source = (
                        "a tensor made outside detect_anomaly()"
                        if p._node
                        else "a leaf or constant"
                    )
                    notes += f"Input {i} already held {_bad_value(data)} ({source}).\n"
        raise AnomalyError(
            f"{op}{module} produced {_bad_value(array)} in its {where} pass: {what} "
            f"(shape {array.shape}, dtype {array.dtype}).\n{notes}"
            f"The op was created here:\n{_where_created(node)}"
        )


def _fit_to_input(node: Node, index: int, grad: Any) -> np.ndarray:
    """Sum ``grad`` over broadcast dimensions, then demand the input's exact shape and dtype."""
    parent = node.parents[index]
    shape, dtype = parent.data.shape, parent.data.dtype
    if type(grad) is not np.ndarray:
        grad = np.asarray(grad)
    if grad.shape != shape:
        extra = grad.ndim - len(shape)
        ok = extra >= 0 and all(
            g == s or s == 1 for g, s in zip(grad.shape[extra:], shape, strict=True)
        )
        if not ok:
            raise ShapeError(
                f"{node.op.name}: backward returned a gradient of shape {grad.shape} for "
                f"input {index} of shape {shape}"
            )
        if extra:
            grad = grad.sum(axis=tuple(range(extra)))
        axes = tuple(
            i for i, (g, s) in enumerate(zip(grad.shape, shape, strict=True)) if s == 1 and g != 1
        )
        if axes:
            grad = grad.sum(axis=axes, keepdims=True)
    if grad.dtype != dtype:
        raise DTypeError(
            f"{node.op.name}: backward returned a {grad.dtype} gradient for input {index} "
            f"of dtype {dtype}"
        )
    return grad


def _topological_order(root: Node) -> list[Node]:
    """Every node reachable from ``root`` through inputs that need a gradient, outputs first.

    An iterative depth-first post-order, reversed: a node comes before all of its parents.
    """
    order: list[Node] = []
    visited = {root}
    stack: list[tuple[Node, Iterator[Tensor]]] = [(root, iter(root.parents))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            child = parent._node
            if child is not None and child not in visited:
                visited.add(child)
                stack.append((child, iter(child.parents)))
                break
        else:
            stack.pop()
            order.append(node)
    order.reverse()
    return order


def backward(root: Tensor, grad: Any = None, retain_graph: bool = False) -> None:
    """Backpropagate from ``root``: accumulate dL/dt into ``t.grad`` of every leaf ``t``.

    Args:
        root: the tensor to differentiate, usually a scalar loss.
        grad: dL/d(root); may be omitted for a scalar root (it is then 1).
        retain_graph: keep the saved arrays so that backward can run through the graph again.

    Leaves are tensors created by the user with ``requires_grad=True``. Intermediate tensors
    get a ``.grad`` only if ``retain_grad()`` was called on them.

    ``tensor.backward()`` calls this function.

    >>> import minigrad, numpy as np
    >>> x = minigrad.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    >>> y = x * x                                # not a scalar: pass dL/dy
    >>> minigrad.engine.backward(y, np.array([1.0, 10.0]))
    >>> x.grad                                   # dL/dx = dL/dy * 2x
    array([ 2., 40.])
    """
    if not root._requires_grad:
        raise GraphError(
            "backward: this tensor does not require grad and has no graph to walk; create "
            "the inputs with requires_grad=True (and outside no_grad())"
        )
    seed = _seed(root, grad)
    anomaly = _anomaly.get()
    if anomaly and seed.dtype.kind == "f" and not np.isfinite(seed).all():
        raise AnomalyError(f"backward: the grad passed to backward() holds {_bad_value(seed)}")
    if root._node is None:
        root.grad = seed.copy() if root.grad is None else _add(root.grad, seed)
        return

    grads: dict[Node, np.ndarray] = {root._node: seed}
    owned: set[int] = set()  # ids of arrays this walk allocated itself: safe to add into in place
    handed: set[int] = {id(seed)}  # ids of arrays stored somewhere: a leaf must not alias them
    # The nodes that hold a gradient, visited in decreasing creation order. Every consumer of
    # a node was created after it, so when a node comes off this heap, every gradient it will
    # receive has arrived: a topological order with no separate sorting pass.
    pending: list[tuple[int, Node]] = [(-root._node.seq, root._node)]
    while pending:
        node = heappop(pending)[1]
        g = grads.pop(node)
        owned.discard(id(g))  # g may be freed after this node; its id may then be reused
        if node.released:
            raise GraphError(
                f"backward: the graph through {node.op.name} was already released by an "
                "earlier backward(); pass retain_graph=True to the first backward() to "
                "walk it twice"
            )
        if node.out_ref is not None:
            out = node.out_ref()
            if out is not None:
                out.grad = np.array(g) if out.grad is None else _add(out.grad, g)
        input_grads = node.op.backward(node, g)
        if type(input_grads) is not tuple:
            input_grads = tuple(input_grads) if isinstance(input_grads, list) else (input_grads,)
        if len(input_grads) != len(node.parents):
            raise GraphError(
                f"{node.op.name}: backward returned {len(input_grads)} gradients for "
                f"{len(node.parents)} inputs"
            )
        for index, (parent, pg, need) in enumerate(
            zip(node.parents, input_grads, node.needs_input_grad, strict=True)
        ):
            if pg is None or not need:
                continue
            data = parent.data
            if type(pg) is not np.ndarray or pg.shape != data.shape or pg.dtype != data.dtype:
                pg = _fit_to_input(node, index, pg)  # reduce broadcast dims, or raise
            if anomaly:
                _check_finite(node.op.name, "backward", pg, node, index)
            child = parent._node
            if child is None:
                if parent.grad is None:
                    keep = pg.base is None and pg.flags.writeable and id(pg) not in handed
                    parent.grad = pg if keep else pg.copy()
                else:
                    parent.grad = _add(parent.grad, pg)
                handed.add(id(parent.grad))
                continue
            acc = grads.get(child)
            if acc is None:
                grads[child] = pg
                handed.add(id(pg))
                heappush(pending, (-child.seq, child))
            elif id(acc) in owned:
                np.add(acc, pg, out=acc)
            else:
                acc = _add(acc, pg)
                owned.add(id(acc))
                handed.add(id(acc))
                grads[child] = acc
        if not retain_graph:
            node.release()


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a + b`` as a new array; NumPy would return a scalar for two 0-d arrays."""
    out = a + b
    return out if type(out) is np.ndarray else np.asarray(out)


def _seed(root: Tensor, grad: Any) -> np.ndarray:
    data = root.data
    if grad is None:
        if data.size != 1:
            raise GraphError(
                f"backward: grad can be implicitly created only for a scalar output, but "
                f"this tensor has shape {data.shape}; pass grad= (an array of that shape) "
                "or reduce it first, e.g. loss.sum().backward()"
            )
        return np.ones(data.shape, dtype=data.dtype)
    try:
        seed = grad.data if isinstance(grad, Tensor) else np.asarray(grad)
    except (TypeError, ValueError) as exc:  # a ragged list
        raise DTypeError(f"backward: cannot make an array from the grad ({exc})") from exc
    if seed.shape != data.shape:
        raise ShapeError(
            f"backward: grad has shape {seed.shape} but the tensor has shape {data.shape}"
        )
    if seed.dtype != data.dtype:
        if seed.dtype.kind not in "fiub":
            raise DTypeError(f"backward: grad has dtype {seed.dtype}; expected {data.dtype}")
        seed = seed.astype(data.dtype)
    return seed


def graph_nodes(root: Tensor) -> list[Node]:
    """The nodes of ``root``'s graph, outputs first: each node before the nodes it reads."""
    return [] if root._node is None else _topological_order(root._node)


# The one knot: Tensor (floor 3) is built on this engine, and the engine hands out Tensors.
# minigrad/__init__.py imports this module first, so by this line every name above exists.
from minigrad.tensor import Tensor  # noqa: E402
