"""Checkpoints: contents, atomic writes, no pickle, and a bit-exact resume."""

import json
from pathlib import Path

import numpy as np
import pytest

from minigrad import data, nn, optim
from minigrad.checkpoint import load_checkpoint, save_checkpoint
from minigrad.errors import CheckpointError
from minigrad.train import fit

MODELS = Path(__file__).resolve().parents[1] / "models"


def digits_subset(n=150):
    x, y = data.load_digits()
    return x[:n], y[:n]


def make(kind, seed=0):
    model = nn.from_spec(MODELS / "seed_cnn.toml", seed=seed)
    if kind == "sgd":
        opt = optim.SGD(model.parameters(), lr=0.02, momentum=0.9, weight_decay=1e-4, nesterov=True)
    else:
        opt = optim.Adam(model.parameters(), lr=1e-3)
    return model, opt


def test_round_trip(tmp_path):
    model, opt = make("adam")
    x, y = digits_subset()
    history = fit(model, opt, data.DataLoader(x, y, shuffle=True), epochs=1, progress=False)
    path = save_checkpoint(
        tmp_path / "c.npz", model, opt, epoch=1, history=history, extra={"dataset": "digits"}
    )
    ckpt = load_checkpoint(path)
    assert ckpt.epoch == 1 and ckpt.spec == model.spec and ckpt.extra == {"dataset": "digits"}
    assert ckpt.history == history.records
    assert list(ckpt.params) == ["0.weight", "0.bias", "3.weight", "3.bias"]
    rebuilt = ckpt.build_model()
    for a, b in zip(model.parameters(), rebuilt.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)
        assert b.dtype == np.float32
    opt2 = ckpt.build_optimizer(rebuilt)
    assert isinstance(opt2, optim.Adam) and opt2.state[0]["step"] == 150
    np.testing.assert_array_equal(opt2.state[2]["exp_avg_sq"], opt.state[2]["exp_avg_sq"])


def test_the_file_is_a_plain_npz_without_pickles(tmp_path):
    model, opt = make("sgd")
    path = save_checkpoint(tmp_path / "c.npz", model, opt, epoch=3)
    with np.load(path, allow_pickle=False) as npz:
        assert set(npz.files) == {
            "param:0.weight",
            "param:0.bias",
            "param:3.weight",
            "param:3.bias",
            "meta",
        }
        meta = json.loads(str(npz["meta"]))
    assert meta["epoch"] == 3 and meta["spec"]["name"] == "seed_cnn"
    assert meta["optimizer"]["type"] == "SGD" and meta["optimizer"]["hyper"]["nesterov"] is True


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_resume_is_bit_exact(tmp_path, kind):
    x, y = digits_subset()

    model, opt = make(kind)
    fit(model, opt, data.DataLoader(x, y, shuffle=True, seed=3), epochs=3, progress=False)

    first, opt1 = make(kind)
    history = fit(
        first, opt1, data.DataLoader(x, y, shuffle=True, seed=3), epochs=1, progress=False
    )
    save_checkpoint(tmp_path / "c.npz", first, opt1, epoch=1, history=history)
    del first, opt1

    ckpt = load_checkpoint(tmp_path / "c.npz")
    resumed = ckpt.build_model()
    opt2 = ckpt.build_optimizer(resumed)
    fit(
        resumed,
        opt2,
        data.DataLoader(x, y, shuffle=True, seed=3),
        epochs=3,
        start_epoch=ckpt.epoch,
        progress=False,
    )

    for a, b in zip(model.parameters(), resumed.parameters(), strict=True):
        assert np.array_equal(a.data, b.data), a.name  # to the last bit


def test_restore_into_an_existing_model(tmp_path):
    model, opt = make("sgd")
    save_checkpoint(tmp_path / "c.npz", model, opt)
    other, other_opt = make("sgd", seed=5)
    load_checkpoint(tmp_path / "c.npz").restore(other, other_opt)
    np.testing.assert_array_equal(other[0].weight.data, model[0].weight.data)


def test_a_checkpoint_that_does_not_fit_names_the_key(tmp_path):
    save_checkpoint(tmp_path / "c.npz", nn.from_spec(MODELS / "mlp.toml"))
    model = nn.from_spec(MODELS / "seed_cnn.toml")
    with pytest.raises(
        CheckpointError, match=r"c\.npz: does not fit the model: .*missing keys: 0\.weight"
    ):
        load_checkpoint(tmp_path / "c.npz").restore(model)


def test_writes_are_atomic(tmp_path, monkeypatch):
    model, opt = make("sgd")
    path = save_checkpoint(tmp_path / "c.npz", model, opt, epoch=1)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model, opt, epoch=2)
    assert path.read_bytes() == before  # the old checkpoint is intact
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]  # no temporary file left


def test_file_permissions_follow_the_umask(tmp_path):
    import os

    path = save_checkpoint(tmp_path / "c.npz", make("sgd")[0])
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_bad_files_are_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        load_checkpoint(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(CheckpointError, match=r"junk\.npz: not a readable \.npz checkpoint"):
        load_checkpoint(junk)
    other = tmp_path / "other.npz"
    np.savez(other, a=np.zeros(2))
    with pytest.raises(CheckpointError, match="not a minigrad checkpoint"):
        load_checkpoint(other)
    truncated = tmp_path / "truncated.npz"
    save_checkpoint(truncated, make("sgd")[0])
    truncated.write_bytes(truncated.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="not a readable"):
        load_checkpoint(truncated)


def test_a_model_without_a_spec(tmp_path):
    model = nn.Sequential(nn.Linear(2, 2, rng=0))
    save_checkpoint(tmp_path / "c.npz", model)
    ckpt = load_checkpoint(tmp_path / "c.npz")
    with pytest.raises(CheckpointError, match="holds no model spec"):
        ckpt.build_model()
    with pytest.raises(CheckpointError, match="holds no optimiser state"):
        ckpt.build_optimizer(model)


BN_DROPOUT = {
    "name": "bn_dropout",
    "input_shape": [1, 8, 8],
    "layers": [
        {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "bias": False},
        {"type": "BatchNorm2d"},
        {"type": "ReLU"},
        {"type": "Flatten"},
        {"type": "Dropout", "p": 0.3},
        {"type": "Linear", "out_features": 16},
        {"type": "BatchNorm1d"},
        {"type": "Tanh"},
        {"type": "Linear", "out_features": 10},
    ],
}


def test_buffers_and_generators_are_saved_and_restored(tmp_path):
    x, y = digits_subset(64)
    model = nn.from_spec(BN_DROPOUT, seed=1)
    opt = optim.SGD(model.parameters(), lr=0.05)
    fit(model, opt, data.DataLoader(x, y, batch_size=16, shuffle=True), epochs=1, progress=False)
    save_checkpoint(tmp_path / "c.npz", model, opt, epoch=1)
    with np.load(tmp_path / "c.npz", allow_pickle=False) as npz:
        assert "buffer:1.running_mean" in npz.files and "buffer:6.num_batches_tracked" in npz.files
        assert int(npz["buffer:1.num_batches_tracked"]) == 4
        meta = json.loads(str(npz["meta"]))
    assert set(meta["rng"]) == {"4"}
    rebuilt = load_checkpoint(tmp_path / "c.npz").build_model()
    for key, value in model.state_dict().items():
        assert np.array_equal(rebuilt.state_dict()[key], value), key
    # the next dropout mask is the one the original model would draw
    np.testing.assert_array_equal(
        rebuilt[4](np.ones((2, 144), np.float32)).data, model[4](np.ones((2, 144), np.float32)).data
    )


def test_a_run_with_batch_norm_and_dropout_resumes_bit_exactly(tmp_path):
    x, y = digits_subset(96)

    def run(epochs, start=None):
        if start is None:
            model = nn.from_spec(BN_DROPOUT, seed=2)
            opt = optim.Adam(model.parameters(), lr=1e-2)
            begin = 0
        else:
            ckpt = load_checkpoint(start)
            model, begin = ckpt.build_model(), ckpt.epoch
            opt = ckpt.build_optimizer(model)
        loader = data.DataLoader(x, y, batch_size=16, shuffle=True, seed=5)
        fit(model, opt, loader, epochs=epochs, start_epoch=begin, progress=False)
        return model, opt

    straight, _ = run(3)
    first, opt1 = run(1)
    save_checkpoint(tmp_path / "c.npz", first, opt1, epoch=1)
    resumed, _ = run(3, tmp_path / "c.npz")
    for key, value in straight.state_dict().items():
        assert np.array_equal(resumed.state_dict()[key], value), key  # to the last bit


def test_a_damaged_generator_state_changes_nothing(tmp_path):
    model = nn.from_spec(BN_DROPOUT, seed=1)
    path = save_checkpoint(tmp_path / "c.npz", model)
    ckpt = load_checkpoint(path)
    ckpt.rng["4"] = {"bit_generator": "PCG64", "state": "garbage"}
    ckpt.params["0.weight"] = ckpt.params["0.weight"] + 1
    before = model.state_dict()
    with pytest.raises(CheckpointError, match="damaged generator state of '4'"):
        ckpt.restore(model)
    for key, value in before.items():
        assert np.array_equal(model.state_dict()[key], value), key
