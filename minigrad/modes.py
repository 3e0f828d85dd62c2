"""One way to write a mode: a context variable set inside a ``with`` block.

Grad mode (:class:`~minigrad.no_grad`, :class:`~minigrad.enable_grad`), module scopes
(:class:`~minigrad.name_scope`), anomaly detection (:class:`~minigrad.detect_anomaly`) and
recording a backward walk (:class:`~minigrad.record_backward`) are all a :class:`Mode`: a
``contextvars.ContextVar`` that the block sets and then restores. A context variable, not a
module global, so each thread and each asyncio task has its own mode.
"""

from __future__ import annotations

import contextvars
from contextlib import ContextDecorator
from typing import Any, ClassVar

__all__ = ["Mode", "name_scope", "scope"]

# The tokens of the blocks entered, innermost last: each restores what its block replaced. Kept
# in a context variable rather than on the instance, because one decorated function may run in
# several threads (or call itself) at once.
_entered: contextvars.ContextVar[tuple[contextvars.Token[Any], ...]] = contextvars.ContextVar(
    "entered_modes", default=()
)


class Mode(ContextDecorator):
    """Sets ``variable`` to :meth:`value` inside the block; a context manager and a decorator.

    A subclass names its ``variable`` and either sets ``on`` or overrides :meth:`value`.
    """

    variable: ClassVar[contextvars.ContextVar[Any]]
    on: ClassVar[Any] = True

    def value(self) -> Any:
        """The value inside the block."""
        return self.on

    def __enter__(self) -> Any:
        _entered.set((*_entered.get(), self.variable.set(self.value())))
        return None

    def __exit__(self, *exc: object) -> None:
        entered = _entered.get()
        _entered.set(entered[:-1])
        entered[-1].var.reset(entered[-1])


#: The module path of the ops being recorded (``minigrad.nn.Module`` enters one per call).
scope: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("scope", default=())


class name_scope(Mode):  # noqa: N801 - used like a function: ``with name_scope(...)``
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

    variable = scope

    def __init__(self, name: str) -> None:
        self._name = name

    def value(self) -> tuple[str, ...]:
        return (*scope.get(), self._name)
