"""run / fit / evaluate / predict: a whole run, the training loop, its history, accuracy."""

import json
from pathlib import Path

import numpy as np
import pytest

import minigrad
from minigrad import data, nn, optim
from minigrad.errors import ArgumentError, CheckpointError, SpecError
from minigrad.train import (
    History,
    RunResult,
    confusion_matrix,
    evaluate,
    evaluate_checkpoint,
    fit,
    load_model,
    predict,
    run,
)

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


# ---------------------------------------------------------------------------- one-hot targets


@pytest.mark.parametrize("batch_size", [1, 3, 10, 32])
def test_accuracy_with_one_hot_targets_matches_class_targets(batch_size):
    """cross_entropy and DataLoader take one-hot float targets; accuracy counts them right."""
    x, y = blobs(40)
    one_hot = np.eye(3, dtype=np.float32)[y]
    runs = []
    for targets in (y, one_hot):
        model = nn.Sequential(nn.Linear(2, 3, rng=0))
        h = fit(
            model,
            optim.SGD(model.parameters(), lr=0.1),
            data.DataLoader(x, targets, batch_size=batch_size, shuffle=True),
            epochs=4,
            val=(x[:10], targets[:10]),
            progress=False,
        )
        runs.append((h, evaluate(model, x, targets, batch_size=batch_size)))
    (h_idx, e_idx), (h_hot, e_hot) = runs
    for key in ("train_accuracy", "val_accuracy"):
        assert h_hot[key] == pytest.approx(h_idx[key])
        assert all(0 <= a <= 1 for a in h_hot[key])
    assert e_hot["accuracy"] == pytest.approx(e_idx["accuracy"])
    assert e_hot["accuracy"] > 0.8


def test_evaluate_one_hot_accuracy_by_hand():
    model = nn.Sequential(nn.Linear(2, 3, rng=0))
    x = np.random.default_rng(3).standard_normal((10, 2)).astype(np.float32)
    predicted = predict(model, x).argmax(axis=1)
    labels = predicted.copy()
    labels[0] = (labels[0] + 1) % 3  # 9 of 10 right
    result = evaluate(model, x, np.eye(3)[labels])
    assert result["accuracy"] == pytest.approx(0.9)


# ---------------------------------------------------------------------------- run


def spec_with(**changes):
    spec = nn.load_spec(MODELS / "mlp.toml")
    spec.update(changes)
    return spec


def quick(tmp_path, model=MODELS / "mlp.toml", **kwargs):
    options = {"epochs": 1, "limit": 60, "plots": False, "progress": False, "log": None}
    options.update(kwargs)
    return run(model, out=tmp_path, **options)


def test_run_writes_a_whole_run(tmp_path):
    result = quick(tmp_path, plots=True, epochs=2)
    assert isinstance(result, RunResult)
    assert result.history["epoch"] == [1, 2]
    assert result.files == [
        "checkpoint.npz",
        "metrics.json",
        "metrics.csv",
        "curves.png",
        "confusion.png",
        "gradients.png",
    ]
    for name in result.files:
        assert (tmp_path / name).stat().st_size > 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] == pytest.approx(result.test["accuracy"])
    assert metrics["config"]["train_samples"] == 60
    assert result.confusion.sum() == metrics["config"]["test_samples"] == 359
    assert evaluate_checkpoint(tmp_path / "checkpoint.npz")["accuracy"] == pytest.approx(
        result.test["accuracy"]
    )


def test_run_refuses_a_validation_fraction_that_leaves_no_training_samples(tmp_path):
    with pytest.raises(ArgumentError, match="leaves no training samples"):
        quick(tmp_path, val_fraction=0.999)
    assert not (tmp_path / "checkpoint.npz").exists()


def test_run_refuses_an_empty_validation_set(tmp_path):
    with pytest.raises(ArgumentError, match="holds out no validation sample"):
        quick(tmp_path, val_fraction=0.0001)


def test_resuming_another_models_checkpoint_is_refused(tmp_path):
    quick(tmp_path / "mlp")
    with pytest.raises(CheckpointError, match="cannot resume: the checkpoint holds model 'mlp'"):
        quick(
            tmp_path / "cnn",
            model=MODELS / "seed_cnn.toml",
            epochs=2,
            resume=tmp_path / "mlp" / "checkpoint.npz",
        )
    assert not (tmp_path / "cnn" / "metrics.json").exists()
    with pytest.raises(ArgumentError, match="has trained 1 epochs already, so epochs=1 trains"):
        quick(tmp_path / "none", epochs=1, resume=tmp_path / "mlp" / "checkpoint.npz")
    resumed = quick(tmp_path / "again", epochs=2, resume=tmp_path / "mlp" / "checkpoint.npz")
    assert resumed.history["epoch"] == [1, 2]
    metrics = json.loads((tmp_path / "again" / "metrics.json").read_text())
    assert metrics["config"]["model"].endswith("mlp.toml")
    assert metrics["config"]["resumed_from"].endswith("checkpoint.npz")


@pytest.mark.parametrize("classes", [2, 12])
def test_a_spec_with_the_wrong_class_count_fails_before_training(tmp_path, classes):
    spec = spec_with()
    spec["layers"][-1]["out_features"] = classes
    with pytest.raises(SpecError, match=f"outputs {classes} class scores, but digits has 10"):
        quick(tmp_path, model=spec)
    assert not (tmp_path / "checkpoint.npz").exists()


def test_a_float64_spec_trains_on_float32_data(tmp_path):
    result = quick(tmp_path, model=spec_with(dtype="float64"))
    assert all(p.dtype == np.float64 for p in result.model.parameters())
    assert 0 <= result.test["accuracy"] <= 1
    report = evaluate_checkpoint(tmp_path / "checkpoint.npz")
    assert report["accuracy"] == pytest.approx(result.test["accuracy"])


def test_run_checks_its_arguments(tmp_path):
    for kwargs, message in (
        ({"optimizer": "rmsprop"}, r"run: optimizer must be one of \('sgd', 'adam'\)"),
        ({"epochs": 0}, "run: epochs must be a positive int, got 0"),
        ({"batch_size": 1.5}, "run: batch_size must be an int, got 1.5"),
        ({"val_fraction": 1.0}, r"val_fraction must be in \[0, 1\)"),
        ({"dataset": "cifar"}, "dataset must be one of digits, mnist"),
    ):
        with pytest.raises(ArgumentError, match=message):
            quick(tmp_path, **kwargs)
    with pytest.raises(ArgumentError, match="give a model spec"):
        run(None, out=tmp_path)


def test_load_model_from_a_spec_and_a_checkpoint(tmp_path):
    result = quick(tmp_path)
    again = load_model(tmp_path / "checkpoint.npz")
    for (name, p), (_, q) in zip(
        result.model.named_parameters(), again.named_parameters(), strict=True
    ):
        assert np.array_equal(p.data, q.data), name
    fresh = load_model(MODELS / "mlp.toml", seed=0)
    assert fresh.spec == again.spec


# ---------------------------------------------------------------------------- gradient norms


def full_batch_fit(epochs, grad_every, seed=0):
    x, y = blobs()
    model = nn.Sequential(nn.Linear(2, 3, rng=seed))
    loader = data.DataLoader(x, y, batch_size=len(x))  # one step per epoch
    h = fit(
        model,
        optim.SGD(model.parameters(), lr=0.1),
        loader,
        epochs=epochs,
        progress=False,
        grad_every=grad_every,
    )
    return model, h


def test_fit_records_each_parameters_gradient_norm_per_epoch():
    x, y = blobs()
    _, h = full_batch_fit(epochs=3, grad_every=1)
    assert [g["epoch"] for g in h.gradients] == [1, 2, 3]
    assert h.keys() == ["epoch", "train_loss", "train_accuracy", "seconds"]  # metrics apart
    # Replay: the gradient each epoch's one step computed, before its update.
    model = nn.Sequential(nn.Linear(2, 3, rng=0))
    sgd = optim.SGD(model.parameters(), lr=0.1)
    for record in h.gradients:
        sgd.zero_grad()
        minigrad.cross_entropy(model(x), y).backward()
        for name, p in model.named_parameters():
            assert record[name] == pytest.approx(float(np.linalg.norm(p.grad)), rel=1e-6)
        sgd.step()


def test_fit_samples_one_step_in_grad_every_and_averages_them():
    x, y = blobs(40)
    model = nn.Sequential(nn.Linear(2, 3, rng=0))
    twin = nn.Sequential(nn.Linear(2, 3, rng=0))
    loader = data.DataLoader(x, y, batch_size=4)  # 10 steps: sampled are 1, 5 and 9
    h = fit(model, optim.SGD(model.parameters(), lr=0.1), loader, progress=False, grad_every=4)
    sgd = optim.SGD(twin.parameters(), lr=0.1)
    norms = []
    for step, (xb, yb) in enumerate(loader):
        sgd.zero_grad()
        minigrad.cross_entropy(twin(xb), yb).backward()
        if step in (0, 4, 8):
            norms.append(np.linalg.norm(twin[0].weight.grad))
        sgd.step()
    assert h.gradients[0]["0.weight"] == pytest.approx(np.mean(norms), rel=1e-6)


def test_fit_without_gradient_norms_and_with_a_bad_grad_every():
    _, h = full_batch_fit(epochs=1, grad_every=0)
    assert h.gradients == []
    for bad in (-1, 1.5, True, "10"):
        with pytest.raises(ArgumentError, match="fit: grad_every must be an int"):
            full_batch_fit(epochs=1, grad_every=bad)


def test_a_run_keeps_its_gradient_norms_in_metrics_the_checkpoint_and_a_picture(tmp_path):
    from minigrad.checkpoint import load_checkpoint

    whole = quick(tmp_path / "whole", epochs=2, plots=True)
    assert (tmp_path / "whole" / "gradients.png").read_bytes()[:4] == b"\x89PNG"
    metrics = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    assert metrics["gradients"] == whole.history.gradients
    assert [g["epoch"] for g in whole.history.gradients] == [1, 2]
    assert set(whole.history.gradients[0]) == {"epoch", *dict(whole.model.named_parameters())}
    assert load_checkpoint(tmp_path / "whole" / "checkpoint.npz").gradients == metrics["gradients"]
    # Resumed after one epoch: the same norms as the uninterrupted run.
    quick(tmp_path / "first", epochs=1)
    resumed = quick(tmp_path / "rest", epochs=2, resume=tmp_path / "first" / "checkpoint.npz")
    assert resumed.history.gradients == whole.history.gradients


def test_fit_trains_in_training_mode_and_evaluate_runs_in_evaluation_mode():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = nn.Sequential(
        nn.Linear(6, 8, rng=0),
        nn.BatchNorm1d(8),
        nn.ReLU(),
        nn.Dropout(0.2, rng=1),
        nn.Linear(8, 2, rng=2),
    )
    model.eval()  # fit puts it back in training mode
    loader = data.DataLoader(x, y, batch_size=10)
    fit(model, optim.SGD(model.parameters(), lr=0.1), loader, epochs=1, progress=False)
    assert model[1].num_batches_tracked.item() == 4  # every batch normalised in training mode
    before = model.state_dict()
    first, second = evaluate(model, x, y), evaluate(model, x, y)
    assert first["loss"] == second["loss"]  # no dropout, running statistics only
    for key, value in model.state_dict().items():
        assert np.array_equal(before[key], value), key
    assert model.training  # evaluate restores the mode it found
