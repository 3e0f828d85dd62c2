"""The engine: recording, accumulation, no_grad, retain_graph, deep graphs, checks, errors."""

import threading

import numpy as np
import pytest

import minigrad
from minigrad import Function, Tensor


def leaf(values, dtype=np.float64):
    return Tensor(np.asarray(values, dtype=dtype), requires_grad=True)


# ----------------------------------------------------------------------------- Tensor


def test_float_dtypes_are_kept():
    assert Tensor(np.zeros(2, dtype=np.float32)).dtype == np.float32
    assert Tensor(np.zeros(2)).dtype == np.float64
    assert Tensor([1, 2]).dtype.kind == "i"


def test_data_is_copied():
    a = np.zeros(3)
    t = Tensor(a)
    t.data += 1
    assert a.sum() == 0


def test_requires_grad_on_integers_is_an_error():
    with pytest.raises(
        minigrad.DTypeError, match="only float tensors can require gradients, got dtype int64"
    ):
        Tensor(np.array([1, 2]), requires_grad=True)


def test_non_numeric_data_is_an_error():
    with pytest.raises(minigrad.DTypeError, match="Tensor: expected a float"):
        Tensor(np.array(["x"]))


def test_accessors_and_repr():
    t = leaf([[1.0, 2.0]], np.float32)
    assert t.shape == (1, 2) and t.ndim == 2 and t.size == 2 and t.is_leaf
    assert t.numpy() is t.data
    assert Tensor(np.array([3.5])).item() == 3.5
    assert repr(t) == "Tensor([[1., 2.]], dtype=float32, requires_grad=True)"
    y = t * 2
    assert "grad_fn=<mul>" in repr(y)
    d = y.detach()
    assert d.data is y.data and not d.requires_grad and d.grad_fn is None


def test_item_of_a_non_scalar_is_an_error():
    with pytest.raises(minigrad.ShapeError, match=r"item: only one-element tensors .* \(2,\)"):
        Tensor(np.ones(2)).item()


# ----------------------------------------------------------------------------- backward


def test_a_tensor_used_twice_gets_the_sum():
    x = leaf([2.0, 3.0])
    ((x + x) * x).sum().backward()  # d(2x^2)/dx = 4x
    np.testing.assert_array_equal(x.grad, [8.0, 12.0])


def test_diamond_graph_accumulates_every_path():
    x = leaf([1.5])
    a = x * 3
    b = x.exp()
    c = a * b + a  # dc/dx = 3 e^x + 3x e^x + 3
    c.backward(np.ones(1))
    np.testing.assert_allclose(x.grad, 3 * np.exp(1.5) + 4.5 * np.exp(1.5) + 3)


def test_gradients_accumulate_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 7.0])


def test_leaf_gradients_never_share_memory():
    x, y = leaf([1.0]), leaf([2.0])
    (x + y).sum().backward()
    assert not np.shares_memory(x.grad, y.grad)
    x.grad += 10
    assert y.grad[0] == 1.0


def test_user_seed_gradient_is_never_modified():
    x = leaf([1.0, 2.0])
    seed = np.array([1.0, 1.0])
    y = x + 0
    y.backward(seed)
    x.grad += 5
    np.testing.assert_array_equal(seed, [1.0, 1.0])


def test_intermediate_tensors_keep_grad_only_when_asked():
    x = leaf([1.0, -2.0])
    h = x * 2
    r = (x * 3).retain_grad()
    (h * r).sum().backward()
    assert h.grad is None
    np.testing.assert_array_equal(r.grad, h.data)


def test_backward_on_a_non_scalar_needs_a_gradient():
    with pytest.raises(minigrad.GraphError, match=r"only for a scalar output.*shape \(2,\)"):
        (leaf([1.0, 2.0]) * 2).backward()


def test_backward_grad_of_the_wrong_shape():
    with pytest.raises(
        minigrad.ShapeError,
        match=r"backward: grad has shape \(3,\) but the tensor has shape \(2,\)",
    ):
        (leaf([1.0, 2.0]) * 2).backward(np.ones(3))


def test_backward_on_a_tensor_without_graph():
    with pytest.raises(minigrad.GraphError, match="does not require grad"):
        Tensor(np.ones(1)).backward()


def test_second_backward_through_a_released_graph_is_an_error():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(minigrad.GraphError, match=r"already released.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])


def test_saved_arrays_are_released_after_backward():
    x = leaf([1.0, 2.0])
    y = x * x
    node = y.grad_fn
    assert node.saved_tensors
    y.sum().backward()
    assert node.saved_tensors == () and node.released


def test_a_chain_of_100000_ops_backpropagates_without_recursion():
    x = leaf([1.0])
    y = x
    for _ in range(100_000):
        y = y + 1.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0])


def test_parents_keep_argument_order():
    a, b = leaf([1.0]), leaf([2.0])
    assert (a - b).grad_fn.parents == (a, b)
    assert (b - a).grad_fn.parents == (b, a)


# ----------------------------------------------------------------------------- grad mode


def test_no_grad_records_nothing():
    x = leaf([1.0])
    with minigrad.no_grad():
        y = x * 2
        assert not minigrad.is_grad_enabled()
    assert minigrad.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None


def test_no_grad_as_a_decorator_and_enable_grad_inside():
    x = leaf([1.0])

    @minigrad.no_grad()
    def f():
        with minigrad.enable_grad():
            inner = x * 2
        return x * 2, inner

    outer, inner = f()
    assert not outer.requires_grad and inner.requires_grad


def test_no_grad_is_per_thread():
    x = leaf([1.0])
    seen = {}
    entered, release = threading.Event(), threading.Event()

    def worker():
        with minigrad.no_grad():
            entered.set()
            release.wait(5)

    t = threading.Thread(target=worker)
    t.start()
    entered.wait(5)
    seen["main"] = (x * 2).requires_grad  # the other thread is inside no_grad now
    release.set()
    t.join()
    assert seen["main"] is True


def test_inputs_without_grad_record_no_graph():
    y = Tensor(np.ones(2)) * 3
    assert y.grad_fn is None and not y.requires_grad


# ----------------------------------------------------------------------------- checks


class WrongShape(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return (np.ones(grad.size + 1),)


class WrongDtype(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return (grad.astype(np.float64) * 2,)


class WrongCount(Function):
    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


def test_a_gradient_of_the_wrong_shape_names_the_op():
    with pytest.raises(
        minigrad.ShapeError,
        match=r"wrong_shape: backward returned a gradient of shape \(4,\) for input 0 of shape \(3,\)",
    ):
        WrongShape.apply(leaf([1.0, 2.0, 3.0])).sum().backward()


def test_a_gradient_of_the_wrong_dtype_names_the_op():
    with pytest.raises(
        minigrad.DTypeError,
        match="wrong_dtype: backward returned a float64 gradient for input 0 of dtype float32",
    ):
        WrongDtype.apply(leaf([1.0], np.float32)).sum().backward()


def test_a_wrong_number_of_gradients_names_the_op():
    with pytest.raises(
        minigrad.GraphError, match="wrong_count: backward returned 2 gradients for 1 inputs"
    ):
        WrongCount.apply(leaf([1.0])).sum().backward()


def test_float32_stays_float32_through_a_whole_model():
    x = Tensor(np.random.default_rng(0).standard_normal((2, 1, 6, 6)).astype(np.float32))
    w = leaf(np.full((3, 1, 3, 3), 0.1), np.float32)
    v = leaf(np.full((4, 48), 0.01), np.float32)
    loss = minigrad.cross_entropy(
        minigrad.linear(minigrad.conv2d(x, w).relu().flatten(), v), np.array([1, 2])
    )
    assert loss.dtype == np.float32
    loss.backward()
    assert w.grad.dtype == np.float32 and v.grad.dtype == np.float32
