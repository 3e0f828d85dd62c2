"""Models beyond a chain: nn.Graph, merge layers, and specs with named inputs and blocks."""

import copy
from pathlib import Path

import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.errors import ArgumentError, ShapeError, SpecError

MODELS = Path(__file__).resolve().parents[2] / "models"


def residual_spec(**changes):
    spec = {
        "name": "res",
        "input_shape": [1, 6, 6],
        "blocks": {
            "res": {
                "layers": [
                    {
                        "name": "conv",
                        "type": "Conv2d",
                        "out_channels": 2,
                        "kernel_size": 3,
                        "padding": 1,
                    },
                    {"name": "bn", "type": "BatchNorm2d"},
                    {"name": "add", "type": "Add", "inputs": ["input", "bn"]},
                    {"name": "relu", "type": "ReLU"},
                ]
            }
        },
        "layers": [
            {"name": "stem", "type": "Conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1},
            {"name": "stage", "type": "Block", "block": "res", "repeat": 2},
            {"name": "flat", "type": "Flatten"},
            {"name": "fc", "type": "Linear", "out_features": 3},
        ],
    }
    spec.update(changes)
    return spec


def test_a_graph_runs_its_nodes_by_name():
    g = nn.Graph(
        [
            ("a", nn.Linear(3, 3, rng=0), ["input"]),
            ("b", nn.ReLU(), ["a"]),
            ("sum", nn.Add(), ["input", "b"]),
            ("cat", nn.Concat(), ["sum", "a"]),
        ]
    )
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    a = g.a(x).data
    np.testing.assert_allclose(g(x).data, np.concatenate([x + np.maximum(a, 0), a], axis=1))
    assert g.output_shape((3,)) == (6,)
    assert [n for n, _ in g.named_parameters()] == ["a.weight", "a.bias"]


def test_the_skip_connection_sums_both_gradients():
    # y = x + relu(x W^T): dL/dx = dL/dy + (dL/dy * mask) W, the two paths accumulated
    lin = nn.Linear(3, 3, bias=False, dtype=np.float64, rng=0)
    g = nn.Graph(
        [("lin", lin, ["input"]), ("r", nn.ReLU(), ["lin"]), ("add", nn.Add(), ["input", "r"])]
    )
    x = minigrad.Tensor(np.array([[0.5, -1.0, 2.0]]), requires_grad=True)
    upstream = np.array([[1.0, 2.0, 3.0]])
    g(x).backward(upstream)
    mask = (x.data @ lin.weight.data.T) > 0
    np.testing.assert_allclose(x.grad, upstream + (upstream * mask) @ lin.weight.data)
    assert minigrad.gradcheck(lambda t: g(t), [x])


@pytest.mark.parametrize(
    ("nodes", "message"),
    [
        ([("a", nn.ReLU(), ["b"])], "layer 'a' reads 'b', which is not an earlier layer"),
        ([("a", nn.ReLU(), ["input"]), ("a", nn.ReLU(), ["a"])], "two layers are named 'a'"),
        ([("forward", nn.ReLU(), ["input"])], "the layer name 'forward' is reserved"),
        ([("in put", nn.ReLU(), ["input"])], "a layer name must be 1 to 100 letters, digits and _"),
        ([], "nodes must be a non-empty list"),
    ],
)
def test_bad_graphs_are_clear_errors(nodes, message):
    with pytest.raises(ArgumentError, match=message):
        nn.Graph(nodes)


def test_merges_refuse_shapes_that_do_not_fit():
    with pytest.raises(
        ShapeError, match=r"Add expects inputs of one shape \(it does not broadcast\)"
    ):
        nn.Add()(np.ones((2, 3)), np.ones((2, 1)))
    with pytest.raises(ShapeError, match="Concat expects inputs that agree on every axis but"):
        nn.Concat().output_shape((2, 4, 4), (2, 3, 3))
    with pytest.raises(ArgumentError, match="Add joins two or more inputs, got 1"):
        nn.Add()(np.ones(2))


def test_a_spec_with_blocks_builds_a_graph_with_pytorch_names():
    model = nn.from_spec(residual_spec())
    assert isinstance(model, nn.Graph)
    assert "stage.1.conv.weight" in model.state_dict()
    assert "stage.0.bn.running_var" in model.state_dict()
    assert model.output_shape((1, 6, 6)) == (3,)
    # the normal form is plain data and builds the same model again
    again = nn.from_spec(copy.deepcopy(model.spec))
    assert again.spec == model.spec and repr(again) == repr(model)
    for (ka, a), (kb, b) in zip(
        model.state_dict().items(), again.state_dict().items(), strict=True
    ):
        assert ka == kb
        np.testing.assert_array_equal(a, b)
    assert model(np.ones((2, 1, 6, 6), np.float32)).shape == (2, 3)


def test_each_repeat_infers_its_own_sizes():
    spec = residual_spec()
    spec["blocks"]["res"]["layers"] = [
        {"name": "conv", "type": "Conv2d", "out_channels": 4, "kernel_size": 1},
        {"name": "relu", "type": "ReLU"},
    ]
    model = nn.from_spec(spec)
    assert model.stage[0].conv.in_channels == 2 and model.stage[1].conv.in_channels == 4
    assert "in_channels" not in model.spec["blocks"]["res"]["layers"][0]


def test_concat_in_a_spec():
    spec = {
        "name": "inception-ish",
        "input_shape": [1, 5, 5],
        "layers": [
            {"name": "a", "type": "Conv2d", "out_channels": 2, "kernel_size": 1},
            {
                "name": "b",
                "type": "Conv2d",
                "out_channels": 3,
                "kernel_size": 3,
                "padding": 1,
                "inputs": ["input"],
            },
            {"name": "cat", "type": "Concat", "inputs": ["a", "b"]},
            {"type": "Flatten"},
            {"type": "Linear", "out_features": 2},
        ],
    }
    model = nn.from_spec(spec)
    assert model.output_shape((1, 5, 5)) == (2,)
    assert (
        model.spec["layers"][3]["inputs"] == ["cat"]
        and model.spec["layers"][4]["in_features"] == 125
    )


def with_entry(index, **entry):
    spec = residual_spec()
    spec["layers"][index] = entry
    return spec


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (with_entry(1, name="x", type="Add"), r"layer 1 \(Add\): joins two or more inputs, got 1"),
        (
            with_entry(1, name="x", type="ReLU", inputs=["stem", "input"]),
            r"layer 1 \(ReLU\): takes one input, got 2",
        ),
        (
            with_entry(1, name="x", type="ReLU", inputs=["fc"]),
            r"layer 1 \(ReLU\): input 'fc' is not an earlier layer \(known: input, stem\)",
        ),
        (
            with_entry(1, name="stem", type="ReLU"),
            r"layer 1 \(ReLU\): the name 'stem' is already taken",
        ),
        (
            with_entry(1, name="s", type="Block", block="nope"),
            r"layer 1 \(Block\): no block named 'nope' \(blocks: res\)",
        ),
        (
            with_entry(1, name="s", type="Block", block="res", repeat=0),
            r"layer 1 \(Block\): argument 'repeat' must be >= 1",
        ),
        (
            with_entry(1, name="s", type="ReLU"),
            "block 'res' is defined but no layer repeats it",
        ),
        (residual_spec(blocks={"res": {"layer": []}}), "block 'res' must be a table with one key"),
        (
            with_entry(1, name="s", type="Add", inputs=["input", "stem"]),
            r"layer 1 \(Add\): Add expects inputs of one shape",
        ),
    ],
)
def test_bad_graph_specs_are_clear_errors(spec, message):
    with pytest.raises(SpecError, match=message):
        nn.validate_spec(spec)


def test_a_block_cannot_repeat_a_block():
    spec = residual_spec()
    spec["blocks"]["res"]["layers"].append({"name": "again", "type": "Block", "block": "res"})
    with pytest.raises(
        SpecError, match=r"block 'res' layer 4 \(Block\): a block cannot repeat a block"
    ):
        nn.validate_spec(spec)


def test_a_shape_error_inside_a_block_names_the_block():
    spec = residual_spec()
    spec["blocks"]["res"]["layers"][0]["out_channels"] = 3  # bn then add a 3- and a 2-channel map
    with pytest.raises(
        SpecError, match=r"block 'res' layer 2 \(Add\): Add expects inputs of one shape"
    ):
        nn.validate_spec(spec)


def test_resnet_mini_gradients_match_finite_differences():
    model = nn.from_spec(MODELS / "resnet_mini.toml", seed=0, dtype=np.float64)
    x = minigrad.Tensor(np.random.default_rng(0).random((4, 1, 8, 8)), requires_grad=True)
    assert minigrad.gradcheck(lambda t: model(t), [x], fast=True)


def test_chain_specs_still_build_a_sequential():
    model = nn.from_spec(MODELS / "lenet5.toml")
    assert type(model) is nn.Sequential and "inputs" not in model.spec["layers"][0]
