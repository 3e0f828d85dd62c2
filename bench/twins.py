"""PyTorch twins of minigrad models: the same layers with the same arguments and names, so
that ``twin.load_state_dict`` takes minigrad's state dict (or its safetensors file) as it is.

Used by the benchmark's ``models`` section and by the opt-in PyTorch tests; PyTorch is never a
dependency of minigrad.
"""

from __future__ import annotations

from typing import Any

import torch

from minigrad import nn

__all__ = ["twin_of", "twin_of_model"]


class TorchGraph(torch.nn.Module):
    """Modules run by name, each reading the outputs it names (``"input"``: the input)."""

    def __init__(self) -> None:
        super().__init__()
        self.wiring: list[tuple[str, list[str]]] = []

    def forward(self, x: Any) -> Any:
        values = {"input": x}
        for name, inputs in self.wiring:
            values[name] = getattr(self, name)(*[values[i] for i in inputs])
        return values[self.wiring[-1][0]]


class TorchMerge(torch.nn.Module):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def forward(self, *xs: Any) -> Any:
        return sum(xs[1:], xs[0]) if self.kind == "Add" else torch.cat(xs, dim=1)


def twin_of_model(model: nn.Module) -> Any:
    """The PyTorch twin of a ``Sequential``, a ``Graph`` (blocks included) or one layer, with
    PyTorch's own initial weights and the model's dtype."""
    if isinstance(model, nn.Graph):
        twin = TorchGraph()
        for name, inputs in model.inputs.items():
            twin.add_module(name, twin_of_model(getattr(model, name)))
            twin.wiring.append((name, list(inputs)))
    elif isinstance(model, nn.Sequential):
        twin = torch.nn.Sequential(*[twin_of_model(m) for m in model])
    else:
        return twin_of(model)
    params = model.parameters()
    return twin.double() if params and params[0].data.dtype.name == "float64" else twin


def twin_of(module: nn.Module) -> Any:
    """The PyTorch layer of one minigrad layer, with the same arguments."""
    tnn = torch.nn
    kind = type(module).__name__
    if kind == "Conv2d":
        return tnn.Conv2d(
            module.in_channels,
            module.out_channels,
            module.kernel_size,
            stride=module.stride,
            padding=module.padding,
            bias=module.bias is not None,
        )
    if kind == "Linear":
        return tnn.Linear(module.in_features, module.out_features, module.bias is not None)
    if kind in ("BatchNorm1d", "BatchNorm2d"):
        return getattr(tnn, kind)(
            module.num_features,
            eps=module.eps,
            momentum=module.momentum,
            affine=module.affine,
            track_running_stats=module.track_running_stats,
        )
    if kind == "MaxPool2d":
        return tnn.MaxPool2d(module.kernel_size, module.stride)
    if kind == "AvgPool2d":
        return tnn.AvgPool2d(module.kernel_size, module.stride, module.padding)
    if kind == "Flatten":
        return tnn.Flatten(module.start_axis)
    if kind == "Dropout":
        return tnn.Dropout(module.p)
    if kind == "LeakyReLU":
        return tnn.LeakyReLU(module.negative_slope)
    if kind in ("Add", "Concat"):
        return TorchMerge(kind)
    return getattr(tnn, kind)()  # ReLU, Tanh, Sigmoid, LogSoftmax(-1), Softmax
