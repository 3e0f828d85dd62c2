"""Checkpoints: contents, atomic writes, no pickle, a bit-exact resume, and hostile files."""

import io
import json
import math
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

import minigrad
from minigrad import data, nn, optim
from minigrad.checkpoint import load_checkpoint, save_checkpoint
from minigrad.errors import ArgumentError, CheckpointError
from minigrad.train import History, fit
from tests.memory import peak_memory

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


# ----------------------------------------------------------------------------- hostile files
# Every value read from a checkpoint is checked before use, a failed restore changes nothing,
# and what a load reads is bounded by what the stored spec declares.


TINY = {
    "name": "tiny",
    "input_shape": [1, 4, 4],
    "layers": [{"type": "Flatten"}, {"type": "Linear", "out_features": 3}],
}


def stepped(kind="adam", seed=0):
    """A tiny model and its optimiser after one step (so the optimiser has state)."""
    model = nn.from_spec(TINY, seed=seed)
    if kind == "adam":
        opt = optim.Adam(model.parameters(), lr=0.01)
    else:
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = np.random.default_rng(seed).uniform(size=(2, 1, 4, 4)).astype(np.float32)
    minigrad.cross_entropy(model(x), np.array([0, 2])).backward()
    opt.step()
    return model, opt


def contents_of(path):
    with np.load(path, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    return json.loads(str(arrays.pop("meta"))), arrays


def rewrite(path, meta=None, arrays=None, meta_text=None):
    """Write a checkpoint with the given metadata (a dict, or raw JSON text) and arrays."""
    text = meta_text if meta_text is not None else json.dumps(meta)
    np.savez(path, meta=np.array(text), **arrays)
    return path


@pytest.fixture
def adam_file(tmp_path):
    model, opt = stepped("adam")
    return save_checkpoint(tmp_path / "c.npz", model, opt, epoch=1)


def snapshot(model, opt):
    return (
        {k: v.copy() for k, v in model.state_dict().items()},
        json.dumps(opt.defaults),
        [{k: np.array(v, copy=True) for k, v in s.items()} for s in opt.state],
    )


def assert_same(a, b):
    params_a, hyper_a, state_a = a
    params_b, hyper_b, state_b = b
    assert hyper_a == hyper_b
    for key in params_a:
        np.testing.assert_array_equal(params_a[key], params_b[key])
    assert len(state_a) == len(state_b)
    for sa, sb in zip(state_a, state_b, strict=True):
        assert sa.keys() == sb.keys()
        for key in sa:
            np.testing.assert_array_equal(sa[key], sb[key])


def other_optimizer(model):
    return optim.SGD(model.parameters(), lr=0.5, momentum=0.5)


def subset_optimizer(model):
    return optim.Adam(model.parameters()[:1], lr=0.5)


def poisoned(value):
    def make(ckpt):
        shape = ckpt.optimizer["state"][1]["exp_avg_sq"].shape
        ckpt.optimizer["state"][1]["exp_avg_sq"] = np.full(shape, value)  # float64
        return ckpt

    return make


def bad_hyper(**hyper):
    def make(ckpt):
        ckpt.optimizer["hyper"].update(hyper)
        return ckpt

    return make


@pytest.mark.parametrize(
    ("make_optimizer", "damage", "message"),
    [
        (other_optimizer, None, "SGD.load_state_dict: the state is from Adam"),
        (subset_optimizer, None, "the state has 2 parameters, this optimiser has 1"),
        (None, poisoned(np.nan), r"'exp_avg_sq' of parameter 1 .* must hold finite numbers"),
        (None, poisoned(-1.0), r"'exp_avg_sq' of parameter 1 .* finite numbers and >= 0"),
        (None, poisoned(1e300), r"must hold finite numbers .*\(in float32\)"),
        (None, bad_hyper(lr=-1), "hyperparameter lr must be a number >= 0, got -1"),
        (None, bad_hyper(lr="fast"), "hyperparameter lr must be a number >= 0, got 'fast'"),
        (None, bad_hyper(betas=[0.9, 2]), r"hyperparameter betas must be in \[0, 1\)"),
        (None, bad_hyper(eps=math.inf), "hyperparameter eps must be a finite number, got inf"),
        (None, bad_hyper(amsgrad=True), "'amsgrad' is not a hyperparameter of Adam"),
    ],
    ids=[
        "another optimiser",
        "another parameter count",
        "nan state",
        "negative second moment",
        "overflows float32",
        "negative lr",
        "string lr",
        "beta 2",
        "inf eps",
        "unknown hyperparameter",
    ],
)
def test_a_failed_restore_changes_neither_the_model_nor_the_optimiser(
    adam_file, make_optimizer, damage, message
):
    ckpt = load_checkpoint(adam_file)
    if damage is not None:
        ckpt = damage(ckpt)
    model, opt = stepped("adam", seed=7)
    if make_optimizer is not None:
        opt = make_optimizer(model)
    before = snapshot(model, opt)
    with pytest.raises(CheckpointError, match=re.escape(str(adam_file)) + ": .*" + message):
        ckpt.restore(model, opt)
    assert_same(before, snapshot(model, opt))


def test_a_restore_that_fits_changes_both(adam_file):
    ckpt = load_checkpoint(adam_file)
    model, opt = stepped("adam", seed=7)
    ckpt.restore(model, opt)
    assert opt.state[0]["step"] == 1 and opt.lr == 0.01
    np.testing.assert_array_equal(model[1].weight.data, ckpt.params["1.weight"])


def edit(path, change):
    meta, arrays = contents_of(path)
    change(meta, arrays)
    return rewrite(path, meta, arrays)


def set_field(*keys_and_value):
    *keys, value = keys_and_value

    def change(meta, arrays):
        target = meta
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return change


def raw_field(key, token):
    """Replace a top-level field's JSON with ``token`` (e.g. ``Infinity``, 5,000 digits)."""

    def text(path):
        meta, arrays = contents_of(path)
        meta[key] = "@@"
        return rewrite(path, arrays=arrays, meta_text=json.dumps(meta).replace('"@@"', token))

    return text


def deep(levels):
    return "[" * levels + "]" * levels


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (raw_field("epoch", "Infinity"), "epoch must be a finite number, got Infinity"),
        (raw_field("epoch", "NaN"), "epoch must be a finite number, got NaN"),
        (raw_field("epoch", "1e999"), "epoch must be a finite number, got '1e999'"),
        (raw_field("epoch", "9" * 5000), "epoch must be an integer of at most 20 digits"),
        (raw_field("epoch", "-1"), "epoch must be an integer from 0 to 1,000,000,000, got -1"),
        (raw_field("epoch", "1.5"), "epoch must be an integer, got 1.5"),
        (raw_field("epoch", "10000000000"), "epoch must be an integer from 0 to 1,000,000,000"),
        (raw_field("version", '"1"'), "version must be an integer, got '1'"),
        (raw_field("extra", deep(40)), "extra.* nests lists and tables more than 32 levels"),
        (raw_field("extra", deep(100_000)), "nests lists and tables more than 32 levels"),
        (raw_field("history", deep(50)), "history.* nests lists and tables more than 32"),
        (raw_field("history", '"epoch 1"'), "history must be a list of tables, got 'epoch 1'"),
        (raw_field("history", "[1, 2]"), r"history must be a list of tables, got \[1, 2\]"),
        (raw_field("extra", "[]"), r"extra must be a table, got \[\]"),
        (
            raw_field("spec", '{"name": "x", "input_shape": [1], "layers": [{"type": "Eval"}]}'),
            r"the model spec: layer 0 \(Eval\): unknown layer type 'Eval'",
        ),
        (
            raw_field("optimizer", '"Adam"'),
            "optimizer must be a table, got 'Adam'",
        ),
    ],
    ids=[
        "epoch Infinity",
        "epoch NaN",
        "epoch overflows",
        "epoch 5000 digits",
        "epoch negative",
        "epoch a float",
        "epoch too large",
        "version a string",
        "extra 40 deep",
        "extra 100000 deep",
        "history 50 deep",
        "history a string",
        "history of numbers",
        "extra a list",
        "spec with an unknown layer",
        "optimizer a string",
    ],
)
def test_every_metadata_value_is_checked_before_use(adam_file, damage, message):
    damage(adam_file)
    with pytest.raises(CheckpointError, match=f"{re.escape(str(adam_file))}: .*{message}"):
        load_checkpoint(adam_file)


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ('"steep"', "gradients must be a list of tables, got 'steep'"),
        ("[0.5, 0.25]", r"gradients must be a list of tables, got \[0.5, 0.25\]"),
    ],
)
def test_the_gradient_norms_of_training_are_checked_before_use(adam_file, token, message):
    raw_field("gradients", token)(adam_file)
    with pytest.raises(CheckpointError, match=f"{re.escape(str(adam_file))}: .*{message}"):
        load_checkpoint(adam_file)


def test_the_gradient_norms_of_training_come_back_from_a_checkpoint(tmp_path):
    model = nn.Sequential(nn.Linear(2, 2, rng=0))
    gradients = [{"epoch": 1, "0.weight": 0.5, "0.bias": 0.25}]
    path = save_checkpoint(tmp_path / "c.npz", model, history=History([], gradients))
    assert load_checkpoint(path).gradients == gradients


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (set_field("optimizer", "scalars", 0, "step", "one"), r"scalars\[0\]\.step must be an"),
        (
            set_field("optimizer", "scalars", 1, "step", 0),
            r"scalars\[1\]\.step must be an int >= 1, got 0",
        ),
        (set_field("optimizer", "scalars", 0, "step", 2.5), "step must be an int, got 2.5"),
        (set_field("optimizer", "scalars", 0, "lr", 1), r"scalars\[0\] holds 'lr', not a state"),
        (set_field("optimizer", "scalars", [{}]), "a list of one table per parameter .2."),
        (set_field("optimizer", "scalars", 0, 7), r"scalars\[0\] must be a table, got 7"),
        (set_field("optimizer", "hyper", "lr", -1), "optimizer.hyper.lr must be a number >= 0"),
        (set_field("optimizer", "hyper", "lr", "x"), "optimizer.hyper.lr must be a number >= 0"),
        (
            set_field("optimizer", "hyper", "betas", [0.9]),
            r"hyper\.betas must be a pair of numbers in \[0, 1\)",
        ),
        (set_field("optimizer", "hyper", "betas", "ab"), r"betas must be a pair of numbers"),
        (set_field("optimizer", "hyper", "eps", None), "eps must be a number >= 0, got None"),
        (set_field("optimizer", "hyper", "foo", 1), "'foo' is not a hyperparameter of Adam"),
        (set_field("optimizer", "hyper", {}), "optimizer.hyper.lr is missing"),
        (set_field("optimizer", "type", "SGD"), "'betas' is not a hyperparameter of SGD"),
    ],
    ids=[
        "step a string",
        "step 0",
        "step a float",
        "unknown scalar",
        "scalars too short",
        "scalars of numbers",
        "lr negative",
        "lr a string",
        "betas a single",
        "betas a string",
        "eps null",
        "unknown hyperparameter",
        "no hyperparameters",
        "the other type's settings",
    ],
)
def test_optimiser_settings_and_state_numbers_are_checked_at_load(adam_file, change, message):
    edit(adam_file, change)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(adam_file)


def test_sgd_nesterov_settings_are_checked_together(tmp_path):
    model, opt = stepped("sgd")
    path = save_checkpoint(tmp_path / "s.npz", model, opt)
    edit(path, set_field("optimizer", "hyper", "momentum", 0.0))
    edit(path, set_field("optimizer", "hyper", "nesterov", True))
    with pytest.raises(CheckpointError, match="nesterov=True needs momentum > 0"):
        load_checkpoint(path)
    edit(path, set_field("optimizer", "hyper", "nesterov", "yes"))
    with pytest.raises(CheckpointError, match="nesterov must be a bool, got 'yes'"):
        load_checkpoint(path)


def member(name, array, compress=False):
    """One ``.npy`` member's bytes as np.savez writes them."""
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return name + ".npy", buffer.getvalue()


def write_zip(path, members, bombs=()):
    """A zip archive of ``members`` (name, bytes) plus deflated ``bombs``: (name, header
    array, bytes of zeros after the header) written in pieces, never held in memory whole."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
        for name, header_of, zeros in bombs:
            head = io.BytesIO()
            np.lib.format.write_array_header_1_0(
                head, np.lib.format.header_data_from_array_1_0(header_of)
            )
            with archive.open(name + ".npy", "w", force_zip64=True) as f:
                f.write(head.getvalue())
                block = bytes(1 << 20)
                for _ in range(zeros >> 20):
                    f.write(block)
    return path


ZEROS = 64 << 20  # a hostile member's size once decompressed (its file holds ~64 KiB)


@pytest.fixture
def valid_peak(adam_file):
    """What loading a valid checkpoint of the tiny model costs."""
    peak, error = peak_memory(lambda: load_checkpoint(adam_file))
    assert error is None
    return peak


def hostile_members(path):
    meta, arrays = contents_of(path)
    members = [member("meta", np.array(json.dumps(meta)))]
    return meta, arrays, members + [member(k, v) for k, v in arrays.items()]


@pytest.mark.parametrize(
    "bomb",
    [
        ("junk", np.zeros(ZEROS // 8), ZEROS),  # an unused extra member
        ("param:1.weight", np.zeros((3, 16), np.float32), ZEROS),  # data past its header
        ("param:1.weight", np.zeros((ZEROS // 64, 16), np.float32), ZEROS),  # a lying shape
        ("optim:0:exp_avg", np.zeros((3, 16), np.float32), ZEROS),
        ("meta", np.array("x" * (ZEROS // 4)), ZEROS),  # 64 MiB of metadata
    ],
    ids=["extra member", "long member", "wrong shape", "long optimiser state", "huge metadata"],
)
def test_a_hostile_file_costs_no_more_memory_than_a_valid_one(adam_file, valid_peak, bomb):
    _, _, members = hostile_members(adam_file)
    name = bomb[0]
    kept = [(n, d) for n, d in members if n != name + ".npy"]
    write_zip(adam_file, kept, [bomb])
    assert adam_file.stat().st_size < ZEROS // 100  # a small file
    peak, error = peak_memory(lambda: load_checkpoint(adam_file))
    assert peak < 2 * valid_peak + (1 << 20), f"{peak:,} bytes to load (valid: {valid_peak:,})"
    if name != "junk":
        assert isinstance(error, CheckpointError) and str(adam_file) in str(error)
    else:
        assert error is None  # an extra member is not read at all


def test_without_a_spec_no_member_may_expand_beyond_the_file(tmp_path):
    model = nn.Sequential(nn.Linear(4, 2, rng=0))  # built by hand: no spec
    path = save_checkpoint(tmp_path / "c.npz", model)
    meta, arrays = contents_of(path)
    members = [
        member("meta", np.array(json.dumps(meta))),
        member("param:0.bias", arrays["param:0.bias"]),
    ]
    write_zip(path, members, [("param:0.weight", np.zeros((ZEROS // 32, 4)), ZEROS)])
    peak, error = peak_memory(lambda: load_checkpoint(path))
    assert isinstance(error, CheckpointError) and "more than" in str(error)
    assert peak < 1 << 20


def test_a_declared_parameter_that_is_missing_is_named(adam_file):
    meta, arrays = contents_of(adam_file)
    del arrays["param:1.bias"]
    rewrite(adam_file, meta, arrays)
    with pytest.raises(CheckpointError, match=r"parameter '1.bias' is missing .*of shape \(3,\)"):
        load_checkpoint(adam_file)


def test_a_parameter_of_another_shape_than_the_spec_declares(adam_file):
    meta, arrays = contents_of(adam_file)
    arrays["param:1.weight"] = np.zeros((3, 17), np.float32)
    rewrite(adam_file, meta, arrays)
    with pytest.raises(
        CheckpointError,
        match=r"parameter '1.weight' has shape \(3, 17\) in the file, but the stored model "
        r"spec has \(3, 16\)",
    ):
        load_checkpoint(adam_file)


def test_a_checkpoint_that_cannot_be_loaded_is_not_saved(tmp_path):
    model, opt = stepped("adam")
    with pytest.raises(ArgumentError, match="save_checkpoint: cannot store the metadata"):
        save_checkpoint(tmp_path / "c.npz", model, opt, history=[{"val_loss": math.nan}])
    with pytest.raises(ArgumentError, match="nests lists and tables more than 32 levels deep"):
        save_checkpoint(tmp_path / "c.npz", model, extra={"x": json.loads(deep(40))})
    with pytest.raises(ArgumentError, match="save_checkpoint: epoch must be an integer from 0 to"):
        save_checkpoint(tmp_path / "c.npz", model, epoch=-1)
    assert not (tmp_path / "c.npz").exists()


def test_an_optimiser_array_of_another_shape_than_its_parameter(adam_file):
    meta, arrays = contents_of(adam_file)
    arrays["optim:1:exp_avg"] = np.zeros(2, np.float32)
    rewrite(adam_file, meta, arrays)
    with pytest.raises(
        CheckpointError,
        match=r"'optim:1:exp_avg' has shape \(2,\) in the file, but its parameter has \(3,\)",
    ):
        load_checkpoint(adam_file)


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
        assert npz["rng:4"].dtype == np.uint64 and npz["rng:4"].shape == (6,)
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
    ckpt.rng["4"] = np.zeros(5, np.uint64)
    ckpt.params["0.weight"] = ckpt.params["0.weight"] + 1
    before = model.state_dict()
    with pytest.raises(CheckpointError, match="damaged generator state of '4'"):
        ckpt.restore(model)
    for key, value in before.items():
        assert np.array_equal(model.state_dict()[key], value), key
