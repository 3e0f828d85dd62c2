"""The teaching pictures of the docs, drawn by code: ``make pictures`` (or run this file).

Every number in a picture is computed by minigrad itself (a forward pass, a backward pass),
so a picture cannot drift from what the code does. Output goes to ``docs/images/``:

| file | page | what |
|---|---|---|
| ``autodiff_x_plus_x_times_x.svg`` | How autodiff works | the graph of ``y = (x + x) * x`` |
| ``conv_window_im2col.svg`` | Convolution and pooling | a window, its output, its im2col column |
| ``max_pool_routing.svg`` | Convolution and pooling | max-pool's gradient going to each winner |

The SVG files are written without a date and with a fixed hash salt, so drawing them again
with the same library versions gives the same bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

import minigrad
from minigrad import viz

IMAGES = Path(__file__).resolve().parents[1] / "images"
PICTURES = (
    "autodiff_x_plus_x_times_x.svg",
    "conv_window_im2col.svg",
    "max_pool_routing.svg",
)

WINDOW = "#1f77b4"  # the highlighted window, its output and its column
OTHER = "#ff7f0e"  # a second window, for comparison
WINNER = "#d62728"  # max-pool: the element that wins its window


def autodiff_graph(out: Path) -> Path:
    """The two-line example of the autodiff page: ``x`` used three times by two ops."""
    x = minigrad.Tensor(np.array([2.0, 3.0]), requires_grad=True, name="x")
    y = (x + x) * x
    y.name = "y"
    return viz.render(y, out / PICTURES[0], rankdir="LR")


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasSVG(fig)
    return fig


def _signed(v: float) -> str:
    return "0" if v == 0 else f"{v:+g}"


def _grid(
    ax: Any,
    values: np.ndarray,
    title: str,
    fmt: Any = "{:g}".format,
    colours: dict[tuple[int, int], str] | None = None,
    bold: set[tuple[int, int]] | None = None,
) -> None:
    """``values`` as a table of cells, (0, 0) at the top left; some cells filled."""
    from matplotlib.patches import Rectangle

    rows, cols = values.shape
    for r in range(rows):
        for c in range(cols):
            colour = (colours or {}).get((r, c))
            ax.add_patch(
                Rectangle(
                    (c, rows - 1 - r),
                    1,
                    1,
                    facecolor=colour or "white",
                    alpha=0.35 if colour else 1.0,
                    edgecolor="#555555",
                    linewidth=0.8,
                )
            )
            ax.text(
                c + 0.5,
                rows - 0.5 - r,
                fmt(values[r, c]),
                ha="center",
                va="center",
                fontsize=9,
                fontweight="bold" if bold and (r, c) in bold else "normal",
            )
    ax.set_xlim(-0.1, cols + 0.1)
    ax.set_ylim(-0.1, rows + 0.1)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=10, pad=14)
    ax.axis("off")


def _outline(
    ax: Any,
    row: int,
    col: int,
    height: int,
    width: int,
    rows: int,
    **style: Any,
) -> None:
    from matplotlib.patches import Rectangle

    ax.add_patch(
        Rectangle(
            (col, rows - row - height),
            width,
            height,
            fill=False,
            linewidth=2.5,
            **style,
        )
    )


def _save(fig: Any, path: Path, title: str, top: float, bottom: float) -> Path:
    """Write ``fig`` with its two-line ``title`` above the panels, which fill the width."""
    import matplotlib

    fig.suptitle(title, fontsize=9.5)
    fig.subplots_adjust(left=0.02, right=0.98, top=top, bottom=bottom)
    with matplotlib.rc_context(
        {"svg.hashsalt": "minigrad", "svg.fonttype": "path"}
    ):
        fig.savefig(path, metadata={"Date": None})
    return path


def conv_window_im2col(out: Path) -> Path:
    """A 3x3 kernel over a 4x4 image: two windows, their outputs and their im2col columns."""
    x = (
        np.random.default_rng(2)
        .integers(0, 10, (1, 1, 4, 4))
        .astype(np.float64)
    )
    w = np.array(
        [[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]]
    ).reshape(1, 1, 3, 3)
    y = minigrad.conv2d(minigrad.Tensor(x), minigrad.Tensor(w)).data[
        0, 0
    ]  # (2, 2)
    windows = [(p, q) for p in range(2) for q in range(2)]
    cols = np.array(
        [x[0, 0, p : p + 3, q : q + 3].ravel() for p, q in windows]
    ).T  # (9, 4)
    assert np.allclose(w.reshape(1, 9) @ cols, y.reshape(1, 4))  # y = W2 cols

    fig = _figure(10.5, 3.4)
    ax_x, ax_w, ax_y, ax_cols = fig.subplots(
        1, 4, gridspec_kw={"width_ratios": [4, 3, 2.4, 4.4], "wspace": 0.35}
    )
    blue = {(r, c): WINDOW for r in range(3) for c in range(1, 4)}
    _grid(ax_x, x[0, 0], "input x (4x4)", colours=blue)
    _outline(ax_x, 0, 1, 3, 3, rows=4, edgecolor=WINDOW)
    _outline(ax_x, 1, 0, 3, 3, rows=4, edgecolor=OTHER, linestyle="--")
    _grid(ax_w, w[0, 0], "kernel w (3x3)")
    _grid(ax_y, y, "output y (2x2)", colours={(0, 1): WINDOW, (1, 0): OTHER})
    ax_y.text(
        1.2,
        -0.6,
        f"y[0,1] = sum(window * w) = {y[0, 1]:g}",
        ha="center",
        fontsize=8.5,
    )
    _grid(
        ax_cols,
        cols,
        "im2col: one column per window",
        colours={
            **{(r, 1): WINDOW for r in range(9)},
            **{(r, 2): OTHER for r in range(9)},
        },
    )
    for k, (p, q) in enumerate(windows):
        ax_cols.text(k + 0.5, 9.15, f"{p},{q}", ha="center", fontsize=7.5)
    ax_cols.text(
        2, -0.7, "y = w.reshape(1, 9) @ cols", ha="center", fontsize=8.5
    )
    title = (
        "conv2d: each 3x3 window of x, times w and summed, is one output;\n"
        "im2col copies each window into a column, so all of them are one matrix product"
    )
    return _save(fig, out / PICTURES[1], title, top=0.78, bottom=0.1)


def max_pool_routing(out: Path) -> Path:
    """A 2x2 max-pool of a 4x4 input: forward (the winners) and backward (their gradients)."""
    data = np.array(
        [
            [1.0, 5.0, 2.0, 0.0],
            [3.0, 2.0, 7.0, 4.0],
            [8.0, 1.0, 0.0, 3.0],
            [2.0, 4.0, 6.0, 5.0],
        ]
    )
    x = minigrad.Tensor(data.reshape(1, 1, 4, 4), requires_grad=True)
    y = minigrad.max_pool2d(x, 2)
    upstream = np.array([[0.1, -0.2], [0.3, 0.4]])
    y.backward(upstream.reshape(1, 1, 2, 2))
    grad = x.grad[0, 0]
    winners = {tuple(int(i) for i in rc) for rc in np.argwhere(grad != 0)}
    assert len(winners) == 4 and np.isclose(grad.sum(), upstream.sum())

    fig = _figure(10.5, 3.0)
    ax_x, ax_y, ax_g, ax_gx = fig.subplots(
        1, 4, gridspec_kw={"width_ratios": [4, 2.4, 2.4, 4], "wspace": 0.4}
    )
    red = dict.fromkeys(winners, WINNER)
    _grid(ax_x, data, "input x: 2x2 windows", colours=red, bold=winners)
    for r in (0, 2):
        for c in (0, 2):
            _outline(ax_x, r, c, 2, 2, rows=4, edgecolor="#333333")
    _grid(ax_y, y.data[0, 0], "y = max of each window")
    _grid(ax_g, upstream, "upstream gradient ȳ", fmt=_signed)
    _grid(
        ax_gx,
        grad,
        "x̄: ȳ goes to each winner",
        fmt=_signed,
        colours=red,
        bold=winners,
    )
    for r in (0, 2):
        for c in (0, 2):
            _outline(ax_gx, r, c, 2, 2, rows=4, edgecolor="#333333")
    title = (
        "max_pool2d: the forward keeps each window's maximum; the backward gives that\n"
        "element the whole gradient of its output, and every other element zero"
    )
    return _save(fig, out / PICTURES[2], title, top=0.75, bottom=0.03)


def draw_all(out: Path = IMAGES) -> list[Path]:
    """Draw every picture into ``out``; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    return [autodiff_graph(out), conv_window_im2col(out), max_pool_routing(out)]


if __name__ == "__main__":
    for path in draw_all(Path(sys.argv[1]) if len(sys.argv) > 1 else IMAGES):
        print(f"wrote {path}")
