"""The explorable page: what it carries equals what the engine computed, with no network."""

from __future__ import annotations

import base64
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad import cli, nn, optim, viz
from minigrad.checkpoint import save_checkpoint
from minigrad.errors import VizError
from minigrad.testing import arrays, broadcastable_shapes
from minigrad.train import History
from minigrad.viz import page as page_module

from .conftest import page_data

MODELS = sorted((Path(__file__).parents[2] / "models").glob("*.toml"))
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs the Graphviz dot program")


def sample_loss(spec: Path | str, seed: int = 0):
    model = nn.from_spec(spec, seed=seed)
    rng = np.random.default_rng(seed)
    x = minigrad.Tensor(
        rng.standard_normal((2, *model.spec["input_shape"])), dtype=model.spec["dtype"]
    )
    return model, minigrad.cross_entropy(model(x), np.array([3, 1]))


def by_name(data: dict) -> dict:
    return {t["name"]: t for t in data["tensors"].values() if t["name"]}


def decode(picture: dict) -> np.ndarray:
    codes = np.frombuffer(base64.b64decode(picture["data"]), dtype=np.uint8)
    return codes.reshape(picture["tiles"], picture["h"], picture["w"])


# --------------------------------------------------------------------------- the data


@needs_dot
@pytest.mark.parametrize("spec", MODELS, ids=[m.stem for m in MODELS])
def test_every_model_page_carries_the_engines_walk_and_gradients(spec, tmp_path):
    model, loss = sample_loss(spec)
    path = viz.explore(loss, tmp_path / "page.html", model=model)
    data = page_data(path)
    # The same model and input again, walked under the public recorder by this test.
    model2, loss2 = sample_loss(spec)
    with minigrad.record_backward() as steps:
        loss2.backward()
    assert [data["ops"][s["op"]]["name"] for s in data["steps"]] == [s.node.name for s in steps]
    for s, step in zip(data["steps"], steps, strict=True):
        assert s["grad"]["norm"] == pytest.approx(float(np.linalg.norm(step.grad)), rel=1e-6)
        sent = [g for g in step.input_grads if g is not None]
        assert [x["stats"]["norm"] for x in s["sent"]] == pytest.approx(
            [float(np.linalg.norm(g)) for g in sent], rel=1e-6
        )
    tensors = by_name(data)
    for name, p in model2.named_parameters():
        assert tensors[name]["kind"] == "parameter"
        assert tensors[name]["grad"]["stats"]["norm"] == pytest.approx(
            float(np.linalg.norm(p.grad)), rel=1e-6
        )
    # explore ran backward() itself: the parameters hold their gradients as usual.
    for (_, p), (_, q) in zip(model.named_parameters(), model2.named_parameters(), strict=True):
        np.testing.assert_array_equal(p.grad, q.grad)


@needs_dot
def test_a_tensor_used_three_times_receives_three_gradients_and_shows_their_sum(tmp_path):
    w = minigrad.Tensor(np.array([[1.0, -2.0], [0.5, 3.0]]), requires_grad=True, name="w")
    loss = (w * w + w).sum()  # dL/dw = 2w + 1: w*w sends w twice (as a and b), add sends 1
    data = page_data(viz.explore(loss, tmp_path / "page.html"))
    t = by_name(data)["w"]
    assert [(r["arg"], data["ops"][r["op"]]["name"]) for r in t["received"]] == [
        ("b", "add"),
        ("a", "mul"),
        ("b", "mul"),
    ]
    np.testing.assert_allclose(
        [r["stats"]["norm"] for r in t["received"]],
        [2.0, np.linalg.norm(w.data), np.linalg.norm(w.data)],
    )
    total = np.linalg.norm(2 * w.data + 1)
    assert t["grad"]["stats"]["norm"] == pytest.approx(total)
    assert np.linalg.norm(w.grad) == pytest.approx(total)
    last = data["steps"][-1]
    tid = next(k for k, v in data["tensors"].items() if v["name"] == "w")
    assert last["total"][tid]["norm"] == pytest.approx(total)
    assert [(x["arrival"], x["of"]) for x in last["sent"]] == [(2, 3), (3, 3)]


@needs_dot
def test_steps_recorded_by_the_caller_are_shown_without_walking_again(tmp_path):
    model, loss = sample_loss(MODELS[0])
    with minigrad.record_backward() as steps:
        loss.backward()
    grads = [p.grad.copy() for p in model.parameters()]
    data = page_data(viz.explore(loss, tmp_path / "page.html", steps=steps, model=model))
    assert len(data["steps"]) == len(steps)
    for p, g in zip(model.parameters(), grads, strict=True):
        np.testing.assert_array_equal(p.grad, g)  # not accumulated a second time


@needs_dot
def test_explore_after_backward_says_to_explore_first_or_pass_the_steps(tmp_path):
    _, loss = sample_loss(MODELS[0])
    loss.backward()
    with pytest.raises(VizError, match=r"explore: .*already released.*before loss.backward\(\)"):
        viz.explore(loss, tmp_path / "page.html")
    assert not (tmp_path / "page.html").exists()


@needs_dot
def test_several_roots_are_walked_in_turn_and_a_shared_tensor_sums_both_walks(tmp_path):
    w = minigrad.Tensor(np.array([1.0, 2.0]), requires_grad=True, name="w")
    h = w * 3
    h.name = "h"
    first, second = (h * h).sum(), h.sum()  # dL/dh = 2h from the first, 1 from the second
    data = page_data(viz.explore([first, second], tmp_path / "page.html"))
    assert [data["ops"][s["op"]]["name"] for s in data["steps"]] == [
        "sum",
        "mul",
        "mul",
        "sum",
        "mul",
    ]
    tensors = by_name(data)
    assert tensors["h"]["grad"]["stats"]["norm"] == pytest.approx(np.linalg.norm(2 * h.data + 1))
    assert tensors["w"]["grad"]["stats"]["norm"] == pytest.approx(np.linalg.norm(w.grad))
    assert np.linalg.norm(w.grad) == pytest.approx(np.linalg.norm(3 * (2 * h.data + 1)))


@needs_dot
def test_explore_refuses_a_root_that_is_not_a_scalar_before_running_anything(tmp_path):
    w = minigrad.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(VizError, match=r"explore: root 0 has shape \(3,\); .*e.g. y.sum\(\)"):
        viz.explore(w * 2, tmp_path / "page.html")
    assert w.grad is None and not (tmp_path / "page.html").exists()


def test_explore_refuses_what_has_no_graph(tmp_path):
    model = nn.from_spec(MODELS[0])
    with pytest.raises(VizError, match="explore: got a module"):
        viz.explore(model, tmp_path / "page.html")


@needs_dot
def test_the_page_needs_nothing_from_the_network_and_cannot_be_broken_by_a_name(tmp_path):
    w = minigrad.Tensor(np.ones(3), requires_grad=True, name="</script><b>w{{data}}")
    text = viz.explore((w * 2).sum(), tmp_path / "page.html").read_text()
    # The only URLs are the XML namespaces of the inline SVG.
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", text))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert "<link" not in text and "src=" not in text
    assert "default-src 'none'" in text  # the page's own policy forbids any fetch
    data = page_data(tmp_path / "page.html")
    assert by_name(data)["</script><b>w{{data}}"]["grad"]["stats"]["norm"] == pytest.approx(
        np.sqrt(12)
    )


@needs_dot
def test_a_nan_gradient_is_counted_and_drawn_as_not_finite(tmp_path):
    x = minigrad.Tensor(np.array([0.0, 1.0, 4.0]), requires_grad=True, name="x")
    with np.errstate(divide="ignore", invalid="ignore"):
        data = page_data(viz.explore(minigrad.log(x * 0).sum(), tmp_path / "page.html"))
    grad = by_name(data)["x"]["grad"]
    assert grad["stats"]["norm"] == "NaN" and grad["stats"]["nan"] == 3
    assert (decode(grad["picture"]) == 255).all()


@needs_dot
@given(
    broadcastable_shapes(max_dims=3, max_side=3).flatmap(
        lambda pair: st.tuples(arrays(pair[0]), arrays(pair[1]))
    )
)
def test_over_random_broadcasts_each_tensor_gets_the_sum_the_engine_stored(tmp_path_factory, ab):
    """``a`` is used twice and ``b`` broadcast: what was sent to each adds up to its .grad."""
    a = minigrad.Tensor(ab[0], requires_grad=True, name="a")
    b = minigrad.Tensor(ab[1], requires_grad=True, name="b")
    loss = (minigrad.exp(a * b) + a).sum()
    path = tmp_path_factory.mktemp("page") / "page.html"
    data = page_data(viz.explore(loss, path))
    tensors = by_name(data)
    for t in (a, b):
        page = tensors[t.name]
        assert page["grad"]["stats"]["shape"] == list(t.shape)  # reduced to the input's shape
        assert page["grad"]["stats"]["norm"] == pytest.approx(
            float(np.linalg.norm(t.grad)), rel=1e-9, abs=1e-12
        )
    assert len(tensors["a"]["received"]) == 2 and len(tensors["b"]["received"]) == 1
    steps = [data["ops"][s["op"]]["name"] for s in data["steps"]]
    assert steps == ["sum", "add", "exp", "mul"]


# --------------------------------------------------------------------------- pictures


@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=40),
)
def test_a_picture_codes_each_value_around_zero_on_its_largest_magnitude(values):
    a = np.array(values)
    pic = page_module._picture(a)
    codes = decode(pic)[0, 0, : a.size]
    scale = np.abs(a).max()
    assert pic["scale"] == scale
    expected = np.full(a.size, 127) if scale == 0 else np.rint((a / scale + 1) * 127)
    np.testing.assert_array_equal(codes, expected)


@pytest.mark.parametrize(
    ("shape", "tiles", "cols", "h", "w"),
    [
        ((1, 6, 28, 28), 6, 6, 28, 28),  # one sample's feature maps: a tile per channel
        ((6, 1, 5, 5), 6, 6, 5, 5),  # filters of one input channel: a tile per filter
        ((16, 6, 5, 5), 60, 6, 5, 5),  # 16 x 6 filters: a row per filter, 64 tiles at most
        ((1, 400), 1, 1, 20, 20),  # a long vector wraps into a square
        ((120, 400), 1, 1, 120, 100),  # a large matrix keeps every 4th column
        ((10,), 1, 1, 1, 10),
        ((2, 3, 4), 2, 2, 3, 4),
    ],
)
def test_tensors_become_tiles_of_bounded_size(shape, tiles, cols, h, w):
    pic = page_module._picture(np.arange(np.prod(shape), dtype=float).reshape(shape))
    assert (pic["tiles"], pic["cols"], pic["h"], pic["w"]) == (tiles, cols, h, w)


def test_a_scalar_has_statistics_but_no_picture():
    assert page_module._picture(np.array(2.5)) is None
    assert page_module._stats(np.array(2.5))["norm"] == 2.5


# --------------------------------------------------------------------------- the command


@needs_dot
@pytest.mark.parametrize("spec", MODELS, ids=[m.stem for m in MODELS])
def test_minigrad_explore_writes_a_small_page_for_every_model(spec, tmp_path, capsys):
    out = tmp_path / f"{spec.stem}.html"
    assert cli.main(["explore", str(spec), "-o", str(out)]) == 0
    assert f"to {out}" in capsys.readouterr().out
    # mnist_bn, the largest bundled model (421,994 weights), makes a page of 0.7 MB
    assert out.stat().st_size < 1_000_000
    data = page_data(out)
    assert data["history"] is None
    names = {t["name"] for t in data["tensors"].values()}
    model = nn.from_spec(spec)
    assert names >= {"target", "loss", *dict(model.named_parameters())}


@needs_dot
def test_minigrad_explore_on_a_checkpoint_shows_the_gradient_norms_of_training(tmp_path):
    model = nn.from_spec(MODELS[0], seed=0)
    history = History(
        [{"epoch": 1, "train_loss": 1.0}, {"epoch": 2, "train_loss": 0.5}],
        [
            {"epoch": 1, "0.weight": 0.5, "0.bias": 0.1},
            {"epoch": 2, "0.weight": 0.25, "0.bias": 0.05},
        ],
    )
    ckpt = save_checkpoint(
        tmp_path / "c.npz", model, optim.SGD(model.parameters(), lr=0.1), history=history
    )
    out = tmp_path / "page.html"
    assert cli.main(["explore", str(ckpt), "-o", str(out)]) == 0
    data = page_data(out)
    assert data["history"] == {
        "epochs": [1, 2],
        "series": {"0.weight": [0.5, 0.25], "0.bias": [0.1, 0.05]},
    }
    assert "after 0 epochs" in data["title"]
