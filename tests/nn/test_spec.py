"""Declarative specs: the models in models/, inference of sizes, and clear errors."""

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad import nn, optim
from minigrad.errors import SpecError
from tests.memory import peak_memory

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
        ("small_cifar.toml", (4, 3, 32, 32)),
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


def test_every_model_in_models_is_tested_above():
    assert {p.name for p in MODELS.glob("*.toml")} == {
        "seed_cnn.toml",
        "lenet5.toml",
        "mlp.toml",
        "small_cifar.toml",
        "mnist_bn.toml",
        "resnet_mini.toml",
    }


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


# ---------------------------------------------------------------------------- specs by name


def test_the_bundled_specs_are_the_files_in_models():
    """One source: the names are exactly models/*.toml, and each reads the very file."""
    bundled = nn.bundled_specs()
    assert sorted(bundled) == sorted(p.stem for p in MODELS.glob("*.toml"))
    for name, resource in bundled.items():
        assert resource.read_bytes() == (MODELS / f"{name}.toml").read_bytes()


@pytest.mark.parametrize("name", ["seed_cnn", "lenet5", "mlp"])
def test_a_bare_name_builds_the_bundled_spec(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # far from models/
    by_name = nn.from_spec(name, seed=2)
    by_path = nn.from_spec(MODELS / f"{name}.toml", seed=2)
    assert by_name.spec == by_path.spec and by_name.spec["name"] == name
    theirs = by_path.state_dict()
    for key, value in by_name.state_dict().items():
        np.testing.assert_array_equal(value, theirs[key], err_msg=key)
    assert nn.load_spec(name) == nn.load_spec(MODELS / f"{name}.toml")


def test_an_existing_file_wins_over_a_bundled_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlp").write_text(
        'name = "mine"\ninput_shape = [1, 2, 2]\n[[layers]]\ntype = "Flatten"\n'
        '[[layers]]\ntype = "Linear"\nout_features = 3\n'
    )
    assert nn.from_spec("mlp").spec["name"] == "mine"
    assert nn.from_spec("seed_cnn").spec["name"] == "seed_cnn"


def test_an_unknown_name_lists_the_bundled_specs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    known = ", ".join(sorted(nn.bundled_specs()))
    assert known.startswith("lenet5, mlp, ")
    with pytest.raises(
        SpecError,
        match=r"resnet9: no such model spec file, and minigrad ships no spec of that name "
        rf"\(bundled: {known}\)",
    ):
        nn.from_spec("resnet9")
    # A path (a folder or a suffix) is never looked up among the bundled specs.
    for path in ("models/seed_cnn", "seed_cnn.toml"):
        with pytest.raises(SpecError, match=r"no such model spec file$"):
            nn.from_spec(path)


# ----------------------------------------------------------------------------- hostile values


def nested(levels, leaf=3):
    value = leaf
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    "spec, message",
    [
        (with_layer(3, type="Linear", out_features=nested(40)), r"layers\[3\]\.out_features"),
        (with_layer(3, type="Linear", out_features=nested(100_000)), "more than 32 levels deep"),
        (base(description=nested(5000)), r"description(\[0\])+ nests lists and tables"),
        (base(description=["a"]), r"'description' must be a non-empty string of at most 2000"),
        (with_layer(3, type="Linear", out_features=10**5000), "got <an integer of 5,001 digits>"),
        (with_layer(3, type="Linear", out_features=2**31), "must be an integer <= 2,147,483,647"),
        (with_layer(0, type="Conv2d", out_channels=2, kernel_size=[3, 10**40]), "must be <="),
        (base(input_shape=[1, 8, 2**40]), "each at most 2,147,483,647"),
        (base(input_shape=[1] * 33), "at most 32 of them"),
        (with_layer(3, type="Linear", out_features=10, bias=1), "'bias' must be true or false"),
        (with_layer(3, type="Linear", out_features=float("inf")), "must be an integer, got inf"),
        (with_layer(2, type="Flatten", start_axis=10**30), "must be an integer from 1 to 64"),
        (with_layer(3, type=nested(3, "Linear")), r"unknown layer type \[\[\['Linear'\]\]\]"),
        (with_layer(3, type="x" * 10_000), "unknown layer type 'xxxx.*\\.\\.\\..*'"),
        (base(name="\x1b[2J"), r"'name' must be a non-empty string of at most 200 printable"),
        (base(name="x" * 201), r"'name' must be a .* got 'xxx.*\.\.\..*' \(str\)"),
        (base(name=""), "'name' must be a non-empty string"),
        (base(dtype=["float32"]), r"'dtype' must be one of \('float32', 'float64'\), got \["),
        (
            base(
                input_shape=[3, 4096, 4096],
                layers=[{"type": "Flatten"}, {"type": "Linear", "out_features": 100}],
            ),
            r"layer 1 \(Linear\): the model would have more than 4,294,967,296 parameters",
        ),
    ],
    ids=[
        "40 deep",
        "100000 deep",
        "deep description",
        "description a list",
        "5000 digits",
        "2**31",
        "huge kernel",
        "huge input",
        "33 axes",
        "int bias",
        "inf size",
        "huge axis",
        "nested type",
        "10000-character type",
        "escape in the name",
        "long name",
        "empty name",
        "dtype a list",
        "too many parameters",
    ],
)
def test_every_spec_value_is_checked_for_type_range_and_depth(spec, message):
    with pytest.raises(SpecError, match=message) as info:
        nn.validate_spec(spec)
    assert len(str(info.value)) < 500  # the message describes the value without printing it


def test_a_spec_that_holds_itself_is_refused():
    spec = base()
    spec["layers"][3]["out_features"] = spec
    with pytest.raises(SpecError, match="more than 32 levels deep"):
        nn.from_spec(spec)


@pytest.mark.parametrize(
    "text, message",
    [
        (
            'name = "x"\nx = ' + "[" * 5000 + "]" * 5000,
            "not valid TOML .it nests arrays too deeply",
        ),
        ('name = "x"\nx = ' + "9" * 5000, "not valid TOML"),
        ('name = "x"\n' + "#" * (1 << 20), "a model spec must be at most 1,048,576 bytes"),
        ('name = "x"\ninput_shape = [1, 8, 8]\ndescription = ' + "[" * 40 + "]" * 40, ".*deep"),
        ('name = "x"\ninput_shape = [1, 8, nan]\nlayers = []', "'input_shape' must be a list"),
    ],
    ids=["deep arrays", "5000 digits", "2 MiB", "40 deep", "nan"],
)
def test_hostile_spec_files_are_spec_errors(tmp_path, text, message):
    path = tmp_path / "model.toml"
    path.write_text(text)
    with pytest.raises(SpecError, match=f"{re.escape(str(path))}: {message}"):
        nn.from_spec(path)


def test_checking_a_spec_allocates_no_weights():
    """Shapes are inferred per layer type: a 16-million-parameter layer costs nothing."""
    huge = base(
        input_shape=[1, 2048, 2048],
        layers=[{"type": "Flatten"}, {"type": "Linear", "out_features": 4}],
    )
    tables = []
    peak, error = peak_memory(
        lambda: tables.append(nn.summary(nn.validate_spec(huge), print_fn=None))
    )
    assert error is None and tables[0].total_params == 2048 * 2048 * 4 + 4
    assert peak < 1 << 20, f"{peak:,} bytes"


def test_the_summary_of_a_spec_is_the_summary_of_its_model():
    for name in ("seed_cnn.toml", "lenet5.toml", "mlp.toml"):
        spec = nn.load_spec(MODELS / name)
        model = nn.from_spec(spec)
        built = nn.summary(model, tuple(model.spec["input_shape"]), print_fn=None)
        assert nn.summary(spec, print_fn=None).text == built.text


@pytest.mark.parametrize(
    "name", ["../../x", "..", "a/b", "a\\b", ".hidden", "", "x" * 101, "a..b", "-rf", "a b", None]
)
def test_a_name_that_is_not_a_safe_file_name_is_never_a_folder(name):
    with pytest.raises(SpecError, match="cannot be used as a folder name"):
        nn.folder_name({"name": name})


@pytest.mark.parametrize("name", ["seed_cnn", "lenet-5", "v1.2", "MLP", "x" * 100])
def test_a_safe_name_is_its_own_folder(name):
    assert nn.folder_name({"name": name}) == name


# ----------------------------------------------------------------------------- shape inference

sizes = st.integers(1, 12)
pairs = st.integers(1, 4) | st.lists(st.integers(1, 4), min_size=2, max_size=2)
windows = ("Conv2d", "MaxPool2d", "AvgPool2d", "BatchNorm2d")


@st.composite
def layer_and_shape(draw):
    kind = draw(st.sampled_from(sorted(nn.LAYER_TYPES)))
    if kind == "Conv2d":
        entry = {"out_channels": draw(sizes), "kernel_size": draw(pairs)}
        for key, values in (
            ("stride", pairs),
            ("padding", st.integers(0, 3)),
            ("bias", st.booleans()),
        ):
            if draw(st.booleans()):
                entry[key] = draw(values)
    elif kind == "Linear":
        entry = {"out_features": draw(sizes), "bias": draw(st.booleans())}
    elif kind == "MaxPool2d":
        entry = {"kernel_size": draw(pairs)}
        if draw(st.booleans()):
            entry["stride"] = draw(pairs)
    elif kind == "Flatten":
        entry = {"start_axis": draw(st.integers(1, 4))}
    elif kind == "LogSoftmax":
        entry = {"axis": draw(st.integers(-3, 2))}
    elif kind == "AvgPool2d":
        kernel = draw(pairs)
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        entry = {
            "kernel_size": kernel,
            "padding": [draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))],
        }
        if draw(st.booleans()):
            entry["stride"] = draw(pairs)
    elif kind in ("BatchNorm1d", "BatchNorm2d"):
        entry = {"affine": draw(st.booleans()), "track_running_stats": draw(st.booleans())}
    elif kind == "Dropout":
        entry = {"p": draw(st.floats(0, 1))}
    elif kind == "LeakyReLU":
        entry = {"negative_slope": draw(st.floats(-1, 1))}
    else:
        entry = {}
    rank = st.just(3) if kind in windows and draw(st.integers(0, 9)) else st.integers(1, 4)
    shape = tuple(draw(st.lists(sizes, min_size=draw(rank), max_size=4)))
    return kind, entry, shape


@given(layer_and_shape())
def test_shape_inference_agrees_with_the_built_layer(case):
    """Each LAYER_TYPES entry infers what the layer itself says, without building it: the
    output shape (or the same ShapeError) and its parameters' names and shapes."""
    kind, args, shape = case
    lt = nn.LAYER_TYPES[kind]
    if lt.inferred is not None:
        name, size_of = lt.inferred
        args[name] = size_of(shape)
    layer = lt.cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in args.items()})
    try:
        expected = layer.output_shape(shape)
    except minigrad.ShapeError as exc:
        with pytest.raises(minigrad.ShapeError, match=re.escape(str(exc))):
            lt.output_shape(args, shape)
        return
    assert lt.output_shape(args, shape) == expected
    assert lt.params(args) == {k: v.shape for k, v in layer.state_dict().items()}
