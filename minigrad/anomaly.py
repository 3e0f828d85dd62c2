"""``detect_anomaly()``: the first op that makes NaN or inf raises, naming itself and your line.

The engine calls this module from two places, and only inside the block: :func:`after_forward`
with each op's output, and :func:`after_backward` with each gradient a VJP returned and each
sum of gradients it accumulated (a tensor used twice). So an overflow is reported where it
happens, including one that only appears when two finite gradients are added, rather than at
the next op, which merely passes the inf along.
"""

from __future__ import annotations

import contextvars
import os
import traceback
from typing import TYPE_CHECKING

import numpy as np

from minigrad.errors import AnomalyError
from minigrad.hooks import describe
from minigrad.modes import Mode

if TYPE_CHECKING:
    from minigrad.engine import Node

__all__ = ["detect_anomaly", "is_anomaly_enabled"]

#: True inside ``detect_anomaly()``; the engine reads it once per op.
enabled: contextvars.ContextVar[bool] = contextvars.ContextVar("detect_anomaly", default=False)


def is_anomaly_enabled() -> bool:
    """True inside :class:`detect_anomaly` (in this thread).

    >>> import minigrad
    >>> with minigrad.detect_anomaly():
    ...     print(minigrad.is_anomaly_enabled())
    True
    >>> minigrad.is_anomaly_enabled()
    False
    """
    return enabled.get()


class detect_anomaly(Mode):  # noqa: N801 - the PyTorch name
    """Make the first op that produces NaN or inf raise :class:`~minigrad.AnomalyError`.

    Inside the block every op's output is checked in the forward pass, and every gradient a
    VJP returns or the engine sums is checked in the backward pass (run ``backward()`` inside
    the block too). The error names the op, its module and which input or gradient went bad,
    and shows where in your code that op was created (the frames inside minigrad are listed
    after it). It costs a check and a stack capture per op, so it is off by default. It can
    also decorate a function, and it is per thread: other threads are not affected.

    >>> import minigrad, numpy as np
    >>> x = minigrad.Tensor(np.array([0.0, 1.0]), requires_grad=True)
    >>> with minigrad.detect_anomaly():
    ...     minigrad.log(x)
    Traceback (most recent call last):
    ...
    minigrad.errors.AnomalyError: log produced -inf in its forward pass: its output ...
    """

    variable = enabled


def capture(node: Node) -> None:
    """Remember where ``node`` was created (the caller's stack, minus this frame)."""
    node.stack = traceback.extract_stack()[:-2]


def after_forward(node: Node, output: np.ndarray) -> None:
    """Raise if the op of ``node`` made NaN or inf, saying whether an input already held it."""
    if _finite(output):
        return
    notes = ""
    for i, p in enumerate(node.parents):
        if not _finite(p.data):
            source = "a tensor made outside detect_anomaly()" if p._node else "a leaf or constant"
            notes += f"Input {i} already held {_bad_value(p.data)} ({source}).\n"
    raise AnomalyError(
        f"{node.op.name}{_module(node)} produced {_bad_value(output)} in its forward pass: its "
        f"output (shape {output.shape}, dtype {output.dtype}).\n{notes}"
        f"The op was created here:\n{_where_created(node)}"
    )


def after_backward(node: Node, index: int, grad: np.ndarray, total: np.ndarray | None) -> None:
    """Raise if the gradient ``node``'s VJP sent to input ``index`` is not finite, or if adding
    it to the gradients that input had already received (``total``) overflowed."""
    if not _finite(grad):
        raise AnomalyError(
            f"{node.op.name}{_module(node)} produced {_bad_value(grad)} in its backward pass: "
            f"the gradient for input {index} (shape {grad.shape}, dtype {grad.dtype}).\n"
            f"The op was created here:\n{_where_created(node)}"
        )
    if total is not None and not _finite(total):
        parent = node.parents[index]
        raise AnomalyError(
            f"backward: the gradients reaching {describe(parent)} summed to "
            f"{_bad_value(total)}: each was finite, and adding the one from {node.op.name}"
            f"{_module(node)} (input {index}) overflowed (shape {total.shape}, dtype "
            f"{total.dtype}).\nThat tensor is used more than once; "
            + (
                f"it was created here:\n{_where_created(parent._node)}"
                if parent._node is not None
                else "it is a leaf.\n"
            )
        )


def check_seed(seed: np.ndarray) -> None:
    """Raise if the gradient passed to ``backward()`` is not finite."""
    if not _finite(seed):
        raise AnomalyError(f"backward: the grad passed to backward() holds {_bad_value(seed)}")


def _finite(array: np.ndarray) -> bool:
    return array.dtype.kind not in "fc" or bool(np.isfinite(array).all())


def _bad_value(array: np.ndarray) -> str:
    return "nan" if np.isnan(array).any() else "inf" if np.isposinf(array).any() else "-inf"


def _module(node: Node) -> str:
    return f" (in module {'.'.join(node.scope)!r})" if node.scope else ""


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
