"""fit / evaluate / predict: the training loop, its history, and digits accuracy."""

from pathlib import Path

import numpy as np
import pytest

import minigrad
from minigrad import data, nn, optim
from minigrad.train import History, confusion_matrix, evaluate, fit, predict

MODELS = Path(__file__).resolve().parents[1] / "models"


def blobs(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.0]])
    x = (centres[y] + 0.5 * rng.standard_normal((n, 2))).astype(np.float32)
    return x, y


def test_fit_learns_and_records_a_history():
    x, y = blobs()
    model = nn.Sequential(nn.Linear(2, 3, rng=0))
    h = fit(
        model,
        optim.SGD(model.parameters(), lr=0.1),
        data.DataLoader(x, y, shuffle=True),
        epochs=4,
        val=blobs(30, seed=1),
        progress=False,
    )
    assert isinstance(h, History) and len(h) == 4
    assert h["epoch"] == [1, 2, 3, 4]
    assert h.keys() == [
        "epoch",
        "train_loss",
        "train_accuracy",
        "val_loss",
        "val_accuracy",
        "seconds",
    ]
    assert h["train_loss"][-1] < h["train_loss"][0]
    assert h["val_accuracy"][-1] > 0.9


def test_one_per_sample_step_is_the_design_document_update():
    x, y = blobs(1)
    model = nn.Sequential(nn.Linear(2, 3, rng=0, dtype=np.float64))
    w0, b0 = model[0].weight.data.copy(), model[0].bias.data.copy()
    fit(
        model,
        optim.SGD(model.parameters(), lr=0.5),
        data.DataLoader(x.astype(np.float64), y),
        progress=False,
    )
    # By hand: dL/dZ = yhat - y, dL/dW = (yhat - y)^T x, W <- W - eta dL/dW.
    z = x.astype(np.float64) @ w0.T + b0
    yhat = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    dz = yhat - np.eye(3)[y]
    np.testing.assert_allclose(model[0].weight.data, w0 - 0.5 * dz.T @ x, rtol=1e-12)
    np.testing.assert_allclose(model[0].bias.data, b0 - 0.5 * dz[0], rtol=1e-12)


def test_mini_batches_and_the_epoch_loss():
    x, y = blobs()
    model = nn.Sequential(nn.Linear(2, 3, rng=0))
    opt = optim.Adam(model.parameters(), lr=0.05)
    h = fit(
        model, opt, data.DataLoader(x, y, batch_size=16, shuffle=True), epochs=3, progress=False
    )
    assert opt.state[0]["step"] == 3 * 4  # 60 samples in batches of 16: 4 steps an epoch
    assert 0 < h["train_loss"][-1] < h["train_loss"][0]


def test_on_epoch_end_and_start_epoch():
    x, y = blobs()
    model = nn.Sequential(nn.Linear(2, 3, rng=0))
    seen = []
    fit(
        model,
        optim.SGD(model.parameters(), lr=0.1),
        data.DataLoader(x, y),
        epochs=5,
        start_epoch=3,
        progress=False,
        on_epoch_end=lambda e, r: seen.append((e, r["epoch"])),
    )
    assert seen == [(4, 4), (5, 5)]


def test_fit_prints_a_line_per_epoch(capsys):
    x, y = blobs(10)
    model = nn.Sequential(nn.Linear(2, 3, rng=0))
    fit(model, optim.SGD(model.parameters(), lr=0.1), data.DataLoader(x, y), epochs=2, val=(x, y))
    err = capsys.readouterr().err
    assert "epoch 1/2  train_loss" in err and "val_accuracy" in err


def test_divergence_is_reported():
    x, y = blobs()
    model = nn.Sequential(nn.Linear(2, 3, rng=0))
    with (
        np.errstate(all="ignore"),
        pytest.raises(FloatingPointError, match="smaller learning rate"),
    ):
        fit(
            model,
            optim.SGD(model.parameters(), lr=1e30),
            data.DataLoader(x * 1e10, y),
            progress=False,
        )


def test_evaluate_and_predict():
    x, y = blobs()
    model = nn.Sequential(nn.Linear(2, 3, rng=0))
    logits = predict(model, x, batch_size=7)
    assert logits.shape == (60, 3)
    assert model.training  # predict restores the mode
    result = evaluate(model, x, y, batch_size=7)
    assert result["accuracy"] == pytest.approx(float((logits.argmax(1) == y).mean()))
    assert result["loss"] == pytest.approx(minigrad.cross_entropy(logits, y).item(), rel=1e-6)
    np.testing.assert_array_equal(result["predictions"], logits.argmax(1))
    with pytest.raises(ValueError, match="no samples"):
        evaluate(model, x[:0], y[:0])


def test_confusion_matrix():
    cm = confusion_matrix(np.array([0, 0, 1, 2, 2]), np.array([0, 1, 1, 2, 0]), 3)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 1, 0], [1, 0, 1]])


def test_history_files(tmp_path):
    h = History(
        [{"epoch": 1, "train_loss": 0.5}, {"epoch": 2, "train_loss": 0.25, "val_loss": 0.3}]
    )
    h.to_csv(tmp_path / "m.csv")
    assert (tmp_path / "m.csv").read_text().splitlines() == [
        "epoch,train_loss,val_loss",
        "1,0.5,",
        "2,0.25,0.3",
    ]
    h.to_json(tmp_path / "m.json")
    assert '"train_loss": 0.25' in (tmp_path / "m.json").read_text()


@pytest.mark.slow
def test_seed_cnn_reaches_95_percent_on_held_out_digits():
    """The demo's setting: per-sample SGD, lr 0.02, 20 epochs, 10% validation carved out."""
    (x, y), (x_test, y_test) = data.train_val_split(*data.load_digits(), 0.2, seed=0)
    (x, y), _ = data.train_val_split(x, y, 0.1, seed=0)
    model = nn.from_spec(MODELS / "seed_cnn.toml", seed=0)
    fit(
        model,
        optim.SGD(model.parameters(), lr=0.02),
        data.DataLoader(x, y, shuffle=True),
        epochs=20,
        progress=False,
    )
    assert evaluate(model, x_test, y_test)["accuracy"] >= 0.95
