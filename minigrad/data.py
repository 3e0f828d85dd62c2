"""Datasets and batching: the bundled 8x8 digits, MNIST from its IDX files, ``DataLoader``.

Images come out as float32 arrays in NCHW layout with values in [0, 1], labels as int64 class
indices, ready for ``model(x)`` and ``cross_entropy(logits, y)``.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import shutil
import tempfile
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from minigrad.arguments import positive_int
from minigrad.errors import ArgumentError, DataError

__all__ = [
    "MNIST_FILES",
    "DataLoader",
    "download_mnist",
    "load_digits",
    "load_mnist",
    "read_idx",
    "train_val_split",
]

INSTALL_HINT = "pip install 'minigrad-autograd[train]'"


def load_digits(dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 handwritten digits (1,797 images, offline).

    Returns:
        ``(x, y)``: ``x`` of shape (1797, 1, 8, 8) with values in [0, 1] (the original
        0..16 divided by 16), ``y`` of shape (1797,) with int64 labels 0..9.

    Raises:
        ImportError: scikit-learn is not installed (the message says how to install it).

    >>> x, y = load_digits()
    >>> x.shape, x.dtype, y[:5]
    ((1797, 1, 8, 8), dtype('float32'), array([0, 1, 2, 3, 4]))
    """
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError as exc:
        raise ImportError(
            f"load_digits needs scikit-learn, which is not installed; run: {INSTALL_HINT}"
        ) from exc
    bunch = sk_load_digits()
    x = (bunch.images / 16.0).astype(dtype)[:, None, :, :]
    return np.ascontiguousarray(x), bunch.target.astype(np.int64)


# ------------------------------------------------------------------------- IDX files

# IDX type codes (third byte of the magic number) and the big-endian dtypes they mean.
_IDX_TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


#: The most dimensions an IDX header may declare.
MAX_IDX_DIMS = 16


def _read_up_to(stream: BinaryIO, n: int) -> bytearray:
    """At most ``n`` bytes of ``stream``, in pieces, so that what is held in memory is what
    the stream really has (a header may promise more)."""
    data = bytearray()
    while len(data) < n:
        chunk = stream.read(min(n - len(data), 1 << 22))
        if not chunk:
            break
        data += chunk
    return data


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (the MNIST format), gzipped or not.

    The header is a magic number ``0x00 0x00 <type> <ndim>`` and ``ndim`` big-endian 32-bit
    sizes; then the data. The result is a native-endian array of that shape. The header is
    checked before the data is read, and no more than the data it declares (plus one byte, to
    notice extra data) is read or decompressed.

    Raises:
        DataError: a wrong magic number, an unknown type, a number of dimensions outside 1 to
            :data:`MAX_IDX_DIMS`, or a data size that does not match the header (a truncated
            file or extra bytes); the message names the file.
    """
    path = Path(path)
    try:
        f = path.open("rb")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file ({exc.strerror})") from None
    with f:
        gzipped = f.read(2) == b"\x1f\x8b"
        f.seek(0)
        if not gzipped:
            return _read_idx(path, f, path.stat().st_size)
        try:
            with gzip.GzipFile(fileobj=f) as stream:
                return _read_idx(path, stream, None)
        except (EOFError, OSError, zlib.error) as exc:
            raise DataError(f"{path}: the gzip data is truncated or damaged ({exc})") from None


def _read_idx(path: Path, stream: BinaryIO, size: int | None) -> np.ndarray:
    """The array in ``stream``; ``size`` is the file's size when it is not compressed."""
    head = _read_up_to(stream, 4)
    if len(head) < 4 or head[0] != 0 or head[1] != 0:
        magic = int.from_bytes(head[:4], "big")
        raise DataError(
            f"{path}: not an IDX file (magic number {magic:#010x}; IDX files start with "
            "0x0000 then a type byte and the number of dimensions)"
        )
    type_code, ndim = head[2], head[3]
    if type_code not in _IDX_TYPES:
        raise DataError(f"{path}: unknown IDX data type {type_code:#04x}")
    if not 1 <= ndim <= MAX_IDX_DIMS:
        raise DataError(
            f"{path}: the IDX header declares {ndim} dimensions; expected 1 to {MAX_IDX_DIMS}"
        )
    header = 4 + 4 * ndim
    sizes = _read_up_to(stream, 4 * ndim)
    if len(sizes) < 4 * ndim:
        raise DataError(f"{path}: truncated header ({4 + len(sizes)} bytes, need {header})")
    shape = tuple(int.from_bytes(sizes[4 * i : 4 * i + 4], "big") for i in range(ndim))
    dtype = _IDX_TYPES[type_code]
    if math.prod(s or 1 for s in shape) * dtype.itemsize >= 2**63:
        raise DataError(
            f"{path}: the IDX header's sizes {' x '.join(map(str, shape))} describe an array "
            "too large to exist"
        )
    expected = math.prod(shape) * dtype.itemsize
    # An uncompressed file's size says everything before any data is read.
    data = _read_up_to(stream, expected + 1) if size is None or size == header + expected else b""
    found = len(data) if size is None else size - header
    if found != expected:
        what = "truncated" if found < expected else "longer than its header says"
        exact = f"{found:,}" if size is not None or found < expected else f"more than {expected:,}"
        raise DataError(
            f"{path}: file is {what}: the header says {' x '.join(map(str, shape))} values "
            f"({expected:,} bytes of data), found {exact} bytes"
        )
    array = np.frombuffer(data, dtype=dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


#: The four MNIST files and their SHA-256 checksums.
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
    ),
    "train-labels-idx1-ubyte.gz": (
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
    ),
}


def _find(folder: Path, stem: str) -> Path:
    """``stem`` (e.g. ``train-images-idx3-ubyte``) in ``folder``, gzipped or not."""
    dotted = stem.replace("-idx", ".idx")
    candidates = [f"{stem}.gz", stem, f"{dotted}.gz", dotted]
    for name in candidates:
        if (folder / name).is_file():
            return folder / name
    raise DataError(
        f"{folder}: no MNIST file {stem}[.gz] (looked for {', '.join(candidates)}); "
        "download the four IDX files there, or use download_mnist()"
    )


def load_mnist(
    folder: str | Path, split: str = "train", dtype: Any = np.float32
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST from the original IDX files in ``folder`` (gzipped or not).

    Args:
        folder: holds ``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
            ``t10k-images-idx3-ubyte[.gz]`` and ``t10k-labels-idx1-ubyte[.gz]``.
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000).
        dtype: the images' float dtype.

    Returns:
        ``(x, y)``: ``x`` of shape (N, 1, 28, 28) with values in [0, 1] (pixel / 255),
        ``y`` of shape (N,) with int64 labels 0..9.

    Raises:
        DataError: a missing, truncated or damaged file, a wrong magic number, images and
            labels of different counts, or labels outside 0..9.
    """
    if split not in ("train", "test"):
        raise ArgumentError(f"load_mnist: split must be 'train' or 'test', got {split!r}")
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder (MNIST expected there)")
    prefix = "train" if split == "train" else "t10k"
    images_path = _find(folder, f"{prefix}-images-idx3-ubyte")
    labels_path = _find(folder, f"{prefix}-labels-idx1-ubyte")
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(
            f"{images_path}: expected unsigned bytes of shape (N, rows, cols) (magic 2051), "
            f"got {images.dtype} of shape {images.shape}"
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise DataError(
            f"{labels_path}: expected unsigned bytes of shape (N,) (magic 2049), "
            f"got {labels.dtype} of shape {labels.shape}"
        )
    if len(images) != len(labels):
        raise DataError(
            f"{folder}: {images_path.name} holds {len(images):,} images but "
            f"{labels_path.name} holds {len(labels):,} labels"
        )
    if labels.size and labels.max() > 9:
        raise DataError(f"{labels_path}: label {labels.max()} is outside 0..9")
    x = np.empty((len(images), 1, *images.shape[1:]), dtype=dtype)
    np.multiply(images[:, None], np.asarray(1 / 255, dtype=dtype), out=x)
    return x, labels.astype(np.int64)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download_mnist(
    folder: str | Path,
    url: str = "https://ossci-datasets.s3.amazonaws.com/mnist/",
    checksums: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download the four MNIST files into ``folder`` and verify their SHA-256 checksums.

    Files already present with the right checksum are kept. Each download goes to a
    temporary file in ``folder`` and is moved into place only once its checksum matches.

    Args:
        folder: where to put the files (created if needed).
        url: the base URL the four file names are appended to.
        checksums: file name -> SHA-256 hex digest (default :data:`MNIST_FILES`).
        timeout: seconds to wait for the server.

    Raises:
        DataError: a download failed or a file's checksum does not match.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    checksums = MNIST_FILES if checksums is None else checksums
    base = url if url.endswith("/") else url + "/"
    for name, digest in checksums.items():
        target = folder / name
        if target.is_file() and _sha256(target) == digest:
            continue
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
        tmp = Path(tmp_name)
        try:
            with (
                os.fdopen(fd, "wb") as out,
                urllib.request.urlopen(base + name, timeout=timeout) as response,
            ):
                shutil.copyfileobj(response, out)
            got = _sha256(tmp)
            if got != digest:
                raise DataError(
                    f"{base + name}: SHA-256 checksum mismatch (expected {digest}, got {got}); "
                    "the download is damaged or the server holds a different file"
                )
            os.replace(tmp, target)
        except OSError as exc:
            raise DataError(f"{base + name}: download failed ({exc})") from None
        finally:
            tmp.unlink(missing_ok=True)
    return folder


# ------------------------------------------------------------------------- batching


def train_val_split(
    x: np.ndarray,
    y: np.ndarray,
    val_fraction: float = 0.2,
    seed: int = 0,
    stratify: bool = True,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Split ``(x, y)`` into training and validation sets, shuffled from ``seed``.

    With ``stratify`` each class keeps its proportion in both parts (rounded per class).

    >>> x, y = np.arange(20.0).reshape(10, 2), np.array([0, 1] * 5)
    >>> (xt, yt), (xv, yv) = train_val_split(x, y, val_fraction=0.4)
    >>> len(yt), len(yv), sorted(yv.tolist())
    (6, 4, [0, 0, 1, 1])
    """
    if len(x) != len(y):
        raise ArgumentError(f"train_val_split: x has {len(x)} samples but y has {len(y)}")
    if not 0 < val_fraction < 1:
        raise ArgumentError(f"train_val_split: val_fraction must be in (0, 1), got {val_fraction}")
    rng = np.random.default_rng(seed)
    if stratify:
        val_parts = []
        for label in np.unique(y):
            members = rng.permutation(np.flatnonzero(y == label))
            val_parts.append(members[: round(len(members) * val_fraction)])
        val = np.sort(np.concatenate(val_parts))
    else:
        val = np.sort(rng.permutation(len(y))[: round(len(y) * val_fraction)])
    mask = np.ones(len(y), dtype=bool)
    mask[val] = False
    train = np.flatnonzero(mask)
    return (x[train], y[train]), (x[val], y[val])


def _samples(name: str, value: Any) -> np.ndarray:
    """``value`` as an array whose first axis holds the samples."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:  # a ragged list
        raise ArgumentError(f"DataLoader: {name} is not an array ({exc})") from None
    if array.ndim == 0:
        raise ArgumentError(
            f"DataLoader: {name} must be an array of samples (first axis), got {value!r}"
        )
    return array


class DataLoader:
    """Mini-batches ``(x[i:i+b], y[i:i+b])`` of arrays, shuffled from a seed each epoch.

    The order of epoch ``e`` depends only on ``(seed, e)``, so a run resumed at epoch ``e``
    sees the same batches as an uninterrupted one. Iterating starts the epoch ``self.epoch``
    and then counts it up; assign ``loader.epoch`` to jump.

    >>> x, y = np.arange(10.0), np.arange(10)
    >>> loader = DataLoader(x, y, batch_size=4, shuffle=True, seed=0)
    >>> len(loader), [len(xb) for xb, yb in loader]
    (3, [4, 4, 2])
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int = 1,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        x, y = _samples("x", x), _samples("y", y)
        if len(x) != len(y):
            raise ArgumentError(f"DataLoader: x has {len(x)} samples but y has {len(y)}")
        batch_size = positive_int("DataLoader", "batch_size", batch_size)
        self.x, self.y = x, y
        self.batch_size, self.shuffle, self.seed, self.drop_last = (
            batch_size,
            shuffle,
            seed,
            drop_last,
        )
        self.epoch = 0

    def __len__(self) -> int:
        n, b = len(self.y), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def order(self, epoch: int) -> np.ndarray:
        """The sample indices of ``epoch``, in the order they are served."""
        n = len(self.y)
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng([self.seed, epoch]).permutation(n)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        order = self.order(self.epoch)
        self.epoch += 1
        x, y, b = self.x, self.y, self.batch_size
        for start in range(0, len(self) * b, b):
            idx = order[start : start + b]
            if not self.shuffle:
                yield x[start : start + b], y[start : start + b]
            else:
                yield x[idx], y[idx]
