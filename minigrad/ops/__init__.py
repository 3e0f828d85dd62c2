"""The primitive ops. Each family lives in its own file, forward and VJP side by side.

| file | ops |
|---|---|
| ``elementwise.py`` | ``add``, ``sub``, ``mul``, ``div``, ``neg``, ``abs``, ``exp``, ``log``, |
| | ``pow`` |
| ``reduce.py`` | ``sum``, ``mean``, ``max``, ``min`` |
| ``shape.py`` | ``reshape``, ``flatten``, ``transpose``, ``getitem`` |
| ``linalg.py`` | ``matmul``, ``linear`` |
| ``activation.py`` | ``relu``, ``softmax``, ``log_softmax`` |
| ``conv.py`` | ``conv2d``, ``max_pool2d`` |
| ``loss.py`` | ``nll_loss``, ``cross_entropy`` |
"""

from minigrad.ops.activation import log_softmax, relu, softmax
from minigrad.ops.conv import conv2d, max_pool2d
from minigrad.ops.elementwise import abs, add, div, exp, log, mul, neg, pow, sub
from minigrad.ops.linalg import linear, matmul
from minigrad.ops.loss import cross_entropy, nll_loss
from minigrad.ops.reduce import max, mean, min, sum
from minigrad.ops.shape import flatten, getitem, reshape, transpose

__all__ = [
    "abs",
    "add",
    "conv2d",
    "cross_entropy",
    "div",
    "exp",
    "flatten",
    "getitem",
    "linear",
    "log",
    "log_softmax",
    "matmul",
    "max",
    "max_pool2d",
    "mean",
    "min",
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
