"""Optimisers: ``SGD`` and ``Adam``, with PyTorch's exact update rules.

Each ``step()`` updates the parameters' arrays in place (``p.data``), so no graph is recorded
and a model's parameters stay the same objects. Parameters whose ``grad`` is None are skipped.
``zero_grad()`` sets every ``grad`` to None (PyTorch's default), so the next ``backward()``
writes fresh gradients instead of adding to old ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from minigrad.arguments import fraction, non_negative
from minigrad.errors import ArgumentError, CheckpointError
from minigrad.tensor import Tensor

__all__ = ["SGD", "Adam", "Optimizer"]


class Optimizer:
    """Base class: holds the parameter list (built once), the hyperparameters and the state.

    ``state[i]`` is a dict of arrays and numbers for parameter ``i`` (in the order given).
    """

    #: The hyperparameters a subclass takes, in order; ``state_dict`` stores them.
    hyper: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Tensor], **hyper: Any) -> None:
        name = type(self).__name__
        if isinstance(params, Tensor) or not isinstance(params, Iterable):
            hint = "; call it: model.parameters()" if callable(params) else ""
            raise ArgumentError(
                f"{name}: params must be an iterable of tensors such as model.parameters(), "
                f"got {type(params).__name__}{hint}"
            )
        self.params: list[Tensor] = list(params)
        if not self.params:
            raise ArgumentError(
                f"{name}: got an empty parameter list (does the model have any parameters?)"
            )
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor) or not p.requires_grad or not p.is_leaf:
                raise ArgumentError(
                    f"{name}: parameter {i} must be a leaf tensor with "
                    f"requires_grad=True, got {p!r}"
                )
        if len({id(p) for p in self.params}) != len(self.params):
            raise ArgumentError(f"{name}: a parameter appears more than once in the list")
        self.defaults: dict[str, Any] = hyper
        self.state: list[dict[str, Any]] = [{} for _ in self.params]

    def __getattr__(self, name: str) -> Any:
        defaults = self.__dict__.get("defaults", {})
        if name in defaults:
            return defaults[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    @property
    def lr(self) -> float:
        """The learning rate; assign to change it (e.g. for a schedule)."""
        return self.defaults["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        self.defaults["lr"] = non_negative(type(self).__name__, "lr", value)

    def _decayed_grads(self, weight_decay: float) -> Iterator[tuple[Tensor, dict[str, Any], Any]]:
        """``(parameter, its state, g)`` for each parameter with a gradient, where
        ``g = dL/dW + weight_decay * W`` (L2 weight decay, as PyTorch adds it)."""
        for p, state in zip(self.params, self.state, strict=True):
            if p.grad is not None:
                yield p, state, (p.grad + weight_decay * p.data if weight_decay else p.grad)

    def zero_grad(self) -> None:
        """Set every parameter's gradient to None."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """``{"type", "hyper", "state"}``: the class name, the hyperparameters and per-parameter
        state (copies of the arrays), enough to resume training exactly."""
        return {
            "type": type(self).__name__,
            "hyper": dict(self.defaults),
            "state": [
                {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
                for s in self.state
            ],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (for the same parameters, in order)."""
        name = type(self).__name__
        if state.get("type", name) != name:
            raise CheckpointError(f"{name}.load_state_dict: the state is from {state['type']}")
        per_param = state["state"]
        if len(per_param) != len(self.params):
            raise CheckpointError(
                f"{name}.load_state_dict: the state has {len(per_param)} parameters, "
                f"this optimiser has {len(self.params)}"
            )
        for i, (s, p) in enumerate(zip(per_param, self.params, strict=True)):
            for key, value in s.items():
                if isinstance(value, np.ndarray) and value.shape != p.data.shape:
                    raise CheckpointError(
                        f"{name}.load_state_dict: state {key!r} of parameter {i} ({p.name}) "
                        f"has shape {value.shape}, the parameter has {p.data.shape}"
                    )
                if isinstance(value, np.ndarray) and value.dtype.kind not in "fiub":
                    raise CheckpointError(
                        f"{name}.load_state_dict: state {key!r} of parameter {i} ({p.name}) "
                        f"has dtype {value.dtype}; expected numbers"
                    )
        self.defaults.update(state.get("hyper", {}))
        self.state = [
            {k: (v.astype(p.data.dtype) if isinstance(v, np.ndarray) else v) for k, v in s.items()}
            for s, p in zip(per_param, self.params, strict=True)
        ]

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v}" for k, v in self.defaults.items())
        return f"{type(self).__name__}({len(self.params)} parameters, {hyper})"


class SGD(Optimizer):
    """Stochastic gradient descent, as PyTorch's ``torch.optim.SGD``.

    Plain SGD (the default) is the design document's step ``W <- W - eta dL/dW``. With
    ``weight_decay`` ``lambda``, ``momentum`` ``mu`` and buffer ``b`` (per parameter)::

        g <- dL/dW + lambda W
        b <- g                      (first step)
        b <- mu b + g               (later steps)
        g <- g + mu b  if nesterov  else  b
        W <- W - eta g

    >>> import numpy as np, minigrad
    >>> w = minigrad.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    >>> (w * w).sum().backward()                  # dL/dW = 2 W
    >>> SGD([w], lr=0.1).step()                   # W - 0.1 * 2 W
    >>> w.data
    array([0.8, 1.6])
    """

    hyper = ("lr", "momentum", "weight_decay", "nesterov")

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        lr = non_negative("SGD", "lr", lr)
        momentum = non_negative("SGD", "momentum", momentum)
        weight_decay = non_negative("SGD", "weight_decay", weight_decay)
        if nesterov and momentum == 0:
            raise ArgumentError("SGD: nesterov=True needs momentum > 0")
        super().__init__(
            params, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=bool(nesterov)
        )

    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        d = self.defaults
        lr, mu, wd, nesterov = d["lr"], d["momentum"], d["weight_decay"], d["nesterov"]
        for p, state, g in self._decayed_grads(wd):
            if mu:
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = np.array(g, dtype=p.data.dtype)
                else:
                    buf *= mu
                    buf += g
                g = g + mu * buf if nesterov else buf
            p.data -= lr * g


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015), as PyTorch's ``torch.optim.Adam`` (``amsgrad=False``).

    With ``g = dL/dW + lambda W`` and step count ``t`` (per parameter, from 1)::

        m <- beta1 m + (1 - beta1) g
        v <- beta2 v + (1 - beta2) g^2
        W <- W - (eta / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    >>> import numpy as np, minigrad
    >>> w = minigrad.Tensor(np.array([1.0, -1.0]), requires_grad=True)
    >>> w.sum().backward()
    >>> Adam([w], lr=0.1).step()                  # the first step moves each weight by ~lr
    >>> w.data.round(6)
    array([ 0.9, -1.1])
    """

    hyper = ("lr", "betas", "eps", "weight_decay")

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        lr = non_negative("Adam", "lr", lr)
        b1, b2 = (fraction("Adam", "betas", b) for b in betas)
        eps = non_negative("Adam", "eps", eps)
        weight_decay = non_negative("Adam", "weight_decay", weight_decay)
        super().__init__(params, lr=lr, betas=[b1, b2], eps=eps, weight_decay=weight_decay)

    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        d = self.defaults
        lr, (b1, b2), eps, wd = d["lr"], d["betas"], d["eps"], d["weight_decay"]
        for p, state, g in self._decayed_grads(wd):
            if not state:
                state["step"] = 0
                state["exp_avg"] = np.zeros_like(p.data)
                state["exp_avg_sq"] = np.zeros_like(p.data)
            state["step"] += 1
            t = state["step"]
            m, v = state["exp_avg"], state["exp_avg_sq"]
            bias1, bias2 = 1 - b1**t, 1 - b2**t
            # The formulas above in place, through one scratch array (the same operations in
            # the same order as written out, without their six temporaries).
            work = (1 - b1) * g
            m *= b1
            m += work  # m <- beta1 m + (1 - beta1) g
            np.multiply(g, g, out=work)
            work *= 1 - b2
            v *= b2
            v += work  # v <- beta2 v + (1 - beta2) g^2
            np.sqrt(v, out=work)
            work /= math.sqrt(bias2)
            work += eps  # sqrt(v) / sqrt(1 - beta2^t) + eps
            np.divide(m, work, out=work)
            work *= lr / bias1
            p.data -= work
