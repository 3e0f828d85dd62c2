"""Taking a model elsewhere: ONNX for Netron and ONNX Runtime, safetensors for PyTorch.

| function | what it writes or reads |
|---|---|
| :func:`to_onnx` | the model as one ONNX file: the graph (opset :data:`OPSET`) and its weights |
| :func:`save_safetensors` | the weights, under PyTorch's names and in PyTorch's layouts |
| :func:`load_safetensors` | the weights back, every name, shape and dtype checked first |
| :func:`export_model` | a spec or checkpoint to ``.onnx`` or ``.safetensors`` (the CLI's) |

**ONNX.** The graph is written with the ``onnx`` package (the ``export`` extra:
``pip install 'minigrad-autograd[export]'``) and passes ``onnx.checker.check_model`` with full
shape inference. Each layer type has one small function in :data:`EXPORTERS` that adds its
nodes (``Conv2d`` becomes ``Conv``, ``Linear`` becomes ``Gemm``, ...); containers are entries
too, so a new layer type is one entry, and a layer type without one is an
:class:`~minigrad.errors.ExportError` that names it. The batch axis is symbolic (``batch``),
initializers carry the parameters' dotted names (``0.weight``), the input is ``input`` and the
output ``output``. The opset is 17: every op minigrad needs has its current semantics there
(``LogSoftmax`` on one axis since 13) and ONNX Runtime, Netron and PyTorch's own exporter all
read it.

The graph is the model for inference: a layer that behaves differently while training is
written as it computes in evaluation mode (``model.eval()``).

**float64.** ONNX Runtime's CPU convolution has float32 kernels only, so a float64 model is
exported as float32, with a ``UserWarning`` that says so (its outputs then match minigrad's to
float32 precision); a weight too large for float32 is an ExportError rather than an ``inf``.

**safetensors.** The file holds ``model.state_dict()``: the names PyTorch gives the same
network (``0.weight`` in a ``Sequential``) and its layouts (``Linear`` (out, in), ``Conv2d``
(out, in, kh, kw)), in the model's dtype, so ``torch_model.load_state_dict(
safetensors.torch.load_file(path))`` loads it. The format is a JSON header and raw arrays:
nothing is unpickled. Loading checks the file's names, shapes and dtypes against the model
from the header alone, reads only the arrays it expects, and changes nothing when any check
fails.
"""

from __future__ import annotations

import importlib
import json
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from minigrad.arguments import positive_int
from minigrad.errors import ArgumentError, ExportError, StateDictError
from minigrad.files import write_atomically
from minigrad.nn.graph import INPUT, Graph
from minigrad.nn.layers import (
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
    Softmax,
    Tanh,
)
from minigrad.nn.module import Module, Sequential, Shape
from minigrad.tensor import Tensor
from minigrad.train import load_model

__all__ = [
    "EXPORTERS",
    "OPSET",
    "Exported",
    "OnnxGraph",
    "export_model",
    "load_safetensors",
    "save_safetensors",
    "to_onnx",
]

#: The ONNX opset the graphs are written in.
OPSET = 17
#: The name of the symbolic batch axis of the graph's input and output.
BATCH = "batch"
#: The formats :func:`export_model` writes, by the output file's suffix.
FORMATS = {".onnx": f"ONNX (opset {OPSET})", ".safetensors": "safetensors"}


def _require(module: str, who: str) -> Any:
    """Import an optional package of the ``export`` extra, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.split(".")[0]
        raise ImportError(
            f"{who} needs the {package} package: pip install 'minigrad-autograd[export]'"
        ) from None


def _overflow(array: np.ndarray, dtype: Any) -> tuple[int, ...] | None:
    """The first index where casting ``array`` to ``dtype`` turns a finite value into inf."""
    with np.errstate(over="ignore"):
        lost = np.isfinite(array) & ~np.isfinite(array.astype(dtype))
    return tuple(int(i) for i in np.argwhere(lost)[0]) if lost.any() else None


# ---------------------------------------------------------------------------- ONNX


class OnnxGraph:
    """The ONNX graph being written: nodes in order, initializers (the weights), value shapes.

    Each exporter in :data:`EXPORTERS` adds its layer's nodes with :meth:`node` and its weights
    with :meth:`param`, and returns the name of its output value; a container calls
    :meth:`emit` for each child. ``shapes`` holds each value's shape without the batch axis
    (``emit`` fills it in for a layer of one input; an entry for a layer that merges several
    inputs sets it itself).
    """

    def __init__(self) -> None:
        self.onnx = _require("onnx", "to_onnx")
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.shapes: dict[str, Shape] = {}

    def emit(self, module: Module, name: str, *inputs: str) -> str:
        """Add ``module``, registered under the dotted path ``name``, applied to ``inputs``."""
        out = EXPORTERS[type(module)](self, module, name, *inputs)
        if out not in self.shapes and len(inputs) == 1:
            self.shapes[out] = tuple(module.output_shape(self.shapes[inputs[0]]))
        return out

    def node(self, op_type: str, inputs: list[str], name: str, **attrs: Any) -> str:
        """Add one node; its output value is named like the node (``3.Gemm``)."""
        label = f"{name}.{op_type}" if name else op_type
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, [label], name=label, **attrs))
        return label

    def param(self, module: Module, attr: str, name: str) -> str:
        """Add ``module.<attr>`` (a parameter, or a buffer such as running statistics) as a
        float32 initializer named ``name.attr``."""
        key = f"{name}.{attr}" if name else attr
        value = getattr(module, attr)
        data = value.data if isinstance(value, Tensor) else np.asarray(value)
        where = _overflow(data, np.float32)
        if where is not None:
            raise ExportError(
                f"to_onnx: {key} holds {data[where].item()!r} at index {where}, beyond float32's "
                f"range (±{np.finfo(np.float32).max:.4g}); ONNX files are written in float32"
            )
        self.initializers.append(self.onnx.numpy_helper.from_array(data.astype(np.float32), key))
        return key

    def floats(self, values: np.ndarray, name: str) -> str:
        """Add a float32 initializer that is not a parameter (batch norm's 1 and 0)."""
        self.initializers.append(self.onnx.numpy_helper.from_array(values, name))
        return name

    def count(self, module: Module, attr: str, name: str) -> str:
        """Add ``module.<attr>``, an integer buffer the graph does not read (batch norm's
        ``num_batches_tracked``), so the file holds the whole ``state_dict()``."""
        key = f"{name}.{attr}" if name else attr
        value = getattr(module, attr).data
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(value), key))
        return key

    def constant(self, values: list[int], name: str) -> str:
        """Add an int64 initializer (e.g. the target shape of a ``Reshape``)."""
        self.initializers.append(
            self.onnx.numpy_helper.from_array(np.array(values, dtype=np.int64), name)
        )
        return name


Exporter = Callable[..., str]


def _sequential(g: OnnxGraph, seq: Sequential, name: str, x: str) -> str:
    for child, layer in seq.named_children():
        x = g.emit(layer, f"{name}.{child}" if name else child, x)
    return x


def _conv2d(g: OnnxGraph, conv: Conv2d, name: str, x: str) -> str:
    ph, pw = conv.padding
    inputs = [x, g.param(conv, "weight", name)]
    if conv.bias is not None:
        inputs.append(g.param(conv, "bias", name))
    return g.node(
        "Conv",
        inputs,
        name,
        kernel_shape=list(conv.kernel_size),
        strides=list(conv.stride),
        pads=[ph, pw, ph, pw],
    )


def _linear(g: OnnxGraph, linear: Linear, name: str, x: str) -> str:
    weight = g.param(linear, "weight", name)
    bias = [g.param(linear, "bias", name)] if linear.bias is not None else []
    if len(g.shapes[x]) == 1:  # (batch, features): y = x W^T + b in one Gemm, as PyTorch
        return g.node("Gemm", [x, weight, *bias], name, transB=1)
    # More axes: Linear acts on the last one; Gemm takes matrices only.
    y = g.node("MatMul", [x, g.node("Transpose", [weight], name)], name)
    return g.node("Add", [y, *bias], name) if bias else y


def _pool(
    g: OnnxGraph, op: str, pool: MaxPool2d | AvgPool2d, name: str, x: str, **extra: Any
) -> str:
    """An ONNX pooling node with the layer's window, stride and (symmetric) padding."""
    ph, pw = pool.padding
    return g.node(
        op,
        [x],
        name,
        kernel_shape=list(pool.kernel_size),
        strides=list(pool.stride),
        pads=[ph, pw, ph, pw],
        **extra,
    )


def _max_pool2d(g: OnnxGraph, pool: MaxPool2d, name: str, x: str) -> str:
    return _pool(g, "MaxPool", pool, name, x)


def _relu(g: OnnxGraph, relu: ReLU, name: str, x: str) -> str:
    return g.node("Relu", [x], name)


def _flatten(g: OnnxGraph, flatten: Flatten, name: str, x: str) -> str:
    if flatten.start_axis == 1:
        return g.node("Flatten", [x], name, axis=1)
    # ONNX's Flatten always makes a matrix; keep the leading axes (0 copies a size).
    shape = g.constant([0] * flatten.start_axis + [-1], f"{name}.shape")
    return g.node("Reshape", [x, shape], name)


def _log_softmax(g: OnnxGraph, layer: LogSoftmax, name: str, x: str) -> str:
    return g.node("LogSoftmax", [x], name, axis=layer.axis)


def _softmax(g: OnnxGraph, layer: Softmax, name: str, x: str) -> str:
    return g.node("Softmax", [x], name, axis=layer.axis)


def _graph(g: OnnxGraph, graph: Graph, name: str, x: str) -> str:
    values = {INPUT: x}
    for child, inputs in graph.inputs.items():
        path = f"{name}.{child}" if name else child
        values[child] = g.emit(getattr(graph, child), path, *[values[i] for i in inputs])
    return values[child]


def _add(g: OnnxGraph, layer: Add, name: str, *xs: str) -> str:
    out = xs[0]
    for x in xs[1:]:
        out = g.node("Add", [out, x], name if out == xs[0] else f"{name}.{len(g.nodes)}")
    g.shapes[out] = layer.output_shape(*[g.shapes[x] for x in xs])
    return out


def _concat(g: OnnxGraph, layer: Concat, name: str, *xs: str) -> str:
    out = g.node("Concat", list(xs), name, axis=1)
    g.shapes[out] = layer.output_shape(*[g.shapes[x] for x in xs])
    return out


def _avg_pool2d(g: OnnxGraph, pool: AvgPool2d, name: str, x: str) -> str:
    return _pool(g, "AveragePool", pool, name, x, count_include_pad=1)  # PyTorch's default


def _batch_norm(g: OnnxGraph, bn: BatchNorm1d | BatchNorm2d, name: str, x: str) -> str:
    """An inference graph: batch norm with its running statistics (evaluation mode)."""
    if not bn.track_running_stats:
        raise ExportError(
            f"to_onnx: layer {name!r} ({type(bn).__name__}) keeps no running statistics "
            "(track_running_stats=False), and an ONNX inference graph needs them"
        )
    c = bn.num_features
    if bn.affine:
        scale, bias = g.param(bn, "weight", name), g.param(bn, "bias", name)
    else:
        scale = g.floats(np.ones(c, np.float32), f"{name}.scale")
        bias = g.floats(np.zeros(c, np.float32), f"{name}.shift")
    mean, var = g.param(bn, "running_mean", name), g.param(bn, "running_var", name)
    out = g.node("BatchNormalization", [x, scale, bias, mean, var], name, epsilon=bn.eps)
    g.count(bn, "num_batches_tracked", name)
    return out


def _dropout(g: OnnxGraph, layer: Dropout, name: str, x: str) -> str:
    return g.node("Identity", [x], name)  # an inference graph: dropout is off


def _leaky_relu(g: OnnxGraph, layer: LeakyReLU, name: str, x: str) -> str:
    return g.node("LeakyRelu", [x], name, alpha=layer.negative_slope)


def _tanh(g: OnnxGraph, layer: Tanh, name: str, x: str) -> str:
    return g.node("Tanh", [x], name)


def _sigmoid(g: OnnxGraph, layer: Sigmoid, name: str, x: str) -> str:
    return g.node("Sigmoid", [x], name)


#: One function per module type: ``fn(graph, module, name, *inputs) -> output name``.
EXPORTERS: dict[type[Module], Exporter] = {
    Sequential: _sequential,
    Conv2d: _conv2d,
    Linear: _linear,
    MaxPool2d: _max_pool2d,
    ReLU: _relu,
    Flatten: _flatten,
    LogSoftmax: _log_softmax,
    Softmax: _softmax,
    Graph: _graph,
    Add: _add,
    Concat: _concat,
    AvgPool2d: _avg_pool2d,
    BatchNorm1d: _batch_norm,
    BatchNorm2d: _batch_norm,
    Dropout: _dropout,
    LeakyReLU: _leaky_relu,
    Tanh: _tanh,
    Sigmoid: _sigmoid,
}


def _input_shape(model: Module, input_shape: Any, who: str) -> Shape:
    if input_shape is None:
        spec = getattr(model, "spec", None)
        if spec is None:
            raise ArgumentError(
                f"{who}: pass input_shape, e.g. (1, 28, 28) without the batch axis; this "
                f"{type(model).__name__} was not built from a spec, so it has none"
            )
        input_shape = spec["input_shape"]
    if not isinstance(input_shape, (tuple, list)) or not input_shape:
        raise ArgumentError(
            f"{who}: input_shape must be a tuple of sizes without the batch axis, "
            f"got {input_shape!r}"
        )
    return tuple(positive_int(who, "input_shape", s) for s in input_shape)


def _check_exportable(model: Module) -> None:
    for path, module in model.named_modules():
        if type(module) not in EXPORTERS:
            where = f"layer {path!r}" if path else "the model"
            raise ExportError(
                f"to_onnx: {where} is a {type(module).__name__}, which has no ONNX exporter "
                f"(minigrad exports: {', '.join(t.__name__ for t in EXPORTERS)})"
            )


def to_onnx(model: Module, path: str | Path, input_shape: Any = None) -> Path:
    """Write ``model`` as an ONNX file: its graph in opset :data:`OPSET` and its weights.

    Args:
        model: a model of the layer types in :data:`EXPORTERS` (any spec's model is).
        path: the ``.onnx`` file to write (atomically: a failure leaves no partial file).
        input_shape: (C, H, W) without the batch axis; default: the spec's. The batch axis
            is symbolic, so the file runs on any batch size.

    Returns:
        The path written.

    Raises:
        ExportError: a layer type without an exporter, or a float64 weight beyond float32.
        ShapeError: ``input_shape`` does not fit the model.

    >>> import onnx, tempfile
    >>> from minigrad import nn
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = to_onnx(nn.from_spec("seed_cnn"), Path(tmp) / "seed_cnn.onnx")
    ...     [node.op_type for node in onnx.load(path).graph.node]
    ['Conv', 'Relu', 'Flatten', 'Gemm']
    """
    shape = _input_shape(model, input_shape, "to_onnx")
    _check_exportable(model)
    output_shape = model.output_shape(shape)
    g = OnnxGraph()
    onnx = g.onnx
    g.shapes["input"] = shape
    out = g.emit(model, "", "input")
    if out == "input":  # an empty Sequential
        out = g.node("Identity", ["input"], "")
    for node in g.nodes:  # the last value is the graph's output
        node.input[:] = ["output" if v == out else v for v in node.input]
        node.output[:] = ["output" if v == out else v for v in node.output]
    floats = onnx.TensorProto.FLOAT
    spec = getattr(model, "spec", None) or {}
    graph = onnx.helper.make_graph(
        g.nodes,
        spec.get("name", type(model).__name__),
        [onnx.helper.make_tensor_value_info("input", floats, [BATCH, *shape])],
        [onnx.helper.make_tensor_value_info("output", floats, [BATCH, *output_shape])],
        initializer=g.initializers,
        doc_string=spec.get("description", ""),
    )
    opset = onnx.helper.make_opsetid("", OPSET)
    proto = onnx.helper.make_model(
        graph,
        opset_imports=[opset],
        # The oldest IR version that carries this opset, so older runtimes read the file.
        ir_version=onnx.helper.find_min_ir_version_for([opset]),
        producer_name="minigrad",
        producer_version=_version(),
    )
    # Every intermediate value gets its shape (Netron labels the edges with them); strict
    # inference also fails on any shape the graph does not hold together.
    proto = onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True)
    onnx.checker.check_model(proto, full_check=True)
    if any(p.data.dtype != np.float32 for p in model.parameters()):
        warnings.warn(
            f"to_onnx: the model's parameters are {model.parameters()[0].data.dtype}; the "
            "ONNX file holds them as float32 (ONNX Runtime's CPU convolution runs float32 only)",
            UserWarning,
            stacklevel=2,
        )
    data = proto.SerializeToString()
    return write_atomically(path, lambda f: f.write(data))


def _version() -> str:
    from minigrad import __version__

    return __version__


# ---------------------------------------------------------------------------- safetensors

#: safetensors' dtype names for the NumPy dtypes minigrad's state dicts hold.
_ST_DTYPES = {
    "F16": np.float16,
    "F32": np.float32,
    "F64": np.float64,
    "I8": np.int8,
    "I16": np.int16,
    "I32": np.int32,
    "I64": np.int64,
    "U8": np.uint8,
    "BOOL": np.bool_,
}


def save_safetensors(model: Module, path: str | Path) -> Path:
    """Write ``model.state_dict()`` as a safetensors file that PyTorch loads as it is.

    The names and layouts are PyTorch's for the same network (see the module docstring) and
    the dtype is the model's. The header's metadata holds ``format = "pt"`` and, for a model
    built from a spec, the spec as JSON (``minigrad.spec``).

    >>> import safetensors.numpy, tempfile
    >>> from minigrad import nn
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_safetensors(nn.from_spec("seed_cnn"), Path(tmp) / "seed_cnn.safetensors")
    ...     {k: v.shape for k, v in safetensors.numpy.load_file(path).items()}
    {'0.bias': (8,), '0.weight': (8, 1, 3, 3), '3.bias': (10,), '3.weight': (10, 288)}
    """
    st = _require("safetensors.numpy", "save_safetensors")
    metadata = {"format": "pt"}
    if getattr(model, "spec", None) is not None:
        metadata["minigrad.spec"] = json.dumps(model.spec)
    data = st.save(model.state_dict(), metadata=metadata)
    return write_atomically(path, lambda f: f.write(data))


def load_safetensors(model: Module, path: str | Path) -> None:
    """Load the arrays of a safetensors file (e.g. saved from PyTorch) into ``model``.

    Every name, shape and dtype is checked from the file's header before any array is read;
    only the arrays the model has are read, and a failed load changes nothing. A float file
    may load into a model of another float dtype (as PyTorch's ``load_state_dict``) unless a
    value does not fit it.

    Raises:
        ExportError: the file is missing or is not a readable safetensors file.
        StateDictError: the file's names, shapes or dtypes are not the model's (each message
            names the file and the entry).
    """
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: no such safetensors file")
    safetensors = _require("safetensors", "load_safetensors")
    own = model.state_dict()
    try:
        with safetensors.safe_open(path, framework="np") as f:
            _check_header(path, own, {k: f.get_slice(k) for k in f.keys()})  # noqa: SIM118
            arrays = {key: f.get_tensor(key) for key in own}
    except safetensors.SafetensorError as exc:
        raise ExportError(f"{path}: not a readable safetensors file ({exc})") from None
    for key, value in arrays.items():
        where = _overflow(value, own[key].dtype)
        if where is not None:
            raise StateDictError(
                f"{path}: {key!r} holds {value[where].item()!r} at index {where}, which the "
                f"model's {own[key].dtype} cannot hold"
            )
    try:
        model.load_state_dict(arrays)
    except StateDictError as exc:
        raise StateDictError(f"{path}: {exc}") from None


def _check_header(path: Path, own: Mapping[str, np.ndarray], entries: Mapping[str, Any]) -> None:
    missing = [k for k in own if k not in entries]
    unexpected = [k for k in entries if k not in own]
    if missing or unexpected:
        problems = [
            f"{what} {', '.join(keys)}"
            for what, keys in (("missing", missing), ("unexpected", unexpected))
            if keys
        ]
        raise StateDictError(
            f"{path}: the names do not match the model's: {'; '.join(problems)} "
            f"(the model has {', '.join(own)})"
        )
    for key, entry in entries.items():
        shape, kind = tuple(entry.get_shape()), entry.get_dtype()
        if shape != own[key].shape:
            raise StateDictError(
                f"{path}: {key!r} has shape {shape} in the file but {own[key].shape} in the model"
            )
        dtype = _ST_DTYPES.get(kind)
        if dtype is None or np.dtype(dtype).kind != own[key].dtype.kind:
            hint = " (NumPy has no bfloat16: save it as float32, e.g. tensor.float())"
            raise StateDictError(
                f"{path}: {key!r} has dtype {kind} in the file; the model's {key!r} is "
                f"{own[key].dtype}" + (hint if kind == "BF16" else "")
            )


# ---------------------------------------------------------------------------- minigrad export


@dataclass
class Exported:
    """What :func:`export_model` wrote."""

    path: Path
    format: str  # "ONNX (opset 17)" or "safetensors"
    name: str  # the model's name
    input_shape: Shape  # without the batch axis
    output_shape: Shape
    num_parameters: int
    tensors: list[str]  # the parameters' names, as in the file
    notes: list[str] = field(default_factory=list)


def export_model(
    source: str | Path,
    output: str | Path,
    *,
    input_shape: Any = None,
    seed: int = 0,
) -> Exported:
    """Write the model of a checkpoint (``.npz``) or a spec (path or bundled name) to
    ``output``: ONNX for a ``.onnx`` file, safetensors for a ``.safetensors`` file.

    A spec has no trained weights: its model is initialised from ``seed`` (a note says so).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     result = export_model("seed_cnn", Path(tmp) / "seed_cnn.onnx")
    >>> result.format, result.input_shape, result.output_shape, result.tensors
    ('ONNX (opset 17)', (1, 8, 8), (10,), ['0.weight', '0.bias', '3.weight', '3.bias'])
    """
    output = Path(output)
    fmt = FORMATS.get(output.suffix)
    if fmt is None:
        raise ArgumentError(
            f"export: {output} must end in {' or '.join(FORMATS)} (the format follows the "
            f"suffix), got {output.suffix or 'no suffix'!r}"
        )
    model = load_model(source, input_shape=input_shape, seed=seed)
    notes = []
    if Path(source).suffix != ".npz":
        notes.append(
            f"a spec holds no trained weights: these are initialised from seed {seed}; "
            "export a checkpoint for trained ones"
        )
    shape = tuple(model.spec["input_shape"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if output.suffix == ".onnx":
            to_onnx(model, output, shape)
        else:
            save_safetensors(model, output)
    notes += [str(w.message).removeprefix("to_onnx: ") for w in caught]
    return Exported(
        path=output,
        format=fmt,
        name=model.spec["name"],
        input_shape=shape,
        output_shape=model.output_shape(shape),
        num_parameters=model.num_parameters(),
        tensors=list(model.state_dict()),
        notes=notes,
    )
