"""Declarative specs: the models in models/, inference of sizes, and clear errors."""

from pathlib import Path

import numpy as np
import pytest

import minigrad
from minigrad import nn, optim
from minigrad.errors import SpecError

MODELS = Path(__file__).resolve().parents[2] / "models"


def test_seed_cnn_is_exactly_the_design_document_cnn():
    model = nn.from_spec(MODELS / "seed_cnn.toml")
    assert [type(m).__name__ for m in model] == ["Conv2d", "ReLU", "Flatten", "Linear"]
    conv, linear = model[0], model[3]
    assert (conv.in_channels, conv.out_channels, conv.kernel_size) == (1, 8, (3, 3))
    assert (conv.stride, conv.padding) == ((1, 1), (0, 0))
    assert (linear.in_features, linear.out_features) == (8 * 6 * 6, 10)
    assert model.output_shape((1, 8, 8)) == (10,)
    assert model.spec["input_shape"] == [1, 8, 8]


def test_input_shape_override_infers_the_linear_size():
    model = nn.from_spec(MODELS / "seed_cnn.toml", input_shape=(1, 28, 28))
    assert model[3].in_features == 8 * 26 * 26
    assert model.spec["input_shape"] == [1, 28, 28]


@pytest.mark.parametrize(
    "name, x_shape",
    [
        ("seed_cnn.toml", (4, 1, 8, 8)),
        ("lenet5.toml", (4, 1, 28, 28)),
        ("mlp.toml", (4, 1, 8, 8)),
        ("mnist_bn.toml", (4, 1, 28, 28)),
        ("resnet_mini.toml", (4, 1, 8, 8)),
    ],
)
def test_every_model_trains_for_a_few_steps(name, x_shape):
    model = nn.from_spec(MODELS / name, seed=0)
    rng = np.random.default_rng(0)
    x = rng.random(x_shape, dtype=np.float32)
    y = np.array([0, 3, 5, 9])
    opt = optim.SGD(model.parameters(), lr=0.05)
    losses = []
    for _ in range(8):
        loss = minigrad.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_one_seed_gives_one_model():
    a, b = (
        nn.from_spec(MODELS / "lenet5.toml", seed=3),
        nn.from_spec(MODELS / "lenet5.toml", seed=3),
    )
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(pa.data, pb.data)
    c = nn.from_spec(MODELS / "lenet5.toml", seed=4)
    assert not np.array_equal(a[0].weight.data, c[0].weight.data)


def test_spec_round_trips_through_its_normal_form():
    model = nn.from_spec(MODELS / "lenet5.toml", seed=1)
    again = nn.from_spec(model.spec, seed=1)
    assert again.spec == model.spec
    assert repr(again) == repr(model)


def test_dtype_option():
    model = nn.from_spec(MODELS / "mlp.toml", dtype=np.float64)
    assert all(p.dtype == np.float64 for p in model.parameters())


def base(**changes):
    spec = {
        "name": "t",
        "input_shape": [1, 8, 8],
        "layers": [
            {"type": "Conv2d", "out_channels": 2, "kernel_size": 3},
            {"type": "ReLU"},
            {"type": "Flatten"},
            {"type": "Linear", "out_features": 10},
        ],
    }
    spec.update(changes)
    return spec


def with_layer(index, **entry):
    spec = base()
    spec["layers"][index] = entry
    return spec


@pytest.mark.parametrize(
    "spec, message",
    [
        (with_layer(1, type="LSTM"), r"layer 1 \(LSTM\): unknown layer type 'LSTM'"),
        (with_layer(1, type="__import__('os').system('true')"), "unknown layer type"),
        (
            with_layer(0, type="Conv2d", kernel_size=3),
            r"layer 0 \(Conv2d\): missing argument 'out_channels'",
        ),
        (
            with_layer(3, type="Linear", out_features=10, units=3),
            r"layer 3 \(Linear\): unknown argument 'units'",
        ),
        (
            with_layer(0, type="Conv2d", out_channels=2, kernel_size="3"),
            r"layer 0 \(Conv2d\): argument 'kernel_size' must be an integer",
        ),
        (with_layer(0, type="Conv2d", out_channels=2, kernel_size=True), "must be an integer"),
        (with_layer(0, type="Conv2d", out_channels=0, kernel_size=3), "must be >= 1"),
        (
            with_layer(0, type="Conv2d", out_channels=2, kernel_size=9),
            r"layer 0 \(Conv2d\): Conv2d: kernel 9x9 is larger than the padded input 8x8",
        ),
        (
            with_layer(3, type="Linear", out_features=10, in_features=99),
            r"layer 3 \(Linear\): in_features = 99 does not fit the input of shape \(72,\)",
        ),
        (with_layer(2, type="ReLU"), r"output has shape \(2, 6, 10\).*add a Flatten"),
        (base(input_shape=[1, 0, 8]), "'input_shape' must be a list of positive integers"),
        (base(layers=[]), "'layers' must be a non-empty list"),
        (base(optimizer="sgd"), "unknown top-level key 'optimizer'"),
        (base(dtype="int8"), "'dtype' must be one of"),
        ({"name": "t", "layers": []}, "missing top-level key 'input_shape'"),
    ],
)
def test_bad_specs_are_clear_errors(spec, message):
    with pytest.raises(SpecError, match=message):
        nn.from_spec(spec)


def test_errors_name_the_file_the_layer_and_the_problem(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(
        'name = "bad"\ninput_shape = [1, 8, 8]\n\n[[layers]]\ntype = "Flatten"\n\n'
        '[[layers]]\ntype = "Linear"\nout_features = 10\nactivation = "relu"\n'
    )
    with pytest.raises(SpecError) as info:
        nn.from_spec(path)
    assert str(info.value).startswith(f"{path}: layer 1 (Linear): unknown argument 'activation'")


def test_unreadable_specs(tmp_path):
    with pytest.raises(SpecError, match="no such model spec file"):
        nn.from_spec(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("name = \n")
    with pytest.raises(SpecError, match=r"broken\.toml: not valid TOML"):
        nn.from_spec(broken)


def test_spec_error_is_a_value_error():
    assert issubclass(SpecError, ValueError) and issubclass(SpecError, minigrad.MinigradError)
