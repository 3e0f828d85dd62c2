"""Models as trees of layers, as in PyTorch: ``Module``, ``Parameter``, the layers, specs.

| file | what |
|---|---|
| ``module.py`` | ``Parameter``, ``Module`` (registration, names, state), ``Sequential`` |
| ``layers.py`` | ``Conv2d``, ``Linear``, ``ReLU``, ``Flatten``, ``MaxPool2d``, ``LogSoftmax``, |
| | ``Tanh``, ``Sigmoid``, ``LeakyReLU``, ``AvgPool2d``, ``BatchNorm1d``, ``BatchNorm2d``, |
| | ``Dropout``, and the merges ``Add`` and ``Concat`` |
| ``graph.py`` | ``Graph``: layers that read named earlier layers (skip connections) |
| ``spec.py`` | ``from_spec``: a ``Sequential`` or ``Graph`` from a TOML spec, by path or |
| | bundled name |
| ``summary.py`` | ``summary(model, input_shape)``: layers, output shapes, parameter counts |

>>> from minigrad import nn
>>> model = nn.from_spec("seed_cnn")   # a bundled spec by name, or a path to a TOML file
>>> model.spec["name"]
'seed_cnn'
"""

from minigrad.nn.graph import Graph
from minigrad.nn.layers import (
    Add,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Concat,
    Conv2d,
    Dropout,
    Flatten,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from minigrad.nn.module import Module, Parameter, Sequential
from minigrad.nn.spec import (
    LAYER_TYPES,
    LayerShapes,
    bundled_specs,
    folder_name,
    from_spec,
    infer_shapes,
    load_spec,
    spec_file,
    state_shapes,
    validate_spec,
)
from minigrad.nn.summary import Summary, summary

__all__ = [
    "LAYER_TYPES",
    "Add",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Concat",
    "Conv2d",
    "Dropout",
    "Flatten",
    "Graph",
    "LayerShapes",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MaxPool2d",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Summary",
    "Tanh",
    "bundled_specs",
    "folder_name",
    "from_spec",
    "infer_shapes",
    "load_spec",
    "spec_file",
    "state_shapes",
    "summary",
    "validate_spec",
]
