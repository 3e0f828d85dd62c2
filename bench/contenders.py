"""The systems under test, each set up from the same :class:`~bench.reference.CNNParams`.

* ``minigrad``: the seed CNN as a user writes it, ``minigrad.nn`` layers and ``minigrad.optim.SGD``;
* ``minigrad-ops``: the same computation with the raw ops and an in-place update (no modules);
* ``minigrad-doc``: the raw ops as the design document writes them (``matmul`` with the dense
  matrix ``W^d`` of shape (in, out), then ``add``), with an in-place update;
* ``numpy``: :mod:`bench.reference`, no framework;
* ``torch``: PyTorch on the CPU, when ``import torch`` works (it is not a dependency).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import minigrad
from bench.reference import CNNParams, numpy_cnn_grads, numpy_cnn_step
from minigrad import nn
from minigrad.optim import SGD, Adam

__all__ = [
    "MinigradCNN",
    "MinigradDocCNN",
    "MinigradModel",
    "MinigradOpsCNN",
    "NumpyCNN",
    "TorchCNN",
    "TorchModel",
    "torch_model",
    "torch_or_none",
]

Step = Callable[[np.ndarray, np.ndarray], float]


def torch_or_none() -> Any:
    """The ``torch`` module, or None when it cannot be imported."""
    try:
        import torch
    except Exception:  # any failure to import means: no PyTorch column
        return None
    return torch


class NumpyCNN:
    """Hand-written NumPy (bench/reference.py)."""

    def __init__(self, params: CNNParams, lr: float) -> None:
        self.params, self.lr = params.copy(), lr

    def step(self, x: np.ndarray, t: np.ndarray) -> float:
        return numpy_cnn_step(self.params, x, t, self.lr)

    def grads(self, x: np.ndarray, t: np.ndarray) -> tuple[float, list[np.ndarray]]:
        return numpy_cnn_grads(self.params, x, t)


class MinigradModel:
    """A ``minigrad.nn`` model (from a spec in ``models/``) trained with ``optimizer``, Adam by
    default, on ``cross_entropy``."""

    def __init__(self, model: nn.Module, lr: float, optimizer: Callable[..., Any] = Adam) -> None:
        self.model = model
        self.optimizer = optimizer(model.parameters(), lr=lr)

    def step(self, x: np.ndarray, t: np.ndarray) -> float:
        self.optimizer.zero_grad()
        loss = minigrad.cross_entropy(self.model(x), t)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def grads(self, x: np.ndarray, t: np.ndarray) -> tuple[float, list[np.ndarray]]:
        self.optimizer.zero_grad()
        loss = minigrad.cross_entropy(self.model(x), t)
        loss.backward()
        return loss.item(), [p.grad for p in self.model.parameters()]


class MinigradCNN(MinigradModel):
    """The design document's CNN through ``minigrad.nn`` and ``minigrad.optim.SGD``."""

    def __init__(self, params: CNNParams, lr: float) -> None:
        f, _, kh, _ = params.conv_w.shape
        classes, features = params.dense_w.shape
        dtype = params.conv_w.dtype
        model = nn.Sequential(
            nn.Conv2d(1, f, kh, dtype=dtype, rng=0),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(features, classes, dtype=dtype, rng=0),
        )
        model.load_state_dict(
            {
                "0.weight": params.conv_w,
                "0.bias": params.conv_b,
                "3.weight": params.dense_w,
                "3.bias": params.dense_b,
            }
        )
        super().__init__(model, lr, SGD)


class MinigradOpsCNN:
    """The same CNN written with the raw ops: ``conv2d``, ``relu``, ``flatten``, ``linear``."""

    def __init__(self, params: CNNParams, lr: float) -> None:
        self.params = [minigrad.Tensor(a, requires_grad=True) for a in params.arrays()]
        self.lr = lr

    def _loss(self, x: np.ndarray, t: np.ndarray) -> minigrad.Tensor:
        conv_w, conv_b, dense_w, dense_b = self.params
        a = minigrad.relu(minigrad.conv2d(x, conv_w, conv_b))
        return minigrad.cross_entropy(minigrad.linear(minigrad.flatten(a), dense_w, dense_b), t)

    def step(self, x: np.ndarray, t: np.ndarray) -> float:
        for p in self.params:
            p.grad = None
        loss = self._loss(x, t)
        loss.backward()
        for p in self.params:
            p.data -= self.lr * p.grad  # W <- W - eta dL/dW
        return loss.item()

    def grads(self, x: np.ndarray, t: np.ndarray) -> tuple[float, list[np.ndarray]]:
        for p in self.params:
            p.grad = None
        loss = self._loss(x, t)
        loss.backward()
        return loss.item(), [p.grad for p in self.params]


class MinigradDocCNN(MinigradOpsCNN):
    """The CNN as the design document writes it: ``conv2d``, ``relu``, ``reshape``,
    ``matmul(A^f, W^d)`` with ``W^d`` of shape (in, out), ``add``, ``cross_entropy``."""

    def __init__(self, params: CNNParams, lr: float) -> None:
        arrays = params.arrays()
        arrays[2] = np.ascontiguousarray(arrays[2].T)  # W^d: (in, out)
        self.params = [minigrad.Tensor(a, requires_grad=True) for a in arrays]
        self.lr = lr

    def _loss(self, x: np.ndarray, t: np.ndarray) -> minigrad.Tensor:
        wc, bc, wd, bd = self.params
        zc = minigrad.conv2d(x, wc, bc)  # Z^c = X * W^c + b^c
        af = minigrad.reshape(minigrad.relu(zc), (len(x), -1))  # A^f = flatten(max(0, Z^c))
        zd = minigrad.add(minigrad.matmul(af, wd), bd)  # Z^d = A^f W^d + b^d
        return minigrad.cross_entropy(zd, t)

    def grads(self, x: np.ndarray, t: np.ndarray) -> tuple[float, list[np.ndarray]]:
        loss, grads = super().grads(x, t)
        grads[2] = grads[2].T  # in the reference's (out, in) layout
        return loss, grads


class TorchCNN:
    """PyTorch: ``nn.Sequential(Conv2d, ReLU, Flatten, Linear)``, ``F.cross_entropy``, SGD."""

    def __init__(self, params: CNNParams, lr: float) -> None:
        torch = torch_or_none()
        assert torch is not None
        self.torch = torch
        f, _, kh, _ = params.conv_w.shape
        classes, features = params.dense_w.shape
        dtype = getattr(torch, params.conv_w.dtype.name)
        self.model = torch.nn.Sequential(
            torch.nn.Conv2d(1, f, kh),
            torch.nn.ReLU(),
            torch.nn.Flatten(),
            torch.nn.Linear(features, classes),
        ).to(dtype)
        with torch.no_grad():
            for p, a in zip(self.model.parameters(), params.arrays(), strict=True):
                p.copy_(torch.from_numpy(a))
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=lr)

    def step(self, x: np.ndarray, t: np.ndarray) -> float:
        torch = self.torch
        self.optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(
            self.model(torch.from_numpy(x)), torch.from_numpy(t)
        )
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def grads(self, x: np.ndarray, t: np.ndarray) -> tuple[float, list[np.ndarray]]:
        torch = self.torch
        self.optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(
            self.model(torch.from_numpy(x)), torch.from_numpy(t)
        )
        loss.backward()
        return loss.item(), [p.grad.numpy() for p in self.model.parameters()]


def torch_model(model: nn.Module) -> Any:
    """The PyTorch twin of ``model`` (:mod:`bench.twins`) with a copy of its weights and buffers."""
    torch = torch_or_none()
    assert torch is not None
    from bench.twins import twin_of_model  # imports torch

    twin = twin_of_model(model)
    state = {k: torch.from_numpy(np.array(v)) for k, v in model.state_dict().items()}
    twin.load_state_dict(state)  # strict: PyTorch's names and shapes, as minigrad's
    return twin


class TorchModel:
    """The same model in PyTorch (:func:`torch_model`), trained with ``torch.optim.Adam``."""

    def __init__(self, model: nn.Sequential, lr: float) -> None:
        self.torch = torch_or_none()
        self.model = torch_model(model)
        self.optimizer = self.torch.optim.Adam(self.model.parameters(), lr=lr)

    def _loss(self, x: np.ndarray, t: np.ndarray) -> Any:
        torch = self.torch
        return torch.nn.functional.cross_entropy(
            self.model(torch.from_numpy(x)), torch.from_numpy(t)
        )

    def step(self, x: np.ndarray, t: np.ndarray) -> float:
        self.optimizer.zero_grad()
        loss = self._loss(x, t)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def grads(self, x: np.ndarray, t: np.ndarray) -> tuple[float, list[np.ndarray]]:
        self.optimizer.zero_grad()
        loss = self._loss(x, t)
        loss.backward()
        return loss.item(), [p.grad.numpy() for p in self.model.parameters()]
