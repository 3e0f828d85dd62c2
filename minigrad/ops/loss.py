"""Losses: ``nll_loss`` and ``cross_entropy``.

The design document's loss for a one-hot label ``y`` and prediction ``yhat = softmax(Z^d)``
is ``L = -sum_c y_c log(yhat_c)``, and the gradient it derives is the famous one::

    dL/dZ^d = yhat - y

``cross_entropy`` is that loss as one op whose VJP *is* that formula (divided by the batch
size, since the loss is the mean over the batch). ``nll_loss(log_softmax(z), target)``
computes the same value in two ops; the tests check that both agree.

``target`` holds integer class indices of shape (N,), or float one-hot (or soft) labels of
the logits' shape (N, C).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from minigrad.arguments import choice
from minigrad.engine import Function, Node
from minigrad.errors import ArgumentError, DTypeError, ShapeError
from minigrad.ops.activation import stable_log_softmax

if TYPE_CHECKING:
    from minigrad.tensor import Tensor

__all__ = ["cross_entropy", "nll_loss"]

_REDUCTIONS = ("mean", "sum", "none")


def _check_loss(op: str, scores: np.ndarray, target: np.ndarray, reduction: str) -> None:
    """The checks of both losses: the reduction, the (N, C) scores, then the target."""
    choice(op, "reduction", reduction, _REDUCTIONS)
    if scores.ndim != 2:
        raise ShapeError(
            f"{op}: expected input of shape (N, C), got {scores.shape}"
            + ("; add a batch axis, e.g. x.reshape(1, -1)" if scores.ndim == 1 else "")
        )
    n, c = scores.shape
    if c == 0:
        raise ShapeError(f"{op}: the input of shape {scores.shape} has no classes")
    if n == 0 and reduction == "mean":
        raise ShapeError(
            f"{op}: the batch is empty (input of shape {scores.shape}); the mean over 0 "
            "samples is undefined (reduction='sum' gives 0)"
        )
    _check_target(op, scores, target)


def _check_target(op: str, scores: np.ndarray, target: np.ndarray) -> None:
    """Class indices of shape (N,), each in ``0..C-1``, or finite float labels of shape (N, C)."""
    n, c = scores.shape
    if target.dtype.kind in "iu":
        if target.shape != (n,):
            hint = "; for one-hot rows, use a float target" if target.shape == (n, c) else ""
            raise ShapeError(
                f"{op}: target of class indices must have shape ({n},) for input of shape "
                f"{scores.shape}, got {target.shape}{hint}"
            )
        if len(target) and (target.min() < 0 or target.max() >= c):
            bad = target[(target < 0) | (target >= c)][0]
            raise ShapeError(f"{op}: target {bad} is out of range for {c} classes (0..{c - 1})")
    elif target.dtype.kind == "f":
        if target.shape != scores.shape:
            raise ShapeError(
                f"{op}: a float (one-hot) target must have the input's shape {scores.shape}, "
                f"got {target.shape}"
            )
        bad = ~np.isfinite(target)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise ArgumentError(
                f"{op}: the float target holds {target[row, col]} at [{row}, {col}]; "
                "labels must be finite"
            )
    else:
        raise DTypeError(
            f"{op}: target must hold integer class indices or float one-hot labels, "
            f"got dtype {target.dtype}"
        )


def _labels(target: np.ndarray, dtype: np.dtype) -> tuple[np.ndarray, bool]:
    """The target as the forward uses it, and whether it holds class indices."""
    if target.dtype.kind in "iu":
        return target, True
    return target.astype(dtype, copy=False), False


def _nll(ctx: Node, logp: np.ndarray, target: np.ndarray, reduction: str) -> np.ndarray:
    """The reduced ``-logp[n, t_n]`` (or ``-sum_c y[n, c] logp[n, c]`` for float labels), the
    forward of both losses; saves what both backwards read."""
    labels, indices = _labels(target, logp.dtype)
    ctx.save_for_backward(logp, labels, indices, target.dtype, reduction)
    picked = logp[np.arange(len(labels)), labels] if indices else (labels * logp).sum(axis=1)
    return _reduce(-picked, reduction)


def _reduce(per_sample: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "mean":  # N > 0 (checked); sum / N is what mean() computes, minus its overhead
        return per_sample.sum() / len(per_sample)
    if reduction == "sum":
        return per_sample.sum()
    return per_sample


def _upstream(grad: np.ndarray, n: int, reduction: str) -> np.ndarray | float:
    """dL/d(per-sample loss), as a column to broadcast over classes."""
    if reduction == "none":
        return grad[:, None]
    return grad / n if reduction == "mean" else grad


def _one_hot(target: np.ndarray, shape: tuple[int, int], dtype: np.dtype) -> np.ndarray:
    onehot = np.zeros(shape, dtype=dtype)
    onehot[np.arange(shape[0]), target] = 1
    return onehot


class NLLLoss(Function):
    """``L = -(1/N) sum_n logp[n, t_n]`` (or ``-(1/N) sum_{n,c} y[n, c] logp[n, c]``).

    VJP: ``dL/dlogp[n, c] = -(1/N) 1(c = t_n)`` (or ``-(1/N) y[n, c]``).

    Derivation: ``docs/derivations/loss.md#nll_loss``
    """

    name = "nll_loss"
    checks_values = True  # the class indices must be in range

    @staticmethod
    def check(logp: np.ndarray, target: np.ndarray, *, reduction: str) -> None:
        _check_loss("nll_loss", logp, target, reduction)

    @staticmethod
    def forward(ctx: Node, logp: np.ndarray, target: np.ndarray, *, reduction: str) -> np.ndarray:
        return _nll(ctx, logp, target, reduction)

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        logp, labels, indices, target_dtype, reduction = ctx.saved_tensors
        up = _upstream(grad, len(logp), reduction)
        glogp = gtarget = None
        if ctx.needs_input_grad[0]:
            onehot = _one_hot(labels, logp.shape, logp.dtype) if indices else labels
            glogp = -onehot * up
        if ctx.needs_input_grad[1]:
            gtarget = (-logp * up).astype(target_dtype, copy=False)
        return glogp, gtarget


class CrossEntropy(Function):
    """Softmax and cross-entropy in one op: ``L = -(1/N) sum_n sum_c y[n, c] log yhat[n, c]``.

    ``yhat = softmax(z)`` row by row; ``log yhat`` is computed as a stable log-softmax.

    VJP, the design document's formula: ``dL/dz = (yhat - y) / N``. (For soft labels whose
    rows do not sum to 1 it is ``(yhat * sum_c y_c - y) / N``.)

    Derivation: ``docs/derivations/loss.md#cross_entropy``
    """

    name = "cross_entropy"
    checks_values = True  # the class indices must be in range

    @staticmethod
    def check(z: np.ndarray, target: np.ndarray, *, reduction: str) -> None:
        _check_loss("cross_entropy", z, target, reduction)

    @staticmethod
    def forward(ctx: Node, z: np.ndarray, target: np.ndarray, *, reduction: str) -> np.ndarray:
        return _nll(ctx, stable_log_softmax(z, axis=1), target, reduction)

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        logp, labels, indices, target_dtype, reduction = ctx.saved_tensors
        up = _upstream(grad, len(logp), reduction)
        gz = gtarget = None
        if ctx.needs_input_grad[0]:
            yhat = np.exp(logp)
            if indices:
                gz = (yhat - _one_hot(labels, yhat.shape, yhat.dtype)) * up
            else:
                gz = (yhat * labels.sum(axis=1, keepdims=True) - labels) * up
        if ctx.needs_input_grad[1]:
            gtarget = (-logp * up).astype(target_dtype, copy=False)
        return gz, gtarget


def nll_loss(log_probs: Tensor | Any, target: Tensor | Any, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of ``target`` under ``log_probs`` (N, C), averaged over the batch.

    >>> import minigrad, numpy as np
    >>> logp = minigrad.log_softmax(minigrad.Tensor(np.array([[0.0, 0.0]])))
    >>> round(minigrad.nll_loss(logp, np.array([1])).item(), 4)   # -log(1/2)
    0.6931
    """
    return NLLLoss.apply(log_probs, target, reduction=reduction)


def cross_entropy(logits: Tensor | Any, target: Tensor | Any, reduction: str = "mean") -> Tensor:
    """``nll_loss(log_softmax(logits), target)`` as one op with the VJP ``(yhat - y) / N``.

    ``logits`` (N, C) are raw scores; ``target`` holds class indices (N,) or one-hot rows (N, C).

    >>> import minigrad, numpy as np
    >>> z = minigrad.Tensor(np.array([[2.0, 1.0, 0.1]]), requires_grad=True)
    >>> loss = minigrad.cross_entropy(z, np.array([0]))
    >>> loss.backward()
    >>> np.round(z.grad, 3)            # yhat - y
    array([[-0.341,  0.242,  0.099]])
    """
    return CrossEntropy.apply(logits, target, reduction=reduction)
