"""In a real browser (headless Chromium), with the network blocked: the explorable page shows
what minigrad computed, and the documentation site renders its formulas offline."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minigrad
from minigrad import nn, viz

ROOT = Path(__file__).parents[2]
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs the Graphviz dot program")


def click_node(page, node_id: str) -> None:
    """Click the graph node whose DOT id (the SVG <title>) is ``node_id``."""
    page.locator("#graph g.node", has=page.locator(f"title:text-is('{node_id}')")).click()


def shown(page, field: str) -> str:
    return page.locator(f'#panel [data-field="{field}"]').first.inner_text()


@needs_dot
def test_the_page_shows_the_gradients_and_the_walk_minigrad_computed(browser, tmp_path):
    model = nn.from_spec(ROOT / "models" / "seed_cnn.toml", seed=0)
    x = minigrad.Tensor(
        np.random.default_rng(0).standard_normal((1, 1, 8, 8)), dtype=np.float32, name="input"
    )
    loss = minigrad.cross_entropy(model(x), np.array([3]))
    with minigrad.record_backward() as steps:
        loss.backward()
    path = viz.explore(loss, tmp_path / "page.html", steps=steps, model=model)
    page = browser.open(path.as_uri())

    # A parameter: its gradient's norm, as the page prints it, is the engine's.
    weight = dict(model.named_parameters())["0.weight"]
    node = page.locator("#graph g.node", has_text="0.weight")
    node.click()
    assert shown(page, "title") == "0.weight"
    assert float(shown(page, "grad-norm")) == pytest.approx(np.linalg.norm(weight.grad), rel=1e-5)
    assert float(shown(page, "value-norm")) == pytest.approx(np.linalg.norm(weight.data), rel=1e-5)
    assert page.locator("#panel canvas").count() == 2  # pictures of the value and the gradient

    # The walk, step by step, in the engine's order; each step lights up the edges it sends on.
    page.click("#step-reset")
    for k, step in enumerate(steps):
        page.click("#step-next")
        title = shown(page, "step-title")
        assert title == f"step {k + 1} of {len(steps)}: {step.node.name}.backward"
        assert page.locator("#graph g.node.current").count() == 1
        sent = [g for g in step.input_grads if g is not None]
        assert page.locator("#graph g.edge.sent").count() == len(sent)
        assert page.locator("#graph text.grad-label").count() == len(sent)
    assert page.locator("#step-next").is_disabled()
    assert page.errors == [] and page.blocked == []


@needs_dot
def test_a_tensor_used_twice_shows_both_gradients_and_their_sum(browser, tmp_path):
    w = minigrad.Tensor(np.array([[1.0, -2.0], [0.5, 3.0]]), requires_grad=True, name="w")
    path = viz.explore((w * w).sum(), tmp_path / "page.html")
    page = browser.open(path.as_uri())
    page.click("#step-next")
    page.click("#step-next")  # mul.backward: dL/da and dL/db both go to w
    labels = page.locator("#graph text.grad-label").all_text_contents()
    assert sorted(t.split()[0] for t in labels) == ["dL/da", "dL/db"]
    assert float(shown(page, "sum-norm")) == pytest.approx(np.linalg.norm(w.grad), rel=1e-5)
    assert np.linalg.norm(w.grad) == pytest.approx(np.linalg.norm(2 * w.data))
    click_node(page, "t0")
    assert page.locator("#panel ol li").count() == 2
    assert page.errors == [] and page.blocked == []


@needs_dot
def test_the_page_of_a_checkpoint_charts_the_gradient_norms_of_training(browser, tmp_path):
    from minigrad.checkpoint import save_checkpoint
    from minigrad.train import History

    model = nn.from_spec(ROOT / "models" / "mlp.toml", seed=0)
    history = History(gradients=[{"epoch": e, "0.weight": 10.0**-e} for e in (1, 2, 3)])
    ckpt = save_checkpoint(tmp_path / "c.npz", model, history=history)
    out = tmp_path / "page.html"
    subprocess.run(
        [sys.executable, "-m", "minigrad.cli", "explore", str(ckpt), "-o", str(out)], check=True
    )
    page = browser.open(out.as_uri())
    page.click("#show-history")
    assert page.locator("#panel svg.chart polyline").count() == 1
    assert page.locator("#panel svg.chart circle").count() == 3
    assert page.errors == [] and page.blocked == []


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The documentation site, built as ``make docs`` builds it (notebooks executed)."""
    out = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--quiet", "--site-dir", str(out)],
        cwd=ROOT,
        check=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
    )
    return out


@pytest.mark.slow
def test_the_docs_site_renders_its_formulas_offline(browser, site):
    page = browser.open((site / "derivations" / "conv" / "index.html").as_uri())
    page.wait_for_selector("mjx-container", state="attached", timeout=15_000)
    assert page.locator("mjx-container").count() > 5
    raw = page.locator(".arithmatex").evaluate_all(
        "els => els.filter(e => !e.querySelector('mjx-container')).map(e => e.textContent)"
    )
    assert raw == [], f"formulas left as TeX: {raw[:3]}"
    assert "\\[" not in page.locator("article").inner_text()
    assert page.blocked == []


@pytest.mark.slow
def test_the_notebook_tour_in_the_docs_shows_its_outputs_and_a_working_page(browser, site):
    page = browser.open((site / "notebooks" / "04-training-and-exploring" / "index.html").as_uri())
    assert page.locator("img[src^='data:image/png']").count() >= 4  # curves, gradients, ...
    frame = page.frame_locator("iframe")
    frame.locator("#step-next").click()
    assert frame.locator('#panel [data-field="step-title"]').inner_text().startswith("step 1 of ")
    frame.locator("#show-history").click()
    assert frame.locator("#panel svg.chart polyline").count() == 4  # seed_cnn's 4 parameters
    assert page.errors == [] and page.blocked == []


@pytest.mark.slow
def test_the_notebooks_formulas_render_offline(browser, site):
    page = browser.open((site / "notebooks" / "03-cnn-formula-by-formula" / "index.html").as_uri())
    page.wait_for_selector(".jp-RenderedMarkdown mjx-container", state="attached", timeout=15_000)
    assert page.locator(".jp-RenderedMarkdown mjx-container").count() > 10
    text = " ".join(page.locator(".jp-RenderedMarkdown").all_inner_texts())
    assert "\\frac" not in text and "$" not in text, "formulas left as TeX"
    assert page.errors == [] and page.blocked == []
