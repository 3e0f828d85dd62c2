"""The exceptions minigrad raises.

Every error a user can cause is one of these. Each subclasses the built-in exception a Python
programmer would expect (``ValueError`` for a bad shape or value, ``TypeError`` for a bad dtype
or argument type, ``RuntimeError`` for misuse of the graph), so ``except ValueError`` keeps
working, and each message names the op, what it expected and what it got.
"""

from __future__ import annotations

__all__ = [
    "AnomalyError",
    "DTypeError",
    "GradcheckError",
    "GraphError",
    "MinigradError",
    "ShapeError",
]


class MinigradError(Exception):
    """Base class of every error minigrad raises on purpose."""


class ShapeError(MinigradError, ValueError):
    """An array has a shape, size or axis the op cannot take.

    Example: ``matmul: shapes (2, 3) and (4, 5) cannot be multiplied (3 != 4)``.
    """


class DTypeError(MinigradError, TypeError):
    """An array has a dtype the op cannot take, e.g. ``requires_grad`` on integers."""


class GraphError(MinigradError, RuntimeError):
    """The computation graph was used in a way backpropagation cannot follow.

    Examples: ``backward()`` on a non-scalar without a gradient, or a second backward through
    a graph whose saved arrays were already released.
    """


class AnomalyError(MinigradError, FloatingPointError):
    """Inside ``detect_anomaly()``, an op produced NaN or inf (forward or backward)."""


class GradcheckError(MinigradError, AssertionError):
    """``gradcheck`` found an analytic gradient that disagrees with finite differences."""
