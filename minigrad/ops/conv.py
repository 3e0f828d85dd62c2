"""Convolution and pooling over NCHW images: ``conv2d``, ``max_pool2d`` and ``avg_pool2d``.

The design document's convolution, for one image ``X`` and filter ``k``, is::

    Z^c[p, q, k] = sum_{i,j} X[p+i, q+j] . W^c[i, j, k] + b^c[k]

``conv2d`` computes the same cross-correlation for a batch, with channels, stride ``s``
and zero padding, in PyTorch's layout (``x`` (N, C, H, W), ``w`` (F, C, kh, kw))::

    y[n, f, p, q] = sum_{c,i,j} x_pad[n, c, s*p + i, s*q + j] . w[f, c, i, j] + b[f]

It is one matrix product. *im2col* gathers every window into a column:
``cols[n, (c, i, j), (p, q)] = x_pad[n, c, s*p + i, s*q + j]`` (one ``np.take`` with an
index table built once per shape), so that ``y[n] = W2 @ cols[n] + b`` with ``W2`` the
filters flattened to (F, C*kh*kw). The VJP follows from that product:

* ``dL/dW2 = sum_n dL/dy[n] @ cols[n]^T``, i.e. the document's
  ``dL/dW^c[i, j, k] = sum_{p,q} dL/dZ^c[p, q, k] . X[p+i, q+j]``;
* ``dL/db[f] = sum_{n,p,q} dL/dy[n, f, p, q]``, the document's ``sum_{p,q} dL/dZ^c[p, q, k]``;
* ``dL/dcols[n] = W2^T @ dL/dy[n]``, and *col2im* adds each column entry back to the
  pixel it was gathered from (a loop over the kh*kw kernel offsets, never over pixels).

For a batch, the bias rides in the products: the columns end with a row of ones and ``W2``
with the column ``b``, ``y[n] = [W2 | b] @ [cols[n]; 1]``, so one product gives ``dL/dW2`` and,
as its last column, ``dL/db`` (:func:`bias_in_product`).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from minigrad.arguments import int_or_pair
from minigrad.engine import Function, Node
from minigrad.errors import ArgumentRangeError, ShapeError
from minigrad.ops.linalg import check_same_dtype

if TYPE_CHECKING:
    from minigrad.tensor import Tensor

__all__ = ["avg_pool2d", "conv2d", "max_pool2d"]

Pair = tuple[int, int]


@lru_cache(maxsize=128)
def _window_index(c: int, hp: int, wp: int, kh: int, kw: int, sh: int, sw: int) -> np.ndarray:
    """Flat indices into one padded (C, Hp, Wp) image: shape (C*kh*kw, Ho*Wo).

    Row ``(c, i, j)``, column ``(p, q)`` holds the index of ``x_pad[c, sh*p + i, sw*q + j]``.
    """
    ho, wo = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    c_ = np.arange(c).reshape(c, 1, 1, 1, 1) * (hp * wp)
    i_ = np.arange(kh).reshape(1, kh, 1, 1, 1)
    j_ = np.arange(kw).reshape(1, 1, kw, 1, 1)
    p_ = np.arange(ho).reshape(1, 1, 1, ho, 1) * sh
    q_ = np.arange(wo).reshape(1, 1, 1, 1, wo) * sw
    index = c_ + (p_ + i_) * wp + (q_ + j_)
    index = index.reshape(c * kh * kw, ho * wo)
    index.flags.writeable = False
    return index


def _pad(x: np.ndarray, ph: int, pw: int) -> np.ndarray:
    if not (ph or pw):
        return x
    n, c, h, w = x.shape
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    out[:, :, ph : ph + h, pw : pw + w] = x
    return out


_TAKE_LIMIT = 32768  # column entries; see _im2col_by_take


def _im2col_by_take(x_pad: np.ndarray, kernel: Pair, stride: Pair) -> np.ndarray:
    """:func:`im2col` as one ``np.take`` with a cached index table.

    Speed case, for at most ``_TAKE_LIMIT`` column entries (a few small images): 5.0 us
    against 9.4 us for one 1x30x30 image and a 3x3 kernel. Above it, copying a sliding-window
    view streams memory and wins: 26 us against 130 us for sixteen such images (float32,
    measured with timeit on NumPy 2.4, on a 2-core machine shared with other work). End to
    end, a per-sample SGD step of the design document's CNN is 8% faster with it (bench,
    interleaved rounds with and without).
    """
    n, c, hp, wp = x_pad.shape
    index = _window_index(c, hp, wp, *kernel, *stride)
    return x_pad.reshape(n, c * hp * wp).take(index, axis=1)


def im2col(x_pad: np.ndarray, kernel: Pair, stride: Pair, ones: bool = False) -> np.ndarray:
    """Every (kh, kw) window of ``x_pad`` (N, C, Hp, Wp) as a column: (N, C*kh*kw, Ho*Wo).

    ``cols[n, (c, i, j), (p, q)] = x_pad[n, c, sh*p + i, sw*q + j]``, always a fresh array.
    With ``ones=True`` the columns end with one more row of ones (N, C*kh*kw + 1, Ho*Wo): the
    constant input that a bias multiplies (see :func:`with_bias`).
    """
    n, c, hp, wp = x_pad.shape
    (kh, kw), (sh, sw) = kernel, stride
    ho, wo = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    rows, size = c * kh * kw, ho * wo
    if n * rows * size <= _TAKE_LIMIT:
        cols = _im2col_by_take(x_pad, kernel, stride)
        return np.concatenate((cols, np.ones((n, 1, size), cols.dtype)), axis=1) if ones else cols
    cols = np.empty((n, rows + ones, size), dtype=x_pad.dtype)
    if ones:
        cols[:, rows] = 1
    # The windows as one read-only view (N, C, kh, kw, Ho, Wo), copied once into the columns
    # seen the same way: 5-20% faster than transposing NumPy's sliding_window_view (LeNet-5's
    # second convolution at batch 64: 0.42 ms against 0.49 ms, timeit).
    s_n, s_c, s_h, s_w = x_pad.strides
    windows = as_strided(
        x_pad, (n, c, kh, kw, ho, wo), (s_n, s_c, s_h, s_w, s_h * sh, s_w * sw), writeable=False
    )
    e = cols.itemsize
    steps = (cols.strides[0], kh * kw * size * e, kw * size * e, size * e, wo * e, e)
    as_strided(cols, windows.shape, steps)[...] = windows
    return cols


_BIAS_ROW_MIN = 32768  # column entries; see bias_in_product


def bias_in_product(b: np.ndarray | None, entries: int) -> bool:
    """Whether conv2d's bias rides in the matrix products (:func:`with_bias`) for columns of
    ``entries`` values, rather than being added to ``y`` and summed from ``dL/dy``.

    Speed case: the bias rides along from ``_BIAS_ROW_MIN`` column entries up (a batch of
    images). Below it the two concatenations cost more than the passes they save: 34.6 us
    against 32.3 us for conv2d's forward and backward of one 1x28x28 image with 8 filters
    (thread CPU time, NumPy 2.4, one thread).
    """
    return b is not None and entries >= _BIAS_ROW_MIN


def with_bias(w2: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """``[W2 | b]``: the filters (F, C*kh*kw) with the bias as one more column, so that
    ``[W2 | b] @ [cols; 1] = W2 @ cols + b`` and ``dL/d[W2 | b] = sum_n dL/dy[n] [cols[n]; 1]^T``
    holds ``dL/db = sum_{p,q} dL/dy`` in its last column.

    Speed case (see :func:`bias_in_product` for when): the bias rides in the matrix products
    instead of a pass over the output and one over its gradient. The design document's CNN at
    batch 64 (8 filters 3x3 on 28x28), forward and both weight gradients: 0.39 ms against
    0.50 ms; ``small_cifar``'s first convolution 2.4 ms against 2.9 ms (thread CPU time, NumPy
    2.4, one thread).
    """
    return w2 if b is None else np.concatenate((w2, b[:, None]), axis=1)


def col2im(
    cols: np.ndarray, padded_shape: tuple[int, ...], kernel: Pair, stride: Pair
) -> np.ndarray:
    """The adjoint of :func:`im2col`: add every column entry back to the pixel it came from."""
    n, c, hp, wp = padded_shape
    (kh, kw), (sh, sw) = kernel, stride
    ho, wo = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    cols = cols.reshape(n, c, kh, kw, ho, wo)
    out = np.zeros(padded_shape, dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, :, i : i + sh * (ho - 1) + 1 : sh, j : j + sw * (wo - 1) + 1 : sw] += cols[
                :, :, i, j
            ]
    return out


def col2im_of_product(
    w2t: np.ndarray, g: np.ndarray, padded_shape: tuple[int, ...], kernel: Pair, stride: Pair
) -> np.ndarray:
    """``col2im(w2t @ g[n] for every n)``: conv2d's ``dL/dx`` from ``W2^T`` and ``dL/dy``.

    Speed case: for a batch of images with several channels, the product and the adds run
    with the batch as the last axis, (C, Hp, Wp, N): one matrix product for the whole batch,
    and each kernel offset adds rows of Wo*N contiguous values instead of Wo. LeNet-5's
    second convolution at batch 64 (6 channels, 5x5): 1.8x faster; 16 channels, 3x3: 1.1x;
    one image or one channel: slower, so those keep the per-image product (interleaved
    rounds, NumPy 2.4, on a 2-core machine shared with other work).
    """
    n, c = padded_shape[:2]
    if n == 1 or c == 1:
        return col2im(np.matmul(w2t, g), padded_shape, kernel, stride)
    (kh, kw), (sh, sw) = kernel, stride
    f, ho, wo = g.shape[1], *output_size("conv2d", padded_shape[2:], kernel, stride, (0, 0))
    g_last = _transposed(g.reshape(n, f * ho * wo))  # (F, Ho, Wo, N)
    cols = np.matmul(w2t, g_last.reshape(f, ho * wo * n)).reshape(c, kh, kw, ho, wo, n)
    out = np.zeros((c, *padded_shape[2:], n), dtype=g.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, i : i + sh * (ho - 1) + 1 : sh, j : j + sw * (wo - 1) + 1 : sw] += cols[:, i, j]
    return _transposed(out.reshape(-1, n)).reshape(padded_shape)


def weight_grad(cols: np.ndarray, g: np.ndarray) -> np.ndarray:
    """conv2d's ``dL/dW2 = sum_n dL/dy[n] cols[n]^T`` (F, C*kh*kw), or ``dL/d[W2 | b]`` when
    ``cols`` ends with the row of ones, computed transposed as ``sum_n cols[n] dL/dy[n]^T``.

    Speed case: the same products with the operands swapped let BLAS read ``cols[n]`` as it is
    stored; at batch 64, LeNet-5's second convolution's ``dL/dW`` takes 0.42 ms instead of
    0.75 ms, ``resnet_mini``'s 0.25 ms instead of 0.46 ms and a 64x16x32x32 input with 32
    filters 9.1 ms instead of 11.6 ms; never slower at the suite's sizes (timeit, NumPy 2.4,
    one thread). One product per sample, then the sum over the batch: ``tensordot`` would
    first copy both operands into a transposed layout (8x slower at batch 64, measured).
    """
    return np.matmul(cols, g.transpose(0, 2, 1)).sum(axis=0).T


def _transposed(a: np.ndarray) -> np.ndarray:
    """``a.T`` of a 2-D array as a fresh C-ordered array, copied 64 rows of ``a`` at a time.

    Speed case: NumPy copies a transposed view element by element down the columns; when a row
    is a multiple of 4 KiB long those reads evict each other from the cache. In blocks of 64
    rows, a (1024, 1024) float32 transpose takes 1.7 ms instead of 11.6 ms (measured); other
    shapes take the same time either way.
    """
    rows, cols = a.shape
    out = np.empty((cols, rows), dtype=a.dtype)
    for start in range(0, rows, 64):
        out[:, start : start + 64] = a[start : start + 64].T
    return out


def _pixels_last(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) as a fresh C-ordered (H, W, N*C) array: each pixel's N*C values side by side.

    Speed case for max_pool2d: a window offset is then a view whose rows are N*C contiguous
    values, where in NCHW it reads every s-th float of a short row (a 2x2 pool of 64x6x28x28,
    forward and backward: 1.1 ms against 3.1 ms for argmax over im2col columns, measured).
    """
    n, c, h, w = x.shape
    return _transposed(x.reshape(n * c, h * w)).reshape(h, w, n * c)


def _pixels_first(a: np.ndarray, n: int, c: int) -> np.ndarray:
    """The inverse of :func:`_pixels_last`: (H, W, N*C) back to a C-ordered (N, C, H, W)."""
    h, w, _ = a.shape
    return _transposed(a.reshape(h * w, n * c)).reshape(n, c, h, w)


def _offsets(a: np.ndarray, kernel: Pair, stride: Pair, out: Pair, last: bool) -> list[np.ndarray]:
    """For each kernel offset (i, j), in row-major order, the view ``a[sh*p + i, sw*q + j]`` of
    the spatial axes of ``a``: axes 0 and 1 of a pixels-last (H, W, M) array, or the last two
    of an NCHW array (``last=True``)."""
    (kh, kw), (sh, sw), (ho, wo) = kernel, stride, out
    at = (Ellipsis,) if last else ()
    return [
        a[(*at, slice(i, i + sh * (ho - 1) + 1, sh), slice(j, j + sw * (wo - 1) + 1, sw))]
        for i in range(kh)
        for j in range(kw)
    ]


_NCHW_POOL_MIN_WIDTH = 7  # output columns; see _pool_in_place


def _pool_in_place(kernel: Pair, stride: Pair, out: Pair) -> bool:
    """Whether max pooling reads the NCHW input as it is (True) or transposed pixels-last.

    Speed case: disjoint windows (stride >= kernel) whose output rows hold at least
    ``_NCHW_POOL_MIN_WIDTH`` values are pooled in NCHW, without the four transposed copies of
    the pixels-last layout. Forward and backward, 2x2 windows: 64x16x32x32 2.9 ms against
    3.7 ms, 64x32x28x28 4.8 ms against 5.6 ms, 64x6x28x28 0.61 ms against 0.73 ms; with
    narrower outputs (64x16x10x10: 0.29 ms against 0.26 ms) or overlapping windows (3x3 stride
    2 over 64x8x26x26: 1.8 ms against 1.5 ms) the short strided rows cost more than the
    transposes save (thread CPU time, NumPy 2.4, one thread).
    """
    disjoint = stride[0] >= kernel[0] and stride[1] >= kernel[1]
    return disjoint and out[1] >= _NCHW_POOL_MIN_WIDTH


def window_max(
    x: np.ndarray, kernel: Pair, stride: Pair, out: Pair
) -> tuple[np.ndarray, np.ndarray]:
    """The maximum of every window of ``x`` (N, C, H, W), and where it is.

    Returns ``y`` (N, C, Ho, Wo) and ``arg``: the offset ``i*kw + j`` of the first maximum of
    each window in row-major order (the element ``argmax`` would pick), shaped (N, C, Ho, Wo)
    or, pixels-last, (Ho, Wo, N*C) (see :func:`_pool_in_place`). One pass per kernel offset,
    each over the whole batch at once.
    """
    n, c = x.shape[:2]
    in_place = _pool_in_place(kernel, stride, out)
    first, *rest = _offsets(x if in_place else _pixels_last(x), kernel, stride, out, in_place)
    y = first.copy()
    arg = np.zeros(y.shape, dtype=np.min_scalar_type(kernel[0] * kernel[1] - 1))
    for k, v in enumerate(rest, 1):
        wins = v > y  # strictly: on a tie the earlier offset keeps the window
        np.maximum(y, v, out=y)
        arg *= ~wins  # arg = k where v won, without a boolean-mask write (10x slower)
        arg += wins * arg.dtype.type(k)
    return (y if in_place else _pixels_first(y, n, c)), arg


def window_max_grad(
    grad: np.ndarray, arg: np.ndarray, x_shape: tuple[int, ...], kernel: Pair, stride: Pair
) -> np.ndarray:
    """The adjoint of :func:`window_max`: ``grad[n, c, p, q]`` goes to the input element at
    offset ``arg`` of window (p, q); an element that wins several windows receives the sum."""
    n, c, h, w = x_shape
    out = grad.shape[2:]
    in_place = arg.ndim == 4
    g = grad if in_place else _pixels_last(grad)
    dx = np.zeros(x_shape if in_place else (h, w, n * c), dtype=grad.dtype)
    disjoint = stride[0] >= kernel[0] and stride[1] >= kernel[1]
    for k, d in enumerate(_offsets(dx, kernel, stride, out, in_place)):
        if disjoint:
            np.multiply(g, arg == k, out=d)
        else:
            d += g * (arg == k)
    return dx if in_place else _pixels_first(dx, n, c)


@lru_cache(maxsize=256)  # shape bookkeeping, once per shape rather than once per call
def output_size(op: str, size: Pair, kernel: Pair, stride: Pair, padding: Pair) -> Pair:
    """``(Ho, Wo)`` of a sliding window: ``(H + 2*ph - kh) // sh + 1`` and likewise for W.

    Raises a ShapeError naming ``op`` when the kernel is larger than the padded input.
    """
    out = []
    for axis, n, k, s, p in zip(("height", "width"), size, kernel, stride, padding, strict=True):
        if k > n + 2 * p:
            raise ShapeError(
                f"{op}: kernel {kernel[0]}x{kernel[1]} is larger than the padded input "
                f"{size[0] + 2 * padding[0]}x{size[1] + 2 * padding[1]} ({axis} {k} > {n + 2 * p})"
            )
        out.append((n + 2 * p - k) // s + 1)
    return out[0], out[1]


class Conv2d(Function):
    """2-D cross-correlation of ``x`` (N, C, H, W) with ``w`` (F, C, kh, kw), plus ``b`` (F,).

    Forward: ``y[n, f, p, q] = sum_{c,i,j} x_pad[n, c, s*p+i, s*q+j] w[f, c, i, j] + b[f]``.
    VJP: ``dL/dw = sum_n dL/dy[n] cols[n]^T``, ``dL/db = sum_{n,p,q} dL/dy``,
    ``dL/dx = col2im(W2^T dL/dy)`` (see the module docstring for the derivation). The bias is
    the weight of a constant input 1: ``y[n] = [W2 | b] [cols[n]; 1]``.

    Derivation: ``docs/derivations/conv.md#conv2d``
    """

    name = "conv2d"

    @staticmethod
    def check(
        x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *, stride: Pair, padding: Pair
    ) -> None:
        check_same_dtype("conv2d", x, w, b)
        if x.ndim != 4:
            raise ShapeError(
                f"conv2d: expected a 4-D input (N, C, H, W), got shape {x.shape}"
                + ("; add a batch axis, e.g. x.reshape(1, *x.shape)" if x.ndim == 3 else "")
            )
        if w.ndim != 4:
            raise ShapeError(f"conv2d: expected a 4-D weight (F, C, kh, kw), got shape {w.shape}")
        if not (w.shape[2] and w.shape[3]):
            raise ShapeError(f"conv2d: the kernel must be at least 1x1, got weight shape {w.shape}")
        if x.shape[1] != w.shape[1]:
            raise ShapeError(
                f"conv2d: input has {x.shape[1]} channels (shape {x.shape}) but the weight "
                f"expects {w.shape[1]} (shape {w.shape})"
            )
        if b is not None and b.shape != (w.shape[0],):
            raise ShapeError(f"conv2d: bias must have shape ({w.shape[0]},), got {b.shape}")
        output_size("conv2d", x.shape[2:], w.shape[2:], stride, padding)

    @staticmethod
    def forward(
        ctx: Node,
        x: np.ndarray,
        w: np.ndarray,
        b: np.ndarray | None = None,
        *,
        stride: Pair,
        padding: Pair,
    ) -> np.ndarray:
        n, c, h, wd = x.shape
        f, _, kh, kw = w.shape
        ho, wo = output_size("conv2d", (h, wd), (kh, kw), stride, padding)
        x_pad = _pad(x, *padding)
        ones = bias_in_product(b, n * c * kh * kw * ho * wo)
        cols = im2col(x_pad, (kh, kw), stride, ones=ones)  # [cols; 1] when the bias rides along
        w2 = w.reshape(f, c * kh * kw)
        y = np.matmul(with_bias(w2, b) if ones else w2, cols)  # W2 cols[n] (+ b)
        if b is not None and not ones:
            y += b[:, None]
        need_x, need_w = ctx.needs_input_grad[:2]
        ctx.save_for_backward(
            cols if need_w else None, w2 if need_x else None, x_pad.shape, w.shape, stride, padding
        )
        return y.reshape(n, f, ho, wo)

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        cols, w2, padded_shape, w_shape, stride, (ph, pw) = ctx.saved_tensors
        need = ctx.needs_input_grad
        n, f = grad.shape[:2]
        g = grad.reshape(n, f, grad.shape[2] * grad.shape[3])  # not -1: n may be 0
        gx = gw = gb = None
        if need[0]:
            gx = col2im_of_product(w2.T, g, padded_shape, w_shape[2:], stride)
            if ph or pw:
                gx = gx[:, :, ph : padded_shape[2] - ph, pw : padded_shape[3] - pw]
        need_b = len(need) == 3 and need[2]
        k = math.prod(w_shape[1:])  # C*kh*kw: cols has one row more when the bias rode along
        if need[1]:
            gwb = weight_grad(cols, g)  # dL/dW2, or dL/d[W2 | b]
            gw = gwb[:, :k].reshape(w_shape)
            gb = gwb[:, k] if need_b and gwb.shape[1] > k else None
        if need_b and gb is None:
            gb = g.sum(axis=(0, 2))  # sum_{n,p,q} dL/dy[n, f, p, q]
        return (gx, gw) if len(need) == 2 else (gx, gw, gb)


class MaxPool2d(Function):
    """Max over each (kh, kw) window of every channel, windows ``stride`` apart.

    Forward: ``y[n, c, p, q] = max_{i,j} x[n, c, s*p+i, s*q+j]``.
    VJP: the whole ``dL/dy[n, c, p, q]`` goes to the one input that was the maximum
    (the first one, on ties), and nothing to the others of that window.

    Derivation: ``docs/derivations/conv.md#max_pool2d``
    """

    name = "max_pool2d"

    @staticmethod
    def check(x: np.ndarray, *, kernel_size: Pair, stride: Pair) -> None:
        if x.ndim != 4:
            raise ShapeError(f"max_pool2d: expected a 4-D input (N, C, H, W), got shape {x.shape}")
        output_size("max_pool2d", x.shape[2:], kernel_size, stride, (0, 0))

    @staticmethod
    def forward(ctx: Node, x: np.ndarray, *, kernel_size: Pair, stride: Pair) -> np.ndarray:
        out = output_size("max_pool2d", x.shape[2:], kernel_size, stride, (0, 0))
        y, arg = window_max(x, kernel_size, stride, out)
        ctx.save_for_backward(arg, x.shape, kernel_size, stride)
        return y

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray]:
        arg, x_shape, kernel_size, stride = ctx.saved_tensors
        return (window_max_grad(grad, arg, x_shape, kernel_size, stride),)


class AvgPool2d(Function):
    """Mean over each (kh, kw) window of the zero-padded input, windows ``stride`` apart.

    Forward: ``y[n, c, p, q] = (1 / (kh kw)) sum_{i,j} x_pad[n, c, s*p+i, s*q+j]``; the padding
    zeros count in the mean (PyTorch's default ``count_include_pad=True``).
    VJP: every input of a window receives ``dL/dy[n, c, p, q] / (kh kw)``; a pixel in several
    windows receives the sum, and the padding's share is dropped.

    Derivation: ``docs/derivations/conv.md#avg_pool2d``
    """

    name = "avg_pool2d"

    @staticmethod
    def check(x: np.ndarray, *, kernel_size: Pair, stride: Pair, padding: Pair) -> None:
        if x.ndim != 4:
            raise ShapeError(f"avg_pool2d: expected a 4-D input (N, C, H, W), got shape {x.shape}")
        check_pool_padding("avg_pool2d", kernel_size, padding)
        output_size("avg_pool2d", x.shape[2:], kernel_size, stride, padding)

    @staticmethod
    def forward(
        ctx: Node, x: np.ndarray, *, kernel_size: Pair, stride: Pair, padding: Pair
    ) -> np.ndarray:
        n, c, h, w = x.shape
        ho, wo = output_size("avg_pool2d", (h, w), kernel_size, stride, padding)
        x_pad = _pad(x.reshape(n * c, 1, h, w), *padding)
        windows = im2col(x_pad, kernel_size, stride)  # (N*C, kh*kw, L)
        ctx.save_for_backward(x_pad.shape, x.shape, kernel_size, stride, padding)
        return windows.mean(axis=1).reshape(n, c, ho, wo)

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray]:
        padded_shape, x_shape, (kh, kw), stride, (ph, pw) = ctx.saved_tensors
        share = grad.reshape(padded_shape[0], 1, -1) / (kh * kw)
        dwin = np.broadcast_to(share, (padded_shape[0], kh * kw, share.shape[2]))
        dx = col2im(dwin, padded_shape, (kh, kw), stride)
        dx = dx[:, :, ph : padded_shape[2] - ph, pw : padded_shape[3] - pw]
        return (dx.reshape(x_shape),)


def check_pool_padding(op: str, kernel_size: Pair, padding: Pair) -> None:
    """Padding of at most half the kernel, as PyTorch demands: a window never holds only
    padding."""
    if padding[0] > kernel_size[0] // 2 or padding[1] > kernel_size[1] // 2:
        raise ArgumentRangeError(
            f"{op}: padding must be at most half the kernel size, got padding {padding} for "
            f"kernel_size {kernel_size}"
        )


def conv2d(
    x: Tensor | Any,
    weight: Tensor | Any,
    bias: Tensor | Any | None = None,
    stride: int | Pair = 1,
    padding: int | Pair = 0,
) -> Tensor:
    """2-D convolution (cross-correlation, as PyTorch) of NCHW ``x`` with ``weight`` (F, C, kh, kw).

    Output shape: ``(N, F, (H + 2*ph - kh) // sh + 1, (W + 2*pw - kw) // sw + 1)``.

    The design document's worked example: the top-left output of ``[[1, 2, 3], [4, 5, 6],
    [7, 8, 9]]`` with the kernel ``[[1, 0], [0, -1]]`` is ``1*1 + 5*(-1) = -4``.

    >>> import minigrad, numpy as np
    >>> x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    >>> k = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])
    >>> minigrad.conv2d(x, k).data
    array([[[[-4., -4.],
             [-4., -4.]]]])
    """
    s = int_or_pair("conv2d", "stride", stride, 1)
    p = int_or_pair("conv2d", "padding", padding, 0)
    if bias is None:
        return Conv2d.apply(x, weight, stride=s, padding=p)
    return Conv2d.apply(x, weight, bias, stride=s, padding=p)


def max_pool2d(
    x: Tensor | Any, kernel_size: int | Pair, stride: int | Pair | None = None
) -> Tensor:
    """Max pooling over (kh, kw) windows; ``stride`` defaults to ``kernel_size``, as PyTorch.

    >>> import minigrad, numpy as np
    >>> minigrad.max_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2).data
    array([[[[ 5.,  7.],
             [13., 15.]]]])
    """
    k = int_or_pair("max_pool2d", "kernel_size", kernel_size, 1)
    s = k if stride is None else int_or_pair("max_pool2d", "stride", stride, 1)
    return MaxPool2d.apply(x, kernel_size=k, stride=s)


def avg_pool2d(
    x: Tensor | Any,
    kernel_size: int | Pair,
    stride: int | Pair | None = None,
    padding: int | Pair = 0,
) -> Tensor:
    """Average pooling over (kh, kw) windows; ``stride`` defaults to ``kernel_size``, as PyTorch.

    Zero padding counts in each mean (PyTorch's default ``count_include_pad=True``).

    >>> import minigrad, numpy as np
    >>> minigrad.avg_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2).data
    array([[[[ 2.5,  4.5],
             [10.5, 12.5]]]])
    """
    k = int_or_pair("avg_pool2d", "kernel_size", kernel_size, 1)
    s = k if stride is None else int_or_pair("avg_pool2d", "stride", stride, 1)
    p = int_or_pair("avg_pool2d", "padding", padding, 0)
    return AvgPool2d.apply(x, kernel_size=k, stride=s, padding=p)
