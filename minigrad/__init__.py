"""minigrad: a NumPy autograd framework for seeing and trusting every gradient.

>>> import minigrad, numpy as np
>>> w = minigrad.Tensor(np.array([[1.0, -2.0]]), requires_grad=True)
>>> loss = minigrad.cross_entropy(w, np.array([0]))
>>> loss.backward()
>>> w.grad.round(3)
array([[-0.047,  0.047]])
"""

# The engine comes first: it imports Tensor at its end (the one import knot), and Tensor
# imports the ops.
from minigrad.anomaly import detect_anomaly, is_anomaly_enabled
from minigrad.engine import (
    Function,
    Node,
    enable_grad,
    is_grad_enabled,
    no_grad,
)
from minigrad.errors import (
    AnomalyError,
    ArgumentError,
    ArgumentRangeError,
    DTypeError,
    GradcheckError,
    GraphError,
    IndexingError,
    MinigradError,
    ShapeError,
)
from minigrad.gradcheck import gradcheck
from minigrad.hooks import BackwardStep, record_backward
from minigrad.modes import name_scope
from minigrad.ops import (
    abs,
    add,
    avg_pool2d,
    batch_norm,
    concat,
    conv2d,
    cross_entropy,
    div,
    dropout,
    exp,
    flatten,
    getitem,
    leaky_relu,
    linear,
    log,
    log_softmax,
    matmul,
    max,
    max_pool2d,
    mean,
    min,
    mul,
    neg,
    nll_loss,
    pow,
    relu,
    reshape,
    sigmoid,
    softmax,
    sub,
    sum,
    tanh,
    transpose,
)
from minigrad.tensor import Tensor

# Sub-packages that stand on the core, reachable as minigrad.nn, minigrad.optim, minigrad.viz
# (as torch.nn and torch.optim are).
from minigrad import nn, optim, viz  # isort: skip

__version__ = "0.1.0"

__all__ = [
    "AnomalyError",
    "ArgumentError",
    "ArgumentRangeError",
    "BackwardStep",
    "DTypeError",
    "Function",
    "GradcheckError",
    "GraphError",
    "IndexingError",
    "MinigradError",
    "Node",
    "ShapeError",
    "Tensor",
    "__version__",
    "abs",
    "add",
    "avg_pool2d",
    "batch_norm",
    "concat",
    "conv2d",
    "cross_entropy",
    "detect_anomaly",
    "div",
    "dropout",
    "enable_grad",
    "exp",
    "flatten",
    "getitem",
    "gradcheck",
    "is_anomaly_enabled",
    "is_grad_enabled",
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
    "name_scope",
    "neg",
    "nll_loss",
    "nn",
    "no_grad",
    "optim",
    "pow",
    "record_backward",
    "relu",
    "reshape",
    "sigmoid",
    "softmax",
    "sub",
    "sum",
    "tanh",
    "transpose",
    "viz",
]
