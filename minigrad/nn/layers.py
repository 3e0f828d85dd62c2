"""The layers: ``Conv2d``, ``Linear``, ``ReLU``, ``Flatten``, ``MaxPool2d``, ``LogSoftmax``.

Each layer calls the public op of the same name (``Conv2d`` calls :func:`minigrad.conv2d`, ...)
and knows its output shape for an input shape (both without the batch axis), so shapes are
inferred without running data.

Weights are initialised from a seeded ``numpy.random.Generator`` (pass ``rng=`` a Generator or
an int seed), drawn in float64 and then cast to ``dtype`` (float32 by default), so one seed
gives the same weights in every dtype. Biases start at zero. ``init`` chooses the scheme, with
``fan_in`` the inputs and ``fan_out`` the outputs that one weight connects
(``in_channels * kh * kw`` and ``out_channels * kh * kw`` for a convolution):

* ``"he"`` (Kaiming normal, for layers followed by ReLU): ``W ~ N(0, 2 / fan_in)``;
* ``"glorot"`` (Xavier uniform): ``W ~ U(-a, a)`` with ``a = sqrt(6 / (fan_in + fan_out))``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import minigrad
from minigrad.arguments import choice, float_dtype, int_or_pair, integer, positive_int
from minigrad.errors import ShapeError
from minigrad.nn.module import Module, Parameter, Shape
from minigrad.ops.conv import output_size
from minigrad.tensor import Tensor

__all__ = ["Conv2d", "Flatten", "Linear", "LogSoftmax", "MaxPool2d", "ReLU", "Softmax"]

INITS = ("he", "glorot")
RNG = np.random.Generator | int | None


def init_weight(
    shape: tuple[int, ...], fan_in: int, fan_out: int, init: str, rng: RNG, dtype: Any
) -> np.ndarray:
    """A weight array drawn with the He or Glorot scheme (see the module docstring).

    >>> init_weight((2, 3), 3, 2, "glorot", 0, np.float32).dtype
    dtype('float32')
    """
    gen = np.random.default_rng(rng)
    if init == "he":
        w = gen.standard_normal(shape) * math.sqrt(2.0 / fan_in)
    elif init == "glorot":
        a = math.sqrt(6.0 / (fan_in + fan_out))
        w = gen.uniform(-a, a, size=shape)
    else:
        choice("init_weight", "init", init, INITS)
    return w.astype(dtype)


class Linear(Module):
    """The dense layer ``y = x W^T + b`` (the design document's ``Z^d = A^f W^d + b^d``).

    ``weight`` has shape (out_features, in_features), as PyTorch; it acts on the last axis.

    >>> import numpy as np
    >>> from minigrad import nn
    >>> layer = nn.Linear(288, 10, rng=0)
    >>> layer.weight.shape, layer.weight.dtype
    ((10, 288), dtype('float32'))
    >>> layer(np.zeros((1, 288), dtype=np.float32)).shape
    (1, 10)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        init: str = "glorot",
        dtype: Any = np.float32,
        rng: RNG = None,
    ) -> None:
        super().__init__()
        self.in_features = positive_int("Linear", "in_features", in_features)
        self.out_features = positive_int("Linear", "out_features", out_features)
        choice("Linear", "init", init, INITS)
        dt = float_dtype("Linear", "dtype", dtype)
        shape = (self.out_features, self.in_features)
        self.weight = Parameter(
            init_weight(shape, self.in_features, self.out_features, init, rng, dt)
        )
        self.register_parameter("bias", Parameter(np.zeros(out_features, dt)) if bias else None)

    def forward(self, x: Tensor | Any) -> Tensor:
        return minigrad.linear(x, self.weight, self.bias)

    def output_shape(self, input_shape: Shape) -> Shape:
        if not input_shape or input_shape[-1] != self.in_features:
            raise ShapeError(
                f"Linear expects {self.in_features} features on the last axis, "
                f"got input shape {tuple(input_shape)}"
            )
        return (*input_shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Conv2d(Module):
    """2-D convolution over NCHW images: ``out_channels`` filters of ``kernel_size``.

    ``weight`` has shape (out_channels, in_channels, kh, kw), as PyTorch. Output size per
    spatial axis: ``(size + 2 * padding - kernel) // stride + 1``.

    >>> import numpy as np
    >>> from minigrad import nn
    >>> conv = nn.Conv2d(1, 8, 3, rng=0)          # the design document's 8 filters of 3x3
    >>> conv.output_shape((1, 8, 8))
    (8, 6, 6)
    >>> conv(np.zeros((2, 1, 8, 8), dtype=np.float32)).shape
    (2, 8, 6, 6)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        bias: bool = True,
        *,
        init: str = "he",
        dtype: Any = np.float32,
        rng: RNG = None,
    ) -> None:
        super().__init__()
        self.in_channels = positive_int("Conv2d", "in_channels", in_channels)
        self.out_channels = positive_int("Conv2d", "out_channels", out_channels)
        self.kernel_size = int_or_pair("Conv2d", "kernel_size", kernel_size, 1)
        self.stride = int_or_pair("Conv2d", "stride", stride, 1)
        self.padding = int_or_pair("Conv2d", "padding", padding, 0)
        choice("Conv2d", "init", init, INITS)
        dt = float_dtype("Conv2d", "dtype", dtype)
        kh, kw = self.kernel_size
        shape = (self.out_channels, self.in_channels, kh, kw)
        fan_in, fan_out = self.in_channels * kh * kw, self.out_channels * kh * kw
        self.weight = Parameter(init_weight(shape, fan_in, fan_out, init, rng, dt))
        self.register_parameter("bias", Parameter(np.zeros(out_channels, dt)) if bias else None)

    def forward(self, x: Tensor | Any) -> Tensor:
        return minigrad.conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 3:
            raise ShapeError(
                f"Conv2d expects an input of shape (C, H, W), got {tuple(input_shape)}"
            )
        c, h, w = input_shape
        if c != self.in_channels:
            raise ShapeError(
                f"Conv2d expects {self.in_channels} input channels, got input shape "
                f"{tuple(input_shape)}"
            )
        return (self.out_channels, *_spatial("Conv2d", (h, w), self))

    def extra_repr(self) -> str:
        k, s, p = self.kernel_size, self.stride, self.padding
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={k}, stride={s}, "
            f"padding={p}, bias={self.bias is not None}"
        )


def _spatial(layer: str, size: tuple[int, int], m: Any) -> tuple[int, int]:
    """Output height and width of a sliding window (``m`` has kernel_size, stride, padding):
    the very computation, and error, of the op the layer calls."""
    return output_size(layer, size, m.kernel_size, m.stride, m.padding)


class MaxPool2d(Module):
    """Max over ``kernel_size`` windows; ``stride`` defaults to ``kernel_size``, as PyTorch.

    >>> from minigrad import nn
    >>> nn.MaxPool2d(2).output_shape((6, 28, 28))
    (6, 14, 14)
    """

    def __init__(
        self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None
    ) -> None:
        super().__init__()
        self.kernel_size = int_or_pair("MaxPool2d", "kernel_size", kernel_size, 1)
        self.stride = (
            self.kernel_size if stride is None else int_or_pair("MaxPool2d", "stride", stride, 1)
        )
        self.padding = (0, 0)

    def forward(self, x: Tensor | Any) -> Tensor:
        return minigrad.max_pool2d(x, self.kernel_size, self.stride)

    def output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 3:
            raise ShapeError(
                f"MaxPool2d expects an input of shape (C, H, W), got {tuple(input_shape)}"
            )
        c, h, w = input_shape
        return (c, *_spatial("MaxPool2d", (h, w), self))

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class ReLU(Module):
    """``max(0, x)`` elementwise (the design document's ``A^c = max(0, Z^c)``)."""

    def forward(self, x: Tensor | Any) -> Tensor:
        return minigrad.relu(x)

    def output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)


class Flatten(Module):
    """Merge every axis from ``start_axis`` on (the batch axis is 0): (N, C, H, W) -> (N, C*H*W).

    >>> from minigrad import nn
    >>> nn.Flatten().output_shape((8, 6, 6))
    (288,)
    """

    def __init__(self, start_axis: int = 1) -> None:
        super().__init__()
        self.start_axis = integer("Flatten", "start_axis", start_axis, 1)  # 0 is the batch

    def forward(self, x: Tensor | Any) -> Tensor:
        return minigrad.flatten(x, self.start_axis)

    def output_shape(self, input_shape: Shape) -> Shape:
        start = self.start_axis - 1
        if start >= len(input_shape):
            raise ShapeError(
                f"Flatten(start_axis={self.start_axis}) needs more axes than input shape "
                f"{tuple(input_shape)}"
            )
        return (*input_shape[:start], math.prod(input_shape[start:]))

    def extra_repr(self) -> str:
        return f"start_axis={self.start_axis}"


class _AlongAxis(Module):
    """A shape-preserving normalisation along ``axis`` (default: the last, the classes)."""

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = integer(type(self).__name__, "axis", axis)

    def output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class LogSoftmax(_AlongAxis):
    """``log softmax(x)`` along ``axis``; pair it with ``minigrad.nll_loss``."""

    def forward(self, x: Tensor | Any) -> Tensor:
        return minigrad.log_softmax(x, self.axis)


class Softmax(_AlongAxis):
    """``softmax(x)`` along ``axis`` (for probabilities; train on logits with cross_entropy)."""

    def forward(self, x: Tensor | Any) -> Tensor:
        return minigrad.softmax(x, self.axis)
