"""The primitive ops. Each family lives in its own file, forward and VJP side by side.

| file | ops |
|---|---|
| ``elementwise.py`` | ``add``, ``sub``, ``mul``, ``div``, ``neg``, ``abs``, ``exp``, ``log``, |
| | ``pow`` |
| ``reduce.py`` | ``sum``, ``mean``, ``max``, ``min`` |
| ``shape.py`` | ``reshape``, ``flatten``, ``transpose``, ``getitem``, ``concat`` |
| ``linalg.py`` | ``matmul``, ``linear`` |
| ``activation.py`` | ``relu``, ``leaky_relu``, ``tanh``, ``sigmoid``, ``softmax``, |
| | ``log_softmax`` |
| ``conv.py`` | ``conv2d``, ``max_pool2d``, ``avg_pool2d`` |
| ``norm.py`` | ``batch_norm`` |
| ``dropout.py`` | ``dropout`` |
| ``loss.py`` | ``nll_loss``, ``cross_entropy`` |
"""

from minigrad.ops.activation import leaky_relu, log_softmax, relu, sigmoid, softmax, tanh
from minigrad.ops.conv import avg_pool2d, conv2d, max_pool2d
from minigrad.ops.dropout import dropout
from minigrad.ops.elementwise import abs, add, div, exp, log, mul, neg, pow, sub
from minigrad.ops.linalg import linear, matmul
from minigrad.ops.loss import cross_entropy, nll_loss
from minigrad.ops.norm import batch_norm
from minigrad.ops.reduce import max, mean, min, sum
from minigrad.ops.shape import concat, flatten, getitem, reshape, transpose

__all__ = [
    "abs",
    "add",
    "avg_pool2d",
    "batch_norm",
    "concat",
    "conv2d",
    "cross_entropy",
    "div",
    "dropout",
    "exp",
    "flatten",
    "getitem",
    "leaky_relu",
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
    "sigmoid",
    "softmax",
    "sub",
    "sum",
    "tanh",
    "transpose",
]
