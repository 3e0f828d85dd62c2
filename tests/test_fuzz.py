"""Fuzzing: random graphs against finite differences, and malformed inputs to every op.

1. ``test_random_graphs_match_finite_differences`` draws a random program: one to three leaves
   of broadcast-compatible shapes (plus a convolution weight when the inputs are images), then
   up to eight ops, each taking operands from everything computed so far, so tensors are
   reused, broadcast, and several outputs are combined into the result. ``gradcheck`` compares
   every leaf's gradient with central finite differences in float64.
2. ``test_malformed_inputs_raise_only_minigrad_errors`` calls every op with random arguments,
   mostly wrong (NaN, empty, ragged, object, string, complex or bool arrays, floats for ints,
   wrong ranks), and demands that the call either works or raises a documented
   :class:`~minigrad.MinigradError` (never a bare NumPy message or a crash), and that backward
   through whatever worked works too.
3. The file tests write checkpoints, specs and IDX files that are damaged (cut, bit-flipped)
   or that parse but hold hostile values anywhere (wrong types, NaN, infinities, integers of
   thousands of digits, nesting thousands deep, wrong shapes and dtypes, extra or missing
   members, IDX headers of any type, rank and size) and demand the file's own minigrad error,
   and that a failed restore leaves the model and the optimiser as they were.

The number of examples comes from the hypothesis profile (``HYPOTHESIS_PROFILE``: dev, ci, long).
"""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import assume, given, note
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad
import minigrad.nn
from minigrad import MinigradError, Tensor
from minigrad.data import DataLoader

# ----------------------------------------------------------------------------- random graphs

MAX_ABS = 1e3  # intermediate values stay below this, so finite differences stay accurate
MARGIN = 1e-3  # relu inputs and max_pool2d winners stay this far from a kink


@dataclass
class Step:
    op: str
    args: tuple[int, ...]
    attrs: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        attrs = "".join(f", {k}={v!r}" for k, v in self.attrs.items())
        return f"{self.op}{self.args}{attrs}"


def apply_step(step: Step, pool: list[Tensor]) -> Tensor:
    """One op of a program; compound forms keep every op inside its smooth domain."""
    a, *rest = (pool[i] for i in step.args)
    b = rest[0] if rest else None
    op, at = step.op, step.attrs
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if op == "div":
        return a / (b * b + 1.0)
    if op == "neg":
        return -a
    if op == "exp":
        return minigrad.exp(a)
    if op == "log":
        return minigrad.log(a * a + 1.0)
    if op == "pow":
        base = a * a + 1.0 if at["shifted"] else a
        return base ** at["p"]
    if op == "relu":
        return minigrad.relu(a)
    if op == "abs":
        return abs(a)
    if op in ("max", "min"):
        return getattr(a, op)(axis=at["axis"], keepdims=at["keepdims"])
    if op == "getitem":
        return a[at["index"]]
    if op == "sum":
        return a.sum(axis=at["axis"], keepdims=at["keepdims"])
    if op == "mean":
        return a.mean(axis=at["axis"], keepdims=at["keepdims"])
    if op == "reshape":
        return a.reshape(at["shape"])
    if op == "transpose":
        return a.transpose(*at["axes"])
    if op == "softmax":
        return minigrad.softmax(a, axis=at["axis"])
    if op == "log_softmax":
        return minigrad.log_softmax(a, axis=at["axis"])
    if op == "matmul":
        return a @ (b.T if at["transpose"] else b)
    if op == "linear":
        return minigrad.linear(a, b, rest[1] if len(rest) > 1 else None)
    if op == "conv2d":
        return minigrad.conv2d(a, b, stride=at["stride"], padding=at["padding"])
    if op == "max_pool2d":
        return minigrad.max_pool2d(a, 2, stride=at["stride"])
    if op == "cross_entropy":
        return minigrad.cross_entropy(a, at["target"], reduction=at["reduction"])
    if op == "nll_loss":
        return minigrad.nll_loss(minigrad.log_softmax(a), at["target"])
    raise AssertionError(op)


def run(steps: list[Step], outputs: list[tuple[int, float]], leaves: tuple[Tensor, ...]) -> Tensor:
    pool = list(leaves)
    for step in steps:
        pool.append(apply_step(step, pool))
    if len(outputs) == 1:
        return pool[outputs[0][0]]
    total = pool[outputs[0][0]].sum() * outputs[0][1]
    for index, weight in outputs[1:]:
        total = total + pool[index].sum() * weight
    return total


OPS = [
    *("add", "sub", "mul", "div", "neg", "exp", "log", "pow", "relu", "sum", "mean"),
    *("abs", "max", "min", "getitem"),
    *("reshape", "transpose", "softmax", "log_softmax", "matmul", "linear", "conv2d"),
    *("max_pool2d", "cross_entropy", "nll_loss"),
]


def _broadcasts(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    try:
        return int(np.prod(np.broadcast_shapes(a, b))) <= 64
    except ValueError:
        return False


def _draw_step(draw: st.DrawFn, op: str, pool: list[np.ndarray], first: int) -> Step | None:
    """A step applying ``op`` to ``pool[first]``, or None when it does not fit that operand."""
    x = pool[first]
    nd = x.ndim

    def partner(fits: Callable[[np.ndarray], bool]) -> int | None:
        candidates = [i for i, y in enumerate(pool) if fits(y)]
        return draw(st.sampled_from(candidates)) if candidates else None

    if op in ("add", "sub", "mul", "div"):
        j = partner(lambda y: _broadcasts(x.shape, y.shape))
        return None if j is None else Step(op, (first, j))
    if op == "exp":
        return Step(op, (first,)) if np.abs(x).max(initial=0) <= 3 else None
    if op in ("neg", "log"):
        return Step(op, (first,))
    if op == "pow":
        shifted = draw(st.booleans())
        p = draw(st.sampled_from([-1.5, -1, 0.5, 3]) if shifted else st.sampled_from([2, 3]))
        return Step(op, (first,), {"shifted": shifted, "p": p})
    if op == "relu":
        return Step(op, (first,)) if np.abs(x).min(initial=1) > MARGIN else None
    if op == "abs":
        return Step(op, (first,)) if np.abs(x).min(initial=1) > MARGIN else None
    if op in ("max", "min") and nd and x.size:
        axis = draw(st.none() | st.integers(0, nd - 1))
        ordered = np.sort(x, axis=axis)
        if np.any(np.diff(ordered, axis=-1 if axis is None else axis) <= MARGIN):
            return None  # a tie within reach of finite differences: no derivative there
        return Step(op, (first,), {"axis": axis, "keepdims": draw(st.booleans())})
    if op == "getitem" and nd and x.shape[0]:
        size = x.shape[0]
        kind = draw(st.sampled_from(["ints", "slice", "mask"]))
        if kind == "ints":  # repeated and negative indices: a scatter-add in backward
            rows = draw(st.lists(st.integers(-size, size - 1), min_size=1, max_size=4))
            index: Any = np.array(rows)
        elif kind == "slice":
            index = (Ellipsis, slice(draw(st.integers(0, x.shape[-1] - 1)), None))
        else:
            mask = draw(hnp.arrays(np.bool_, (size,)))
            mask[draw(st.integers(0, size - 1))] = True  # never empty
            index = mask
        return Step(op, (first,), {"index": index})
    if op in ("sum", "mean"):
        axis = (
            draw(st.none() | st.lists(st.integers(0, max(nd - 1, 0)), unique=True)) if nd else None
        )
        axis = tuple(axis) if axis else None
        return Step(op, (first,), {"axis": axis, "keepdims": draw(st.booleans())})
    if op == "reshape":
        shape = draw(st.sampled_from([(-1,), (1, *x.shape), tuple(reversed(x.shape))]))
        return Step(op, (first,), {"shape": shape})
    if op == "transpose" and nd:
        return Step(op, (first,), {"axes": tuple(draw(st.permutations(range(nd))))})
    if op in ("softmax", "log_softmax") and nd:
        return Step(op, (first,), {"axis": draw(st.integers(-nd, nd - 1))})
    if op == "matmul" and nd:
        if nd == 2 and draw(st.booleans()):  # x @ x.T: one tensor on both sides
            return Step(op, (first, first), {"transpose": True})
        j = partner(lambda y: y.ndim >= 1 and _matmul_fits(x, y))
        return None if j is None else Step(op, (first, j), {"transpose": False})
    if op == "linear" and nd == 2:
        j = partner(lambda y: y.ndim == 2 and y.shape[1] == x.shape[1])
        k = partner(lambda y: y.shape == (pool[j].shape[0],)) if j is not None else None
        return None if j is None else Step(op, (first, j) if k is None else (first, j, k))
    if op == "conv2d" and nd == 4:
        j = partner(
            lambda y: (
                y.ndim == 4
                and y.shape[1] == x.shape[1]
                and y.shape[2] <= x.shape[2]
                and y.shape[3] <= x.shape[3]
                and y.size <= 16
            )
        )
        attrs = {"stride": draw(st.integers(1, 2)), "padding": draw(st.integers(0, 1))}
        return None if j is None else Step(op, (first, j), attrs)
    if op == "max_pool2d" and nd == 4 and min(x.shape[2:]) >= 2:
        stride = draw(st.integers(1, 2))
        return Step(op, (first,), {"stride": stride}) if _no_ties(x, stride) else None
    if op in ("cross_entropy", "nll_loss") and nd == 2 and x.shape[1] >= 1:
        target = np.array(
            draw(
                st.lists(st.integers(0, x.shape[1] - 1), min_size=x.shape[0], max_size=x.shape[0])
            ),
            dtype=np.int64,
        )
        if op == "cross_entropy" and draw(st.booleans()):  # soft labels
            raw = draw(hnp.arrays(np.float64, x.shape, elements=st.floats(0, 1)))
            target = raw / np.maximum(raw.sum(axis=1, keepdims=True), 1e-3)
        reduction = draw(st.sampled_from(["mean", "sum", "none"]))
        return Step(op, (first,), {"target": target, "reduction": reduction})
    return None


def _matmul_fits(x: np.ndarray, y: np.ndarray) -> bool:
    try:
        return np.matmul(np.zeros(x.shape), np.zeros(y.shape)).size <= 64
    except ValueError:
        return False


def _no_ties(x: np.ndarray, stride: int) -> bool:
    """Every 2x2 window's maximum beats the runner-up by MARGIN (no kink within reach)."""
    n, c, h, w = x.shape
    for i in range(0, h - 1, stride):
        for j in range(0, w - 1, stride):
            window = np.sort(x[:, :, i : i + 2, j : j + 2].reshape(n * c, 4), axis=1)
            if np.any(window[:, 3] - window[:, 2] <= MARGIN):
                return False
    return True


@st.composite
def graphs(draw: st.DrawFn) -> tuple[list[np.ndarray], list[Step], list[tuple[int, float]]]:
    """A random program: leaves, steps and the outputs combined into the result."""
    values = st.floats(0.01, 2) | st.floats(-2, -0.01)  # no kink of relu at a leaf
    images = draw(st.booleans())
    if images:  # NCHW inputs and a convolution weight
        n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
        h, w = draw(st.integers(2, 4)), draw(st.integers(2, 4))
        base: tuple[int, ...] = (n, c, h, w)
        k = draw(st.integers(1, min(h, w, 2)))
        extra = [(draw(st.integers(1, 2)), c, k, k)]
    else:
        matrices = hnp.array_shapes(min_dims=2, max_dims=2, max_side=3)  # for linear and losses
        base = draw(matrices | hnp.array_shapes(min_dims=1, max_dims=3, max_side=3))
        extra = []
    shapes = [base]
    for _ in range(draw(st.integers(0, 2))):  # broadcast-compatible partners
        dims = draw(st.integers(0, len(base)))
        shapes.append(tuple(1 if draw(st.booleans()) else s for s in base[len(base) - dims :]))
    leaves = [draw(hnp.arrays(np.float64, s, elements=values, unique=True)) for s in shapes + extra]

    pool = list(leaves)
    steps: list[Step] = []
    for _ in range(draw(st.integers(1, 8))):
        for _attempt in range(8):  # an op that fits one of the operands computed so far
            op = draw(st.sampled_from(OPS))
            first = draw(st.integers(0, len(pool) - 1))
            step = _draw_step(draw, op, pool, first)
            if step is not None:
                break
        if step is None:
            continue
        with minigrad.no_grad(), np.errstate(all="ignore"):
            value = apply_step(step, [Tensor(p) for p in pool]).data
        if not np.all(np.isfinite(value)) or np.abs(value).max(initial=0) > MAX_ABS:
            continue
        steps.append(step)
        pool.append(value)
    assume(steps)
    last = len(pool) - 1
    others = draw(st.lists(st.integers(len(leaves), last), max_size=2, unique=True))
    weights = st.floats(-2, 2, allow_nan=False).filter(lambda v: abs(v) > 0.1)
    outputs = [(i, draw(weights)) for i in dict.fromkeys([last, *others])]
    return leaves, steps, outputs


@given(graphs())
def test_random_graphs_match_finite_differences(
    graph: tuple[list[np.ndarray], list[Step], list[tuple[int, float]]],
) -> None:
    leaves, steps, outputs = graph
    note(f"leaves: {[x.shape for x in leaves]}; steps: {steps}; outputs: {outputs}")
    inputs = [Tensor(x, requires_grad=True) for x in leaves]

    def program(*ts: Tensor) -> Tensor:
        return run(steps, outputs, ts)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a valid graph never warns
        out = program(*inputs)
    if not out.requires_grad:  # every path from the leaves was cut (e.g. a lone target)
        return
    minigrad.gradcheck(program, inputs, atol=1e-5, rtol=1e-3)


def test_the_graph_fuzzer_finds_a_wrong_gradient() -> None:
    """The fuzzer's oracle is real: a wrong VJP somewhere in a graph is caught."""

    class BadSquare(minigrad.Function):
        @staticmethod
        def forward(ctx: minigrad.Node, x: np.ndarray) -> np.ndarray:
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx: minigrad.Node, grad: np.ndarray) -> tuple[np.ndarray]:
            (x,) = ctx.saved_tensors
            return (grad * x,)  # should be 2 x

    x = Tensor(np.array([[0.5, -1.0], [2.0, 0.3]]), requires_grad=True)
    try:
        minigrad.gradcheck(lambda t: minigrad.log_softmax(BadSquare.apply(t) + t), [x])
    except minigrad.GradcheckError:
        return
    raise AssertionError("gradcheck accepted a wrong VJP")


# ----------------------------------------------------------------------------- malformed inputs

_DTYPES = [
    np.float64,
    np.float32,
    np.float16,
    np.int64,
    np.int8,
    np.uint8,
    np.bool_,
    np.complex64,
    np.str_,
    np.object_,
]


@st.composite
def junk_arrays(draw: st.DrawFn, shape: st.SearchStrategy[tuple[int, ...]] | None = None) -> Any:
    """An array of any dtype and shape (empty ones too), with NaN and inf among floats."""
    dtype = np.dtype(draw(st.sampled_from(_DTYPES)))
    any_shape = hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=4)
    dims = draw(any_shape if shape is None else shape)
    if dtype.kind == "O":
        return np.array(
            [
                *draw(st.lists(st.integers(-3, 3) | st.none() | st.text(max_size=2), max_size=4)),
                None,
            ],
            dtype=object,
        )
    if dtype.kind == "U":
        return np.full(dims, draw(st.text(max_size=3)), dtype=dtype)
    if dtype.kind == "f":
        elements = st.floats(-1e4, 1e4, width=16) | st.sampled_from([np.nan, np.inf, -np.inf])
        return draw(hnp.arrays(dtype, dims, elements=elements))
    return draw(hnp.arrays(dtype, dims))


def plausible(shape: st.SearchStrategy[tuple[int, ...]]) -> st.SearchStrategy[Any]:
    """Mostly float arrays of a nearly right shape, sometimes anything at all."""
    floats = st.floats(-10, 10, allow_nan=False, width=32)
    good = shape.flatmap(lambda s: hnp.arrays(np.float64, s, elements=floats))
    return st.one_of(
        good,
        good.map(lambda a: Tensor(a, requires_grad=True)),
        junk_arrays(),
        junk_arrays(shape),
        _scalars_and_lists(),
    )


def _scalars_and_lists() -> st.SearchStrategy[Any]:
    scalar = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-5, 5),
        st.floats(),
        st.text(max_size=2),
        st.complex_numbers(max_magnitude=2),
    )
    ragged = st.lists(st.lists(st.floats(-1, 1), max_size=3), min_size=1, max_size=3)
    return st.one_of(scalar, ragged, st.just([]), st.just({}))


def small_shapes(min_dims: int = 0, max_dims: int = 4) -> st.SearchStrategy[tuple[int, ...]]:
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=0, max_side=4)


def options() -> st.SearchStrategy[Any]:
    """Values for int options (stride, axis, sizes), right and wrong."""
    return st.one_of(
        st.integers(-3, 4),
        st.tuples(st.integers(-1, 3), st.integers(-1, 3)),
        st.floats(-2, 3),
        st.none(),
        st.text(max_size=2),
        st.booleans(),
        st.lists(st.integers(-2, 3), max_size=4).map(tuple),
        st.just(np.int64(1)),
    )


images, kernels = plausible(small_shapes(3, 5)), plausible(small_shapes(3, 5))
anything = plausible(small_shapes())


def reduction(fn: Callable[..., Tensor]) -> st.SearchStrategy[Callable[[], Any]]:
    """A call of a reduction with any array, axis and keepdims."""
    return st.builds(
        lambda a, x, k: lambda: fn(a, axis=x, keepdims=k), anything, options(), st.booleans()
    )


CALLS: dict[str, st.SearchStrategy[Callable[[], Any]]] = {
    "Tensor": st.builds(lambda d, r: lambda: Tensor(d, requires_grad=r), anything, st.booleans()),
    "add": st.builds(lambda a, b: lambda: minigrad.add(a, b), anything, anything),
    "sub": st.builds(lambda a, b: lambda: minigrad.sub(a, b), anything, anything),
    "mul": st.builds(lambda a, b: lambda: minigrad.mul(a, b), anything, anything),
    "div": st.builds(lambda a, b: lambda: minigrad.div(a, b), anything, anything),
    "neg": st.builds(lambda a: lambda: minigrad.neg(a), anything),
    "exp": st.builds(lambda a: lambda: minigrad.exp(a), anything),
    "log": st.builds(lambda a: lambda: minigrad.log(a), anything),
    "pow": st.builds(lambda a, p: lambda: minigrad.pow(a, p), anything, options() | anything),
    "relu": st.builds(lambda a: lambda: minigrad.relu(a), anything),
    "abs": st.builds(lambda a: lambda: minigrad.abs(a), anything),
    "max": reduction(minigrad.max),
    "min": reduction(minigrad.min),
    "getitem": st.builds(
        lambda a, i: lambda: minigrad.getitem(a, i),
        anything,
        options() | anything | st.just(Ellipsis) | st.tuples(options(), st.just(slice(0.5, 1))),
    ),
    "setitem": st.builds(
        lambda a, i, v: lambda: Tensor._lift(a).__setitem__(i, v), anything, options(), anything
    ),
    "in place": st.builds(
        lambda a, b, op: lambda: getattr(Tensor._lift(a), op)(b),
        anything,
        anything,
        st.sampled_from(["__iadd__", "__isub__", "__imul__", "__itruediv__"]),
    ),
    "np.array": st.builds(
        lambda a, d, c: lambda: np.array(Tensor._lift(a), dtype=d, copy=c),
        anything,
        st.sampled_from([None, np.float32, np.int8, np.bool_]),
        st.sampled_from([None, True, False]),
    ),
    "sum": reduction(minigrad.sum),
    "mean": reduction(minigrad.mean),
    "reshape": st.builds(lambda a, s: lambda: minigrad.reshape(a, s), anything, options()),
    "flatten": st.builds(lambda a, s: lambda: minigrad.flatten(a, s), anything, options()),
    "transpose": st.builds(lambda a, s: lambda: minigrad.transpose(a, s), anything, options()),
    "softmax": st.builds(lambda a, x: lambda: minigrad.softmax(a, axis=x), anything, options()),
    "log_softmax": st.builds(
        lambda a, x: lambda: minigrad.log_softmax(a, axis=x), anything, options()
    ),
    "matmul": st.builds(lambda a, b: lambda: minigrad.matmul(a, b), anything, anything),
    "linear": st.builds(
        lambda a, w, b: lambda: minigrad.linear(a, w, b), anything, anything, st.none() | anything
    ),
    "conv2d": st.builds(
        lambda x, w, b, s, p: lambda: minigrad.conv2d(x, w, b, stride=s, padding=p),
        images,
        kernels,
        st.none() | anything,
        options(),
        options(),
    ),
    "max_pool2d": st.builds(
        lambda x, k, s: lambda: minigrad.max_pool2d(x, k, stride=s),
        images,
        options(),
        st.none() | options(),
    ),
    "cross_entropy": st.builds(
        lambda z, t, r: lambda: minigrad.cross_entropy(z, t, reduction=r),
        plausible(small_shapes(1, 3)),
        anything | st.lists(st.integers(-1, 4), max_size=4),
        st.sampled_from(["mean", "sum", "none", "avg", None]),
    ),
    "nll_loss": st.builds(
        lambda z, t: lambda: minigrad.nll_loss(z, t),
        plausible(small_shapes(1, 3)),
        anything | st.lists(st.integers(-1, 4), max_size=4),
    ),
    "astype": st.builds(
        lambda a, d: lambda: Tensor._lift(a).astype(d),
        anything,
        st.sampled_from([np.float32, "int8", "floaty", np.complex64, bool, None]),
    ),
    "backward": st.builds(
        lambda a, g: lambda: (Tensor(a, requires_grad=True) * 2).backward(g),
        anything,
        st.none() | anything,
    ),
    "nn.Linear": st.builds(
        lambda i, o, x: lambda: minigrad.nn.Linear(i, o)(x), options(), options(), anything
    ),
    "nn.Conv2d": st.builds(
        lambda c, f, k, s, x: lambda: minigrad.nn.Conv2d(c, f, k, stride=s)(x),
        options(),
        options(),
        options(),
        options(),
        images,
    ),
    "nn.MaxPool2d": st.builds(lambda k, x: lambda: minigrad.nn.MaxPool2d(k)(x), options(), images),
    "nn.Flatten": st.builds(lambda a, x: lambda: minigrad.nn.Flatten(a)(x), options(), anything),
    "DataLoader": st.builds(
        lambda x, y, b: lambda: list(DataLoader(x, y, batch_size=b)), anything, anything, options()
    ),
}


@given(st.sampled_from(sorted(CALLS)).flatmap(lambda name: st.tuples(st.just(name), CALLS[name])))
def test_malformed_inputs_raise_only_minigrad_errors(call: tuple[str, Callable[[], Any]]) -> None:
    name, mistake = call
    note(f"op: {name}")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # NaN in, NaN out: NumPy's own notice
        try:
            out = mistake()
        except MinigradError:
            return
        if isinstance(out, Tensor) and out.requires_grad:
            try:
                out.backward(np.ones(out.shape, dtype=out.dtype))
            except MinigradError:
                return


# ----------------------------------------------------------------------------- loaders


def _mutations(original: bytes) -> st.SearchStrategy[bytes]:
    """A file cut short, with bytes flipped or junk appended, or random bytes altogether."""
    n = len(original)
    cut = st.integers(0, max(n - 1, 0)).map(lambda k: original[:k])
    flips = st.lists(st.tuples(st.integers(0, n - 1), st.integers(1, 255)), min_size=1, max_size=4)

    def flip(changes: list[tuple[int, int]]) -> bytes:
        data = bytearray(original)
        for index, mask in changes:
            data[index] ^= mask
        return bytes(data)

    junk = st.binary(min_size=1, max_size=16).map(lambda b: original + b)
    return st.one_of(cut, flips.map(flip), junk, st.binary(max_size=64))


def _idx(values: np.ndarray, code: int) -> bytes:
    header = bytes([0, 0, code, values.ndim]) + b"".join(s.to_bytes(4, "big") for s in values.shape)
    return header + values.astype(values.dtype.newbyteorder(">")).tobytes()


IDX_FILES = [
    _idx(np.arange(12, dtype=np.uint8).reshape(3, 2, 2), 0x08),
    _idx(np.arange(5, dtype=np.uint8), 0x08),
    _idx(np.linspace(0, 1, 6).reshape(2, 3), 0x0E),
]


@given(data=st.sampled_from(IDX_FILES).flatmap(_mutations), gz=st.booleans())
def test_damaged_idx_files_raise_only_data_errors(
    tmp_path_factory: Any, data: bytes, gz: bool
) -> None:
    import gzip

    from minigrad.data import read_idx
    from minigrad.errors import DataError

    path = tmp_path_factory.mktemp("idx") / "file.idx"
    path.write_bytes(gzip.compress(data) if gz else data)
    with contextlib.suppress(DataError):
        read_idx(path)


_CHECKPOINT: list[bytes] = []


def _checkpoint_bytes(tmp: Any) -> bytes:
    if not _CHECKPOINT:
        from minigrad import nn, optim
        from minigrad.checkpoint import save_checkpoint

        model = nn.from_spec(
            {
                "name": "tiny",
                "input_shape": [1, 3, 3],
                "layers": [{"type": "Flatten"}, {"type": "Linear", "out_features": 2}],
            }
        )
        opt = optim.Adam(model.parameters(), lr=0.01)
        minigrad.cross_entropy(model(np.ones((1, 1, 3, 3), np.float32)), [1]).backward()
        opt.step()
        _CHECKPOINT.append(save_checkpoint(tmp / "good.npz", model, opt, epoch=2).read_bytes())
    return _CHECKPOINT[0]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 40)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "format",
                    "version",
                    "epoch",
                    "spec",
                    "optimizer",
                    "type",
                    "hyper",
                    "scalars",
                    "history",
                    "extra",
                    "name",
                    "input_shape",
                    "layers",
                    "lr",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@given(data=st.data())
def test_damaged_checkpoints_raise_only_minigrad_errors(tmp_path_factory: Any, data: Any) -> None:
    import io
    import json

    from minigrad.checkpoint import load_checkpoint

    tmp = tmp_path_factory.mktemp("ckpt")
    good = _checkpoint_bytes(tmp)
    if data.draw(st.booleans()):
        raw = data.draw(_mutations(good))
    else:  # a well-formed archive whose metadata is anything at all
        meta = data.draw(
            json_values
            | json_values.map(
                lambda v: {"format": "minigrad-checkpoint", "version": 1, "epoch": 0, "spec": v}
            )
        )
        buffer = io.BytesIO()
        np.savez(buffer, meta=np.array(json.dumps(meta)), **{"param:0.weight": np.zeros(3)})
        raw = buffer.getvalue()
    path = tmp / "damaged.npz"
    path.write_bytes(raw)
    try:
        checkpoint = load_checkpoint(path)
        model = checkpoint.build_model()
        if checkpoint.optimizer is not None:
            checkpoint.build_optimizer(model)
    except MinigradError:
        pass


@given(
    spec=json_values
    | st.dictionaries(
        st.sampled_from(["name", "input_shape", "layers", "dtype", "description"]),
        json_values
        | st.lists(
            st.dictionaries(
                st.sampled_from(
                    [
                        "type",
                        "out_features",
                        "out_channels",
                        "kernel_size",
                        "stride",
                        "padding",
                        "in_features",
                        "bias",
                        "init",
                        "axis",
                        "start_axis",
                    ]
                ),
                st.integers(-2, 6)
                | st.sampled_from(
                    ["Linear", "Conv2d", "ReLU", "Flatten", "MaxPool2d", "LogSoftmax", "__import__"]
                ),
                max_size=4,
            ),
            max_size=4,
        ),
        max_size=5,
    )
)
def test_malformed_specs_raise_only_spec_errors(spec: Any) -> None:
    from minigrad import nn
    from minigrad.errors import SpecError

    with contextlib.suppress(SpecError):
        nn.from_spec(spec) if isinstance(spec, dict) else nn.validate_spec(spec)


@given(text=st.text(max_size=80) | st.binary(max_size=80))
def test_malformed_spec_files_raise_only_spec_errors(tmp_path_factory: Any, text: Any) -> None:
    from minigrad import nn
    from minigrad.errors import SpecError

    path = tmp_path_factory.mktemp("spec") / "model.toml"
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    with contextlib.suppress(SpecError):
        nn.from_spec(path)


# ----------------------------------------------------------------------------- hostile values
# Files that parse but hold hostile values at any place: wrong types, huge, infinite or NaN
# numbers, integers of thousands of digits, nesting thousands deep, wrong shapes and dtypes,
# extra or missing members. Each load either works or raises the file's own minigrad error,
# and a restore that fails leaves the model and the optimiser as they were.


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def _nested(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels):
        value = [value]
    return value


#: JSON text for a hostile value (written into the file as is, so NaN and 1e999 stay raw).
hostile_json = st.one_of(
    st.sampled_from(
        ["Infinity", "-Infinity", "NaN", "1e999", "-1e999", "null", "true", "[]", "{}"]
    ),
    st.integers(19, 6000).map(lambda n: "9" * n),
    st.integers(20, 3000).map(_deep),
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(max_size=12).map(json.dumps),
    json_values.map(json.dumps),
)

_FUZZ_SPEC = {
    "name": "tiny",
    "input_shape": [1, 3, 3],
    "layers": [{"type": "Flatten"}, {"type": "Linear", "out_features": 2}],
}
META_PATHS = [
    ("epoch",),
    ("version",),
    ("spec",),
    ("spec", "name"),
    ("spec", "description"),
    ("spec", "input_shape"),
    ("spec", "input_shape", 1),
    ("spec", "dtype"),
    ("spec", "layers"),
    ("spec", "layers", 1),
    ("spec", "layers", 1, "out_features"),
    ("spec", "layers", 1, "in_features"),
    ("spec", "layers", 1, "bias"),
    ("optimizer",),
    ("optimizer", "type"),
    ("optimizer", "hyper"),
    ("optimizer", "hyper", "lr"),
    ("optimizer", "hyper", "betas"),
    ("optimizer", "hyper", "betas", 0),
    ("optimizer", "hyper", "eps"),
    ("optimizer", "scalars"),
    ("optimizer", "scalars", 0),
    ("optimizer", "scalars", 1, "step"),
    ("history",),
    ("history", 0),
    ("extra",),
    ("extra", "dataset"),
]


def _full(dtype: str, shape: list[int], value: float) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):  # 1e30 as float16 is meant to be inf
        return np.full(shape, value if dtype[0] in "fc" else 1, dtype=dtype)


hostile_arrays = st.one_of(
    st.just(None),  # the member is left out
    st.tuples(
        st.sampled_from(["f2", "f4", "f8", "i1", "u8", "?", "U2", "c8", "M8[s]"]),
        st.lists(st.integers(0, 20), max_size=3),
        st.sampled_from([0.0, np.nan, np.inf, -1.0, 1e30]),
    ).map(lambda t: _full(*t)),
)
MEMBERS = ["param:1.weight", "param:1.bias", "optim:0:exp_avg", "optim:1:exp_avg_sq", "extra"]


_VALID: list[tuple[dict[str, Any], dict[str, np.ndarray]]] = []


def _valid_checkpoint() -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The metadata and arrays of a valid checkpoint of a tiny model with Adam state."""
    if not _VALID:
        import tempfile
        from pathlib import Path

        from minigrad import nn, optim
        from minigrad.checkpoint import save_checkpoint

        model = nn.from_spec(_FUZZ_SPEC, seed=0)
        opt = optim.Adam(model.parameters(), lr=0.01)
        minigrad.cross_entropy(model(np.ones((1, 1, 3, 3), np.float32)), [1]).backward()
        opt.step()
        with tempfile.TemporaryDirectory() as tmp:
            path = save_checkpoint(Path(tmp) / "c.npz", model, opt, epoch=1, history=[{"epoch": 1}])
            with np.load(path, allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in npz.files}
        _VALID.append((json.loads(str(arrays.pop("meta"))), arrays))
    return _VALID[0]


def _replace(meta: Any, path: tuple[Any, ...], marker: str) -> bool:
    target = meta
    for key in path[:-1]:
        try:
            target = target[key]
        except (KeyError, IndexError, TypeError):
            return False
    key = path[-1]
    if not isinstance(target, (dict, list)) or (
        isinstance(target, list) and not (isinstance(key, int) and key < len(target))
    ):
        return False
    target[key] = marker
    return True


def _state(model: Any, opt: Any) -> tuple[Any, ...]:
    return (
        {k: v.tobytes() for k, v in model.state_dict().items()},
        json.dumps(opt.defaults),
        [{k: np.asarray(v).tobytes() for k, v in s.items()} for s in opt.state],
    )


@given(
    changes=st.lists(st.tuples(st.sampled_from(META_PATHS), hostile_json), max_size=3),
    members=st.lists(st.tuples(st.sampled_from(MEMBERS), hostile_arrays), max_size=2),
)
def test_hostile_checkpoint_values_raise_only_checkpoint_errors(
    tmp_path_factory: Any, changes: list[Any], members: list[Any]
) -> None:
    import copy

    from minigrad import nn, optim
    from minigrad.checkpoint import load_checkpoint
    from minigrad.errors import CheckpointError

    meta, arrays = copy.deepcopy(_valid_checkpoint())
    tokens = {}
    for n, (path, token) in enumerate(changes):
        marker = f"@@{n}@@"
        if _replace(meta, path, marker):
            tokens[json.dumps(marker)] = token
    text = json.dumps(meta)
    for marker, token in tokens.items():
        text = text.replace(marker, token)
    for name, array in members:
        if array is None:
            arrays.pop(name, None)
        else:
            arrays[name] = array
    path = tmp_path_factory.mktemp("hostile") / "c.npz"
    np.savez(path, meta=np.array(text), **arrays)
    try:
        checkpoint = load_checkpoint(path)
    except CheckpointError as exc:
        assert str(path) in str(exc)
        return
    model = nn.from_spec(_FUZZ_SPEC, seed=1)
    opt = optim.Adam(model.parameters(), lr=0.5)
    before = _state(model, opt)
    try:
        checkpoint.restore(model, opt)
    except CheckpointError:
        assert _state(model, opt) == before  # a failed restore changes nothing
    with contextlib.suppress(CheckpointError):
        checkpoint.build_optimizer(checkpoint.build_model())


#: Where a hostile value goes in a valid spec.
SPEC_PATHS = [
    ("name",),
    ("description",),
    ("input_shape",),
    ("input_shape", 0),
    ("input_shape", 2),
    ("dtype",),
    ("layers",),
    ("layers", 0),
    ("layers", 0, "type"),
    ("layers", 0, "kernel_size"),
    ("layers", 0, "out_channels"),
    ("layers", 0, "stride"),
    ("layers", 0, "padding"),
    ("layers", 2, "start_axis"),
    ("layers", 3, "out_features"),
    ("layers", 3, "in_features"),
    ("layers", 3, "bias"),
    ("layers", 3, "init"),
]
hostile_values = st.one_of(
    st.integers(-(2**80), 2**80),
    st.integers(4000, 6000).map(lambda n: 10**n),
    st.floats(),
    st.text(max_size=12),
    st.integers(30, 3000).map(_nested),
    json_values,
)


@given(changes=st.lists(st.tuples(st.sampled_from(SPEC_PATHS), hostile_values), max_size=3))
def test_hostile_spec_values_raise_only_spec_errors(changes: list[Any]) -> None:
    """Any value anywhere in a spec: a SpecError, or a model whose inferred shapes are its own."""
    import copy
    import math

    from minigrad import nn
    from minigrad.errors import SpecError

    spec = copy.deepcopy(
        {
            "name": "t",
            "input_shape": [1, 6, 6],
            "layers": [
                {"type": "Conv2d", "out_channels": 2, "kernel_size": 3},
                {"type": "ReLU"},
                {"type": "Flatten"},
                {"type": "Linear", "out_features": 3},
            ],
        }
    )
    for path, value in changes:
        _replace(spec, path, value)
    try:
        normal = nn.validate_spec(spec)
    except SpecError as exc:
        assert len(str(exc)) < 1000
        return
    layers = nn.infer_shapes(normal)
    if sum(math.prod(s) for layer in layers for s in layer.params.values()) > 10**6:
        return
    model = nn.from_spec(normal)
    shape = tuple(normal["input_shape"])
    for layer, info in zip(model, layers, strict=True):
        shape = layer.output_shape(shape)
        assert shape == info.output_shape
        assert {k: v.shape for k, v in layer.state_dict().items()} == info.params


@given(
    code=st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0xFF]),
    dims=st.lists(st.integers(0, 6) | st.integers(0, 2**32 - 1), max_size=8)
    | st.lists(st.integers(0, 1), min_size=15, max_size=70),
    ndim_lie=st.integers(-2, 2),
    extra=st.integers(-3, 3),
    gz=st.booleans(),
)
def test_hostile_idx_headers_raise_only_data_errors(
    tmp_path_factory: Any, code: int, dims: list[int], ndim_lie: int, extra: int, gz: bool
) -> None:
    """Any type, any number of dimensions (0 to 255), any sizes up to 2**32 - 1, data a few
    bytes short or long: a DataError, or the array the header describes."""
    import gzip
    import math

    from minigrad.data import read_idx
    from minigrad.errors import DataError

    ndim = min(max(len(dims) + ndim_lie, 0), 255)
    header = bytes([0, 0, code, ndim]) + b"".join(d.to_bytes(4, "big") for d in dims)
    itemsize = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}.get(code, 1)
    size = math.prod(dims) * itemsize
    body = bytes(max(0, min(size, 1 << 16) + extra))
    raw = header + body
    path = tmp_path_factory.mktemp("idx") / "file-idx"
    path.write_bytes(gzip.compress(raw, compresslevel=1) if gz else raw)
    try:
        array = read_idx(path)
    except DataError as exc:
        assert str(path) in str(exc)
        return
    if ndim == len(dims):  # a header that lies about its length is read as what it says
        assert array.shape == tuple(dims) and array.nbytes == len(body)
