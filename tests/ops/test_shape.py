"""Shape ops: reshape, flatten, transpose."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad
from minigrad.testing import arrays, check_op, shapes


@given(x=arrays(shapes()), data=st.data())
def test_reshape(x, data):
    target = data.draw(st.permutations(x.shape)).copy()
    if target and data.draw(st.booleans()):
        target[data.draw(st.integers(0, len(target) - 1))] = -1
    check_op(lambda t: minigrad.reshape(t, target), lambda a: a.reshape(target), x)


@given(x=arrays(shapes(min_dims=1)), data=st.data())
def test_flatten(x, data):
    start = data.draw(st.integers(0, x.ndim - 1))
    expected = lambda a: a.reshape(*a.shape[:start], -1)  # noqa: E731
    check_op(lambda t: minigrad.flatten(t, start_axis=start), expected, x)


@given(x=arrays(shapes()), data=st.data())
def test_transpose(x, data):
    axes = tuple(data.draw(st.permutations(range(x.ndim))))
    check_op(lambda t: minigrad.transpose(t, axes), lambda a: np.transpose(a, axes), x)
    check_op(lambda t: t.T, lambda a: a.T, x)


def test_method_forms():
    t = minigrad.Tensor(np.arange(24.0).reshape(2, 3, 4))
    assert t.reshape(6, 4).shape == (6, 4)
    assert t.reshape((4, 6)).shape == (4, 6)
    assert t.flatten().shape == (2, 12)
    assert t.transpose(2, 0, 1).shape == (4, 2, 3)


def test_reshape_to_a_wrong_size():
    with pytest.raises(
        minigrad.ShapeError, match=r"reshape: cannot reshape .* \(2, 3\) .*6 elements.* \(4,\)"
    ):
        minigrad.reshape(minigrad.Tensor(np.ones((2, 3))), (4,))


def test_transpose_needs_a_permutation():
    with pytest.raises(minigrad.ShapeError, match="not a permutation"):
        minigrad.transpose(minigrad.Tensor(np.ones((2, 3))), (0, 0))


@st.composite
def index_for(draw, shape):
    """A random index into ``shape``: ints, slices, None, ..., integer arrays with repeats
    and negative entries, and boolean masks."""
    parts, axis = [], 0
    ellipsis = len(shape) > 0 and draw(st.booleans())
    while axis < len(shape) and draw(st.integers(0, 3)):
        size = shape[axis]
        kind = draw(st.sampled_from(["int", "slice", "ints", "mask", "none"]))
        if kind == "int":
            parts.append(draw(st.integers(-size, size - 1)))
        elif kind == "slice":
            parts.append(
                slice(
                    draw(st.none() | st.integers(-size - 1, size + 1)),
                    draw(st.none() | st.integers(-size - 1, size + 1)),
                    draw(st.none() | st.sampled_from([1, 2, -1, -2])),
                )
            )
        elif kind == "ints":
            ints = draw(st.lists(st.integers(-size, size - 1), max_size=5))
            parts.append(np.array(ints, dtype=np.intp))
        elif kind == "mask":
            parts.append(draw(hnp.arrays(np.bool_, (size,))))
        else:
            parts.append(None)
            continue
        axis += 1
    if ellipsis:  # at the end, or in front when the parts index every axis
        parts.insert(0 if axis == len(shape) else len(parts), Ellipsis)
    # at most one array-like part: NumPy broadcasts several together, a separate test does that
    arrays_seen = [i for i, p in enumerate(parts) if isinstance(p, np.ndarray)]
    for i in arrays_seen[1:]:
        parts[i] = slice(None)
    return tuple(parts)


@given(x=arrays(shapes(min_dims=1)), data=st.data())
def test_getitem(x, data):
    """x[index] against NumPy and finite differences, and the scatter-add by hand: each
    element's gradient is the sum of dL/dy over every place it was read to."""
    index = data.draw(index_for(x.shape))
    check_op(lambda t: t[index], lambda a: a[index], x)
    t = minigrad.Tensor(x, requires_grad=True)
    y = t[index]
    v = data.draw(arrays(y.shape))
    y.backward(v)
    ids = np.arange(x.size).reshape(x.shape)[index]  # which element each output read
    by_hand = np.bincount(np.ravel(ids), weights=np.ravel(v), minlength=x.size)
    np.testing.assert_allclose(t.grad, by_hand.reshape(x.shape))


def test_getitem_repeated_indices_add_up():
    x = minigrad.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    x[np.array([0, 2, 0, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0])
    m = minigrad.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    m[[0, 1, 1], [2, 0, 0]].backward(np.array([1.0, 10.0, 100.0]))  # two integer arrays
    np.testing.assert_array_equal(m.grad, [[0.0, 0.0, 1.0], [110.0, 0.0, 0.0]])
    m.grad = None
    m[m.data > 2].sum().backward()  # a boolean mask
    np.testing.assert_array_equal(m.grad, [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])


def test_iteration_and_len_follow_the_first_axis():
    x = minigrad.Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    rows = list(x)
    assert len(rows) == len(x) == 3 and all(r.shape == (2,) for r in rows)
    (rows[0] * 1 + rows[2] * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 1.0], [0.0, 0.0], [2.0, 2.0]])


@pytest.mark.parametrize(
    ("index", "error", "message"),
    [
        (3, minigrad.IndexingError, r"getitem: index 3 is out of range for axis 0 of size 3"),
        (
            (0, [5, -9]),
            minigrad.IndexingError,
            r"getitem: index 5 is out of range for axis 1 of size 2 \(shape \(3, 2\)\)",
        ),
        ((0, 0, 0), minigrad.IndexingError, r"getitem: too many indices .* shape \(3, 2\)"),
        (
            np.array([True, False]),
            minigrad.IndexingError,
            r"getitem: a boolean mask of shape \(2,\) does not fit .* must have shape \(3,\)",
        ),
        (1.5, minigrad.ArgumentError, r"getitem: indices must be ints, .* got float 1.5"),
        (np.array([0.0, 1.0]), minigrad.ArgumentError, r"getitem: indices must be ints"),
        (slice(0.5, 2), minigrad.ArgumentError, r"getitem: slice bounds must be ints or None"),
        ("a", minigrad.ArgumentError, r"getitem: indices must be ints"),
    ],
)
def test_bad_indices_are_clear_errors(index, error, message):
    with pytest.raises(error, match=message):
        minigrad.Tensor(np.ones((3, 2)))[index]
    assert issubclass(minigrad.IndexingError, IndexError)


@given(data=st.data())
def test_concat(data):
    shape = data.draw(shapes(max_dims=3))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    xs = []
    for _ in range(data.draw(st.integers(1, 3))):
        piece = list(shape)
        piece[axis] = data.draw(st.integers(1, 3))
        xs.append(data.draw(arrays(tuple(piece))))
    check_op(
        lambda *ts: minigrad.concat(ts, axis=axis),
        lambda *a: np.concatenate(a, axis=axis),
        *xs,
    )


def test_concat_cuts_the_gradient_back_into_pieces():
    a = minigrad.Tensor(np.ones((1, 2)), requires_grad=True)
    b = minigrad.Tensor(np.ones((1, 3)), requires_grad=True)
    minigrad.concat([a, b], axis=1).backward(np.array([[1.0, 2.0, 3.0, 4.0, 5.0]]))
    np.testing.assert_array_equal(a.grad, [[1.0, 2.0]])
    np.testing.assert_array_equal(b.grad, [[3.0, 4.0, 5.0]])


def test_concat_errors():
    with pytest.raises(
        minigrad.ShapeError,
        match=r"concat: input 1 has shape \(2, 2\), but input 0 has shape \(1, 3\); they must agree on every axis but 1",
    ):
        minigrad.concat([np.ones((1, 3)), np.ones((2, 2))], axis=1)
    with pytest.raises(minigrad.ArgumentError, match="concat: xs must be a non-empty list"):
        minigrad.concat([])
