"""Training runs and their loops: ``run``, ``fit``, ``evaluate``, ``predict``.

:func:`run` is a whole training run as one call (data, model, resume, fit, evaluation,
metrics, plots), the same run ``minigrad train`` makes; :func:`evaluate_checkpoint` is
``minigrad evaluate``. Both check everything that can be checked before the first step.

One training step is the design document's loop, for a batch of one sample (per-sample SGD,
``batch_size=1``) or more (mini-batches; the loss is then the batch mean)::

    logits = model(x)                       # forward pass
    loss = cross_entropy(logits, y)         # softmax + cross-entropy
    optimizer.zero_grad()
    loss.backward()                         # dL/dW for every parameter
    optimizer.step()                        # W <- W - eta dL/dW (plain SGD)
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import minigrad
from minigrad import arguments
from minigrad.data import DataLoader
from minigrad.errors import ArgumentError, CheckpointError, SpecError
from minigrad.nn.graph import Graph
from minigrad.nn.module import Module, Sequential
from minigrad.optim import Optimizer
from minigrad.tensor import Tensor

__all__ = [
    "DATASETS",
    "History",
    "RunResult",
    "class_labels",
    "confusion_matrix",
    "evaluate",
    "evaluate_checkpoint",
    "fit",
    "load_dataset",
    "load_model",
    "predict",
    "run",
]

DATASETS = ("digits", "mnist")
"""The datasets :func:`run` and :func:`load_dataset` know by name."""
MNIST_ENV = "MINIGRAD_MNIST_DIR"
"""The environment variable that names the MNIST folder when ``data_dir`` is not given."""
DEFAULT_EPOCHS = {"digits": 20, "mnist": 1}
"""The epochs of a run per dataset when ``epochs`` is not given."""
DEFAULT_LR = {"sgd": 0.02, "adam": 0.001}
"""The learning rate per optimiser when ``lr`` is not given."""

LossFn = Callable[[Tensor, Any], Tensor]


class History:
    """Per-epoch metrics: one dict per epoch (``epoch``, ``train_loss``, ``train_accuracy``,
    ``val_loss``, ``val_accuracy``, ``seconds``), as Keras' ``History``.

    >>> h = History([{"epoch": 1, "train_loss": 0.5}, {"epoch": 2, "train_loss": 0.25}])
    >>> h["train_loss"]
    [0.5, 0.25]
    """

    def __init__(
        self,
        records: list[dict[str, Any]] | None = None,
        gradients: list[dict[str, Any]] | None = None,
    ) -> None:
        self.records: list[dict[str, Any]] = list(records or [])
        #: One dict per epoch: ``epoch`` and each parameter's gradient norm ``||dL/dW||``,
        #: averaged over the steps :func:`fit` sampled (``{"epoch": 1, "0.weight": 0.31}``).
        self.gradients: list[dict[str, Any]] = list(gradients or [])

    def append(self, record: dict[str, Any]) -> None:
        """Add one epoch's metrics."""
        self.records.append(record)

    def __getitem__(self, key: str) -> list[Any]:
        return [r.get(key) for r in self.records]

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records)

    def keys(self) -> list[str]:
        """Every metric name, in first-seen order."""
        return list(dict.fromkeys(k for r in self.records for k in r))

    def to_json(self, path: str | Path) -> None:
        """Write the records as a JSON list."""
        Path(path).write_text(json.dumps(self.records, indent=2) + "\n")

    def to_csv(self, path: str | Path) -> None:
        """Write the records as CSV, one row per epoch."""
        with Path(path).open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.keys())
            writer.writeheader()
            writer.writerows(self.records)

    def __repr__(self) -> str:
        return f"History({len(self.records)} epochs, keys={self.keys()})"


def class_labels(y: Any) -> np.ndarray:
    """The class of each sample: ``y`` itself for class indices (N,), the argmax of each row
    for one-hot or probability targets (N, C), which ``cross_entropy`` accepts too.

    >>> class_labels(np.array([[0.0, 1.0], [1.0, 0.0]])), class_labels(np.array([1, 0]))
    (array([1, 0]), array([1, 0]))
    """
    y = np.asarray(y.data if isinstance(y, Tensor) else y)
    return y.argmax(axis=1) if y.ndim == 2 else y


def _progress(total: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is in the train extra
        return None
    # disable=None: no bar when stderr is not a terminal (logs, CI, subprocesses).
    return tqdm(total=total, desc=desc, unit="step", leave=False, dynamic_ncols=True, disable=None)


class _GradNorms:
    """Each parameter's gradient norm, read after backward once every ``every`` steps (the
    first step included): one sum of squares per parameter, so it costs next to nothing."""

    def __init__(self, model: Module, every: int) -> None:
        self.params = list(model.named_parameters())
        self.every = every
        self.steps = 0
        self.samples = 0
        self.sums = np.zeros(len(self.params))

    def after_backward(self) -> None:
        self.steps += 1
        if (self.steps - 1) % self.every:
            return
        self.samples += 1
        for i, (_, p) in enumerate(self.params):
            if p.grad is not None:
                g = p.grad.astype(np.float64, copy=False).ravel()
                self.sums[i] += math.sqrt(float(np.dot(g, g)))

    def record(self, epoch: int) -> dict[str, Any]:
        """``{"epoch": epoch, name: mean norm, ...}`` over the steps sampled."""
        means = self.sums / max(self.samples, 1)
        return {"epoch": epoch} | {
            n: float(m) for (n, _), m in zip(self.params, means, strict=True)
        }


def train_epoch(
    model: Module,
    optimizer: Optimizer,
    loader: DataLoader,
    loss_fn: LossFn = minigrad.cross_entropy,
    bar: Any = None,
    grad_norms: _GradNorms | None = None,
) -> tuple[float, float]:
    """One pass over ``loader``: forward, backward and an optimiser step per batch.

    Returns:
        ``(mean loss, accuracy)`` over the epoch's samples (as seen while training).
    """
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    # Refresh the bar about 50 times an epoch: cheap enough for per-sample steps.
    every = max(1, len(loader) // 50)
    pending = 0
    for xb, yb in loader:
        logits = model(xb)
        loss = loss_fn(logits, yb)
        optimizer.zero_grad()
        loss.backward()
        if grad_norms is not None:
            grad_norms.after_backward()
        optimizer.step()
        n = len(yb)
        total_loss += float(loss.data) * n
        correct += int((logits.data.argmax(axis=1) == class_labels(yb)).sum())
        seen += n
        if bar is not None:
            pending += 1
            if pending == every:
                bar.update(pending)
                pending = 0
                bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.4f}")
    if bar is not None and pending:
        bar.update(pending)
    if not math.isfinite(total_loss):
        raise FloatingPointError(
            "training diverged: the loss became nan or inf; try a smaller learning rate"
        )
    return total_loss / max(seen, 1), correct / max(seen, 1)


def fit(
    model: Module,
    optimizer: Optimizer,
    train: DataLoader,
    *,
    epochs: int = 1,
    val: tuple[np.ndarray, np.ndarray] | None = None,
    start_epoch: int = 0,
    history: History | None = None,
    loss_fn: LossFn = minigrad.cross_entropy,
    progress: bool = True,
    on_epoch_end: Callable[[int, dict[str, Any]], None] | None = None,
    grad_every: int = 50,
) -> History:
    """Train ``model`` for epochs ``start_epoch .. epochs - 1`` and record the metrics.

    The batch size is the loader's: ``DataLoader(x, y, batch_size=1, shuffle=True)`` is the
    design document's per-sample SGD. Epoch ``e`` uses the loader's order for ``e``, so a run
    resumed with ``start_epoch=e`` (after restoring a checkpoint) repeats an uninterrupted
    run exactly.

    Args:
        model: the model to train (its parameters are the optimiser's).
        optimizer: e.g. ``SGD(model.parameters(), lr=0.01)``.
        train: the training batches.
        epochs: the number of the last epoch (the total, when starting from 0).
        val: held-out ``(x, y)`` evaluated after each epoch.
        start_epoch: the first epoch to run (Keras' ``initial_epoch``).
        history: a History to extend (when resuming); a new one otherwise.
        loss_fn: ``loss_fn(logits, y)`` -> scalar tensor.
        progress: show a tqdm progress bar and print one line per epoch (on stderr).
        on_epoch_end: called as ``on_epoch_end(epoch_number, record)`` after each epoch,
            e.g. to save a checkpoint.
        grad_every: read every parameter's gradient norm after the backward of one step in
            this many (the first step of each epoch included), and keep each epoch's mean in
            ``history.gradients``: where gradients vanish or explode. 0 turns it off.

    Returns:
        The history: one record per epoch, ``epoch`` counted from 1, and the gradient norms.

    >>> import numpy as np
    >>> from minigrad import nn, optim
    >>> from minigrad.data import DataLoader
    >>> x = np.random.default_rng(0).standard_normal((32, 4)).astype(np.float32)
    >>> y = (x[:, 0] > 0).astype(np.int64)
    >>> model = nn.Sequential(nn.Linear(4, 2, rng=0))
    >>> h = fit(model, optim.SGD(model.parameters(), lr=0.1), DataLoader(x, y, shuffle=True),
    ...         epochs=3, progress=False)
    >>> h["epoch"], h["train_accuracy"][-1] > 0.9
    ([1, 2, 3], True)
    """
    grad_every = arguments.integer("fit", "grad_every", grad_every, 0)
    history = History() if history is None else history
    for epoch in range(start_epoch, epochs):
        start = time.perf_counter()
        train.epoch = epoch
        bar = _progress(len(train), f"epoch {epoch + 1}/{epochs}", progress)
        norms = _GradNorms(model, grad_every) if grad_every else None
        try:
            loss, acc = train_epoch(model, optimizer, train, loss_fn, bar, norms)
        finally:
            if bar is not None:
                bar.close()
        if norms is not None:
            history.gradients.append(norms.record(epoch + 1))
        record: dict[str, Any] = {"epoch": epoch + 1, "train_loss": loss, "train_accuracy": acc}
        if val is not None:
            scores = evaluate(model, *val, loss_fn=loss_fn)
            record["val_loss"], record["val_accuracy"] = scores["loss"], scores["accuracy"]
        record["seconds"] = time.perf_counter() - start
        history.append(record)
        if progress:
            print(_format_record(record, epochs), file=sys.stderr, flush=True)
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, record)
    return history


def _format_record(record: dict[str, Any], epochs: int) -> str:
    parts = [f"epoch {record['epoch']}/{epochs}"]
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
        if key in record:
            parts.append(f"{key} {record[key]:.4f}")
    parts.append(f"{record['seconds']:.1f}s")
    return "  ".join(parts)


def predict(model: Module, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """The model's outputs (logits) for every sample of ``x``, without recording a graph."""
    was_training = model.training
    model.eval()
    outs = []
    with minigrad.no_grad():
        for start in range(0, len(x), batch_size):
            outs.append(model(x[start : start + batch_size]).data)
    model.train(was_training)
    return np.concatenate(outs) if outs else np.zeros((0,))


def evaluate(
    model: Module,
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int = 500,
    loss_fn: LossFn = minigrad.cross_entropy,
) -> dict[str, Any]:
    """Mean loss and accuracy of ``model`` on ``(x, y)``, and its predicted classes.

    Returns:
        ``{"loss": float, "accuracy": float, "predictions": int array of shape (N,)}``.
    """
    if len(x) == 0:
        raise ArgumentError("evaluate: got no samples")
    logits = predict(model, x, batch_size)
    loss = float(loss_fn(Tensor(logits), y).item())
    predictions = logits.argmax(axis=1)
    return {
        "loss": loss,
        "accuracy": float((predictions == class_labels(y)).mean()),
        "predictions": predictions,
    }


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """``C[i, j]`` = how many samples of class ``i`` were predicted as class ``j``.

    >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 1, 0]), 2)
    array([[1, 0],
           [1, 1]])
    """
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


# ---------------------------------------------------------------------------- a whole run

Split = tuple[np.ndarray, np.ndarray]


def load_dataset(name: str, data_dir: str | Path | None = None) -> tuple[Split, Split]:
    """``(train, test)`` of a named dataset, each ``(x, y)``.

    ``"digits"`` is scikit-learn's bundled 8x8 digits with a fixed stratified 20% test set;
    ``"mnist"`` reads the original IDX files in ``data_dir`` (default: ``$MINIGRAD_MNIST_DIR``).
    """
    from minigrad import data

    if name == "digits":
        x, y = data.load_digits()
        return data.train_val_split(x, y, val_fraction=0.2, seed=0)
    if name != "mnist":
        raise ArgumentError(f"dataset must be one of {', '.join(DATASETS)}, got {name!r}")
    folder = data_dir or os.environ.get(MNIST_ENV)
    if not folder:
        raise ArgumentError(
            f"dataset 'mnist' needs the folder of the MNIST IDX files: pass --data-dir DIR "
            f"(data_dir=) or set {MNIST_ENV}"
        )
    return data.load_mnist(folder, "train"), data.load_mnist(folder, "test")


def load_model(
    source: str | Path | Mapping[str, Any],
    *,
    input_shape: Any = None,
    seed: int = 0,
    weights: bool = True,
) -> Sequential | Graph:
    """The model of a spec (a ``.toml`` path or a dict) or of a checkpoint (a ``.npz`` path).

    Args:
        source: the spec, or a checkpoint written by ``run`` or ``save_checkpoint``.
        input_shape: (C, H, W) instead of the spec's.
        seed: the seed of the initial weights (for a spec).
        weights: for a checkpoint, load its parameters into the model (they must fit
            ``input_shape``); False builds its architecture with fresh weights.
    """
    from minigrad import nn
    from minigrad.checkpoint import load_checkpoint

    if isinstance(source, Mapping) or Path(source).suffix != ".npz":
        return nn.from_spec(source, seed=seed, input_shape=input_shape)
    ckpt = load_checkpoint(source)
    if ckpt.spec is None:
        raise CheckpointError(f"{source}: the checkpoint holds no model spec")
    model = nn.from_spec(ckpt.spec, seed=seed, input_shape=input_shape)
    if weights:
        ckpt.restore(model)
    return model


@dataclass
class RunResult:
    """What :func:`run` made.

    Attributes:
        model: the trained model.
        optimizer: its optimiser, with its state.
        history: one record per epoch (including the epochs of a resumed checkpoint).
        test: ``{"loss", "accuracy"}`` on the test set.
        confusion: the test set's confusion matrix (rows: true class).
        config: the run's settings, as written to ``metrics.json``.
        out: the output folder.
        files: the names of the files written there.
        train_seconds: the time spent in ``fit``.
    """

    model: Sequential | Graph
    optimizer: Optimizer
    history: History
    test: dict[str, float]
    confusion: np.ndarray
    config: dict[str, Any]
    out: Path
    files: list[str] = field(default_factory=list)
    train_seconds: float = 0.0


def _check_run_arguments(
    optimizer: str,
    epochs: int | None,
    batch_size: int,
    val_fraction: float,
    limit: int | None,
    momentum: float,
) -> None:
    arguments.choice("run", "optimizer", optimizer, tuple(DEFAULT_LR))
    if optimizer == "adam" and momentum:
        raise ArgumentError(
            "--momentum applies to --optimizer sgd only (Adam keeps its own averages)"
        )
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("limit", limit)):
        if value is not None:
            arguments.positive_int("run", name, value)
    arguments.fraction("run", "val_fraction", val_fraction)


def _check_classes(
    model: Sequential | Graph, source: str, dataset: str, *labels: np.ndarray
) -> int:
    """The number of classes, after checking that the model scores exactly that many."""
    outputs = model.output_shape(tuple(model.spec["input_shape"]))[-1]
    classes = int(max(class_labels(y).max(initial=0) for y in labels)) + 1
    if outputs != classes:
        raise SpecError(
            f"{source}: the model outputs {outputs} class scores, but {dataset} has "
            f"{classes} classes (labels 0..{classes - 1}); make the last Linear's "
            f"out_features {classes}"
        )
    return classes


def _check_input_shape(model: Sequential | Graph, source: str, dataset: str, x: np.ndarray) -> None:
    expected = tuple(model.spec["input_shape"])
    if x.shape[1:] != expected:
        raise SpecError(
            f"{source}: the model expects inputs of shape {expected} but {dataset} has "
            f"{x.shape[1:]}"
        )


def _architecture(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A normalised spec without its free-text description."""
    return {k: v for k, v in spec.items() if k != "description"}


def _resume(path: str | Path, spec: Mapping[str, Any] | None, input_shape: Any) -> Any:
    """The checkpoint to resume, refused when ``spec`` describes another model."""
    from minigrad import nn
    from minigrad.checkpoint import load_checkpoint

    ckpt = load_checkpoint(path)
    if ckpt.spec is None or ckpt.optimizer is None:
        raise CheckpointError(
            f"{path}: cannot resume: the checkpoint holds no "
            f"{'model spec' if ckpt.spec is None else 'optimiser state'}"
        )
    if spec is not None:
        wanted = nn.validate_spec(spec, "<spec>", input_shape)
        if _architecture(wanted) != _architecture(ckpt.spec):
            raise CheckpointError(
                f"{path}: cannot resume: the checkpoint holds model {ckpt.spec['name']!r}, "
                f"which differs from the spec given ({wanted['name']!r}); pass the spec it "
                "was trained from, or start a new run"
            )
    return ckpt


def run(
    model: str | Path | Mapping[str, Any] | None,
    *,
    dataset: str = "digits",
    data_dir: str | Path | None = None,
    out: str | Path | None = None,
    epochs: int | None = None,
    batch_size: int = 1,
    optimizer: str = "sgd",
    lr: float | None = None,
    momentum: float = 0.0,
    weight_decay: float = 0.0,
    seed: int = 0,
    val_fraction: float = 0.1,
    limit: int | None = None,
    resume: str | Path | None = None,
    plots: bool = True,
    progress: bool = True,
    log: Callable[[str], None] | None = print,
) -> RunResult:
    """Train a model spec on a dataset and write everything a run leaves behind.

    This is ``minigrad train`` as one call. Before the first step it checks the arguments,
    the spec, the data (at least one training sample, one validation sample when
    ``val_fraction > 0``), that the model takes the data's input shape and scores as many
    classes as the data has, and that a checkpoint to resume holds the same model; the data
    is cast to the model's dtype. Then it trains with :func:`fit`, saving ``checkpoint.npz``
    after every epoch, evaluates on the test set and writes ``metrics.json``,
    ``metrics.csv`` and, with ``plots``, ``curves.png``, ``filters.png`` and
    ``confusion.png``.

    Args:
        model: a spec (``.toml`` path or dict); may be None with ``resume``.
        dataset: ``"digits"`` or ``"mnist"`` (see :func:`load_dataset`).
        data_dir: the MNIST folder.
        out: the output folder (default ``runs/<model name>``).
        epochs: the total number of epochs (default 20 for digits, 1 for MNIST).
        batch_size: samples per step; 1 is the design document's per-sample SGD.
        optimizer: ``"sgd"`` (with ``momentum``) or ``"adam"``.
        lr: the learning rate (default 0.02 for SGD, 0.001 for Adam).
        momentum: SGD's momentum.
        weight_decay: the L2 penalty.
        seed: the seed of the weights, the validation split and the shuffling.
        val_fraction: the share of the training set held out for per-epoch validation.
        limit: train on the first ``limit`` training samples only.
        resume: a checkpoint to continue up to ``epochs``; its model, optimiser and history
            are used, and with the same seed and data the result is bit-identical to an
            uninterrupted run.
        plots: write the PNG pictures.
        progress: show a progress bar and one line per epoch.
        log: called with each message (the start and the end of the run); None for silence.

    >>> result = run("models/mlp.toml", epochs=1, limit=100, out=getfixture("tmp_path"),
    ...              plots=False, progress=False, log=None)
    >>> result.history["epoch"], result.files
    ([1], ['checkpoint.npz', 'metrics.json', 'metrics.csv'])
    """
    from minigrad import data, nn, optim
    from minigrad.checkpoint import save_checkpoint

    say = log or (lambda text: None)
    _check_run_arguments(optimizer, epochs, batch_size, val_fraction, limit, momentum)
    spec = None
    source = "<spec>" if model is None or isinstance(model, Mapping) else str(model)
    if model is not None:
        spec = nn.load_spec(model) if not isinstance(model, Mapping) else dict(model)
        nn.validate_spec(spec, source)  # a bad spec fails before any data is loaded
    elif resume is None:
        raise ArgumentError("run: give a model spec, or a checkpoint to resume")
    (x_train, y_train), (x_test, y_test) = load_dataset(dataset, data_dir)
    all_labels = (y_train, y_test)
    val = None
    if val_fraction > 0:
        total = len(y_train)
        (x_train, y_train), val = data.train_val_split(x_train, y_train, val_fraction, seed=seed)
        if len(val[1]) == 0:
            raise ArgumentError(
                f"run: val_fraction {val_fraction} holds out no validation sample of the "
                f"{total:,} training samples; use a larger fraction, or 0 for no validation"
            )
        if len(y_train) == 0:
            raise ArgumentError(
                f"run: val_fraction {val_fraction} leaves no training samples (all {total:,} "
                "are held out for validation); use a smaller fraction"
            )
    if limit:
        x_train, y_train = x_train[:limit], y_train[:limit]
    epochs = epochs or DEFAULT_EPOCHS[dataset]
    lr = lr if lr is not None else DEFAULT_LR[optimizer]

    history = History()
    start_epoch = 0
    if resume is not None:
        ckpt = _resume(resume, spec, x_train.shape[1:])
        net = ckpt.build_model()
        opt = ckpt.build_optimizer(net)
        history, start_epoch = History(ckpt.history, ckpt.gradients), ckpt.epoch
        source = str(model if model is not None else resume)
        if epochs <= start_epoch:
            raise ArgumentError(
                f"run: {resume} has trained {start_epoch} epochs already, so epochs={epochs} "
                f"trains none; epochs is the total: pass more than {start_epoch}"
            )
    else:
        net = nn.from_spec(spec, seed=seed, input_shape=x_train.shape[1:])
        params = net.parameters()
        if optimizer == "sgd":
            opt = optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
        else:
            opt = optim.Adam(params, lr=lr, weight_decay=weight_decay)
    _check_input_shape(net, source, dataset, x_train)
    num_classes = _check_classes(net, source, dataset, *all_labels)
    dtype = np.dtype(net.spec["dtype"])
    x_train, x_test = x_train.astype(dtype, copy=False), x_test.astype(dtype, copy=False)
    if val is not None:
        val = (val[0].astype(dtype, copy=False), val[1])

    name = net.spec["name"]
    folder = Path(out if out is not None else Path("runs") / nn.folder_name(net.spec))
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "model": source,
        "dataset": dataset,
        "epochs": epochs,
        "batch_size": batch_size,
        "optimizer": repr(opt),
        "seed": seed,
        "train_samples": len(y_train),
        "val_samples": 0 if val is None else len(val[1]),
        "test_samples": len(y_test),
    }
    if resume is not None:
        config["resumed_from"] = str(resume)
    say(
        f"training {name} ({net.num_parameters():,} parameters) on {dataset}: "
        f"{len(y_train):,} training samples, batch size {batch_size}, {opt!r}"
    )
    loader = DataLoader(x_train, y_train, batch_size, shuffle=True, seed=seed)

    def save(epoch: int, record: dict[str, Any]) -> None:
        save_checkpoint(
            folder / "checkpoint.npz",
            net,
            opt,
            epoch=epoch,
            history=history,
            extra={"dataset": dataset, "config": config},
        )

    train_started = time.perf_counter()
    fit(
        net,
        opt,
        loader,
        epochs=epochs,
        val=val,
        start_epoch=start_epoch,
        history=history,
        progress=progress,
        on_epoch_end=save,
    )
    train_seconds = time.perf_counter() - train_started
    scores = evaluate(net, x_test, y_test)
    cm = confusion_matrix(class_labels(y_test), scores["predictions"], num_classes)
    test = {"loss": scores["loss"], "accuracy": scores["accuracy"]}
    metrics = {
        "config": config,
        "history": history.records,
        "gradients": history.gradients,
        "test": test,
        "train_seconds": train_seconds,
        "confusion_matrix": cm.tolist(),
    }
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    history.to_csv(folder / "metrics.csv")
    files = ["checkpoint.npz", "metrics.json", "metrics.csv"]
    if plots:
        files += _plot_run(net, history, cm, folder, dataset)
    return RunResult(net, opt, history, test, cm, config, folder, files, train_seconds)


def _plot_run(
    model: Module, history: History, cm: np.ndarray, out: Path, dataset: str
) -> list[str]:
    """The run's pictures; the names of the files written."""
    from minigrad import nn, plots

    name = model.spec["name"]
    plots.plot_history(history, out / "curves.png")
    files = ["curves.png"]
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if conv is not None:
        title = f"{name}: learned conv filters"
        plots.plot_filters(conv.weight.data, out / "filters.png", title=title)
        files.append("filters.png")
    plots.plot_confusion_matrix(cm, out / "confusion.png", title=f"{name} on {dataset}")
    files.append("confusion.png")
    if history.gradients:
        plots.plot_gradients(history, out / "gradients.png", title=f"{name}: gradient norms")
        files.append("gradients.png")
    return files


def evaluate_checkpoint(
    checkpoint: str | Path,
    *,
    dataset: str | None = None,
    data_dir: str | Path | None = None,
    split: str = "test",
) -> dict[str, Any]:
    """Loss, accuracy, per-class accuracy and confusion matrix of a checkpoint's model.

    This is ``minigrad evaluate``. ``dataset`` defaults to the one the checkpoint was
    trained on; ``split`` is ``"test"`` or ``"train"``.

    Returns:
        ``{"checkpoint", "model", "epoch", "dataset", "split", "samples", "loss", "accuracy",
        "per_class_accuracy", "confusion_matrix"}`` (lists, ready for JSON).
    """
    from minigrad.checkpoint import load_checkpoint

    if split not in ("test", "train"):
        raise ArgumentError(f"evaluate_checkpoint: split must be 'test' or 'train', got {split!r}")
    ckpt = load_checkpoint(checkpoint)
    model = ckpt.build_model()
    dataset = dataset or ckpt.extra.get("dataset", "digits")
    train, test = load_dataset(dataset, data_dir)
    x, y = test if split == "test" else train
    _check_input_shape(model, str(checkpoint), dataset, x)
    num_classes = _check_classes(model, str(checkpoint), dataset, train[1], test[1])
    result = evaluate(model, x.astype(np.dtype(model.spec["dtype"]), copy=False), y)
    cm = confusion_matrix(class_labels(y), result["predictions"], num_classes)
    per_class = cm.diagonal() / np.maximum(cm.sum(axis=1), 1)
    return {
        "checkpoint": str(checkpoint),
        "model": model.spec["name"],
        "epoch": ckpt.epoch,
        "dataset": dataset,
        "split": split,
        "samples": len(y),
        "loss": result["loss"],
        "accuracy": result["accuracy"],
        "per_class_accuracy": per_class.tolist(),
        "confusion_matrix": cm.tolist(),
    }
