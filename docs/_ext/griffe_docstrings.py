"""A Griffe extension that lets the API reference render minigrad's docstrings as written.

The docstrings are written to be read in a terminal and run by doctest: examples are
``>>>`` sessions, code follows a paragraph ending in ``::`` and cross-references use Sphinx
roles (``:class:`Tensor```). Markdown knows none of these, so before the docstrings are
parsed this extension turns each ``>>>`` session into a fenced ``pycon`` block, a trailing
``::`` into ``:`` (the indented block after it is already a Markdown code block) and a role
into inline code. The source files stay as they are.

Attributes without a docstring of their own (a layer's ``in_channels``, a module's constants)
are left out of the reference: rendered, each would be a heading over an empty box. The ones
that matter are described in their class's ``Attributes:`` section or have a docstring.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|func|meth|data|mod|attr|exc|obj):`(~?)([^`]+)`")


def _role(match: re.Match[str]) -> str:
    short, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


def convert(text: str) -> str:
    """The Markdown form of one docstring."""
    out: list[str] = []
    fence: str | None = None  # the indentation of an open doctest fence
    in_markdown_fence = False
    for line in text.splitlines():
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        if fence is not None:
            if stripped:
                out.append(line)
                continue
            out.append(f"{fence}```")
            fence = None
        if stripped.startswith("```"):
            in_markdown_fence = not in_markdown_fence
        elif not in_markdown_fence and (
            stripped.startswith(">>> ") or stripped == ">>>"
        ):
            fence = indent
            out.extend([f"{indent}```pycon", line])
            continue
        if not in_markdown_fence:
            line = _ROLE.sub(_role, line)
            if line.endswith("::") and not line.endswith(":::"):
                line = line[:-1]
        out.append(line)
    if fence is not None:
        out.append(f"{fence}```")
    return "\n".join(out)


class DocstringsToMarkdown(griffe.Extension):
    """Convert every docstring with :func:`convert` as soon as its object is loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = convert(obj.docstring.value)


def _drop_undocumented_attributes(obj: griffe.Object) -> None:
    for name, member in list(obj.members.items()):
        if (
            member.is_alias
        ):  # a re-export: judged by what it points to, when that is loaded
            try:
                target = member.final_target
            except (griffe.AliasResolutionError, griffe.CyclicAliasError):
                continue
            if target.is_attribute and target.docstring is None:
                obj.del_member(name)
        elif member.is_attribute and member.docstring is None:
            obj.del_member(name)
        elif member.is_module or member.is_class:
            _drop_undocumented_attributes(member)


class UndocumentedAttributesOut(griffe.Extension):
    """Remove every attribute that has no docstring, once its package is loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        _drop_undocumented_attributes(pkg)
