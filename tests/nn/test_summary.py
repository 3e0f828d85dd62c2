"""summary(): the table of layers, output shapes and parameter counts."""

from pathlib import Path

import numpy as np
import pytest

from minigrad import nn
from minigrad.errors import ShapeError

MODELS = Path(__file__).resolve().parents[2] / "models"


def test_summary_of_lenet5(capsys):
    model = nn.from_spec(MODELS / "lenet5.toml")
    result = nn.summary(model, (1, 28, 28))
    printed = capsys.readouterr().out
    assert printed.strip() == result.text
    assert result.total_params == 61_706 == model.num_parameters()
    assert result.trainable_params == 61_706
    assert result.output_shape == (10,)
    assert [row[2] for row in result.rows][:3] == [(6, 28, 28), (6, 28, 28), (6, 14, 14)]
    assert "(N, 16, 5, 5)" in printed and "48,120" in printed and "total params: 61,706" in printed
    assert repr(result) == "<Summary: 12 layers, 61,706 parameters>"


def test_summary_without_printing(capsys):
    result = nn.summary(nn.Sequential(nn.Flatten()), (2, 3), print_fn=None)
    assert capsys.readouterr().out == ""
    assert result.output_shape == (6,)


def test_summary_of_a_custom_module():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 3, rng=0)
            self.b = nn.Linear(3, 2, rng=0)

        def forward(self, x):
            return self.b(self.a(x))

        def output_shape(self, input_shape):
            return self.b.output_shape(self.a.output_shape(input_shape))

    result = nn.summary(Net(), (4,), print_fn=None)
    assert [r[:2] for r in result.rows] == [("a", "Linear"), ("b", "Linear")]
    assert result.output_shape == (2,) and result.total_params == 15 + 8


def test_summary_shape_error_names_the_layer():
    with pytest.raises(ShapeError, match=r"layer 1 \(Linear\)"):
        nn.summary(nn.Sequential(nn.Flatten(), nn.Linear(3, 2)), (2, 2), print_fn=None)


def test_shape_inference_runs_no_data():
    model = nn.from_spec(MODELS / "seed_cnn.toml", input_shape=(1, 28, 28))
    assert model.output_shape((1, 28, 28)) == (10,)
    assert model(np.zeros((1, 1, 28, 28), dtype=np.float32)).shape == (1, 10)
