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

import copy
import sys
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from minigrad.arguments import FLOAT_DTYPES, boolean, choice, int_or_pair, integer, positive_int
from minigrad.errors import ArgumentError, ShapeError, SpecError
from minigrad.nn.layers import INITS, Conv2d, Flatten, Linear, LogSoftmax, MaxPool2d, ReLU
from minigrad.nn.module import Module, Sequential

if TYPE_CHECKING:  # importlib.resources.abc is new in Python 3.11
    from importlib.resources.abc import Traversable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["LAYER_TYPES", "bundled_specs", "from_spec", "load_spec", "spec_file", "validate_spec"]

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


def _choice(options: tuple[str, ...]) -> Check:
    def run(where: str, argument: str, v: Any) -> str:
        return choice(where, argument, v, options)

    run.__doc__ = "one of " + ", ".join(options)
    return run


_POS = _check("an integer >= 1", positive_int)
_BOOL = _check("true or false", boolean)
_AXIS = _check("an integer axis", integer)


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
    ) -> None:
        self.cls, self.required, self.optional = cls, required, optional
        self.inferred = inferred  # the size argument taken from the input shape
        self.parametric = parametric  # takes init, dtype and rng


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
    ),
    "ReLU": _LayerType(ReLU, {}, {}),
    "Flatten": _LayerType(Flatten, {}, {"start_axis": _POS}),
    "MaxPool2d": _LayerType(
        MaxPool2d, {"kernel_size": _int_or_pair(1)}, {"stride": _int_or_pair(1)}
    ),
    "LogSoftmax": _LayerType(LogSoftmax, {}, {"axis": _AXIS}),
}

_TOP_LEVEL = {"name", "description", "input_shape", "dtype", "layers"}


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
        SpecError: the file is missing or is not valid TOML (the message names the file).
    """
    path = spec_file(path)
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

    def fail(problem: str, index: int | None = None, kind: str | None = None) -> SpecError:
        where = f"layer {index} ({kind}): " if index is not None else ""
        return SpecError(f"{source}: {where}{problem}")

    if not isinstance(spec, Mapping):
        raise fail(f"a spec must be a table (dict), got {type(spec).__name__}")
    unknown = sorted(set(spec) - _TOP_LEVEL)
    if unknown:
        raise fail(
            f"unknown top-level key {unknown[0]!r} (expected: {', '.join(sorted(_TOP_LEVEL))})"
        )
    for key in ("name", "input_shape", "layers"):
        if key not in spec and not (key == "input_shape" and input_shape is not None):
            raise fail(f"missing top-level key {key!r}")
    name = spec["name"]
    if not isinstance(name, str) or not name:
        raise fail(f"'name' must be a non-empty string, got {name!r}")
    shape_value = spec["input_shape"] if input_shape is None else list(input_shape)
    if (
        not isinstance(shape_value, (list, tuple))
        or not shape_value
        or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape_value)
    ):
        raise fail(f"'input_shape' must be a list of positive integers, got {shape_value!r}")
    dtype = spec.get("dtype", "float32")
    try:
        choice(source, "'dtype'", dtype, FLOAT_DTYPES)
    except ArgumentError as exc:
        raise SpecError(str(exc)) from exc
    layers = spec["layers"]
    if not isinstance(layers, list) or not layers:
        raise fail("'layers' must be a non-empty list of tables ([[layers]] in TOML)")

    out: dict[str, Any] = {"name": name}
    if "description" in spec:
        out["description"] = str(spec["description"])
    out["input_shape"] = [int(s) for s in shape_value]
    out["dtype"] = dtype
    out["layers"] = []
    shape = tuple(out["input_shape"])
    for index, entry in enumerate(layers):
        if not isinstance(entry, Mapping):
            raise fail(f"layer {index} must be a table, got {type(entry).__name__}")
        kind = entry.get("type")
        if kind not in LAYER_TYPES:
            raise fail(
                f"unknown layer type {kind!r} (known: {', '.join(LAYER_TYPES)})",
                index,
                kind if isinstance(kind, str) else "?",
            )
        lt = LAYER_TYPES[kind]
        args: dict[str, Any] = {}
        allowed = {**lt.required, **lt.optional}
        for key, value in entry.items():
            if key == "type":
                continue
            if key not in allowed:
                raise fail(
                    f"unknown argument {key!r} (expected: {', '.join(allowed) or 'none'})",
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
            size = shape[0] if kind == "Conv2d" else shape[-1]
            if lt.inferred in args and args[lt.inferred] != size:
                raise fail(
                    f"{lt.inferred} = {args[lt.inferred]} does not fit the input of shape "
                    f"{shape} (it has {size})",
                    index,
                    kind,
                )
            args[lt.inferred] = size
        try:
            shape = _build_layer(kind, args, np.float32, None).output_shape(shape)
        except (ShapeError, ValueError, TypeError) as exc:
            raise fail(str(exc), index, kind) from None
        out["layers"].append({"type": kind, **args})
    if len(shape) != 1:
        raise fail(
            f"the model's output has shape {shape}, but a classifier must output a vector of "
            "class scores; add a Flatten before the last Linear"
        )
    return out


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
    else:
        source, raw = "<spec>", copy.deepcopy(dict(spec))
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
