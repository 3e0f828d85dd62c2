"""Pictures of a model and its training run: curves, gradient norms, learned filters, confusion
matrix (PNG files), and the graph of one forward and backward pass (``plot_graph``, with
Graphviz; ``explore_model``, an explorable HTML page).

matplotlib is imported only when a picture is drawn, and only its object-oriented API with the
Agg canvas is used, so no window opens and no global backend is changed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "explore_model",
    "plot_confusion_matrix",
    "plot_filters",
    "plot_gradients",
    "plot_graph",
    "plot_history",
    "sample_loss",
]

INSTALL_HINT = "pip install 'minigrad-autograd[train]'"


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            f"plots need matplotlib, which is not installed; run: {INSTALL_HINT}"
        ) from exc
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def plot_history(history: Any, path: str | Path) -> Path:
    """Loss and accuracy per epoch, training and validation side by side.

    Args:
        history: a :class:`~minigrad.train.History` or a list of per-epoch dicts.
        path: the PNG file to write.
    """
    records = list(getattr(history, "records", history))
    epochs = [r["epoch"] for r in records]
    fig = _figure(10, 4)
    for ax, metric in zip(fig.subplots(1, 2), ("loss", "accuracy"), strict=True):
        for split, style in (("train", "o-"), ("val", "s--")):
            values = [r.get(f"{split}_{metric}") for r in records]
            if any(v is not None for v in values):
                ax.plot(epochs, values, style, label=split)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return _save(fig, path)


def plot_gradients(history: Any, path: str | Path, title: str = "gradient norms") -> Path:
    """Each parameter's gradient norm ``||dL/dW||`` per epoch, on a log scale.

    A curve that falls by orders of magnitude over the layers or the epochs is a vanishing
    gradient; one that climbs, an exploding one.

    Args:
        history: a :class:`~minigrad.train.History` (its ``gradients``) or a list of
            per-epoch dicts ``{"epoch": 1, "0.weight": 0.31, ...}``.
        path: the PNG file to write.
    """
    records = list(getattr(history, "gradients", history))
    names = list(dict.fromkeys(k for r in records for k in r if k != "epoch"))
    fig = _figure(8, 4.5)
    ax = fig.subplots()
    for name in names:
        points = [(r["epoch"], r[name]) for r in records if r.get(name, 0) > 0]
        if points:
            ax.plot(*zip(*points, strict=True), "o-", markersize=3, label=name)
    ax.set_yscale("log")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("epoch")
    ax.set_ylabel("||dL/dW|| (mean over sampled steps)")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    if names:
        ax.legend(fontsize=8, ncol=2 if len(names) > 6 else 1)
    fig.tight_layout()
    return _save(fig, path)


def plot_filters(weight: np.ndarray, path: str | Path, title: str = "learned filters") -> Path:
    """Every filter of a convolution weight (F, C, kh, kw) as a small grey image.

    These are the design document's "what to look for": each filter is the pattern its
    feature map responds to. Multi-channel filters show one row per input channel.
    """
    weight = np.asarray(weight)
    if weight.ndim != 4:
        raise ValueError(
            f"plot_filters: expected a weight of shape (F, C, kh, kw), got {weight.shape}"
        )
    f, c = weight.shape[:2]
    c = min(c, 8)
    cols = min(f, 8) if c == 1 else f
    rows = math.ceil(f / cols) * c
    fig = _figure(1.2 * cols + 0.6, 1.2 * rows + 0.6)
    limit = float(np.abs(weight).max()) or 1.0
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax in axes:
        ax.axis("off")
    for k in range(f):
        for ch in range(c):
            row = (k // cols) * c + ch
            ax = axes[row * cols + k % cols]
            ax.imshow(weight[k, ch], cmap="gray", vmin=-limit, vmax=limit)
            ax.set_title(f"{k}" if c == 1 else f"{k}/{ch}", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def plot_confusion_matrix(
    cm: np.ndarray, path: str | Path, title: str = "confusion matrix"
) -> Path:
    """The confusion matrix ``cm[true, predicted]`` as a heat map with the counts written in."""
    cm = np.asarray(cm)
    n = cm.shape[0]
    fig = _figure(0.5 * n + 2.5, 0.5 * n + 2)
    ax = fig.subplots()
    image = ax.imshow(cm, cmap="Blues")
    fig.colorbar(image, ax=ax)
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    accuracy = np.trace(cm) / max(cm.sum(), 1)
    ax.set_title(f"{title} (accuracy {accuracy:.2%})")
    threshold = cm.max() / 2 if cm.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(
                j,
                i,
                str(cm[i, j]),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if cm[i, j] > threshold else "black",
            )
    fig.tight_layout()
    return _save(fig, path)


def sample_batch_size(model: Any) -> int:
    """1, or 2 for a model with ``BatchNorm1d``: its batch statistics over (N, C) need two
    samples in training mode."""
    from minigrad.nn import BatchNorm1d

    return 2 if any(isinstance(m, BatchNorm1d) for m in model.modules()) else 1


def sample_loss(model: Any, batch_size: int | None = None, seed: int = 0) -> Any:
    """The cross-entropy of a spec-built model on ``batch_size`` random inputs of the spec's
    shape (default: :func:`sample_batch_size`) against random classes (both from ``seed``): a
    loss to draw and explore."""
    import minigrad

    if batch_size is None:
        batch_size = sample_batch_size(model)
    rng = np.random.default_rng(seed)
    shape = (batch_size, *model.spec["input_shape"])
    x = minigrad.Tensor(rng.standard_normal(shape), dtype=model.spec["dtype"], name="input")
    logits = model(x)
    target = minigrad.Tensor(rng.integers(0, logits.shape[-1], size=batch_size), name="target")
    loss = minigrad.cross_entropy(logits, target)
    loss.name = "loss"
    return loss


def plot_graph(
    model: Any,
    path: str | Path,
    *,
    batch_size: int | None = None,
    seed: int = 0,
    view: str = "forward",
    depth: int | None = None,
    grads: bool = False,
    values: bool = False,
    rankdir: str = "TB",
) -> Path:
    """Draw the graph of one forward and backward pass of a spec-built model (``minigrad graph``).

    The input is ``batch_size`` random samples of the spec's input shape (from ``seed``), the
    loss the cross-entropy against random classes (:func:`sample_loss`); the other options are
    :func:`minigrad.viz.render`'s. The format follows the suffix of ``path`` (``.svg``,
    ``.png``, ``.pdf``, or ``.dot`` for the DOT source).

    Returns:
        The file written.
    """
    from minigrad import viz

    loss = sample_loss(model, batch_size, seed)
    if grads:
        viz.retain_grads(loss)
    loss.backward()
    return viz.render(
        loss,
        path,
        view=view,
        depth=depth,
        grads=grads,
        values=values,
        model=model,
        rankdir=rankdir,
    )


def explore_model(
    source: str | Path,
    path: str | Path,
    *,
    input_shape: Any = None,
    batch_size: int | None = None,
    seed: int = 0,
) -> Path:
    """The explorable page of one backward pass of a model (``minigrad explore``).

    Args:
        source: a model spec (``.toml``) or a checkpoint (``.npz``); a checkpoint's page also
            shows each parameter's gradient norm per epoch of its training history.
        path: the HTML file to write.
        input_shape: (C, H, W) instead of the spec's.
        batch_size: the samples in the random input (see :func:`sample_loss`).
        seed: the seed of the input and, for a spec, of the weights.

    Returns:
        The file written (see :func:`minigrad.viz.explore`).
    """
    from minigrad import viz
    from minigrad.checkpoint import load_checkpoint
    from minigrad.train import load_model

    model = load_model(source, input_shape=input_shape, seed=seed)
    title, history = f"minigrad explore: {model.spec['name']}", None
    if Path(source).suffix == ".npz":
        ckpt = load_checkpoint(source)
        title += f" after {ckpt.epoch} epochs"
        history = ckpt.gradients
    loss = sample_loss(model, batch_size, seed)
    return viz.explore(loss, path, model=model, history=history, title=title)
