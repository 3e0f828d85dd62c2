"""The one place each kind of argument is checked: ints, sizes, pairs, rates, dtypes, names.

Ops, layers, model specs, optimisers, the data loader, the graph renderer and the command line
all call these helpers, so one mistake gets one error class and one message everywhere::

    <where>: <argument> must be <what>, got <value> (<type>)

where ``<value>`` is :func:`show`: the ``repr``, cut short for a long string, a long or deeply
nested list, or an integer of thousands of digits (whose ``repr`` would itself fail).

A value of the wrong kind (``stride=1.5``, ``in_features="3"``) is an
:class:`~minigrad.errors.ArgumentError`; a value of the right kind outside its range
(``stride=0``, ``lr=-1``) is an :class:`~minigrad.errors.ArgumentRangeError`, which is an
``ArgumentError`` and also a ``ShapeError``, since most such arguments are sizes.

Python code and text (a TOML spec, the command line) name the kinds differently, "int" and
"integer"; ``text=True`` chooses the words a file or a shell user reads.

NumPy integers are ints everywhere; ``bool`` is never an int, though Python says it is.

>>> positive_int("Linear", "in_features", np.int64(3))
3
>>> int_or_pair("conv2d", "stride", 2, 1)
(2, 2)
>>> int_or_pair("conv2d", "stride", 0, 1)
Traceback (most recent call last):
...
minigrad.errors.ArgumentRangeError: conv2d: stride must be >= 1, got 0 (int)
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.errors import ArgumentError, ArgumentRangeError

__all__ = [
    "boolean",
    "choice",
    "float_dtype",
    "fraction",
    "generator",
    "int_or_pair",
    "integer",
    "is_int",
    "non_negative",
    "positive_int",
    "positive_number",
    "real",
    "show",
    "text",
]

FLOAT_DTYPES = ("float32", "float64")


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
    past three levels show ``{...}``, and huge integers say how many digits they have (their
    full ``repr`` would fail), so a value from a hostile file can always be described.

    >>> show(10**5000), show("x" * 10), show(list(range(20)))
    ('<an integer of 5,001 digits>', "'xxxxxxxxxx'", '[0, 1, 2, 3, 4, 5, 6, 7, ...]')
    """
    return _SHORT.repr(value)


def _fail(
    error: type[ArgumentError], where: str, argument: str, what: str, value: Any
) -> ArgumentError:
    subject = f"{where}: {argument}" if where else argument
    message = f"{subject} must be {what}" if subject else f"must be {what}"
    return error(f"{message}, got {show(value)} ({type(value).__name__})")


def _range(kind: str, minimum: int | None, maximum: int | None) -> str:
    if maximum is None:
        return f"{kind} >= {minimum}"
    if minimum is None:
        return f"{kind} <= {maximum:,}"
    return f"{kind} from {minimum:,} to {maximum:,}"


def is_int(value: Any) -> bool:
    """True for a Python or NumPy integer, False for ``bool`` (and everything else)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def integer(
    where: str,
    argument: str,
    value: Any,
    minimum: int | None = None,
    *,
    maximum: int | None = None,
    text: bool = False,
) -> int:
    """``value`` as a Python int, at least ``minimum`` and at most ``maximum`` when given."""
    kind = "an integer" if text else "an int"
    if not is_int(value):
        raise _fail(ArgumentError, where, argument, kind, value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise _fail(ArgumentRangeError, where, argument, _range(kind, minimum, maximum), value)
    return int(value)


def positive_int(
    where: str, argument: str, value: Any, *, maximum: int | None = None, text: bool = False
) -> int:
    """``value`` as a Python int >= 1 (a size, a count, a batch size), at most ``maximum``."""
    if is_int(value) and value < 1:
        what = ">= 1 (a positive integer)" if text else "a positive int"
        raise _fail(ArgumentRangeError, where, argument, what, value)
    return integer(where, argument, value, maximum=maximum, text=text)


def int_or_pair(
    where: str,
    argument: str,
    value: Any,
    minimum: int,
    *,
    maximum: int | None = None,
    text: bool = False,
) -> tuple[int, int]:
    """An int ``k`` as ``(k, k)``, or a pair of ints, each at least ``minimum`` (and at most
    ``maximum`` when given)."""
    if type(value) is tuple and len(value) == 2 and type(value[0]) is type(value[1]) is int:
        pair: Any = value  # already a pair of ints, as the layers pass it: 10x cheaper to accept
    else:
        pair = (value, value) if is_int(value) else value
        if not isinstance(pair, (tuple, list)) or len(pair) != 2 or not all(map(is_int, pair)):
            what = "an integer or a pair [h, w]" if text else "an int or a pair of ints"
            raise _fail(ArgumentError, where, argument, what, value)
    if min(pair) < minimum:
        raise _fail(ArgumentRangeError, where, argument, f">= {minimum}", value)
    if maximum is not None and max(pair) > maximum:
        raise _fail(ArgumentRangeError, where, argument, f"<= {maximum:,}", value)
    return int(pair[0]), int(pair[1])


def boolean(where: str, argument: str, value: Any, *, text: bool = False) -> bool:
    """``True`` or ``False`` (a NumPy bool too), never a number standing in for one."""
    if not isinstance(value, (bool, np.bool_)):
        raise _fail(ArgumentError, where, argument, "true or false" if text else "a bool", value)
    return bool(value)


def _real(where: str, argument: str, value: Any, what: str) -> float:
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(
        value, (bool, np.bool_)
    ):
        raise _fail(ArgumentError, where, argument, what, value)
    try:
        return float(value)
    except OverflowError:  # an int beyond the floats
        raise _fail(ArgumentRangeError, where, argument, "a finite number", value) from None


def real(where: str, argument: str, value: Any) -> float:
    """A finite real number (a slope), as a Python float."""
    number = _real(where, argument, value, "a finite number")
    if not np.isfinite(number):
        raise _fail(ArgumentRangeError, where, argument, "a finite number", value)
    return number


def non_negative(where: str, argument: str, value: Any, *, finite: bool = False) -> float:
    """A real number >= 0 (a learning rate, a weight decay), as a Python float; with
    ``finite``, not infinity either (a setting read from a file)."""
    number = _real(where, argument, value, "a number >= 0")
    if not number >= 0:  # also NaN
        raise _fail(ArgumentRangeError, where, argument, "a number >= 0", value)
    if finite and not math.isfinite(number):
        raise _fail(ArgumentRangeError, where, argument, "a finite number", value)
    return number


def positive_number(where: str, argument: str, value: Any) -> float:
    """A real number > 0 (a step size, a tolerance), as a Python float."""
    number = _real(where, argument, value, "a number > 0")
    if not number > 0:
        raise _fail(ArgumentRangeError, where, argument, "a number > 0", value)
    return number


def fraction(where: str, argument: str, value: Any, *, closed: str = "low") -> float:
    """A number in [0, 1) (``closed="low"``, a momentum, a beta), (0, 1] (``closed="high"``)
    or [0, 1] (``closed="both"``, a probability)."""
    what = {"low": "in [0, 1)", "high": "in (0, 1]", "both": "in [0, 1]"}[closed]
    number = _real(where, argument, value, what)
    low = number >= 0 if closed != "high" else number > 0
    inside = low and (number < 1 if closed == "low" else number <= 1)
    if not inside:
        raise _fail(ArgumentRangeError, where, argument, what, value)
    return number


def generator(where: str, argument: str, value: Any) -> np.random.Generator:
    """A NumPy Generator from a Generator (used as is), an int seed, or None (unseeded)."""
    if not (value is None or isinstance(value, np.random.Generator) or is_int(value)):
        raise _fail(ArgumentError, where, argument, "a numpy Generator, an int seed or None", value)
    return np.random.default_rng(value)


def float_dtype(where: str, argument: str, value: Any) -> np.dtype:
    """A float dtype minigrad computes in: float32 or float64 (a name, a type or a dtype)."""
    try:
        dtype = np.dtype(value)
    except TypeError:
        dtype = None
    if dtype is None or dtype.name not in FLOAT_DTYPES:
        raise _fail(ArgumentError, where, argument, "a float dtype (float32 or float64)", value)
    return dtype


def choice(where: str, argument: str, value: Any, options: Sequence[str]) -> str:
    """One of ``options`` (a reduction, an init scheme, a view)."""
    if not isinstance(value, str) or value not in options:
        what = f"one of {tuple(options)}"
        raise _fail(ArgumentError, where, argument, what, value)
    return value


def text(where: str, argument: str, value: Any, max_length: int, *, lines: bool = False) -> str:
    """A non-empty string of at most ``max_length`` printable characters (line breaks and tabs
    too with ``lines``), so that printing it cannot drive the terminal (a spec's name)."""
    allowed = "\n\t" if lines else ""
    what = f"a non-empty string of at most {max_length} printable characters"
    if not isinstance(value, str) or not value:
        raise _fail(ArgumentError, where, argument, what, value)
    if len(value) > max_length or not all(c.isprintable() or c in allowed for c in value):
        raise _fail(ArgumentRangeError, where, argument, what, value)
    return value
