"""The gradient arrays of one backward walk: the seed, fitting, accumulation.

:func:`minigrad.engine.backward` reads as pop, VJP, fit to input, accumulate, release; this
module holds the bookkeeping behind three of those words: :func:`seed_gradient` (where the
walk starts), :func:`fit_to_input` (a VJP's result summed over broadcast dimensions, then
checked against its input) and :class:`Gradients` (who receives what, added where, copied
when).
"""

from __future__ import annotations

from dataclasses import replace
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any

import numpy as np

from minigrad import anomaly
from minigrad.errors import DTypeError, GraphError, ShapeError
from minigrad.hooks import run_hooks

if TYPE_CHECKING:
    from minigrad.engine import Node
    from minigrad.hooks import BackwardStep
    from minigrad.tensor import Tensor

__all__: list[str] = []  # the engine's internals; the public face is minigrad.engine.backward


class Gradients:
    """The gradients on their way during one walk: the accumulation bookkeeping.

    A node waits in a heap by decreasing creation number with the sum of what its consumers
    sent; every consumer was created after it, so a node comes off the heap with its sum
    complete (a topological order without a sorting pass). A leaf takes its gradient at once,
    or, if it has hooks, when the walk is over. No needless copy and no aliasing: a sum is
    added into in place only if this walk allocated it (``owned``), and a leaf keeps an array
    as ``.grad`` only if nothing else holds it (``handed``: ids of arrays stored somewhere).
    Nothing a node received is changed afterwards, so a recorded step stays as computed.
    """

    def __init__(
        self, root: Node, seed: np.ndarray, watch: bool, steps: list[BackwardStep] | None
    ) -> None:
        self.sums: dict[Node, np.ndarray] = {root: seed}
        self.heap: list[tuple[int, Node]] = [(-root.seq, root)]
        self.owned: set[int] = set()
        self.handed: set[int] = {id(seed)}
        self.hooked: dict[int, tuple[Tensor, np.ndarray]] = {}
        self.watch = watch
        self.steps = steps
        # While recording: for each receiver (a node, or a leaf with hooks), the (step, input)
        # pairs that sent it a gradient, so a hook's replacement can be shown on its edge.
        self.edges: dict[object, list[tuple[int, int]]] = {}

    def __bool__(self) -> bool:
        return bool(self.heap)

    def pop(self) -> tuple[Node, np.ndarray]:
        node = heappop(self.heap)[1]
        g = self.sums.pop(node)
        self.owned.discard(id(g))  # g may be freed after this node; its id may then be reused
        return node, g

    def send(self, node: Node, index: int, pg: np.ndarray) -> None:
        """Add ``pg``, the gradient ``node`` sends its input ``index``, to that input's sum."""
        parent = node.parents[index]
        child, total = parent._node, None
        if self.steps is not None:
            key = child if child is not None else id(parent)
            self.edges.setdefault(key, []).append((len(self.steps), index))
        if child is None and parent._hooks:
            key = id(parent)
            total = add(self.hooked[key][1], pg) if key in self.hooked else None
            self.hooked[key] = (parent, pg if total is None else total)
            self.handed.add(id(pg))
        elif child is None:
            total = self.store(parent, pg, self.handed)
        elif child not in self.sums:
            self.sums[child] = pg
            self.handed.add(id(pg))
            heappush(self.heap, (-child.seq, child))
        elif id(total := self.sums[child]) in self.owned:
            np.add(total, pg, out=total)
        else:
            total = self.sums[child] = add(total, pg)
            self.owned.add(id(total))
            self.handed.add(id(total))
        if self.watch:
            anomaly.after_backward(node, index, pg, total)

    def complete(self, t: Tensor, g: np.ndarray) -> np.ndarray:
        """A non-leaf tensor's complete gradient: its hooks run, then ``retain_grad()`` keeps it."""
        if t._hooks:
            g = self._through_hooks(t._node, t, g)
        if t._retains_grad:
            t.grad = np.array(g) if t.grad is None else add(t.grad, g)
        return g

    def finish(self) -> None:
        """Give each leaf with hooks its total, through the hooks."""
        for key, (leaf, total) in self.hooked.items():
            self.store(leaf, self._through_hooks(key, leaf, total), self.handed)

    def _through_hooks(self, key: object, t: Tensor, g: np.ndarray) -> np.ndarray:
        """``t``'s hooks applied to ``g``. While recording, a replacement is shown on the edge
        that brought ``g`` if there was one (with several, each edge keeps what it sent)."""
        out = run_hooks(t, g)
        edges = self.edges.get(key, [])
        if out is not g and self.steps is not None and len(edges) == 1:
            (i, index), step = edges[0], self.steps[edges[0][0]]
            sent = step.input_grads
            self.steps[i] = replace(step, input_grads=(*sent[:index], out, *sent[index + 1 :]))
        return out

    @staticmethod
    def store(leaf: Tensor, g: np.ndarray, handed: set[int]) -> np.ndarray | None:
        """Accumulate ``g`` into ``leaf.grad``; the new sum, if there was one to add to."""
        if leaf.grad is None:
            keep = g.base is None and g.flags.writeable and id(g) not in handed
            leaf.grad = g if keep else g.copy()
            total = None
        else:
            leaf.grad = total = add(leaf.grad, g)
        handed.add(id(leaf.grad))
        return total


def fit_to_input(node: Node, index: int, grad: Any) -> np.ndarray:
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


def add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a + b`` as a new array; NumPy would return a scalar for two 0-d arrays."""
    out = a + b
    return out if type(out) is np.ndarray else np.asarray(out)


def seed_gradient(root: Tensor, grad: Any) -> np.ndarray:
    """dL/d(root), where the walk starts: 1 for a one-element root, else ``grad`` (an array)
    checked against the root's shape, and cast to its dtype."""
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
        seed = np.asarray(grad)
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
