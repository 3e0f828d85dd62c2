"""Optimisers: ``SGD`` and ``Adam``, with PyTorch's exact update rules.

Each ``step()`` updates the parameters in place inside ``no_grad()`` (``p -= lr * g``), so no
graph is recorded, a model's parameters stay the same objects, and each update bumps the
parameter's version: a graph built before the step refuses to backpropagate afterwards.
Parameters whose ``grad`` is None are skipped.
``zero_grad()`` sets every ``grad`` to None (PyTorch's default), so the next ``backward()``
writes fresh gradients instead of adding to old ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar

import numpy as np

from minigrad.arguments import boolean, fraction, integer, non_negative, show
from minigrad.engine import no_grad
from minigrad.errors import ArgumentError, CheckpointError
from minigrad.tensor import Tensor

__all__ = ["SGD", "Adam", "Optimizer"]

Check = Callable[[str, str, Any], Any]  # (where, argument, value) -> the value, or raise


class Optimizer:
    """Base class: holds the parameter list (built once), the hyperparameters and the state.

    ``state[i]`` is a dict of arrays and numbers for parameter ``i`` (in the order given).
    A subclass declares its hyperparameters and its per-parameter state with their checks, so
    that the constructor, ``load_state_dict`` and a checkpoint all check them the same way.
    """

    #: Each hyperparameter and its check, in order; ``state_dict`` stores them.
    hyper: ClassVar[dict[str, Check]] = {}
    #: Each per-parameter state number and its check (e.g. Adam's ``step``).
    state_scalars: ClassVar[dict[str, Check]] = {}
    #: Each per-parameter state array (of the parameter's shape) and its least value, if any.
    state_arrays: ClassVar[dict[str, float | None]] = {}

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
        self.defaults: dict[str, Any] = self.check_hyper(hyper, name)
        self.state: list[dict[str, Any]] = [{} for _ in self.params]

    @classmethod
    def check_hyper(cls, hyper: Mapping[str, Any], where: str, prefix: str = "") -> dict[str, Any]:
        """``hyper`` checked against :attr:`hyper` and normalised (numbers become floats).

        A subclass that declares no :attr:`hyper` table keeps its settings as given.

        Raises:
            ArgumentError: an unknown, missing or bad value; the message is
                ``"<where>: <prefix><name> ..."`` (``"SGD: lr must be a number >= 0, ..."``).
        """
        at = f"{where}: {prefix}" if where else prefix
        if not isinstance(hyper, Mapping):
            raise ArgumentError(f"{at}the hyperparameters must be a table, got {show(hyper)}")
        if not cls.hyper:
            return dict(hyper)
        for key in hyper:
            if key not in cls.hyper:
                raise ArgumentError(
                    f"{at}{show(key)} is not a hyperparameter of {cls.__name__} "
                    f"(expected: {', '.join(cls.hyper)})"
                )
        missing = [key for key in cls.hyper if key not in hyper]
        if missing:
            raise ArgumentError(f"{at}{missing[0]} is missing")
        out = {key: check(where, prefix + key, hyper[key]) for key, check in cls.hyper.items()}
        cls._check_together(out, at)
        return out

    @classmethod
    def _check_together(cls, hyper: dict[str, Any], at: str) -> None:
        """Rules between hyperparameters (each one alone is already checked)."""

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
        self.defaults = self.check_hyper({**self.defaults, "lr": value}, type(self).__name__)

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

    def check_state_dict(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """Check ``state`` against this optimiser without changing anything, and return it as
        :meth:`load_state_dict` would set it (hyperparameters not in it keep their values).

        Each parameter's state is either empty (not stepped yet) or holds exactly the
        optimiser's entries: numbers of the right type and range, and finite arrays of the
        parameter's shape (cast to its dtype).

        Raises:
            CheckpointError: the message names the optimiser, the entry and the problem.
        """
        name = type(self).__name__
        where = f"{name}.load_state_dict:"
        if not isinstance(state, Mapping):
            raise CheckpointError(f"{where} the state must be a dict, got {show(state)}")
        if state.get("type", name) != name:
            kind = state["type"]
            shown = show(kind)[1:-1] if isinstance(kind, str) else show(kind)
            raise CheckpointError(f"{where} the state is from {shown}")
        hyper = state.get("hyper", {})
        if not isinstance(hyper, Mapping):
            raise CheckpointError(f"{where} 'hyper' must be a dict, got {show(hyper)}")
        try:
            hyper = self.check_hyper({**self.defaults, **hyper}, where[:-1], "hyperparameter ")
        except ArgumentError as exc:
            raise CheckpointError(str(exc)) from None
        per_param = state.get("state")
        if not isinstance(per_param, (list, tuple)):
            raise CheckpointError(f"{where} 'state' must be a list, got {show(per_param)}")
        if len(per_param) != len(self.params):
            raise CheckpointError(
                f"{where} the state has {len(per_param)} parameters, "
                f"this optimiser has {len(self.params)}"
            )
        checked = [
            self._check_param_state(s, p, i)
            for i, (s, p) in enumerate(zip(per_param, self.params, strict=True))
        ]
        return {"type": name, "hyper": hyper, "state": checked}

    def _check_param_state(self, s: Any, p: Tensor, i: int) -> dict[str, Any]:
        name = type(self).__name__
        where = f"{name}.load_state_dict: state"
        of = f"of parameter {i}" + (f" ({p.name})" if p.name else "")
        if not isinstance(s, Mapping):
            raise CheckpointError(f"{where} {of} must be a dict, got {show(s)}")
        keys = {**self.state_scalars, **self.state_arrays}
        if s and set(s) != set(keys):
            unknown = [k for k in s if k not in keys]
            problem = (
                f"holds the unknown entry {show(unknown[0])}"
                if unknown
                else f"lacks {', '.join(repr(k) for k in keys if k not in s)}"
            )
            raise CheckpointError(
                f"{where} {of} {problem} (expected nothing, or all of: {', '.join(keys)})"
            )
        out: dict[str, Any] = {}
        for key, check in self.state_scalars.items():
            if key in s:
                try:
                    out[key] = check(f"{name}.load_state_dict", f"state {key!r} {of}", s[key])
                except ArgumentError as exc:
                    raise CheckpointError(str(exc)) from None
        for key, least in self.state_arrays.items():
            if key not in s:
                continue
            value = s[key]
            if not isinstance(value, np.ndarray) or value.shape != p.data.shape:
                got = value.shape if isinstance(value, np.ndarray) else show(value)
                raise CheckpointError(
                    f"{where} {key!r} {of} has shape {got}, the parameter has {p.data.shape}"
                )
            if value.dtype.kind not in "fiub":
                raise CheckpointError(
                    f"{where} {key!r} {of} has dtype {value.dtype}; expected numbers"
                )
            with np.errstate(over="ignore", invalid="ignore"):
                value = value.astype(p.data.dtype)
            if not np.isfinite(value).all() or (least is not None and (value < least).any()):
                bound = "" if least is None else f" and >= {least:g}"
                raise CheckpointError(
                    f"{where} {key!r} {of} must hold finite numbers{bound} "
                    f"(in {p.data.dtype}); it holds {_first_bad(value, least)}"
                )
            out[key] = value
        return out

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (for the same parameters, in order).

        Everything is checked (:meth:`check_state_dict`) before anything changes, so a state
        that does not fit leaves the optimiser as it was.
        """
        checked = self.check_state_dict(state)
        self.defaults, self.state = checked["hyper"], checked["state"]

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v}" for k, v in self.defaults.items())
        return f"{type(self).__name__}({len(self.params)} parameters, {hyper})"


def _first_bad(value: np.ndarray, least: float | None) -> str:
    bad = ~np.isfinite(value) if least is None else ~np.isfinite(value) | (value < least)
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return f"{value[index]} at {list(index)}"


def _rate(where: str, argument: str, value: Any) -> float:
    return non_negative(where, argument, value, finite=True)


def _betas(where: str, argument: str, value: Any) -> list[float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        subject = f"{where}: {argument}" if where else argument
        what = f"{subject} must be a pair of numbers in [0, 1)"
        raise ArgumentError(f"{what}, got {show(value)} ({type(value).__name__})")
    return [fraction(where, argument, b) for b in value]


def _step(where: str, argument: str, value: Any) -> int:
    return integer(where, argument, value, 1)


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

    hyper: ClassVar[dict[str, Check]] = {
        "lr": _rate,
        "momentum": _rate,
        "weight_decay": _rate,
        "nesterov": boolean,
    }
    state_arrays: ClassVar[dict[str, float | None]] = {"momentum_buffer": None}

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(
            params, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov
        )

    @classmethod
    def _check_together(cls, hyper: dict[str, Any], at: str) -> None:
        if hyper["nesterov"] and hyper["momentum"] == 0:
            raise ArgumentError(f"{at}nesterov=True needs momentum > 0")

    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        d = self.defaults
        lr, mu, wd, nesterov = d["lr"], d["momentum"], d["weight_decay"], d["nesterov"]
        with no_grad():
            for p, state, g in self._decayed_grads(wd):
                if mu:
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = np.array(g, dtype=p.data.dtype)
                    else:
                        buf *= mu
                        buf += g
                    g = g + mu * buf if nesterov else buf
                p -= lr * g


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

    hyper: ClassVar[dict[str, Check]] = {
        "lr": _rate,
        "betas": _betas,
        "eps": _rate,
        "weight_decay": _rate,
    }
    state_scalars: ClassVar[dict[str, Check]] = {"step": _step}
    state_arrays: ClassVar[dict[str, float | None]] = {"exp_avg": None, "exp_avg_sq": 0.0}

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        d = self.defaults
        lr, (b1, b2), eps, wd = d["lr"], d["betas"], d["eps"], d["weight_decay"]
        with no_grad():
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
                p -= work
