"""The ``minigrad`` command: ``train``, ``evaluate``, ``summary``, ``graph`` and ``export``.

Each subcommand is two small functions: ``_add_<name>(subparsers)`` declares its arguments and
``_run_<name>(args) -> int`` does the work; :data:`COMMANDS` lists the ``_add_`` functions.
Adding a subcommand is adding one pair and one line there.

Errors are one line on stderr (``minigrad train: error: ...``) and exit status 1; pass
``--debug`` before the subcommand to see the full traceback instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from minigrad.arguments import fraction, integer, positive_int
from minigrad.errors import ArgumentError

__all__ = ["COMMANDS", "build_parser", "main"]

DATASETS = ("digits", "mnist")
MNIST_ENV = "MINIGRAD_MNIST_DIR"
DEFAULT_EPOCHS = {"digits": 20, "mnist": 1}
DEFAULT_LR = {"sgd": 0.02, "adam": 0.001}

# ---------------------------------------------------------------------------- helpers


def _load_dataset(
    name: str, data_dir: str | None
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(train, test)`` of a dataset; the digits' test set is a fixed 20% stratified hold-out."""
    from minigrad import data

    if name == "digits":
        x, y = data.load_digits()
        return data.train_val_split(x, y, val_fraction=0.2, seed=0)
    folder = data_dir or os.environ.get(MNIST_ENV)
    if not folder:
        raise ValueError(
            f"--dataset mnist needs the folder of the MNIST IDX files: pass --data-dir DIR "
            f"or set {MNIST_ENV}"
        )
    return data.load_mnist(folder, "train"), data.load_mnist(folder, "test")


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


def _first_conv_weight(model: Any) -> np.ndarray | None:
    from minigrad.nn import Conv2d

    for module in model.modules():
        if isinstance(module, Conv2d):
            return module.weight.data
    return None


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
        help="a bundled spec's name (seed_cnn, lenet5, mlp) or a TOML file",
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
    from minigrad import data, nn, optim, plots
    from minigrad.checkpoint import load_checkpoint, save_checkpoint
    from minigrad.train import History, confusion_matrix, evaluate, fit

    started = time.perf_counter()
    if args.optimizer == "adam" and args.momentum:
        raise ValueError("--momentum applies to --optimizer sgd only (Adam keeps its own averages)")
    if not args.resume:  # a bad spec fails before any data is loaded
        nn.validate_spec(nn.load_spec(args.model), args.model)
    (x_train, y_train), (x_test, y_test) = _load_dataset(args.dataset, args.data_dir)
    val = None
    if args.val_fraction > 0:
        (x_train, y_train), val = data.train_val_split(
            x_train, y_train, args.val_fraction, seed=args.seed
        )
    if args.limit:
        x_train, y_train = x_train[: args.limit], y_train[: args.limit]
    epochs = args.epochs or DEFAULT_EPOCHS[args.dataset]
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]

    history = History()
    start_epoch = 0
    if args.resume:
        ckpt = load_checkpoint(args.resume)
        model = ckpt.build_model()
        opt = ckpt.build_optimizer(model)
        history, start_epoch = History(ckpt.history), ckpt.epoch
    else:
        model = nn.from_spec(args.model, seed=args.seed, input_shape=x_train.shape[1:])
        params = model.parameters()
        if args.optimizer == "sgd":
            opt = optim.SGD(params, lr=lr, momentum=args.momentum, weight_decay=args.weight_decay)
        else:
            opt = optim.Adam(params, lr=lr, weight_decay=args.weight_decay)
    name = model.spec["name"] if model.spec else Path(args.model).stem
    out = Path(args.out or Path("runs") / name)
    out.mkdir(parents=True, exist_ok=True)
    config = {
        "model": str(args.model),
        "dataset": args.dataset,
        "epochs": epochs,
        "batch_size": args.batch_size,
        "optimizer": repr(opt),
        "seed": args.seed,
        "train_samples": len(y_train),
        "val_samples": 0 if val is None else len(val[1]),
        "test_samples": len(y_test),
    }
    _say(
        args,
        f"training {name} ({model.num_parameters():,} parameters) on {args.dataset}: "
        f"{len(y_train):,} training samples, batch size {args.batch_size}, {opt!r}",
    )
    loader = data.DataLoader(x_train, y_train, args.batch_size, shuffle=True, seed=args.seed)
    checkpoint_path = out / "checkpoint.npz"

    def save(epoch: int, record: dict[str, Any]) -> None:
        save_checkpoint(
            checkpoint_path,
            model,
            opt,
            epoch=epoch,
            history=history,
            extra={"dataset": args.dataset, "config": config},
        )

    train_started = time.perf_counter()
    fit(
        model,
        opt,
        loader,
        epochs=epochs,
        val=val,
        start_epoch=start_epoch,
        history=history,
        progress=not args.quiet,
        on_epoch_end=save,
    )
    train_seconds = time.perf_counter() - train_started
    test = evaluate(model, x_test, y_test)
    cm = confusion_matrix(y_test, test["predictions"], int(max(y_test.max(), 9)) + 1)
    metrics = {
        "config": config,
        "history": history.records,
        "test": {"loss": test["loss"], "accuracy": test["accuracy"]},
        "train_seconds": train_seconds,
        "confusion_matrix": cm.tolist(),
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    history.to_csv(out / "metrics.csv")
    written = ["checkpoint.npz", "metrics.json", "metrics.csv"]
    if not args.no_plots:
        plots.plot_history(history, out / "curves.png")
        written.append("curves.png")
        weight = _first_conv_weight(model)
        if weight is not None:
            plots.plot_filters(weight, out / "filters.png", title=f"{name}: learned conv filters")
            written.append("filters.png")
        plots.plot_confusion_matrix(cm, out / "confusion.png", title=f"{name} on {args.dataset}")
        written.append("confusion.png")
    _say(
        args,
        f"test accuracy {test['accuracy']:.4f}  test loss {test['loss']:.4f}  "
        f"({len(y_test):,} held-out samples)",
    )
    _say(
        args,
        f"training took {train_seconds:.1f}s, {time.perf_counter() - started:.1f}s "
        f"in all; wrote {', '.join(written)} to {out}",
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
    from minigrad.checkpoint import load_checkpoint
    from minigrad.train import confusion_matrix, evaluate

    ckpt = load_checkpoint(args.checkpoint)
    model = ckpt.build_model()
    dataset = args.dataset or ckpt.extra.get("dataset", "digits")
    train, test = _load_dataset(dataset, args.data_dir)
    x, y = test if args.split == "test" else train
    expected = tuple(model.spec["input_shape"])
    if x.shape[1:] != expected:
        raise ValueError(
            f"the model expects inputs of shape {expected} but {dataset} has {x.shape[1:]}"
        )
    result = evaluate(model, x, y)
    cm = confusion_matrix(y, result["predictions"], int(max(y.max(), 9)) + 1)
    per_class = cm.diagonal() / np.maximum(cm.sum(axis=1), 1)
    if args.json:
        print(
            json.dumps(
                {
                    "checkpoint": str(args.checkpoint),
                    "dataset": dataset,
                    "split": args.split,
                    "samples": len(y),
                    "loss": result["loss"],
                    "accuracy": result["accuracy"],
                    "per_class_accuracy": per_class.tolist(),
                    "confusion_matrix": cm.tolist(),
                },
                indent=2,
            )
        )
        return 0
    print(
        f"{args.checkpoint}: {model.spec['name']} after {ckpt.epoch} epochs, "
        f"{dataset} {args.split} set ({len(y):,} samples)"
    )
    print(f"accuracy {result['accuracy']:.4f}  loss {result['loss']:.4f}")
    print("per-class accuracy: " + "  ".join(f"{c}:{a:.3f}" for c, a in enumerate(per_class)))
    print("confusion matrix (rows: true class, columns: predicted):")
    width = len(str(cm.max()))
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

    if Path(args.model).suffix == ".npz":
        spec = load_checkpoint(args.model).spec
        if spec is None:
            raise ValueError(f"{args.model}: the checkpoint holds no model spec")
        model = nn.from_spec(spec, input_shape=args.input_shape)
    else:
        model = nn.from_spec(args.model, input_shape=args.input_shape)
    print(
        f"{model.spec['name']}"
        + (f": {model.spec['description']}" if model.spec.get("description") else "")
    )
    nn.summary(model, tuple(model.spec["input_shape"]))
    return 0


# ---------------------------------------------------------------------------- graph


_depth = _argument(partial(integer, text=True), 0)


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
    p.add_argument(
        "model",
        metavar="MODEL",
        help="a bundled spec's name (seed_cnn), a model spec (.toml) or a checkpoint (.npz)",
    )
    p.add_argument(
        "-o",
        "--output",
        default="graph.svg",
        metavar="FILE",
        help="the file to write: .svg, .png, .pdf or .dot (default: graph.svg)",
    )
    _add_input_shape(p)
    p.add_argument(
        "--batch-size",
        type=_positive_int,
        default=1,
        metavar="N",
        help="samples in the input (default: 1)",
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
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the sample input and, for a spec, the weights (default: 0)",
    )
    p.set_defaults(run=_run_graph)


def _run_graph(args: argparse.Namespace) -> int:
    import minigrad
    from minigrad import nn, viz
    from minigrad.checkpoint import load_checkpoint

    if Path(args.model).suffix == ".npz":
        ckpt = load_checkpoint(args.model)
        model = ckpt.build_model()
        if args.input_shape:
            model = nn.from_spec(model.spec, input_shape=args.input_shape)
            ckpt.restore(model)
    else:
        model = nn.from_spec(args.model, seed=args.seed, input_shape=args.input_shape)
    shape = (args.batch_size, *model.spec["input_shape"])
    rng = np.random.default_rng(args.seed)
    x = minigrad.Tensor(rng.standard_normal(shape), dtype=model.spec["dtype"], name="input")
    logits = model(x)
    target = minigrad.Tensor(rng.integers(0, logits.shape[-1], size=args.batch_size), name="target")
    loss = minigrad.cross_entropy(logits, target)
    loss.name = "loss"
    if args.grads:
        viz.retain_grads(loss)
    loss.backward()
    out = viz.render(
        loss,
        args.output,
        view=args.view,
        depth=args.depth,
        grads=args.grads,
        values=args.values,
        model=model,
        rankdir=args.rankdir,
    )
    print(f"wrote the {args.view} graph of {model.spec['name']} (input {shape}) to {out}")
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
