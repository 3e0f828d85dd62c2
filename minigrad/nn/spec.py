"""Declarative models: ``from_spec(path_or_dict)`` builds a ``Sequential`` (or a ``Graph``)
from a TOML spec.

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

Layers may also have a ``name`` and ``inputs`` (the names of the layers they read, ``"input"``
for the model's input), merge layers (``Add``, ``Concat``) join several, and
``[blocks.<name>]`` declares a block of layers that a ``type = "Block"`` entry repeats: such a
spec builds an :class:`~minigrad.nn.Graph` (see ``models/resnet_mini.toml``).

The specs shipped with minigrad (``models/`` in the repository, installed as the package
``minigrad.models``) are found by name: ``from_spec("seed_cnn")``, ``minigrad train --model
seed_cnn``. A path to an existing file always wins over a bundled name; :func:`bundled_specs`
lists the names.

A spec is data, never code: only the layer types in :data:`LAYER_TYPES` exist, and each
argument is checked against its expected type. Any problem is a :class:`~minigrad.SpecError`
that names the file, the layer's index and type, and what is wrong. The model's output must
be a vector of class scores, since the models are trained with ``cross_entropy``.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

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
    show,
    text,
)
from minigrad.errors import ArgumentError, ShapeError, SpecError
from minigrad.files import check_tree
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
    add_shape,
    batch_norm_shape,
    concat_shape,
)
from minigrad.nn.module import Module, Sequential, Shape
from minigrad.ops.conv import check_pool_padding, output_size

if TYPE_CHECKING:  # importlib.resources.abc is new in Python 3.11
    from importlib.resources.abc import Traversable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "LAYER_TYPES",
    "LayerShapes",
    "bundled_specs",
    "folder_name",
    "from_spec",
    "infer_shapes",
    "load_spec",
    "spec_file",
    "state_shapes",
    "validate_spec",
]

#: The largest size (a dimension, a channel count, a kernel) a spec may give: 2**31 - 1.
MAX_SIZE = 2**31 - 1
#: The most parameters a spec may declare (16 GiB in float32); a smaller model that still does
#: not fit in memory fails with NumPy's ``MemoryError`` when it is built.
MAX_PARAMETERS = 2**32
#: The largest spec file read (a spec is a few hundred bytes).
MAX_FILE_BYTES = 1 << 20

Args = Mapping[str, Any]
Check = Callable[[str, str, Any], Any]  # (where, argument, value) -> the value, or raise


def _check(what: str, check: Callable[..., Any], *extra: Any, **options: Any) -> Check:
    """An argument check of :mod:`minigrad.arguments`, worded for a file (``text=True``)."""

    def run(where: str, argument: str, v: Any) -> Any:
        value = check(where, argument, v, *extra, text=True, **options)
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


def _int_or_pair(minimum: int) -> Check:
    what = f"an integer >= {minimum} or a pair [h, w]"
    return _check(what, int_or_pair, minimum, maximum=MAX_SIZE)


def _pair(v: int | list[int]) -> tuple[int, int]:
    return (v[0], v[1]) if isinstance(v, list) else (v, v)


# ----------------------------------------------------------------- shape-only inference
# Each layer type's output shape and parameter shapes from its (checked, normalised)
# arguments and its input shape, without building the layer: nothing is allocated, so a spec
# with enormous layers is checked in microseconds. tests/nn/test_spec.py checks each entry
# against the built layer's own output_shape and parameters.


def _same(a: Args, shape: Shape) -> Shape:
    return shape


def _linear(a: Args, shape: Shape) -> Shape:
    return (*shape[:-1], a["out_features"])


def _window(layer: str, a: Args, shape: Shape, stride: Any) -> tuple[int, int]:
    if len(shape) != 3:
        raise ShapeError(f"{layer} expects an input of shape (C, H, W), got {shape}")
    return output_size(
        layer, shape[1:], _pair(a["kernel_size"]), _pair(stride), _pair(a.get("padding", 0))
    )


def _conv2d(a: Args, shape: Shape) -> Shape:
    return (a["out_channels"], *_window("Conv2d", a, shape, a.get("stride", 1)))


def _max_pool2d(a: Args, shape: Shape) -> Shape:
    return (shape[0], *_window("MaxPool2d", a, shape, a.get("stride", a["kernel_size"])))


def _avg_pool2d(a: Args, shape: Shape) -> Shape:
    check_pool_padding("AvgPool2d", _pair(a["kernel_size"]), _pair(a.get("padding", 0)))
    return (shape[0], *_window("AvgPool2d", a, shape, a.get("stride", a["kernel_size"])))


def _batch_norm(kind: str) -> Callable[[Args, Shape], Shape]:
    def infer(a: Args, shape: Shape) -> Shape:
        return batch_norm_shape(kind, a["num_features"], shape)

    return infer


def _merge(join: Callable[..., Shape]) -> Callable[..., Shape]:
    def infer(a: Args, *shapes: Shape) -> Shape:
        return join(*shapes)

    return infer


def _flatten(a: Args, shape: Shape) -> Shape:
    start = a.get("start_axis", 1) - 1
    if start >= len(shape):
        raise ShapeError(
            f"Flatten(start_axis={start + 1}) needs more axes than input shape {shape}"
        )
    return (*shape[:start], math.prod(shape[start:]))


def _no_params(a: Args) -> dict[str, Shape]:
    return {}


def _with_bias(a: Args, weight: Shape) -> dict[str, Shape]:
    return {"weight": weight, "bias": weight[:1]} if a.get("bias", True) else {"weight": weight}


def _conv2d_params(a: Args) -> dict[str, Shape]:
    return _with_bias(a, (a["out_channels"], a["in_channels"], *_pair(a["kernel_size"])))


def _linear_params(a: Args) -> dict[str, Shape]:
    return _with_bias(a, (a["out_features"], a["in_features"]))


#: The buffers of a batch norm layer that tracks running statistics.
_NORM_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


def _batch_norm_state(a: Args) -> dict[str, Shape]:
    c = (a["num_features"],)
    state: dict[str, Shape] = {"weight": c, "bias": c} if a.get("affine", True) else {}
    if a.get("track_running_stats", True):
        state.update({"running_mean": c, "running_var": c, "num_batches_tracked": ()})
    return state


class _LayerType(NamedTuple):
    """How a spec entry becomes a layer: the class, its arguments, what is inferred from the
    input shape, and the shapes it produces and holds (see "shape-only inference" above)."""

    cls: type[Module]
    required: dict[str, Check]
    optional: dict[str, Check]
    output_shape: Callable[[Args, Shape], Shape] = _same
    params: Callable[[Args], dict[str, Shape]] = _no_params
    #: (argument, its value from the input shape): the size taken from the shape before it.
    inferred: tuple[str, Callable[[Shape], int]] | None = None
    parametric: bool = False  # takes init, dtype and rng (the weights' generator)
    takes_dtype: bool = False  # its parameters' and buffers' dtype (without weights to draw)
    takes_generator: bool = False  # draws at run time, from a generator of its own
    merge: bool = False  # joins two or more inputs (graph models)
    #: The entries of ``params`` that are buffers (saved, not trained), not parameters.
    buffers: tuple[str, ...] = ()


_POS = _check("an integer >= 1", positive_int, maximum=MAX_SIZE)
_BOOL = _check("true or false", boolean)

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
        output_shape=_conv2d,
        params=_conv2d_params,
        inferred=("in_channels", lambda shape: shape[0]),
        parametric=True,
    ),
    "Linear": _LayerType(
        Linear,
        required={"out_features": _POS},
        optional={"in_features": _POS, "bias": _BOOL, "init": _choice(INITS)},
        output_shape=_linear,
        params=_linear_params,
        inferred=("in_features", lambda shape: shape[-1]),
        parametric=True,
    ),
    "ReLU": _LayerType(ReLU, {}, {}),
    "LeakyReLU": _LayerType(LeakyReLU, {}, {"negative_slope": _number("a number", real)}),
    "Tanh": _LayerType(Tanh, {}, {}),
    "Sigmoid": _LayerType(Sigmoid, {}, {}),
    "Flatten": _LayerType(
        Flatten,
        {},
        {"start_axis": _check("an integer axis >= 1", integer, 1, maximum=64)},
        output_shape=_flatten,
    ),
    "MaxPool2d": _LayerType(
        MaxPool2d,
        {"kernel_size": _int_or_pair(1)},
        {"stride": _int_or_pair(1)},
        output_shape=_max_pool2d,
    ),
    "AvgPool2d": _LayerType(
        AvgPool2d,
        {"kernel_size": _int_or_pair(1)},
        {"stride": _int_or_pair(1), "padding": _int_or_pair(0)},
        output_shape=_avg_pool2d,
    ),
    **{
        kind: _LayerType(
            cls,
            {},
            {
                "num_features": _POS,
                "eps": _number("a number > 0", positive_number),
                "momentum": _number("a number in [0, 1]", fraction, closed="both"),
                "affine": _BOOL,
                "track_running_stats": _BOOL,
            },
            output_shape=_batch_norm(kind),
            params=_batch_norm_state,
            inferred=("num_features", lambda shape: shape[0]),
            takes_dtype=True,
            buffers=_NORM_BUFFERS,
        )
        for kind, cls in (("BatchNorm1d", BatchNorm1d), ("BatchNorm2d", BatchNorm2d))
    },
    "Dropout": _LayerType(
        Dropout,
        {},
        {"p": _number("a number in [0, 1]", fraction, closed="both")},
        takes_generator=True,
    ),
    "LogSoftmax": _LayerType(
        LogSoftmax, {}, {"axis": _check("an integer axis", integer, -64, maximum=64)}
    ),
    "Add": _LayerType(Add, {}, {}, output_shape=_merge(add_shape), merge=True),
    "Concat": _LayerType(Concat, {}, {}, output_shape=_merge(concat_shape), merge=True),
}

#: The entry that repeats a block of layers: ``type = "Block"``, ``block``, ``repeat``.
BLOCK = "Block"
#: Keys of a layer entry that wire a graph rather than configure the layer.
_WIRING = ("name", "inputs")
#: How many times a block may repeat.
MAX_REPEAT = 1000


class LayerShapes(NamedTuple):
    """One layer of a spec as shape inference sees it: its type, its output shape (without
    the batch axis) and the shapes of its state by name, as in its ``state_dict()``:
    parameters and buffers (``{"weight": (10, 288), ...}``)."""

    type: str
    output_shape: Shape
    params: dict[str, Shape]


def infer_shapes(spec: Mapping[str, Any]) -> list[LayerShapes]:
    """Each layer's output shape and parameter shapes for a spec normalised by
    :func:`validate_spec`, without building any layer (no weights are allocated). A graph
    spec gives one entry per layer, repeated blocks opened up, in running order.

    >>> spec = validate_spec({"name": "tiny", "input_shape": [1, 4, 4],
    ...     "layers": [{"type": "Flatten"}, {"type": "Linear", "out_features": 3}]})
    >>> infer_shapes(spec)[1]
    LayerShapes(type='Linear', output_shape=(3,), params={'weight': (3, 16), 'bias': (3,)})
    """
    return [LayerShapes(r.kind, r.shape, r.state) for r in _Walk(spec, "<spec>").rows]


def spec_rows(
    spec: Mapping[str, Any], input_shape: Any = None
) -> tuple[dict[str, Any], list[Any], bool]:
    """The normalised spec, one row per layer (its dotted path, type, the paths it reads,
    output shape and state shapes) and whether it is a graph: what ``summary`` of a spec
    shows, without building the model."""
    walk = _Walk(spec, "<spec>", input_shape)
    return walk.normal, walk.rows, walk.graph


def state_shapes(
    spec: Mapping[str, Any],
) -> tuple[dict[str, Shape], dict[str, Shape]]:
    """The shapes of the parameters and of the buffers of the model a normalised spec
    describes, by their dotted names in ``state_dict()``, without building it.

    >>> spec = validate_spec({"name": "bn", "input_shape": [3], "layers": [
    ...     {"type": "BatchNorm1d", "affine": False}, {"type": "Linear", "out_features": 2}]})
    >>> state_shapes(spec)
    ({'1.weight': (2, 3), '1.bias': (2,)}, {'0.running_mean': (3,), '0.running_var': (3,), \
'0.num_batches_tracked': ()})
    """
    params: dict[str, Shape] = {}
    buffers: dict[str, Shape] = {}
    for row in _Walk(spec, "<spec>").rows:
        kept = LAYER_TYPES[row.kind].buffers
        for name, shape in row.state.items():
            (buffers if name in kept else params)[f"{row.path}.{name}"] = shape
    return params, buffers


# ----------------------------------------------------------------- reading and checking

_TOP_LEVEL = {"name", "description", "input_shape", "dtype", "layers", "blocks"}
_FOLDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def bundled_specs() -> dict[str, Traversable]:
    """The specs shipped with minigrad, by name (the file name without ``.toml``).

    >>> sorted(bundled_specs())
    ['lenet5', 'mlp', 'mnist_bn', 'resnet_mini', 'seed_cnn', 'small_cifar']
    """
    folder = resources.files("minigrad.models")
    found = (f for f in folder.iterdir() if f.is_file() and f.name.endswith(".toml"))
    return {f.name.removesuffix(".toml"): f for f in sorted(found, key=lambda f: f.name)}


def spec_file(spec: str | Path) -> Path | Traversable:
    """The file a spec argument means: a path to a file, or the name of a bundled spec.

    A path that exists is read as given; a bare name (no folder, no suffix) that is not a file
    is looked up among :func:`bundled_specs`.

    Raises:
        SpecError: a bare name that is neither a file nor a bundled spec (the message lists the
            bundled names).

    >>> spec_file("seed_cnn").name
    'seed_cnn.toml'
    """
    path = Path(spec)
    if path.is_file() or path.name != str(spec) or path.suffix:
        return path
    known = bundled_specs()
    if path.name not in known:
        raise SpecError(
            f"{spec}: no such model spec file, and minigrad ships no spec of that name "
            f"(bundled: {', '.join(known)}); pass a path to a .toml file for your own"
        )
    return known[path.name]


def load_spec(path: str | Path) -> dict[str, Any]:
    """Read a TOML spec file, or a bundled spec by name, into a dict (not yet validated).

    Raises:
        SpecError: the file is missing, larger than 1 MiB, or not valid TOML (the message
            names the file).
    """
    path = spec_file(path)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise SpecError(f"{path}: no such model spec file") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the model spec ({exc.strerror})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise SpecError(
            f"{path}: a model spec must be at most {MAX_FILE_BYTES:,} bytes; this file is larger"
        )
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:  # TOMLDecodeError is a ValueError
        raise SpecError(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:
        raise SpecError(f"{path}: not valid TOML (it nests arrays too deeply)") from None


def validate_spec(
    spec: Mapping[str, Any], source: str = "<spec>", input_shape: Any = None
) -> dict[str, Any]:
    """Check ``spec`` and return it normalised: every inferred size filled in.

    ``input_shape`` (C, H, W), when given, replaces the spec's own (e.g. to train the same
    architecture on 28x28 MNIST instead of 8x8 digits). The result is plain data (JSON-able),
    so it can be stored in a checkpoint and built again. Shapes are inferred layer by layer
    with :data:`LAYER_TYPES` alone: no layer is built and no weight allocated.

    >>> spec = {"name": "tiny", "input_shape": [1, 4, 4],
    ...         "layers": [{"type": "Flatten"}, {"type": "Linear", "out_features": 3}]}
    >>> validate_spec(spec)["layers"][1]
    {'type': 'Linear', 'out_features': 3, 'in_features': 16}
    """
    return _Walk(spec, source, input_shape).normal


class _Node(NamedTuple):
    """One checked layer, ready to build: its name, the names it reads, its type and its
    arguments (inferred sizes filled in); a ``Block`` holds the nodes of each repeat."""

    name: str
    inputs: list[str]
    kind: str
    args: dict[str, Any]
    repeats: list[list[_Node]]


class _Row(NamedTuple):
    """One layer as a table shows it: dotted path, type, the paths it reads, output shape,
    and the shapes of its state (parameters and buffers)."""

    path: str
    kind: str
    inputs: tuple[str, ...]
    shape: Shape
    state: dict[str, Shape]


class _Walk:
    """One pass over a spec: checks every entry and infers every shape without building any
    layer. It leaves the normalised spec, the nodes to build and one row per layer."""

    def __init__(self, spec: Any, source: str, input_shape: Any = None) -> None:
        self.source = source
        fail = self.fail
        if not isinstance(spec, Mapping):
            raise fail(f"a spec must be a table (dict), got {type(spec).__name__}")
        try:
            check_tree(spec)
        except ValueError as exc:
            raise fail(str(exc)) from None
        unknown = sorted(map(show, set(spec) - _TOP_LEVEL))
        if unknown:
            raise fail(
                f"unknown top-level key {unknown[0]} (expected: {', '.join(sorted(_TOP_LEVEL))})"
            )
        for key in ("name", "input_shape", "layers"):
            if key not in spec and not (key == "input_shape" and input_shape is not None):
                raise fail(f"missing top-level key {key!r}")
        out: dict[str, Any] = {}
        for key, length in (("name", 200), ("description", 2000)):
            if key in spec:
                try:
                    out[key] = text(source, repr(key), spec[key], length, lines=key != "name")
                except ArgumentError as exc:
                    raise SpecError(str(exc)) from exc
        shape_value = spec["input_shape"] if input_shape is None else list(input_shape)
        if (
            not isinstance(shape_value, (list, tuple))
            or not 0 < len(shape_value) <= 32
            or not all(
                isinstance(s, int) and not isinstance(s, bool) and 0 < s <= MAX_SIZE
                for s in shape_value
            )
        ):
            raise fail(
                "'input_shape' must be a list of positive integers (at most 32 of them, each "
                f"at most {MAX_SIZE:,}), got {show(shape_value)}"
            )
        dtype = spec.get("dtype", "float32")
        try:
            choice(source, "'dtype'", dtype, FLOAT_DTYPES)
        except ArgumentError as exc:
            raise SpecError(str(exc)) from exc
        layers = spec["layers"]
        if not isinstance(layers, list) or not layers:
            raise fail("'layers' must be a non-empty list of tables ([[layers]] in TOML)")
        self.blocks = self._blocks(spec.get("blocks", {}))
        self.graph = "blocks" in spec or any(
            isinstance(e, Mapping)
            and (any(k in e for k in _WIRING) or e.get("type") == BLOCK or _is_merge(e))
            for e in layers
        )

        out["input_shape"] = [int(s) for s in shape_value]
        out["dtype"] = dtype
        self.total = 0
        self.rows: list[_Row] = []
        self.used: dict[str, list[dict[str, Any]]] = {}
        out["layers"], self.nodes, shape, _ = self._layers(
            layers, tuple(out["input_shape"]), "", "", INPUT
        )
        if self.blocks:
            unused = [b for b in self.blocks if b not in self.used]
            if unused:
                raise fail(f"block {show(unused[0])} is defined but no layer repeats it")
            out["blocks"] = {b: {"layers": self.used[b]} for b in self.blocks}
        if len(shape) != 1:
            raise fail(
                f"the model's output has shape {shape}, but a classifier must output a vector "
                "of class scores; add a Flatten before the last Linear"
            )
        self.normal = out

    def fail(self, problem: str, where: str = "") -> SpecError:
        return SpecError(f"{self.source}: {where + ': ' if where else ''}{problem}")

    def _blocks(self, blocks: Any) -> dict[str, list[Any]]:
        if not isinstance(blocks, Mapping):
            raise self.fail(f"'blocks' must be a table of blocks, got {show(blocks)}")
        out = {}
        for name, block in blocks.items():
            if (
                not isinstance(block, Mapping)
                or set(block) != {"layers"}
                or not isinstance(block["layers"], list)
                or not block["layers"]
            ):
                raise self.fail(
                    f"block {show(name)} must be a table with one key, 'layers': a non-empty "
                    f"list of tables ([[blocks.{name}.layers]] in TOML)"
                )
            out[name] = block["layers"]
        return out

    def _layers(
        self, layers: list[Any], shape: Shape, block: str, prefix: str, source: str
    ) -> tuple[list[dict[str, Any]], list[_Node], Shape, str]:
        """Check and infer ``layers`` (of the model, or of ``block``) for an input of
        ``shape`` read from the row ``source``: the normalised entries, the nodes, the output
        shape and the path of the last row."""
        entries: list[dict[str, Any]] = []
        nodes: list[_Node] = []
        shapes: dict[str, Shape] = {INPUT: shape}
        paths = {INPUT: source}
        previous = INPUT
        for index, entry in enumerate(layers):
            where = f"block {block!r} layer {index}" if block else f"layer {index}"
            if not isinstance(entry, Mapping):
                raise self.fail(f"{where} must be a table, got {type(entry).__name__}")
            kind = entry.get("type")
            if not isinstance(kind, str) or (kind not in LAYER_TYPES and kind != BLOCK):
                raise self.fail(
                    f"unknown layer type {show(kind)} (known: {', '.join([*LAYER_TYPES, BLOCK])})",
                    f"{where} ({show(kind)[1:-1] if isinstance(kind, str) else '?'})",
                )
            where = f"{where} ({kind})"
            name, inputs = self._wiring(entry, index, previous, shapes, where)
            if name in shapes:
                raise self.fail(f"the name {name!r} is already taken", where)
            in_shapes = [shapes[i] for i in inputs]
            in_paths = tuple(paths[i] for i in inputs)
            path = f"{prefix}{name}"
            if kind == BLOCK and block:
                raise self.fail("a block cannot repeat a block; list its layers instead", where)
            if kind == BLOCK:
                normal, node, shape, path = self._repeat(entry, in_shapes, in_paths, where, path)
            else:
                normal, node, shape = self._layer(kind, entry, in_shapes, where)
                self.rows.append(
                    _Row(path, kind, in_paths, shape, LAYER_TYPES[kind].params(normal))
                )
            if self.graph:
                normal = {"name": name, "inputs": inputs, **normal}
            entries.append(normal)
            nodes.append(node._replace(name=name, inputs=inputs))
            shapes[name], paths[name], previous = shape, path, name
        return entries, nodes, shapes[previous], paths[previous]

    def _wiring(
        self, entry: Mapping[str, Any], index: int, previous: str, known: Any, where: str
    ) -> tuple[str, list[str]]:
        """The entry's name (default: its index) and inputs (default: the layer before)."""
        try:
            name = check_node_name(f"{self.source}: {where}", entry.get("name", str(index)))
        except ArgumentError as exc:
            raise SpecError(str(exc)) from None
        inputs = entry.get("inputs", [previous])
        if isinstance(inputs, str):
            inputs = [inputs]
        if (
            not isinstance(inputs, list)
            or not inputs
            or not all(isinstance(i, str) for i in inputs)
        ):
            raise self.fail(f"'inputs' must be a list of layer names, got {show(inputs)}", where)
        for i in inputs:
            if i not in known:
                raise self.fail(
                    f"input {show(i)} is not an earlier layer (known: {', '.join(known)})", where
                )
        return name, list(inputs)

    def _arguments(
        self, entry: Mapping[str, Any], allowed: dict[str, Check], required: Any, where: str
    ) -> dict[str, Any]:
        args: dict[str, Any] = {}
        for key, value in entry.items():
            if key == "type" or (self.graph and key in _WIRING):
                continue
            if key not in allowed:
                raise self.fail(
                    f"unknown argument {show(key)} (expected: {', '.join(allowed) or 'none'})",
                    where,
                )
            try:
                args[key] = allowed[key](f"{self.source}: {where}", f"argument {key!r}", value)
            except ArgumentError as exc:
                raise SpecError(str(exc)) from exc
        for key, check in required.items():
            if key not in args:
                raise self.fail(f"missing argument {key!r} ({check.__doc__})", where)
        return args

    def _layer(
        self, kind: str, entry: Mapping[str, Any], in_shapes: list[Shape], where: str
    ) -> tuple[dict[str, Any], _Node, Shape]:
        lt = LAYER_TYPES[kind]
        if lt.merge and len(in_shapes) < 2:
            raise self.fail(f"joins two or more inputs, got {len(in_shapes)}", where)
        if not lt.merge and len(in_shapes) != 1:
            raise self.fail(f"takes one input, got {len(in_shapes)}", where)
        args = self._arguments(entry, {**lt.required, **lt.optional}, lt.required, where)
        if lt.inferred is not None:
            name, size_of = lt.inferred
            size = size_of(in_shapes[0])
            if name in args and args[name] != size:
                raise self.fail(
                    f"{name} = {args[name]} does not fit the input of shape {in_shapes[0]} "
                    f"(it has {size})",
                    where,
                )
            args[name] = size
        try:
            shape = lt.output_shape(args, *in_shapes)
        except ShapeError as exc:
            raise self.fail(str(exc), where) from None
        self.total += sum(math.prod(s) for s in lt.params(args).values())
        if self.total > MAX_PARAMETERS:
            raise self.fail(
                f"the model would have more than {MAX_PARAMETERS:,} parameters "
                f"({self.total:,} up to this layer)",
                where,
            )
        return {"type": kind, **args}, _Node("", [], kind, args, []), shape

    def _repeat(
        self, entry: Mapping[str, Any], in_shapes: list[Shape], in_paths: Any, where: str, path: str
    ) -> tuple[dict[str, Any], _Node, Shape, str]:
        """A ``Block`` entry: its block's layers ``repeat`` times in a chain, each repeat a
        ``Graph`` of its own (``stage1.0.conv1.weight``, ``stage1.1.conv1.weight``, ...)."""
        args = self._arguments(entry, _BLOCK_ARGS, {"block": _BLOCK_ARGS["block"]}, where)
        block = args["block"]
        if block not in self.blocks:
            known = ", ".join(self.blocks) or "none defined"
            raise self.fail(f"no block named {show(block)} (blocks: {known})", where)
        if len(in_shapes) != 1:
            raise self.fail(f"takes one input, got {len(in_shapes)}", where)
        shape, source, repeats = in_shapes[0], in_paths[0], []
        for r in range(args.get("repeat", 1)):
            normal, nodes, shape, source = self._layers(
                self.blocks[block], shape, block, f"{path}.{r}.", source
            )
            repeats.append(nodes)
            self.used.setdefault(block, [_without_inferred(e) for e in normal])
        return {"type": BLOCK, **args}, _Node("", [], BLOCK, args, repeats), shape, source


def _block_name(where: str, argument: str, value: Any) -> str:
    return text(where, argument, value, 200)


_block_name.__doc__ = "the name of a block in [blocks]"
_BLOCK_ARGS: dict[str, Check] = {
    "block": _block_name,
    "repeat": _check(f"an integer from 1 to {MAX_REPEAT}", positive_int, maximum=MAX_REPEAT),
}


def _is_merge(entry: Mapping[str, Any]) -> bool:
    kind = entry.get("type")
    return isinstance(kind, str) and kind in LAYER_TYPES and LAYER_TYPES[kind].merge


def _without_inferred(entry: dict[str, Any]) -> dict[str, Any]:
    """A block's entry as written: sizes inferred from a repeat's input are left out, since
    each repeat infers its own."""
    lt = LAYER_TYPES.get(entry["type"])
    drop = lt.inferred[0] if lt is not None and lt.inferred is not None else None
    return {k: v for k, v in entry.items() if k != drop}


def folder_name(spec: Mapping[str, Any]) -> str:
    """The spec's ``name`` as a folder name (e.g. for ``runs/<name>``), when it is a safe one.

    A name is a free-form label; it is used in a path only if it is 1 to 100 letters, digits,
    ``.``, ``_`` and ``-``, starting with a letter or digit, without ``..``: no separator, no
    parent folder, no hidden file.

    Raises:
        SpecError: the name is not a safe folder name (the message says to choose the folder).

    >>> folder_name({"name": "seed_cnn"})
    'seed_cnn'
    """
    name = spec.get("name")
    if not isinstance(name, str) or not _FOLDER.fullmatch(name) or ".." in name:
        raise SpecError(
            f"the model's name {show(name)} cannot be used as a folder name (only letters, "
            "digits, '.', '_' and '-', starting with a letter or digit, without '..'); "
            "choose the output folder yourself"
        )
    return name


def _build_layer(kind: str, args: Mapping[str, Any], dtype: Any, rng: Any) -> Module:
    lt = LAYER_TYPES[kind]
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}
    if lt.parametric or lt.takes_dtype:
        kwargs["dtype"] = dtype
    if lt.parametric:
        kwargs["rng"] = rng
    if lt.takes_generator:
        # A child of the weights' generator: a stream of its own, and the layers after it
        # draw the same weights as without it.
        kwargs["rng"] = rng.spawn(1)[0]
    return lt.cls(**kwargs)


def _build(nodes: list[_Node], dtype: Any, rng: np.random.Generator) -> list[Module]:
    """The modules of ``nodes``, weights drawn from ``rng`` in order; a block's repeats are
    a ``Sequential`` of one ``Graph`` each."""
    modules: list[Module] = []
    for node in nodes:
        if node.kind == BLOCK:
            graphs = [
                Graph(
                    list(
                        zip(
                            [n.name for n in rep],
                            _build(rep, dtype, rng),
                            [n.inputs for n in rep],
                            strict=True,
                        )
                    )
                )
                for rep in node.repeats
            ]
            modules.append(Sequential(*graphs))
        else:
            modules.append(_build_layer(node.kind, node.args, dtype, rng))
    return modules


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
        spec: a path to a TOML file, the name of a bundled spec (``"seed_cnn"``, see
            :func:`bundled_specs`), or the same content as a dict.
        seed: the seed (or Generator) the weights are drawn from, layer by layer in order;
            one seed gives the same model every time. Each ``Dropout`` gets a generator of its
            own, spawned from it.
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
    else:  # the walk reads it and builds a new dict: a shallow copy is enough
        source, raw = "<spec>", dict(spec) if isinstance(spec, Mapping) else spec
    if dtype is not None:
        raw["dtype"] = np.dtype(dtype).name
    walk = _Walk(raw, source, input_shape)
    normal = walk.normal
    modules = _build(walk.nodes, normal["dtype"], np.random.default_rng(seed))
    model: Sequential | Graph
    if walk.graph:
        model = Graph([(n.name, m, n.inputs) for n, m in zip(walk.nodes, modules, strict=True)])
    else:
        model = Sequential(*modules)
    model.spec = normal
    list(model.named_parameters())  # give every parameter its dotted name
    list(model.named_buffers())  # and every buffer
    return model
