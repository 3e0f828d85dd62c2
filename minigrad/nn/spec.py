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
    int_or_pair,
    integer,
    positive_int,
    show,
    text,
)
from minigrad.errors import ArgumentError, ShapeError, SpecError
from minigrad.files import check_tree
from minigrad.nn.layers import INITS, Conv2d, Flatten, Linear, LogSoftmax, MaxPool2d, ReLU
from minigrad.nn.module import Module, Sequential, Shape
from minigrad.ops.conv import output_size

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
    parametric: bool = False  # takes init, dtype and rng


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
    "LogSoftmax": _LayerType(
        LogSoftmax, {}, {"axis": _check("an integer axis", integer, -64, maximum=64)}
    ),
}


class LayerShapes(NamedTuple):
    """One layer of a spec as shape inference sees it: its type, its output shape (without
    the batch axis) and its parameters' shapes by name (``{"weight": (10, 288), ...}``)."""

    type: str
    output_shape: Shape
    params: dict[str, Shape]


def infer_shapes(spec: Mapping[str, Any]) -> list[LayerShapes]:
    """Each layer's output shape and parameter shapes for a spec normalised by
    :func:`validate_spec`, without building any layer (no weights are allocated).

    >>> spec = validate_spec({"name": "tiny", "input_shape": [1, 4, 4],
    ...     "layers": [{"type": "Flatten"}, {"type": "Linear", "out_features": 3}]})
    >>> infer_shapes(spec)[1]
    LayerShapes(type='Linear', output_shape=(3,), params={'weight': (3, 16), 'bias': (3,)})
    """
    shape = tuple(spec["input_shape"])
    out = []
    for entry in spec["layers"]:
        lt = LAYER_TYPES[entry["type"]]
        shape = lt.output_shape(entry, shape)
        out.append(LayerShapes(entry["type"], shape, lt.params(entry)))
    return out


# ----------------------------------------------------------------- reading and checking

_TOP_LEVEL = {"name", "description", "input_shape", "dtype", "layers"}
_FOLDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def bundled_specs() -> dict[str, Traversable]:
    """The specs shipped with minigrad, by name (the file name without ``.toml``).

    >>> sorted(bundled_specs())[:3]
    ['lenet5', 'mlp', 'seed_cnn']
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

    def fail(problem: str, index: int | None = None, kind: str | None = None) -> SpecError:
        where = f"layer {index} ({kind}): " if index is not None else ""
        return SpecError(f"{source}: {where}{problem}")

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
            "'input_shape' must be a list of positive integers (at most 32 of them, each at "
            f"most {MAX_SIZE:,}), got {show(shape_value)}"
        )
    dtype = spec.get("dtype", "float32")
    try:
        choice(source, "'dtype'", dtype, FLOAT_DTYPES)
    except ArgumentError as exc:
        raise SpecError(str(exc)) from exc
    layers = spec["layers"]
    if not isinstance(layers, list) or not layers:
        raise fail("'layers' must be a non-empty list of tables ([[layers]] in TOML)")

    out["input_shape"] = [int(s) for s in shape_value]
    out["dtype"] = dtype
    out["layers"] = []
    shape = tuple(out["input_shape"])
    total = 0
    for index, entry in enumerate(layers):
        if not isinstance(entry, Mapping):
            raise fail(f"layer {index} must be a table, got {type(entry).__name__}")
        kind = entry.get("type")
        if not isinstance(kind, str) or kind not in LAYER_TYPES:
            raise fail(
                f"unknown layer type {show(kind)} (known: {', '.join(LAYER_TYPES)})",
                index,
                show(kind)[1:-1] if isinstance(kind, str) else "?",
            )
        lt = LAYER_TYPES[kind]
        args: dict[str, Any] = {}
        allowed = {**lt.required, **lt.optional}
        for key, value in entry.items():
            if key == "type":
                continue
            if key not in allowed:
                raise fail(
                    f"unknown argument {show(key)} (expected: {', '.join(allowed) or 'none'})",
                    index,
                    kind,
                )
            try:
                args[key] = allowed[key](
                    f"{source}: layer {index} ({kind})", f"argument {key!r}", value
                )
            except ArgumentError as exc:
                raise SpecError(str(exc)) from exc
        for key, check in lt.required.items():
            if key not in args:
                raise fail(f"missing argument {key!r} ({check.__doc__})", index, kind)
        if lt.inferred is not None:
            name, size_of = lt.inferred
            size = size_of(shape)
            if name in args and args[name] != size:
                raise fail(
                    f"{name} = {args[name]} does not fit the input of shape {shape} "
                    f"(it has {size})",
                    index,
                    kind,
                )
            args[name] = size
        try:
            shape = lt.output_shape(args, shape)
        except ShapeError as exc:
            raise fail(str(exc), index, kind) from None
        total += sum(math.prod(s) for s in lt.params(args).values())
        if total > MAX_PARAMETERS:
            raise fail(
                f"the model would have more than {MAX_PARAMETERS:,} parameters "
                f"({total:,} up to this layer)",
                index,
                kind,
            )
        out["layers"].append({"type": kind, **args})
    if len(shape) != 1:
        raise fail(
            f"the model's output has shape {shape}, but a classifier must output a vector of "
            "class scores; add a Flatten before the last Linear"
        )
    return out


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
    if lt.parametric:
        kwargs["dtype"] = dtype
        kwargs["rng"] = rng
    return lt.cls(**kwargs)


def from_spec(
    spec: str | Path | Mapping[str, Any],
    *,
    seed: int | np.random.Generator = 0,
    input_shape: Any = None,
    dtype: Any = None,
) -> Sequential:
    """Build the :class:`~minigrad.nn.Sequential` a spec (TOML file path or dict) describes.

    Args:
        spec: a path to a TOML file, the name of a bundled spec (``"seed_cnn"``, see
            :func:`bundled_specs`), or the same content as a dict.
        seed: the seed (or Generator) the weights are drawn from, layer by layer in order;
            one seed gives the same model every time.
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
    else:  # validate_spec reads it and builds a new dict: a shallow copy is enough
        source, raw = "<spec>", dict(spec) if isinstance(spec, Mapping) else spec
    if dtype is not None:
        raw["dtype"] = np.dtype(dtype).name
    normal = validate_spec(raw, source, input_shape)
    rng = np.random.default_rng(seed)
    layers = [
        _build_layer(
            entry["type"], {k: v for k, v in entry.items() if k != "type"}, normal["dtype"], rng
        )
        for entry in normal["layers"]
    ]
    model = Sequential(*layers)
    model.spec = normal
    list(model.named_parameters())  # give every parameter its dotted name
    return model
