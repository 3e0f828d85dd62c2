"""Tensor hooks and recordings of the backward walk: two ways to watch gradients flow.

* ``tensor.register_hook(fn)`` calls ``fn(grad)`` with the tensor's gradient during
  backward, once that gradient is complete; ``fn`` may return a replacement array.
* ``with minigrad.record_backward() as steps: loss.backward()`` lists every step of the walk,
  in the engine's order: which node ran, the gradient its VJP received and what it sent on.

Both cost nothing when unused: the engine asks for a hook only of a tensor that has one, and
records only inside the block.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from minigrad.errors import DTypeError, ShapeError
from minigrad.modes import Mode

if TYPE_CHECKING:
    from minigrad.engine import Node
    from minigrad.tensor import Tensor

__all__ = ["BackwardStep", "RemovableHandle", "record_backward"]

Hook = Callable[[np.ndarray], "np.ndarray | None"]


class RemovableHandle:
    """What :meth:`Tensor.register_hook` returns: ``handle.remove()`` removes the hook."""

    def __init__(self, hooks: list[Hook], hook: Hook) -> None:
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        """Remove the hook (again is harmless)."""
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def run_hooks(tensor: Tensor, grad: np.ndarray) -> np.ndarray:
    """Call ``tensor``'s hooks in registration order, each with the previous one's result."""
    for hook in list(tensor._hooks or ()):
        out = hook(grad)
        if out is None:
            continue
        if not isinstance(out, np.ndarray) or out.shape != grad.shape:
            raise ShapeError(
                f"register_hook: a hook on {describe(tensor)} returned "
                f"{_what(out)}; it must return None or an array of shape {grad.shape}"
            )
        if out.dtype != grad.dtype:
            raise DTypeError(
                f"register_hook: a hook on {describe(tensor)} returned a {out.dtype} array; "
                f"it must return None or an array of dtype {grad.dtype}"
            )
        grad = out
    return grad


def describe(t: Tensor) -> str:
    """How messages name a tensor: by its name, by the op that made it, or as a leaf."""
    if t.name:
        return f"tensor {t.name!r}"
    if t._node is not None:
        scope = f" (in module {'.'.join(t._node.scope)!r})" if t._node.scope else ""
        return f"the output of {t._node.op.name}{scope}"
    return f"a leaf tensor of shape {t.data.shape}"


def _what(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return f"a {type(value).__name__}"


@dataclass(frozen=True)
class BackwardStep:
    """One step of the backward walk: one node's VJP.

    Attributes:
        index: the step's position in the walk (0 for the node that made the root).
        node: the :class:`~minigrad.Node` whose VJP ran.
        output: the tensor the node produced, or None if it was already freed.
        grad: dL/d(output), the array the VJP received (the sum over every consumer, after
            the output's hooks).
        input_grads: one entry per input of the node: the array sent to that input, reduced
            over broadcast dimensions and through the input's hooks, or None where no
            gradient was sent. Hooks act on an input's total: if this was the only gradient
            the input received, the entry is what its hooks returned; if it received
            several, each entry is what was sent, and the hooked total is the ``grad`` of
            the input's own step (or, for a leaf, what reaches ``.grad``).
    """

    index: int
    node: Node
    output: Tensor | None
    grad: np.ndarray
    input_grads: tuple[np.ndarray | None, ...]


_recording: contextvars.ContextVar[list[BackwardStep] | None] = contextvars.ContextVar(
    "record_backward", default=None
)


class record_backward(Mode):  # noqa: N801 - used like a function: ``with record_backward()``
    """Record every step of the backward passes run inside the block, in the engine's order.

    The arrays are the ones the engine computed, never changed afterwards by accumulation.
    Per thread, like grad mode.

    >>> import minigrad, numpy as np
    >>> x = minigrad.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    >>> loss = (x * x).sum()
    >>> with minigrad.record_backward() as steps:
    ...     loss.backward()
    >>> [step.node.name for step in steps]
    ['sum', 'mul']
    >>> steps[1].input_grads          # x * x sends dL/dy * x to each of its inputs
    (array([1., 2.]), array([1., 2.]))
    >>> x.grad                        # the two summed
    array([2., 4.])
    """

    variable = _recording

    def value(self) -> list[BackwardStep]:
        return []

    def __enter__(self) -> list[BackwardStep]:  # type: ignore[override]
        super().__enter__()
        steps = _recording.get()
        assert steps is not None
        return steps


def recording() -> list[BackwardStep] | None:
    """The list the current ``record_backward`` block records into, or None."""
    return _recording.get()
