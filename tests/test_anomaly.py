"""``detect_anomaly()``: the first op that makes NaN or inf raises, naming itself and your line."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import minigrad
from minigrad import AnomalyError, Tensor, nn

# These tests make NaN and inf on purpose; NumPy's RuntimeWarnings about them are expected.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def leaf(values: list[float]) -> Tensor:
    return Tensor(np.array(values), requires_grad=True)


def test_the_first_op_that_makes_nan_in_the_forward_pass_raises() -> None:
    x = leaf([-1.0, 4.0])
    with minigrad.detect_anomaly(), pytest.raises(AnomalyError) as info:
        y = x * 2  # finite
        z = minigrad.log(y)  # log(-2) = nan: the first anomaly
        minigrad.exp(z)
    message = str(info.value)
    assert message.startswith("log produced nan in its forward pass: its output (shape (2,)")
    assert "test_anomaly.py" in message
    assert "z = minigrad.log(y)" in message  # the user's own line
    assert "y = x * 2" not in message


def test_inf_and_minus_inf_are_named() -> None:
    with minigrad.detect_anomaly():
        with pytest.raises(AnomalyError, match=r"^exp produced inf in its forward pass"):
            minigrad.exp(Tensor([1000.0]))
        with pytest.raises(AnomalyError, match=r"^log produced -inf in its forward pass"):
            minigrad.log(Tensor([0.0]))


def test_the_backward_pass_is_checked_and_names_the_input() -> None:
    x = leaf([0.0, 1.0])
    with minigrad.detect_anomaly():
        y = x**0.5  # finite forward; d/dx sqrt(x) = inf at 0
        with pytest.raises(AnomalyError) as info:
            y.sum().backward()
    message = str(info.value)
    assert message.startswith(
        "pow produced inf in its backward pass: the gradient for input 0 (shape (2,), "
        "dtype float64)"
    )
    assert "y = x**0.5" in message


def test_a_nan_gradient_from_upstream_is_caught_at_the_op_that_makes_it() -> None:
    x = leaf([1.0, 2.0])
    with np.errstate(all="ignore"):
        loss = (minigrad.exp(-minigrad.log(x * 0.0)) * 0.0).sum()  # 0 * inf in the backward
        with minigrad.detect_anomaly(), pytest.raises(AnomalyError) as info:
            loss.backward()
    assert str(info.value).startswith("exp produced nan in its backward pass: the gradient for")


def test_a_nan_seed_gradient_is_named() -> None:
    y = leaf([1.0, 2.0]) * 3
    with minigrad.detect_anomaly(), pytest.raises(AnomalyError) as info:
        y.backward(np.array([1.0, np.nan]))
    assert str(info.value).startswith("backward: the grad passed to backward() holds nan")


def test_an_input_that_already_held_nan_is_reported() -> None:
    data = Tensor([np.nan, 1.0])
    with minigrad.detect_anomaly(), pytest.raises(AnomalyError) as info:
        minigrad.relu(data + 1)
    assert "add produced nan" in str(info.value)
    assert "Input 0 already held nan (a leaf or constant)" in str(info.value)


def test_the_module_is_named_when_a_layer_made_the_nan() -> None:
    model = nn.Sequential(nn.Linear(2, 3, rng=np.random.default_rng(0)), nn.ReLU())
    x = np.array([[np.inf, 1.0]], dtype=np.float32)
    with minigrad.detect_anomaly(), pytest.raises(AnomalyError) as info:
        model(x)
    message = str(info.value)
    assert message.startswith("linear (in module 'Sequential.0') produced inf")
    assert "model(x)" in message  # the user's line, then minigrad's frames after it
    assert "(then inside minigrad:" in message and "layers.py" in message


def test_no_check_and_no_stack_outside_the_block() -> None:
    x = leaf([0.0])
    y = minigrad.log(x)  # -inf, silently, as NumPy
    assert np.isneginf(y.data).all()
    assert y.grad_fn.stack is None
    assert not minigrad.is_anomaly_enabled()
    with minigrad.detect_anomaly():
        assert minigrad.is_anomaly_enabled()
    assert not minigrad.is_anomaly_enabled()


def test_a_backward_outside_the_block_is_not_checked_but_says_where_to_look() -> None:
    x = leaf([0.0])
    y = x**0.5  # recorded without a stack
    with np.errstate(all="ignore"), minigrad.detect_anomaly(), pytest.raises(AnomalyError) as info:
        y.sum().backward()
    assert "not recorded: run the forward pass inside detect_anomaly() too" in str(info.value)


def test_as_a_decorator() -> None:
    @minigrad.detect_anomaly()
    def step() -> Tensor:
        return minigrad.log(Tensor([-1.0]))

    with pytest.raises(AnomalyError, match="log produced nan"):
        step()
    assert not minigrad.is_anomaly_enabled()


def test_finite_computations_are_unaffected() -> None:
    x = leaf([0.5, -1.0, 2.0])
    with minigrad.detect_anomaly():
        loss = minigrad.cross_entropy((x * x).reshape(1, 3), np.array([2]))
        loss.backward()
    plain = leaf([0.5, -1.0, 2.0])
    minigrad.cross_entropy((plain * plain).reshape(1, 3), np.array([2])).backward()
    np.testing.assert_array_equal(x.grad, plain.grad)


def test_anomaly_mode_is_per_thread() -> None:
    entered, release = threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def other() -> None:
        with minigrad.detect_anomaly():
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    thread.start()
    entered.wait(5)
    seen["main"] = minigrad.is_anomaly_enabled()
    y = minigrad.log(Tensor([0.0]))  # no error here: this thread is not in anomaly mode
    release.set()
    thread.join()
    assert seen["main"] is False and np.isneginf(y.data).all()


def test_an_anomaly_error_is_a_floating_point_error() -> None:
    with minigrad.detect_anomaly(), pytest.raises(FloatingPointError):
        minigrad.log(Tensor([-1.0]))
