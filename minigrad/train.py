"""Training and evaluation loops: ``fit``, ``evaluate``, ``predict``, ``confusion_matrix``.

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
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

import minigrad
from minigrad.data import DataLoader
from minigrad.errors import ArgumentError
from minigrad.nn.module import Module
from minigrad.optim import Optimizer
from minigrad.tensor import Tensor

__all__ = ["History", "confusion_matrix", "evaluate", "fit", "predict"]

LossFn = Callable[[Tensor, Any], Tensor]


class History:
    """Per-epoch metrics: one dict per epoch (``epoch``, ``train_loss``, ``train_accuracy``,
    ``val_loss``, ``val_accuracy``, ``seconds``), as Keras' ``History``.

    >>> h = History([{"epoch": 1, "train_loss": 0.5}, {"epoch": 2, "train_loss": 0.25}])
    >>> h["train_loss"]
    [0.5, 0.25]
    """

    def __init__(self, records: list[dict[str, Any]] | None = None) -> None:
        self.records: list[dict[str, Any]] = list(records or [])

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


def _progress(total: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is in the train extra
        return None
    # disable=None: no bar when stderr is not a terminal (logs, CI, subprocesses).
    return tqdm(total=total, desc=desc, unit="step", leave=False, dynamic_ncols=True, disable=None)


def train_epoch(
    model: Module,
    optimizer: Optimizer,
    loader: DataLoader,
    loss_fn: LossFn = minigrad.cross_entropy,
    bar: Any = None,
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
        optimizer.step()
        n = len(yb)
        total_loss += float(loss.data) * n
        correct += int((logits.data.argmax(axis=1) == yb).sum())
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

    Returns:
        The history: one record per epoch, ``epoch`` counted from 1.

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
    history = History() if history is None else history
    for epoch in range(start_epoch, epochs):
        start = time.perf_counter()
        train.epoch = epoch
        bar = _progress(len(train), f"epoch {epoch + 1}/{epochs}", progress)
        try:
            loss, acc = train_epoch(model, optimizer, train, loss_fn, bar)
        finally:
            if bar is not None:
                bar.close()
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
        "accuracy": float((predictions == y).mean()),
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
