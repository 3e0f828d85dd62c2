"""Checks for values read from files: a checkpoint's metadata, a model spec, optimiser settings.

A file can hold anything, so every value minigrad reads from one is checked for its type, its
range and its nesting depth before it is used, and error messages describe a value without
printing all of it (a 5,000-digit integer or a list nested 10,000 deep would make the message
itself fail).

A *check* is a function ``check(value) -> value`` that raises ``TypeError`` (wrong type) or
``ValueError`` (out of range) with the words ``"must be <what it expects>, got <what came>"``,
and whose docstring names what it expects. The caller turns that into the error of its file
(``SpecError``, ``CheckpointError``), naming the file and the field.

>>> integer(1)(3), number(0, 1, below=True)(0.5)
(3, 0.5)
>>> integer(1)(0)
Traceback (most recent call last):
ValueError: must be >= 1, got 0
>>> show(10**5000)
'<an integer of 5001 digits>'
"""

from __future__ import annotations

import json
import math
import reprlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "MAX_INT_DIGITS",
    "Check",
    "boolean",
    "check_depth",
    "choice",
    "integer",
    "loads_json",
    "number",
    "show",
    "text",
]

#: The deepest nesting of lists and tables a spec or a checkpoint's metadata may have.
MAX_DEPTH = 32
#: Integers read from JSON may have at most this many digits (an int64 has 19).
MAX_INT_DIGITS = 20

Check = Callable[[Any], Any]


class _Short(reprlib.Repr):
    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxstring, self.maxother = 3, 80, 80
        self.maxlist = self.maxtuple = self.maxdict = 8

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 100:
            return f"<an integer of {_digits(x)} digits>"
        return repr(x)


def _digits(x: int) -> int:
    """The number of decimal digits of ``x``, without converting it to a string."""
    n = abs(x)
    digits = int(n.bit_length() * math.log10(2))
    return digits + (n >= 10**digits)


_SHORT = _Short()


def show(value: Any) -> str:
    """``repr(value)`` for a message, cut short: long strings and lists end in ``...``, tables
    past three levels show ``{...}``, and huge integers say how many digits they have."""
    return _SHORT.repr(value)


def check_depth(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Raise ``ValueError`` if lists and tables in ``value`` nest deeper than ``max_depth``.

    The walk is iterative and stops at the first level too deep, so a structure nested
    100,000 levels deep (or one that contains itself) is refused, not followed.
    """
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth >= max_depth:
            raise ValueError(f"must nest lists and tables at most {max_depth} levels deep")
        stack.extend((child, depth + 1) for child in children)


def loads_json(source: str) -> Any:
    """Parse JSON that came from a file, refusing what Python's ``json`` would let through.

    ``NaN`` and ``Infinity``, numbers that overflow a float (``1e999``), integers of more than
    :data:`MAX_INT_DIGITS` digits and nesting deeper than :data:`MAX_DEPTH` raise ``ValueError``
    (as does malformed JSON: ``json.JSONDecodeError`` is a ``ValueError``).
    """

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a finite number")

    def whole(digits: str) -> int:
        if len(digits.lstrip("-")) > MAX_INT_DIGITS:
            raise ValueError(
                f"an integer of {len(digits.lstrip('-'))} digits (at most {MAX_INT_DIGITS})"
            )
        return int(digits)

    def real(digits: str) -> float:
        value = float(digits)
        if not math.isfinite(value):
            raise ValueError(f"{show(digits)} overflows a float")
        return value

    try:
        value = json.loads(source, parse_constant=constant, parse_int=whole, parse_float=real)
    except RecursionError:
        raise ValueError(f"must nest lists and tables at most {MAX_DEPTH} levels deep") from None
    check_depth(value)
    return value


# ----------------------------------------------------------------------------- checks


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def integer(lo: int, hi: int | None = None) -> Check:
    """A check: an integer (not a bool) from ``lo`` to ``hi`` (inclusive; no upper bound if
    None)."""

    def check(v: Any) -> int:
        if not _is_int(v):
            raise TypeError(f"must be an integer, got {show(v)}")
        if v < lo:
            raise ValueError(f"must be >= {lo}, got {show(v)}")
        if hi is not None and v > hi:
            raise ValueError(f"must be <= {hi:,}, got {show(v)}")
        return v

    check.__doc__ = f"an integer >= {lo}" if hi is None else f"an integer from {lo} to {hi:,}"
    return check


def number(lo: float, hi: float | None = None, *, below: bool = False) -> Check:
    """A check: a finite real number (int or float, not a bool) >= ``lo`` and <= ``hi``
    (< ``hi`` when ``below``); it returns a float."""
    upper = "" if hi is None else f" and {'<' if below else '<='} {hi}"
    what = f"a finite number >= {lo}{upper}"

    def check(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(f"must be {what}, got {show(v)}")
        if isinstance(v, int) and abs(v) > 2**63:
            raise ValueError(f"must be {what}, got {show(v)}")
        x = float(v)
        if not (math.isfinite(x) and x >= lo and (hi is None or (x < hi if below else x <= hi))):
            raise ValueError(f"must be {what}, got {show(v)}")
        return x

    check.__doc__ = what
    return check


def boolean(v: Any) -> bool:
    """true or false"""
    if not isinstance(v, bool):
        raise TypeError(f"must be true or false, got {show(v)}")
    return v


def choice(options: tuple[str, ...]) -> Check:
    """A check: one of the strings ``options``."""

    def check(v: Any) -> str:
        if not isinstance(v, str) or v not in options:
            raise ValueError(f"must be one of {', '.join(map(repr, options))}, got {show(v)}")
        return v

    check.__doc__ = "one of " + ", ".join(options)
    return check


def text(max_length: int, *, lines: bool = False) -> Check:
    """A check: a non-empty string of at most ``max_length`` printable characters (and line
    breaks and tabs when ``lines``), so printing it cannot drive the terminal."""
    allowed = "\n\t" if lines else ""

    def check(v: Any) -> str:
        if not isinstance(v, str) or not v:
            raise TypeError(f"must be a non-empty string, got {show(v)}")
        if len(v) > max_length:
            raise ValueError(f"must be at most {max_length} characters long, got {len(v):,}")
        bad = next((c for c in v if not (c.isprintable() or c in allowed)), None)
        if bad is not None:
            raise ValueError(f"must be printable text, got the control character {bad!r}")
        return v

    check.__doc__ = f"a string of at most {max_length} printable characters"
    return check
