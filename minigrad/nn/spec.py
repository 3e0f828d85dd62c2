"""Declarative models: ``from_spec(path_or_dict)`` builds a ``Sequential`` from a TOML spec.

A spec names the model, gives the input shape (C, H, W) without the batch axis, and lists the
layers in order. Sizes that follow from the shapes may be left out: a ``Conv2d``'s
``in_channels`` and a ``Linear``'s ``in_features`` are inferred from the shape before it (if
given, they are checked). The design document's CNN, ``models/seed_cnn.toml``::

    name = "seed_cnn"
    input_shape = [1, 8, 8]

    [[layers]]
    type = "Conv2d"
    out_channels = 8
    kernel_size = 3

    [[layers]]
    type = "ReLU"

    [[layers]]
    type = "Flatten"

    [[layers]]
    type = "Linear"
    out_features = 10

A spec is data, never code: only the layer types in :data:`LAYER_TYPES` exist, and each
argument is checked against its expected type. Any problem is a :class:`~minigrad.SpecError`
that names the file, the layer's index and type, and what is wrong. The model's output must
be a vector of class scores, since the models are trained with ``cross_entropy``.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from minigrad.arguments import (
    FLOAT_DTYPES,
    boolean,
    choice,
    fraction,
    int_or_pair,
    integer,
    positive_int,
    positive_number,
    real,
)
from minigrad.errors import ArgumentError, ShapeError, SpecError
from minigrad.nn.graph import INPUT, Graph, check_node_name
from minigrad.nn.layers import (
    INITS,
    Add,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Concat,
    Conv2d,
    Dropout,
    Flatten,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Tanh,
)
from minigrad.nn.module import Module, Sequential, Shape

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["LAYER_TYPES", "from_spec", "load_spec", "validate_spec"]

Check = Callable[[str, str, Any], Any]  # (where, argument, value) -> the value, or raise


def _check(what: str, check: Callable[..., Any], *extra: Any) -> Check:
    """An argument check of :mod:`minigrad.arguments`, worded for a file (``text=True``)."""

    def run(where: str, argument: str, v: Any) -> Any:
        value = check(where, argument, v, *extra, text=True)
        if isinstance(value, tuple):  # int_or_pair: keep the spec's own int or [h, w]
            return list(value) if isinstance(v, (list, tuple)) else value[0]
        return value

    run.__doc__ = what
    return run


def _number(what: str, check: Callable[..., float], **options: Any) -> Check:
    """A check of a real number (a rate, a slope): the same words in Python and in a file."""

    def run(where: str, argument: str, v: Any) -> float:
        return check(where, argument, v, **options)

    run.__doc__ = what
    return run


def _choice(options: tuple[str, ...]) -> Check:
    def run(where: str, argument: str, v: Any) -> str:
        return choice(where, argument, v, options)

    run.__doc__ = "one of " + ", ".join(options)
    return run


_POS = _check("an integer >= 1", positive_int)
_BOOL = _check("true or false", boolean)
_AXIS = _check("an integer axis", integer)
_PROBABILITY = _number("a number in [0, 1]", fraction, closed="both")


def _int_or_pair(minimum: int) -> Check:
    return _check(f"an integer >= {minimum} or a pair [h, w]", int_or_pair, minimum)


class _LayerType:
    """How a spec entry becomes a layer: the class, its arguments and what is inferred."""

    def __init__(
        self,
        cls: type[Module],
        required: dict[str, Check],
        optional: dict[str, Check],
        inferred: str | None = None,
        parametric: bool = False,
        *,
        inferred_axis: int = 0,
        takes_dtype: bool = False,
        takes_generator: bool = False,
        merge: bool = False,
    ) -> None:
        self.cls, self.required, self.optional = cls, required, optional
        self.inferred = inferred  # the size argument taken from the input shape
        self.inferred_axis = inferred_axis  # the axis of the input shape it is taken from
        self.parametric = parametric  # takes init, dtype and rng (the weights' generator)
        self.takes_dtype = takes_dtype or parametric  # its parameters' or buffers' dtype
        self.takes_generator = takes_generator  # draws at run time from its own generator
        self.merge = merge  # joins two or more inputs (graph models)


_NORM = {
    "num_features": _POS,
    "eps": _number("a number > 0", positive_number),
    "momentum": _PROBABILITY,
    "affine": _BOOL,
    "track_running_stats": _BOOL,
}

#: The layer types a spec may use, with their arguments.
LAYER_TYPES: dict[str, _LayerType] = {
    "Conv2d": _LayerType(
        Conv2d,
        required={"out_channels": _POS, "kernel_size": _int_or_pair(1)},
        optional={
            "in_channels": _POS,
            "stride": _int_or_pair(1),
            "padding": _int_or_pair(0),
            "bias": _BOOL,
            "init": _choice(INITS),
        },
        inferred="in_channels",
        parametric=True,
    ),
    "Linear": _LayerType(
        Linear,
        required={"out_features": _POS},
        optional={"in_features": _POS, "bias": _BOOL, "init": _choice(INITS)},
        inferred="in_features",
        parametric=True,
        inferred_axis=-1,
    ),
    "ReLU": _LayerType(ReLU, {}, {}),
    "LeakyReLU": _LayerType(LeakyReLU, {}, {"negative_slope": _number("a number", real)}),
    "Tanh": _LayerType(Tanh, {}, {}),
    "Sigmoid": _LayerType(Sigmoid, {}, {}),
    "Flatten": _LayerType(Flatten, {}, {"start_axis": _POS}),
    "MaxPool2d": _LayerType(
        MaxPool2d, {"kernel_size": _int_or_pair(1)}, {"stride": _int_or_pair(1)}
    ),
    "AvgPool2d": _LayerType(
        AvgPool2d,
        {"kernel_size": _int_or_pair(1)},
        {"stride": _int_or_pair(1), "padding": _int_or_pair(0)},
    ),
    "BatchNorm1d": _LayerType(BatchNorm1d, {}, _NORM, inferred="num_features", takes_dtype=True),
    "BatchNorm2d": _LayerType(BatchNorm2d, {}, _NORM, inferred="num_features", takes_dtype=True),
    "Dropout": _LayerType(Dropout, {}, {"p": _PROBABILITY}, takes_generator=True),
    "LogSoftmax": _LayerType(LogSoftmax, {}, {"axis": _AXIS}),
    "Add": _LayerType(Add, {}, {}, merge=True),
    "Concat": _LayerType(Concat, {}, {}, merge=True),
}

#: The entry that repeats a block of layers: ``type = "Block"``, ``block``, ``repeat``.
BLOCK = "Block"

_TOP_LEVEL = {"name", "description", "input_shape", "dtype", "layers", "blocks"}
#: Keys of a layer entry that wire a graph rather than configure the layer.
_WIRING = ("name", "inputs")


def load_spec(path: str | Path) -> dict[str, Any]:
    """Read a TOML spec file into a dict (not yet validated).

    Raises:
        SpecError: the file is missing or is not valid TOML (the message names the file).
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise SpecError(f"{path}: no such model spec file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the model spec ({exc.strerror})") from None


def validate_spec(
    spec: Mapping[str, Any], source: str = "<spec>", input_shape: Any = None
) -> dict[str, Any]:
    """Check ``spec`` and return it normalised: every inferred size filled in.

    ``input_shape`` (C, H, W), when given, replaces the spec's own (e.g. to train the same
    architecture on 28x28 MNIST instead of 8x8 digits). The result is plain data (JSON-able),
    so it can be stored in a checkpoint and built again.

    >>> spec = {"name": "tiny", "input_shape": [1, 4, 4],
    ...         "layers": [{"type": "Flatten"}, {"type": "Linear", "out_features": 3}]}
    >>> validate_spec(spec)["layers"][1]
    {'type': 'Linear', 'out_features': 3, 'in_features': 16}
    """
    return _Assembly(spec, source, input_shape).normal


class _Assembly:
    """One pass over a spec: checks every entry, infers sizes from the shapes, builds the
    layers (with ``rng``) and wires them into a ``Sequential`` or, when any entry names its
    inputs, merges or repeats a block, a ``Graph``."""

    def __init__(
        self,
        spec: Mapping[str, Any],
        source: str,
        input_shape: Any = None,
        dtype: Any = np.float32,
        rng: np.random.Generator | None = None,
    ) -> None:
        self.source, self.dtype, self.rng = source, dtype, rng
        if not isinstance(spec, Mapping):
            raise self.fail(f"a spec must be a table (dict), got {type(spec).__name__}")
        unknown = sorted(set(spec) - _TOP_LEVEL)
        if unknown:
            raise self.fail(
                f"unknown top-level key {unknown[0]!r} (expected: {', '.join(sorted(_TOP_LEVEL))})"
            )
        for key in ("name", "input_shape", "layers"):
            if key not in spec and not (key == "input_shape" and input_shape is not None):
                raise self.fail(f"missing top-level key {key!r}")
        name = spec["name"]
        if not isinstance(name, str) or not name:
            raise self.fail(f"'name' must be a non-empty string, got {name!r}")
        shape_value = spec["input_shape"] if input_shape is None else list(input_shape)
        if (
            not isinstance(shape_value, (list, tuple))
            or not shape_value
            or not all(
                isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape_value
            )
        ):
            raise self.fail(
                f"'input_shape' must be a list of positive integers, got {shape_value!r}"
            )
        dtype = spec.get("dtype", "float32")
        try:
            choice(source, "'dtype'", dtype, FLOAT_DTYPES)
        except ArgumentError as exc:
            raise SpecError(str(exc)) from exc
        layers = spec["layers"]
        if not isinstance(layers, list) or not layers:
            raise self.fail("'layers' must be a non-empty list of tables ([[layers]] in TOML)")
        self.blocks = self._blocks(spec.get("blocks", {}))
        self.graph = "blocks" in spec or any(
            isinstance(e, Mapping)
            and (any(k in e for k in _WIRING) or e.get("type") == BLOCK or _is_merge(e))
            for e in layers
        )

        out: dict[str, Any] = {"name": name}
        if "description" in spec:
            out["description"] = str(spec["description"])
        out["input_shape"] = [int(s) for s in shape_value]
        out["dtype"] = dtype
        self.used: dict[str, list[dict[str, Any]]] = {}
        out["layers"], nodes, shape = self._layers(layers, tuple(out["input_shape"]), "")
        if self.blocks:
            unused = [b for b in self.blocks if b not in self.used]
            if unused:
                raise self.fail(f"block {unused[0]!r} is defined but no layer repeats it")
            out["blocks"] = {b: {"layers": self.used[b]} for b in self.blocks}
        if len(shape) != 1:
            raise self.fail(
                f"the model's output has shape {shape}, but a classifier must output a vector "
                "of class scores; add a Flatten before the last Linear"
            )
        self.normal = out
        self.model: Module = Graph(nodes) if self.graph else Sequential(*[m for _, m, _ in nodes])

    def fail(self, problem: str, where: str = "") -> SpecError:
        return SpecError(f"{self.source}: {where + ': ' if where else ''}{problem}")

    def _blocks(self, blocks: Any) -> dict[str, list[Any]]:
        if not isinstance(blocks, Mapping):
            raise self.fail(f"'blocks' must be a table of blocks, got {type(blocks).__name__}")
        out = {}
        for name, block in blocks.items():
            if (
                not isinstance(block, Mapping)
                or set(block) != {"layers"}
                or not isinstance(block["layers"], list)
                or not block["layers"]
            ):
                raise self.fail(
                    f"block {name!r} must be a table with one key, 'layers': a non-empty list "
                    f"of tables ([[blocks.{name}.layers]] in TOML)"
                )
            out[name] = block["layers"]
        return out

    def _layers(
        self, layers: list[Any], shape: Shape, block: str
    ) -> tuple[list[dict[str, Any]], list[tuple[str, Module, list[str]]], Shape]:
        """Check, infer and build ``layers`` (of the model, or of ``block``) for an input of
        ``shape``: the normalised entries, the ``(name, module, inputs)`` nodes, the output
        shape."""
        entries: list[dict[str, Any]] = []
        nodes: list[tuple[str, Module, list[str]]] = []
        shapes: dict[str, Shape] = {INPUT: shape}
        previous = INPUT
        for index, entry in enumerate(layers):
            where = f"block {block!r} layer {index}" if block else f"layer {index}"
            if not isinstance(entry, Mapping):
                raise self.fail(f"{where} must be a table, got {type(entry).__name__}")
            kind = entry.get("type")
            if kind not in LAYER_TYPES and kind != BLOCK:
                raise self.fail(
                    f"unknown layer type {kind!r} (known: {', '.join([*LAYER_TYPES, BLOCK])})",
                    f"{where} ({kind if isinstance(kind, str) else '?'})",
                )
            where = f"{where} ({kind})"
            name, inputs = self._wiring(entry, index, previous, shapes, where)
            if name in shapes:
                raise self.fail(f"the name {name!r} is already taken", where)
            in_shapes = [shapes[i] for i in inputs]
            if kind == BLOCK:
                normal, module, shape = self._repeat(entry, in_shapes, where)
            else:
                normal, module, shape = self._layer(kind, entry, in_shapes, where)
            if self.graph:
                normal = {"name": name, "inputs": inputs, **normal}
            entries.append(normal)
            nodes.append((name, module, inputs))
            shapes[name], previous = shape, name
        return entries, nodes, shapes[previous]

    def _wiring(
        self, entry: Mapping[str, Any], index: int, previous: str, known: Any, where: str
    ) -> tuple[str, list[str]]:
        """The entry's node name (default: its index) and inputs (default: the layer before)."""
        try:
            name = check_node_name(f"{self.source}: {where}", entry.get("name", str(index)))
        except ArgumentError as exc:
            raise SpecError(str(exc)) from None
        inputs = entry.get("inputs", [previous])
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
            raise self.fail(f"'inputs' must be a list of layer names, got {inputs!r}", where)
        for i in inputs:
            if i not in known:
                raise self.fail(
                    f"input {i!r} is not an earlier layer (known: {', '.join(known)})", where
                )
        return name, list(inputs)

    def _layer(
        self, kind: str, entry: Mapping[str, Any], in_shapes: list[Shape], where: str
    ) -> tuple[dict[str, Any], Module, Shape]:
        lt = LAYER_TYPES[kind]
        if lt.merge and len(in_shapes) < 2:
            raise self.fail(f"joins two or more inputs, got {len(in_shapes)}", where)
        if not lt.merge and len(in_shapes) != 1:
            raise self.fail(f"takes one input, got {len(in_shapes)}", where)
        args = self._arguments(entry, {**lt.required, **lt.optional}, lt.required, where)
        shape = in_shapes[0]
        if lt.inferred is not None:
            size = shape[lt.inferred_axis]
            if lt.inferred in args and args[lt.inferred] != size:
                raise self.fail(
                    f"{lt.inferred} = {args[lt.inferred]} does not fit the input of shape "
                    f"{shape} (it has {size})",
                    where,
                )
            args[lt.inferred] = size
        module = _build_layer(kind, args, self.dtype, self.rng)
        try:
            out = module.output_shape(*in_shapes)
        except (ShapeError, ValueError, TypeError) as exc:
            raise self.fail(str(exc), where) from None
        return {"type": kind, **args}, module, out

    def _arguments(
        self,
        entry: Mapping[str, Any],
        allowed: dict[str, Check],
        required: dict[str, Check],
        where: str,
    ) -> dict[str, Any]:
        args: dict[str, Any] = {}
        for key, value in entry.items():
            if key == "type" or (self.graph and key in _WIRING):
                continue
            if key not in allowed:
                expected = ", ".join([*allowed, *(_WIRING if not self.graph else ())])
                raise self.fail(f"unknown argument {key!r} (expected: {expected or 'none'})", where)
            try:
                args[key] = allowed[key](f"{self.source}: {where}", f"argument {key!r}", value)
            except ArgumentError as exc:
                raise SpecError(str(exc)) from exc
        for key, check in required.items():
            if key not in args:
                raise self.fail(f"missing argument {key!r} ({check.__doc__})", where)
        return args

    def _repeat(
        self, entry: Mapping[str, Any], in_shapes: list[Shape], where: str
    ) -> tuple[dict[str, Any], Module, Shape]:
        """A ``Block`` entry: its block's layers, ``repeat`` times in a chain, each repeat a
        ``Graph`` of its own (so ``stage1.0.conv1.weight``, ``stage1.1.conv1.weight``, ...)."""
        args = self._arguments(entry, _BLOCK_ARGS, {"block": _BLOCK_ARGS["block"]}, where)
        block = args["block"]
        if block not in self.blocks:
            known = ", ".join(self.blocks) or "none defined"
            raise self.fail(f"no block named {block!r} (blocks: {known})", where)
        if len(in_shapes) != 1:
            raise self.fail(f"takes one input, got {len(in_shapes)}", where)
        shape, graphs = in_shapes[0], []
        for _ in range(args.get("repeat", 1)):
            normal, nodes, shape = self._layers(self.blocks[block], shape, block)
            graphs.append(Graph(nodes))
            self.used.setdefault(block, [_without_inferred(e) for e in normal])
        return {"type": BLOCK, **args}, Sequential(*graphs), shape


def _text(where: str, argument: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ArgumentError(f"{where}: {argument} must be a name, got {value!r}")
    return value


_text.__doc__ = "the name of a block in [blocks]"
_BLOCK_ARGS: dict[str, Check] = {"block": _text, "repeat": _POS}


def _is_merge(entry: Mapping[str, Any]) -> bool:
    kind = entry.get("type")
    return isinstance(kind, str) and kind in LAYER_TYPES and LAYER_TYPES[kind].merge


def _without_inferred(entry: dict[str, Any]) -> dict[str, Any]:
    """A block's entry as written: sizes inferred from a repeat's input are left out, since
    each repeat infers its own."""
    lt = LAYER_TYPES.get(entry["type"])
    drop = lt.inferred if lt is not None else None
    return {k: v for k, v in entry.items() if k != drop}


def _build_layer(kind: str, args: Mapping[str, Any], dtype: Any, rng: Any) -> Module:
    lt = LAYER_TYPES[kind]
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}
    if lt.takes_dtype:
        kwargs["dtype"] = dtype
    if lt.parametric:
        kwargs["rng"] = rng
    if lt.takes_generator:
        # A child of the weights' generator: its own stream, and the weights of the layers
        # after it are the same as without it.
        kwargs["rng"] = rng.spawn(1)[0] if isinstance(rng, np.random.Generator) else None
    return lt.cls(**kwargs)


def from_spec(
    spec: str | Path | Mapping[str, Any],
    *,
    seed: int | np.random.Generator = 0,
    input_shape: Any = None,
    dtype: Any = None,
) -> Sequential | Graph:
    """Build the model a spec (TOML file path or dict) describes: a
    :class:`~minigrad.nn.Sequential` for a chain of layers, a :class:`~minigrad.nn.Graph` when
    layers name their inputs, merge (``Add``, ``Concat``) or repeat a block.

    Args:
        spec: a path to a TOML file, or the same content as a dict.
        seed: the seed (or Generator) the weights are drawn from, layer by layer in order;
            one seed gives the same model every time. Each ``Dropout`` gets a generator of its
            own spawned from it.
        input_shape: (C, H, W) to use instead of the spec's ``input_shape``.
        dtype: the parameters' float dtype, instead of the spec's (default float32).

    Returns:
        The model; ``model.spec`` holds the normalised spec (every size filled in).

    Raises:
        SpecError: naming the file, the layer's index and type, and the problem.

    >>> from minigrad import nn
    >>> model = nn.from_spec({"name": "mlp", "input_shape": [1, 8, 8], "layers": [
    ...     {"type": "Flatten"}, {"type": "Linear", "out_features": 10}]})
    >>> model.output_shape((1, 8, 8)), model.num_parameters()
    ((10,), 650)
    """
    if isinstance(spec, (str, Path)):
        source, raw = str(spec), load_spec(spec)
    else:
        source, raw = "<spec>", copy.deepcopy(dict(spec))
    if dtype is not None:
        raw["dtype"] = np.dtype(dtype).name
    normal = validate_spec(raw, source, input_shape)
    built = _Assembly(normal, source, None, normal["dtype"], np.random.default_rng(seed))
    model = built.model
    model.spec = normal
    list(model.named_parameters())  # give every parameter its dotted name
    list(model.named_buffers())  # and every buffer
    return model
