"""Draw the graph that backpropagation walks, with Graphviz.

:func:`to_dot` reads the graph the engine recorded behind one or more tensors (usually the
loss) and returns a :class:`graphviz.Digraph`; :func:`render` writes it to an SVG, PNG or PDF
file. Building the graph needs only the ``graphviz`` Python package; rendering needs the
Graphviz ``dot`` program. The renderer only reads the graph: it never changes it.

What the picture shows:

* **op nodes** (rounded, orange): the op's name (``conv2d``, ``linear``) and its attributes
  (``stride``, ``padding``, ``axis``, ``shape``); when an op takes several inputs, each edge
  into it is labelled with the argument it feeds (``x``, ``w``, ``b``);
* **tensor nodes** (boxes): the name (a parameter is named by its dotted module path, such as
  ``features.0.weight``), the shape and the dtype. Parameters are green, other inputs grey,
  the tensors ops computed white; the root (the tensor you passed) has a double border;
* **module clusters**: what each module's call created is grouped in a labelled box (see
  :func:`minigrad.name_scope`); ``depth=N`` draws N levels of modules as boxes and each module
  below them as one node that lists its ops and parameters, so a large model stays readable;
* ``values=True``: the minimum, mean and maximum of every tensor (the value of a scalar);
* ``grads=True`` (after ``backward()``): each tensor's gradient norm ``||dL/dt||``, coloured on
  a log scale from pale (small) to dark blue (large), with a legend. A gradient that is
  exactly zero is white; a gradient holding NaN or inf is red, bold and says so.
* ``view="backward"``: the graph backward walks. Each node is an op's VJP (``conv2d.backward``)
  and each edge carries a gradient ``dL/d(input)``, labelled with the argument and its shape,
  from the loss down to the parameters whose ``.grad`` it fills. Where a computed tensor was
  read by several ops (a skip connection), the gradients coming back along each path meet in
  a ``+`` node and go on as their sum: gradient accumulation, drawn (a leaf used twice
  receives both edges, and the sum in its ``.grad``). With
  ``grads=True`` each VJP shows the norm of the gradient it received.

After ``backward()`` only leaves (tensors you created with ``requires_grad=True``) keep a
``.grad``. To see the gradient of every intermediate tensor too, call :func:`retain_grads` on
the loss *before* ``backward()``.

The output is deterministic: node ids follow the order of the graph (``t0``, ``op0``, ...),
never memory addresses, so the same graph always gives the same DOT text.

In a Jupyter notebook the returned :class:`graphviz.Digraph` displays inline: make it the last
expression of a cell.

>>> import minigrad, numpy as np
>>> from minigrad import viz
>>> w = minigrad.Tensor(np.ones((2, 3)), requires_grad=True, name="w")
>>> loss = (w * w).sum()
>>> dot = viz.to_dot(loss)           # w enters mul twice: as a and as b
>>> [line.strip() for line in dot.source.splitlines() if "->" in line]
['t0 -> op0 [label=a]', 't0 -> op0 [label=b]', 'op0 -> t1', 't1 -> op1', 'op1 -> t2']
>>> viz.render(loss, "graph.svg")    # doctest: +SKIP
PosixPath('graph.svg')
"""

from __future__ import annotations

import html
import inspect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphviz
import numpy as np

from minigrad.arguments import choice, integer
from minigrad.engine import Node, graph_nodes
from minigrad.errors import ArgumentError, GraphvizNotFoundError, VizError
from minigrad.tensor import Tensor

__all__ = ["FORMATS", "render", "retain_grads", "to_dot"]

#: The file formats :func:`render` writes; ``dot`` (or ``gv``) is the DOT source itself.
FORMATS = ("svg", "png", "pdf", "dot", "gv")

Scope = tuple[str, ...]

# A sequential palette (ColorBrewer "Blues"): pale for small gradient norms, dark for large.
# Red is kept out of it so that NaN and inf stand out.
_SCALE = ("#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#084594")
_DARK_FROM = 5  # palette entries from here on take white text
_NAN = "#d62728"
_OP_FILL = "#fde8c8"
_GROUP_FILL = "#fff5e6"
_VJP_FILL = "#dce9f7"
_PARAM_FILL = "#dff0d8"
_INPUT_FILL = "#eeeeee"
_GRAD_EDGE = "#1f5fa8"
_INSTALL = (
    "install Graphviz with your package manager: 'sudo apt-get install graphviz' "
    "(Debian/Ubuntu), 'brew install graphviz' (macOS), 'sudo dnf install graphviz' (Fedora) "
    "or 'choco install graphviz' (Windows)"
)


# --------------------------------------------------------------------------- the graph


@dataclass
class _Graph:
    """The recorded graph behind ``roots``, in a fixed order (ops forward, inputs first)."""

    roots: tuple[Tensor, ...]
    ops: list[Node] = field(default_factory=list)
    tensors: list[Tensor] = field(default_factory=list)
    output: dict[Node, Tensor] = field(default_factory=dict)
    consumers: dict[int, list[Node]] = field(default_factory=dict)  # id(tensor) -> ops


def _as_roots(roots: Any, where: str = "to_dot") -> tuple[Tensor, ...]:
    """``roots`` as a tuple of tensors that recorded a graph, or a VizError saying what to pass."""
    if isinstance(roots, Tensor):
        items: tuple[Any, ...] = (roots,)
    elif isinstance(roots, np.ndarray):
        raise VizError(
            f"{where}: got a NumPy array, which records no graph; pass the Tensor a minigrad "
            "computation returned (e.g. the loss), computed from tensors created with "
            "requires_grad=True"
        )
    elif callable(getattr(roots, "named_parameters", None)):
        raise VizError(
            f"{where}: got a module ({type(roots).__name__}); the graph exists only once it "
            "has run: call it on an input and pass the output (or the loss), "
            f"e.g. {where}(model(x))"
        )
    elif isinstance(roots, (list, tuple)):
        items = tuple(roots)
        if not items:
            raise VizError(f"{where}: got an empty sequence; pass a tensor or a list of tensors")
        for i, item in enumerate(items):
            if not isinstance(item, Tensor):
                raise VizError(
                    f"{where}: item {i} of the sequence is of type {type(item).__name__}, not "
                    "a Tensor; pass a tensor or a list of tensors (the outputs of a computation)"
                )
    else:
        raise VizError(
            f"{where}: expected a Tensor or a sequence of tensors, got {type(roots).__name__}"
        )
    for t in items:
        if t.grad_fn is None:
            what = f"tensor {t.name!r}" if t.name else f"the tensor of shape {t.shape}"
            if t.requires_grad:
                raise VizError(
                    f"{where}: {what} is a leaf (you created it; no op made it), so there is "
                    "no graph behind it; pass a tensor computed from it, e.g. the loss"
                )
            raise VizError(
                f"{where}: {what} recorded no graph; create the inputs with "
                "requires_grad=True (a model's parameters have it) and compute outside "
                "no_grad()"
            )
    return items


def _collect(roots: tuple[Tensor, ...]) -> _Graph:
    graph = _Graph(roots)
    seen_ops: set[Node] = set()
    for root in roots:
        # graph_nodes lists outputs first; reversed, each op comes after the ops it reads.
        for node in reversed(graph_nodes(root)):
            if node not in seen_ops:
                seen_ops.add(node)
                graph.ops.append(node)
        graph.output[root.grad_fn] = root
    seen: set[int] = set()

    def add(t: Tensor) -> None:
        if id(t) not in seen:
            seen.add(id(t))
            graph.tensors.append(t)
            graph.consumers[id(t)] = []

    for node in graph.ops:
        for p in node.parents:
            if p.grad_fn is not None:
                graph.output[p.grad_fn] = p
    for node in graph.ops:
        for p in node.parents:
            add(p)
            if node not in graph.consumers[id(p)]:
                graph.consumers[id(p)].append(node)
        add(graph.output[node])
    return graph


def retain_grads(roots: Tensor | Sequence[Tensor]) -> None:
    """Ask every tensor an op computed in the graph of ``roots`` to keep its ``.grad``.

    Call it *before* ``backward()``: afterwards every intermediate tensor (each layer's
    output, the logits, the loss itself) holds dL/d(tensor) in ``.grad``, as leaves do, and
    ``to_dot(..., grads=True)`` can colour the whole graph, not only the parameters.

    >>> import minigrad, numpy as np
    >>> from minigrad import viz
    >>> w = minigrad.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    >>> h = w * 3
    >>> loss = h.sum()
    >>> viz.retain_grads(loss)
    >>> loss.backward()
    >>> h.grad
    array([1., 1.])
    """
    graph = _collect(_as_roots(roots, "retain_grads"))
    for t in graph.tensors:
        if t.grad_fn is not None:
            t.retain_grad()


# --------------------------------------------------------------------------- labels


def _e(text: object) -> str:
    return html.escape(str(text), quote=False)


def _num(x: float) -> str:
    return f"{x + 0.0:.3g}"  # + 0.0 turns -0.0 into 0.0


def _shape(t: Tensor) -> str:
    return "scalar" if t.data.ndim == 0 else str(tuple(t.data.shape))


def _attr(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value).name
    if isinstance(value, np.generic):
        return repr(value.item())
    return repr(value)


def _small(text: str) -> str:
    return f'<font point-size="9">{text}</font>'


def _argnames(node: Node) -> list[str]:
    """The names of the op's array arguments (``x``, ``w``, ``b``), for the edge labels."""
    try:
        params = list(inspect.signature(node.op.forward).parameters.values())[1:]
    except (TypeError, ValueError):  # pragma: no cover - a builtin or odd callable
        params = []
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(names) < len(node.parents) or any(p.kind == p.VAR_POSITIONAL for p in params):
        return [str(i) for i in range(len(node.parents))]
    return names[: len(node.parents)]


def _stats(t: Tensor) -> str:
    """The value of a one-element tensor, else min, mean and max; HTML, NaN and inf in red."""
    a = t.data
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        bad = int(np.size(a) - np.isfinite(a).sum())
        what = "NaN" if np.isnan(a).any() else "inf"
        return f'<font color="{_NAN}"><b>{bad} of {a.size} values are {what}!</b></font>'
    if a.size == 1:
        return _e(f"value {_num(float(a.reshape(-1)[0]))}")
    if a.size == 0:
        return "empty"
    a = a.astype(np.float64, copy=False)
    return _e(f"min {_num(a.min())} · mean {_num(a.mean())} · max {_num(a.max())}")


@dataclass
class _GradInfo:
    """A gradient as drawn: its norm, or what is wrong with it."""

    norm: float
    bad: str = ""  # "NaN" or "inf" when the gradient holds one

    @classmethod
    def of(cls, grad: np.ndarray | None) -> _GradInfo | None:
        if grad is None:
            return None
        g = np.asarray(grad, dtype=np.float64)
        if np.isnan(g).any():
            return cls(math.nan, "NaN")
        if not np.isfinite(g).all():
            return cls(math.inf, "inf")
        return cls(float(np.sqrt(np.sum(g * g))))

    def text(self) -> str:
        if self.bad:
            return f"<b>grad has {self.bad}!</b>"
        return f"‖grad‖ {_num(self.norm)}"


class _Colours:
    """The log-scale colour of a gradient norm, between the smallest and largest in the graph."""

    def __init__(self, infos: Iterable[_GradInfo]) -> None:
        logs = [math.log10(i.norm) for i in infos if not i.bad and i.norm > 0]
        self.lo, self.hi = (min(logs), max(logs)) if logs else (0.0, 0.0)
        self.any = bool(logs)

    def fill(self, info: _GradInfo) -> tuple[str, str]:
        """``(fill colour, font colour)`` for a gradient."""
        if info.bad:
            return _NAN, "white"
        if info.norm == 0:
            return "white", "black"
        span = self.hi - self.lo
        pos = 0.5 if span == 0 else (math.log10(info.norm) - self.lo) / span
        index = round(pos * (len(_SCALE) - 1))
        return _SCALE[index], "white" if index >= _DARK_FROM else "black"

    def legend(self, note: str) -> str:
        low, high = (_num(10**self.lo), _num(10**self.hi)) if self.any else ("-", "-")
        cells = "".join(f'<td bgcolor="{c}" width="16"> </td>' for c in _SCALE)
        n = len(_SCALE) + 2
        rows = [
            f'<tr><td colspan="{n}"><b>‖grad‖, log scale</b></td></tr>',
            f'<tr><td align="right">{low}</td>{cells}<td align="left">{high}</td></tr>',
            f'<tr><td colspan="2" bgcolor="white">0</td>'
            f'<td colspan="{n - 2}" bgcolor="{_NAN}"><font color="white"><b>NaN / inf</b>'
            "</font></td></tr>",
        ]
        if note:
            rows.append(f'<tr><td colspan="{n}">{_small(_e(note))}</td></tr>')
        return (
            '<<table border="0" cellborder="1" cellspacing="0" cellpadding="3">'
            + "".join(rows)
            + "</table>>"
        )


# --------------------------------------------------------------------------- the drawing


@dataclass
class _Item:
    """One DOT node: where it sits (cluster path), its id, and its attributes."""

    scope: Scope
    id: str
    attrs: dict[str, str]


class _Drawing:
    """Turns a :class:`_Graph` into DOT statements under the chosen options."""

    def __init__(
        self,
        graph: _Graph,
        view: str,
        depth: int | None,
        grads: bool,
        values: bool,
        model: Any,
    ) -> None:
        self.g, self.view, self.depth = graph, view, depth
        self.grads, self.values = grads, values
        self.items: list[_Item] = []
        # Keyed by (source, target, label): x + x draws two edges, a collapsed module one.
        self.edges: dict[tuple[str, str, str], dict[str, str]] = {}
        self.module_labels = _module_labels(model)
        # Units: each op is drawn alone, or inside the collapsed module (scope) it belongs to.
        self.unit: dict[Node, str] = {}
        self.unit_scope: dict[str, Scope] = {}
        self.group_ops: dict[str, list[Node]] = {}
        groups: dict[Scope, str] = {}
        for i, node in enumerate(graph.ops):
            if depth is not None and len(node.scope) > depth:
                key = node.scope[: depth + 1]
                if key not in groups:
                    groups[key] = f"mod{len(groups)}"
                    self.unit_scope[groups[key]] = key[:-1]
                    self.group_ops[groups[key]] = []
                self.unit[node] = groups[key]
                self.group_ops[groups[key]].append(node)
            else:
                self.unit[node] = f"op{i}"
                self.unit_scope[f"op{i}"] = node.scope
        self.group_key = {uid: key for key, uid in groups.items()}
        self.tid = {id(t): f"t{i}" for i, t in enumerate(graph.tensors)}
        self.roots = {id(r) for r in graph.roots}
        self.colours = _Colours(self._all_grads()) if grads else None

    # ---------------------------------------------------------------- classification

    def _is_parameter(self, t: Tensor) -> bool:
        """A leaf that a module owns: an ``nn.Parameter`` or a named requires-grad leaf."""
        return t.grad_fn is None and t.requires_grad and (type(t) is not Tensor or bool(t.name))

    def _touching(self, t: Tensor) -> list[str]:
        """The units that produce or read ``t``."""
        units = [] if t.grad_fn is None else [self.unit[t.grad_fn]]
        return units + [self.unit[n] for n in self.g.consumers[id(t)]]

    def _hidden(self, t: Tensor) -> bool:
        """Inside one collapsed module and not its business to show (listed or internal)."""
        if id(t) in self.roots:
            return False
        units = set(self._touching(t))
        if len(units) != 1 or next(iter(units)) not in self.group_ops:
            return False
        return t.grad_fn is not None or self._is_parameter(t) or t.data.ndim == 0

    def _place(self, t: Tensor) -> Scope:
        """The cluster a tensor sits in: the deepest one shared by the units it touches."""
        if t.grad_fn is None and not (self._is_parameter(t) or t.data.ndim == 0):
            return ()  # data and labels come from outside every module
        scopes = [self.unit_scope[u] for u in self._touching(t)]
        if id(t) in self.roots:
            scopes.append(())
        common = scopes[0]
        for s in scopes[1:]:
            n = 0
            while n < min(len(common), len(s)) and common[n] == s[n]:
                n += 1
            common = common[:n]
        return common

    def _grad_of(self, t: Tensor) -> _GradInfo | None:
        return _GradInfo.of(t.grad)

    def _all_grads(self) -> list[_GradInfo]:
        infos = [self._grad_of(t) for t in self.g.tensors]
        return [i for i in infos if i is not None]

    # ---------------------------------------------------------------- nodes

    def _add(self, scope: Scope, nid: str, **attrs: str) -> None:
        self.items.append(_Item(scope, nid, attrs))

    def _edge(self, src: str, dst: str, **attrs: str) -> None:
        self.edges.setdefault((src, dst, attrs.get("label", "")), attrs)

    def _colour(self, attrs: dict[str, str], info: _GradInfo | None) -> None:
        """Fill a node by its gradient norm; a NaN or inf gradient also gets a thick red border."""
        if self.colours is None or info is None:
            return
        fill, font = self.colours.fill(info)
        style = attrs.get("style", "")
        if "filled" not in style:
            style = f"{style},filled" if style else "filled"
        attrs.update(style=style, fillcolor=fill, fontcolor=font)
        if info.bad:
            attrs.update(color=_NAN, penwidth="3")

    def _tensor_lines(self, t: Tensor) -> list[str]:
        lines = []
        if t.name:
            lines.append(f"<b>{_e(t.name)}</b>")
        lines.append(f"{_shape(t)} {t.data.dtype.name}")
        if self.values:
            lines.append(_small(_stats(t)))
        if self.grads:
            info = self._grad_of(t)
            if info is not None:
                lines.append(info.text())
        return lines

    def _tensor_node(self, t: Tensor) -> None:
        attrs = {"shape": "box", "label": "<" + "<br/>".join(self._tensor_lines(t)) + ">"}
        if self._is_parameter(t):
            attrs.update(style="filled", fillcolor=_PARAM_FILL)
        elif t.grad_fn is None:
            attrs.update(style="filled", fillcolor=_INPUT_FILL)
        if id(t) in self.roots:
            attrs["peripheries"] = "2"
        if self.grads:
            self._colour(attrs, self._grad_of(t))
        self._add(self._place(t), self.tid[id(t)], **attrs)

    def _op_label(self, node: Node) -> str:
        name = f"{node.op.name}.backward" if self.view == "backward" else node.op.name
        lines = [f"<b>{_e(name)}</b>"]
        if node.attrs:
            lines.append(_small(_e(" ".join(f"{k}={_attr(v)}" for k, v in node.attrs.items()))))
        if self.view == "backward" and self.grads:
            info = self._grad_of(self.g.output[node])
            if info is not None:
                lines.append("in: " + info.text())
        return "<" + "<br/>".join(lines) + ">"

    def _op_node(self, node: Node) -> None:
        fill = _VJP_FILL if self.view == "backward" else _OP_FILL
        attrs = {"shape": "box", "style": "rounded,filled", "fillcolor": fill}
        attrs["label"] = self._op_label(node)
        if self.view == "backward" and self.grads:
            self._colour(attrs, self._grad_of(self.g.output[node]))
        self._add(node.scope, self.unit[node], **attrs)

    def _group_node(self, uid: str) -> None:
        """One node for a collapsed module: its name, its ops and the parameters it owns."""
        key, ops = self.group_key[uid], self.group_ops[uid]
        title = self.module_labels.get(key, ".".join(key))
        names: list[str] = []
        for n in ops:
            if n.op.name not in names:
                names.append(n.op.name)
        suffix = ".backward" if self.view == "backward" else ""
        ops_text = ", ".join(n + suffix for n in names)
        if len(ops) > 1:
            ops_text = f"{len(ops)} ops: {ops_text}"
        rows = [
            f"<tr><td><b>{_e(title)}</b></td></tr>",
            f"<tr><td>{_small(_e(ops_text))}</td></tr>",
        ]
        bad = False
        if self.view == "backward" and self.grads:
            # The gradient the module's VJPs received: dL/d(each output used outside it).
            for node in ops:
                out = self.g.output[node]
                if not self._hidden(out) and out.grad is not None:
                    row, info = self._grad_row("in:", out, sep=" ")
                    rows.append(row)
                    bad = bad or bool(info and info.bad)
        for t in self.g.tensors:
            if self._is_parameter(t) and self._hidden(t) and self._touching(t)[0] == uid:
                row, info = self._grad_row(f"{_e(t.name or 'parameter')} {_shape(t)}", t)
                rows.append(row)
                bad = bad or bool(info and info.bad)
        attrs = {
            "shape": "box3d",
            "style": "filled",
            "fillcolor": _VJP_FILL if self.view == "backward" else _GROUP_FILL,
            "label": '<<table border="0" cellborder="0" cellspacing="0" cellpadding="1">'
            + "".join(rows)
            + "</table>>",
        }
        if bad:
            attrs.update(color=_NAN, penwidth="3")
        self._add(self.unit_scope[uid], uid, **attrs)

    def _grad_row(self, text: str, t: Tensor, sep: str = " · ") -> tuple[str, _GradInfo | None]:
        """A table row ``text · ||grad||``, filled with the gradient's colour, when grads are on."""
        info = self._grad_of(t) if self.colours is not None else None
        if self.colours is None or info is None:
            return f"<tr><td>{_small(text)}</td></tr>", None
        fill, font = self.colours.fill(info)
        body = f'<font color="{font}">{text}{sep}{info.text()}</font>'
        return f'<tr><td bgcolor="{fill}">{_small(body)}</td></tr>', info

    def _unit_nodes(self) -> None:
        """One node per unit, in the order of the graph: a lone op or a collapsed module."""
        for node in self.g.ops:
            uid = self.unit[node]
            if uid not in self.group_ops:
                self._op_node(node)
            elif self.group_ops[uid][0] is node:
                self._group_node(uid)

    # ---------------------------------------------------------------- views

    def forward(self) -> None:
        self._unit_nodes()
        for t in self.g.tensors:
            if not self._hidden(t):
                self._tensor_node(t)
        for node in self.g.ops:
            uid, names = self.unit[node], _argnames(node)
            for i, p in enumerate(node.parents):
                if self._hidden(p) or (p.grad_fn is not None and self.unit[p.grad_fn] == uid):
                    continue
                if uid in self.group_ops or len(node.parents) < 2:
                    self._edge(self.tid[id(p)], uid)
                else:
                    self._edge(self.tid[id(p)], uid, label=names[i])
            out = self.g.output[node]
            if not self._hidden(out):
                self._edge(uid, self.tid[id(out)])

    def backward(self) -> None:
        for k, root in enumerate(self.g.roots):
            # backward() starts from dL/dL = 1 (or the grad= passed for a non-scalar root).
            if root.data.size == 1:
                seed = f"dL/d{root.name or 'L'} = 1"
            else:
                seed = f"grad of shape {_shape(root)}"
            label = f"<<b>backward()</b><br/>{_e(seed)}>"
            self._add((), f"seed{k}", shape="oval", label=label)
            self._edge(f"seed{k}", self.unit[root.grad_fn], label=_shape(root), color=_GRAD_EDGE)
        self._unit_nodes()
        for t in self.g.tensors:
            if self._is_leaf_with_grad(t) and not self._hidden(t):
                self._tensor_node(t)
        # Every gradient edge, grouped by the tensor it is the gradient of.
        into: dict[int, list[tuple[str, str, str]]] = {}
        for node in self.g.ops:
            uid, names = self.unit[node], _argnames(node)
            for i, p in enumerate(node.parents):
                if not node.needs_input_grad[i]:
                    continue
                if p.grad_fn is None:
                    if self._hidden(p):
                        continue
                    dst = self.tid[id(p)]
                else:
                    dst = self.unit[p.grad_fn]
                    if dst == uid:
                        continue
                what = "" if uid in self.group_ops else f"dL/d{names[i]} "
                into.setdefault(id(p), []).append((uid, dst, what + _shape(p)))
        tensors = {id(t): t for t in self.g.tensors}
        for k, (tid, edges) in enumerate(into.items()):
            if tensors[tid].grad_fn is None or len({src for src, _, _ in edges}) < 2:
                for src, dst, label in edges:
                    self._edge(src, dst, label=label, color=_GRAD_EDGE)
                continue
            # A computed tensor read by several ops (a skip connection): the gradients coming
            # back along each path meet here and are summed before going on (gradient
            # accumulation). A leaf's box already receives the sum in its .grad.
            acc = f"acc{k}"
            t = tensors[tid]
            self._add(
                self._place(t),
                acc,
                shape="circle",
                label="+",
                width="0.3",
                fixedsize="true",
                tooltip=f"the {len(edges)} gradients of this {_shape(t)} tensor are summed",
                color=_GRAD_EDGE,
            )
            for src, _, label in edges:
                self._edge(src, acc, label=label, color=_GRAD_EDGE)
            self._edge(acc, edges[0][1], label="sum " + _shape(t), color=_GRAD_EDGE)

    def _is_leaf_with_grad(self, t: Tensor) -> bool:
        return t.grad_fn is None and t.requires_grad

    # ---------------------------------------------------------------- output

    def digraph(self, rankdir: str) -> graphviz.Digraph:
        dot = graphviz.Digraph("minigrad", comment=None)
        font = "Helvetica"
        dot.attr(rankdir=rankdir, fontname=font, fontsize="11", nodesep="0.25", ranksep="0.35")
        dot.attr("node", fontname=font, fontsize="11", margin="0.08,0.04", height="0.3")
        dot.attr("edge", fontname=font, fontsize="9", arrowsize="0.7")
        if self.colours is not None:
            note = ""
            if not self._all_grads():
                note = "no gradients yet: call backward() first"
            elif any(t.grad_fn is not None and t.grad is None for t in self.g.tensors):
                note = (
                    "boxes without a norm: intermediate gradients were not kept; call "
                    "viz.retain_grads(loss) before backward()"
                )
            dot.node("legend", label=self.colours.legend(note), shape="plaintext")
        self._emit(dot, (), self._cluster_tree())
        for (src, dst, _), attrs in self.edges.items():
            dot.edge(src, dst, **attrs)
        return dot

    def _cluster_tree(self) -> list[Scope]:
        """Every cluster path, in order of first appearance, parents before children."""
        paths: list[Scope] = []
        for item in self.items:
            for n in range(1, len(item.scope) + 1):
                if item.scope[:n] not in paths:
                    paths.append(item.scope[:n])
        return paths

    def _emit(self, dot: graphviz.Digraph, scope: Scope, paths: list[Scope]) -> None:
        for item in self.items:
            if item.scope == scope:
                dot.node(item.id, **item.attrs)
        for path in paths:
            if len(path) == len(scope) + 1 and path[: len(scope)] == scope:
                label = self.module_labels.get(path, path[-1])
                with dot.subgraph(name=f"cluster_{paths.index(path)}") as sub:
                    sub.attr(
                        label=label,
                        labeljust="l",
                        style="rounded,dashed",
                        color="#888888",
                        fontcolor="#444444",
                    )
                    self._emit(sub, path, paths)


def _module_labels(model: Any) -> dict[Scope, str]:
    """Cluster labels from a model: scope path -> ``"0: Conv2d(...)"``; empty without one."""
    if model is None:
        return {}
    if not callable(getattr(model, "named_modules", None)):
        raise VizError(
            f"to_dot: model= must be the Module whose call made the graph, got "
            f"{type(model).__name__}"
        )
    root = getattr(model, "_scope_name", type(model).__name__)
    labels: dict[Scope, str] = {}
    for path, module in model.named_modules():
        scope = (root, *path.split(".")) if path else (root,)
        kind = type(module).__name__
        extra = module.extra_repr() if hasattr(module, "extra_repr") else ""
        described = f"{kind}({extra})" if extra else kind
        labels[scope] = f"{path}: {described}" if path else described
    return labels


# --------------------------------------------------------------------------- public API


def to_dot(
    roots: Tensor | Sequence[Tensor],
    *,
    view: str = "forward",
    depth: int | None = None,
    grads: bool = False,
    values: bool = False,
    model: Any = None,
    rankdir: str = "TB",
) -> graphviz.Digraph:
    """The graph behind ``roots`` as a :class:`graphviz.Digraph` (no ``dot`` program needed).

    Args:
        roots: a tensor (usually the loss) or a sequence of tensors; the graph is everything
            they were computed from.
        view: ``"forward"`` (tensors flow through ops) or ``"backward"`` (gradients flow from
            the loss through each op's VJP to the parameters; edges carry gradient shapes).
        depth: draw this many levels of modules as clusters and each module below them as one
            node (``0``: each top-level module call is one node). ``None`` draws every op.
        grads: show each tensor's gradient norm, coloured on a log scale, NaN/inf in red.
            Call after ``backward()``; use :func:`retain_grads` before it for intermediates.
        values: show each tensor's min, mean and max (the value of a one-element tensor).
        model: the module that made the graph, to label clusters with the module's type and
            arguments (``0: Conv2d(1, 8, kernel_size=3, ...)``) instead of its name alone.
        rankdir: Graphviz layout direction: ``"TB"`` (top to bottom) or ``"LR"``.

    Returns:
        The graph; ``.source`` is the DOT text, ``.render()``/``.pipe()`` run ``dot``, and in
        Jupyter it displays inline as the last expression of a cell.

    Raises:
        VizError: ``roots`` is not a tensor with a graph (a module, an array, a list holding
            something else, a leaf, or a tensor computed without gradients).
        ArgumentError: an option out of range (``view``, ``depth``, ``rankdir``).

    >>> import minigrad, numpy as np
    >>> from minigrad import viz
    >>> x = minigrad.Tensor(np.ones((1, 3)), requires_grad=True, name="x")
    >>> dot = viz.to_dot(x.relu().sum())
    >>> [line.strip() for line in dot.source.splitlines() if "->" in line]
    ['t0 -> op0', 'op0 -> t1', 't1 -> op1', 'op1 -> t2']
    >>> dot.render("graph", format="svg")  # doctest: +SKIP
    """
    choice("to_dot", "view", view, ("forward", "backward"))
    if depth is not None:
        depth = integer("to_dot", "depth", depth, 0)
    choice("to_dot", "rankdir", rankdir, ("TB", "LR", "BT", "RL"))
    graph = _collect(_as_roots(roots))
    drawing = _Drawing(graph, view, depth, grads, values, model)
    if view == "forward":
        drawing.forward()
    else:
        drawing.backward()
    return drawing.digraph(rankdir)


def render(
    roots: Tensor | Sequence[Tensor],
    path: str | Path,
    format: str | None = None,
    **options: Any,
) -> Path:
    """Draw the graph behind ``roots`` into the file ``path``; return the path.

    Args:
        roots: as for :func:`to_dot`.
        path: the file to write.
        format: ``"svg"``, ``"png"``, ``"pdf"``, or ``"dot"`` for the DOT source alone
            (needs no Graphviz); by default taken from the suffix of ``path``, else SVG.
        **options: passed to :func:`to_dot` (``view``, ``depth``, ``grads``, ...).

    Raises:
        VizError: bad ``roots`` (see :func:`to_dot`).
        ArgumentError: an unknown ``format`` or a bad option.
        GraphvizNotFoundError: the ``dot`` program is missing; the DOT source is then
            written next to ``path`` (same name, suffix ``.dot``) and the message says how to
            install Graphviz.
    """
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".") or "svg").lower()
    if fmt not in FORMATS:
        raise ArgumentError(f"render: format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    dot = to_dot(roots, **options)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt in ("dot", "gv"):
        path.write_text(dot.source)
        return path
    try:
        data = dot.pipe(format=fmt)
    except graphviz.ExecutableNotFound as exc:
        source = path.with_suffix(".dot")
        source.write_text(dot.source)
        raise GraphvizNotFoundError(
            f"render: the Graphviz 'dot' program was not found on PATH; {_INSTALL}; then "
            f"run this again (the DOT source was written to {source})"
        ) from exc
    path.write_bytes(data)
    return path
