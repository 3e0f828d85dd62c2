"""Layers: each calls its op, infers its output shape, and initialises from a seed."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad import nn
from minigrad.errors import ShapeError


def test_linear_is_x_w_transpose_plus_b():
    layer = nn.Linear(4, 3, rng=0)
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(layer(x).data, x @ layer.weight.data.T + layer.bias.data, rtol=1e-6)
    assert layer.weight.shape == (3, 4)  # (out, in), as PyTorch


def test_conv2d_calls_the_conv2d_op():
    conv = nn.Conv2d(2, 4, 3, stride=2, padding=1, rng=0)
    x = np.random.default_rng(1).standard_normal((2, 2, 7, 7)).astype(np.float32)
    expected = minigrad.conv2d(x, conv.weight.data, conv.bias.data, 2, 1).data
    out = conv(x)
    np.testing.assert_array_equal(out.data, expected)
    assert out.grad_fn.name == "conv2d"


def test_activation_and_shape_layers_call_their_ops():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4)).astype(np.float32)
    np.testing.assert_array_equal(nn.ReLU()(x).data, np.maximum(x, 0))
    np.testing.assert_array_equal(nn.Flatten()(x).data, x.reshape(2, -1))
    np.testing.assert_array_equal(nn.MaxPool2d(2)(x).data, minigrad.max_pool2d(x, 2).data)
    z = x.reshape(2, -1)
    np.testing.assert_allclose(nn.LogSoftmax()(z).data, minigrad.log_softmax(z).data)
    np.testing.assert_allclose(nn.Softmax()(z).data.sum(axis=1), 1, rtol=1e-6)


@given(
    c=st.integers(1, 3),
    f=st.integers(1, 4),
    h=st.integers(3, 9),
    w=st.integers(3, 9),
    k=st.integers(1, 3),
    s=st.integers(1, 2),
    p=st.integers(0, 1),
)
def test_output_shape_matches_the_forward_pass(c, f, h, w, k, s, p):
    model = nn.Sequential(
        nn.Conv2d(c, f, k, stride=s, padding=p, rng=0), nn.ReLU(), nn.MaxPool2d(1), nn.Flatten()
    )
    shape = model.output_shape((c, h, w))
    model.append(nn.Linear(shape[0], 2, rng=0))
    out = model(np.zeros((2, c, h, w), dtype=np.float32))
    assert out.shape == (2, *model.output_shape((c, h, w)))


def test_output_shape_errors_name_the_layer():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(10, 2))
    with pytest.raises(ShapeError, match=r"layer 2 \(Linear\): Linear expects 10 features"):
        model.output_shape((1, 8, 8))
    with pytest.raises(ShapeError, match="3 input channels"):
        nn.Conv2d(3, 2, 3).output_shape((1, 8, 8))
    with pytest.raises(ShapeError, match="Conv2d: kernel 5x5 is larger than the padded input 3x3"):
        nn.Conv2d(1, 2, 5).output_shape((1, 3, 3))


def test_parameters_default_to_float32_and_take_a_dtype():
    assert nn.Linear(2, 2).weight.dtype == np.float32
    assert nn.Conv2d(1, 1, 2).bias.dtype == np.float32
    layer = nn.Conv2d(1, 1, 2, dtype=np.float64)
    assert layer.weight.dtype == np.float64 and layer.bias.dtype == np.float64
    with pytest.raises(TypeError, match="float dtype"):
        nn.Linear(2, 2, dtype=np.int32)


def test_one_seed_gives_one_model_and_the_same_values_in_every_dtype():
    a, b = nn.Conv2d(1, 8, 3, rng=7), nn.Conv2d(1, 8, 3, rng=7)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    c = nn.Conv2d(1, 8, 3, rng=7, dtype=np.float64)
    np.testing.assert_array_equal(a.weight.data, c.weight.data.astype(np.float32))
    assert not np.array_equal(a.weight.data, nn.Conv2d(1, 8, 3, rng=8).weight.data)


def test_he_and_glorot_scales():
    he = nn.Linear(1000, 200, init="he", rng=0).weight.data
    assert abs(he.std() - np.sqrt(2 / 1000)) < 0.002
    glorot = nn.Linear(300, 100, init="glorot", rng=0).weight.data
    limit = np.sqrt(6 / 400)
    assert np.abs(glorot).max() <= limit and np.abs(glorot).max() > 0.95 * limit
    conv = nn.Conv2d(4, 16, 3, rng=0).weight.data  # He over fan_in = 4 * 3 * 3
    assert abs(conv.std() - np.sqrt(2 / 36)) < 0.02
    assert np.all(nn.Linear(3, 2).bias.data == 0)
    with pytest.raises(ValueError, match="init must be one of"):
        nn.Linear(2, 2, init="zeros")


def test_bias_false():
    layer = nn.Conv2d(1, 2, 3, bias=False, rng=0)
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    assert layer(np.ones((1, 1, 4, 4), dtype=np.float32)).shape == (1, 2, 2, 2)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: nn.Linear(0, 2), "in_features must be a positive int"),
        (lambda: nn.Conv2d(1, 2, 0), "kernel_size must be >= 1"),
        (lambda: nn.Conv2d(1, 2, "3"), "kernel_size must be an int or a pair"),
        (lambda: nn.MaxPool2d(2, stride=0), "stride must be >= 1"),
        (lambda: nn.Flatten(0), "start_axis must be an int >= 1"),
    ],
)
def test_bad_arguments_are_clear_errors(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_gradients_of_a_small_model_match_finite_differences():
    model = nn.Sequential(
        nn.Conv2d(1, 2, 2, rng=0, dtype=np.float64),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(8, 3, rng=1, dtype=np.float64),
    )
    x = np.random.default_rng(2).standard_normal((2, 1, 3, 3))
    params = model.parameters()
    inputs = [minigrad.Tensor(p.data.copy(), requires_grad=True) for p in params]

    def fn(*ts):
        conv_w, conv_b, lin_w, lin_b = ts
        z = minigrad.conv2d(x, conv_w, conv_b).relu().flatten()
        return minigrad.cross_entropy(minigrad.linear(z, lin_w, lin_b), np.array([0, 2]))

    assert minigrad.gradcheck(fn, inputs)
    # The module computes the same loss and the same gradients as the plain function.
    out = minigrad.cross_entropy(model(x), np.array([0, 2]))
    out.backward()
    ref = fn(*inputs)
    ref.backward()
    assert out.item() == pytest.approx(ref.item())
    for p, t in zip(params, inputs, strict=True):
        np.testing.assert_allclose(p.grad, t.grad, rtol=1e-10)
