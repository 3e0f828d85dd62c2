"""matmul (with 1-D operands and broadcast batches) and the fused dense op ``linear``."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad.ops.linalg import product
from minigrad.testing import arrays, check_op


@st.composite
def matmul_shapes(draw):
    m, k, n = (draw(st.integers(1, 4)) for _ in range(3))
    kind = draw(st.sampled_from(["2d", "batched", "vec-left", "vec-right", "vec-vec"]))
    if kind == "vec-vec":
        return (k,), (k,)
    if kind == "vec-left":
        return (k,), draw(st.sampled_from([(k, n), (2, k, n)]))
    if kind == "vec-right":
        return draw(st.sampled_from([(m, k), (3, m, k)])), (k,)
    if kind == "2d":
        return (m, k), (k, n)
    batch_a, batch_b = draw(
        st.sampled_from([((2,), (2,)), ((2, 1), (3,)), ((), (2,)), ((1,), (3,))])
    )
    return (*batch_a, m, k), (*batch_b, k, n)


@given(shapes=matmul_shapes(), data=st.data())
def test_matmul(shapes, data):
    a = data.draw(arrays(shapes[0]))
    b = data.draw(arrays(shapes[1]))
    check_op(minigrad.matmul, np.matmul, a, b)


@given(data=st.data(), bias=st.booleans(), lead=st.sampled_from([(1,), (3,), (2, 3)]))
def test_linear(data, bias, lead):
    n_in, n_out = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 4))
    x = data.draw(arrays((*lead, n_in)))
    w = data.draw(arrays((n_out, n_in)))
    if bias:
        b = data.draw(arrays((n_out,)))
        check_op(minigrad.linear, lambda x, w, b: x @ w.T + b, x, w, b)
    else:
        check_op(minigrad.linear, lambda x, w: x @ w.T, x, w)


def test_matmul_inner_sizes_are_a_clear_error():
    with pytest.raises(
        minigrad.ShapeError,
        match=r"matmul: shapes \(2, 3\) and \(4, 5\) cannot be multiplied \(3 != 4\)",
    ):
        minigrad.Tensor(np.ones((2, 3))) @ minigrad.Tensor(np.ones((4, 5)))


def test_linear_feature_mismatch():
    with pytest.raises(minigrad.ShapeError, match="linear: input has 3 features"):
        minigrad.linear(np.ones((1, 3)), np.ones((2, 4)))


@pytest.mark.parametrize(
    "call",
    [
        lambda x, w: minigrad.matmul(x, w.T),
        lambda x, w: minigrad.linear(x, w),
        lambda x, w: minigrad.conv2d(x.reshape(1, 1, 1, 3), w.reshape(2, 1, 1, 3)),
    ],
    ids=["matmul", "linear", "conv2d"],
)
def test_matrix_products_refuse_mixed_dtypes(call):
    # As in PyTorch: a float64 batch fed to float32 weights is an error, not a silent
    # float64 copy of the whole model on every step.
    x = np.ones((1, 3))
    w = minigrad.Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    with pytest.raises(
        minigrad.DTypeError, match=r"expected inputs of one dtype, got \(float64, float32\)"
    ):
        call(x, w)


@given(
    data=st.data(),
    shapes=st.sampled_from(
        [((7, 1), (1, 3)), ((2, 1), (1, 4100)), ((2, 5, 1), (2, 1, 3)), ((4, 2), (2, 3))]
    ),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_product_of_the_vjps_is_the_matrix_product(data, shapes, dtype):
    """Each path of the VJPs' product (outer products with long or short rows, batched, plain)
    computes ``a @ b`` in the operands' dtype."""
    a = data.draw(arrays(shapes[0], dtype=dtype))
    b = data.draw(arrays(shapes[1], dtype=dtype))
    got = product(a, b)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, np.matmul(a, b), rtol=1e-6)
