"""Files: a saved model is never lost, never half-read, and never a way to run code.

* A checkpoint save that fails part-way (an error, an interrupt, or the process dying in the
  middle of the write) leaves the previous checkpoint intact and loadable.
* A truncated or corrupted checkpoint, spec or IDX file is a clear minigrad error.
* Loading never unpickles: a crafted ``.npz`` holding an object array is refused, and the
  pickle inside it never runs.
* A model spec is data: no string in it is ever evaluated, and only the known layer types exist.
* Every value read from a file is checked for type, range and depth before use, and each kind
  of hostile file is a documented error (``FILE_CASES``, listed in docs/errors.md).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import pickle
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.checkpoint import load_checkpoint, save_checkpoint
from minigrad.data import read_idx
from minigrad.errors import (
    ArgumentError,
    CheckpointError,
    DataError,
    MinigradError,
    SpecError,
)
from minigrad.optim import SGD, Adam

ROOT = Path(__file__).parent.parent
SPEC = {
    "name": "tiny",
    "input_shape": [1, 4, 4],
    "layers": [{"type": "Flatten"}, {"type": "Linear", "out_features": 3}],
}


def trained(seed: int) -> tuple[nn.Sequential, SGD]:
    model = nn.from_spec(SPEC, seed=seed)
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = np.random.default_rng(seed).uniform(size=(5, 1, 4, 4)).astype(np.float32)
    minigrad.cross_entropy(model(x), np.array([0, 1, 2, 0, 1])).backward()
    opt.step()
    return model, opt


def params_of(model: nn.Module) -> dict[str, np.ndarray]:
    return {name: p.data.copy() for name, p in model.named_parameters()}


def assert_intact(path: Path, expected: dict[str, np.ndarray]) -> None:
    """The file loads, builds its model and optimiser, and holds exactly ``expected``."""
    checkpoint = load_checkpoint(path)
    model = checkpoint.build_model()
    checkpoint.build_optimizer(model)
    assert checkpoint.epoch == 1
    got = params_of(model)
    assert got.keys() == expected.keys()
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name])
    leftovers = [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == [], f"temporary files left behind: {leftovers}"


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    model, opt = trained(0)
    path = save_checkpoint(tmp_path / "model.npz", model, opt, epoch=1)
    return path, params_of(model)


# ----------------------------------------------------------------------------- interrupted saves


def half_then(exc: BaseException) -> Any:
    """A stand-in for ``np.savez`` that writes half of the real archive, then fails."""
    real = np.savez

    def savez(file: Any, **arrays: Any) -> None:
        buffer = io.BytesIO()
        real(buffer, **arrays)
        data = buffer.getvalue()
        file.write(data[: len(data) // 2])
        file.flush()
        raise exc

    return savez


@pytest.mark.parametrize(
    "failure",
    [OSError(28, "No space left on device"), KeyboardInterrupt(), MemoryError()],
    ids=["disk full", "Ctrl-C", "out of memory"],
)
def test_a_save_that_fails_mid_write_leaves_the_previous_checkpoint(
    saved: tuple[Path, dict[str, np.ndarray]], monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    path, before = saved
    newer, opt = trained(1)
    monkeypatch.setattr(np, "savez", half_then(failure))
    with pytest.raises(type(failure)):
        save_checkpoint(path, newer, opt, epoch=2)
    monkeypatch.undo()
    assert_intact(path, before)


def test_a_failure_between_write_and_rename_leaves_the_previous_checkpoint(
    saved: tuple[Path, dict[str, np.ndarray]], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, before = saved
    newer, opt = trained(1)

    def replace(src: Any, dst: Any) -> None:
        raise OSError("the power went out")

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError, match="power went out"):
        save_checkpoint(path, newer, opt, epoch=2)
    monkeypatch.undo()
    assert_intact(path, before)


def test_a_process_killed_mid_write_leaves_the_previous_checkpoint(
    saved: tuple[Path, dict[str, np.ndarray]],
) -> None:
    """No cleanup runs at all: the process dies with half the new archive on disk."""
    path, before = saved
    script = f"""
import io, os, numpy as np
from minigrad import nn
from minigrad.checkpoint import save_checkpoint
real = np.savez
def savez(file, **arrays):
    buffer = io.BytesIO(); real(buffer, **arrays); data = buffer.getvalue()
    file.write(data[: len(data) // 2]); file.flush(); os.fsync(file.fileno())
    os._exit(9)
np.savez = savez
save_checkpoint({str(path)!r}, nn.from_spec({SPEC!r}, seed=7), epoch=5)
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, timeout=60)
    assert done.returncode == 9
    half_written = [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert half_written, "the dying process should have left its temporary file"
    for p in half_written:  # what a later run would find and may delete
        p.unlink()
    assert_intact(path, before)


def test_a_successful_save_replaces_the_previous_one(
    saved: tuple[Path, dict[str, np.ndarray]],
) -> None:
    path, _ = saved
    newer, opt = trained(1)
    save_checkpoint(path, newer, opt, epoch=1)
    assert_intact(path, params_of(newer))


# ----------------------------------------------------------------------------- damaged files


def corrupt(raw: bytes, how: str) -> bytes:
    data = bytearray(raw)
    if how == "empty":
        return b""
    if how.startswith("truncated"):
        return raw[: int(len(raw) * float(how.split()[1]))]
    if how == "flipped byte":
        data[len(data) // 2] ^= 0xFF
    if how == "zeroed block":
        data[len(data) // 3 : len(data) // 3 + 64] = bytes(64)
    if how == "junk":
        return os.urandom(len(raw))
    return bytes(data)


@pytest.mark.parametrize(
    "how",
    [
        "empty",
        "truncated 0.01",
        "truncated 0.5",
        "truncated 0.99",
        "flipped byte",
        "zeroed block",
        "junk",
    ],
)
def test_a_damaged_checkpoint_is_a_checkpoint_error(
    saved: tuple[Path, dict[str, np.ndarray]], how: str
) -> None:
    path, _ = saved
    path.write_bytes(corrupt(path.read_bytes(), how))
    with pytest.raises(CheckpointError, match=str(path)):
        load_checkpoint(path).build_model()


def npz(**arrays: Any) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def meta(**fields: Any) -> np.ndarray:
    base = {"format": "minigrad-checkpoint", "version": 1, "epoch": 0}
    return np.array(json.dumps({**base, **fields}))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name = 'not a checkpoint'\n", "not a readable .npz checkpoint"),
        (npz(weights=np.zeros(3)), r"not a minigrad checkpoint \(no 'meta' entry\)"),
        (npz(meta=np.array("{not json")), "damaged metadata"),
        (npz(meta=np.array('{"format": "something else"}')), "not a minigrad checkpoint"),
        (npz(meta=np.array("[1, 2, 3]")), "not a minigrad checkpoint"),
        (npz(meta=meta(version=99)), "written by a newer minigrad .format version 99.; upgrade"),
        (npz(meta=meta(epoch="three")), "damaged metadata .ValueError"),
        (npz(meta=meta(spec="/etc/passwd")), r"damaged metadata \(the model spec is not a table\)"),
        (npz(meta=meta(optimizer={"type": "SGD"})), "damaged metadata .KeyError: 'scalars'"),
        (npz(meta=meta(optimizer={"type": "Lion"})), "unknown optimiser type 'Lion'"),
    ],
    ids=[
        "a TOML file",
        "no meta",
        "meta not JSON",
        "another format",
        "meta a list",
        "newer version",
        "epoch a string",
        "spec a path",
        "optimiser incomplete",
        "unknown optimiser",
    ],
)
def test_a_file_that_is_not_a_minigrad_checkpoint(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "odd.npz"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_a_missing_checkpoint_and_a_folder(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        load_checkpoint(tmp_path / "nope.npz")
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        load_checkpoint(tmp_path)


def test_a_checkpoint_of_another_model_does_not_fit(
    saved: tuple[Path, dict[str, np.ndarray]],
) -> None:
    path, _ = saved
    other = nn.from_spec(
        {**SPEC, "layers": [{"type": "Flatten"}, {"type": "Linear", "out_features": 5}]}
    )
    with pytest.raises(CheckpointError, match="does not fit the model"):
        load_checkpoint(path).restore(other)


# ----------------------------------------------------------------------------- no unpickling


class Payload:
    """Unpickling this creates a file: proof, if the file ever appears, that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("where", ["param:0.weight", "optim:0:momentum_buffer", "meta"])
def test_a_crafted_npz_with_an_object_array_is_refused_and_never_unpickled(
    saved: tuple[Path, dict[str, np.ndarray]], where: str
) -> None:
    path, _ = saved
    marker = path.parent / "code-ran"
    with np.load(path, allow_pickle=False) as archive:
        contents = {key: archive[key] for key in archive.files}
    contents[where] = np.array([Payload(marker)], dtype=object)
    path.write_bytes(npz(**contents))
    assert b"code-ran" in path.read_bytes()  # the pickle really is in there
    with pytest.raises(
        CheckpointError, match="Object arrays cannot be loaded when allow_pickle=False"
    ):
        load_checkpoint(path)
    assert not marker.exists()
    pickle.loads(pickle.dumps(Payload(marker)))  # the payload works when something does unpickle
    assert marker.exists()


# ----------------------------------------------------------------------------- specs


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"", "missing top-level key 'name'"),
        (b"\xff\xfe\x00\x01 binary", "not valid TOML"),
        (b'name = "x"\ninput_shape = [1, 8', "not valid TOML"),
        (b'name = "x"\ninput_shape = [1, 8, 8]\n[[layers]]\ntype = "Lin', "not valid TOML"),
        (b'name = "x"\ninput_shape = [1, 8, 8]\n', "missing top-level key 'layers'"),
    ],
    ids=["empty", "binary", "cut in a list", "cut in a string", "cut before the layers"],
)
def test_a_truncated_or_corrupted_spec_is_a_spec_error(
    tmp_path: Path, text: bytes, message: str
) -> None:
    path = tmp_path / "model.toml"
    path.write_bytes(text)
    with pytest.raises(SpecError, match=f"{path}: .*{message}"):
        nn.from_spec(path)


def test_every_prefix_of_a_real_spec_is_a_spec_error_or_the_model(tmp_path: Path) -> None:
    raw = (ROOT / "models" / "seed_cnn.toml").read_bytes()
    path = tmp_path / "cut.toml"
    for cut in range(0, len(raw) + 1, 5):
        path.write_bytes(raw[:cut])
        try:
            nn.validate_spec(nn.load_spec(path), str(path))
        except SpecError as exc:
            assert str(exc).startswith(str(path))


def test_a_missing_spec_and_a_folder(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such model spec file"):
        nn.from_spec(tmp_path / "nope.toml")
    with pytest.raises(SpecError, match="cannot read the model spec"):
        nn.from_spec(tmp_path)


CODE = "__import__('pathlib').Path('{marker}').touch()"


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        ({"type": "__import__"}, "unknown layer type '__import__'"),
        ({"type": "eval"}, "unknown layer type 'eval'"),
        ({"type": "os.system"}, "unknown layer type 'os.system'"),
        ({"type": "Sequential"}, "unknown layer type 'Sequential'"),
        ({"type": "__class__"}, "unknown layer type '__class__'"),
        ({"type": "Linear", "out_features": CODE}, "argument 'out_features' must be an integer"),
        ({"type": "Linear", "out_features": 3, "init": CODE}, "argument 'init' must be one of"),
        ({"type": "Linear", "out_features": 3, "__init__": 1}, "unknown argument '__init__'"),
        ({"type": "Linear", "out_features": print}, "argument 'out_features' must be an integer"),
    ],
    ids=[
        "__import__",
        "eval",
        "os.system",
        "a container",
        "dunder",
        "code as a size",
        "code as init",
        "dunder argument",
        "a callable",
    ],
)
def test_a_spec_cannot_name_anything_but_a_known_layer(
    tmp_path: Path, layer: dict[str, Any], message: str
) -> None:
    marker = tmp_path / "code-ran"
    layer = {
        k: v.format(marker=marker) if isinstance(v, str) and k != "type" else v
        for k, v in layer.items()
    }
    spec = {"name": "x", "input_shape": [1, 4, 4], "layers": [{"type": "Flatten"}, layer]}
    with pytest.raises(SpecError, match=f"layer 1 .*{message}"):
        nn.from_spec(spec)
    assert not marker.exists()


def test_strings_in_a_spec_are_never_evaluated(tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    code = CODE.format(marker=marker)
    path = tmp_path / "model.toml"
    path.write_text(
        f'name = "{code}"\ndescription = "{code}"\ninput_shape = [1, 4, 4]\n'
        '[[layers]]\ntype = "Flatten"\n[[layers]]\ntype = "Linear"\nout_features = 2\n'
    )
    model = nn.from_spec(path)
    assert model.spec["name"] == code  # kept as the plain label it is
    assert not marker.exists()


# ----------------------------------------------------------------------------- IDX files


def idx(values: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, values.ndim]) + b"".join(s.to_bytes(4, "big") for s in values.shape)
    return header + values.astype(np.uint8).tobytes()


GOOD_IDX = idx(np.arange(24).reshape(2, 3, 4))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            GOOD_IDX[:-1],
            r"file is truncated: the header says 2 x 3 x 4 values \(24 bytes of data\), found 23",
        ),
        (GOOD_IDX[:10], r"truncated header \(10 bytes, need 16\)"),
        (GOOD_IDX + b"\x00", "file is longer than its header says"),
        (b"\x1f\x8b" + GOOD_IDX, "the gzip data is truncated or damaged"),
        (gzip.compress(GOOD_IDX)[:-8], "the gzip data is truncated or damaged"),
        (b"PK\x03\x04" + GOOD_IDX, r"not an IDX file \(magic number 0x504b0304"),
        (bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 5]), "unknown IDX data type 0x07"),
        (b"", "not an IDX file"),
    ],
    ids=[
        "one byte short",
        "cut header",
        "extra byte",
        "bad gzip",
        "cut gzip",
        "a zip file",
        "unknown type",
        "empty",
    ],
)
def test_a_truncated_or_corrupted_idx_file_is_a_data_error(
    tmp_path: Path, data: bytes, message: str
) -> None:
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(data)
    with pytest.raises(DataError, match=message):
        read_idx(path)


@pytest.mark.parametrize("dtype", ["<U3", "complex64", "datetime64[s]"])
def test_a_checkpoint_with_non_numeric_parameters_is_refused_and_changes_nothing(
    saved: tuple[Path, dict[str, np.ndarray]], dtype: str
) -> None:
    path, _ = saved
    with np.load(path, allow_pickle=False) as archive:
        contents = {key: archive[key] for key in archive.files}
    contents["param:1.bias"] = np.zeros(contents["param:1.bias"].shape, dtype=dtype)
    path.write_bytes(npz(**contents))
    model = nn.from_spec(SPEC, seed=5)
    untouched = params_of(model)
    with pytest.raises(CheckpointError, match=re.escape(f"'1.bias' has dtype {np.dtype(dtype)}")):
        load_checkpoint(path).restore(model)
    for name, value in params_of(model).items():  # not even 1.weight, checked first, was copied
        np.testing.assert_array_equal(value, untouched[name])


def test_a_checkpoint_with_non_numeric_optimiser_state_is_refused(
    saved: tuple[Path, dict[str, np.ndarray]],
) -> None:
    path, _ = saved
    with np.load(path, allow_pickle=False) as archive:
        contents = {key: archive[key] for key in archive.files}
    key = next(k for k in contents if k.startswith("optim:"))
    contents[key] = np.full(contents[key].shape, "x")
    path.write_bytes(npz(**contents))
    checkpoint = load_checkpoint(path)
    with pytest.raises(CheckpointError, match="has dtype <U1; expected numbers"):
        checkpoint.build_optimizer(checkpoint.build_model())


# ----------------------------------------------------------------------------- hostile values
# One case per class of hostile file; docs/errors.md lists each with the message minigrad
# prints (the path left out).


def checkpoint_with(tmp: Path, edit: Any = None, raw: tuple[str, str] | None = None) -> Path:
    """A checkpoint of the tiny model with Adam state; ``edit(meta, arrays)`` changes it and
    ``raw`` = (field, JSON text) writes a top-level field as raw JSON."""
    model = nn.from_spec(SPEC, seed=0)
    opt = Adam(model.parameters(), lr=0.01)
    x = np.ones((1, 1, 4, 4), np.float32)
    minigrad.cross_entropy(model(x), np.array([1])).backward()
    opt.step()
    path = save_checkpoint(tmp / "model.npz", model, opt, epoch=1)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    meta = json.loads(str(arrays.pop("meta")))
    if edit is not None:
        edit(meta, arrays)
    text = json.dumps(meta)
    if raw is not None:
        text = text.replace(f'"{raw[0]}": {json.dumps(meta[raw[0]])}', f'"{raw[0]}": {raw[1]}')
    path.write_bytes(npz(meta=np.array(text), **arrays))
    return path


def set_in(*keys: Any) -> Any:
    *path, value = keys

    def edit(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        target = meta
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def restore_into_sgd(tmp: Path) -> None:
    checkpoint = load_checkpoint(checkpoint_with(tmp))
    model = nn.from_spec(SPEC, seed=1)
    checkpoint.restore(model, SGD(model.parameters(), lr=0.1))


def restore_nan_state(tmp: Path) -> None:
    checkpoint = load_checkpoint(checkpoint_with(tmp))
    checkpoint.optimizer["state"][1]["exp_avg_sq"] = np.full(3, np.nan, np.float32)
    model = nn.from_spec(SPEC, seed=1)
    checkpoint.restore(model, Adam(model.parameters()))


def member_too_long(tmp: Path) -> None:
    path = checkpoint_with(tmp)
    with np.load(path, allow_pickle=False) as archive:
        contents = {key: archive[key] for key in archive.files}
    weight = io.BytesIO()
    np.lib.format.write_array(weight, contents.pop("param:1.weight"))
    with zipfile.ZipFile(path, "w") as archive:
        for key, value in contents.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, value)
            archive.writestr(key + ".npy", buffer.getvalue())
        archive.writestr("param:1.weight.npy", weight.getvalue() + bytes(1000))
    load_checkpoint(path)


def spec_file(tmp: Path, text: str) -> None:
    path = tmp / "model.toml"
    path.write_text(text)
    nn.from_spec(path)


def idx_file(tmp: Path, raw: bytes, gz: bool = False) -> None:
    path = tmp / ("labels-idx1-ubyte" + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(raw) if gz else raw)
    read_idx(path)


def nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


TINY_LAYERS = [{"type": "Flatten"}]
FILE_CASES: list[tuple[str, Any, type[MinigradError]]] = [
    (
        "a checkpoint's number is infinite",
        lambda tmp: load_checkpoint(checkpoint_with(tmp, raw=("epoch", "Infinity"))),
        CheckpointError,
    ),
    (
        "a checkpoint's integer has 5,000 digits",
        lambda tmp: load_checkpoint(checkpoint_with(tmp, raw=("epoch", "9" * 5000))),
        CheckpointError,
    ),
    (
        "a checkpoint's metadata nests 100,000 deep",
        lambda tmp: load_checkpoint(
            checkpoint_with(tmp, raw=("extra", "[" * 100_000 + "]" * 100_000))
        ),
        CheckpointError,
    ),
    (
        "a checkpoint's setting is out of range",
        lambda tmp: load_checkpoint(checkpoint_with(tmp, set_in("optimizer", "hyper", "lr", -1))),
        CheckpointError,
    ),
    (
        "a checkpoint's step is not a number",
        lambda tmp: load_checkpoint(
            checkpoint_with(tmp, set_in("optimizer", "scalars", 0, "step", "one"))
        ),
        CheckpointError,
    ),
    (
        "a checkpoint's array is not what its spec declares",
        lambda tmp: load_checkpoint(
            checkpoint_with(
                tmp,
                lambda meta, arrays: arrays.update(
                    {"param:1.weight": np.zeros((3, 17), np.float32)}
                ),
            )
        ),
        CheckpointError,
    ),
    ("a checkpoint's array is longer than its header says", member_too_long, CheckpointError),
    ("restoring into another optimiser", restore_into_sgd, CheckpointError),
    ("restoring optimiser state that is not finite", restore_nan_state, CheckpointError),
    (
        "a spec nests too deep",
        lambda tmp: nn.validate_spec(
            {
                **SPEC,
                "layers": [{"type": "Flatten"}, {"type": "Linear", "out_features": nested(40)}],
            }
        ),
        SpecError,
    ),
    (
        "a spec gives a size of 5,000 digits",
        lambda tmp: nn.validate_spec(
            {**SPEC, "layers": [{"type": "Flatten"}, {"type": "Linear", "out_features": 10**5000}]}
        ),
        SpecError,
    ),
    (
        "a spec declares too many parameters",
        lambda tmp: nn.validate_spec(
            {
                "name": "huge",
                "input_shape": [3, 4096, 4096],
                "layers": [{"type": "Flatten"}, {"type": "Linear", "out_features": 100}],
            }
        ),
        SpecError,
    ),
    (
        "a spec's name holds a control character",
        lambda tmp: nn.validate_spec({**SPEC, "name": "\x1b[2J"}),
        SpecError,
    ),
    (
        "a spec's name is a path",
        lambda tmp: nn.folder_name({**SPEC, "name": "../../x"}),
        SpecError,
    ),
    (
        "a spec file is larger than 1 MiB",
        lambda tmp: spec_file(tmp, "#" * (2 << 20)),
        SpecError,
    ),
    (
        "a spec file nests arrays 5,000 deep",
        lambda tmp: spec_file(tmp, "x = " + "[" * 5000 + "]" * 5000),
        SpecError,
    ),
    (
        "an IDX header declares 65 dimensions",
        lambda tmp: idx_file(tmp, bytes([0, 0, 8, 65]) + bytes(4 * 65) + b"\x00"),
        DataError,
    ),
    (
        "a gzipped IDX file goes on past its data",
        lambda tmp: idx_file(tmp, bytes([0, 0, 8, 1, 0, 0, 0, 10]) + bytes(10_000), gz=True),
        DataError,
    ),
    (
        "a checkpoint that could not be loaded is not saved",
        lambda tmp: save_checkpoint(
            tmp / "model.npz", nn.from_spec(SPEC), history=[{"val_loss": float("nan")}]
        ),
        ArgumentError,
    ),
]


def _message(tmp: Path, case: Any) -> str:
    _, make, error = case
    with pytest.raises(error) as info:
        make(tmp)
    return str(info.value).replace(str(tmp) + os.sep, "")


@pytest.mark.parametrize("case", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_each_hostile_file_is_a_documented_error(tmp_path: Path, case: Any) -> None:
    """The row of docs/errors.md names the error class and shows exactly this message."""
    message = _message(tmp_path, case)
    page = (ROOT / "docs" / "errors.md").read_text()
    rows = [line for line in page.splitlines() if line.startswith(f"| {case[0]} |")]
    assert len(rows) == 1, f"docs/errors.md does not list {case[0]!r}"
    _, error, shown = (cell.strip().strip("`") for cell in rows[0].strip("|").split(" | "))
    assert error == case[2].__name__
    assert shown == message
    assert len(message) < 400
