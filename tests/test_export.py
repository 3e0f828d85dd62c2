"""Leaving minigrad: ONNX files that ONNX Runtime runs as minigrad does, safetensors both ways.

Every model in models/ and random valid specs (hypothesis) are exported, checked by
``onnx.checker`` and run by ONNX Runtime, whose outputs must equal minigrad's forward to float32
precision. The safetensors tests read the file's header by hand to show what is inside, and
every way a file can fail to fit a model must leave the model as it was.
"""

from __future__ import annotations

import json
import struct
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

import minigrad
from minigrad import nn
from minigrad.errors import ArgumentError, ExportError, ShapeError, StateDictError
from minigrad.export import (
    EXPORTERS,
    OPSET,
    export_model,
    load_safetensors,
    save_safetensors,
    to_onnx,
)

BUNDLED = sorted(nn.bundled_specs())


def run_onnx(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["output"], {"input": x.astype(np.float32)})[0]


def forward(model: nn.Module, x: np.ndarray) -> np.ndarray:
    """The model as an ONNX file runs it: an inference graph, so in evaluation mode (batch
    norm on its running statistics, no dropout)."""
    model.eval()
    with minigrad.no_grad():
        return model(x.astype(model.spec["dtype"])).data


def assert_float32_close(actual: np.ndarray, expected: np.ndarray) -> None:
    """Equal to float32 precision: a few units in the last place of the largest output."""
    assert actual.dtype == np.float32 and actual.shape == expected.shape
    scale = max(1.0, float(np.abs(expected).max(initial=0)))
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5 * scale)


def assert_unchanged(model: nn.Module, before: dict[str, np.ndarray]) -> None:
    after = model.state_dict()
    assert list(after) == list(before)
    for key, value in after.items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


# ---------------------------------------------------------------------------- ONNX


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_model_runs_the_same_in_onnx_runtime(name: str, tmp_path: Path) -> None:
    model = nn.from_spec(name, seed=1)
    path = to_onnx(model, tmp_path / f"{name}.onnx")
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    assert [o.version for o in proto.opset_import] == [OPSET]
    assert [i.name for i in proto.graph.input] == ["input"]
    assert [o.name for o in proto.graph.output] == ["output"]
    assert sorted(i.name for i in proto.graph.initializer) == sorted(model.state_dict())
    # ONNX's shape inference and minigrad's agree on every value between the layers.
    shapes = {
        v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in [*proto.graph.value_info, *proto.graph.output]
    }
    shape = tuple(model.spec["input_shape"])
    chain = model if isinstance(model, nn.Sequential) else []  # a Graph: see below
    for index, layer in enumerate(chain):
        shape = layer.output_shape(shape)
        value = "output" if index == len(model) - 1 else proto.graph.node[index].output[0]
        assert shapes[value] == ["batch", *shape], value
    if isinstance(model, nn.Graph):  # each row of its summary: the value its last node makes
        last = {node.name.rsplit(".", 1)[0]: node.output[0] for node in proto.graph.node}
        for row, _, row_shape, _ in nn.summary(model, shape, print_fn=None).rows:
            assert shapes[last[row]] == ["batch", *row_shape], row
    rng = np.random.default_rng(0)
    for batch in (1, 7):  # the batch axis is symbolic
        x = rng.standard_normal((batch, *model.spec["input_shape"])).astype(np.float32)
        assert_float32_close(run_onnx(path, x), forward(model, x))


def test_the_seed_cnn_graph_is_the_design_document_cnn(tmp_path: Path) -> None:
    proto = onnx.load(to_onnx(nn.from_spec("seed_cnn"), tmp_path / "m.onnx"))
    nodes = [(n.op_type, list(n.input)) for n in proto.graph.node]
    assert nodes == [
        ("Conv", ["input", "0.weight", "0.bias"]),
        ("Relu", ["0.Conv"]),
        ("Flatten", ["1.Relu"]),
        ("Gemm", ["2.Flatten", "3.weight", "3.bias"]),
    ]
    conv = {a.name: onnx.helper.get_attribute_value(a) for a in proto.graph.node[0].attribute}
    assert conv == {"kernel_shape": [3, 3], "strides": [1, 1], "pads": [0, 0, 0, 0]}
    dims = [d.dim_param or d.dim_value for d in proto.graph.output[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 10]


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    """A random valid spec using every layer type and option, its sizes kept feasible."""
    c, h, w = draw(st.integers(1, 3)), draw(st.integers(3, 9)), draw(st.integers(3, 9))
    input_shape = [c, h, w]
    layers: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 4))):  # the image stage, on (C, H, W)
        kind = draw(st.sampled_from(["Conv2d", "ReLU", "MaxPool2d", "LogSoftmax"]))
        if kind in ("Conv2d", "MaxPool2d"):
            kh, kw = draw(st.integers(1, min(h, 3))), draw(st.integers(1, min(w, 3)))
            kernel = kh if kh == kw and draw(st.booleans()) else [kh, kw]
            stride = draw(st.integers(1, 2))
            entry: dict[str, Any] = {"type": kind, "kernel_size": kernel, "stride": stride}
            pad = 0
            if kind == "Conv2d":
                c, pad = draw(st.integers(1, 4)), draw(st.integers(0, 1))
                entry.update(out_channels=c, padding=pad, bias=draw(st.booleans()))
                entry["init"] = draw(st.sampled_from(["he", "glorot"]))
            h, w = (h + 2 * pad - kh) // stride + 1, (w + 2 * pad - kw) // stride + 1
        else:
            entry = {"type": kind}
            if kind != "ReLU":
                entry["axis"] = draw(st.sampled_from([1, 2, 3, -1, -3]))
        layers.append(entry)
    if draw(st.booleans()):  # a Linear on the last axis of a 3-d or 2-d tensor (MatMul)
        if draw(st.booleans()):
            layers.append({"type": "Flatten", "start_axis": 2})
        layers.append(
            {"type": "Linear", "out_features": draw(st.integers(1, 4)), "bias": draw(st.booleans())}
        )
    layers.append({"type": "Flatten"})
    for _ in range(draw(st.integers(1, 3))):  # the dense stage (Gemm)
        kind = draw(st.sampled_from(["Linear", "Linear", "ReLU", "LogSoftmax"]))
        entry = {"type": kind}
        if kind == "Linear":
            entry.update(out_features=draw(st.integers(1, 6)), bias=draw(st.booleans()))
        layers.append(entry)
    dtype = draw(st.sampled_from(["float32", "float32", "float64"]))
    return {"name": "random", "input_shape": input_shape, "dtype": dtype, "layers": layers}


@given(
    spec=specs(),
    seed=st.integers(0, 2**16),
    batch=st.integers(1, 3),
)
def test_random_specs_run_the_same_in_onnx_runtime(
    spec: dict[str, Any], seed: int, batch: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    note(json.dumps(spec))
    model = nn.from_spec(spec, seed=seed)
    path = tmp_path_factory.mktemp("onnx") / "random.onnx"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        to_onnx(model, path)
    float64 = spec["dtype"] == "float64" and model.num_parameters() > 0
    assert len(caught) == float64
    assert all(
        str(w.message).startswith("to_onnx: the model's parameters are float64") for w in caught
    )
    onnx.checker.check_model(onnx.load(path), full_check=True)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, *model.spec["input_shape"])).astype(np.float32)
    assert_float32_close(run_onnx(path, x), forward(model, x).astype(np.float32))


def test_softmax_and_a_flatten_that_keeps_an_axis(tmp_path: Path) -> None:
    """The layers a spec does not list, and the Reshape and MatMul paths, by hand."""
    model = nn.Sequential(
        nn.Conv2d(2, 3, (2, 3), stride=(1, 2), padding=(1, 0), rng=0),
        nn.Flatten(start_axis=2),  # (N, 3, H*W)
        nn.Linear(12, 5, rng=1),  # on the last axis: MatMul + Add
        nn.Softmax(axis=1),
        nn.Flatten(),
        nn.Linear(15, 4, bias=False, rng=2),  # Gemm without a bias
        nn.LogSoftmax(),
    )
    path = to_onnx(model, tmp_path / "m.onnx", input_shape=(2, 3, 7))
    ops = [n.op_type for n in onnx.load(path).graph.node]
    assert ops == [
        *("Conv", "Reshape", "Transpose", "MatMul", "Add", "Softmax", "Flatten"),
        *("Gemm", "LogSoftmax"),
    ]
    x = np.random.default_rng(3).standard_normal((4, 2, 3, 7)).astype(np.float32)
    assert_float32_close(run_onnx(path, x), forward_plain(model, x))


def forward_plain(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with minigrad.no_grad():
        return model(x).data


def test_an_empty_model_is_the_identity(tmp_path: Path) -> None:
    path = to_onnx(nn.Sequential(), tmp_path / "m.onnx", input_shape=(3,))
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(run_onnx(path, x), x)


def test_every_layer_type_has_an_exporter() -> None:
    """minigrad's layer types, those a spec names and the others, are one entry each."""
    public = [getattr(nn, name) for name in nn.__all__]
    layer_types = {lt.cls for lt in nn.LAYER_TYPES.values()} | {
        cls for cls in public if isinstance(cls, type) and issubclass(cls, nn.Module)
    }
    layer_types.discard(nn.Module)
    assert {nn.Conv2d, nn.Linear, nn.Sequential, nn.Softmax} <= layer_types
    for cls in layer_types:
        assert cls in EXPORTERS, f"{cls.__name__} has no entry in minigrad.export.EXPORTERS"


class Doubler(nn.Module):
    def forward(self, x: Any) -> Any:
        return x * 2

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return input_shape


class MyLinear(nn.Linear):
    """A subclass may compute something else: it needs its own entry."""


def test_a_layer_without_an_exporter_is_named(tmp_path: Path) -> None:
    known = ", ".join(t.__name__ for t in EXPORTERS)
    model = nn.Sequential(nn.Flatten(), Doubler(), MyLinear(4, 2))
    with pytest.raises(
        ExportError,
        match=rf"to_onnx: layer '1' is a Doubler, which has no ONNX exporter \(minigrad exports: "
        rf"{known}\)",
    ):
        to_onnx(model, tmp_path / "m.onnx", input_shape=(1, 2, 2))
    subclassed = nn.Sequential(nn.Flatten(), nn.ReLU(), MyLinear(4, 2))
    with pytest.raises(ExportError, match=r"layer '2' is a MyLinear, which has no ONNX exporter"):
        to_onnx(subclassed, tmp_path / "m.onnx", input_shape=(1, 2, 2))
    with pytest.raises(ExportError, match=r"to_onnx: the model is a Doubler, which has no"):
        to_onnx(Doubler(), tmp_path / "m.onnx", input_shape=(3,))
    assert list(tmp_path.iterdir()) == []


def test_float64_models_export_as_float32_with_a_warning(tmp_path: Path) -> None:
    model = nn.from_spec("lenet5", dtype=np.float64, seed=5)
    with pytest.warns(UserWarning, match=r"parameters are float64; the ONNX file holds them as "):
        path = to_onnx(model, tmp_path / "m.onnx")
    assert {i.data_type for i in onnx.load(path).graph.initializer} == {onnx.TensorProto.FLOAT}
    x = np.random.default_rng(0).standard_normal((3, 1, 28, 28))
    assert_float32_close(run_onnx(path, x), forward(model, x))


def test_a_float64_weight_beyond_float32_is_refused_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    model = nn.from_spec("mlp", dtype=np.float64)
    model[1].bias.data[7] = 1e39
    target = tmp_path / "m.onnx"
    target.write_bytes(b"the previous file")
    with pytest.raises(
        ExportError,
        match=r"to_onnx: 1.bias holds 1e\+39 at index \(7,\), beyond float32's range "
        r"\(±3.403e\+38\); ONNX files are written in float32",
    ):
        to_onnx(model, target)
    assert target.read_bytes() == b"the previous file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]  # no temporary left


def test_input_shape_mistakes(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    hand_made = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    with pytest.raises(ArgumentError, match=r"to_onnx: pass input_shape, .* this Sequential was "):
        to_onnx(hand_made, path)
    for bad in ["1,2,2", ()]:
        with pytest.raises(ArgumentError, match=r"to_onnx: input_shape must be a tuple of sizes"):
            to_onnx(hand_made, path, input_shape=bad)
    for bad in [(0, 2), (1.0, 4), (True, 4)]:
        with pytest.raises(
            ArgumentError, match=r"to_onnx: input_shape must be (an|a positive) int, got "
        ):
            to_onnx(hand_made, path, input_shape=bad)
    with pytest.raises(ShapeError, match=r"layer 1 \(Linear\): Linear expects 4 features"):
        to_onnx(hand_made, path, input_shape=(1, 3, 3))
    assert not path.exists()


# ---------------------------------------------------------------------------- safetensors


def read_header(path: Path) -> dict[str, Any]:
    """The safetensors header by hand: 8 bytes of length, then JSON (no pickle anywhere)."""
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + length])


def write_file(path: Path, tensors: dict[str, tuple[str, tuple[int, ...], bytes]]) -> Path:
    """A safetensors file from raw parts, for dtypes and contents NumPy cannot make."""
    header: dict[str, Any] = {}
    offset, blobs = 0, []
    for key, (dtype, shape, blob) in tensors.items():
        header[key] = {
            "dtype": dtype,
            "shape": list(shape),
            "data_offsets": [offset, offset + len(blob)],
        }
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    return path


@pytest.mark.parametrize("name", BUNDLED)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_safetensors_round_trip(name: str, dtype: Any, tmp_path: Path) -> None:
    model = nn.from_spec(name, seed=1, dtype=dtype)
    path = save_safetensors(model, tmp_path / "m.safetensors")
    header = read_header(path)
    metadata = header.pop("__metadata__")
    assert metadata["format"] == "pt" and json.loads(metadata["minigrad.spec"]) == model.spec
    st_dtype = {np.float32: "F32", np.float64: "F64"}[dtype]
    # every entry in the model's float dtype, but batch norm's counter, an int64 as in PyTorch
    assert {k: (v["dtype"], tuple(v["shape"])) for k, v in header.items()} == {
        k: ("I64" if v.dtype == np.int64 else st_dtype, v.shape)
        for k, v in model.state_dict().items()
    }
    other = nn.from_spec(name, seed=2, dtype=dtype)
    load_safetensors(other, path)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[key], value, err_msg=key)
    x = np.random.default_rng(0).standard_normal((2, *model.spec["input_shape"]))
    np.testing.assert_array_equal(forward(other, x), forward(model, x))


def test_pytorch_layouts_and_names(tmp_path: Path) -> None:
    header = read_header(save_safetensors(nn.from_spec("lenet5"), tmp_path / "m.safetensors"))
    shapes = {k: v["shape"] for k, v in header.items() if k != "__metadata__"}
    assert shapes == {  # torch.nn.Sequential of the same layers names and shapes them so
        "0.weight": [6, 1, 5, 5],
        "0.bias": [6],
        "3.weight": [16, 6, 5, 5],
        "3.bias": [16],
        "7.weight": [120, 400],
        "7.bias": [120],
        "9.weight": [84, 120],
        "9.bias": [84],
        "11.weight": [10, 84],
        "11.bias": [10],
    }


def test_a_float64_file_loads_into_a_float32_model(tmp_path: Path) -> None:
    wide = nn.from_spec("mlp", dtype=np.float64, seed=3)
    narrow = nn.from_spec("mlp", seed=4)
    load_safetensors(narrow, save_safetensors(wide, tmp_path / "m.safetensors"))
    for key, value in wide.state_dict().items():
        np.testing.assert_array_equal(narrow.state_dict()[key], value.astype(np.float32))


def _f32(*shape: int, fill: float = 0.5) -> bytes:
    return np.full(shape, fill, dtype=np.float32).tobytes()


# (id, the file's tensors given the model's, the error, its message)
BAD_FILES = [
    (
        "a missing name",
        lambda own: {k: v for k, v in own.items() if k != "1.bias"},
        StateDictError,
        r"the names do not match the model's: missing 1.bias \(the model has 1.weight, 1.bias, "
        r"3.weight, 3.bias\)",
    ),
    (
        "an unexpected name",
        lambda own: {**own, "fc.weight": ("F32", (2,), _f32(2))},
        StateDictError,
        r"the names do not match the model's: unexpected fc.weight",
    ),
    (
        "PyTorch's names of another network",
        lambda own: {f"net.{k}": v for k, v in own.items()},
        StateDictError,
        r"the names do not match the model's: missing 1.weight, 1.bias, 3.weight, 3.bias; "
        r"unexpected net.1.bias, net.1.weight",
    ),
    (
        "a transposed weight",
        lambda own: {**own, "3.weight": ("F32", (64, 10), _f32(64, 10))},
        StateDictError,
        r"'3.weight' has shape \(64, 10\) in the file but \(10, 64\) in the model",
    ),
    (
        "integers for a weight",
        lambda own: {**own, "3.bias": ("I32", (10,), np.zeros(10, np.int32).tobytes())},
        StateDictError,
        r"'3.bias' has dtype I32 in the file; the model's '3.bias' is float32",
    ),
    (
        "bfloat16",
        lambda own: {**own, "3.bias": ("BF16", (10,), bytes(20))},
        StateDictError,
        r"'3.bias' has dtype BF16 in the file; .* \(NumPy has no bfloat16: save it as float32",
    ),
    (
        "a float64 value beyond float32",
        lambda own: {**own, "3.bias": ("F64", (10,), np.full(10, 1e300).tobytes())},
        StateDictError,
        r"'3.bias' holds 1e\+300 at index \(0,\), which the model's float32 cannot hold",
    ),
    (
        "data that does not fill the shape",
        lambda own: {**own, "3.bias": ("F32", (10,), _f32(9))},
        ExportError,
        r"not a readable safetensors file \(",
    ),
]


@pytest.mark.parametrize(
    ("change", "error", "message"), [pytest.param(*case[1:], id=case[0]) for case in BAD_FILES]
)
def test_a_file_that_does_not_fit_changes_nothing(
    change: Any, error: type[Exception], message: str, tmp_path: Path
) -> None:
    model = nn.from_spec("mlp", seed=1)
    before = model.state_dict()
    own = {k: ("F32", v.shape, v.tobytes()) for k, v in before.items()}
    path = write_file(tmp_path / "bad.safetensors", change(own))
    with pytest.raises(error, match=rf"^{tmp_path / 'bad.safetensors'}: {message}"):
        load_safetensors(model, path)
    assert_unchanged(model, before)


def test_files_that_are_not_safetensors(tmp_path: Path) -> None:
    model = nn.from_spec("mlp", seed=1)
    before = model.state_dict()
    good = save_safetensors(nn.from_spec("mlp", seed=2), tmp_path / "good.safetensors").read_bytes()
    cases = {
        "missing.safetensors": None,
        "garbage.safetensors": b"not a safetensors file at all",
        "truncated.safetensors": good[:-4],
        "huge-header.safetensors": struct.pack("<Q", 2**62) + b"{}",
        "checkpoint.npz": b"PK\x03\x04" + bytes(60),
    }
    for name, data in cases.items():
        path = tmp_path / name
        if data is not None:
            path.write_bytes(data)
        expected = "no such safetensors file" if data is None else "not a readable safetensors"
        with pytest.raises(ExportError, match=rf"^{path}: {expected}"):
            load_safetensors(model, path)
    assert_unchanged(model, before)


def test_export_model_follows_the_suffix(tmp_path: Path) -> None:
    from minigrad.checkpoint import save_checkpoint

    trained = nn.from_spec("seed_cnn", seed=9)
    save_checkpoint(tmp_path / "ck.npz", trained)
    result = export_model(tmp_path / "ck.npz", tmp_path / "m.safetensors")
    assert (result.format, result.name, result.notes) == ("safetensors", "seed_cnn", [])
    copy = nn.from_spec("seed_cnn", seed=0)
    load_safetensors(copy, result.path)
    np.testing.assert_array_equal(copy[3].weight.data, trained[3].weight.data)
    result = export_model(tmp_path / "ck.npz", tmp_path / "m.onnx")
    assert result.format == f"ONNX (opset {OPSET})" and result.num_parameters == 2970
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8)).astype(np.float32)
    assert_float32_close(run_onnx(result.path, x), forward(trained, x))
    wide = export_model("mlp", tmp_path / "w.onnx", input_shape=(1, 4, 4))
    assert wide.input_shape == (1, 4, 4) and wide.tensors[0] == "1.weight"
    with pytest.raises(ArgumentError, match=r"export: .*m.pt must end in .onnx or .safetensors"):
        export_model("mlp", tmp_path / "m.pt")


def test_the_docs_show_the_code() -> None:
    """docs/leaving.md quotes an exporter; it is the one in minigrad/export.py."""
    import inspect

    from minigrad import export

    page = (Path(__file__).resolve().parents[1] / "docs" / "leaving.md").read_text()
    quoted = "\n".join(line.removeprefix("    ") for line in page.splitlines())
    assert inspect.getsource(export._relu) in quoted
    assert f"ONNX (opset {OPSET})" in page


def test_a_batch_norm_without_running_statistics_is_not_exported(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3, rng=0), nn.BatchNorm2d(2, track_running_stats=False))
    with pytest.raises(ExportError, match=r"layer '1' \(BatchNorm2d\) keeps no running statistics"):
        to_onnx(model, tmp_path / "m.onnx", input_shape=(1, 5, 5))
    assert list(tmp_path.iterdir()) == []


def test_a_model_with_every_new_layer_runs_the_same_in_onnx_runtime(tmp_path: Path) -> None:
    spec = {
        "name": "new_layers",
        "input_shape": [2, 6, 6],
        "layers": [
            {"name": "a", "type": "Conv2d", "out_channels": 3, "kernel_size": 3, "padding": 1},
            {"name": "bn", "type": "BatchNorm2d", "affine": False},
            {"name": "t", "type": "Tanh"},
            {
                "name": "b",
                "type": "Conv2d",
                "out_channels": 3,
                "kernel_size": 1,
                "inputs": ["input"],
            },
            {"name": "s", "type": "Sigmoid"},
            {"name": "sum", "type": "Add", "inputs": ["t", "s", "a"]},
            {"name": "cat", "type": "Concat", "inputs": ["sum", "input"]},
            {"name": "lr", "type": "LeakyReLU", "negative_slope": 0.2},
            {"name": "pool", "type": "AvgPool2d", "kernel_size": 3, "stride": 2, "padding": 1},
            {"name": "flat", "type": "Flatten"},
            {"name": "drop", "type": "Dropout", "p": 0.5},
            {"name": "bn1", "type": "BatchNorm1d"},
            {"name": "fc", "type": "Linear", "out_features": 4},
        ],
    }
    model = nn.from_spec(spec, seed=3)
    x = np.random.default_rng(1).standard_normal((5, 2, 6, 6)).astype(np.float32)
    model(x)  # training mode: the running statistics move away from 0 and 1
    path = to_onnx(model, tmp_path / "m.onnx")
    assert_float32_close(run_onnx(path, x), forward(model, x))
