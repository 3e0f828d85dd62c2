"""The primitive ops. Each family lives in its own file, forward and VJP side by side.

| file | ops |
|---|---|
| ``elementwise.py`` | ``add``, ``sub``, ``mul``, ``div``, ``neg``, ``exp``, ``log``, ``pow`` |
| ``reduce.py`` | ``sum``, ``mean`` |
| ``shape.py`` | ``reshape``, ``flatten``, ``transpose`` |
| ``linalg.py`` | ``matmul``, ``linear`` |
| ``activation.py`` | ``relu``, ``softmax``, ``log_softmax`` |
| ``conv.py`` | ``conv2d``, ``max_pool2d`` |
| ``loss.py`` | ``nll_loss``, ``cross_entropy`` |
"""

from minigrad.ops.activation import log_softmax, relu, softmax
from minigrad.ops.conv import conv2d, max_pool2d
from minigrad.ops.elementwise import add, div, exp, log, mul, neg, pow, sub
from minigrad.ops.linalg import linear, matmul
from minigrad.ops.loss import cross_entropy, nll_loss
from minigrad.ops.reduce import mean, sum
from minigrad.ops.shape import flatten, reshape, transpose

__all__ = [
    "add",
    "conv2d",
    "cross_entropy",
    "div",
    "exp",
    "flatten",
    "linear",
    "log",
    "log_softmax",
    "matmul",
    "max_pool2d",
    "mean",
    "mul",
    "neg",
    "nll_loss",
    "pow",
    "relu",
    "reshape",
    "softmax",
    "sub",
    "sum",
    "transpose",
]
