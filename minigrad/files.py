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
'<an integer of 5,001 digits>'
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
    "check_tree",
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
            return f"<an integer of {_digits(x):,} digits>"
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


class _Refused:
    """What JSON parsing found where a number belongs but refused to make one of."""

    def __init__(self, text: str, expected: str) -> None:
        self.text, self.expected = text, expected

    def __repr__(self) -> str:
        return self.text


def _key(k: Any) -> str:
    return k if isinstance(k, str) and len(k) <= 40 and k.isprintable() else show(k)


def check_tree(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Raise ``ValueError`` naming the first place (``layers[1].kernel_size``) where lists and
    tables in ``value`` nest deeper than ``max_depth``, or where :func:`loads_json` refused a
    number.

    The walk is iterative and stops at the first level too deep, so a structure nested
    100,000 levels deep (or one that contains itself) is refused, not followed.
    """
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, _Refused):
            raise ValueError(f"{where or 'the value'} must be {item.expected}, got {item}")
        if isinstance(item, Mapping):
            children = [(f"{where}.{_key(k)}" if where else _key(k), v) for k, v in item.items()]
        elif isinstance(item, (list, tuple)):
            children = [(f"{where}[{i}]", v) for i, v in enumerate(item)]
        else:
            continue
        if depth >= max_depth:
            raise ValueError(
                f"{where or 'the value'} nests lists and tables more than {max_depth} levels deep"
            )
        stack.extend((v, w, depth + 1) for w, v in reversed(children))


def loads_json(source: str) -> Any:
    """Parse JSON that came from a file, refusing what Python's ``json`` would let through.

    ``NaN`` and ``Infinity``, numbers that overflow a float (``1e999``), integers of more than
    :data:`MAX_INT_DIGITS` digits and nesting deeper than :data:`MAX_DEPTH` raise ``ValueError``
    naming where they are (``epoch must be a finite number, got Infinity``); malformed JSON
    raises ``json.JSONDecodeError`` (also a ``ValueError``).
    """

    def whole(digits: str) -> int | _Refused:
        n = len(digits.lstrip("-"))
        if n > MAX_INT_DIGITS:
            return _Refused(
                f"an integer of {n:,} digits", f"an integer of at most {MAX_INT_DIGITS} digits"
            )
        return int(digits)

    def real(digits: str) -> float | _Refused:
        value = float(digits)
        return value if math.isfinite(value) else _Refused(show(digits), "a finite number")

    try:
        value = json.loads(
            source,
            parse_constant=lambda name: _Refused(name, "a finite number"),
            parse_int=whole,
            parse_float=real,
        )
    except RecursionError:
        raise ValueError(
            f"the data nests lists and tables more than {MAX_DEPTH} levels deep"
        ) from None
    check_tree(value)
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
    what = f"a number >= {lo}{upper}"

    def check(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(f"must be {what}, got {show(v)}")
        try:
            x = float(v)
        except OverflowError:  # an int beyond the floats
            x = math.inf
        if not math.isfinite(x):
            raise ValueError(f"must be a finite number, got {show(v)}")
        if not (x >= lo and (hi is None or (x < hi if below else x <= hi))):
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
