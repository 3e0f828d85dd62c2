"""Every mistake a user can make raises a documented minigrad error that teaches.

Each case asserts the exception's class (a subclass of the built-in a Python programmer
expects) and the key words of its message: the op, what it expected and what it got. The same
list is the table in docs/errors.md.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import minigrad
import minigrad.nn
from minigrad import (
    ArgumentError,
    DTypeError,
    GraphError,
    MinigradError,
    ShapeError,
    Tensor,
)
from minigrad.data import DataLoader
from minigrad.errors import CheckpointError, ExportError, SpecError, StateDictError
from minigrad.export import export_model, to_onnx
from minigrad.optim import SGD, Adam

MODELS = Path(__file__).resolve().parents[1] / "models"


def train_run(**kwargs: Any) -> Any:
    """A quick ``minigrad.train.run`` of the MLP that must fail before it writes anything."""
    from minigrad.train import run

    options = {"epochs": 1, "limit": 20, "plots": False, "progress": False, "log": None}
    with tempfile.TemporaryDirectory() as out:
        return run(kwargs.pop("model", MODELS / "mlp.toml"), out=out, **{**options, **kwargs})


def resume_mlp(spec: Path, epochs: int) -> None:
    """Resume a one-epoch checkpoint of the MLP, ``mlp.npz``, with ``spec`` up to ``epochs``."""
    from minigrad.checkpoint import save_checkpoint

    model = minigrad.nn.from_spec(MODELS / "mlp.toml")
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)  # the message starts with the path as given: mlp.npz
        try:
            save_checkpoint("mlp.npz", model, SGD(model.parameters(), lr=0.1), epoch=1)
            train_run(model=spec, epochs=epochs, resume="mlp.npz")
        finally:
            os.chdir(here)


def twelve_classes() -> dict[str, Any]:
    spec = minigrad.nn.load_spec(MODELS / "mlp.toml")
    spec["layers"][-1]["out_features"] = 12
    return spec


def leaf(shape: tuple[int, ...] = (3,), dtype: Any = np.float64) -> Tensor:
    return Tensor(np.ones(shape, dtype=dtype), requires_grad=True)


def zeros(*shape: int, dtype: Any = np.float64) -> Tensor:
    return Tensor(np.zeros(shape, dtype=dtype))


def released() -> None:
    x = leaf()
    y = (x * x).sum()
    y.backward()
    y.backward()


def hooked(hook: Callable[[np.ndarray], Any]) -> None:
    y = leaf() * 2
    y.register_hook(hook)
    y.sum().backward()


def non_leaf_requires_grad_off() -> None:
    (leaf() * 2).requires_grad = False


class Ones(minigrad.Function):
    """A deliberately wrong op: its VJP returns the wrong shape, dtype or count."""

    @staticmethod
    def forward(ctx: minigrad.Node, x: np.ndarray, *, bad: str) -> np.ndarray:
        return x.copy()

    @staticmethod
    def backward(ctx: minigrad.Node, grad: np.ndarray) -> Any:
        bad = ctx.attrs["bad"]
        if bad == "shape":
            return (np.ones((*grad.shape, 2)),)
        if bad == "dtype":
            return (grad.astype(np.float32),)
        return (grad, grad)


def wrong_vjp(bad: str) -> None:
    Ones.apply(leaf(), bad=bad).sum().backward()


def index_out_of_range() -> None:
    zeros(3, 2)[3]


def modified_after_saved() -> None:
    w, x = leaf((2,)), Tensor(np.array([5.0, 7.0]), name="x")
    y = (w * x).sum()
    with minigrad.no_grad():
        x *= 20
    y.backward()


def explore_after_backward() -> None:
    import tempfile
    from pathlib import Path

    loss = (leaf() * 2).sum()
    loss.backward()
    minigrad.viz.explore(loss, Path(tempfile.gettempdir()) / "never-written.html")


def explore_with_steps_of_another_graph() -> None:
    with minigrad.record_backward() as steps:
        (leaf() * 2).sum().backward()
    minigrad.viz.explore((leaf() + 1).sum(), "never-written.html", steps=steps)


def fit_with_grad_every(value: Any) -> None:
    from minigrad.train import fit

    model = minigrad.nn.Sequential(minigrad.nn.Linear(2, 2, rng=0))
    loader = DataLoader(np.zeros((2, 2)), np.zeros(2, dtype=int))
    fit(model, SGD(model.parameters(), lr=0.1), loader, progress=False, grad_every=value)


class Scale(minigrad.nn.Module):
    """A user's layer: minigrad cannot know what to write for it in ONNX."""

    def forward(self, x: Any) -> Any:
        return x * 2.0

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return input_shape


# (id, the mistake, the error class, a regular expression its message matches)
CASES: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    # ---- making tensors
    (
        "requires_grad on ints",
        lambda: Tensor(np.arange(3), requires_grad=True),
        DTypeError,
        r"requires_grad: only float tensors can require gradients, got dtype int64",
    ),
    (
        "requires_grad on bools",
        lambda: Tensor([True], requires_grad=True),
        DTypeError,
        r"requires_grad: only float tensors .* got dtype bool",
    ),
    (
        "ragged list",
        lambda: Tensor([[1.0, 2.0], [3.0]]),
        DTypeError,
        r"Tensor: cannot make a numeric array from list .*inhomogeneous",
    ),
    (
        "object array",
        lambda: Tensor(np.array([1, "a"], dtype=object)),
        DTypeError,
        r"Tensor: expected a float, integer or bool array, got dtype object",
    ),
    ("strings", lambda: Tensor(["a", "b"]), DTypeError, r"Tensor: expected .* got dtype <U1"),
    ("complex", lambda: Tensor([1j]), DTypeError, r"Tensor: expected .* got dtype complex128"),
    ("None", lambda: Tensor(None), DTypeError, r"Tensor: expected .* got dtype object"),
    (
        "unknown dtype",
        lambda: Tensor([1.0], dtype="floaty"),
        DTypeError,
        r"Tensor: cannot make a numeric array .*floaty",
    ),
    (
        "astype unknown dtype",
        lambda: zeros(2).astype("floaty"),
        DTypeError,
        r"astype: 'floaty' is not a NumPy dtype",
    ),
    (
        "astype complex",
        lambda: zeros(2).astype(np.complex64),
        DTypeError,
        r"astype: expected a float, integer or bool dtype, got complex64",
    ),
    (
        "item of many",
        lambda: zeros(3).item(),
        ShapeError,
        r"item: only one-element tensors .* got shape \(3,\)",
    ),
    ("len of 0-d", lambda: len(Tensor(1.0)), ArgumentError, r"len: a 0-d tensor has no length"),
    (
        "requires_grad off on a non-leaf",
        non_leaf_requires_grad_off,
        GraphError,
        r"requires_grad: cannot turn off gradients of a non-leaf tensor; use .detach",
    ),
    # ---- elementwise
    (
        "add shapes",
        lambda: zeros(2, 3) + zeros(4),
        ShapeError,
        r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast together",
    ),
    (
        "mul shapes",
        lambda: zeros(2, 3) * zeros(3, 2),
        ShapeError,
        r"mul: shapes \(2, 3\) and \(3, 2\) cannot be broadcast together",
    ),
    ("sub shapes", lambda: zeros(5) - zeros(4), ShapeError, r"sub: shapes \(5,\) and \(4,\)"),
    ("div shapes", lambda: zeros(5) / zeros(4), ShapeError, r"div: shapes \(5,\) and \(4,\)"),
    (
        "add a string",
        lambda: zeros(3) + "a",
        DTypeError,
        r"add: expected a float, integer or bool array, got dtype <U1",
    ),
    (
        "add None",
        lambda: minigrad.add(zeros(3), None),
        DTypeError,
        r"add: expected a float, integer or bool array, got dtype object",
    ),
    (
        "add a ragged list",
        lambda: minigrad.add(zeros(2), [[1.0], [1.0, 2.0]]),
        DTypeError,
        r"add: cannot make a numeric array from list",
    ),
    (
        "mul an object array",
        lambda: zeros(3) * np.array([1, 2, 3], dtype=object),
        DTypeError,
        r"mul: expected .* got dtype object",
    ),
    ("add complex", lambda: zeros(3) + 1j, DTypeError, r"add: expected .* got dtype complex128"),
    (
        "subtract bools",
        lambda: Tensor([True]) - Tensor([False]),
        DTypeError,
        r"sub: not defined for dtypes bool and bool",
    ),
    ("negate bools", lambda: -Tensor([True]), DTypeError, r"neg: not defined for dtype bool"),
    (
        "pow by a tensor",
        lambda: zeros(3) ** zeros(3),
        ArgumentError,
        r"pow: the exponent must be a Python int or float, got Tensor",
    ),
    (
        "pow by a string",
        lambda: minigrad.pow(zeros(3), "2"),
        ArgumentError,
        r"pow: the exponent must be .* got str",
    ),
    (
        "int to a negative power",
        lambda: Tensor([2, 3]) ** -1,
        DTypeError,
        r"pow: cannot raise a int64 tensor to the power -1; convert it to float first",
    ),
    # ---- matmul and linear
    (
        "matmul inner sizes",
        lambda: zeros(2, 3) @ zeros(4, 5),
        ShapeError,
        r"matmul: shapes \(2, 3\) and \(4, 5\) cannot be multiplied \(3 != 4\)",
    ),
    (
        "matmul vectors",
        lambda: zeros(3) @ zeros(4),
        ShapeError,
        r"matmul: shapes \(3,\) and \(4,\) cannot be multiplied \(3 != 4\)",
    ),
    (
        "matmul batch",
        lambda: zeros(2, 2, 3) @ zeros(3, 3, 5),
        ShapeError,
        r"matmul: shapes \(2, 2, 3\) and \(3, 3, 5\) .*batch dimensions do not broadcast",
    ),
    (
        "matmul 0-d",
        lambda: minigrad.matmul(Tensor(2.0), zeros(3)),
        ShapeError,
        r"matmul: both operands need at least 1 dimension, got shapes \(\) and \(3,\)",
    ),
    (
        "linear features",
        lambda: minigrad.linear(zeros(2, 3), zeros(4, 5)),
        ShapeError,
        r"linear: input has 3 features \(shape \(2, 3\)\) but the weight of shape \(4, 5\) "
        r"expects 5",
    ),
    (
        "linear 1-D weight",
        lambda: minigrad.linear(zeros(2, 3), zeros(3)),
        ShapeError,
        r"linear: weight must be 2-D \(out, in\), got shape \(3,\)",
    ),
    (
        "linear bias",
        lambda: minigrad.linear(zeros(2, 3), zeros(4, 3), zeros(5)),
        ShapeError,
        r"linear: bias must have shape \(4,\) .* got \(5,\)",
    ),
    (
        "matmul of float32 and float64",
        lambda: zeros(2, 3, dtype=np.float32) @ zeros(3, 2),
        DTypeError,
        r"matmul: expected inputs of one dtype, got \(float32, float64\); convert them first",
    ),
    (
        "matmul of a string",
        lambda: minigrad.matmul(zeros(3), "abc"),
        DTypeError,
        r"matmul: expected a float, integer or bool array, got dtype <U3",
    ),
    # ---- conv2d and max_pool2d
    (
        "conv2d 3-D input",
        lambda: minigrad.conv2d(zeros(1, 5, 5), zeros(1, 1, 3, 3)),
        ShapeError,
        r"conv2d: expected a 4-D input \(N, C, H, W\), got shape \(1, 5, 5\); add a batch axis",
    ),
    (
        "conv2d 2-D weight",
        lambda: minigrad.conv2d(zeros(1, 1, 5, 5), zeros(3, 3)),
        ShapeError,
        r"conv2d: expected a 4-D weight \(F, C, kh, kw\), got shape \(3, 3\)",
    ),
    (
        "conv2d channels",
        lambda: minigrad.conv2d(zeros(1, 2, 5, 5), zeros(4, 3, 3, 3)),
        ShapeError,
        r"conv2d: input has 2 channels \(shape \(1, 2, 5, 5\)\) but the weight "
        r"expects 3",
    ),
    (
        "conv2d kernel too large",
        lambda: minigrad.conv2d(zeros(1, 1, 2, 2), zeros(1, 1, 3, 3), padding=0),
        ShapeError,
        r"conv2d: kernel 3x3 is larger than the padded input 2x2",
    ),
    (
        "conv2d empty kernel",
        lambda: minigrad.conv2d(zeros(1, 1, 4, 4), zeros(1, 1, 0, 2)),
        ShapeError,
        r"conv2d: the kernel must be at least 1x1, got weight shape \(1, 1, 0, 2\)",
    ),
    (
        "conv2d bias",
        lambda: minigrad.conv2d(zeros(1, 1, 4, 4), zeros(2, 1, 3, 3), zeros(3)),
        ShapeError,
        r"conv2d: bias must have shape \(2,\), got \(3,\)",
    ),
    (
        "conv2d stride 0",
        lambda: minigrad.conv2d(zeros(1, 1, 5, 5), zeros(1, 1, 3, 3), stride=0),
        ShapeError,
        r"conv2d: stride must be >= 1, got 0",
    ),
    (
        "conv2d padding -1",
        lambda: minigrad.conv2d(zeros(1, 1, 5, 5), zeros(1, 1, 3, 3), padding=-1),
        ShapeError,
        r"conv2d: padding must be >= 0, got -1",
    ),
    (
        "conv2d float stride",
        lambda: minigrad.conv2d(zeros(1, 1, 5, 5), zeros(1, 1, 3, 3), stride=1.5),
        ArgumentError,
        r"conv2d: stride must be an int or a pair of ints, got 1.5",
    ),
    (
        "conv2d stride None",
        lambda: minigrad.conv2d(zeros(1, 1, 5, 5), zeros(1, 1, 3, 3), stride=None),
        ArgumentError,
        r"conv2d: stride must be an int or a pair of ints, got None",
    ),
    (
        "conv2d stride triple",
        lambda: minigrad.conv2d(zeros(1, 1, 5, 5), zeros(1, 1, 3, 3), stride=(1, 1, 1)),
        ArgumentError,
        r"conv2d: stride must be an int or a pair of ints, got \(1, 1, 1\)",
    ),
    (
        "conv2d bool padding",
        lambda: minigrad.conv2d(zeros(1, 1, 5, 5), zeros(1, 1, 3, 3), padding=True),
        ArgumentError,
        r"conv2d: padding must be an int or a pair of ints, got True",
    ),
    (
        "max_pool2d 3-D input",
        lambda: minigrad.max_pool2d(zeros(1, 4, 4), 2),
        ShapeError,
        r"max_pool2d: expected a 4-D input \(N, C, H, W\), got shape \(1, 4, 4\)",
    ),
    (
        "max_pool2d kernel 0",
        lambda: minigrad.max_pool2d(zeros(1, 1, 4, 4), 0),
        ShapeError,
        r"max_pool2d: kernel_size must be >= 1, got 0",
    ),
    (
        "max_pool2d float kernel",
        lambda: minigrad.max_pool2d(zeros(1, 1, 4, 4), 2.0),
        ArgumentError,
        r"max_pool2d: kernel_size must be an int or a pair of ints, got 2.0",
    ),
    (
        "max_pool2d kernel too large",
        lambda: minigrad.max_pool2d(zeros(1, 1, 4, 4), 5),
        ShapeError,
        r"max_pool2d: kernel 5x5 is larger than the padded input 4x4",
    ),
    (
        "avg_pool2d padding over half the kernel",
        lambda: minigrad.avg_pool2d(zeros(1, 1, 4, 4), 2, padding=2),
        ArgumentError,
        r"avg_pool2d: padding must be at most half the kernel size, got padding \(2, 2\)",
    ),
    (
        "avg_pool2d 3-D input",
        lambda: minigrad.avg_pool2d(zeros(1, 4, 4), 2),
        ShapeError,
        r"avg_pool2d: expected a 4-D input \(N, C, H, W\), got shape \(1, 4, 4\)",
    ),
    # ---- batch norm and dropout
    (
        "batch_norm of a vector",
        lambda: minigrad.batch_norm(zeros(3), None, None, training=True),
        ShapeError,
        r"batch_norm: expected an input of shape \(N, C\) or \(N, C, H, W\), got shape \(3,\)",
    ),
    (
        "batch_norm training on one sample",
        lambda: minigrad.batch_norm(zeros(1, 3), None, None, training=True),
        ShapeError,
        r"batch_norm: training needs more than one value per channel",
    ),
    (
        "batch_norm statistics of the wrong size",
        lambda: minigrad.batch_norm(zeros(2, 3), zeros(4).data, zeros(4).data),
        ShapeError,
        r"batch_norm: the mean must have shape \(3,\), one value per channel",
    ),
    (
        "batch_norm evaluation without running statistics",
        lambda: minigrad.batch_norm(zeros(2, 3), None, None),
        ShapeError,
        r"batch_norm: evaluation \(training=False\) needs running_mean and running_var",
    ),
    (
        "batch_norm integer running statistics",
        lambda: minigrad.batch_norm(zeros(2, 3), np.zeros(3, int), np.ones(3)),
        DTypeError,
        r"batch_norm: running_mean must be a float array or tensor, got ndarray of dtype int64",
    ),
    (
        "batch_norm momentum above 1",
        lambda: minigrad.batch_norm(zeros(2, 3), None, None, training=True, momentum=1.5),
        ArgumentError,
        r"batch_norm: momentum must be in \[0, 1\], got 1.5",
    ),
    (
        "dropout probability above 1",
        lambda: minigrad.dropout(zeros(3), p=1.5),
        ArgumentError,
        r"dropout: p must be in \[0, 1\], got 1.5",
    ),
    (
        "dropout with a string seed",
        lambda: minigrad.dropout(zeros(3), rng="seed"),
        ArgumentError,
        r"dropout: rng must be a numpy Generator, an int seed or None, got 'seed'",
    ),
    (
        "a BatchNorm2d given vectors",
        lambda: minigrad.nn.BatchNorm2d(3)(np.zeros((2, 3), np.float32)),
        ShapeError,
        r"BatchNorm2d expects an input of shape \(C, H, W\) with C = 3 channels",
    ),
    # ---- shapes and axes
    (
        "reshape size",
        lambda: zeros(6).reshape(4, 2),
        ShapeError,
        r"reshape: cannot reshape a tensor of shape \(6,\) \(6 elements\) into shape \(4, 2\)",
    ),
    (
        "reshape two -1",
        lambda: zeros(6).reshape(-1, -1),
        ShapeError,
        r"reshape: cannot reshape .* into shape \(-1, -1\)",
    ),
    (
        "reshape float size",
        lambda: zeros(6).reshape(2.5, 3),
        ArgumentError,
        r"reshape: the shape must be an int or a tuple of ints, got \(2.5, 3\)",
    ),
    (
        "reshape None",
        lambda: minigrad.reshape(zeros(6), None),
        ArgumentError,
        r"reshape: the shape must be an int or a tuple of ints, got None",
    ),
    (
        "transpose not a permutation",
        lambda: minigrad.transpose(zeros(2, 3), (0, 0)),
        ShapeError,
        r"transpose: axes \(0, 0\) are not a permutation of the 2 axes",
    ),
    (
        "transpose float axis",
        lambda: minigrad.transpose(zeros(2, 3), (0.0, 1)),
        ArgumentError,
        r"transpose: axis must be an int, got float 0.0",
    ),
    (
        "transpose scalar axes",
        lambda: minigrad.transpose(zeros(2, 3), 1),
        ArgumentError,
        r"transpose: axes must be a tuple of ints or None, got 1",
    ),
    (
        "flatten axis out of range",
        lambda: minigrad.flatten(zeros(2, 3), 2),
        ShapeError,
        r"flatten: axis 2 is out of range for a tensor with 2 dimensions",
    ),
    (
        "sum axis out of range",
        lambda: zeros(2, 3).sum(axis=2),
        ShapeError,
        r"sum: axis 2 is out of range for a tensor with 2 dimensions \(expected -2 <= axis < 2\)",
    ),
    (
        "sum float axis",
        lambda: zeros(2, 3).sum(axis=1.0),
        ArgumentError,
        r"sum: axis must be an int, a tuple of ints or None, got float 1.0",
    ),
    (
        "mean string axis",
        lambda: zeros(2, 3).mean(axis=("a",)),
        ArgumentError,
        r"mean: axis must be an int, got str 'a'",
    ),
    (
        "sum repeated axis",
        lambda: zeros(2, 3).sum(axis=(0, -2)),
        ShapeError,
        r"sum: repeated axis in \(0, -2\)",
    ),
    (
        "mean of nothing",
        lambda: zeros(0, 3).mean(axis=0),
        ShapeError,
        r"mean: cannot average over axes \(0,\) of shape \(0, 3\)",
    ),
    # ---- activations
    (
        "log_softmax axis",
        lambda: minigrad.log_softmax(zeros(2, 3), axis=2),
        ShapeError,
        r"log_softmax: axis 2 is out of range for a tensor with 2 dimensions",
    ),
    (
        "log_softmax float axis",
        lambda: minigrad.log_softmax(zeros(2, 3), axis=1.0),
        ArgumentError,
        r"log_softmax: axis must be an int, got float 1.0",
    ),
    (
        "softmax of a 0-d tensor",
        lambda: minigrad.softmax(Tensor(1.0)),
        ShapeError,
        r"softmax: axis -1 is out of range for a tensor with 0 dimensions",
    ),
    (
        "softmax over nothing",
        lambda: minigrad.softmax(zeros(2, 0)),
        ShapeError,
        r"softmax: axis 1 of the input of shape \(2, 0\) is empty",
    ),
    (
        "log_softmax over nothing",
        lambda: minigrad.log_softmax(zeros(2, 0)),
        ShapeError,
        r"log_softmax: axis 1 of the input of shape \(2, 0\) is empty",
    ),
    (
        "leaky_relu slope as text",
        lambda: minigrad.leaky_relu(zeros(2), "0.1"),
        ArgumentError,
        r"leaky_relu: negative_slope must be a finite number, got '0.1'",
    ),
    (
        "concat of mismatched shapes",
        lambda: minigrad.concat([zeros(1, 3), zeros(2, 2)], axis=1),
        ShapeError,
        r"concat: input 1 has shape \(2, 2\), but input 0 has shape \(1, 3\)",
    ),
    (
        "concat of one tensor, not a list",
        lambda: minigrad.concat(zeros(2)),
        ArgumentError,
        r"concat: xs must be a non-empty list of tensors, got Tensor",
    ),
    # ---- losses
    (
        "cross_entropy target too large",
        lambda: minigrad.cross_entropy(zeros(2, 3), [0, 3]),
        ShapeError,
        r"cross_entropy: target 3 is out of range for 3 classes \(0..2\)",
    ),
    (
        "cross_entropy negative target",
        lambda: minigrad.cross_entropy(zeros(2, 3), [0, -1]),
        ShapeError,
        r"cross_entropy: target -1 is out of range for 3 classes",
    ),
    (
        "cross_entropy target length",
        lambda: minigrad.cross_entropy(zeros(2, 3), [0, 1, 2]),
        ShapeError,
        r"cross_entropy: target of class indices must have shape \(2,\) for input of "
        r"shape \(2, 3\), got \(3,\)",
    ),
    (
        "cross_entropy int one-hot",
        lambda: minigrad.cross_entropy(zeros(2, 3), np.eye(3, dtype=int)[[0, 1]]),
        ShapeError,
        r"got \(2, 3\); for one-hot rows, use a float target",
    ),
    (
        "cross_entropy bool target",
        lambda: minigrad.cross_entropy(zeros(2, 3), [True, False]),
        DTypeError,
        r"cross_entropy: target must hold integer class indices or float one-hot "
        r"labels, got dtype bool",
    ),
    (
        "cross_entropy string target",
        lambda: minigrad.cross_entropy(zeros(2, 3), ["a", "b"]),
        DTypeError,
        r"cross_entropy: expected a float, integer or bool array, got dtype <U1",
    ),
    (
        "cross_entropy float target shape",
        lambda: minigrad.cross_entropy(zeros(2, 3), np.array([0.0, 1.0])),
        ShapeError,
        r"cross_entropy: a float \(one-hot\) target must have the input's shape \(2, 3\), "
        r"got \(2,\)",
    ),
    (
        "cross_entropy NaN target",
        lambda: minigrad.cross_entropy(zeros(2, 3), np.array([[1, 0, 0], [0, np.nan, 1.0]])),
        ArgumentError,
        r"cross_entropy: the float target holds nan at \[1, 1\]; labels must be "
        r"finite",
    ),
    (
        "nll_loss inf target",
        lambda: minigrad.nll_loss(zeros(1, 2), np.array([[np.inf, 0.0]])),
        ArgumentError,
        r"nll_loss: the float target holds inf at \[0, 0\]",
    ),
    (
        "cross_entropy 1-D input",
        lambda: minigrad.cross_entropy(zeros(3), [0]),
        ShapeError,
        r"cross_entropy: expected input of shape \(N, C\), got \(3,\); add a batch axis",
    ),
    (
        "cross_entropy empty batch",
        lambda: minigrad.cross_entropy(zeros(0, 3), np.zeros(0, dtype=int)),
        ShapeError,
        r"cross_entropy: the batch is empty \(input of shape \(0, 3\)\); the mean over 0 samples",
    ),
    (
        "cross_entropy no classes",
        lambda: minigrad.cross_entropy(zeros(2, 0), [0, 0]),
        ShapeError,
        r"cross_entropy: the input of shape \(2, 0\) has no classes",
    ),
    (
        "cross_entropy reduction",
        lambda: minigrad.cross_entropy(zeros(2, 3), [0, 1], reduction="avg"),
        ArgumentError,
        r"cross_entropy: reduction must be one of \('mean', 'sum', 'none'\), got 'avg'",
    ),
    (
        "nll_loss target too large",
        lambda: minigrad.nll_loss(zeros(2, 3), [0, 5]),
        ShapeError,
        r"nll_loss: target 5 is out of range for 3 classes",
    ),
    # ---- backward
    (
        "backward on a non-scalar",
        lambda: (leaf() * 2).backward(),
        GraphError,
        r"backward: grad can be implicitly created only for a scalar output, but this tensor "
        r"has shape \(3,\); pass grad=",
    ),
    (
        "backward without a graph",
        lambda: zeros(1).backward(),
        GraphError,
        r"backward: this tensor does not require grad .*requires_grad=True",
    ),
    (
        "backward through a released graph",
        released,
        GraphError,
        r"backward: the graph through sum was already released .*retain_graph=True",
    ),
    (
        "backward grad shape",
        lambda: (leaf() * 2).backward(np.ones(4)),
        ShapeError,
        r"backward: grad has shape \(4,\) but the tensor has shape \(3,\)",
    ),
    (
        "backward grad dtype",
        lambda: (leaf() * 2).backward(np.array(["a", "b", "c"])),
        DTypeError,
        r"backward: grad has dtype <U1; expected float64",
    ),
    (
        "a VJP of the wrong shape",
        lambda: wrong_vjp("shape"),
        ShapeError,
        r"ones: backward returned a gradient of shape \(3, 2\) for input 0 of shape \(3,\)",
    ),
    (
        "a VJP of the wrong dtype",
        lambda: wrong_vjp("dtype"),
        DTypeError,
        r"ones: backward returned a float32 gradient for input 0 of dtype float64",
    ),
    (
        "a VJP with too many gradients",
        lambda: wrong_vjp("count"),
        GraphError,
        r"ones: backward returned 2 gradients for 1 inputs",
    ),
    (
        "a hook on a constant",
        lambda: zeros(3).register_hook(lambda g: g),
        GraphError,
        r"register_hook: this tensor does not require grad",
    ),
    (
        "a hook that is not callable",
        lambda: leaf().register_hook("print"),
        ArgumentError,
        r"register_hook: the hook must be callable, got str",
    ),
    (
        "a hook returning the wrong shape",
        lambda: hooked(lambda g: g[:1]),
        ShapeError,
        r"register_hook: a hook on the output of mul returned an array of shape \(1,\); it "
        r"must return None or an array of shape \(3,\)",
    ),
    (
        "a hook returning the wrong dtype",
        lambda: hooked(lambda g: g.astype(np.float32)),
        DTypeError,
        r"register_hook: a hook on the output of mul returned a float32 array",
    ),
    # ---- layers, data and checking tools
    (
        "Add of two shapes",
        lambda: minigrad.nn.Add()(np.ones((2, 3)), np.ones((2, 1))),
        ShapeError,
        r"Add expects inputs of one shape \(it does not broadcast\), got \(3,\), \(1,\)",
    ),
    (
        "a graph layer reading a later layer",
        lambda: minigrad.nn.Graph([("a", minigrad.nn.ReLU(), ["b"])]),
        ArgumentError,
        r"Graph: layer 'a' reads 'b', which is not an earlier layer",
    ),
    (
        "a graph layer named like a method",
        lambda: minigrad.nn.Graph([("forward", minigrad.nn.ReLU(), ["input"])]),
        ArgumentError,
        r"Graph: the layer name 'forward' is reserved",
    ),
    (
        "a layer's float kernel_size",
        lambda: minigrad.nn.Conv2d(1, 2, kernel_size=1.5),
        ArgumentError,
        r"Conv2d: kernel_size must be an int or a pair of ints, got 1.5",
    ),
    (
        "a layer with no inputs",
        lambda: minigrad.nn.Linear(0, 3),
        ArgumentError,
        r"Linear: in_features must be a positive int, got 0",
    ),
    (
        "a float64 batch into a float32 model",
        lambda: minigrad.nn.Linear(2, 2)(np.zeros((1, 2))),
        DTypeError,
        r"linear: expected inputs of one dtype, got \(float64, float32, float32\)",
    ),
    (
        "a batch with too many features",
        lambda: minigrad.nn.Linear(2, 3)(np.zeros((1, 4), np.float32)),
        ShapeError,
        r"linear: input has 4 features \(shape \(1, 4\)\) but the weight of shape \(3, 2\) "
        r"expects 2",
    ),
    (
        "an array assigned to a parameter",
        lambda: setattr(minigrad.nn.Linear(2, 2), "weight", np.zeros((2, 2))),
        ArgumentError,
        r"Linear.weight is a parameter; assign a Parameter \(or None\), not ndarray",
    ),
    (
        "a state dict with missing keys",
        lambda: minigrad.nn.Linear(2, 2).load_state_dict({"weight": np.zeros((2, 2))}),
        StateDictError,
        r"load_state_dict into Linear: missing keys: bias",
    ),
    (
        "a DataLoader of batch size 0",
        lambda: DataLoader(np.zeros((4, 2)), np.zeros(4), batch_size=0),
        ArgumentError,
        r"DataLoader: batch_size must be a positive int, got 0",
    ),
    (
        "a DataLoader of mismatched arrays",
        lambda: DataLoader(np.zeros((3, 2)), np.zeros(4)),
        ArgumentError,
        r"DataLoader: x has 3 samples but y has 4",
    ),
    (
        "gradcheck of a function returning an array",
        lambda: minigrad.gradcheck(lambda t: t.data, [np.ones(2)]),
        ArgumentError,
        r"gradcheck: fn must return a Tensor, got ndarray",
    ),
    (
        "a negative learning rate",
        lambda: SGD([leaf()], lr=-1),
        ArgumentError,
        r"SGD: lr must be a number >= 0, got -1",
    ),
    # ---- optimisers
    (
        "optimiser with no parameters",
        lambda: SGD([], lr=0.1),
        ArgumentError,
        r"SGD: got an empty parameter list",
    ),
    (
        "optimiser with a non-tensor",
        lambda: Adam([leaf(), np.ones(3)], lr=0.1),
        ArgumentError,
        r"Adam: parameter 1 must be a leaf tensor with requires_grad=True, got array",
    ),
    (
        "optimiser with a constant",
        lambda: SGD([zeros(3)], lr=0.1),
        ArgumentError,
        r"SGD: parameter 0 must be a leaf tensor with requires_grad=True",
    ),
    (
        "optimiser with a non-leaf",
        lambda: SGD([leaf() * 2], lr=0.1),
        ArgumentError,
        r"SGD: parameter 0 must be a leaf tensor",
    ),
    (
        "optimiser given the method",
        lambda: SGD(minigrad.nn.Linear(2, 2).parameters, lr=0.1),
        ArgumentError,
        r"SGD: params must be an iterable of tensors .*got method; call it: "
        r"model.parameters\(\)",
    ),
    (
        "optimiser given one tensor",
        lambda: SGD(leaf(), lr=0.1),
        ArgumentError,
        r"SGD: params must be an iterable of tensors .*got Tensor",
    ),
    (
        "optimiser with a repeated parameter",
        lambda: (lambda p: SGD([p, p], lr=0.1))(leaf()),
        ArgumentError,
        r"SGD: a parameter appears more than once",
    ),
    # ---- indexing and NumPy
    (
        "index out of range",
        index_out_of_range,
        minigrad.IndexingError,
        r"getitem: index 3 is out of range for axis 0 of size 3 \(shape \(3, 2\)\)",
    ),
    (
        "too many indices",
        lambda: zeros(3)[0, 1],
        minigrad.IndexingError,
        r"getitem: too many indices for a tensor of shape \(3,\): 2 axes indexed, it has 1",
    ),
    (
        "mask of the wrong shape",
        lambda: zeros(3)[np.array([True, False])],
        minigrad.IndexingError,
        r"getitem: a boolean mask of shape \(2,\) does not fit axes 0 to 0 .*shape \(3,\)",
    ),
    (
        "float index",
        lambda: zeros(3)[1.0],
        ArgumentError,
        r"getitem: indices must be ints, slices, None, \.\.\., or arrays of ints or bools, "
        r"got float 1.0",
    ),
    (
        "max of nothing",
        lambda: zeros(0, 3).max(axis=0),
        ShapeError,
        r"max: cannot reduce over axes \(0,\) of shape \(0, 3\): there are no elements",
    ),
    (
        "a NumPy function on a tensor",
        lambda: np.exp(leaf()),
        ArgumentError,
        r"np.exp: NumPy functions do not record the graph, .*use minigrad.exp\(t\) or t.exp\(\)",
    ),
    (
        "np.array to another dtype without a copy",
        lambda: np.array(zeros(2), dtype=np.float32, copy=False),
        ArgumentError,
        r"Tensor.__array__: a tensor of dtype float64 cannot be converted to float32 without",
    ),
    (
        "uint8 minus 300",
        lambda: Tensor(np.zeros(2, dtype=np.uint8)) - 300,
        DTypeError,
        r"sub: Python integer 300 out of bounds for uint8; convert the tensor to a wider dtype",
    ),
    # ---- in place
    (
        "in place on a leaf that requires grad",
        lambda: leaf().__isub__(1.0),
        GraphError,
        r"sub_: a leaf tensor that requires grad is being used in an in-place operation; "
        r"update it inside minigrad.no_grad\(\)",
    ),
    (
        "in place on a tensor in a graph",
        lambda: (leaf() * 2).__iadd__(1.0),
        GraphError,
        r"add_: an in-place operation on a tensor that is part of a graph is not recorded",
    ),
    (
        "in place changing the dtype",
        lambda: Tensor(np.arange(3)).__itruediv__(2),
        DTypeError,
        r"div_: the result would be float64 but the tensor is int64; an in-place operation "
        r"keeps the tensor's dtype",
    ),
    (
        "setitem of floats into ints",
        lambda: Tensor(np.arange(3)).__setitem__(0, 1.5),
        DTypeError,
        r"setitem: cannot store float64 values in a tensor of dtype int64 without changing",
    ),
    (
        "backward after an in-place change",
        modified_after_saved,
        GraphError,
        r"backward: input 1 of mul \('x' of shape \(2,\)\) was modified in place after the "
        r"graph saved it \(version 1, saved at 0\); compute the loss again after the update",
    ),
    (
        "explore after backward",
        explore_after_backward,
        minigrad.errors.VizError,
        r"explore: cannot run backward\(\) on root 0: backward: the graph through sum was "
        r"already released.*Call explore\(loss, path\) before loss.backward\(\)",
    ),
    (
        "explore of a tensor that is not a scalar",
        lambda: minigrad.viz.explore(leaf() * 2, "never-written.html"),
        minigrad.errors.VizError,
        r"explore: root 0 has shape \(3,\); explore runs backward\(\) from scalars",
    ),
    (
        "explore with the steps of another graph",
        explore_with_steps_of_another_graph,
        minigrad.errors.VizError,
        r"explore: step 0 ran sum, which is not in the graph of the roots given",
    ),
    (
        "fit with a negative grad_every",
        lambda: fit_with_grad_every(-1),
        minigrad.errors.ArgumentRangeError,
        r"fit: grad_every must be an int >= 0, got -1 \(int\)",
    ),
    # ---- specs by name and export (nothing is written: each fails before the file)
    (
        "a spec name that minigrad does not ship",
        lambda: minigrad.nn.from_spec("resnet9"),
        SpecError,
        r"resnet9: no such model spec file, and minigrad ships no spec of that name "
        r"\(bundled: lenet5, mlp, ",
    ),
    (
        "a layer with no ONNX exporter",
        lambda: to_onnx(minigrad.nn.Sequential(minigrad.nn.Flatten(), Scale()), "x.onnx", (4,)),
        ExportError,
        r"to_onnx: layer '1' is a Scale, which has no ONNX exporter \(minigrad exports: "
        r"Sequential, Conv2d, Linear",
    ),
    (
        "an ONNX export without an input shape",
        lambda: to_onnx(minigrad.nn.Sequential(minigrad.nn.Linear(4, 2)), "x.onnx"),
        ArgumentError,
        r"to_onnx: pass input_shape, e.g. \(1, 28, 28\) without the batch axis; this Sequential",
    ),
    (
        "an export to an unknown format",
        lambda: export_model("mlp", "model.pt"),
        ArgumentError,
        r"export: model.pt must end in .onnx or .safetensors \(the format follows the suffix\)",
    ),
    # training runs (minigrad.train.run, the `minigrad train` command): before the first step
    (
        "a validation fraction that keeps every sample",
        lambda: train_run(val_fraction=0.999),
        ArgumentError,
        r"run: val_fraction 0.999 leaves no training samples \(all 1,438 are held out",
    ),
    (
        "a validation fraction too small for one sample",
        lambda: train_run(val_fraction=0.0001),
        ArgumentError,
        r"run: val_fraction 0.0001 holds out no validation sample of the 1,438",
    ),
    (
        "a model with more classes than the data",
        lambda: train_run(model=twelve_classes()),
        SpecError,
        r"<spec>: the model outputs 12 class scores, but digits has 10 classes \(labels 0..9\); "
        r"make the last Linear's out_features 10",
    ),
    (
        "resuming another model's checkpoint",
        lambda: resume_mlp(MODELS / "seed_cnn.toml", epochs=2),
        CheckpointError,
        r"mlp.npz: cannot resume: the checkpoint holds model 'mlp', which differs from the spec "
        r"given \('seed_cnn'\)",
    ),
    (
        "resuming with no epochs left",
        lambda: resume_mlp(MODELS / "mlp.toml", epochs=1),
        ArgumentError,
        r"run: mlp.npz has trained 1 epochs already, so epochs=1 trains none; epochs is the "
        r"total: pass more than 1",
    ),
    (
        "an unknown optimiser for a run",
        lambda: train_run(optimizer="rmsprop"),
        ArgumentError,
        r"run: optimizer must be one of \('sgd', 'adam'\), got 'rmsprop' \(str\)",
    ),
]


@pytest.mark.parametrize(
    ("mistake", "error", "message"),
    [pytest.param(f, e, m, id=i) for i, f, e, m in CASES],
)
def test_each_mistake_raises_a_documented_error(
    mistake: Callable[[], Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message) as info, np.errstate(all="ignore"):
        mistake()
    assert isinstance(info.value, MinigradError)


def test_the_errors_are_the_builtin_exceptions_users_expect() -> None:
    assert issubclass(ShapeError, ValueError)
    assert issubclass(DTypeError, TypeError)
    assert issubclass(ArgumentError, TypeError) and issubclass(ArgumentError, ValueError)
    assert issubclass(GraphError, RuntimeError)
    assert issubclass(minigrad.AnomalyError, FloatingPointError)
    assert issubclass(minigrad.GradcheckError, AssertionError)
    for name in minigrad.errors.__all__:
        assert issubclass(getattr(minigrad.errors, name), MinigradError)


def test_every_error_class_is_documented() -> None:
    from pathlib import Path

    page = (Path(__file__).parent.parent / "docs" / "errors.md").read_text()
    for name in minigrad.errors.__all__:
        assert f"`{name}`" in page, f"docs/errors.md does not describe {name}"


def test_a_numpy_failure_inside_an_op_is_reported_with_the_op() -> None:
    """The net under the ops' own checks: a user-defined op whose NumPy call fails."""

    class Bad(minigrad.Function):
        @staticmethod
        def forward(ctx: minigrad.Node, x: np.ndarray) -> np.ndarray:
            return x.reshape(7)

    with pytest.raises(
        ShapeError,
        match=r"bad: cannot compute it for inputs of shapes \(3,\)"
        r" and dtypes float64 \(ValueError: cannot reshape",
    ):
        Bad.apply(leaf())


def test_bool_and_integer_tensors_work_where_they_make_sense() -> None:
    mask = Tensor([True, False, True])
    x = leaf()
    (x * mask).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 1.0])
    assert (Tensor([1, 2]) + Tensor([True, False])).dtype == np.int64
    np.testing.assert_allclose(minigrad.softmax(Tensor([0, 0])).data, [0.5, 0.5])
    # an integer copy of a tensor that requires grad is a constant, as in PyTorch
    labels = leaf().astype(np.int64)
    assert labels.dtype == np.int64 and not labels.requires_grad


def test_empty_batches_are_fine_where_the_result_is_defined() -> None:
    x = Tensor(np.zeros((0, 1, 4, 4)), requires_grad=True)
    y = minigrad.max_pool2d(minigrad.conv2d(x, np.ones((2, 1, 3, 3))), 2)
    assert y.shape == (0, 2, 1, 1)
    y.sum().backward()
    assert x.grad.shape == x.shape
    loss = minigrad.cross_entropy(zeros(0, 3), np.zeros(0, dtype=int), reduction="sum")
    assert loss.item() == 0.0


def test_numpy_integers_are_accepted_as_axes_and_sizes() -> None:
    x = zeros(2, 3, 4, 4)
    assert x.sum(axis=np.int64(1)).shape == (2, 4, 4)
    assert x.reshape(np.int64(2), -1).shape == (2, 48)
    assert minigrad.max_pool2d(x, np.int32(2)).shape == (2, 3, 2, 2)
    assert (x ** np.float32(2.0)).dtype == np.float64


def test_the_docs_show_each_message_as_minigrad_prints_it() -> None:
    """docs/errors.md lists every case above with its real message (its first 40 characters)."""
    from pathlib import Path

    page = (Path(__file__).parent.parent / "docs" / "errors.md").read_text()
    for name, mistake, _, _ in CASES:
        try:
            with np.errstate(all="ignore"):
                mistake()
        except MinigradError as exc:
            first = str(exc).splitlines()[0][:40]
            assert f"| {name} |" in page and first in page, f"docs/errors.md: {name}: {first}"


def test_the_anomaly_example_in_the_docs_runs(tmp_path) -> None:
    import re
    import subprocess
    import sys
    from pathlib import Path

    page = (Path(__file__).parent.parent / "docs" / "errors.md").read_text()
    code = re.findall(r"```python\n(.*?)```", page, re.S)[0]
    script = tmp_path / "example.py"
    script.write_text(code)
    out = subprocess.run(
        [sys.executable, "-W", "ignore", str(script)], capture_output=True, text=True, timeout=60
    ).stdout
    assert out.startswith("pow produced inf in its backward pass: the gradient for input 0")
    assert "y = x**0.5" in out and "(then inside minigrad: tensor.py:" in out


def test_the_errors_page_opens_with_the_first_mistakes_as_minigrad_prints_them() -> None:
    """Each message in "The mistakes you will make first" is one of the cases above, verbatim."""
    import re

    page = (Path(__file__).parent.parent / "docs" / "errors.md").read_text()
    sections = re.split(r"^## ", page, flags=re.M)
    assert sections[1].startswith("The mistakes you will make first\n")
    quoted = re.findall(r"```text\n(.*?)\n```", sections[1], flags=re.S)
    assert len(quoted) >= 8
    printed = set()
    for _, mistake, _, _ in CASES:
        try:
            with np.errstate(all="ignore"):
                mistake()
        except MinigradError as exc:
            printed.add(str(exc).splitlines()[0])
    for message in quoted:
        assert message in printed, message
