"""Dropout: ``dropout(x, p, training, rng)``, as PyTorch's "inverted" dropout.

In training, each element is kept with probability ``1 - p`` and scaled by ``1 / (1 - p)``,
so every element's expected value is unchanged and evaluation needs no rescaling::

    y = x * m / (1 - p),    m_i ~ Bernoulli(1 - p), drawn independently per element

With the mask drawn, ``y`` is linear in ``x``: the VJP is the same scaled mask,
``dL/dx = dL/dy * m / (1 - p)``. In evaluation, or with ``p = 0``, ``y = x``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from minigrad import engine
from minigrad.arguments import boolean, fraction, generator
from minigrad.engine import Function, Node
from minigrad.errors import DTypeError
from minigrad.ops._axes import shape_of

if TYPE_CHECKING:
    from minigrad.tensor import Tensor

__all__ = ["dropout"]


class Dropout(Function):
    """``y = x * keep``, with ``keep`` the drawn mask already scaled: 0 or ``1 / (1 - p)``.

    VJP: ``dL/dx = dL/dy * keep``, the very mask of the forward pass. The attribute ``p`` is
    not used by the math; it is recorded so that the graph shows the rate.

    Derivation: ``docs/derivations/norm.md#dropout``
    """

    name = "dropout"

    @staticmethod
    def forward(ctx: Node, x: np.ndarray, keep: np.ndarray, *, p: float) -> np.ndarray:
        ctx.save_for_backward(keep)
        return x * keep

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray, None]:
        (keep,) = ctx.saved_tensors
        return grad * keep, None


def dropout(
    x: Tensor | Any,
    p: float = 0.5,
    training: bool = True,
    rng: np.random.Generator | int | None = None,
) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    As ``torch.nn.functional.dropout``: ``training=False`` (or ``p=0``) returns ``x`` itself.
    The mask is drawn from ``rng`` (a Generator, or an int seed); ``nn.Dropout`` keeps one
    seeded Generator, so a run is reproducible. Without ``rng`` a fresh unseeded generator is
    used.

    >>> import minigrad, numpy as np
    >>> minigrad.dropout(np.ones(8), p=0.5, rng=0).data
    array([2., 0., 0., 0., 2., 2., 2., 2.])
    """
    p = fraction("dropout", "p", p, closed="both")
    training = boolean("dropout", "training", training)
    gen = generator("dropout", "rng", rng)
    if not training or p == 0:
        return x if isinstance(x, engine.Tensor) else engine.Tensor(x)
    shape = shape_of("dropout", x)
    dtype = x.dtype if isinstance(x, engine.Tensor) else np.result_type(np.asarray(x), 1.0)
    if dtype.kind != "f":
        raise DTypeError(f"dropout: expected a float input, got dtype {dtype}")
    draw = gen.random(shape)
    keep = (draw >= p).astype(dtype) / dtype.type(1 - p) if p < 1 else np.zeros(shape, dtype)
    return Dropout.apply(x, engine.Tensor(keep, name="dropout mask"), p=p)
