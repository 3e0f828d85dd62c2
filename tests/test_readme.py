"""The README's Python examples run, in order, as one script."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples write files (runs/graph.svg): not into the repo
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "the README has no Python examples"
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    assert namespace["loss"].grad_fn is not None
    assert (tmp_path / "runs" / "graph.svg").read_text().startswith("<?xml")


def test_the_quick_start_has_gradients_worth_looking_at():
    """Random weights: the ten logits differ and every gradient is well above rounding noise;
    named tensors: the graph shows x, w, b and v by name."""
    import numpy as np

    from minigrad import viz

    quick_start = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)[0]
    namespace: dict = {}
    exec(compile(quick_start.split("with minigrad.no_grad")[0], str(README), "exec"), namespace)
    assert np.ptp(namespace["logits"].data) > 0.1
    for name in ("w", "b", "v"):
        grad = namespace[name].grad
        assert np.abs(grad).max() > 1e-3, (name, np.abs(grad).max())
    source = viz.to_dot(namespace["loss"]).source
    for name in ("x", "w", "b", "v", "loss"):
        assert f"<b>{name}</b>" in source, name
