"""The ``minigrad`` command: ``train``, ``evaluate``, ``summary``, ``graph``, ``explore`` and
``export``.

Each subcommand is two small functions: ``_add_<name>(subparsers)`` declares its arguments and
``_run_<name>(args) -> int`` calls the library (``minigrad.train.run``,
``evaluate_checkpoint``, ``load_model``, ``minigrad.plots.plot_graph``) and prints;
:data:`COMMANDS` lists the ``_add_`` functions. Adding a subcommand is adding one pair and one
line there.

Errors are one line on stderr (``minigrad train: error: ...``) and exit status 1; pass
``--debug`` before the subcommand to see the full traceback instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from minigrad.arguments import fraction, integer, positive_int
from minigrad.errors import ArgumentError
from minigrad.nn import bundled_specs
from minigrad.train import DATASETS, MNIST_ENV

__all__ = ["COMMANDS", "build_parser", "main"]

# ---------------------------------------------------------------------------- helpers


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(s) for s in text.replace("x", ",").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 1,28,28, got {text!r}") from None
    if not shape or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return shape


def _argument(check: Callable[..., Any], *extra: Any, parse: type = int) -> Callable[[str], Any]:
    """An argparse ``type=``: parse the text, then check it with :mod:`minigrad.arguments`."""

    def convert(text: str) -> Any:
        try:
            value = parse(text)
        except ValueError:
            value = text  # the check then says what was expected, naming the text
        try:
            return check("", "", value, *extra)
        except ArgumentError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


_positive_int = _argument(partial(positive_int, text=True))
_fraction = _argument(fraction, parse=float)


def _add_input_shape(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--input-shape",
        type=_shape,
        metavar="C,H,W",
        help="input shape without the batch axis (default: the spec's)",
    )


def _say(args: argparse.Namespace, text: str) -> None:
    if not getattr(args, "quiet", False):
        print(text, flush=True)


# ---------------------------------------------------------------------------- train


def _add_train(sub: Any) -> None:
    p = sub.add_parser(
        "train",
        help="train a model spec on digits or MNIST",
        description=(
            "Train a model (a TOML spec from models/) and write to --out: checkpoint.npz, "
            "metrics.json, metrics.csv, curves.png (loss and accuracy), filters.png (the "
            "first convolution's learned filters) and confusion.png (on the test set). "
            "The default is the design document's per-sample SGD (--batch-size 1)."
        ),
        epilog="example: minigrad train --model seed_cnn --dataset digits --out runs/demo",
    )
    p.add_argument(
        "--model",
        required=True,
        metavar="SPEC",
        help=f"a bundled spec's name ({', '.join(bundled_specs())}) or a TOML file",
    )
    p.add_argument(
        "--dataset",
        choices=DATASETS,
        default="digits",
        help="digits: scikit-learn's bundled 8x8 digits (offline); mnist: the "
        "original IDX files in --data-dir (default: digits)",
    )
    p.add_argument(
        "--data-dir", metavar="DIR", help=f"folder of the MNIST files (default: ${MNIST_ENV})"
    )
    p.add_argument(
        "--epochs",
        type=_positive_int,
        metavar="N",
        help="total number of epochs (default: 20 for digits, 1 for mnist)",
    )
    p.add_argument(
        "--batch-size",
        type=_positive_int,
        default=1,
        metavar="N",
        help="samples per step; 1 is per-sample SGD (default: 1)",
    )
    p.add_argument(
        "--optimizer",
        choices=("sgd", "adam"),
        default="sgd",
        help="sgd: the design document's W <- W - eta dL/dW, plus --momentum and "
        "--weight-decay if given; adam: Adam (default: sgd)",
    )
    p.add_argument(
        "--lr",
        type=float,
        metavar="ETA",
        help="learning rate (default: 0.02 for sgd, 0.001 for adam)",
    )
    p.add_argument(
        "--momentum", type=float, default=0.0, metavar="MU", help="SGD momentum (default: 0)"
    )
    p.add_argument(
        "--weight-decay", type=float, default=0.0, metavar="LAMBDA", help="L2 penalty (default: 0)"
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="N",
        help="seed of the initial weights, the validation split and the shuffling (default: 0)",
    )
    p.add_argument(
        "--val-fraction",
        type=_fraction,
        default=0.1,
        metavar="F",
        help="share of the training set held out for per-epoch validation; "
        "0 for none (default: 0.1)",
    )
    p.add_argument(
        "--limit",
        type=_positive_int,
        metavar="N",
        help="train on the first N training samples only (for quick runs)",
    )
    p.add_argument("--out", metavar="DIR", help="output folder (default: runs/<model name>)")
    p.add_argument(
        "--resume",
        metavar="CHECKPOINT",
        help="continue from a checkpoint up to --epochs: the model, the optimiser and its "
        "settings come from the checkpoint; pass the same --seed and data options, and the "
        "result is bit-identical to an uninterrupted run",
    )
    p.add_argument("--no-plots", action="store_true", help="skip the PNG files")
    p.add_argument("--quiet", action="store_true", help="no progress bar or messages")
    p.set_defaults(run=_run_train)


def _run_train(args: argparse.Namespace) -> int:
    from minigrad.train import run

    started = time.perf_counter()
    result = run(
        args.model,
        dataset=args.dataset,
        data_dir=args.data_dir,
        out=args.out,
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        lr=args.lr,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
        seed=args.seed,
        val_fraction=args.val_fraction,
        limit=args.limit,
        resume=args.resume,
        plots=not args.no_plots,
        progress=not args.quiet,
        log=lambda text: _say(args, text),
    )
    _say(
        args,
        f"test accuracy {result.test['accuracy']:.4f}  test loss {result.test['loss']:.4f}  "
        f"({result.config['test_samples']:,} held-out samples)",
    )
    _say(
        args,
        f"training took {result.train_seconds:.1f}s, {time.perf_counter() - started:.1f}s "
        f"in all; wrote {', '.join(result.files)} to {result.out}",
    )
    return 0


# ---------------------------------------------------------------------------- evaluate


def _add_evaluate(sub: Any) -> None:
    p = sub.add_parser(
        "evaluate",
        help="evaluate a checkpoint on a test set",
        description="Print the loss, accuracy, per-class accuracy and confusion matrix of a "
        "checkpoint on the test set of its dataset (or of --dataset).",
    )
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a checkpoint.npz from train")
    p.add_argument(
        "--dataset", choices=DATASETS, help="default: the dataset the checkpoint was trained on"
    )
    p.add_argument(
        "--data-dir", metavar="DIR", help=f"folder of the MNIST files (default: ${MNIST_ENV})"
    )
    p.add_argument("--split", choices=("test", "train"), default="test", help="(default: test)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(run=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> int:
    from minigrad.train import evaluate_checkpoint

    report = evaluate_checkpoint(
        args.checkpoint, dataset=args.dataset, data_dir=args.data_dir, split=args.split
    )
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"{args.checkpoint}: {report['model']} after {report['epoch']} epochs, "
        f"{report['dataset']} {args.split} set ({report['samples']:,} samples)"
    )
    print(f"accuracy {report['accuracy']:.4f}  loss {report['loss']:.4f}")
    per_class = report["per_class_accuracy"]
    print("per-class accuracy: " + "  ".join(f"{c}:{a:.3f}" for c, a in enumerate(per_class)))
    print("confusion matrix (rows: true class, columns: predicted):")
    cm = report["confusion_matrix"]
    width = len(str(max(max(row) for row in cm)))
    for i, row in enumerate(cm):
        print(f"  {i}: " + " ".join(str(v).rjust(width) for v in row))
    return 0


# ---------------------------------------------------------------------------- summary


def _add_summary(sub: Any) -> None:
    p = sub.add_parser(
        "summary",
        help="print a model's layers, output shapes and parameter counts",
        description="Print a table of the layers of a model spec (or of the model in a "
        "checkpoint) with their output shapes and parameter counts; no data is run.",
    )
    p.add_argument(
        "model",
        metavar="MODEL",
        help="a bundled spec's name (seed_cnn), a model spec (.toml) or a checkpoint (.npz)",
    )
    _add_input_shape(p)
    p.set_defaults(run=_run_summary)


def _run_summary(args: argparse.Namespace) -> int:
    from minigrad import nn
    from minigrad.checkpoint import load_checkpoint
    from minigrad.errors import CheckpointError

    if Path(args.model).suffix == ".npz":
        spec = load_checkpoint(args.model).spec
        if spec is None:
            raise CheckpointError(f"{args.model}: the checkpoint holds no model spec")
    else:
        spec = nn.load_spec(args.model)
    # The table comes from the spec's shape inference alone: no weight is allocated.
    spec = nn.validate_spec(spec, args.model, args.input_shape)
    print(f"{spec['name']}" + (f": {spec['description']}" if spec.get("description") else ""))
    nn.summary(spec)
    return 0


# ---------------------------------------------------------------------------- graph


_depth = _argument(partial(integer, text=True), 0)


def _add_sample_args(p: argparse.ArgumentParser) -> None:
    """The arguments of a command that runs a model once on a sample input: graph, explore."""
    p.add_argument(
        "model",
        metavar="MODEL",
        help="a bundled spec's name (seed_cnn), a model spec (.toml) or a checkpoint (.npz)",
    )
    _add_input_shape(p)
    p.add_argument(
        "--batch-size",
        type=_positive_int,
        default=None,
        metavar="N",
        help="samples in the input (default: 1, or 2 for a model with BatchNorm1d)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the sample input and, for a spec, the weights (default: 0)",
    )


def _add_graph(sub: Any) -> None:
    p = sub.add_parser(
        "graph",
        help="draw a model's computation graph (SVG, PNG, PDF or DOT)",
        description="Run one forward and backward pass of a model spec (or of the model in a "
        "checkpoint) on a random sample input with a cross-entropy loss, and draw the graph "
        "that backward walked: every op with its attributes, every tensor with its shape and "
        "dtype, parameters by their dotted names, one cluster per module. The format follows "
        "the suffix of -o; .dot writes the DOT source and needs no Graphviz.",
        epilog="example: minigrad graph seed_cnn -o graph.svg --grads",
    )
    _add_sample_args(p)
    p.add_argument(
        "-o",
        "--output",
        default="graph.svg",
        metavar="FILE",
        help="the file to write: .svg, .png, .pdf or .dot (default: graph.svg)",
    )
    p.add_argument(
        "--depth",
        type=_depth,
        metavar="N",
        help="draw N levels of modules as boxes and each module below as one node "
        "(1 collapses each layer of a spec; default: every op)",
    )
    p.add_argument(
        "--grads",
        action="store_true",
        help="show every tensor's gradient norm, coloured on a log scale; NaN and inf in red",
    )
    p.add_argument("--values", action="store_true", help="show each tensor's min, mean and max")
    p.add_argument(
        "--view",
        choices=("forward", "backward"),
        default="forward",
        help="forward: tensors through ops; backward: gradients through each op's "
        "VJP to the parameters (default: forward)",
    )
    p.add_argument(
        "--rankdir",
        choices=("TB", "LR"),
        default="TB",
        help="layout: top to bottom or left to right (default: TB)",
    )
    p.set_defaults(run=_run_graph)


def _run_graph(args: argparse.Namespace) -> int:
    from minigrad.plots import plot_graph, sample_batch_size
    from minigrad.train import load_model

    model = load_model(args.model, input_shape=args.input_shape, seed=args.seed)
    batch = args.batch_size or sample_batch_size(model)
    out = plot_graph(
        model,
        args.output,
        batch_size=batch,
        seed=args.seed,
        view=args.view,
        depth=args.depth,
        grads=args.grads,
        values=args.values,
        rankdir=args.rankdir,
    )
    shape = (batch, *model.spec["input_shape"])
    print(f"wrote the {args.view} graph of {model.spec['name']} (input {shape}) to {out}")
    return 0


# ---------------------------------------------------------------------------- explore


def _add_explore(sub: Any) -> None:
    p = sub.add_parser(
        "explore",
        help="write an explorable HTML page of one backward pass",
        description="Run a model spec (or the model in a checkpoint) on a random sample input "
        "with a cross-entropy loss and write one self-contained HTML page (no network "
        "needed): click a node to see its tensor, its gradient, pictures of both and the VJP "
        "that produced it; step through backward() in the order the engine runs it. A "
        "checkpoint's page also shows each parameter's gradient norm over training.",
        epilog="example: minigrad explore lenet5 -o lenet5.html",
    )
    _add_sample_args(p)
    p.add_argument(
        "-o",
        "--output",
        default="explore.html",
        metavar="FILE",
        help="the HTML file to write (default: explore.html)",
    )
    p.set_defaults(run=_run_explore)


def _run_explore(args: argparse.Namespace) -> int:
    from minigrad.plots import explore_model

    out = explore_model(
        args.model,
        args.output,
        input_shape=args.input_shape,
        batch_size=args.batch_size,
        seed=args.seed,
    )
    size = out.stat().st_size / 1024
    print(f"wrote the explorable backward pass of {args.model} to {out} ({size:.0f} KiB)")
    return 0


# ---------------------------------------------------------------------------- export


def _add_export(sub: Any) -> None:
    p = sub.add_parser(
        "export",
        help="write a model as ONNX (.onnx) or as safetensors weights (.safetensors)",
        description="Write the model of a checkpoint (or of a spec, with fresh weights) for use "
        "outside minigrad: a .onnx file (the graph and weights, for Netron and ONNX Runtime) "
        "or a .safetensors file (the weights under PyTorch's names, for load_state_dict). "
        "The format follows the suffix of -o.",
        epilog="example: minigrad export runs/demo/checkpoint.npz -o seed_cnn.onnx",
    )
    p.add_argument(
        "model",
        metavar="CHECKPOINT_OR_SPEC",
        help="a checkpoint (.npz), a spec (.toml) or the name of a bundled spec",
    )
    p.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="the .onnx or .safetensors file"
    )
    _add_input_shape(p)
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the weights when exporting a spec (default: 0)"
    )
    p.set_defaults(run=_run_export)


def _run_export(args: argparse.Namespace) -> int:
    from minigrad.export import export_model

    r = export_model(args.model, args.output, input_shape=args.input_shape, seed=args.seed)
    shapes = f"input (batch, {', '.join(map(str, r.input_shape))}) -> output (batch, " + (
        f"{', '.join(map(str, r.output_shape))})"
    )
    print(f"wrote {r.path}: {r.name} as {r.format}, {shapes}, {r.num_parameters:,} parameters")
    print(f"tensors: {', '.join(r.tensors)}")
    for note in r.notes:
        print(f"note: {note}")
    return 0


# ---------------------------------------------------------------------------- main

#: One function per subcommand, each adding its parser (and its ``run``) to the subparsers.
COMMANDS: list[Callable[[Any], None]] = [
    _add_train,
    _add_evaluate,
    _add_summary,
    _add_graph,
    _add_explore,
    _add_export,
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="minigrad",
        description="minigrad: train, inspect and evaluate models built on a NumPy autograd "
        "engine whose every gradient you can see and check.",
        epilog="Run 'minigrad COMMAND --help' for the options of each command.",
    )
    from minigrad import __version__

    parser.add_argument("--version", action="version", version=f"minigrad {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback when a command fails"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``minigrad`` command with ``argv`` (default: ``sys.argv[1:]``); the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print(f"minigrad {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        from minigrad.errors import MinigradError

        known = isinstance(exc, (MinigradError, OSError, ValueError, ImportError))
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if not known:
            message = f"{type(exc).__name__}: {message}"
        print(f"minigrad {args.command}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
