"""Measuring what reading a file costs: the peak of Python-allocated memory while it runs."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

from minigrad.errors import MinigradError


def peak_memory(fn: Callable[[], Any]) -> tuple[int, MinigradError | None]:
    """The peak of memory allocated (bytes, as ``tracemalloc`` counts it) while ``fn`` runs,
    and the minigrad error it raised, if any."""
    tracemalloc.start()
    try:
        try:
            fn()
            error = None
        except MinigradError as exc:
            error = exc
        return tracemalloc.get_traced_memory()[1], error
    finally:
        tracemalloc.stop()
