"""The documentation covers the code: every public name is in the API reference, and every
op has its derivation page.

The API reference renders whole modules (``::: minigrad.nn``), and a rendered module shows
every name in its ``__all__``; so a public name is covered when some rendered module exports
the same object, or when it is rendered on its own.
"""

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import minigrad
from minigrad import Function

DOCS = Path(__file__).resolve().parent.parent / "docs"
DIRECTIVE = re.compile(r"^\s*::: ([\w.]+)", flags=re.MULTILINE)


def directives(folder):
    return {
        t for page in (DOCS / folder).rglob("*.md") for t in DIRECTIVE.findall(page.read_text())
    }


def resolve(target):
    """The object a dotted ``::: target`` names."""
    parts = target.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(target)


PUBLIC_MODULES = ["minigrad"] + [
    m.name for m in pkgutil.walk_packages(minigrad.__path__, "minigrad.") if "._" not in m.name
]


def public_names():
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", []):
            yield name, attr


def test_every_public_name_is_in_the_api_reference():
    rendered = [resolve(t) for t in directives("api")]
    exported = {
        id(getattr(obj, attr))
        for obj in rendered
        if inspect.ismodule(obj)
        for attr in getattr(obj, "__all__", [])
    }
    shown = exported | {id(obj) for obj in rendered}
    missing = [
        f"{module}.{attr}"
        for module, attr in public_names()
        if id(getattr(importlib.import_module(module), attr)) not in shown
    ]
    assert not missing, f"not in docs/api: {missing}"


def op_classes():
    modules = [minigrad.engine] + [
        importlib.import_module(m.name)
        for m in pkgutil.iter_modules(minigrad.ops.__path__, "minigrad.ops.")
    ]
    for module in modules:
        for cls in vars(module).values():
            if (
                inspect.isclass(cls)
                and issubclass(cls, Function)
                and cls is not Function
                and cls.__module__ == module.__name__
            ):
                yield f"{module.__name__}.{cls.__name__}"


@pytest.mark.parametrize("op", list(op_classes()))
def test_every_op_has_its_derivation(op):
    assert op in directives("derivations"), f"{op} is not shown on any page of docs/derivations"
