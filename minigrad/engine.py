"""The autograd engine, in reading order: the graph ``Node``, ``Function``, the walk, grad mode.

An op is a :class:`Function`; ``Op.apply(...)`` runs its ``check`` once per call signature,
its ``forward`` on the arrays and, when grad mode is on and an input requires grad, records a
:class:`Node` (the ``ctx`` the op saw) on the output. An op never sees the graph: its backward
reads only what its forward saved. :func:`backward` walks the nodes in reverse creation order
(no recursion), calls each VJP once with the sum of the gradients that reached it, sums away
broadcast dimensions, checks every gradient's shape and dtype, and releases saved arrays.

Beside it: :mod:`minigrad.gradients` (the arrays of a walk), :mod:`minigrad.hooks` (tensor
hooks, recording the walk), :mod:`minigrad.versions` (no VJP runs on arrays changed since the
forward pass), :mod:`minigrad.anomaly` and :mod:`minigrad.modes`.
"""

from __future__ import annotations

import contextvars
import itertools
import re
import weakref
from collections.abc import Callable, Iterator
from operator import attrgetter
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from minigrad import anomaly
from minigrad.errors import GraphError, MinigradError, numpy_failure
from minigrad.gradients import Gradients, fit_to_input, seed_gradient
from minigrad.hooks import BackwardStep, recording, run_hooks
from minigrad.modes import Mode, scope
from minigrad.versions import SavedGuard, guard_saved, share_view

if TYPE_CHECKING:
    from minigrad.tensor import Tensor

__all__ = [
    "Function",
    "Node",
    "backward",
    "enable_grad",
    "graph_nodes",
    "is_grad_enabled",
    "no_grad",
]

# --------------------------------------------------------------------------- the node

_creation_counter = itertools.count()  # next() on it is atomic under the GIL


class Node:
    """One recorded op application: the ``ctx`` an op's forward and backward share.

    Attributes:
        op: the :class:`Function` subclass that was applied.
        parents: the input tensors, in argument order (an ordered tuple, never a set).
        attrs: the keyword attributes the op was called with (stride, axis, ...).
        needs_input_grad: one bool per input: does backward need that input's gradient?
        saved_tensors: what forward passed to :meth:`save_for_backward`.
        out_ref: a weak reference to the tensor the op produced.
        guard: the versions and read-only arrays of what it saved (:mod:`minigrad.versions`).
        scope: the module path the op was called under (see ``minigrad.name_scope``).
        stack: where the op was created, recorded inside ``detect_anomaly`` only.
        seq: the creation number; decreasing ``seq`` is an order backward can visit nodes in.
    """

    # No __dict__: an op keeps what backward needs in save_for_backward, nowhere else.
    # fmt: off
    __slots__ = ("attrs", "guard", "needs_input_grad", "op", "out_ref", "parents", "released",
                 "saved_tensors", "scope", "seq", "stack")
    # fmt: on

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
        self.guard: SavedGuard | None = None
        self.scope = scope.get()
        self.stack: list[Any] | None = None
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
        self.released = True
        if self.guard is not None:
            self.guard.release()
            self.guard = None

    def __repr__(self) -> str:
        attrs = "".join(f", {k}={v!r}" for k, v in self.attrs.items())
        return f"<{self.op.__name__}Backward inputs={len(self.parents)}{attrs}>"


# --------------------------------------------------------------------------- Function


class Function:
    """Base class of every op: a check, a forward and its vector-Jacobian product.

    * ``name``: what errors and graphs show; yours defaults to the class name in snake case.
    * ``check(*arrays, **attrs)`` (optional, static): raises a minigrad error naming the op for
      arguments it cannot take. Run once per call signature (shapes, dtypes, attributes), or
      on every call if ``checks_values`` is True (it reads the values).
    * ``forward(ctx, *arrays, **attrs) -> ndarray``; it may ``ctx.save_for_backward(...)``.
    * ``backward(ctx, grad) -> tuple``: dL/d(input) for each input, in order (``None`` where
      ``ctx.needs_input_grad`` is False), from ``ctx.saved_tensors`` only. A gradient may keep
      broadcast dimensions; the engine sums them away and checks shape and dtype. Never modify
      ``grad`` in place, and return new arrays or views: a leaf may keep one as its ``.grad``.

    ``MyOp.apply(*inputs, **attrs)`` takes tensors, arrays and numbers. If NumPy still fails
    inside ``forward``, the error is a minigrad error naming the op. An op of your own, step by
    step: ``docs/gradcheck-tutorial.md``.
    """

    name: ClassVar[str] = ""
    check: ClassVar[Callable[..., None] | None] = None
    checks_values: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("name"):
            cls.name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", cls.__name__).lower()

    @staticmethod
    def forward(ctx: Node, *arrays: np.ndarray, **attrs: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Any, **attrs: Any) -> Tensor:
        """Run the op on ``inputs`` and record it in the graph when a gradient is needed."""
        parents = _tensors(inputs, cls.name)
        if _grad_enabled.get():
            needs = tuple([p._requires_grad for p in parents])
        else:
            needs = (False,) * len(parents)
        ctx = Node(cls, parents, attrs, needs)
        watch = anomaly.enabled.get()
        if watch:
            anomaly.capture(ctx)
        arrays = [p._data for p in parents]
        try:
            if cls.check is not None:
                _validate(cls, arrays, attrs)
            data = cls.forward(ctx, *arrays, **attrs)
        except MinigradError:
            raise
        except (TypeError, ValueError, IndexError, ArithmeticError) as exc:
            raise numpy_failure(cls.name, arrays, exc) from exc
        if type(data) is not np.ndarray:
            data = np.asarray(data)
        if watch:
            anomaly.after_forward(ctx, data)
        record = True in needs
        out = Tensor._make(data, ctx if record else None)
        if data.base is not None:
            share_view(out, parents)  # a view of an input: one version, a read-only array
        if record:
            ctx.out_ref = weakref.ref(out)
            if ctx.saved_tensors:
                ctx.guard = guard_saved(ctx, out)
        return out


def _tensors(inputs: tuple[Any, ...], op: str) -> tuple[Tensor, ...]:
    """The inputs as tensors, constants lifted. Speed case, all tensors: the tuple itself, not
    a new one (the chain of 100 ``mul``: 0.18 us, 2.6%, less per op; thread CPU time)."""
    for x in inputs:
        if not isinstance(x, Tensor):
            return tuple([Tensor._lift(x, op) for x in inputs])
    return inputs


# The call signatures whose check passed. Bounded: emptied when full (a model has a few dozen).
_checked: dict[tuple[Any, ...], None] = {}
_CHECKED_MAX = 4096
_shape_and_dtype = attrgetter("shape", "dtype")


def _validate(cls: type[Function], arrays: list[np.ndarray], attrs: dict[str, Any]) -> None:
    """Run ``cls.check`` unless it already passed for this signature."""
    key = None if cls.checks_values else (cls, *map(_shape_and_dtype, arrays))
    if attrs and key is not None:  # only then: unpacking an empty items() costs 0.07 us
        key = (*key, *attrs.items())
    try:
        if key is not None and key in _checked:
            return
    except TypeError:  # an unhashable attribute: check every time
        key = None
    cls.check(*arrays, **attrs)  # type: ignore[misc]
    if key is not None:
        if len(_checked) >= _CHECKED_MAX:
            _checked.clear()
        _checked[key] = None


# --------------------------------------------------------------------------- backward


def backward(root: Tensor, grad: Any = None, retain_graph: bool = False) -> None:
    """Backpropagate from ``root``: accumulate dL/dt into ``t.grad`` of every leaf ``t``.

    Args:
        root: the tensor to differentiate, usually a scalar loss.
        grad: dL/d(root); may be omitted for a scalar root (it is then 1).
        retain_graph: keep the saved arrays so that backward can run through the graph again.

    Only leaves (tensors you made with ``requires_grad=True``) and tensors that called
    ``retain_grad()`` keep a ``.grad``. ``tensor.backward()`` calls this function.

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
    seed = seed_gradient(root, grad.data if isinstance(grad, Tensor) else grad)
    watch = anomaly.enabled.get()
    if watch:
        anomaly.check_seed(seed)
    if root._node is None:
        Gradients.store(root, run_hooks(root, seed) if root._hooks else seed, {id(seed)})
        return
    steps = recording()
    pending = Gradients(root._node, seed, watch, steps)
    while pending:
        node, g = pending.pop()
        if node.released:
            raise GraphError(
                f"backward: the graph through {node.op.name} was already released by an "
                "earlier backward(); pass retain_graph=True to the first backward() to "
                "walk it twice"
            )
        out = node.out_ref() if node.out_ref is not None else None
        if out is not None and (out._hooks or out._retains_grad):
            g = pending.complete(out, g)
        if node.guard is not None:
            node.guard.check(node)  # nothing it saved was changed in place since
        input_grads = _vjp(node, g)
        for index, pg in enumerate(input_grads):
            if pg is not None:
                pending.send(node, index, pg)
        if steps is not None:
            steps.append(BackwardStep(len(steps), node, out, g, input_grads))
        if not retain_graph:
            node.release()
    pending.finish()


def _vjp(node: Node, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
    """The node's VJP, each gradient fitted to its input (None where none is needed)."""
    grads = node.op.backward(node, g)
    if type(grads) is not tuple:
        grads = tuple(grads) if isinstance(grads, list) else (grads,)
    if len(grads) != len(node.parents):
        raise GraphError(
            f"{node.op.name}: backward returned {len(grads)} gradients for "
            f"{len(node.parents)} inputs"
        )
    fitted = []  # zip without strict=: a keyword costs zip 0.1 us; the lengths are checked above
    for parent, pg, need in zip(node.parents, grads, node.needs_input_grad):  # noqa: B905
        if pg is None or not need:
            pg = None
        elif (
            type(pg) is not np.ndarray
            or pg.shape != (data := parent._data).shape
            or pg.dtype != data.dtype
        ):
            pg = fit_to_input(node, len(fitted), pg)  # reduce broadcast dims, or raise
        fitted.append(pg)
    return tuple(fitted)


def graph_nodes(root: Tensor) -> list[Node]:
    """The nodes of ``root``'s graph, each before the nodes it reads: an iterative depth-first
    post-order, reversed (no recursion, so graphs of any depth)."""
    if root._node is None:
        return []
    order: list[Node] = []
    visited = {root._node}
    stack: list[tuple[Node, Iterator[Tensor]]] = [(root._node, iter(root._node.parents))]
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


# --------------------------------------------------------------------------- modes

_grad_enabled: contextvars.ContextVar[bool] = contextvars.ContextVar("grad_enabled", default=True)


def is_grad_enabled() -> bool:
    """True unless inside :class:`no_grad` (in this thread)."""
    return _grad_enabled.get()


class no_grad(Mode):  # noqa: N801 - the PyTorch name
    """Context manager and decorator under which no graph is recorded (per thread): for
    evaluation and for parameter updates.

    >>> import minigrad, numpy as np
    >>> w = minigrad.Tensor(np.ones(3), requires_grad=True)
    >>> with minigrad.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    variable = _grad_enabled
    on = False


class enable_grad(Mode):  # noqa: N801 - the PyTorch name
    """Context manager and decorator that turns recording back on inside :class:`no_grad`."""

    variable = _grad_enabled
    on = True


# The one knot: Tensor (floor 3) is built on this engine, and the engine hands out Tensors.
# minigrad/__init__.py imports this module first, so by this line every name above exists.
from minigrad.tensor import Tensor  # noqa: E402
