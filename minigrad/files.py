"""Reading values from files: the nesting depth of what a file holds, and JSON that refuses
what no valid file contains; and writing a file so that a failure never leaves half of it.

A file can hold anything, so everything minigrad reads from one (a checkpoint's metadata, a
model spec) is checked before it is used: here for its shape as data (how deep lists and
tables nest, numbers that are not finite or have thousands of digits), and then each value
for its type and range by the argument checks of :mod:`minigrad.arguments`, whose messages
describe a value without printing all of it (:func:`~minigrad.arguments.show`).

>>> loads_json('{"epoch": 3}')
{'epoch': 3}
>>> loads_json('{"epoch": Infinity}')
Traceback (most recent call last):
ValueError: epoch must be a finite number, got Infinity
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from minigrad.arguments import show

__all__ = ["MAX_DEPTH", "MAX_INT_DIGITS", "check_tree", "loads_json", "write_atomically"]

#: The deepest nesting of lists and tables a spec or a checkpoint's metadata may have.
MAX_DEPTH = 32
#: Integers read from JSON may have at most this many digits (an int64 has 19).
MAX_INT_DIGITS = 20


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


def write_atomically(path: str | Path, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(f)`` on a temporary file beside ``path``, then move it into place.

    A crash or an exception mid-write leaves any existing file at ``path`` as it was, and no
    half-written file under the real name (only a killed process can leave its hidden
    ``.name.*.tmp`` behind). The folder is created if needed. Checkpoints and exported models
    are written this way.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates the file readable by its owner only; give it the usual permissions.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_name, 0o666 & ~umask)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path
