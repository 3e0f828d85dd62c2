"""Tensor hooks, recordings of the backward walk, and anomalies made by accumulation."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad import AnomalyError, Tensor
from minigrad.errors import DTypeError, GraphError, ShapeError


def leaf(values, dtype=np.float64) -> Tensor:
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


def test_a_non_leaf_hook_sees_the_total_before_its_vjp() -> None:
    x = leaf([1.0, 2.0])
    y = x * 3
    seen = []
    y.register_hook(lambda g: seen.append(g.copy()))
    (y * y + y).sum().backward()  # dL/dy = 2y + 1, summed over two consumers
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], 2 * np.array([3.0, 6.0]) + 1)
    np.testing.assert_array_equal(x.grad, 3 * seen[0])


def test_a_replacement_flows_on_and_hooks_run_in_registration_order() -> None:
    x = leaf([1.0, -2.0])
    y = x * 2
    calls = []
    y.register_hook(lambda g: calls.append("a") or g * 10)
    y.register_hook(lambda g: calls.append(("b", g.tolist())))
    y.sum().backward()
    assert calls == ["a", ("b", [10.0, 10.0])]
    np.testing.assert_array_equal(x.grad, [20.0, 20.0])


def test_a_leaf_hook_sees_this_backwards_total_before_accumulation() -> None:
    x = leaf([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.copy()))
    (x * x).sum().backward()
    (x * 5).sum().backward()
    np.testing.assert_array_equal(seen[0], [2.0, 4.0])  # both uses of x, summed
    np.testing.assert_array_equal(seen[1], [5.0, 5.0])  # this backward only
    np.testing.assert_array_equal(x.grad, [7.0, 9.0])


def test_a_leaf_hook_replacement_is_what_accumulates() -> None:
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: np.zeros_like(g))
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])
    root = leaf([3.0])
    root.register_hook(lambda g: g * 7)
    root.backward(np.array([1.0]))
    np.testing.assert_array_equal(root.grad, [7.0])


def test_remove_removes_and_is_idempotent() -> None:
    x = leaf([1.0])
    handle = x.register_hook(lambda g: g * 100)
    handle.remove()
    handle.remove()
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0])


def test_hook_mistakes_are_clear_errors() -> None:
    with pytest.raises(GraphError, match="register_hook: this tensor does not require grad"):
        Tensor([1.0]).register_hook(lambda g: g)
    with pytest.raises(minigrad.ArgumentError, match="the hook must be callable, got int"):
        leaf([1.0]).register_hook(3)
    x = leaf([1.0, 2.0])
    y = x * 2
    y.name = "doubled"
    y.register_hook(lambda g: g[:1])
    with pytest.raises(ShapeError, match=r"a hook on tensor 'doubled' returned an array of shape"):
        y.sum().backward()
    z = leaf([1.0, 2.0])
    z.register_hook(lambda g: g.astype(np.float32))
    with pytest.raises(
        DTypeError, match=r"a hook on a leaf tensor of shape \(2,\) returned a float32"
    ):
        (z * 1).sum().backward()


def test_record_backward_lists_the_walk_in_order() -> None:
    x = leaf([1.0, 2.0])
    w = leaf([[1.0], [2.0]])
    h = minigrad.relu(x.reshape(1, 2) @ w)
    loss = (h * h).sum()
    with minigrad.record_backward() as steps:
        loss.backward()
    assert [s.node.name for s in steps] == ["sum", "mul", "relu", "matmul", "reshape"]
    assert [s.index for s in steps] == list(range(5))
    for step in steps:
        assert step.output is not None and step.output.grad_fn is step.node
        assert len(step.input_grads) == len(step.node.parents)
        for parent, g in zip(step.node.parents, step.input_grads, strict=True):
            assert g is None or g.shape == parent.shape
    # the gradient a step receives is the sum of what its consumers sent (mul sends h twice)
    mul = steps[1]
    np.testing.assert_array_equal(steps[2].grad, mul.input_grads[0] + mul.input_grads[1])
    np.testing.assert_array_equal(steps[-1].input_grads[0], x.grad)
    assert minigrad.hooks.recording() is None  # nothing outside the block


def test_recorded_arrays_are_not_changed_by_accumulation() -> None:
    x = leaf([1.0, 2.0])
    y = x * 2
    loss = (y + y + y).sum()  # y's sum is built in place from three contributions
    with minigrad.record_backward() as steps:
        loss.backward()
    snapshot = [(s.grad.copy(), [g.copy() for g in s.input_grads if g is not None]) for s in steps]
    (x * 4).sum().backward()  # more accumulation into x.grad afterwards
    for step, (grad, sent) in zip(steps, snapshot, strict=True):
        np.testing.assert_array_equal(step.grad, grad)
        for g, copy in zip([g for g in step.input_grads if g is not None], sent, strict=True):
            np.testing.assert_array_equal(g, copy)


def test_record_backward_is_per_thread() -> None:
    seen = []

    def other() -> None:
        seen.append(minigrad.hooks.recording())

    with minigrad.record_backward():
        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert seen == [None]


@given(st.integers(1, 6), st.integers(1, 4))
def test_hooks_and_recording_leave_the_gradients_unchanged(n, uses) -> None:
    rng = np.random.default_rng(n)
    data = rng.standard_normal(n)
    plain = leaf(data)
    watched = leaf(data)
    for x, hooked in ((plain, False), (watched, True)):
        y = x * 2
        if hooked:
            y.register_hook(lambda g: None)
            x.register_hook(lambda g: None)
        total = y
        for _ in range(uses):
            total = total + y * x
        if hooked:
            with minigrad.record_backward() as steps:
                total.sum().backward()
            assert len(steps) == len(minigrad.engine.graph_nodes(total.sum()))
        else:
            total.sum().backward()
    np.testing.assert_allclose(watched.grad, plain.grad, rtol=1e-12)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_an_overflow_made_by_accumulation_names_where_the_sum_overflowed() -> None:
    big = np.finfo(np.float64).max
    x = leaf([1.0])
    with minigrad.detect_anomaly(), pytest.raises(AnomalyError) as info:
        z = minigrad.exp(x * -700.0)  # about 1e-304, a tensor used twice below
        loss = (z * big + z * big).sum()  # finite; each VJP sends big to z, and the sum is inf
        loss.backward()
    message = str(info.value)
    assert message.startswith("backward: the gradients reaching the output of exp summed to inf")
    assert "adding the one from mul (input 0) overflowed" in message
    assert "z = minigrad.exp(x * -700.0)" in message  # where the summed tensor was made


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_an_overflow_when_a_leaf_accumulates_names_the_leaf() -> None:
    big = np.finfo(np.float64).max
    w = leaf([1e-300])
    w.name = "w"
    with minigrad.detect_anomaly(), pytest.raises(AnomalyError) as info:
        (w * big + w * big).sum().backward()
    assert str(info.value).startswith("backward: the gradients reaching tensor 'w' summed to inf")


def test_a_recorded_edge_shows_what_the_hooks_made_of_it() -> None:
    x = leaf([1.0, 2.0])
    y = x * 2  # y has one consumer; x has one consumer (the mul above)
    y.register_hook(lambda g: g * 10)
    x.register_hook(lambda g: g + 1)
    with minigrad.record_backward() as steps:
        (y * 3).sum().backward()
    names = [s.node.name for s in steps]
    assert names == ["sum", "mul", "mul"]
    np.testing.assert_array_equal(steps[1].input_grads[0], [30.0, 30.0])  # y's hook, on its edge
    np.testing.assert_array_equal(steps[2].grad, [30.0, 30.0])
    np.testing.assert_array_equal(steps[2].input_grads[0], [61.0, 61.0])  # x's hook: 60 + 1
    np.testing.assert_array_equal(x.grad, [61.0, 61.0])


def test_with_several_edges_each_keeps_what_it_sent() -> None:
    x = leaf([1.0])
    y = x * 2
    y.register_hook(lambda g: g * 10)
    with minigrad.record_backward() as steps:
        (y + y).sum().backward()
    add = steps[1]
    assert add.node.name == "add"
    np.testing.assert_array_equal(add.input_grads[0], [1.0])
    np.testing.assert_array_equal(add.input_grads[1], [1.0])
    np.testing.assert_array_equal(steps[2].grad, [20.0])  # the hooked total
