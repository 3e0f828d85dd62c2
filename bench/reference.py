"""Hand-written NumPy: the design document's CNN, conv2d and max_pool2d, with no framework at all.

This is the ceiling minigrad is measured against. It computes exactly what minigrad computes
(same layouts: NCHW images, conv weight (F, C, kh, kw), dense weight (out, in) as PyTorch's
``Linear``), with the document's formulas written out by hand:

* forward: ``Z^c = W2 @ cols + b^c`` (im2col by one ``np.take`` with a cached index table),
  ``A^c = max(0, Z^c)``, ``A^f = flatten(A^c)``, ``Z^d = A^f W^T + b^d``, softmax;
* loss: ``L = -(1/N) sum_n log yhat[n, t_n]``;
* backward: ``dL/dZ^d = (yhat - y) / N``, ``dL/dW = (dL/dZ^d)^T A^f``, ``dL/db^d = sum_n``,
  ``dL/dA^f = dL/dZ^d W``, ``dL/dZ^c = dL/dA^c * 1(Z^c > 0)``,
  ``dL/dW^c = sum_n dL/dZ^c[n] cols[n]^T``, ``dL/db^c = sum_{n,p,q} dL/dZ^c``;
* SGD: ``W <- W - eta dL/dW``, in place.

``bench`` checks, before timing anything, that these give the same numbers as minigrad
(``tests/test_bench_reference.py`` does too, in float64).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "CNNParams",
    "conv2d_backward",
    "conv2d_forward",
    "init_cnn",
    "max_pool2d_backward",
    "max_pool2d_forward",
    "numpy_cnn_grads",
    "numpy_cnn_step",
    "transposed",
    "window_index",
]


@lru_cache(maxsize=32)
def window_index(c: int, h: int, w: int, kh: int, kw: int, s: int = 1) -> np.ndarray:
    """Flat indices into one (C, H, W) image: row ``(c, i, j)``, column ``(p, q)``."""
    ho, wo = (h - kh) // s + 1, (w - kw) // s + 1
    c_ = np.arange(c).reshape(c, 1, 1, 1, 1) * (h * w)
    i_ = np.arange(kh).reshape(1, kh, 1, 1, 1)
    j_ = np.arange(kw).reshape(1, 1, kw, 1, 1)
    p_ = np.arange(ho).reshape(1, 1, 1, ho, 1) * s
    q_ = np.arange(wo).reshape(1, 1, 1, 1, wo) * s
    return (c_ + (p_ + i_) * w + (q_ + j_)).reshape(c * kh * kw, ho * wo)


def im2col(x: np.ndarray, kh: int, kw: int, s: int = 1) -> np.ndarray:
    """(N, C, H, W) -> (N, C*kh*kw, Ho*Wo): every window (``s`` apart) as a column.

    Small inputs: one ``np.take`` with the cached index table; large ones: a copy of the
    ``sliding_window_view`` (measured faster above about 32k column entries).
    """
    n, c, h, w = x.shape
    ho, wo = (h - kh) // s + 1, (w - kw) // s + 1
    if n * c * kh * kw * ho * wo <= 32768:
        return x.reshape(n, c * h * w).take(window_index(c, h, w, kh, kw, s), axis=1)
    windows = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::s, ::s]
    return windows.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, ho * wo)


def col2im(dcols: np.ndarray, shape: tuple[int, ...], kh: int, kw: int, s: int = 1) -> np.ndarray:
    """The adjoint of :func:`im2col`: add each column entry back to its pixel."""
    n, c, h, w = shape
    ho, wo = (h - kh) // s + 1, (w - kw) // s + 1
    dcols = dcols.reshape(n, c, kh, kw, ho, wo)
    dx = np.zeros(shape, dtype=dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            rows, cols = slice(i, i + s * (ho - 1) + 1, s), slice(j, j + s * (wo - 1) + 1, s)
            dx[:, :, rows, cols] += dcols[:, :, i, j]
    return dx


def conv2d_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1, padding: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``y[n] = W2 @ cols[n] + b`` over the zero-padded input; returns ``(y, cols)``."""
    n, _, h, wd = x.shape
    f, c, kh, kw = w.shape
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = im2col(x, kh, kw, stride)
    y = np.matmul(w.reshape(f, c * kh * kw), cols)
    y += b[:, None]
    ho, wo = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    return y.reshape(n, f, ho, wo), cols


def conv2d_backward(
    gy: np.ndarray,
    cols: np.ndarray,
    x_shape: tuple[int, ...],
    w: np.ndarray,
    stride: int = 1,
    padding: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dL/dx, dL/dw, dL/db)`` from ``gy = dL/dy`` and the forward's ``cols``."""
    n, f = gy.shape[:2]
    _, c, kh, kw = w.shape
    g = gy.reshape(n, f, -1)
    gw = np.matmul(g, cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    gb = g.sum(axis=(0, 2))
    dcols = np.matmul(w.reshape(f, c * kh * kw).T, g)
    p = padding
    padded = (n, c, x_shape[2] + 2 * p, x_shape[3] + 2 * p)
    gx = col2im(dcols, padded, kh, kw, stride)
    return gx[:, :, p : padded[2] - p, p : padded[3] - p], gw, gb


def transposed(a: np.ndarray) -> np.ndarray:
    """``a.T`` as a C-ordered copy, 64 rows of ``a`` at a time (a plain copy of ``a.T`` thrashes
    the cache when a row is a multiple of 4 KiB long)."""
    out = np.empty(a.shape[::-1], dtype=a.dtype)
    for start in range(0, a.shape[0], 64):
        out[:, start : start + 64] = a[start : start + 64].T
    return out


def max_pool2d_forward(x: np.ndarray, k: int, s: int) -> tuple[np.ndarray, np.ndarray]:
    """``y[n, c, p, q] = max_{i,j} x[n, c, s*p + i, s*q + j]`` and the argmax offset ``i*k + j``.

    The same algorithm as minigrad's kernel: the image transposed to (H, W, N*C), then one
    pass per kernel offset over a view whose rows are N*C contiguous values.
    """
    n, c, h, w = x.shape
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    xt = transposed(x.reshape(n * c, h * w)).reshape(h, w, n * c)
    y = xt[0 : s * (ho - 1) + 1 : s, 0 : s * (wo - 1) + 1 : s].copy()
    arg = np.zeros(y.shape, np.uint8)
    for i in range(k):
        for j in range(k):
            if i == j == 0:
                continue
            v = xt[i : i + s * (ho - 1) + 1 : s, j : j + s * (wo - 1) + 1 : s]
            wins = v > y
            np.maximum(y, v, out=y)
            arg *= ~wins
            arg += wins * np.uint8(i * k + j)
    return transposed(y.reshape(ho * wo, n * c)).reshape(n, c, ho, wo), arg


def max_pool2d_backward(
    gy: np.ndarray, arg: np.ndarray, x_shape: tuple[int, ...], k: int, s: int
) -> np.ndarray:
    """``dL/dx``: each ``gy[n, c, p, q]`` added to the maximum of window (p, q)."""
    n, c, h, w = x_shape
    ho, wo = gy.shape[2:]
    gt = transposed(gy.reshape(n * c, ho * wo)).reshape(ho, wo, n * c)
    dx = np.zeros((h, w, n * c), gy.dtype)
    for i in range(k):
        for j in range(k):
            rows, cols = slice(i, i + s * (ho - 1) + 1, s), slice(j, j + s * (wo - 1) + 1, s)
            dx[rows, cols] += gt * (arg == i * k + j)
    return transposed(dx.reshape(h * w, n * c)).reshape(x_shape)


@dataclass
class CNNParams:
    """The seed CNN's four parameters, in minigrad's layouts."""

    conv_w: np.ndarray  # (F, 1, 3, 3)
    conv_b: np.ndarray  # (F,)
    dense_w: np.ndarray  # (10, F*Ho*Wo)
    dense_b: np.ndarray  # (10,)

    def arrays(self) -> list[np.ndarray]:
        return [self.conv_w, self.conv_b, self.dense_w, self.dense_b]

    def copy(self) -> CNNParams:
        return CNNParams(*(a.copy() for a in self.arrays()))


def init_cnn(
    rng: np.random.Generator,
    size: int = 28,
    filters: int = 8,
    classes: int = 10,
    dtype: type = np.float32,
) -> CNNParams:
    """He-normal conv filters, small dense weights, zero biases."""
    fan = filters * (size - 2) ** 2
    return CNNParams(
        (rng.standard_normal((filters, 1, 3, 3)) * np.sqrt(2 / 9)).astype(dtype),
        np.zeros(filters, dtype),
        (rng.standard_normal((classes, fan)) * np.sqrt(1 / fan)).astype(dtype),
        np.zeros(classes, dtype),
    )


def numpy_cnn_grads(
    params: CNNParams, x: np.ndarray, target: np.ndarray
) -> tuple[float, list[np.ndarray]]:
    """Loss and ``[dL/dW^c, dL/db^c, dL/dW^d, dL/db^d]`` for images ``x`` (N, 1, H, W)."""
    n = x.shape[0]
    # Forward.
    zc, cols = conv2d_forward(x, params.conv_w, params.conv_b)  # Z^c (N, F, Ho, Wo)
    mask = zc > 0
    ac = np.maximum(zc, 0)  # A^c = max(0, Z^c)
    af = ac.reshape(n, -1)  # A^f
    zd = np.dot(af, params.dense_w.T)  # Z^d = A^f W^T + b^d
    zd += params.dense_b
    shifted = zd - zd.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    s = e.sum(axis=1, keepdims=True)
    yhat = e / s
    rows = np.arange(n)
    loss = float(-(shifted[rows, target] - np.log(s[:, 0])).mean())
    # Backward.
    gzd = yhat
    gzd[rows, target] -= 1  # yhat - y
    gzd /= n  # dL/dZ^d = (yhat - y) / N
    # dL/dW = (dL/dZ^d)^T A^f; for one sample an outer product, cheaper by broadcasting
    gwd = gzd.T * af if n == 1 else np.dot(gzd.T, af)
    gbd = gzd.sum(axis=0)
    gaf = np.dot(gzd, params.dense_w)  # dL/dA^f = dL/dZ^d W
    gzc = gaf.reshape(zc.shape) * mask  # dL/dZ^c = dL/dA^c * 1(Z^c > 0)
    f = zc.shape[1]
    g = gzc.reshape(n, f, -1)
    gwc = np.matmul(g, cols.transpose(0, 2, 1)).sum(axis=0).reshape(params.conv_w.shape)
    gbc = g.sum(axis=(0, 2))
    return loss, [gwc, gbc, gwd, gbd]


def numpy_cnn_step(params: CNNParams, x: np.ndarray, target: np.ndarray, lr: float) -> float:
    """One SGD step on the batch ``x`` (N, 1, H, W); the parameters change in place."""
    loss, grads = numpy_cnn_grads(params, x, target)
    for p, g in zip(params.arrays(), grads, strict=True):
        p -= lr * g
    return loss
