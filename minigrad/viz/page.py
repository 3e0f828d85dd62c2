"""An explorable page of one backward pass: the graph, every tensor, every VJP, step by step.

:func:`explore` runs ``backward()`` on the loss under :func:`minigrad.record_backward` (the
public recorder anyone can use) and writes one HTML file that needs nothing else: the Graphviz
drawing of :func:`minigrad.viz.to_dot` inlined as SVG, the script and the style inlined, the
tensors inlined as small pictures. It opens from ``file://`` with no network.

On the page:

* **click a node**: a tensor shows its name, shape, dtype, statistics of its value and of its
  gradient dL/dt, and pictures of both (a heat map; a grid of tiles for feature maps and
  filters); an op shows its attributes, its inputs and output, and its forward formula and VJP
  (the op's docstring), the gradient it received and the ones it sent;
* **step through the walk**: each step is one VJP, in the order the engine ran them. The op
  is highlighted, the edges to its inputs light up with the shape and norm of the gradient
  sent along them, and a tensor that receives several gradients (a tensor used twice) lists
  each of them and their sum once the last one has arrived;
* **gradients over training**: given a training history (``minigrad explore`` on a
  checkpoint does this), each parameter shows its gradient norm per epoch.

What the page shows is what the engine computed: the gradient of a tensor is the one its VJP
received (for a leaf, the sum of what the walk sent to it), never recomputed.
"""

from __future__ import annotations

import base64
import html
import inspect
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import graphviz
import numpy as np

from minigrad.engine import Node
from minigrad.errors import GraphError, GraphvizNotFoundError, VizError
from minigrad.hooks import BackwardStep, record_backward
from minigrad.tensor import Tensor
from minigrad.viz.dot import _INSTALL, _argnames, _as_roots, _attr, _collect, _Graph, to_dot

__all__ = ["explore"]

#: Largest picture side (pixels of one tile) and most tiles per picture; larger tensors are
#: subsampled with a stride, so that a page stays small (LeNet-5's is about 0.5 MB).
TILE_SIDE = 48
MATRIX_SIDE = 128
MAX_TILES = 64

_HERE = Path(__file__).parent


# --------------------------------------------------------------------------- pictures


def _strides(shape: tuple[int, ...], side: int) -> tuple[int, int]:
    """The smallest row and column strides that fit a (h, w) tile into ``side`` pixels."""
    return max(1, math.ceil(shape[-2] / side)), max(1, math.ceil(shape[-1] / side))


def _tiles(a: np.ndarray) -> tuple[np.ndarray, int, str]:
    """``(tiles (T, h, w), columns of the grid, caption)`` for an array of any rank >= 1."""
    notes = []
    lead = 0
    while a.ndim > 1 and a.shape[0] == 1:
        a, lead = a[0], lead + 1
    if lead:
        notes.append(
            "the leading axis of size 1 left out"
            if lead == 1
            else f"{lead} leading axes of size 1 left out"
        )
    if a.ndim == 1:
        n = a.size
        width = n if n <= MATRIX_SIDE else math.ceil(math.sqrt(n))
        rows = math.ceil(n / width)
        flat = np.full(rows * width, np.nan)
        flat[:n] = a
        if rows > 1:
            notes.append(f"{n} values wrapped into rows of {width}")
        tiles, cols = flat.reshape(1, rows, width), 1
    elif a.ndim == 2:
        tiles, cols = a[None], 1
    else:
        if a.ndim > 4:
            a = a.reshape(-1, *a.shape[-3:])
        if a.ndim == 4:
            cols = a.shape[1] if 1 < a.shape[1] <= 16 else min(a.shape[0], 8)
            what = f"{a.shape[0]}x{a.shape[1]} tiles (rows: axis 0, columns: axis 1)"
            if cols != a.shape[1]:
                what = f"{a.shape[0] * a.shape[1]} tiles (axes 0 and 1 in order)"
            tiles = a.reshape(-1, *a.shape[-2:])
        else:
            cols = min(a.shape[0], 8)
            what = f"{a.shape[0]} tiles (axis 0)"
            tiles = a
        notes.append(what)
        if len(tiles) > MAX_TILES:
            keep = MAX_TILES - MAX_TILES % cols
            notes.append(f"the first {keep} shown")
            tiles = tiles[:keep]
    ky, kx = _strides(tiles.shape, TILE_SIDE if len(tiles) > 1 else MATRIX_SIDE)
    if ky > 1 or kx > 1:
        notes.append(f"every {ky}. row and every {kx}. column shown")
    return tiles[:, ::ky, ::kx], cols, "; ".join(notes)


def _picture(a: np.ndarray) -> dict[str, Any] | None:
    """A compact picture of ``a``: uint8 codes around 0 (127), 255 for NaN, inf and padding."""
    if a.ndim == 0 or a.size == 0:
        return None
    tiles, cols, caption = _tiles(np.asarray(a, dtype=np.float64))
    finite = np.isfinite(tiles)
    scale = float(np.abs(tiles[finite]).max()) if finite.any() else 0.0
    codes = np.full(tiles.shape, 255, dtype=np.uint8)
    if scale > 0:
        codes[finite] = np.rint((tiles[finite] / scale + 1) * 127).astype(np.uint8)
    else:
        codes[finite] = 127
    return {
        "tiles": len(tiles),
        "cols": cols,
        "h": tiles.shape[1],
        "w": tiles.shape[2],
        "scale": scale,
        "caption": caption,
        "data": base64.b64encode(codes.tobytes()).decode("ascii"),
    }


def _stats(a: np.ndarray) -> dict[str, Any]:
    """Shape, dtype and the statistics the page shows; NaN and inf counted, not averaged."""
    out: dict[str, Any] = {"shape": list(a.shape), "dtype": a.dtype.name, "size": int(a.size)}
    x = np.asarray(a, dtype=np.float64)
    finite = np.isfinite(x)
    out["nan"] = int(np.isnan(x).sum())
    out["inf"] = int(x.size - finite.sum() - out["nan"])
    good = x[finite]
    if good.size:
        out.update(
            min=float(good.min()),
            max=float(good.max()),
            mean=float(good.mean()),
            std=float(good.std()),
            norm=float(np.sqrt(np.sum(good * good))),
        )
    if out["nan"] or out["inf"]:
        out["norm"] = math.nan if out["nan"] else math.inf
    return out


def _array_info(a: np.ndarray) -> dict[str, Any]:
    return {"stats": _stats(a), "picture": _picture(a)}


# --------------------------------------------------------------------------- the page data


def _walk(roots: tuple[Tensor, ...]) -> list[BackwardStep]:
    """Run backward from every root under the recorder, one walk each, starting from 1."""
    for i, root in enumerate(roots):
        if root.data.size != 1:
            raise VizError(
                f"explore: root {i} has shape {root.data.shape}; explore runs backward() from "
                "scalars (a loss): reduce it first, e.g. y.sum(), or run backward(grad) "
                "inside minigrad.record_backward() yourself and pass steps="
            )
    with record_backward() as steps:
        for i, root in enumerate(roots):
            try:
                root.backward(retain_graph=i < len(roots) - 1)
            except GraphError as exc:
                raise VizError(
                    f"explore: cannot run backward() on root {i}: {exc}. Call explore(loss, "
                    "path) before loss.backward(), or record the walk yourself (with "
                    "minigrad.record_backward() as steps: loss.backward()) and pass steps="
                ) from exc
    return steps


def _history_series(history: Any) -> dict[str, Any] | None:
    """Per-parameter gradient norms per epoch, from a History or its ``gradients`` list."""
    records = list(getattr(history, "gradients", history) or [])
    names = list(dict.fromkeys(k for r in records for k in r if k != "epoch"))
    if not names:
        return None
    return {
        "epochs": [r.get("epoch") for r in records],
        "series": {n: [r.get(n) for r in records] for n in names},
    }


def _tensor_kind(t: Tensor, roots: tuple[Tensor, ...]) -> str:
    if any(t is r for r in roots):
        return "root"
    if t.grad_fn is not None:
        return "computed"
    if t.requires_grad:
        return "parameter" if (type(t) is not Tensor or t.name) else "leaf"
    return "input"


def _page_data(
    graph: _Graph, steps: Sequence[BackwardStep], history: Any, title: str
) -> dict[str, Any]:
    op_id = {node: f"op{i}" for i, node in enumerate(graph.ops)}
    tensor_id = {id(t): f"t{i}" for i, t in enumerate(graph.tensors)}
    # What each node's VJP received: one step per walk through it (several roots, several walks).
    received_by: dict[Node, np.ndarray] = {}
    step_number: dict[Node, int] = {}
    for k, step in enumerate(steps):
        step_number.setdefault(step.node, k)
        seen = received_by.get(step.node)
        received_by[step.node] = step.grad if seen is None else seen + step.grad

    # What the walk sent to each tensor, in order: a tensor used twice receives twice.
    arrivals: dict[str, list[dict[str, Any]]] = {}
    step_list = []
    for k, step in enumerate(steps):
        if step.node not in op_id:
            raise VizError(
                f"explore: step {k} ran {step.node.name}, which is not in the graph of the "
                "roots given; pass the steps recorded for this graph's backward()"
            )
        names = _argnames(step.node)
        sent = []
        for i, (parent, g) in enumerate(zip(step.node.parents, step.input_grads, strict=True)):
            if g is None:
                continue
            tid = tensor_id[id(parent)]
            arrivals.setdefault(tid, []).append({"step": k, "arg": names[i], "grad": g})
            sent.append(
                {
                    "arg": names[i],
                    "tensor": tid,
                    "edge": f"{tid}->{op_id[step.node]}",
                    "stats": _stats(g),
                    "arrival": len(arrivals[tid]),
                }
            )
        step_list.append(
            {"op": op_id[step.node], "grad": _stats(step.grad), "sent": sent, "total": {}}
        )
    # The number of arrivals at each tensor; the step at which each tensor is complete.
    for tid, items in arrivals.items():
        for item in items:
            for s in step_list[item["step"]]["sent"]:
                if s["tensor"] == tid:
                    s["of"] = len(items)

    tensors: dict[str, Any] = {}
    roots = graph.roots
    for t in graph.tensors:
        tid = tensor_id[id(t)]
        received = arrivals.get(tid, [])
        if t.grad_fn is not None and t.grad_fn in received_by:
            grad: np.ndarray | None = received_by[t.grad_fn]
        elif received:
            grad = received[0]["grad"]
            for item in received[1:]:
                grad = grad + item["grad"]
        else:
            grad = None
        tensors[tid] = {
            "name": t.name or "",
            "kind": _tensor_kind(t, roots),
            "requires_grad": t.requires_grad,
            "value": _array_info(t.data),
            "grad": None if grad is None else _array_info(np.asarray(grad)),
            "producer": op_id.get(t.grad_fn) if t.grad_fn is not None else None,
            "consumers": [op_id[n] for n in graph.consumers[id(t)]],
            "received": [
                {
                    "step": r["step"],
                    "arg": r["arg"],
                    "op": step_list[r["step"]]["op"],
                    "stats": _stats(r["grad"]),
                }
                for r in received
            ],
        }
        if len(received) > 1 and grad is not None:
            step_list[received[-1]["step"]]["total"][tid] = _stats(np.asarray(grad))

    ops: dict[str, Any] = {}
    for node in graph.ops:
        names = _argnames(node)
        ops[op_id[node]] = {
            "name": node.op.name,
            "cls": node.op.__name__,
            "attrs": {k: _attr(v) for k, v in node.attrs.items()},
            "doc": inspect.cleandoc(node.op.__doc__ or "").replace("``", ""),
            "scope": ".".join(node.scope),
            "inputs": [
                {
                    "arg": names[i],
                    "tensor": tensor_id[id(p)],
                    "needs_grad": node.needs_input_grad[i],
                }
                for i, p in enumerate(node.parents)
            ],
            "output": tensor_id[id(graph.output[node])],
            "step": step_number.get(node),
        }
    return {
        "title": title,
        "tensors": tensors,
        "ops": ops,
        "steps": step_list,
        "history": _history_series(history),
    }


# --------------------------------------------------------------------------- the file


def _svg(roots: tuple[Tensor, ...], model: Any) -> str:
    dot = to_dot(roots, model=model)
    try:
        svg = dot.pipe(format="svg").decode("utf-8")
    except graphviz.ExecutableNotFound as exc:
        raise GraphvizNotFoundError(
            f"explore: the Graphviz 'dot' program was not found on PATH; {_INSTALL}; then run "
            "this again"
        ) from exc
    return svg[svg.index("<svg") :]


def _json(data: Any) -> str:
    """JSON that is safe inside a ``<script>`` element (no ``</script>`` can end it early)."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False, default=_nonfinite)
    return text.replace("<", "\\u003c")


def _nonfinite(value: Any) -> Any:  # pragma: no cover - json calls it for unknown types only
    raise TypeError(f"cannot put {type(value).__name__} on the page")


def _clean(value: Any) -> Any:
    """NaN and inf as the strings "NaN", "inf", "-inf" (JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def explore(
    roots: Tensor | Sequence[Tensor],
    path: str | Path,
    *,
    steps: Sequence[BackwardStep] | None = None,
    model: Any = None,
    history: Any = None,
    title: str | None = None,
) -> Path:
    """Write a self-contained HTML page to explore the graph and the backward pass of ``roots``.

    Args:
        roots: the loss (or several scalar tensors), *before* ``backward()``: the page runs
            ``backward()`` itself under :func:`minigrad.record_backward`, and every leaf's
            ``.grad`` is filled as usual.
        path: the ``.html`` file to write.
        steps: the steps of a walk you recorded yourself (``with record_backward() as steps:
            loss.backward()``); then nothing is run again.
        model: the module that made the graph, to label its clusters (as :func:`to_dot`).
        history: the gradient norms of a training run (a ``History``, whose ``gradients``
            :func:`~minigrad.train.fit` records, or that list): each parameter's panel
            shows its norm per epoch.
        title: the page title (default: "minigrad: explore the backward pass").

    Returns:
        The path written.

    Raises:
        VizError: ``roots`` has no graph, or its graph was already walked without
            ``retain_graph=True`` (explore before ``backward()``, or pass ``steps=``).
        GraphvizNotFoundError: the ``dot`` program is missing.

    >>> import minigrad, numpy as np
    >>> from minigrad import viz
    >>> x = minigrad.Tensor(np.array([1.0, 2.0]), requires_grad=True, name="x")
    >>> viz.explore(((x * x).sum()), "page.html")     # doctest: +SKIP
    PosixPath('page.html')
    """
    root_tensors = _as_roots(roots, "explore")
    graph = _collect(root_tensors)
    svg = _svg(root_tensors, model)
    if steps is None:
        steps = _walk(root_tensors)
    title = title or "minigrad: explore the backward pass"
    data = _clean(_page_data(graph, list(steps), history, title))
    parts = {
        "title": html.escape(title),
        "style": (_HERE / "page.css").read_text(encoding="utf-8"),
        "svg": svg,
        "data": _json(data),
        "script": (_HERE / "page.js").read_text(encoding="utf-8"),
    }
    # One pass, so that nothing inserted (a tensor's name, say) is itself substituted.
    template = (_HERE / "page.html").read_text(encoding="utf-8")
    page = re.sub(r"\{\{(\w+)\}\}", lambda m: parts[m.group(1)], template)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
