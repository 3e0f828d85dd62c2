"""Models as trees of layers, as in PyTorch: ``Module``, ``Parameter``, the layers, specs.

| file | what |
|---|---|
| ``module.py`` | ``Parameter``, ``Module`` (registration, names, state), ``Sequential`` |
| ``layers.py`` | ``Conv2d``, ``Linear``, ``ReLU``, ``Flatten``, ``MaxPool2d``, ``LogSoftmax`` |
| ``spec.py`` | ``from_spec``: a ``Sequential`` from a TOML spec, by path or bundled name |
| ``summary.py`` | ``summary(model, input_shape)``: layers, output shapes, parameter counts |

>>> from minigrad import nn
>>> model = nn.from_spec("seed_cnn")   # a bundled spec by name, or a path to a TOML file
>>> model.spec["name"]
'seed_cnn'
"""

from minigrad.nn.layers import Conv2d, Flatten, Linear, LogSoftmax, MaxPool2d, ReLU, Softmax
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
    validate_spec,
)
from minigrad.nn.summary import Summary, summary

__all__ = [
    "LAYER_TYPES",
    "Conv2d",
    "Flatten",
    "LayerShapes",
    "Linear",
    "LogSoftmax",
    "MaxPool2d",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "Softmax",
    "Summary",
    "bundled_specs",
    "folder_name",
    "from_spec",
    "infer_shapes",
    "load_spec",
    "spec_file",
    "summary",
    "validate_spec",
]
