"""The layers: ``Conv2d``, ``Linear``, ``ReLU``, ``Flatten``, ``MaxPool2d``, ``LogSoftmax`` and
the course's others: ``Tanh``, ``Sigmoid``, ``LeakyReLU``, ``AvgPool2d``, ``BatchNorm1d``,
``BatchNorm2d``, ``Dropout``, and the merges ``Add`` and ``Concat`` of graph models.

Each layer calls the public op of the same name (``Conv2d`` calls :func:`minigrad.conv2d`, ...)
and knows its output shape for an input shape (both without the batch axis), so shapes are
inferred without running data.

``BatchNorm*`` and ``Dropout`` behave differently in training and evaluation: they read the
module's ``training`` flag, which ``model.train()`` and ``model.eval()`` set (as PyTorch).

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
from minigrad.arguments import (
    boolean,
    choice,
    float_dtype,
    fraction,
    generator,
    int_or_pair,
    integer,
    positive_int,
    positive_number,
    real,
)
from minigrad.errors import ArgumentError, ShapeError
from minigrad.nn.module import Module, Parameter, Shape
from minigrad.ops.conv import check_pool_padding, output_size
from minigrad.tensor import Tensor

__all__ = [
    "Add",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Concat",
    "Conv2d",
    "Dropout",
    "Flatten",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MaxPool2d",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
]

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


class AvgPool2d(Module):
    """Mean over ``kernel_size`` windows (zero padding counted, as PyTorch's default);
    ``stride`` defaults to ``kernel_size``.

    >>> from minigrad import nn
    >>> nn.AvgPool2d(2).output_shape((6, 28, 28))
    (6, 14, 14)
    """

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
    ) -> None:
        super().__init__()
        self.kernel_size = int_or_pair("AvgPool2d", "kernel_size", kernel_size, 1)
        self.stride = (
            self.kernel_size if stride is None else int_or_pair("AvgPool2d", "stride", stride, 1)
        )
        self.padding = int_or_pair("AvgPool2d", "padding", padding, 0)
        check_pool_padding("AvgPool2d", self.kernel_size, self.padding)

    def forward(self, x: Tensor | Any) -> Tensor:
        return minigrad.avg_pool2d(x, self.kernel_size, self.stride, self.padding)

    def output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 3:
            raise ShapeError(
                f"AvgPool2d expects an input of shape (C, H, W), got {tuple(input_shape)}"
            )
        c, h, w = input_shape
        return (c, *_spatial("AvgPool2d", (h, w), self))

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _Pointwise(Module):
    """An elementwise activation: the output has the input's shape."""

    def output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)


class ReLU(_Pointwise):
    """``max(0, x)`` elementwise (the design document's ``A^c = max(0, Z^c)``)."""

    def forward(self, x: Tensor | Any) -> Tensor:
        return minigrad.relu(x)


class LeakyReLU(_Pointwise):
    """``x`` where positive, ``negative_slope * x`` elsewhere (default 0.01, as PyTorch)."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = real("LeakyReLU", "negative_slope", negative_slope)

    def forward(self, x: Tensor | Any) -> Tensor:
        return minigrad.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Tanh(_Pointwise):
    """``tanh(x)`` elementwise."""

    def forward(self, x: Tensor | Any) -> Tensor:
        return minigrad.tanh(x)


class Sigmoid(_Pointwise):
    """``1 / (1 + exp(-x))`` elementwise."""

    def forward(self, x: Tensor | Any) -> Tensor:
        return minigrad.sigmoid(x)


#: The input shapes (without the batch axis) each batch norm layer takes: ranks and wording.
_NORM_INPUTS = {"BatchNorm1d": ((1, 2), "(C,) or (C, L)"), "BatchNorm2d": ((3,), "(C, H, W)")}


def batch_norm_shape(layer: str, num_features: int, shape: Shape) -> Shape:
    """The output shape of ``layer`` (``"BatchNorm1d"`` or ``"BatchNorm2d"``): its input shape,
    once checked. Model specs infer with it too, without building the layer."""
    ranks, accepts = _NORM_INPUTS[layer]
    if len(shape) not in ranks or shape[0] != num_features:
        raise ShapeError(
            f"{layer} expects an input of shape {accepts} with C = {num_features} channels "
            f"(without the batch axis), got {tuple(shape)}"
        )
    return tuple(shape)


class _BatchNorm(Module):
    """Batch normalisation of ``num_features`` channels (axis 1), as PyTorch's ``BatchNorm*d``.

    In training mode each batch is normalised with its own statistics and the running
    estimates move towards them by ``momentum``; in evaluation mode the running estimates
    are used. ``weight`` (gamma, ones) and ``bias`` (beta, zeros) are trained when ``affine``.
    The buffers ``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked``
    are saved with the parameters, under PyTorch's names. With
    ``track_running_stats=False`` there are no buffers and batch statistics are always used.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        where = type(self).__name__
        self.num_features = c = positive_int(where, "num_features", num_features)
        self.eps = positive_number(where, "eps", eps)
        self.momentum = fraction(where, "momentum", momentum, closed="both")
        self.affine = boolean(where, "affine", affine)
        self.track_running_stats = boolean(where, "track_running_stats", track_running_stats)
        dt = float_dtype(where, "dtype", dtype)
        self.register_parameter("weight", Parameter(np.ones(c, dt)) if self.affine else None)
        self.register_parameter("bias", Parameter(np.zeros(c, dt)) if self.affine else None)
        if self.track_running_stats:
            self.register_buffer("running_mean", np.zeros(c, dt))
            self.register_buffer("running_var", np.ones(c, dt))
            self.register_buffer("num_batches_tracked", np.array(0, np.int64))

    def forward(self, x: Tensor | Any) -> Tensor:
        batch_norm_shape(type(self).__name__, self.num_features, tuple(np.shape(x))[1:])
        tracked = self.track_running_stats
        out = minigrad.batch_norm(
            x,
            self.running_mean if tracked else None,
            self.running_var if tracked else None,
            self.weight,
            self.bias,
            self.training or not tracked,
            self.momentum,
            self.eps,
        )
        if self.training and tracked:
            self.num_batches_tracked.data += 1
        return out

    def output_shape(self, input_shape: Shape) -> Shape:
        return batch_norm_shape(type(self).__name__, self.num_features, tuple(input_shape))

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch norm over the features of (N, C) inputs (or (N, C, L)), per feature ``C``.

    >>> import numpy as np
    >>> from minigrad import nn
    >>> bn = nn.BatchNorm1d(3)
    >>> list(bn.state_dict())
    ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
    >>> y = bn(np.array([[1.0, 2.0, 3.0], [3.0, 6.0, 9.0]], dtype=np.float32))
    >>> y.data.round(3), bn.running_mean.data
    (array([[-1., -1., -1.],
           [ 1.,  1.,  1.]], dtype=float32), array([0.2, 0.4, 0.6], dtype=float32))
    """


class BatchNorm2d(_BatchNorm):
    """Batch norm over the channels of (N, C, H, W) images, per channel ``C``.

    >>> from minigrad import nn
    >>> nn.BatchNorm2d(8).output_shape((8, 6, 6))
    (8, 6, 6)
    """


class Dropout(_Pointwise):
    """In training, zero each element with probability ``p`` and scale the others by
    ``1 / (1 - p)``; in evaluation, pass the input through.

    The masks come from this layer's own ``generator`` (``rng``: a seed or a Generator), so
    a seeded run is reproducible; checkpoints save the generator's state, so a resumed run
    draws the masks an uninterrupted run would have drawn.

    >>> import numpy as np
    >>> from minigrad import nn
    >>> drop = nn.Dropout(0.5, rng=0)
    >>> drop(np.ones(8)).data
    array([2., 0., 0., 0., 2., 2., 2., 2.])
    >>> drop.eval()(np.ones(3)).data
    array([1., 1., 1.])
    """

    def __init__(self, p: float = 0.5, *, rng: RNG = None) -> None:
        super().__init__()
        self.p = fraction("Dropout", "p", p, closed="both")
        self.generator = generator("Dropout", "rng", rng)

    def forward(self, x: Tensor | Any) -> Tensor:
        return minigrad.dropout(x, self.p, self.training, self.generator)

    def get_rng_state(self) -> dict[str, Any]:
        """The generator's state (JSON-able: the bit generator's name and integers)."""
        return self.generator.bit_generator.state

    def set_rng_state(self, state: dict[str, Any]) -> None:
        """Continue the stream from a state returned by :meth:`get_rng_state`."""
        self.generator.bit_generator.state = state

    def extra_repr(self) -> str:
        return f"p={self.p}"


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


def add_shape(*shapes: Shape) -> Shape:
    """The output shape of ``Add``: the one shape all its inputs have (it never broadcasts)."""
    if any(tuple(s) != tuple(shapes[0]) for s in shapes[1:]):
        raise ShapeError(
            "Add expects inputs of one shape (it does not broadcast), got "
            + ", ".join(str(tuple(s)) for s in shapes)
        )
    return tuple(shapes[0])


def concat_shape(*shapes: Shape) -> Shape:
    """The output shape of ``Concat``: the inputs joined along the channels (axis 0 here)."""
    first = tuple(shapes[0])
    if not first or any(len(s) != len(first) or tuple(s[1:]) != first[1:] for s in shapes[1:]):
        raise ShapeError(
            "Concat expects inputs that agree on every axis but the channels, got "
            + ", ".join(str(tuple(s)) for s in shapes)
        )
    return (sum(s[0] for s in shapes), *first[1:])


class _Merge(Module):
    """A layer of a graph model that joins the outputs of two or more layers."""

    #: The output shape for the inputs' shapes (without the batch axis), or a ShapeError.
    shape_of: Any = None

    def forward(self, *xs: Tensor | Any) -> Tensor:
        if len(xs) < 2:
            raise ArgumentError(f"{type(self).__name__} joins two or more inputs, got {len(xs)}")
        self.shape_of(*[tuple(np.shape(x))[1:] for x in xs])
        return self._join(xs)

    def _join(self, xs: tuple[Tensor | Any, ...]) -> Tensor:
        raise NotImplementedError

    def output_shape(self, *input_shapes: Shape) -> Shape:
        return self.shape_of(*input_shapes)


class Add(_Merge):
    """The elementwise sum of inputs of one shape: the join of a residual block's skip
    connection. Its VJP hands ``dL/dy`` to every input unchanged, so the gradients of the two
    paths meet (add up) where the skip connection began.

    >>> from minigrad import nn
    >>> nn.Add().output_shape((8, 6, 6), (8, 6, 6))
    (8, 6, 6)
    """

    shape_of = staticmethod(add_shape)

    def _join(self, xs: tuple[Tensor | Any, ...]) -> Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = minigrad.add(out, x)
        return out


class Concat(_Merge):
    """Inputs joined along the channels (axis 1 of (N, C, H, W), axis 0 without the batch).

    >>> from minigrad import nn
    >>> nn.Concat().output_shape((8, 6, 6), (4, 6, 6))
    (12, 6, 6)
    """

    shape_of = staticmethod(concat_shape)

    def _join(self, xs: tuple[Tensor | Any, ...]) -> Tensor:
        return minigrad.concat(xs, axis=1)
