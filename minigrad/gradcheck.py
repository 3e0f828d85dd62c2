"""``gradcheck``: compare backpropagation with central finite differences, in float64.

For a function ``f`` of inputs ``x_1 .. x_m`` with a tensor output, draw a fixed random
``v`` of the output's shape and look at the scalar ``s = sum(v * f(x))``. Backpropagation
with ``grad=v`` gives every ``ds/dx`` at once (the VJP ``J^T v``); central differences give
each element separately::

    ds/dx[k] ~ (s(x + eps e_k) - s(x - eps e_k)) / (2 eps)        error O(eps^2)

A VJP that is wrong anywhere changes ``J^T v`` for almost every ``v``, so one random ``v``
finds it. The check passes where ``|analytic - numeric| <= atol + rtol * |numeric|``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minigrad.arguments import non_negative, positive_number
from minigrad.engine import no_grad
from minigrad.errors import ArgumentError, GradcheckError
from minigrad.tensor import Tensor

__all__ = ["gradcheck"]


def _prepare(inputs: Sequence[Any]) -> list[Tensor]:
    """float64 copies of the inputs; the ones to check require grad."""
    prepared = []
    for x in inputs:
        if isinstance(x, Tensor):
            check = x.requires_grad
            data = x.data
        else:
            data = np.asarray(x)
            check = data.dtype.kind == "f"
        if data.dtype.kind == "f":
            data = data.astype(np.float64)
        prepared.append(Tensor(data, requires_grad=check, name=getattr(x, "name", None)))
    return prepared


def _label(index: int, t: Tensor) -> str:
    return f"input {index}" + (f" ({t.name!r})" if t.name else "") + f" of shape {t.shape}"


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Any],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    fast: bool = False,
    seed: int = 0,
) -> bool:
    """Check the gradients of ``fn(*inputs)`` against central finite differences.

    Args:
        fn: a function of tensors returning a tensor (of any shape).
        inputs: tensors (checked when ``requires_grad``) or arrays (float arrays are checked).
            They are copied to float64; the originals are never modified.
        eps: the finite-difference step.
        atol: the absolute tolerance: the check passes where
            ``|analytic - numeric| <= atol + rtol * |numeric|``.
        rtol: the relative tolerance.
        fast: instead of every element, compare one random direction ``u`` per input:
            ``sum(ds/dx * u)`` against ``(s(x + eps u) - s(x - eps u)) / (2 eps)``. Two
            evaluations of ``fn`` per input instead of two per element, for large inputs.
        seed: seeds the random ``v`` (and ``u``).

    Returns:
        True when every gradient agrees.

    Raises:
        GradcheckError: naming the input, the index of the worst element, the analytic and
            the numeric value.

    >>> import minigrad, numpy as np
    >>> x = minigrad.Tensor(np.array([[0.5, -1.0, 2.0]]), requires_grad=True)
    >>> minigrad.gradcheck(lambda t: minigrad.log_softmax(t * t), [x])
    True
    """
    eps = positive_number("gradcheck", "eps", eps)
    atol = non_negative("gradcheck", "atol", atol)
    rtol = non_negative("gradcheck", "rtol", rtol)
    rng = np.random.default_rng(seed)
    xs = _prepare(inputs)
    out = fn(*xs)
    if not isinstance(out, Tensor):
        raise ArgumentError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    checked = [i for i, x in enumerate(xs) if x.requires_grad]
    if not checked:
        raise ArgumentError("gradcheck: no input requires grad, so there is nothing to check")
    if not out.requires_grad:
        raise GradcheckError(
            "gradcheck: the output does not depend on any input that requires grad "
            "(was it computed under no_grad(), or from .data?)"
        )
    v = rng.standard_normal(out.shape).astype(out.dtype)
    out.backward(v)

    def s() -> float:
        with no_grad():
            return float(np.sum(v * fn(*xs).data, dtype=np.float64))

    for i in checked:
        x = xs[i]
        analytic = np.zeros(x.shape) if x.grad is None else x.grad
        flat = x.data.reshape(-1)  # a view: writing to it perturbs x
        if fast:
            u = rng.standard_normal(x.shape)
            original = x.data.copy()
            x.data += eps * u
            plus = s()
            x.data[...] = original - eps * u
            minus = s()
            x.data[...] = original
            numeric = np.array((plus - minus) / (2 * eps))
            analytic = np.array(np.sum(analytic * u))
            where = "in a random direction"
        else:
            numeric = np.empty(x.size)
            for k in range(x.size):
                saved = flat[k]
                flat[k] = saved + eps
                plus = s()
                flat[k] = saved - eps
                minus = s()
                flat[k] = saved
                numeric[k] = (plus - minus) / (2 * eps)
            numeric = numeric.reshape(x.shape)
            where = ""
        excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        excess = np.where(np.isfinite(excess), excess, np.inf)  # NaN or inf is a failure
        if np.any(excess > 0):
            worst = np.unravel_index(int(np.argmax(excess)), excess.shape)
            raise GradcheckError(
                f"gradcheck: the gradient of {_label(i, x)} disagrees with finite differences "
                f"{where or f'at index {tuple(int(j) for j in worst)}'}: analytic "
                f"{float(np.asarray(analytic)[worst]):.8g}, numeric "
                f"{float(np.asarray(numeric)[worst]):.8g} "
                f"(atol={atol}, rtol={rtol}, eps={eps})"
            )
    return True
