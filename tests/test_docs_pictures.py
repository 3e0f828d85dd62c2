"""The teaching pictures are drawn by code (docs/_ext/pictures.py, ``make pictures``)."""

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def pictures_module():
    path = DOCS / "_ext" / "pictures.py"
    spec = importlib.util.spec_from_file_location("pictures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_picture_is_drawn(tmp_path):
    pictures = pictures_module()
    written = pictures.draw_all(tmp_path)
    assert [p.name for p in written] == list(pictures.PICTURES)
    for path in written:
        assert path.read_text().lstrip().startswith("<?xml"), path.name
        assert (DOCS / "images" / path.name).is_file(), f"run make pictures: {path.name}"


def test_the_autodiff_picture_is_the_graph_of_x_plus_x_times_x(tmp_path):
    svg = pictures_module().autodiff_graph(tmp_path).read_text()
    for label in ("add", "mul", ">x<", ">y<"):
        assert label in svg, label
    # x -> add twice, add -> x + x, x + x -> mul, x -> mul, mul -> y
    assert svg.count('class="edge"') == 6


def test_each_page_shows_its_pictures_and_autodiff_starts_with_the_small_graph():
    autodiff = (DOCS / "autodiff.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", autodiff)
    assert images[0] == "images/autodiff_x_plus_x_times_x.svg"
    assert autodiff.index("y = (x + x) * x") < autodiff.index(images[0])
    conv = (DOCS / "derivations" / "conv.md").read_text()
    assert "../images/conv_window_im2col.svg" in conv
    assert "../images/max_pool_routing.svg" in conv
    assert "pictures:" in (ROOT / "Makefile").read_text()
