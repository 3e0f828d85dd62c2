"""The documentation's code runs: every ``python`` block of these pages, in order.

Each page's blocks run one after another in one namespace, as a reader would type them, so a
page that stops working fails here rather than in a reader's hands.
"""

import importlib.util
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = [
    "gradcheck-tutorial.md",
    "getting-started.md",
    "autodiff.md",
    "models.md",
    "training.md",
    "derivations/cnn.md",
    "leaving.md",
]
BLOCK = re.compile(r"^```python\n(.*?)^```", flags=re.DOTALL | re.MULTILINE)


def python_blocks(page):
    return BLOCK.findall((DOCS / page).read_text())


@pytest.mark.parametrize("page", PAGES)
def test_page_code_runs(page, monkeypatch):
    blocks = python_blocks(page)
    assert blocks, f"{page} has no python blocks"
    monkeypatch.chdir(DOCS.parent)  # the pages refer to models/*.toml
    namespace = {"__name__": f"docs.{page}"}
    for index, block in enumerate(blocks):
        if "import torch" in block and importlib.util.find_spec("torch") is None:
            continue  # PyTorch is an opt-in test dependency (.ci/run installs it)
        code = compile(block, f"{page} (python block {index + 1})", "exec")
        exec(code, namespace)


def test_the_tutorial_catches_the_wrong_vjp(capsys):
    namespace = {"__name__": "docs.tutorial"}
    for block in python_blocks("gradcheck-tutorial.md"):
        exec(block, namespace)
    out = capsys.readouterr().out
    assert "gradcheck: the gradient of input 0 of shape (3, 4) disagrees" in out
    assert issubclass(namespace["Tanh"], namespace["Function"])
