"""Versions and read-only saved arrays: no gradient from arrays changed after the forward pass.

The engine calls :func:`guard_saved` for every node it records and :func:`share_view` for
every op output that views an input; ``Node.release`` releases the guard; the tensor API
writes in place through :func:`unlocked` and bumps the version.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from minigrad.errors import GraphError

if TYPE_CHECKING:
    from minigrad.engine import Node
    from minigrad.tensor import Tensor

__all__ = ["SavedGuard", "guard_saved", "share_view", "unlocked"]

# A tensor's version counter is a list ``[version, pins, flipped]``, shared by the tensors that
# share its memory (views, detach()): ``pins`` counts the live nodes holding the memory, and
# ``flipped`` records that the first of them made the owning array read-only.


def _owner(array: np.ndarray) -> np.ndarray:
    """The array that owns ``array``'s memory (NumPy's ``base`` of a view is the owner)."""
    base = array.base
    return base if isinstance(base, np.ndarray) else array


class SavedGuard:
    """Keeps the tensors a node saved as they were until its VJP has run.

    A VJP computes with what forward saved; if one of those arrays changed in between, the
    gradient would be silently wrong. So, for every saved array that is (or views) one of the
    node's inputs or its output:

    * the memory is read-only while the node lives: a write straight into the array
      (``x.data[:] = 0``) raises NumPy's "assignment destination is read-only";
    * the tensor's version is remembered: an in-place change through minigrad (``x -= y``,
      an optimiser step, ``x.data = ...``, ``load_state_dict``) bumps it, and backward then
      refuses the node with a :class:`~minigrad.errors.GraphError` naming the op and the tensor.

    The memory becomes writeable again when the last node holding it is released (after its
    VJP, or when its graph is dropped).
    """

    __slots__ = ("held",)

    #: (input index, or -1 for the output; the tensor's counter; its version; the owner array)
    held: list[tuple[int, list[Any], int, np.ndarray]]

    def check(self, node: Node) -> None:
        """Raise if a saved tensor was changed in place since the node saved it."""
        for index, counter, saved, _ in self.held:
            if counter[0] != saved:
                if index < 0:
                    what = f"the output of {node.op.name}"
                else:
                    parent = node.parents[index]
                    label = f"{parent.name!r}" if parent.name else "a tensor"
                    what = f"input {index} of {node.op.name} ({label} of shape {parent.shape})"
                raise GraphError(
                    f"backward: {what} was modified in place after the graph saved it "
                    f"(version {counter[0]}, saved at {saved}); compute the loss again after "
                    "the update, or call backward() before changing the tensor (for two "
                    "losses: backward() on both, then one optimiser step)"
                )

    def release(self) -> None:
        """Make the memory writeable again once no live node holds it."""
        held, self.held = self.held, []
        for _, counter, _, owner in held:
            counter[1] -= 1
            if counter[1] == 0 and counter[2]:
                counter[2] = False
                owner.setflags(True)  # write=True, positional: see guard_saved

    def __del__(self) -> None:  # a graph dropped without backward()
        if self.held:
            self.release()


def guard_saved(ctx: Node, out: Tensor) -> SavedGuard | None:
    """The guard for the arrays ``ctx`` saved that are (or view) its inputs or its output."""
    held = []
    parents = ctx.parents
    for value in ctx.saved_tensors:
        if type(value) is not np.ndarray:
            continue
        if parents[0]._data is value:  # the common case, first: mul, matmul, linear save x
            index, t = 0, parents[0]
        else:
            found = _holder(value, parents, out)
            if found is None:
                continue  # an array of the op's own (cols, a mask)
            index, t = found
        counter, owner = t._counter, _owner(t._data)
        held.append((index, counter, counter[0], owner))
        counter[1] += 1
        if counter[1] == 1 and owner.flags.writeable:  # the first live node to hold it
            # setflags: 40% cheaper than assigning flags.writeable; write= positional, 0.07 us
            # less than by keyword (twice per recorded op: 5.5% of the chain of 100 mul)
            owner.setflags(False)
            counter[2] = True
    if not held:
        return None
    guard = object.__new__(SavedGuard)  # no __init__: this runs for every recorded op
    guard.held = held
    return guard


def _holder(
    value: np.ndarray, parents: tuple[Tensor, ...], out: Tensor
) -> tuple[int, Tensor] | None:
    """Which input (or -1: the output) ``value`` is, or views (e.g. a reshaped weight)."""
    for index, t in enumerate(parents):
        if t._data is value:
            return index, t
    if out._data is value:
        return -1, out
    if value.base is not None:
        index = _viewed(_owner(value), parents)
        if index is not None:
            return index, parents[index]
    return None


def _viewed(owner: np.ndarray, parents: tuple[Tensor, ...]) -> int | None:
    """The first input whose array is ``owner`` or a view of it (``_owner(data) is owner``,
    without a call per input: this runs for each view an op saves or returns)."""
    for index, t in enumerate(parents):
        data = t._data
        if data is owner or data.base is owner:
            return index
    return None


def share_view(out: Tensor, parents: tuple[Tensor, ...]) -> None:
    """An output that views an input's memory shares the input's version, and its array is
    read-only: a change through the view's tensor (``y[...] = v`` under no_grad) bumps the
    version that saved copies of the input are checked against, and a write into ``y.data``,
    which would go around it, is refused.
    """
    index = _viewed(_owner(out._data), parents)
    if index is not None:
        out._counter = parents[index]._counter
        out._data.setflags(False)  # write=False


@contextmanager
def unlocked(op: str, array: np.ndarray) -> Iterator[None]:
    """Let the tensor API write into ``array`` although a live graph made it read-only.

    The caller bumps the tensor's version, so backward through that graph raises instead
    of using the changed values.
    """
    chain = [array] if _owner(array) is array else [_owner(array), array]
    states = [a.flags.writeable for a in chain]
    try:
        for a in chain:
            a.flags.writeable = True
    except ValueError as exc:  # e.g. a broadcast view: there is no memory of its own to write
        for a, state in zip(chain, states, strict=True):
            a.flags.writeable = state
        raise GraphError(f"{op}: this tensor's array cannot be written in place ({exc})") from exc
    try:
        yield
    finally:
        for a, state in zip(reversed(chain), reversed(states), strict=True):
            a.flags.writeable = state
