"""One mistake, one error: each argument mistake through every way in asserts the same class
and the same key words (the functional op, the layer, a model spec, the optimiser or loader,
and the command line)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad import arguments, nn
from minigrad.cli import main
from minigrad.data import DataLoader
from minigrad.errors import ArgumentError, ArgumentRangeError, ShapeError, SpecError
from minigrad.optim import SGD, Adam

X = np.zeros((1, 1, 5, 5))
W = np.zeros((1, 1, 3, 3))


def spec(**conv: Any) -> dict[str, Any]:
    layer = {"type": "Conv2d", "out_channels": 1, "kernel_size": 3, **conv}
    return {"name": "t", "input_shape": [1, 5, 5], "layers": [layer, {"type": "Flatten"}]}


def params() -> list[minigrad.Tensor]:
    return [minigrad.Tensor(np.zeros(2), requires_grad=True)]


MinigradErrorOrSpec = (ArgumentError, SpecError)

# (mistake, entry point, call, class, key words)
TABLE: list[tuple[str, str, Callable[[], Any], type[Exception], tuple[str, ...]]] = [
    *[
        (mistake, entry, call, cls, words)
        for mistake, cls, words, value in [
            ("stride 0", ArgumentRangeError, ("stride", "must be >= 1", "got 0 (int)"), 0),
            ("float stride", ArgumentError, ("stride", "must be an int", "got 1.5 (float)"), 1.5),
            ("bool stride", ArgumentError, ("stride", "must be an int", "got True (bool)"), True),
        ]
        for entry, call in [
            ("conv2d", lambda v=value: minigrad.conv2d(X, W, stride=v)),
            ("max_pool2d", lambda v=value: minigrad.max_pool2d(X, 2, stride=v)),
            ("nn.Conv2d", lambda v=value: nn.Conv2d(1, 1, 3, stride=v)),
            ("nn.MaxPool2d", lambda v=value: nn.MaxPool2d(2, stride=v)),
            ("spec", lambda v=value: nn.from_spec(spec(stride=v))),
        ]
    ],
    *[
        (
            "size 0",
            entry,
            call,
            ArgumentRangeError,
            ("must be", "positive int", "got 0 (int)"),
        )
        for entry, call in [
            ("nn.Linear", lambda: nn.Linear(0, 2)),
            ("nn.Conv2d", lambda: nn.Conv2d(1, 0, 3)),
            ("DataLoader", lambda: DataLoader(np.zeros((2, 1)), np.zeros(2), batch_size=0)),
            ("spec", lambda: nn.from_spec(spec(out_channels=0))),
        ]
    ],
    *[
        ("negative rate", entry, call, ArgumentRangeError, ("lr must be a number >= 0", "got -1"))
        for entry, call in [
            ("SGD", lambda: SGD(params(), lr=-1)),
            ("Adam", lambda: Adam(params(), lr=-1.0)),
        ]
    ],
    (
        "fraction 1",
        "Adam",
        lambda: Adam(params(), betas=(0.9, 1.0)),
        ArgumentRangeError,
        ("betas must be in [0, 1)", "got 1.0 (float)"),
    ),
    (
        "float size",
        "nn.Linear",
        lambda: nn.Linear(2.0, 3),
        ArgumentError,
        ("in_features must be an int", "got 2.0 (float)"),
    ),
    (
        "float size",
        "spec",
        lambda: nn.from_spec(spec(out_channels=2.0)),
        ArgumentError,
        ("out_channels' must be an int", "got 2.0 (float)"),
    ),
    (
        "float axis",
        "nn.Flatten",
        lambda: nn.Flatten(1.0),
        ArgumentError,
        ("start_axis must be an int", "got 1.0 (float)"),
    ),
    (
        "bad choice",
        "cross_entropy",
        lambda: minigrad.cross_entropy(np.zeros((1, 2)), np.zeros(1, int), reduction="avg"),
        ArgumentError,
        ("reduction must be one of", "got 'avg' (str)"),
    ),
    (
        "bad choice",
        "to_dot",
        lambda: minigrad.viz.to_dot(minigrad.Tensor([1.0], requires_grad=True) * 2, view="up"),
        ArgumentError,
        ("view must be one of", "got 'up' (str)"),
    ),
    (
        "bad dtype",
        "nn.Linear",
        lambda: nn.Linear(2, 2, dtype=np.int32),
        ArgumentError,
        ("dtype must be a float dtype (float32 or float64)",),
    ),
]


@pytest.mark.parametrize(
    ("mistake", "entry", "call", "cls", "words"),
    TABLE,
    ids=[f"{row[0]}: {row[1]}" for row in TABLE],
)
def test_one_mistake_is_one_error_everywhere(mistake, entry, call, cls, words) -> None:
    with pytest.raises(MinigradErrorOrSpec) as info:
        call()
    error = info.value
    if entry == "spec":  # a SpecError naming the file and layer, caused by the same error
        assert isinstance(error, SpecError) and "layer 0 (Conv2d)" in str(error)
        error = error.__cause__
    assert type(error) is cls, f"{mistake} via {entry}: {type(error).__name__}"
    for word in words:
        assert word in str(error), f"{mistake} via {entry}: {word!r} not in {error}"


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--batch-size", "0"], ("must be >= 1 (a positive integer)", "got 0 (int)")),
        (["--epochs", "0"], ("must be >= 1 (a positive integer)", "got 0 (int)")),
        (["--epochs", "1.5"], ("must be an integer", "got '1.5' (str)")),
        (["--val-fraction", "1"], ("must be in [0, 1)", "got 1.0 (float)")),
    ],
)
def test_the_command_line_words_the_same_mistakes_alike(argv, words, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["train", "--model", "models/seed_cnn.toml", *argv])
    assert info.value.code == 2
    err = capsys.readouterr().err
    for word in words:
        assert word in err


def test_the_command_line_reports_a_bad_spec_with_the_spec_message(tmp_path, capsys) -> None:
    path = Path(tmp_path) / "bad.toml"
    path.write_text(
        'name = "t"\ninput_shape = [1, 5, 5]\n[[layers]]\ntype = "Conv2d"\nout_channels = 1\n'
        "kernel_size = 3\nstride = 0\n"
    )
    assert main(["summary", str(path)]) == 1
    assert (
        "layer 0 (Conv2d): argument 'stride' must be >= 1, got 0 (int)" in capsys.readouterr().err
    )


def test_names_and_tolerances() -> None:
    with pytest.raises(
        SpecError,
        match=r"<spec>: 'name' must be a non-empty string of at most 200",
    ):
        nn.from_spec({**spec(), "name": ""})
    assert arguments.text("f", "name", "mlp", 200) == "mlp"
    with pytest.raises(ArgumentRangeError, match=r"gradcheck: eps must be a number > 0, got 0"):
        minigrad.gradcheck(lambda t: t * 2, [minigrad.Tensor([1.0], requires_grad=True)], eps=0)
    assert arguments.float_dtype("f", "dtype", "float32") == np.float32
    with pytest.raises(
        ArgumentError, match=r"f: dtype must be a float dtype \(float32 or float64\), got 'int8'"
    ):
        arguments.float_dtype("f", "dtype", "int8")
    assert arguments.boolean("f", "bias", np.bool_(True)) is True
    with pytest.raises(ArgumentError, match=r"f: bias must be a bool, got 1 \(int\)"):
        arguments.boolean("f", "bias", 1)


def test_range_errors_keep_the_classes_callers_catch() -> None:
    assert issubclass(ArgumentRangeError, ArgumentError)
    assert issubclass(ArgumentRangeError, ShapeError)
    assert issubclass(ArgumentRangeError, ValueError) and issubclass(ArgumentError, TypeError)


@given(st.sampled_from([int, np.int8, np.int16, np.int32, np.int64, np.uint8]), st.integers(1, 3))
def test_numpy_integers_are_ints_everywhere(kind, value) -> None:
    v = kind(value)
    assert nn.Linear(v, 2).in_features == value
    assert nn.Flatten(v).start_axis == value
    assert nn.Conv2d(1, v, v, stride=v).kernel_size == (value, value)
    assert minigrad.conv2d(X, W, stride=v).shape[-1] == (5 - 3) // value + 1
    assert DataLoader(np.zeros((4, 1)), np.zeros(4), batch_size=v).batch_size == value
    assert arguments.integer("f", "n", v) == value and type(arguments.integer("f", "n", v)) is int


@given(st.sampled_from([True, False, np.bool_(True), 1.0, "1", None, [1]]))
def test_bools_and_non_integers_are_never_ints(value) -> None:
    with pytest.raises(ArgumentError, match=r"n must be an int, got .* \("):
        arguments.integer("f", "n", value)


@given(st.floats(allow_nan=True))
def test_fractions_and_rates(value) -> None:
    inside = 0 <= value < 1
    if inside:
        assert arguments.fraction("f", "p", value) == value
    else:
        with pytest.raises(ArgumentRangeError, match=r"f: p must be in \[0, 1\)"):
            arguments.fraction("f", "p", value)
    if value >= 0:
        assert arguments.non_negative("f", "lr", value) == value
    else:
        with pytest.raises(ArgumentRangeError, match="f: lr must be a number >= 0"):
            arguments.non_negative("f", "lr", value)


# ----------------------------------------------------------------------------- values from files


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (10**5000, "<an integer of 5,001 digits>"),
        (-(10**4999), "<an integer of 5,000 digits>"),
        ("x" * 1000, "'" + "x" * 37 + "..." + "x" * 38 + "'"),
        (list(range(1000)), "[0, 1, 2, 3, 4, 5, 6, 7, ...]"),
        ([[[[[1]]]]], "[[[[...]]]]"),
        (3, "3"),
        ("lr", "'lr'"),
    ],
    ids=["5001 digits", "negative 5000 digits", "long string", "long list", "deep", "int", "str"],
)
def test_a_message_describes_any_value_briefly(value, shown) -> None:
    assert arguments.show(value) == shown
    with pytest.raises(ArgumentError) as info:
        arguments.integer("f", "n", [value] if isinstance(value, int) else value)
    assert len(str(info.value)) < 200


def test_a_nesting_deeper_than_python_can_repr_is_described() -> None:
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(
        ArgumentError, match=r"f: n must be an int, got \[\[\[\[\.\.\.\]\]\]\] \(list\)"
    ):
        arguments.integer("f", "n", deep)


def test_maxima_finite_rates_and_printable_text() -> None:
    assert arguments.integer("f", "n", 5, 1, maximum=5) == 5
    with pytest.raises(ArgumentRangeError, match="f: n must be an int from 1 to 5, got 6"):
        arguments.integer("f", "n", 6, 1, maximum=5)
    with pytest.raises(ArgumentRangeError, match="must be an integer <= 9, got 10"):
        arguments.positive_int("f", "n", 10, maximum=9, text=True)
    with pytest.raises(ArgumentRangeError, match=r"f: k must be <= 9, got \[3, 10\]"):
        arguments.int_or_pair("f", "k", [3, 10], 1, maximum=9)
    assert arguments.non_negative("f", "lr", float("inf")) == float("inf")
    with pytest.raises(ArgumentRangeError, match="f: lr must be a finite number, got inf"):
        arguments.non_negative("f", "lr", float("inf"), finite=True)
    with pytest.raises(ArgumentRangeError, match="f: lr must be a finite number"):
        arguments.non_negative("f", "lr", 10**400)
    assert arguments.text("f", "name", "seed_cnn", 10) == "seed_cnn"
    assert arguments.text("f", "d", "two\nlines", 10, lines=True) == "two\nlines"
    for bad in ("\x1b[2J", "two\nlines", "x" * 11):
        with pytest.raises(ArgumentRangeError, match="at most 10 printable characters"):
            arguments.text("f", "name", bad, 10)
    with pytest.raises(ArgumentError, match="got 3 \\(int\\)"):
        arguments.text("f", "name", 3, 10)
