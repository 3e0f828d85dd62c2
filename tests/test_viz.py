"""The graph renderer: structure of the DOT, clusters, collapse, colours, views, errors.

Golden DOT files live in tests/data/viz/; after an intended change of the drawing, rewrite
them with ``MINIGRAD_UPDATE_GOLDEN=1 pytest tests/test_viz.py`` and review the diff.
"""

from __future__ import annotations

import os
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import minigrad
from minigrad import cli, nn, viz
from minigrad.errors import ArgumentError, GraphvizNotFoundError, VizError

GOLDEN = Path(__file__).parent / "data" / "viz"
SEED_CNN = Path(__file__).parents[1] / "models" / "seed_cnn.toml"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs the Graphviz dot program")

NODE = re.compile(r"^\s*(\w+) \[(.*)\]$")
EDGE = re.compile(r"^\s*(\w+) -> (\w+)(?: \[(.*)\])?$")


# --------------------------------------------------------------------------- helpers


def nodes(dot) -> dict[str, str]:
    """Node id -> its attribute text, for every node statement of the DOT source."""
    out = {}
    for line in dot.source.splitlines():
        m = NODE.match(line)
        if m and m.group(1) not in ("node", "edge", "graph"):
            out[m.group(1)] = m.group(2)
    return out


def edges(dot) -> list[tuple[str, str, str]]:
    """Every edge as (source, target, attribute text)."""
    out = []
    for line in dot.source.splitlines():
        m = EDGE.match(line)
        if m:
            out.append((m.group(1), m.group(2), m.group(3) or ""))
    return out


def label_of(dot, node_id: str) -> str:
    """The text of a node's HTML label, tags removed."""
    attrs = nodes(dot)[node_id]
    label = re.search(r"label=<(.*)>", attrs).group(1)
    return re.sub(r"<[^>]+>", " ", label)


def find(dot, name: str) -> str:
    """The id of the one node whose label has ``name`` in bold (a tensor's or op's name)."""
    found = [n for n, attrs in nodes(dot).items() if f"<b>{name}</b>" in attrs]
    assert len(found) == 1, (name, found)
    return found[0]


def clusters(dot) -> list[str]:
    """The cluster labels, in the order of the source."""
    out = []
    lines = dot.source.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith("subgraph cluster_"):
            m = re.search(r'label=("[^"]*"|\S+)', lines[i + 1])
            out.append(m.group(1).strip('"'))
    return out


def small_graph():
    """linear -> relu -> sum on fixed numbers: x (data), w and b (named leaves)."""
    x = minigrad.Tensor(np.array([[1.0, -2.0, 0.5]]), name="x")
    w = minigrad.Tensor(np.array([[0.5, -1.0, 2.0], [1.0, 1.0, 1.0]]), requires_grad=True, name="w")
    b = minigrad.Tensor(np.array([0.1, -3.0]), requires_grad=True, name="b")
    h = minigrad.linear(x, w, b)
    loss = h.relu().sum()
    return loss, (x, w, b)


def scoped_graph():
    """The small graph again, its linear and relu recorded under module scopes."""
    x = minigrad.Tensor(np.array([[1.0, -2.0, 0.5]]), name="x")
    w = nn.Parameter(np.array([[0.5, -1.0, 2.0], [1.0, 1.0, 1.0]]), name="net.fc.weight")
    b = nn.Parameter(np.array([0.1, -3.0]), name="net.fc.bias")
    with minigrad.name_scope("net"):
        with minigrad.name_scope("fc"):
            h = minigrad.linear(x, w, b)
        with minigrad.name_scope("act"):
            r = h.relu()
    return r.sum(), (x, w, b)


def seed_cnn(batch: int = 1):
    model = nn.from_spec(SEED_CNN, seed=0)
    rng = np.random.default_rng(0)
    x = minigrad.Tensor(rng.standard_normal((batch, 1, 8, 8)), dtype=np.float32, name="input")
    loss = minigrad.cross_entropy(model(x), np.arange(batch) % 10)
    return model, loss


# --------------------------------------------------------------------------- structure


def test_small_graph_nodes_edges_and_labels():
    loss, _ = small_graph()
    dot = viz.to_dot(loss)
    ids = nodes(dot)
    assert sorted(i for i in ids if i.startswith("op")) == ["op0", "op1", "op2"]
    assert sorted(i for i in ids if i.startswith("t")) == [f"t{i}" for i in range(6)]
    assert len(edges(dot)) == 3 + 1 + 2 + 2  # three inputs of linear, then one in, one out each
    assert label_of(dot, "op0").strip() == "linear"
    assert "relu" in label_of(dot, "op1")
    assert "keepdims=False" in label_of(dot, "op2")  # attributes are shown
    assert "(1, 3) float64" in label_of(dot, find(dot, "x"))
    assert "(2, 3) float64" in label_of(dot, find(dot, "w"))
    assert "scalar float64" in label_of(dot, "t5")
    # Each input of a several-input op is labelled with the argument it feeds.
    into_linear = {(s, a) for s, d, a in edges(dot) if d == "op0"}
    assert into_linear == {("t0", "label=x"), ("t1", "label=w"), ("t2", "label=b")}
    assert ("op0", "t3", "") in edges(dot)
    assert "peripheries=2" in ids["t5"]  # the root
    assert "peripheries" not in ids["t3"]


def test_parameter_input_and_intermediate_are_told_apart():
    loss, _ = scoped_graph()
    dot = viz.to_dot(loss)
    assert "#dff0d8" in nodes(dot)[find(dot, "net.fc.weight")]  # parameter: green
    assert "#eeeeee" in nodes(dot)[find(dot, "x")]  # data: grey
    assert "fillcolor" not in nodes(dot)["t3"]  # computed: plain


def test_input_used_twice_draws_two_edges():
    x = minigrad.Tensor(np.ones(2), requires_grad=True, name="x")
    dot = viz.to_dot(((x + x) * x).sum())
    assert [e for e in edges(dot) if e[:2] == ("t0", "op0")] == [
        ("t0", "op0", "label=a"),
        ("t0", "op0", "label=b"),
    ]
    back = viz.to_dot(((x + x) * x).sum(), view="backward")
    assert len([e for e in edges(back) if e[:2] == ("op0", "t0")]) == 2


def test_several_roots_share_their_graph():
    x = minigrad.Tensor(np.ones(3), requires_grad=True, name="x")
    h = x * 2
    a, b = h.sum(), h.relu().sum()
    dot = viz.to_dot([a, b])
    assert len([i for i in nodes(dot) if i.startswith("op")]) == 4  # mul, sum, relu, sum
    assert sum("peripheries=2" in attrs for attrs in nodes(dot).values()) == 2
    h_id = next(d for s, d, _ in edges(dot) if s == "op0")
    assert len([e for e in edges(dot) if e[0] == h_id]) == 2  # h is read by sum and relu


def test_same_graph_same_source():
    first = viz.to_dot(small_graph()[0], grads=False).source
    second = viz.to_dot(small_graph()[0], grads=False).source
    assert first == second
    assert "0x" not in first  # no memory addresses


def test_graph_after_backward_is_still_drawn():
    loss, _ = small_graph()
    before = viz.to_dot(loss).source
    loss.backward()  # releases the saved arrays, keeps the structure
    assert viz.to_dot(loss).source == before


def test_to_dot_does_not_change_the_graph():
    loss, (_, w, _) = small_graph()
    viz.to_dot(loss, grads=True, values=True, depth=0)
    loss.backward()
    assert w.grad is not None
    assert all(t.grad is None for t in (loss,))  # nothing was retained behind our back


# --------------------------------------------------------------------------- golden DOT


@pytest.mark.parametrize(
    "name, options",
    [
        ("forward", {}),
        ("forward_grads_values", {"grads": True, "values": True}),
        ("backward_grads", {"view": "backward", "grads": True}),
        ("collapsed", {"depth": 1, "grads": True}),
    ],
)
def test_golden_dot(name, options):
    loss, _ = scoped_graph()
    viz.retain_grads(loss)
    loss.backward()
    source = viz.to_dot(loss, **options).source
    path = GOLDEN / f"{name}.dot"
    if os.environ.get("MINIGRAD_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    assert source == path.read_text()


# --------------------------------------------------------------------------- clusters


def test_scopes_become_nested_labelled_clusters():
    loss, _ = scoped_graph()
    dot = viz.to_dot(loss)
    assert clusters(dot) == ["net", "fc", "act"]
    src = dot.source
    net = src.index("label=net")
    fc = src.index("label=fc")
    # The parameters sit in the cluster of the module that uses them; the data stays outside.
    assert net < fc < src.index("net.fc.weight") < src.index("label=act")
    assert src.index(f"\t{find(dot, 'x')} [") < net
    # The output of fc, read by act, sits in their common cluster, net.
    assert net < src.index("\tt3 [") < fc


def test_model_labels_clusters_with_module_types():
    model, loss = seed_cnn()
    dot = viz.to_dot(loss, model=model)
    labels = clusters(dot)
    assert labels[0] == "Sequential"
    assert labels[1].startswith("0: Conv2d(1, 8, kernel_size=(3, 3)")
    assert labels[2:] == ["1: ReLU", "2: Flatten(start_axis=1)", labels[4]]
    assert labels[4].startswith("3: Linear(in_features=288, out_features=10")
    # Without the model, clusters carry the scope names.
    assert clusters(viz.to_dot(loss)) == ["Sequential", "0", "1", "2", "3"]


def test_seed_cnn_shows_every_op_and_parameter():
    _, loss = seed_cnn()
    dot = viz.to_dot(loss)
    ops = [label_of(dot, i).split()[0] for i in nodes(dot) if i.startswith("op")]
    assert sorted(ops) == ["conv2d", "cross_entropy", "linear", "relu", "reshape"]
    assert "stride=(1, 1) padding=(0, 0)" in label_of(dot, find(dot, "conv2d"))
    assert "shape=(1, 288)" in label_of(dot, find(dot, "reshape"))
    for name, shape in [
        ("0.weight", "(8, 1, 3, 3)"),
        ("0.bias", "(8,)"),
        ("3.weight", "(10, 288)"),
        ("3.bias", "(10,)"),
    ]:
        assert f"{shape} float32" in label_of(dot, find(dot, name))
    assert "(1, 8, 6, 6) float32" in dot.source


# --------------------------------------------------------------------------- collapse


def test_depth_collapses_each_module_into_one_node():
    model, loss = seed_cnn()
    dot = viz.to_dot(loss, depth=1, model=model)
    ids = nodes(dot)
    groups = [i for i in ids if i.startswith("mod")]
    assert groups == ["mod0", "mod1", "mod2", "mod3"]
    assert [i for i in ids if i.startswith("op")] == ["op4"]  # cross_entropy, outside modules
    assert clusters(dot) == ["Sequential"]
    conv = label_of(dot, "mod0")
    assert "0: Conv2d" in conv and "conv2d" in conv
    # Parameters are listed inside their module's node, not drawn apart.
    assert "0.weight (8, 1, 3, 3)" in conv and "0.bias (8,)" in conv
    assert not any("0.weight" in label_of(dot, i) for i in ids if i.startswith("t"))
    # The chain: input -> 0 -> (1, 8, 6, 6) -> 1 -> ... -> 3 -> logits, two edges per
    # module; then logits and target into cross_entropy, and the loss out of it.
    assert len(edges(dot)) == 2 * 4 + 3
    assert ("mod0", "mod1") not in {e[:2] for e in edges(dot)}  # a tensor between them


def test_depth_zero_is_the_whole_model_in_one_node():
    model, loss = seed_cnn()
    dot = viz.to_dot(loss, depth=0, model=model)
    assert [i for i in nodes(dot) if i.startswith("mod")] == ["mod0"]
    whole = label_of(dot, "mod0")
    assert "Sequential" in whole and "5 ops" not in whole and "4 ops" in whole
    assert clusters(dot) == []
    # The module, cross_entropy, and the input, logits, target and loss tensors.
    assert len(nodes(dot)) == 2 + 4
    assert "<b>input</b>" in dot.source and "(1, 10) float32" in dot.source


def test_depth_keeps_ops_above_it():
    loss, _ = scoped_graph()
    dot = viz.to_dot(loss, depth=5)
    assert dot.source == viz.to_dot(loss).source


def test_collapsed_backward_view():
    model, loss = seed_cnn()
    viz.retain_grads(loss)
    loss.backward()
    dot = viz.to_dot(loss, depth=1, model=model, view="backward", grads=True)
    assert [i for i in nodes(dot) if i.startswith("mod")] == ["mod0", "mod1", "mod2", "mod3"]
    assert "conv2d.backward" in label_of(dot, "mod0")
    assert "in:" in label_of(dot, "mod3")
    chain = [e[:2] for e in edges(dot)]
    assert ("mod3", "mod2") in chain and ("mod1", "mod0") in chain


# --------------------------------------------------------------------------- backward view


def test_backward_view_edges_carry_gradient_shapes():
    loss, _ = small_graph()
    dot = viz.to_dot(loss, view="backward")
    assert "linear.backward" in label_of(dot, "op0")
    assert "dL/dL = 1" in label_of(dot, "seed0")
    got = {(s, d): a for s, d, a in edges(dot)}
    assert got[("seed0", "op2")].startswith("label=scalar")
    assert 'label="dL/dx (1, 2)"' in got[("op2", "op1")]
    assert 'label="dL/dw (2, 3)"' in got[("op0", find(dot, "w"))]
    assert 'label="dL/db (2,)"' in got[("op0", find(dot, "b"))]
    # x needs no gradient: no edge to it, and it is not drawn.
    assert "<b>x</b>" not in dot.source
    assert len(got) == 5


def test_backward_view_of_a_non_scalar_root_names_the_seed_shape():
    x = minigrad.Tensor(np.ones((2, 3)), requires_grad=True)
    dot = viz.to_dot(x * 2, view="backward")
    assert "grad of shape (2, 3)" in label_of(dot, "seed0")


# --------------------------------------------------------------------------- gradients


def fill(dot, node_id: str) -> str:
    return re.search(r'fillcolor="?([^" ]+)', nodes(dot)[node_id]).group(1)


def test_gradient_norms_and_log_colour_scale():
    w = minigrad.Tensor(np.ones(4), requires_grad=True, name="small")
    v = minigrad.Tensor(np.ones(4), requires_grad=True, name="large")
    loss = (w * 0.001).sum() + (v * 1000.0).sum()
    loss.backward()
    dot = viz.to_dot(loss, grads=True)
    small, large = find(dot, "small"), find(dot, "large")
    assert "‖grad‖ 0.002" in label_of(dot, small)  # ||(0.001, 0.001, 0.001, 0.001)||
    assert "‖grad‖ 2e+03" in label_of(dot, large)
    assert fill(dot, small) == viz._SCALE[0]
    assert fill(dot, large) == viz._SCALE[-1]
    assert "fontcolor=white" in nodes(dot)[large]
    legend = label_of(dot, "legend")
    assert "log scale" in legend and "0.002" in legend and "2e+03" in legend
    assert "NaN / inf" in legend
    assert "retain_grads" in legend  # the intermediate tensors kept no gradient


def test_retain_grads_gives_every_tensor_a_gradient():
    loss, _ = small_graph()
    viz.retain_grads(loss)
    loss.backward()
    dot = viz.to_dot(loss, grads=True)
    for i in nodes(dot):
        if i.startswith("t") and "<b>x</b>" not in nodes(dot)[i]:
            assert "‖grad‖" in label_of(dot, i), i
    assert "retain_grads" not in label_of(dot, "legend")


def test_zero_gradient_is_white():
    w = minigrad.Tensor(np.array([-1.0, -2.0]), requires_grad=True, name="dead")
    loss = w.relu().sum() + (w * 0.0).sum() * 0.0
    loss.backward()
    dot = viz.to_dot(loss, grads=True)
    assert "‖grad‖ 0" in label_of(dot, find(dot, "dead"))
    assert fill(dot, find(dot, "dead")) == "white"


@pytest.mark.parametrize("bad, word", [(np.nan, "NaN"), (np.inf, "inf")])
def test_nan_and_inf_gradients_are_loud(bad, word):
    w = minigrad.Tensor(np.ones(3), requires_grad=True, name="w")
    loss = (w * np.array([1.0, bad, 1.0])).sum()
    loss.backward()
    dot = viz.to_dot(loss, grads=True)
    attrs = nodes(dot)[find(dot, "w")]
    assert f"grad has {word}!" in label_of(dot, find(dot, "w"))
    assert f'fillcolor="{viz._NAN}"' in attrs and "penwidth=3" in attrs
    assert "<b>grad has" in attrs  # bold
    # Collapsed, the module's node is outlined in red and its row says so.
    with minigrad.name_scope("m"):
        loss = (w * np.array([1.0, bad, 1.0])).sum()
    w.grad = None
    loss.backward()
    collapsed = viz.to_dot(loss, grads=True, depth=0)
    assert "penwidth=3" in nodes(collapsed)["mod0"]
    assert f"grad has {word}!" in label_of(collapsed, "mod0")


def test_grads_before_backward_says_so():
    loss, _ = small_graph()
    dot = viz.to_dot(loss, grads=True)
    assert "call backward() first" in label_of(dot, "legend")
    assert "legend" not in nodes(viz.to_dot(loss))


def test_values_show_statistics():
    loss, _ = small_graph()
    dot = viz.to_dot(loss, values=True)
    assert "min -2 · mean -0.167 · max 1" in label_of(dot, find(dot, "x"))
    assert "value " in label_of(dot, "t5")


# --------------------------------------------------------------------------- rendering


@needs_dot
def test_render_svg_through_dot(tmp_path):
    model, loss = seed_cnn()
    viz.retain_grads(loss)
    loss.backward()
    out = viz.render(loss, tmp_path / "graph.svg", model=model, grads=True)
    assert out == tmp_path / "graph.svg"
    root = ET.parse(out).getroot()
    assert root.tag.endswith("svg")
    texts = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    for expected in ["conv2d", "relu", "reshape", "linear", "cross_entropy", "0.weight",
                     "3.bias", "(1, 8, 6, 6) float32", "0: Conv2d", "‖grad‖"]:  # fmt: skip
        assert expected in texts, expected
    titles = {t.text for t in root.iter() if t.tag.endswith("title")}
    assert {"op0", "t0", "cluster_0"} <= titles


@needs_dot
@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".pdf", b"%PDF")])
def test_render_format_follows_suffix(tmp_path, suffix, magic):
    loss, _ = small_graph()
    out = viz.render(loss, tmp_path / f"graph{suffix}")
    assert out.read_bytes().startswith(magic)


def test_render_dot_source_needs_no_graphviz(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    loss, _ = small_graph()
    out = viz.render(loss, tmp_path / "sub" / "graph.dot", view="backward")
    assert out.read_text() == viz.to_dot(loss, view="backward").source


def test_render_without_dot_writes_source_and_says_how_to_install(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    loss, _ = small_graph()
    with pytest.raises(GraphvizNotFoundError) as info:
        viz.render(loss, tmp_path / "graph.svg")
    message = str(info.value)
    assert "'dot' program was not found" in message
    for hint in ["apt-get install graphviz", "brew install graphviz", "dnf install graphviz",
                 "choco install graphviz", "graph.dot"]:  # fmt: skip
        assert hint in message
    assert isinstance(info.value, RuntimeError)
    assert (tmp_path / "graph.dot").read_text() == viz.to_dot(loss).source
    assert not (tmp_path / "graph.svg").exists()


@needs_dot
def test_jupyter_displays_the_digraph_inline():
    loss, _ = small_graph()
    bundle = viz.to_dot(loss)._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]


# --------------------------------------------------------------------------- errors


def test_a_module_is_refused_with_what_to_pass():
    with pytest.raises(VizError, match=r"call it on an input and pass the output"):
        viz.to_dot(nn.Linear(3, 2, rng=0))


def test_an_array_is_refused():
    with pytest.raises(VizError, match="NumPy array"):
        viz.to_dot(np.ones(3))


def test_a_list_with_something_else_is_refused():
    loss, _ = small_graph()
    with pytest.raises(VizError, match="item 1 of the sequence is of type float, not a Tensor"):
        viz.to_dot([loss, 1.0])
    with pytest.raises(VizError, match="empty"):
        viz.to_dot([])
    with pytest.raises(VizError, match="expected a Tensor"):
        viz.to_dot({"loss": loss})


def test_a_tensor_without_a_graph_is_refused():
    with pytest.raises(VizError, match=r"requires_grad=True.*no_grad\(\)"):
        viz.to_dot(minigrad.Tensor(np.ones(2)) * 2)
    w = minigrad.Tensor(np.ones(2), requires_grad=True)
    with minigrad.no_grad():
        y = w * 2
    with pytest.raises(VizError, match="recorded no graph"):
        viz.render(y, "unused.svg")
    with pytest.raises(VizError, match="is a leaf"):
        viz.to_dot(w)
    with pytest.raises(VizError):
        viz.retain_grads(y)


def test_viz_error_is_a_type_and_a_value_error():
    for base in (TypeError, ValueError, minigrad.MinigradError):
        with pytest.raises(base):
            viz.to_dot(np.ones(3))


@pytest.mark.parametrize(
    "options, match",
    [
        ({"view": "sideways"}, "view must be"),
        ({"depth": -1}, "depth must be"),
        ({"depth": 1.5}, "depth must be"),
        ({"rankdir": "up"}, "rankdir must be"),
        ({"model": "net"}, "model= must be the Module"),
    ],
)
def test_bad_options(options, match):
    loss, _ = small_graph()
    with pytest.raises((ArgumentError, VizError), match=match):
        viz.to_dot(loss, **options)


def test_unknown_format(tmp_path):
    loss, _ = small_graph()
    with pytest.raises(ArgumentError, match="format must be one of svg, png, pdf"):
        viz.render(loss, tmp_path / "graph.jpg")


# --------------------------------------------------------------------------- the command


@needs_dot
def test_graph_command_writes_an_svg(tmp_path, capsys):
    out = tmp_path / "graph.svg"
    assert cli.main(["graph", str(SEED_CNN), "-o", str(out), "--grads"]) == 0
    assert "seed_cnn" in capsys.readouterr().out
    texts = " ".join(t.text or "" for t in ET.parse(out).getroot().iter() if t.text)
    assert "0.weight" in texts and "‖grad‖" in texts and "loss" in texts


def test_graph_command_options_reach_the_drawing(tmp_path):
    out = tmp_path / "graph.dot"
    argv = ["graph", str(SEED_CNN), "-o", str(out), "--depth", "1", "--view", "backward",
            "--grads", "--values", "--batch-size", "2", "--rankdir", "LR"]  # fmt: skip
    assert cli.main(argv) == 0
    source = out.read_text()
    assert "rankdir=LR" in source
    assert "mod3" in source and "conv2d.backward" in source
    assert "(2, 10)" in source  # batch of two
    assert "‖grad‖" in source


def test_graph_command_input_shape(tmp_path):
    out = tmp_path / "graph.dot"
    assert cli.main(["graph", str(SEED_CNN), "-o", str(out), "--input-shape", "1,28,28"]) == 0
    assert "(1, 8, 26, 26) float32" in out.read_text()


def test_graph_command_without_dot_fails_in_one_line(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert cli.main(["graph", str(SEED_CNN), "-o", str(tmp_path / "g.svg")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("minigrad graph: error:") and "apt-get install graphviz" in err
    assert (tmp_path / "g.dot").exists()


def test_graph_command_reads_a_checkpoint(tmp_path):
    from minigrad.checkpoint import save_checkpoint

    model = nn.from_spec(SEED_CNN, seed=3)
    model[0].weight.data[...] = 0.5  # a trained model's weights, recognisable in the values
    save_checkpoint(tmp_path / "checkpoint.npz", model)
    out = tmp_path / "graph.dot"
    argv = ["graph", str(tmp_path / "checkpoint.npz"), "-o", str(out), "--values"]
    assert cli.main(argv) == 0
    assert "0.weight" in out.read_text() and "value 0.5" not in out.read_text()
    assert "min 0.5 · mean 0.5 · max 0.5" in out.read_text()


def test_values_mark_nan_and_inf():
    z = minigrad.Tensor(np.array([[800.0, 1.0, 2.0]]), requires_grad=True, name="z")
    with np.errstate(over="ignore", invalid="ignore"):
        e = z.exp()
        p = e / e.sum(axis=1, keepdims=True)
    dot = viz.to_dot(p, values=True)
    assert "1 of 3 values are inf!" in label_of(dot, "t1")
    assert "1 of 3 values are NaN!" in label_of(dot, "t3")
    assert viz._NAN in nodes(dot)["t3"]


class Net(nn.Module):
    """A model with nested modules: features.0 is a convolution inside a Sequential."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 2, 3, rng=0), nn.ReLU())
        self.head = nn.Linear(2 * 2 * 2, 3, rng=1)

    def forward(self, x):
        return self.head(minigrad.flatten(self.features(x)))


def test_nested_modules_nest_their_clusters():
    net = Net()
    x = minigrad.Tensor(np.ones((1, 1, 4, 4)), dtype=np.float32, name="input")
    loss = minigrad.cross_entropy(net(x), np.array([1]))
    dot = viz.to_dot(loss, model=net)
    assert find(dot, "features.0.weight") and find(dot, "head.bias")
    labels = clusters(dot)
    assert labels[:3] == ["Net", "features: Sequential", labels[2]]
    assert labels[2].startswith("features.0: Conv2d(1, 2")
    assert "features.1: ReLU" in labels and any(s.startswith("head: Linear") for s in labels)
    # depth=2 keeps two levels as frames (Net; features and head) and collapses the third.
    collapsed = viz.to_dot(loss, model=net, depth=2)
    assert clusters(collapsed)[:2] == ["Net", "features: Sequential"]
    assert clusters(collapsed)[2].startswith("head: Linear")
    groups = [label_of(collapsed, i) for i in nodes(collapsed) if i.startswith("mod")]
    assert len(groups) == 2
    assert "features.0.weight (2, 1, 3, 3)" in groups[0] and "features.1: ReLU" in groups[1]
    assert "linear" in collapsed.source  # head's op is drawn, inside its frame
    # depth=1 collapses features and head into one node each.
    assert len([i for i in nodes(viz.to_dot(loss, depth=1)) if i.startswith("mod")]) == 2
    # The flatten Net.forward calls itself is an op of Net, drawn alone.
    assert "reshape" in collapsed.source


def bn_model_loss():
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3, bias=False, rng=0),
        nn.BatchNorm2d(2),
        nn.LeakyReLU(0.1),
        nn.AvgPool2d(2, padding=1),
        nn.Flatten(),
        nn.Dropout(0.5, rng=0),
        nn.Linear(18, 3, rng=1),
    )
    x = minigrad.Tensor(np.random.default_rng(0).random((2, 1, 6, 6)).astype(np.float32))
    loss = minigrad.cross_entropy(model(x), np.array([0, 2]))
    return model, loss


def test_the_new_ops_draw_with_their_attributes():
    _, loss = bn_model_loss()
    labels = " ".join(nodes(viz.to_dot(loss)).values())
    for text in (
        "batch_norm",
        "batch_stats=True eps=1e-05",
        "leaky_relu",
        "negative_slope=0.1",
        "avg_pool2d",
        "padding=(1, 1)",
        "dropout",
        "p=0.5",
        "batch mean",
        "batch variance",
        "dropout mask",
    ):
        assert text in labels, text


def test_depth_one_collapses_a_batch_norm_layer_to_one_node():
    model, loss = bn_model_loss()
    dot = viz.to_dot(loss, depth=1, model=model)
    boxes = [label for label in nodes(dot).values() if "BatchNorm2d" in label]
    assert len(boxes) == 1 and "batch_norm" in boxes[0] and "1.weight" in boxes[0]
    model.eval()
    loss = minigrad.cross_entropy(model(np.ones((2, 1, 6, 6), np.float32)), np.array([0, 1]))
    labels = " ".join(nodes(viz.to_dot(loss, depth=1, model=model)).values())
    assert "1.running_mean" in labels and "dropout" not in labels  # no dropout in evaluation


def test_a_skip_connection_draws_its_gradients_meeting():
    g = nn.Graph(
        [
            ("lin", nn.Linear(3, 3, rng=0), ["input"]),
            ("relu", nn.ReLU(), ["lin"]),
            ("add", nn.Add(), ["lin", "relu"]),
        ]
    )
    x = minigrad.Tensor(np.ones((1, 3), np.float32))
    loss = g(x).sum()
    back = viz.to_dot(loss, view="backward")
    plus = [i for i, attrs in nodes(back).items() if 'label="+"' in attrs]
    assert len(plus) == 1
    into = [e for e in edges(back) if e[1] == plus[0]]
    out = [e for e in edges(back) if e[0] == plus[0]]
    assert len(into) == 2 and len(out) == 1  # relu's and add's gradients, summed for linear
    assert find(back, "linear.backward") == out[0][1]
