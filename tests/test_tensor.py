"""The tensor: its repr, NumPy's array protocols, in-place arithmetic, and the version counter
that keeps a gradient from being computed with arrays changed after the forward pass."""

from __future__ import annotations

import gc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad import GraphError, Tensor, nn, no_grad
from minigrad.optim import SGD, Adam
from minigrad.testing import arrays, shapes

# ----------------------------------------------------------------------------- repr


def test_a_small_tensor_prints_in_full_without_a_shape():
    assert repr(Tensor([2.0, 3.0], requires_grad=True, name="x")) == (
        "Tensor([2., 3.], requires_grad=True, name='x')"
    )
    assert repr(Tensor(np.eye(2), requires_grad=True) * 2) == (
        "Tensor([[2., 0.],\n        [0., 2.]], grad_fn=<mul>)"
    )


@pytest.mark.parametrize(
    ("shape", "max_lines"),
    [((1000, 10), 7), ((100_000,), 1), ((64, 1, 28, 28), 30), ((8, 1, 3, 3), 25)],
)
def test_a_large_tensor_is_summarised_with_its_shape(shape, max_lines):
    data = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    text = repr(Tensor(data, requires_grad=True, name="w"))
    assert len(text.splitlines()) <= max_lines, text
    assert "..." in text
    assert text.endswith(f"shape={shape}, dtype=float32, requires_grad=True, name='w')")
    assert f"{data.flat[0]:.4f}"[:5] in text  # the first entry is shown


def test_a_summarised_result_shows_its_op():
    x = Tensor(np.ones((2, 3, 8, 8)), requires_grad=True)
    text = repr(minigrad.relu(x))
    assert text.endswith("shape=(2, 3, 8, 8), dtype=float64, grad_fn=<relu>)")


def test_three_axes_show_the_shape_even_when_small():
    assert repr(Tensor(np.zeros((1, 2, 2)))).endswith("shape=(1, 2, 2))")


# ----------------------------------------------------------------------------- NumPy protocols


def test_np_array_is_a_snapshot_and_np_asarray_the_buffer() -> None:
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    snapshot = np.array(w)  # copy=True, NumPy's default
    live = np.asarray(w)  # copy=None: no copy needed
    (w * w).sum().backward()
    SGD([w], lr=0.5).step()
    np.testing.assert_array_equal(snapshot, [1.0, 2.0])
    assert live is w.data
    np.testing.assert_array_equal(live, [0.0, 0.0])
    assert np.array(w, copy=True) is not w.data
    assert np.asarray(w, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match=r"cannot be converted to float32 without a copy"):
        np.array(w, dtype=np.float32, copy=False)
    assert np.array(w, copy=False) is w.data


@pytest.mark.parametrize(
    ("call", "hint"),
    [
        (np.exp, r"use minigrad.exp\(t\) or t.exp\(\)"),
        (np.abs, r"use abs\(t\) or minigrad.abs\(t\)"),
        (np.sum, r"use minigrad.sum\(t\) or t.sum\(\)"),
        (np.max, r"use minigrad.max\(t\) or t.max\(\)"),
        (np.sin, r"minigrad has no sin op.*np.sin\(t.numpy\(\)\)"),
        (lambda t: np.concatenate([t, t]), r"np.concatenate: .*no concatenate op"),
        (lambda t: np.add.reduce(t), r"np.add.reduce: "),
        (lambda t: np.add(t, 1, out=np.zeros(3)), r"np.add: "),
    ],
)
def test_numpy_functions_on_a_tensor_name_the_minigrad_op(call, hint) -> None:
    t = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    with pytest.raises(minigrad.ArgumentError, match=r"NumPy functions do not record the graph"):
        call(t)
    with pytest.raises(minigrad.ArgumentError, match=hint):
        call(t)


def test_arrays_on_the_left_of_an_operator_run_minigrad_ops() -> None:
    t = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = np.array([3.0, 4.0]) * t + np.float64(1.0) - np.ones(2) / (t + 1)
    assert isinstance(y, Tensor) and y.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(t.grad, [3.0 + 1 / 4, 4.0 + 1 / 9])
    assert (np.eye(2) @ t).grad_fn.name == "matmul"
    assert np.shape(t) == (2,) and np.ndim(t) == 1 and np.size(t) == 2


# ----------------------------------------------------------------------------- in-place


def test_in_place_update_of_a_parameter_inside_no_grad() -> None:
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (w * w).sum().backward()
    before = w
    with no_grad():
        w -= 0.25 * w.grad
    assert w is before and w._version == 1
    np.testing.assert_allclose(w.data, [0.5, 1.0])
    with no_grad():
        w += 1
        w *= 2
        w /= 4
    np.testing.assert_allclose(w.data, [0.75, 1.0])
    assert w._version == 4 and w.is_leaf and w.requires_grad


def test_in_place_on_a_leaf_that_requires_grad_is_refused_while_recording() -> None:
    w = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(GraphError, match=r"sub_: a leaf tensor that requires grad is being used"):
        w -= 1
    y = w * 2
    with pytest.raises(GraphError, match=r"add_: an in-place operation on a tensor that is part"):
        y += 1
    c = Tensor(np.ones(2))  # a constant: in place is fine anywhere
    c += 1
    np.testing.assert_array_equal(c.data, [2.0, 2.0])


@given(x=arrays(shapes(max_dims=3)), data=st.data())
def test_in_place_arithmetic_matches_the_out_of_place_result(x, data) -> None:
    y = data.draw(arrays(st.just(x.shape[data.draw(st.integers(0, x.ndim)) :]), min_value=0.5))
    for op in ("+=", "-=", "*=", "/="):
        t = Tensor(x)
        expected = {"+=": x + y, "-=": x - y, "*=": x * y, "/=": x / y}[op]
        if op == "+=":
            t += y
        elif op == "-=":
            t -= Tensor(y)
        elif op == "*=":
            t *= y
        else:
            t /= y
        np.testing.assert_array_equal(t.data, expected)
        assert t._version == 1


def test_in_place_keeps_the_dtype_or_refuses() -> None:
    f32 = Tensor(np.ones(3, dtype=np.float32))
    f32 *= 0.5  # a Python number takes the tensor's dtype
    assert f32.dtype == np.float32
    with pytest.raises(minigrad.DTypeError, match=r"mul_: the result would be float64 but the"):
        f32 *= np.full(3, 0.5)  # a float64 array would change it
    ints = Tensor(np.arange(3))
    with pytest.raises(minigrad.DTypeError, match=r"div_: the result would be float64 .*int64"):
        ints /= 2
    with pytest.raises(minigrad.DTypeError, match=r"add_: Python integer 300 out of bounds"):
        Tensor(np.zeros(2, dtype=np.uint8)).__iadd__(300)
    with pytest.raises(minigrad.ShapeError, match=r"add_: an operand of shape \(2, 3\) cannot"):
        f32 += np.ones((2, 3), dtype=np.float32)
    assert f32._version == 1


def test_setitem_writes_through_the_tensor() -> None:
    w = Tensor(np.zeros((2, 3)), requires_grad=True)
    with pytest.raises(GraphError, match=r"setitem: a leaf tensor that requires grad"):
        w[0] = 1.0
    with no_grad():
        w[0, 1:] = 5.0
        w[np.array([False, True])] = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    np.testing.assert_array_equal(w.data, [[0.0, 5.0, 5.0], [1.0, 2.0, 3.0]])
    assert w._version == 2
    with pytest.raises(minigrad.IndexingError, match=r"setitem: index 2 is out of range"):
        Tensor(np.zeros(2))[2] = 1.0
    with pytest.raises(
        minigrad.DTypeError,
        match=r"setitem: cannot store float64 values in a tensor of dtype int64",
    ):
        Tensor(np.zeros(2, dtype=np.int64))[0] = 1.5
    with pytest.raises(minigrad.ShapeError, match=r"setitem: a value of shape \(3,\) cannot"):
        Tensor(np.zeros(2))[:] = np.ones(3)


# ----------------------------------------------------------------------------- versions


def test_an_array_changed_after_the_forward_pass_is_refused_not_used() -> None:
    """The bug this guards against: y = (w * x).sum(); x.data[:] = 100 gave w.grad = 100."""
    w = Tensor(np.array([1.0, 1.0]), requires_grad=True)
    x = Tensor(np.array([5.0, 7.0]))
    y = (w * x).sum()
    with pytest.raises(ValueError, match="read-only"):
        x.data[:] = 100  # straight into the array: refused while the graph holds it
    with pytest.raises(ValueError, match="read-only"):
        np.asarray(x)[0] = 100
    y.backward()
    np.testing.assert_array_equal(w.grad, [5.0, 7.0])
    x.data[:] = 100  # the graph is released: the array is writeable again
    np.testing.assert_array_equal(x.data, [100.0, 100.0])


def test_an_in_place_change_through_minigrad_makes_backward_raise() -> None:
    w = Tensor(np.array([1.0, 1.0]), requires_grad=True, name="w")
    x = Tensor(np.array([5.0, 7.0]), name="x")
    y = (w * x).sum()
    with no_grad():
        x *= 20
    with pytest.raises(
        GraphError,
        match=r"backward: input 1 of mul \('x' of shape \(2,\)\) was modified in place after "
        r"the graph saved it \(version 1, saved at 0\); compute the loss again after the update",
    ):
        y.backward()
    y = (w * x).sum()  # computed again: fine
    y.backward()
    np.testing.assert_array_equal(w.grad, [100.0, 140.0])


@pytest.mark.parametrize("change", ["assign", "augmented", "setitem", "detach", "view"])
def test_every_way_to_change_a_saved_tensor_through_minigrad_bumps_its_version(change) -> None:
    w = Tensor(np.array([2.0, 3.0]), requires_grad=True)
    x = Tensor(np.array([5.0, 7.0]))
    view = x[:]  # a view: shares x's memory and version
    y = (w * x).sum()
    with no_grad():
        if change == "assign":
            x.data = np.zeros(2)
        elif change == "augmented":  # NumPy refuses to write into the saved array
            with pytest.raises(ValueError, match="output array is read-only"):
                x.data -= 1
            return
        elif change == "setitem":
            x[0] = 0.0
        elif change == "detach":
            d = x.detach()
            d += 1
        else:
            view += 1
    with pytest.raises(GraphError, match=r"was modified in place .*\(version 1, saved at 0\)"):
        y.backward()


def test_augmented_data_assignment_bumps_the_version_once_the_graph_is_gone() -> None:
    x = Tensor(np.array([5.0, 7.0]))
    with pytest.raises(ValueError, match="read-only"):
        w = Tensor(np.ones(2), requires_grad=True)
        y = (w * x).sum()
        x.data -= 1
    y.backward()
    x.data -= 1
    assert x._version == 1
    np.testing.assert_array_equal(x.data, [4.0, 6.0])


def test_saved_outputs_are_guarded_too() -> None:
    x = Tensor(np.array([0.0, 1.0]), requires_grad=True)
    y = x.exp()  # exp saves its output
    z = y.sum()
    with pytest.raises(ValueError, match="read-only"):
        y.data[0] = 0.0
    with no_grad():
        y += 1
    with pytest.raises(GraphError, match=r"the output of exp was modified in place"):
        z.backward()


def test_a_dropped_graph_releases_its_arrays() -> None:
    x = Tensor(np.ones(3))
    w = Tensor(np.ones(3), requires_grad=True)
    y = (w * x).sum()
    assert not x.data.flags.writeable
    del y
    gc.collect()
    assert x.data.flags.writeable
    y = (w * x).sum()
    z = (w * x * x).sum()  # two graphs hold x
    y.backward()
    assert not x.data.flags.writeable
    z.backward()
    assert x.data.flags.writeable


def test_retain_graph_keeps_the_arrays_guarded_until_the_last_backward() -> None:
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (w * w).sum()
    y.backward(retain_graph=True)
    with no_grad():
        w -= 0.1 * w.grad
    with pytest.raises(GraphError, match=r"input 0 of mul .* \(version 1, saved at 0\)"):
        y.backward()


def two_losses(opt_class):
    """Two losses built from one model; the second backward runs after an optimiser step."""
    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3, rng=0), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 3, rng=1)
    )
    x = rng.standard_normal((4, 1, 6, 6)).astype(np.float32)
    target = np.array([0, 1, 2, 1])
    opt = opt_class(model.parameters(), lr=0.1)
    la = minigrad.cross_entropy(model(x), target)
    lb = minigrad.cross_entropy(model(x * 2), target)
    return model, opt, la, lb


@pytest.mark.parametrize("opt_class", [SGD, Adam])
def test_an_optimiser_step_between_two_backwards_is_an_error(opt_class) -> None:
    _, opt, la, lb = two_losses(opt_class)
    la.backward()
    opt.step()
    with pytest.raises(
        GraphError, match=r"input 1 of linear \('3.weight' of shape \(3, 32\)\) was"
    ):
        lb.backward()


def test_both_backwards_then_one_step_is_the_right_order() -> None:
    model, opt, la, lb = two_losses(SGD)
    la.backward()
    lb.backward()
    grad_together = model[0].weight.grad.copy()
    opt.step()
    model2, _, la2, lb2 = two_losses(SGD)
    (la2 + lb2).backward()
    np.testing.assert_allclose(grad_together, model2[0].weight.grad, rtol=1e-5)


def test_load_state_dict_bumps_the_versions() -> None:
    model = nn.Linear(3, 2, rng=0)
    y = model(np.ones((1, 3), dtype=np.float32)).sum()
    model.load_state_dict(nn.Linear(3, 2, rng=1).state_dict())
    assert model.weight._version == 1
    with pytest.raises(GraphError, match=r"'weight' of shape \(2, 3\)\) was modified"):
        y.backward()


def test_view_outputs_share_memory_read_only() -> None:
    x = Tensor(np.arange(6.0))
    v = x.reshape(2, 3)
    with pytest.raises(ValueError, match="read-only"):
        v.data[0, 0] = 1.0
    v[0, 0] = 10.0  # through the tensor: writes x's memory and bumps both versions
    assert x.data[0] == 10.0 and x._version == v._version == 1


def test_new_data_is_guarded_like_the_old() -> None:
    w = Tensor(np.ones(2), requires_grad=True)
    x = Tensor(np.array([5.0, 7.0]))
    y = (w * x).sum()
    with no_grad():
        x.data = np.array([1.0, 2.0])  # a new array; y saved the old one at version 0
    z = (w * x).sum()
    with pytest.raises(ValueError, match="read-only"):
        x.data[0] = 100.0  # z holds the new array
    z.backward()
    np.testing.assert_array_equal(w.grad, [1.0, 2.0])
    with pytest.raises(GraphError, match=r"\(version 1, saved at 0\)"):
        y.backward()
