"""``Graph``: a model whose layers read the outputs of named earlier layers, not only the last.

A residual block is the first model of a course that is not a chain: the block's input goes
both through two convolutions and around them, and ``Add`` joins the two::

    input ──> conv1 ──> bn1 ──> relu1 ──> conv2 ──> bn2 ──> add ──> relu2
      └──────────────────────────────────────────────────────┘

Each node has a name, a module and the names of its inputs (``"input"`` is the graph's
input). Nodes run in the order given, and a node may only read nodes before it, so the order
is already topological and a graph has no cycles. In backward, the gradient reaching
``input`` along the skip connection and the one coming back through the convolutions are
added by the engine (gradient accumulation), as for any tensor used twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from minigrad.arguments import show
from minigrad.errors import ArgumentError, ShapeError
from minigrad.nn.module import Module, Sequential, Shape

__all__ = ["Graph"]

#: The name under which a graph's nodes read the graph's input.
INPUT = "input"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]{0,99}")
_RESERVED = {INPUT, "inputs", "spec", "training"}


def check_node_name(where: str, name: Any) -> str:
    """A node name: 1 to 100 letters, digits and ``_`` (not first), not ``input``, not an
    attribute of a Graph (``forward``, ``spec``, ...)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ArgumentError(
            f"{where}: a layer name must be 1 to 100 letters, digits and _ (not first), got "
            f"{show(name)} ({type(name).__name__})"
        )
    if name in _RESERVED or hasattr(Graph, name):
        raise ArgumentError(f"{where}: the layer name {name!r} is reserved; choose another")
    return name


class Graph(Module):
    """Modules wired by name: each node is ``(name, module, inputs)``.

    ``inputs`` names earlier nodes, or ``"input"`` for the graph's input; a merge layer
    (:class:`~minigrad.nn.Add`, :class:`~minigrad.nn.Concat`) takes two or more, every other
    layer one. The output is the last node's. Children are registered under the node names,
    so parameters are named ``conv1.weight``, ``bn1.running_mean``, ... as in PyTorch.

    >>> import numpy as np
    >>> from minigrad import nn
    >>> block = nn.Graph([
    ...     ("conv", nn.Conv2d(4, 4, 3, padding=1, rng=0), ["input"]),
    ...     ("relu", nn.ReLU(), ["conv"]),
    ...     ("add", nn.Add(), ["input", "relu"]),
    ... ])
    >>> block.inputs
    {'conv': ('input',), 'relu': ('conv',), 'add': ('input', 'relu')}
    >>> block(np.ones((2, 4, 5, 5), dtype=np.float32)).shape
    (2, 4, 5, 5)
    """

    def __init__(self, nodes: Sequence[tuple[str, Module, Sequence[str]]]) -> None:
        super().__init__()
        #: The names each node reads, by node name, in running order.
        self.inputs: dict[str, tuple[str, ...]] = {}
        if not isinstance(nodes, (list, tuple)) or not nodes:
            raise ArgumentError("Graph: nodes must be a non-empty list of (name, module, inputs)")
        for name, module, inputs in nodes:
            self._add_node(name, module, inputs)
        self._order = tuple((n, self._modules[n], i) for n, i in self.inputs.items())
        #: The normalised spec this model was built from (set by ``from_spec``), or None.
        self.spec: dict[str, Any] | None = None

    def _add_node(self, name: str, module: Module, inputs: Sequence[str]) -> None:
        check_node_name("Graph", name)
        if name in self.inputs:
            raise ArgumentError(f"Graph: two layers are named {name!r}")
        if isinstance(inputs, str) or not isinstance(inputs, (list, tuple)) or not inputs:
            raise ArgumentError(
                f"Graph: layer {name!r}: inputs must be a non-empty list of names, got {inputs!r}"
            )
        for source in inputs:
            if source != INPUT and source not in self.inputs:
                raise ArgumentError(
                    f"Graph: layer {name!r} reads {source!r}, which is not an earlier layer "
                    f"(known: {', '.join([INPUT, *self.inputs])})"
                )
        self.add_module(name, module)
        self.inputs[name] = tuple(inputs)

    def forward(self, x: Any) -> Any:
        values = {INPUT: x}
        for name, module, inputs in self._order:
            values[name] = module(*[values[i] for i in inputs])
        return values[self._order[-1][0]]

    def output_shape(self, input_shape: Shape) -> Shape:
        *_, last = self.walk(input_shape)
        return last[3]

    def walk(
        self, input_shape: Shape, prefix: str = "", input_name: str = INPUT
    ) -> Iterator[tuple[str, Module, tuple[str, ...], Shape]]:
        """Every node, nested graphs and chains opened up: ``(path, module, input paths,
        output shape)``; paths are dotted (``stage1.0.conv1``), and an inner graph's
        ``input`` is replaced by the node it reads."""
        shapes: dict[str, Shape] = {INPUT: tuple(input_shape)}
        paths = {INPUT: input_name}
        for name, module, inputs in self._order:
            path = f"{prefix}{name}"
            in_shapes = [shapes[i] for i in inputs]
            if isinstance(module, (Graph, Sequential)) and len(inputs) == 1:
                source, shape = paths[inputs[0]], in_shapes[0]
                for row in _open(module, shape, f"{path}.", source):
                    yield row
                    source, shape = row[0], row[3]
                path = source  # readers of this node read its last row
            else:
                try:
                    shape = module.output_shape(*in_shapes)
                except ShapeError as exc:
                    raise ShapeError(f"layer {path} ({type(module).__name__}): {exc}") from exc
                yield path, module, tuple(paths[i] for i in inputs), shape
            shapes[name], paths[name] = shape, path

    def __repr__(self) -> str:
        lines = [
            f"({name} <- {', '.join(inputs)}): " + repr(module).replace("\n", "\n  ")
            for name, module, inputs in self._order
        ]
        return "Graph(\n  " + "\n  ".join(lines) + "\n)"


def _open(
    module: Module, shape: Shape, prefix: str, source: str
) -> Iterator[tuple[str, Module, tuple[str, ...], Shape]]:
    """The rows of a nested graph or chain whose input is the node ``source``."""
    if isinstance(module, Graph):
        yield from module.walk(shape, prefix, source)
        return
    for index, layer in enumerate(module):
        rows = (
            list(_open(layer, shape, f"{prefix}{index}.", source))
            if isinstance(layer, (Graph, Sequential))
            else None
        )
        if rows is None:
            try:
                shape = layer.output_shape(shape)
            except ShapeError as exc:
                raise ShapeError(f"layer {prefix}{index} ({type(layer).__name__}): {exc}") from exc
            rows = [(f"{prefix}{index}", layer, (source,), shape)]
        yield from rows
        source, shape = rows[-1][0], rows[-1][3]
