"""``summary(model, input_shape)``: a table of layers, output shapes and parameter counts."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from minigrad.errors import ArgumentError, ShapeError
from minigrad.nn.graph import Graph
from minigrad.nn.module import Module, Sequential, Shape
from minigrad.nn.spec import LAYER_TYPES, spec_rows

__all__ = ["Summary", "summary"]


@dataclass
class Summary:
    """What :func:`summary` found: one row per layer, the totals, and the table as text.

    ``inputs`` maps each row of a graph model to the rows it reads; ``total_buffers`` counts
    the values of buffers (running statistics), apart from the parameters since they are not
    trained.
    """

    rows: list[tuple[str, str, Shape | None, int]] = field(default_factory=list)
    input_shape: Shape = ()
    output_shape: Shape = ()
    total_params: int = 0
    trainable_params: int = 0
    text: str = ""
    inputs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    total_buffers: int = 0

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<Summary: {len(self.rows)} layers, {self.total_params:,} parameters>"


def _shape(shape: Shape | None) -> str:
    if shape is None:
        return "-"
    return "(" + ", ".join(["N", *map(str, shape)]) + ")"


def summary(
    model: Module | Mapping[str, Any],
    input_shape: Shape | None = None,
    print_fn: Callable[[str], None] | None = print,
) -> Summary:
    """Print (and return) a table of the layers, their output shapes and parameter counts.

    Shapes are inferred with ``output_shape`` (no data runs); ``N`` is the batch axis. A
    :class:`~minigrad.nn.Sequential` gets one row per layer; a :class:`~minigrad.nn.Graph`
    one row per node (repeated blocks opened up, ``stage1.0.conv1``) with the nodes it reads;
    another model gets one row per child, with the shape column filled only for the model's
    output (its ``forward`` decides the order). Buffers (running statistics) are counted on a
    line of their own. Pass ``print_fn=None`` to only build the table.

    ``model`` may also be a model spec (a dict, as in :func:`~minigrad.nn.from_spec`): the
    table of the model it describes then comes from the spec's shape inference alone, without
    building the model (no weight is allocated), and ``input_shape`` defaults to the spec's.

    >>> from minigrad import nn
    >>> model = nn.Sequential(nn.Conv2d(1, 8, 3, rng=0), nn.ReLU(), nn.Flatten(),
    ...                       nn.Linear(288, 10, rng=1))
    >>> _ = summary(model, (1, 8, 8))
    Sequential: input (N, 1, 8, 8)
    layer         type     output shape    params
    ---------------------------------------------
    0             Conv2d   (N, 8, 6, 6)        80
    1             ReLU     (N, 8, 6, 6)         0
    2             Flatten  (N, 288)             0
    3             Linear   (N, 10)          2,890
    ---------------------------------------------
    total params: 2,970 (trainable 2,970)
    """
    if isinstance(model, Mapping):
        result, title = _of_spec(model, input_shape)
        return _render(result, title, print_fn)
    if input_shape is None:
        raise ArgumentError("summary: pass the input shape of the model (without the batch axis)")
    shape = tuple(int(s) for s in input_shape)
    result = Summary(input_shape=shape)
    if isinstance(model, Graph):
        for path, layer, inputs, out in model.walk(shape):
            n_params = sum(p.data.size for p in layer.parameters())
            result.rows.append((path, type(layer).__name__, out, n_params))
            result.inputs[path] = inputs
            shape = out
    else:
        chained = isinstance(model, Sequential)
        for name, layer in model.named_children():
            row_shape = None
            if chained:
                try:
                    shape = row_shape = layer.output_shape(shape)
                except ShapeError as exc:
                    raise ShapeError(
                        f"summary: layer {name} ({type(layer).__name__}): {exc}"
                    ) from exc
            n_params = sum(p.data.size for p in layer.parameters())
            result.rows.append((name, type(layer).__name__, row_shape, n_params))
        if not chained:
            shape = model.output_shape(shape)
    result.output_shape = shape
    params = model.parameters()
    result.total_params = sum(p.data.size for p in params)
    result.trainable_params = sum(p.data.size for p in params if p.requires_grad)
    result.total_buffers = sum(b.data.size for b in model.buffers())
    return _render(result, type(model).__name__, print_fn)


def _of_spec(spec: Mapping[str, Any], input_shape: Shape | None) -> tuple[Summary, str]:
    normal, rows, graph = spec_rows(spec, input_shape)
    result = Summary(input_shape=tuple(normal["input_shape"]), output_shape=rows[-1].shape)
    for row in rows:
        kept = LAYER_TYPES[row.kind].buffers
        counts = [(name in kept, math.prod(shape)) for name, shape in row.state.items()]
        result.rows.append((row.path, row.kind, row.shape, sum(n for b, n in counts if not b)))
        result.total_buffers += sum(n for b, n in counts if b)
        if graph:
            result.inputs[row.path] = row.inputs
    result.total_params = result.trainable_params = sum(row[3] for row in result.rows)
    return result, "Graph" if graph else "Sequential"


def _render(result: Summary, title: str, print_fn: Callable[[str], None] | None) -> Summary:
    """Fill in ``result.text`` (and print it)."""
    header: tuple[str, ...] = ("layer", "type", "output shape", "params")
    cells = [header] + [(n, t, _shape(s), f"{k:,}") for n, t, s, k in result.rows]
    if result.inputs:
        header = ("layer", "type", "inputs", "output shape", "params")
        cells = [header] + [
            (n, t, ", ".join(result.inputs[n]), _shape(s), f"{k:,}") for n, t, s, k in result.rows
        ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    widths[0] = max(widths[0], 12)
    widths[-2] = max(widths[-2], 14)

    def fmt(row: tuple[str, ...]) -> str:
        left = [cell.ljust(width) for cell, width in zip(row[:-1], widths[:-1], strict=True)]
        return "  ".join([*left, row[-1].rjust(widths[-1])])

    rule = "-" * len(fmt(header))
    lines = [f"{title}: input {_shape(result.input_shape)}", fmt(header), rule]
    lines += [fmt(row) for row in cells[1:]]
    lines += [
        rule,
        f"total params: {result.total_params:,} (trainable {result.trainable_params:,})",
    ]
    if result.total_buffers:
        lines.append(f"buffers: {result.total_buffers:,} (running statistics, not trained)")
    result.text = "\n".join(lines)
    if print_fn is not None:
        print_fn(result.text)
    return result
