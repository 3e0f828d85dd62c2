"""The PyTorch twin: the same network declared in PyTorch loads minigrad's safetensors file
(and minigrad loads PyTorch's) with the names as they are, and computes the same outputs.

Opt-in (marker ``torch``): skipped when PyTorch is not installed. ``.ci/run`` installs its CPU
build into the test environment; it is never a dependency of minigrad.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

import minigrad
from minigrad import nn
from minigrad.export import load_safetensors, save_safetensors

from .test_export import specs

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")

from bench.twins import twin_of_model  # noqa: E402 - it imports torch

pytestmark = pytest.mark.torch


def torch_twin(spec: dict[str, Any]) -> Any:
    """``torch.nn.Sequential`` of a normalised minigrad spec: the same layers in the same order
    (a graph spec: a module that runs its layers by name, its blocks ``Sequential`` of them)."""
    tnn = torch.nn

    def pair(v: Any) -> Any:
        return tuple(v) if isinstance(v, list) else v

    def layer(entry: dict[str, Any]) -> Any:
        kind, args = entry["type"], {k: pair(v) for k, v in entry.items() if k != "type"}
        if kind == "Conv2d":
            return tnn.Conv2d(
                args["in_channels"],
                args["out_channels"],
                args["kernel_size"],
                stride=args.get("stride", 1),
                padding=args.get("padding", 0),
                bias=args.get("bias", True),
            )
        if kind == "Linear":
            return tnn.Linear(args["in_features"], args["out_features"], args.get("bias", True))
        if kind == "MaxPool2d":
            return tnn.MaxPool2d(args["kernel_size"], args.get("stride"))
        if kind == "Flatten":
            return tnn.Flatten(args.get("start_axis", 1))
        if kind == "LogSoftmax":
            return tnn.LogSoftmax(args.get("axis", -1))
        if kind in ("BatchNorm1d", "BatchNorm2d"):
            return getattr(tnn, kind)(
                args["num_features"],
                eps=args.get("eps", 1e-5),
                momentum=args.get("momentum", 0.1),
                affine=args.get("affine", True),
                track_running_stats=args.get("track_running_stats", True),
            )
        if kind == "AvgPool2d":
            return tnn.AvgPool2d(args["kernel_size"], args.get("stride"), args.get("padding", 0))
        if kind == "LeakyReLU":
            return tnn.LeakyReLU(args.get("negative_slope", 0.01))
        if kind in ("Tanh", "Sigmoid"):
            return getattr(tnn, kind)()
        if kind == "Dropout":
            return tnn.Dropout(args.get("p", 0.5))
        assert kind == "ReLU", kind
        return tnn.ReLU()

    if "blocks" in spec or any("inputs" in e for e in spec["layers"]):
        twin = twin_of_model(nn.from_spec(spec))  # each repeat with the sizes minigrad inferred
    else:
        twin = tnn.Sequential(*map(layer, spec["layers"]))
    return twin.double() if spec["dtype"] == "float64" else twin


def outputs(model: nn.Module, twin: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    model.eval()  # as the twin: batch norm on its running statistics, no dropout
    with minigrad.no_grad():
        ours = model(x).data
    with torch.no_grad():
        theirs = twin.eval()(torch.from_numpy(x)).numpy()
    return ours, theirs


def assert_same(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    eps = np.finfo(ours.dtype).eps
    scale = max(1.0, float(np.abs(ours).max(initial=0)))
    np.testing.assert_allclose(theirs, ours, rtol=100 * eps, atol=100 * eps * scale)


@pytest.mark.parametrize("name", sorted(nn.bundled_specs()))
def test_pytorch_loads_minigrad_weights_and_agrees(name: str, tmp_path: Path) -> None:
    model = nn.from_spec(name, seed=1)
    path = save_safetensors(model, tmp_path / f"{name}.safetensors")
    twin = torch_twin(model.spec)
    loaded = twin.load_state_dict(safetensors_torch.load_file(path))  # strict: names, shapes
    assert loaded.missing_keys == [] and loaded.unexpected_keys == []
    x = np.random.default_rng(0).standard_normal((4, *model.spec["input_shape"]), np.float32)
    assert_same(*outputs(model, twin, x))


@pytest.mark.parametrize("name", sorted(nn.bundled_specs()))
def test_minigrad_loads_pytorch_weights_and_agrees(name: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = nn.from_spec(name, seed=1)
    twin = torch_twin(model.spec)  # PyTorch's own initialisation
    path = tmp_path / "from_torch.safetensors"
    safetensors_torch.save_file(twin.state_dict(), path)
    load_safetensors(model, path)
    x = np.random.default_rng(1).standard_normal((3, *model.spec["input_shape"]), np.float32)
    assert_same(*outputs(model, twin, x))


@given(spec=specs(), seed=st.integers(0, 2**16))
def test_random_specs_have_a_pytorch_twin(
    spec: dict[str, Any], seed: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    note(json.dumps(spec))
    model = nn.from_spec(spec, seed=seed)
    path = save_safetensors(model, tmp_path_factory.mktemp("st") / "m.safetensors")
    twin = torch_twin(model.spec)
    twin.load_state_dict(safetensors_torch.load_file(path))
    shape = (2, *model.spec["input_shape"])
    x = np.random.default_rng(seed).standard_normal(shape).astype(spec["dtype"])
    assert_same(*outputs(model, twin, x))
