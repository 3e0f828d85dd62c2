"""The op contract: every op names itself, links its derivation, keeps its checks in ``check``
above ``forward``, and its ``backward`` reads only what ``forward`` saved."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import minigrad
import minigrad.ops
from minigrad import Function, Node
from minigrad.ops.elementwise import Cast

ROOT = Path(__file__).parent.parent.parent


def op_families() -> list[ModuleType]:
    """Every module of ``minigrad/ops/`` (``minigrad.ops.dropout`` is the op, not its module)."""
    names = [m.name for m in pkgutil.iter_modules(minigrad.ops.__path__)]
    return [importlib.import_module(f"minigrad.ops.{name}") for name in sorted(names)]


def op_classes() -> list[type[Function]]:
    found = {Cast}
    for module in op_families():
        found |= {
            c
            for c in vars(module).values()
            if isinstance(c, type) and issubclass(c, Function) and c.__module__ == module.__name__
        }
    return sorted(found, key=lambda c: c.__name__)


OPS = op_classes()


def slug(heading: str) -> str:
    """MkDocs' default anchor of a heading (toc's slugify)."""
    text = re.sub(r"[^\w\s-]", "", heading.strip().lower())
    return re.sub(r"[-\s]+", "-", text).strip("-")


@pytest.mark.parametrize("op", OPS, ids=lambda c: c.__name__)
def test_each_op_names_itself(op) -> None:
    assert "name" in vars(op) and re.fullmatch(r"[a-z][a-z0-9_]*", op.name)


def test_op_names_are_unique() -> None:
    names = [op.name for op in OPS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("op", OPS, ids=lambda c: c.__name__)
def test_each_docstring_ends_with_its_derivation(op) -> None:
    last = inspect.getdoc(op).splitlines()[-1]
    match = re.fullmatch(r"Derivation: ``docs/(derivations/\w+\.md)#([\w-]+)``", last)
    assert match, f"{op.__name__}: the docstring ends with {last!r}"
    page = (ROOT / "docs" / match[1]).read_text()
    anchors = {slug(h) for h in re.findall(r"^#+ (.*)$", page, re.M)}
    assert match[2] in anchors, f"{op.__name__}: no heading #{match[2]} in docs/{match[1]}"


@pytest.mark.parametrize("op", OPS, ids=lambda c: c.__name__)
def test_forward_and_backward_hold_math_only(op) -> None:
    forward = inspect.getsource(op.forward)
    backward = inspect.getsource(op.backward)
    assert "raise" not in forward, f"{op.__name__}.forward raises: move the check to check()"
    for graph in ("ctx.parents", "ctx.attrs"):
        assert graph not in backward, f"{op.__name__}.backward reads {graph}"
    if "check" in vars(op):
        assert isinstance(vars(op)["check"], staticmethod)
        source = inspect.getsource(op)
        assert source.index("def check(") < source.index("def forward("), op.__name__


class Counted(Function):
    """An op whose check counts its calls.

    Derivation: ``docs/derivations/elementwise.md#add``
    """

    name = "counted"
    calls = 0

    @staticmethod
    def check(x: np.ndarray, *, k: object) -> None:
        Counted.calls += 1
        if x.ndim > 2:
            raise minigrad.ShapeError("counted: at most 2-D")

    @staticmethod
    def forward(ctx: Node, x: np.ndarray, *, k: object) -> np.ndarray:
        return x * 2

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray]:
        return (grad * 2,)


def test_the_engine_checks_once_per_call_signature() -> None:
    Counted.calls = 0
    for _ in range(3):
        Counted.apply(np.ones((2, 3)), k=1)
    assert Counted.calls == 1
    Counted.apply(np.ones((2, 4)), k=1)  # another shape
    Counted.apply(np.ones((2, 4), np.float32), k=1)  # another dtype
    Counted.apply(np.ones((2, 4)), k=2)  # another attribute
    assert Counted.calls == 4
    for _ in range(2):
        Counted.apply(np.ones(2), k=[1])  # an unhashable attribute: checked every time
    assert Counted.calls == 6
    for _ in range(2):  # a failing check is never remembered
        with pytest.raises(minigrad.ShapeError, match="counted: at most 2-D"):
            Counted.apply(np.ones((1, 1, 1)), k=1)
    assert Counted.calls == 8


def test_value_checks_run_on_every_call() -> None:
    z = np.zeros((2, 3))
    minigrad.cross_entropy(z, np.array([0, 2]))
    with pytest.raises(minigrad.ShapeError, match="target 3 is out of range"):
        minigrad.cross_entropy(z, np.array([0, 3]))


def test_one_log_softmax_serves_all_three() -> None:
    z = np.random.default_rng(0).standard_normal((4, 5)) * 50
    t = np.array([0, 1, 2, 4])
    logp = minigrad.ops.activation.stable_log_softmax(z, 1)
    np.testing.assert_array_equal(minigrad.log_softmax(z).data, logp)
    expected = -logp[np.arange(4), t].mean()
    assert minigrad.cross_entropy(z, t).item() == expected
    assert minigrad.nll_loss(minigrad.log_softmax(z), t).item() == expected


def test_op_names_are_listed_once() -> None:
    """An op is named in its family's ``__all__`` only; ``minigrad.ops`` and ``minigrad`` export
    exactly those names, gathered from there."""
    families = [m for m in op_families() if not m.__name__.split(".")[-1].startswith("_")]
    listed = [name for module in families for name in module.__all__]
    assert len(listed) == len(set(listed))
    assert minigrad.ops.__all__ == listed
    assert set(listed) <= set(minigrad.__all__)
    for name in listed:
        assert getattr(minigrad, name) is getattr(minigrad.ops, name)
    for init in ("minigrad/__init__.py", "minigrad/ops/__init__.py"):
        tree = ast.parse((ROOT / init).read_text())
        imports = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        imported = {a.asname or a.name for n in imports for a in n.names}
        strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
        assert not (imported | strings) & set(listed), init
