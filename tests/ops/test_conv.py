"""conv2d and max_pool2d against direct loop implementations, and their VJPs."""

from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad.ops import conv
from minigrad.testing import arrays, check_op, conv2d_args, distinct_arrays, pool2d_args


def conv2d_loops(x, w, b=None, stride=(1, 1), padding=(0, 0)):
    """The definition, one output element at a time."""
    n, _, h, wd = x.shape
    f, _, kh, kw = w.shape
    (sh, sw), (ph, pw) = stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
    y = np.zeros((n, f, ho, wo))
    for i in range(n):
        for k in range(f):
            for p in range(ho):
                for q in range(wo):
                    window = xp[i, :, p * sh : p * sh + kh, q * sw : q * sw + kw]
                    y[i, k, p, q] = np.sum(window * w[k]) + (0 if b is None else b[k])
    return y


def max_pool_loops(x, kernel, stride):
    n, c, h, w = x.shape
    ho, wo = (h - kernel[0]) // stride[0] + 1, (w - kernel[1]) // stride[1] + 1
    y = np.zeros((n, c, ho, wo))
    for p in range(ho):
        for q in range(wo):
            r, s = p * stride[0], q * stride[1]
            y[:, :, p, q] = x[:, :, r : r + kernel[0], s : s + kernel[1]].max(axis=(2, 3))
    return y


@given(args=conv2d_args(), bias=st.booleans(), data=st.data())
def test_conv2d(args, bias, data):
    x = data.draw(arrays(args["x_shape"]))
    w = data.draw(arrays(args["w_shape"]))
    s, p = args["stride"], args["padding"]
    if bias:
        b = data.draw(arrays(args["w_shape"][:1]))
        check_op(
            lambda x, w, b: minigrad.conv2d(x, w, b, stride=s, padding=p),
            lambda x, w, b: conv2d_loops(x, w, b, s, p),
            x,
            w,
            b,
        )
    else:
        check_op(
            lambda x, w: minigrad.conv2d(x, w, stride=s, padding=p),
            lambda x, w: conv2d_loops(x, w, None, s, p),
            x,
            w,
        )


@pytest.mark.parametrize("take_limit", [0, 10**9], ids=["strided-copy", "take"])
@pytest.mark.parametrize("bias_row_min", [0, 10**9], ids=["bias-in-product", "bias-added"])
@given(args=conv2d_args(), data=st.data())
def test_conv2d_with_either_im2col(take_limit, bias_row_min, args, data):
    """Both ways im2col gathers the windows, whichever the sizes would pick: the copy of a
    strided view (large inputs) and ``np.take`` with an index table (small ones), each with
    and without the row of ones that carries the bias into the products."""
    x = data.draw(arrays(args["x_shape"]))
    w = data.draw(arrays(args["w_shape"]))
    b = data.draw(arrays(args["w_shape"][:1]))
    s, p = args["stride"], args["padding"]
    with (
        patch.object(conv, "_TAKE_LIMIT", take_limit),
        patch.object(conv, "_BIAS_ROW_MIN", bias_row_min),
    ):
        check_op(
            lambda x, w, b: minigrad.conv2d(x, w, b, stride=s, padding=p),
            lambda x, w, b: conv2d_loops(x, w, b, s, p),
            x,
            w,
            b,
        )


@pytest.mark.parametrize("bias_row_min", [0, 10**9], ids=["bias-in-product", "bias-added"])
@pytest.mark.parametrize("needs", ["x", "w", "b", "xb", "wb"])
def test_conv2d_gradients_of_any_subset_of_its_inputs(needs, bias_row_min):
    """Each gradient is the same whichever others are asked for (the bias's gradient comes
    from the weight's product when the weight needs one, from a sum of dL/dy otherwise)."""
    rng = np.random.default_rng(0)
    arrays_ = {
        "x": rng.standard_normal((2, 3, 6, 5)),
        "w": rng.standard_normal((4, 3, 3, 2)),
        "b": rng.standard_normal(4),
    }
    upstream = rng.standard_normal((2, 4, 2, 6))

    def grads(which):
        ts = {k: minigrad.Tensor(a, requires_grad=k in which) for k, a in arrays_.items()}
        with patch.object(conv, "_BIAS_ROW_MIN", bias_row_min):
            y = minigrad.conv2d(ts["x"], ts["w"], ts["b"], stride=(2, 1), padding=(0, 1))
        y.backward(upstream)
        return {k: t.grad for k, t in ts.items() if k in which}

    every = grads("xwb")
    for k, got in grads(needs).items():
        np.testing.assert_allclose(got, every[k], rtol=1e-12, atol=1e-12)


@given(args=pool2d_args(), data=st.data())
def test_max_pool2d(args, data):
    x = data.draw(distinct_arrays(args["x_shape"]))
    k, s = args["kernel_size"], args["stride"]
    check_op(lambda t: minigrad.max_pool2d(t, k, s), lambda a: max_pool_loops(a, k, s), x)


@pytest.mark.parametrize("min_width", [1, 10**9], ids=["nchw", "pixels-last"])
@given(args=pool2d_args(), data=st.data())
def test_max_pool2d_in_both_layouts(min_width, args, data):
    """Both kernels of max_pool2d, whichever the sizes would pick: NCHW for disjoint windows
    (at every width), pixels-last for all."""
    x = data.draw(distinct_arrays(args["x_shape"]))
    k, s = args["kernel_size"], args["stride"]
    with patch.object(conv, "_NCHW_POOL_MIN_WIDTH", min_width):
        check_op(lambda t: minigrad.max_pool2d(t, k, s), lambda a: max_pool_loops(a, k, s), x)


def test_max_pool_gradient_goes_to_the_maximum_only():
    x = minigrad.Tensor(np.array([[[[1.0, 5.0], [3.0, 2.0]]]]), requires_grad=True)
    minigrad.max_pool2d(x, 2).backward(np.array([[[[7.0]]]]))
    np.testing.assert_array_equal(x.grad, [[[[0.0, 7.0], [0.0, 0.0]]]])


def test_integer_stride_and_padding_mean_both_axes():
    x, w = np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3))
    assert minigrad.conv2d(x, w, stride=2, padding=1).shape == (1, 1, 3, 3)
    assert minigrad.conv2d(x, w, stride=(1, 2), padding=(0, 1)).shape == (1, 1, 3, 3)


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "kwargs", "message"),
    [
        (
            (1, 5, 5),
            (1, 1, 3, 3),
            {},
            r"conv2d: expected a 4-D input \(N, C, H, W\), got shape \(1, 5, 5\)",
        ),
        ((1, 2, 5, 5), (1, 3, 3, 3), {}, "conv2d: input has 2 channels .* weight expects 3"),
        ((1, 1, 2, 2), (1, 1, 3, 3), {}, "conv2d: kernel 3x3 is larger than the padded input 2x2"),
        ((1, 1, 5, 5), (1, 1, 3, 3), {"stride": 0}, "conv2d: stride must be >= 1"),
        ((1, 1, 5, 5), (1, 1, 3, 3), {"padding": -1}, "conv2d: padding must be >= 0"),
    ],
)
def test_conv2d_errors(x_shape, w_shape, kwargs, message):
    with pytest.raises(minigrad.ShapeError, match=message):
        minigrad.conv2d(np.ones(x_shape), np.ones(w_shape), **kwargs)


def avg_pool_loops(x, kernel, stride, padding):
    """The definition with count_include_pad=True: zeros of the padding count in the mean."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    y = np.zeros((*x.shape[:2], ho, wo))
    for p in range(ho):
        for q in range(wo):
            y[:, :, p, q] = xp[:, :, p * sh : p * sh + kh, q * sw : q * sw + kw].mean(axis=(2, 3))
    return y


@given(args=pool2d_args(), data=st.data())
def test_avg_pool2d(args, data):
    k, s = args["kernel_size"], args["stride"]
    pad = (data.draw(st.integers(0, k[0] // 2)), data.draw(st.integers(0, k[1] // 2)))
    x = data.draw(arrays(args["x_shape"]))
    check_op(
        lambda t: minigrad.avg_pool2d(t, k, s, pad),
        lambda a: avg_pool_loops(a, k, s, pad),
        x,
    )


def test_avg_pool2d_gradient_shares_each_output_among_its_window():
    # 2x2 windows, stride 2: every pixel is in one window and receives dL/dy / 4
    x = minigrad.Tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    upstream = np.array([[[[4.0, 8.0], [12.0, 16.0]]]])
    minigrad.avg_pool2d(x, 2).backward(upstream)
    np.testing.assert_array_equal(x.grad[0, 0], np.kron(upstream[0, 0] / 4, np.ones((2, 2))))


def test_avg_pool2d_padding_is_at_most_half_the_kernel():
    with pytest.raises(
        minigrad.ArgumentRangeError, match="avg_pool2d: padding must be at most half"
    ):
        minigrad.avg_pool2d(np.ones((1, 1, 4, 4)), 2, padding=2)


@pytest.mark.parametrize("take_limit", [0, 10**9], ids=["strided-copy", "take"])
def test_conv2d_and_max_pool2d_of_an_empty_batch(take_limit):
    """No images: empty outputs, zero weight and bias gradients, in every kernel (the bias
    in the products included)."""
    w = minigrad.Tensor(np.ones((2, 3, 3, 3)), requires_grad=True)
    b = minigrad.Tensor(np.ones(2), requires_grad=True)
    with patch.object(conv, "_TAKE_LIMIT", take_limit), patch.object(conv, "_BIAS_ROW_MIN", 0):
        y = minigrad.conv2d(np.zeros((0, 3, 16, 16)), w, b, padding=1)
    y.backward(np.zeros(y.shape))
    assert y.shape == (0, 2, 16, 16)
    np.testing.assert_array_equal(w.grad, np.zeros(w.shape))
    np.testing.assert_array_equal(b.grad, np.zeros(2))
    for kernel, out in ((2, 8), (3, 7)):  # disjoint windows in NCHW, overlapping pixels-last
        x = minigrad.Tensor(np.zeros((0, 3, 16, 16)), requires_grad=True)
        minigrad.max_pool2d(x, kernel, 2).backward(np.zeros((0, 3, out, out)))
        assert x.grad.shape == (0, 3, 16, 16)
