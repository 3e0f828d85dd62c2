"""The course's layers: activations, AvgPool2d, BatchNorm1d/2d, Dropout; train and eval modes;
buffers in state_dict under PyTorch's names."""

import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.errors import ArgumentError, ShapeError


def x4(shape=(4, 3, 5, 5), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_activation_layers_call_their_ops():
    x = x4()
    np.testing.assert_array_equal(nn.Tanh()(x).data, minigrad.tanh(x).data)
    np.testing.assert_array_equal(nn.Sigmoid()(x).data, minigrad.sigmoid(x).data)
    np.testing.assert_array_equal(nn.LeakyReLU(0.2)(x).data, minigrad.leaky_relu(x, 0.2).data)
    assert nn.LeakyReLU().negative_slope == 0.01
    for layer in (nn.Tanh(), nn.Sigmoid(), nn.LeakyReLU(), nn.Dropout()):
        assert layer.output_shape((3, 5, 5)) == (3, 5, 5)


def test_avg_pool_layer_calls_its_op_and_infers_its_shape():
    pool = nn.AvgPool2d(3, stride=2, padding=1)
    out = pool(x4())
    np.testing.assert_array_equal(out.data, minigrad.avg_pool2d(x4(), 3, 2, 1).data)
    assert pool.output_shape((3, 5, 5)) == out.shape[1:]


def test_batch_norm_2d_trains_on_batch_statistics_and_evaluates_on_running_ones():
    bn = nn.BatchNorm2d(3)
    x = x4() * 3 + 1
    y = bn(x)
    np.testing.assert_allclose(y.data.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.data.std(axis=(0, 2, 3)), 1, atol=1e-3)
    np.testing.assert_allclose(bn.running_mean.data, 0.1 * x.mean(axis=(0, 2, 3)), rtol=1e-5)
    assert bn.num_batches_tracked.data == 1
    bn.eval()
    y_eval = bn(x)
    expected = (x - bn.running_mean.data.reshape(1, 3, 1, 1)) / np.sqrt(
        bn.running_var.data.reshape(1, 3, 1, 1) + 1e-5
    )
    np.testing.assert_allclose(y_eval.data, expected, rtol=1e-5)
    assert bn.num_batches_tracked.data == 1  # evaluation changes no buffer


def test_batch_norm_buffers_have_pytorch_names_and_order():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, bias=False, rng=0), nn.BatchNorm2d(2))
    assert list(model.state_dict()) == [
        "0.weight",
        "1.weight",
        "1.bias",
        "1.running_mean",
        "1.running_var",
        "1.num_batches_tracked",
    ]
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "1.weight", "1.bias"]
    assert model[1].num_batches_tracked.dtype == np.int64
    assert not any(b.requires_grad for b in model.buffers())


def test_buffers_load_in_place_and_round_trip():
    a, b = nn.BatchNorm1d(3), nn.BatchNorm1d(3)
    a(x4((6, 3)))
    running = b.running_mean
    b.load_state_dict(a.state_dict())
    assert b.running_mean is running
    for key, value in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[key], value)


def test_batch_norm_without_running_statistics_always_uses_the_batch():
    bn = nn.BatchNorm1d(2, track_running_stats=False, affine=False)
    assert bn.state_dict() == {}
    x = x4((5, 2))
    np.testing.assert_array_equal(bn.eval()(x).data, bn.train()(x).data)


def test_batch_norm_1d_takes_features_and_sequences():
    bn = nn.BatchNorm1d(4)
    assert bn(x4((3, 4))).shape == (3, 4)
    assert bn(x4((3, 4, 6))).shape == (3, 4, 6)
    assert bn.output_shape((4,)) == (4,)


def test_dropout_layer_is_seeded_and_off_in_evaluation():
    x = np.ones((4, 10), np.float32)
    a, b = nn.Dropout(0.5, rng=1), nn.Dropout(0.5, rng=1)
    np.testing.assert_array_equal(a(x).data, b(x).data)
    first, second = a(x).data, a(x).data
    assert not np.array_equal(first, second)  # the stream moves on
    a.eval()
    assert a(minigrad.Tensor(x)).data is not None
    np.testing.assert_array_equal(a(x).data, x)


def test_dropout_generator_state_resumes_the_stream():
    a = nn.Dropout(0.3, rng=7)
    a(np.ones(20))
    state = a.get_rng_state()
    expected = a(np.ones(20)).data
    b = nn.Dropout(0.3, rng=99)
    b.set_rng_state(state)
    np.testing.assert_array_equal(b(np.ones(20)).data, expected)


def test_train_and_eval_switch_every_layer():
    model = nn.Sequential(nn.Linear(3, 3, rng=0), nn.BatchNorm1d(3), nn.Dropout(0.5))
    assert all(m.training for m in model.modules())
    model.eval()
    assert not any(m.training for m in model.modules())
    assert model.train() is model and all(m.training for m in model.modules())


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: nn.BatchNorm2d(0), ArgumentError, "BatchNorm2d: num_features must be a positive"),
        (lambda: nn.BatchNorm2d(3, momentum=1.5), ArgumentError, r"momentum must be in \[0, 1\]"),
        (lambda: nn.BatchNorm1d(3, eps=0), ArgumentError, "BatchNorm1d: eps must be a number > 0"),
        (lambda: nn.Dropout(2), ArgumentError, r"Dropout: p must be in \[0, 1\], got 2"),
        (lambda: nn.Dropout(rng="x"), ArgumentError, "Dropout: rng must be a numpy Generator"),
        (lambda: nn.LeakyReLU("a"), ArgumentError, "LeakyReLU: negative_slope must be a finite"),
        (lambda: nn.AvgPool2d(2, padding=2), ArgumentError, "AvgPool2d: padding must be at most"),
    ],
)
def test_bad_arguments_are_clear_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_batch_norm_shape_errors_name_the_layer():
    with pytest.raises(
        ShapeError, match=r"BatchNorm2d expects an input of shape \(C, H, W\) with C = 3"
    ):
        nn.BatchNorm2d(3).output_shape((4, 5, 5))
    with pytest.raises(ShapeError, match=r"BatchNorm2d expects .* got \(3, 5\)"):
        nn.BatchNorm2d(3)(x4((2, 3, 5)))
    with pytest.raises(
        ShapeError, match=r"BatchNorm1d expects an input of shape \(C,\) or \(C, L\)"
    ):
        nn.BatchNorm1d(3).output_shape((3, 4, 4))


def test_batch_norm_layer_is_the_op_with_its_parameters():
    bn = nn.BatchNorm2d(2, dtype=np.float64)
    bn.weight.data[:] = [1.5, -0.5]
    bn.bias.data[:] = [0.1, 0.2]
    x = np.random.default_rng(3).standard_normal((3, 2, 2, 2))
    upstream = np.random.default_rng(4).standard_normal(x.shape)
    t = minigrad.Tensor(x, requires_grad=True)
    bn(t).backward(upstream)
    ref = [minigrad.Tensor(a, requires_grad=True) for a in (x, [1.5, -0.5], [0.1, 0.2])]
    minigrad.batch_norm(ref[0], None, None, ref[1], ref[2], training=True).backward(upstream)
    for got, want in zip((t, bn.weight, bn.bias), ref, strict=True):
        np.testing.assert_array_equal(got.grad, want.grad)
