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

__all__ = ["Mode"]

# What each entered block replaced, innermost last: (variable, previous value) pairs. Kept in
# a context variable rather than on the instance, because one decorated function may run in
# several threads (or call itself) at once.
_outer: contextvars.ContextVar[tuple[tuple[contextvars.ContextVar[Any], Any], ...]] = (
    contextvars.ContextVar("outer_modes", default=())
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
        variable = self.variable
        _outer.set((*_outer.get(), (variable, variable.get())))
        variable.set(self.value())
        return None

    def __exit__(self, *exc: object) -> None:
        *outer, (variable, previous) = _outer.get()
        _outer.set(tuple(outer))
        variable.set(previous)
