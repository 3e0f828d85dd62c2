"""Datasets: digits, IDX/MNIST reading and its errors, download, splitting and batching."""

import gzip
import hashlib
import http.server
import os
import re
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from minigrad import data
from minigrad.errors import DataError
from tests.memory import peak_memory


def idx_bytes(array: np.ndarray) -> bytes:
    codes = {np.dtype("u1"): 0x08, np.dtype("i4"): 0x0C, np.dtype("f4"): 0x0D}
    code = codes[array.dtype]
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_mnist(folder: Path, n_train=5, n_test=3, gz=True, labels=None):
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        lab = rng.integers(0, 10, n, dtype=np.uint8) if labels is None else labels
        for kind, array in (("images-idx3", images), ("labels-idx1", lab)):
            name = f"{prefix}-{kind}-ubyte"
            raw = idx_bytes(array)
            if gz:
                (folder / f"{name}.gz").write_bytes(gzip.compress(raw))
            else:
                (folder / name).write_bytes(raw)
    return folder


def test_load_digits():
    x, y = data.load_digits()
    assert x.shape == (1797, 1, 8, 8) and x.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert x.min() == 0 and x.max() == 1
    assert set(np.unique(y)) == set(range(10))


def test_load_digits_without_scikit_learn(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"pip install 'minigrad-autograd\[train\]'"):
        data.load_digits()


@pytest.mark.parametrize("gz", [True, False])
def test_read_idx_round_trip(tmp_path, gz):
    array = np.arange(24, dtype=np.int32).reshape(2, 3, 4) - 5
    path = tmp_path / ("a.idx.gz" if gz else "a.idx")
    raw = idx_bytes(array)
    path.write_bytes(gzip.compress(raw) if gz else raw)
    out = data.read_idx(path)
    np.testing.assert_array_equal(out, array)
    assert out.dtype == np.int32 and out.dtype.isnative


@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_from_small_files(tmp_path, gz):
    folder = write_mnist(tmp_path / "m", gz=gz)
    x, y = data.load_mnist(folder, "train")
    assert x.shape == (5, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    assert x.min() >= 0 and x.max() <= 1
    x_test, y_test = data.load_mnist(folder, "test")
    assert x_test.shape == (3, 1, 28, 28) and y_test.shape == (3,)


def test_wrong_magic_number(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"\x12\x34\x08\x01" + b"\x00" * 8)
    with pytest.raises(DataError, match=r"bad: not an IDX file \(magic number 0x12340801"):
        data.read_idx(path)


def test_images_where_labels_belong(tmp_path):
    folder = write_mnist(tmp_path / "m")
    images = (folder / "train-images-idx3-ubyte.gz").read_bytes()
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(images)
    with pytest.raises(
        DataError,
        match=r"train-labels-idx1-ubyte\.gz: expected unsigned bytes of shape \(N,\) \(magic 2049\)",
    ):
        data.load_mnist(folder)


def test_truncated_file(tmp_path):
    path = tmp_path / "t"
    path.write_bytes(idx_bytes(np.zeros((4, 28, 28), np.uint8))[:-100])
    with pytest.raises(
        DataError,
        match=r"t: file is truncated: the header says 4 x 28 x 28 values \(3,136 bytes of data\), found 3,036 bytes",
    ):
        data.read_idx(path)


def test_extra_bytes(tmp_path):
    path = tmp_path / "t"
    path.write_bytes(idx_bytes(np.zeros(3, np.uint8)) + b"\x00")
    with pytest.raises(DataError, match="longer than its header says"):
        data.read_idx(path)


def test_truncated_gzip(tmp_path):
    path = tmp_path / "t.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((20, 28, 28), np.uint8)))[:-30])
    with pytest.raises(DataError, match="gzip data is truncated or damaged"):
        data.read_idx(path)


def test_mismatched_counts(tmp_path):
    folder = write_mnist(tmp_path / "m", n_train=5, labels=np.zeros(4, np.uint8))
    with pytest.raises(
        DataError, match=r"holds 5 images but train-labels-idx1-ubyte\.gz holds 4 labels"
    ):
        data.load_mnist(folder)


def test_labels_out_of_range(tmp_path):
    folder = write_mnist(tmp_path / "m", n_train=3, n_test=3, labels=np.array([1, 12, 3], np.uint8))
    with pytest.raises(DataError, match=r"label 12 is outside 0\.\.9"):
        data.load_mnist(folder)


def test_missing_files(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        data.load_mnist(tmp_path / "nowhere")
    with pytest.raises(DataError, match=r"no MNIST file train-images-idx3-ubyte\[\.gz\]"):
        data.load_mnist(tmp_path)
    with pytest.raises(ValueError, match="split must be"):
        data.load_mnist(tmp_path, "validation")


@pytest.mark.mnist
def test_real_mnist():
    folder = os.environ.get("MINIGRAD_MNIST_DIR")
    if not folder:
        pytest.skip("set MINIGRAD_MNIST_DIR to the folder of the MNIST files")
    x, y = data.load_mnist(folder, "train")
    assert x.shape == (60000, 1, 28, 28)
    assert np.bincount(y).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert abs(x.mean() * 255 - 33.318) < 0.01
    x_test, y_test = data.load_mnist(folder, "test")
    assert x_test.shape == (10000, 1, 28, 28)
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture
def server(tmp_path):
    """A local HTTP server on 127.0.0.1 serving a folder of small MNIST files."""
    root = write_mnist(tmp_path / "served")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    sums = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in root.iterdir()}
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", sums
    httpd.shutdown()
    httpd.server_close()


def test_download_mnist_verifies_checksums(server, tmp_path):
    url, sums = server
    target = tmp_path / "downloaded"
    data.download_mnist(target, url=url, checksums=sums)
    assert sorted(p.name for p in target.iterdir()) == sorted(sums)
    x, _ = data.load_mnist(target)
    assert x.shape == (5, 1, 28, 28)
    # A second call keeps the verified files.
    mtimes = {p.name: p.stat().st_mtime_ns for p in target.iterdir()}
    data.download_mnist(target, url=url, checksums=sums)
    assert mtimes == {p.name: p.stat().st_mtime_ns for p in target.iterdir()}


def test_download_mnist_rejects_a_bad_checksum(server, tmp_path):
    url, _sums = server
    name = "train-labels-idx1-ubyte.gz"
    with pytest.raises(DataError, match=f"{name}: SHA-256 checksum mismatch"):
        data.download_mnist(tmp_path / "d", url=url, checksums={name: "0" * 64})
    assert list((tmp_path / "d").iterdir()) == []  # nothing half-downloaded is left


def test_download_mnist_reports_a_missing_file(server, tmp_path):
    url, _ = server
    with pytest.raises(DataError, match="download failed"):
        data.download_mnist(tmp_path / "d", url=url, checksums={"nope.gz": "0" * 64})


def test_default_checksums_are_the_published_ones():
    assert data.MNIST_FILES["train-images-idx3-ubyte.gz"].startswith("440fcabf")
    assert len(data.MNIST_FILES) == 4


def test_train_val_split_is_stratified_disjoint_and_complete():
    x = np.arange(100)
    y = np.repeat(np.arange(4), 25)
    (xt, _yt), (xv, yv) = data.train_val_split(x, y, 0.2, seed=1)
    assert len(xv) == 20 and np.bincount(yv).tolist() == [5, 5, 5, 5]
    assert sorted(np.concatenate([xt, xv]).tolist()) == list(range(100))
    (xt2, _), _ = data.train_val_split(x, y, 0.2, seed=1)
    np.testing.assert_array_equal(xt, xt2)
    (_, _), (xv3, _) = data.train_val_split(x, y, 0.2, seed=2, stratify=False)
    assert len(xv3) == 20
    with pytest.raises(ValueError, match="val_fraction"):
        data.train_val_split(x, y, 1.5)


def test_data_loader_batches_and_shuffles_from_a_seed():
    x, y = np.arange(10) * 10, np.arange(10)
    loader = data.DataLoader(x, y, batch_size=3)
    batches = list(loader)
    assert [b[1].tolist() for b in batches] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert len(loader) == 4
    assert len(data.DataLoader(x, y, batch_size=3, drop_last=True)) == 3
    assert len(list(data.DataLoader(x, y, batch_size=3, drop_last=True))) == 3

    shuffled = data.DataLoader(x, y, batch_size=4, shuffle=True, seed=5)
    first = np.concatenate([yb for _, yb in shuffled])
    second = np.concatenate([yb for _, yb in shuffled])
    assert sorted(first.tolist()) == list(range(10)) and not np.array_equal(first, second)
    for xb, yb in shuffled:
        np.testing.assert_array_equal(xb, yb * 10)
    again = data.DataLoader(x, y, batch_size=4, shuffle=True, seed=5)
    again.epoch = 1  # jump to epoch 1: the same order as the second pass above
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in again]), second)


def test_per_sample_batches_keep_the_batch_axis():
    x = np.zeros((3, 1, 8, 8), np.float32)
    batches = list(data.DataLoader(x, np.arange(3), batch_size=1, shuffle=True))
    assert all(xb.shape == (1, 1, 8, 8) and yb.shape == (1,) for xb, yb in batches)


def test_data_loader_bad_arguments():
    with pytest.raises(ValueError, match="x has 2 samples but y has 3"):
        data.DataLoader(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        data.DataLoader(np.zeros(2), np.zeros(2), batch_size=0)


# ----------------------------------------------------------------------------- hostile IDX files


def header(code, shape):
    return bytes([0, 0, code, len(shape)]) + b"".join(int(n).to_bytes(4, "big") for n in shape)


@pytest.mark.parametrize(
    "raw, message",
    [
        (
            header(0x08, [1] * 65) + b"\x00",
            "the IDX header declares 65 dimensions; expected 1 to 16",
        ),
        (header(0x08, [1] * 17) + b"\x00", "declares 17 dimensions"),
        (header(0x08, []) + b"\x00", "declares 0 dimensions"),
        (bytes([0, 0, 0x08, 255]), "declares 255 dimensions"),
        (
            header(0x0E, [2**32 - 1] * 3) + b"\x00" * 8,
            r"the IDX header's sizes 4294967295 x 4294967295 x 4294967295 describe an array too large",
        ),
    ],
    ids=[
        "65 dimensions",
        "17 dimensions",
        "0 dimensions",
        "255 dimensions, no sizes",
        "huge sizes",
    ],
)
@pytest.mark.parametrize("gz", [False, True])
def test_a_hostile_idx_header_is_a_data_error(tmp_path, raw, message, gz):
    path = tmp_path / "x-idx1-ubyte"
    path.write_bytes(gzip.compress(raw) if gz else raw)
    with pytest.raises(DataError, match=f"{path}: .*{message}"):
        data.read_idx(path)


def test_a_gzipped_idx_file_is_read_no_further_than_its_header_says(tmp_path):
    """10 labels then 64 MiB of zeros: refused after reading 11 bytes of data, not 64 MiB."""
    path = tmp_path / "labels-idx1-ubyte.gz"
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(header(0x08, [10]) + bytes(10))
        block = bytes(1 << 20)
        for _ in range(64):
            f.write(block)
    assert path.stat().st_size < 1 << 20
    peak, error = peak_memory(lambda: data.read_idx(path))
    assert isinstance(error, DataError)
    assert re.search(r"longer than its header says: .*found more than 10 bytes", str(error))
    assert peak < 1 << 20, f"{peak:,} bytes"


def test_an_uncompressed_idx_file_of_the_wrong_size_is_refused_before_reading(tmp_path):
    path = tmp_path / "labels-idx1-ubyte"
    with path.open("wb") as f:
        f.write(header(0x08, [10]) + bytes(10))
        f.truncate(64 << 20)  # a sparse file: 64 MiB long, nothing on disk
    peak, error = peak_memory(lambda: data.read_idx(path))
    assert isinstance(error, DataError) and "found 67,108,856 bytes" in str(error)
    assert peak < 1 << 20, f"{peak:,} bytes"
