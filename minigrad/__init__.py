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
from minigrad.ops.activation import *  # noqa: F403
from minigrad.ops.conv import *  # noqa: F403
from minigrad.ops.dropout import *  # noqa: F403
from minigrad.ops.elementwise import *  # noqa: F403
from minigrad.ops.linalg import *  # noqa: F403
from minigrad.ops.loss import *  # noqa: F403
from minigrad.ops.norm import *  # noqa: F403
from minigrad.ops.reduce import *  # noqa: F403
from minigrad.ops.shape import *  # noqa: F403
from minigrad.tensor import Tensor

# Sub-packages that stand on the core, reachable as minigrad.nn, minigrad.optim, minigrad.viz
# (as torch.nn and torch.optim are).
from minigrad import nn, ops, optim, viz  # isort: skip

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
    "detect_anomaly",
    "enable_grad",
    "gradcheck",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "name_scope",
    "nn",
    "no_grad",
    "optim",
    "record_backward",
    "viz",
]
# The ops: each is named once, in its family's ``__all__`` (the star imports above read them
# from there, as type checkers do, and minigrad.ops.__all__ gathers the same names).
__all__ += ops.__all__
