"""The PNG pictures: curves, filters, confusion matrix."""

import numpy as np
import pytest

from minigrad import plots

PNG = b"\x89PNG\r\n\x1a\n"


def test_plot_history(tmp_path):
    records = [
        {
            "epoch": 1,
            "train_loss": 1.0,
            "train_accuracy": 0.5,
            "val_loss": 1.1,
            "val_accuracy": 0.4,
        },
        {
            "epoch": 2,
            "train_loss": 0.5,
            "train_accuracy": 0.8,
            "val_loss": 0.6,
            "val_accuracy": 0.7,
        },
    ]
    path = plots.plot_history(records, tmp_path / "sub" / "curves.png")
    assert path.read_bytes()[:8] == PNG


@pytest.mark.parametrize("shape", [(8, 1, 3, 3), (16, 6, 5, 5), (1, 1, 2, 2)])
def test_plot_filters(tmp_path, shape):
    weight = np.random.default_rng(0).standard_normal(shape)
    assert plots.plot_filters(weight, tmp_path / "f.png").read_bytes()[:8] == PNG


def test_plot_filters_needs_a_conv_weight(tmp_path):
    with pytest.raises(ValueError, match=r"\(F, C, kh, kw\)"):
        plots.plot_filters(np.zeros((3, 3)), tmp_path / "f.png")


def test_plot_confusion_matrix(tmp_path):
    cm = np.array([[5, 1], [0, 4]])
    assert plots.plot_confusion_matrix(cm, tmp_path / "c.png").read_bytes()[:8] == PNG


def test_plots_leave_the_pyplot_backend_alone(tmp_path):
    import matplotlib

    before = matplotlib.get_backend()
    plots.plot_confusion_matrix(np.eye(3, dtype=int), tmp_path / "c.png")
    assert matplotlib.get_backend() == before


def test_plot_gradients_on_a_log_scale_skips_zero_norms(tmp_path):
    gradients = [{"epoch": 1, "0.weight": 1.0, "0.bias": 0.0}, {"epoch": 2, "0.weight": 1e-6}]
    path = plots.plot_gradients(gradients, tmp_path / "g.png")
    assert path.read_bytes()[:8] == PNG
