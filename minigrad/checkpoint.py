"""Checkpoints: one ``.npz`` file with everything needed to resume training exactly.

Inside the file (a NumPy zip archive, readable with ``numpy.load(path, allow_pickle=False)``):

| key | what |
|---|---|
| ``param:<name>`` | each parameter's array, by dotted name (``param:0.weight``) |
| ``buffer:<name>`` | each buffer's array, e.g. batch norm's ``buffer:1.running_mean`` |
| ``rng:<name>`` | each dropout layer's generator state (PCG64) as 6 ``uint64`` |
| ``optim:<i>:<key>`` | the optimiser's per-parameter arrays (``optim:0:momentum_buffer``) |
| ``meta`` | JSON: format version, epoch, spec, optimiser settings, history, gradient norms |

The file is written to a temporary file in the same folder and then moved into place with
``os.replace``, so a crash mid-write never leaves a half-written checkpoint under the real
name. Loading never unpickles anything.

Loading reads the metadata first and checks every value in it (type, range, nesting depth);
the stored spec then says which arrays the file must hold, with which shapes and dtype. Only
those members are read, and each one's header (shape, dtype) and declared size are checked
before its data is read, so a hostile file cannot make a load use more memory than a valid
checkpoint of the same model. A checkpoint without a spec (a model built by hand) is read
member by member too, and no member may expand to more than the file's own size.
"""

from __future__ import annotations

import json
import math
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from minigrad.arguments import integer, show
from minigrad.errors import ArgumentError, CheckpointError, SpecError, StateDictError
from minigrad.files import check_tree, loads_json, write_atomically
from minigrad.nn.graph import Graph
from minigrad.nn.module import Module, Sequential
from minigrad.nn.spec import from_spec, state_shapes, validate_spec
from minigrad.optim import SGD, Adam, Optimizer

__all__ = ["Checkpoint", "load_checkpoint", "save_checkpoint"]

FORMAT = "minigrad-checkpoint"
VERSION = 1
OPTIMIZERS: dict[str, type[Optimizer]] = {"SGD": SGD, "Adam": Adam}
#: The largest epoch number a checkpoint may hold.
MAX_EPOCH = 10**9
#: The largest metadata member read (JSON of the spec, history and extra data).
MAX_META_BYTES = 16 << 20


def _epoch(where: str, argument: str, value: Any) -> int:
    return integer(where, argument, value, 0, maximum=MAX_EPOCH, text=True)


def _version(where: str, argument: str, value: Any) -> int:
    return integer(where, argument, value, 1, text=True)


@dataclass
class Checkpoint:
    """The contents of a checkpoint file.

    Attributes:
        params: parameter arrays by dotted name.
        epoch: the number of epochs completed.
        spec: the normalised model spec, or None for a model not built from a spec.
        optimizer: the optimiser's ``state_dict()``, or None.
        history: per-epoch metric records.
        gradients: per-epoch gradient norms of each parameter (``History.gradients``).
        extra: any JSON-able data the caller stored (e.g. the dataset name).
        path: the file it was read from.
        buffers: buffer arrays (batch norm's running statistics) by dotted name.
        rng: each dropout layer's generator state (6 ``uint64``), by the layer's dotted name.
    """

    params: dict[str, np.ndarray]
    epoch: int = 0
    spec: dict[str, Any] | None = None
    optimizer: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    gradients: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    buffers: dict[str, np.ndarray] = field(default_factory=dict)
    rng: dict[str, np.ndarray] = field(default_factory=dict)

    def build_model(self) -> Sequential | Graph:
        """The model from the stored spec, with the stored parameters."""
        if self.spec is None:
            raise CheckpointError(
                f"{self.path}: this checkpoint holds no model spec; build the model yourself "
                "and call restore(model)"
            )
        model = from_spec(self.spec)
        self.restore(model)
        return model

    def build_optimizer(self, model: Module) -> Optimizer:
        """An optimiser of the stored type for ``model``, with the stored state."""
        if self.optimizer is None:
            raise CheckpointError(f"{self.path}: this checkpoint holds no optimiser state")
        cls = OPTIMIZERS[self.optimizer["type"]]
        try:
            opt = cls(model.parameters(), **self.optimizer["hyper"])
        except (ArgumentError, TypeError) as exc:  # TypeError: a setting it does not take
            raise CheckpointError(f"{self.path}: damaged optimiser settings ({exc})") from None
        self._fail_in_file(opt.load_state_dict, self.optimizer)
        return opt

    def restore(self, model: Module, optimizer: Optimizer | None = None) -> None:
        """Load the stored parameters, buffers and dropout generators into ``model`` (and
        state into ``optimizer``).

        Everything is checked (every parameter's and buffer's name, shape and dtype, each
        generator state, the optimiser's type, hyperparameters and state) before anything is
        copied: when it raises, the model and the optimiser are exactly as they were.
        """
        generators = _generators(model)
        states = {}
        for name, packed in self.rng.items():
            if name not in generators:
                raise CheckpointError(
                    f"{self.path}: does not fit the model: it holds the generator of "
                    f"{name!r}, which is not a Dropout layer of the model"
                )
            try:
                states[name] = _unpack_rng(packed)
            except (TypeError, ValueError, KeyError) as exc:
                raise CheckpointError(
                    f"{self.path}: damaged generator state of {name!r} ({exc})"
                ) from None
        checked = None
        if optimizer is not None:
            if self.optimizer is None:
                raise CheckpointError(f"{self.path}: this checkpoint holds no optimiser state")
            checked = self._fail_in_file(optimizer.check_state_dict, self.optimizer)
        try:  # checks every entry before it copies any
            model.load_state_dict({**self.params, **self.buffers})
        except StateDictError as exc:
            raise CheckpointError(f"{self.path}: does not fit the model: {exc}") from None
        for name, state in states.items():
            generators[name].set_rng_state(state)
        if optimizer is not None:
            optimizer.load_state_dict(checked)  # already checked: cannot fail

    def _fail_in_file(self, load: Callable[[Any], Any], state: Any) -> Any:
        try:
            return load(state)
        except CheckpointError as exc:
            raise CheckpointError(f"{self.path}: {exc}") from None


def _generators(model: Module) -> dict[str, Any]:
    """The modules that draw random numbers as they run (``Dropout``), by dotted name."""
    return {name: m for name, m in model.named_modules() if hasattr(m, "get_rng_state")}


def _pack_rng(name: str, state: dict[str, Any]) -> np.ndarray:
    """A PCG64 state (two 128-bit integers and the cached 32 bits) as 6 ``uint64``: the
    integers are too long for the metadata's JSON."""
    if state.get("bit_generator") != "PCG64":
        raise ArgumentError(
            f"save_checkpoint: the generator of {name!r} is a {state.get('bit_generator')}; "
            "only PCG64 generators (numpy.random.default_rng) can be stored"
        )
    s, inc = state["state"]["state"], state["state"]["inc"]
    words = [s >> 64, s & (2**64 - 1), inc >> 64, inc & (2**64 - 1)]
    return np.array([*words, state["has_uint32"], state["uinteger"]], dtype=np.uint64)


def _unpack_rng(packed: np.ndarray) -> dict[str, Any]:
    """The PCG64 state that :func:`_pack_rng` stored, checked by NumPy itself."""
    if packed.shape != (6,) or packed.dtype != np.uint64:
        raise ValueError(f"expected 6 uint64, got shape {packed.shape} of {packed.dtype}")
    w = [int(v) for v in packed]
    state = {
        "bit_generator": "PCG64",
        "state": {"state": (w[0] << 64) | w[1], "inc": (w[2] << 64) | w[3]},
        "has_uint32": w[4],
        "uinteger": w[5],
    }
    np.random.PCG64().state = state  # raises on a state NumPy refuses
    return state


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise ArgumentError(f"cannot store {type(value).__name__} in a checkpoint's metadata")


def save_checkpoint(
    path: str | Path,
    model: Module,
    optimizer: Optimizer | None = None,
    *,
    epoch: int = 0,
    history: Any = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` (its parameters and ``model.spec``), the optimiser state and ``epoch``.

    Args:
        path: the ``.npz`` file to write (its folder is created if needed).
        model: the model; its ``spec`` attribute, when present, is stored too.
        optimizer: its ``state_dict()`` is stored when given.
        epoch: the number of epochs completed.
        history: a :class:`~minigrad.train.History` (its records and gradient norms) or a
            list of per-epoch dicts.
        extra: JSON-able data to keep alongside (e.g. which dataset was used).

    Returns:
        The path written.
    """
    path = Path(path)
    arrays: dict[str, np.ndarray] = {
        f"param:{name}": p.data for name, p in model.named_parameters()
    }
    arrays.update({f"buffer:{name}": b.data for name, b in model.named_buffers()})
    for name, module in _generators(model).items():
        arrays[f"rng:{name}"] = _pack_rng(name, module.get_rng_state())
    optim_meta = None
    if optimizer is not None:
        state = optimizer.state_dict()
        scalars = []
        for i, per_param in enumerate(state["state"]):
            kept = {}
            for key, value in per_param.items():
                if isinstance(value, np.ndarray):
                    arrays[f"optim:{i}:{key}"] = value
                else:
                    kept[key] = value
            scalars.append(kept)
        optim_meta = {"type": state["type"], "hyper": state["hyper"], "scalars": scalars}
    records = getattr(history, "records", history) or []
    epoch = _epoch("save_checkpoint", "epoch", epoch)
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "epoch": epoch,
        "spec": getattr(model, "spec", None),
        "optimizer": optim_meta,
        "history": list(records),
        "gradients": list(getattr(history, "gradients", [])),
        "extra": extra or {},
    }
    # What load_checkpoint would refuse is refused here, so a save is always loadable.
    try:
        check_tree(meta)
        text = json.dumps(meta, default=_json_default, allow_nan=False)
    except ValueError as exc:
        raise ArgumentError(f"save_checkpoint: cannot store the metadata ({exc})") from None
    arrays["meta"] = np.array(text)
    return write_atomically(path, lambda f: np.savez(f, **arrays))


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (nothing is ever unpickled).

    The metadata is read and checked first; then only the arrays it declares are read, each
    checked for shape, dtype and size before its data is read (see the module docstring).

    Raises:
        CheckpointError: the file is missing, is not a minigrad checkpoint, or is damaged; the
            message names the file, the field or member, what was expected and what came.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        with zipfile.ZipFile(path) as archive:
            return _Reader(path, archive).checkpoint()
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise CheckpointError(f"{path}: not a readable .npz checkpoint ({exc})") from None
    except (NotImplementedError, zlib.error, RuntimeError) as exc:  # unknown compression,
        # encryption or a broken deflate stream
        raise CheckpointError(f"{path}: not a readable .npz checkpoint ({exc})") from None


class _Reader:
    """Reads one checkpoint archive: the metadata, checked field by field, then the members
    it declares, each bounded by what it declares."""

    def __init__(self, path: Path, archive: zipfile.ZipFile) -> None:
        self.path, self.archive = path, archive
        self.members = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
        self.file_size = path.stat().st_size

    def fail(self, problem: str) -> CheckpointError:
        return CheckpointError(f"{self.path}: {problem}")

    def damaged(self, where: str, problem: str) -> CheckpointError:
        return self.fail(f"damaged metadata (ValueError: {where} {problem})")

    # ------------------------------------------------------------------ metadata

    def checkpoint(self) -> Checkpoint:
        if "meta" not in self.members:
            raise self.fail("not a minigrad checkpoint (no 'meta' entry)")
        for info in self.members.values():  # headers only: no member may hold a pickle
            with self.archive.open(info) as f:
                if _read_header(f)[2].hasobject:
                    raise ValueError("Object arrays cannot be loaded when allow_pickle=False")
        meta_array = self.array("meta", shape=(), kinds="U", max_bytes=MAX_META_BYTES)
        try:
            meta = loads_json(str(meta_array[()]))
        except json.JSONDecodeError as exc:
            raise self.fail(f"damaged metadata (not JSON: {exc})") from None
        except ValueError as exc:
            raise self.fail(f"damaged metadata (ValueError: {exc})") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise self.fail("not a minigrad checkpoint")
        version = self.field(meta, "version", _version)
        if version > VERSION:
            raise self.fail(f"written by a newer minigrad (format version {version}); upgrade")
        epoch = self.field(meta, "epoch", _epoch)
        spec = meta.get("spec")
        params_expected: dict[str, tuple[int, ...]] | None = None
        buffers_expected: dict[str, tuple[int, ...]] | None = None
        if spec is not None:
            if not isinstance(spec, dict):
                # A string here would be read as a file path by from_spec.
                raise self.fail("damaged metadata (the model spec is not a table)")
            try:
                spec = validate_spec(spec, "spec")
            except SpecError as exc:
                raise self.damaged("the model", str(exc)) from None
            params_expected, buffers_expected = state_shapes(spec)
        history = meta.get("history", [])
        if not isinstance(history, list) or not all(isinstance(r, dict) for r in history):
            raise self.damaged("history", f"must be a list of tables, got {show(history)}")
        gradients = meta.get("gradients", [])
        if not isinstance(gradients, list) or not all(isinstance(r, dict) for r in gradients):
            raise self.damaged("gradients", f"must be a list of tables, got {show(gradients)}")
        extra = meta.get("extra", {})
        if not isinstance(extra, dict):
            raise self.damaged("extra", f"must be a table, got {show(extra)}")
        dtype = np.dtype(spec["dtype"]) if spec is not None else None
        params = self.params(params_expected, dtype)
        buffers = self.params(buffers_expected, np.dtype(np.int64), prefix="buffer:")
        rng = {
            k.removeprefix("rng:"): self.array(k, (6,), kinds="u", max_itemsize=8, of="a PCG64")
            for k in self.members
            if k.startswith("rng:")
        }
        optimizer = None
        if meta.get("optimizer") is not None:
            optimizer = self.optimizer(meta["optimizer"], params)
        return Checkpoint(
            params=params,
            epoch=epoch,
            spec=spec,
            optimizer=optimizer,
            history=history,
            gradients=gradients,
            extra=extra,
            path=self.path,
            buffers=buffers,
            rng=rng,
        )

    def field(self, table: Mapping[str, Any], key: str, check: Any, where: str = "") -> Any:
        if key not in table:
            raise self.fail(f"damaged metadata (KeyError: {where + key!r} is missing)")
        try:
            return check("", where + key, table[key])
        except ArgumentError as exc:
            raise self.fail(f"damaged metadata (ValueError: {exc})") from None

    def optimizer(self, om: Any, params: dict[str, np.ndarray]) -> dict[str, Any]:
        if not isinstance(om, dict):
            raise self.damaged("optimizer", f"must be a table, got {show(om)}")
        kind = om.get("type")
        if not isinstance(kind, str) or kind not in OPTIMIZERS:
            raise self.fail(f"unknown optimiser type {show(kind)}")
        cls = OPTIMIZERS[kind]
        for key in ("scalars", "hyper"):
            if key not in om:
                raise self.fail(f"damaged metadata (KeyError: {key!r} is missing from optimizer)")
        try:
            hyper = cls.check_hyper(om["hyper"], "", "optimizer.hyper.")
        except ArgumentError as exc:
            raise self.fail(f"damaged metadata (ValueError: {exc})") from None
        scalars = om["scalars"]
        if not isinstance(scalars, list) or len(scalars) != len(params):
            raise self.damaged(
                "optimizer.scalars",
                f"must be a list of one table per parameter ({len(params)}), got {show(scalars)}",
            )
        state: list[dict[str, Any]] = []
        for i, (numbers, param) in enumerate(zip(scalars, params.values(), strict=True)):
            where = f"optimizer.scalars[{i}]."
            if not isinstance(numbers, dict):
                raise self.damaged(where[:-1], f"must be a table, got {show(numbers)}")
            unknown = [k for k in numbers if k not in cls.state_scalars]
            if unknown:
                raise self.damaged(
                    where[:-1],
                    f"holds {show(unknown[0])}, not a state number of {kind} "
                    f"(expected: {', '.join(cls.state_scalars) or 'none'})",
                )
            entry = {
                k: self.field(numbers, k, check, where)
                for k, check in cls.state_scalars.items()
                if k in numbers
            }
            for key in cls.state_arrays:
                member = f"optim:{i}:{key}"
                if member in self.members:
                    entry[key] = self.array(
                        member, param.shape, max_itemsize=param.dtype.itemsize, of="its parameter"
                    )
            state.append(entry)
        return {"type": kind, "hyper": hyper, "state": state}

    # ------------------------------------------------------------------ arrays

    def params(
        self,
        expected: dict[str, tuple[int, ...]] | None,
        dtype: np.dtype | None,
        prefix: str = "param:",
    ) -> dict[str, np.ndarray]:
        """The parameters (or, with ``prefix="buffer:"``, the buffers) the spec declares (all
        such members when there is no spec)."""
        if expected is None:
            names = [k.removeprefix(prefix) for k in self.members if k.startswith(prefix)]
            return {name: self.array(f"{prefix}{name}") for name in names}
        what = "parameter" if prefix == "param:" else "buffer"
        params = {}
        for name, shape in expected.items():
            if f"{prefix}{name}" not in self.members:
                raise self.fail(
                    f"{what} {name!r} is missing (the stored model spec declares it, "
                    f"of shape {shape})"
                )
            params[name] = self.array(f"{prefix}{name}", shape, max_itemsize=dtype.itemsize)
        return params

    def array(
        self,
        member: str,
        shape: tuple[int, ...] | None = None,
        *,
        kinds: str | None = None,
        max_itemsize: int | None = None,
        max_bytes: int | None = None,
        of: str = "the stored model spec",
    ) -> np.ndarray:
        """Read one ``.npy`` member: its header first, then exactly the data it declares.

        ``shape`` (declared by ``of``), ``kinds`` (dtype kinds) and ``max_itemsize`` are what
        the member must have;
        without ``shape`` (a checkpoint without a spec) the data may not be larger than the
        file. The member's declared size in the zip directory must match its header.
        """
        info = self.members[member]
        what = "parameter " + repr(member[6:]) if member.startswith("param:") else repr(member)
        with self.archive.open(info) as f:
            header_shape, fortran, dtype = _read_header(f)
            header_bytes = f.tell()
            if dtype.hasobject:
                raise ValueError("Object arrays cannot be loaded when allow_pickle=False")
            if shape is not None and header_shape != tuple(shape):
                raise self.fail(
                    f"{what} has shape {header_shape} in the file, but {of} has {tuple(shape)}"
                )
            if kinds is not None and dtype.kind not in kinds:
                raise self.fail(f"{what} has dtype {dtype}; expected text")
            if max_itemsize is not None and dtype.itemsize > max_itemsize:
                raise self.fail(
                    f"{what} has dtype {dtype} ({dtype.itemsize} bytes a value), larger than "
                    f"the model's {max_itemsize}-byte numbers"
                )
            nbytes = math.prod(header_shape) * dtype.itemsize
            limit = max_bytes if max_bytes is not None or shape is not None else self.file_size
            if limit is not None and nbytes > limit:
                raise self.fail(f"{what} declares {nbytes:,} bytes of data, more than {limit:,}")
            if info.file_size != header_bytes + nbytes:
                raise self.fail(
                    f"{what}: the archive says {info.file_size:,} bytes but its header "
                    f"describes {header_bytes + nbytes:,}"
                )
            data = _read_exactly(f, nbytes)
            if f.read(1):  # also makes zipfile check the member's CRC
                raise self.fail(f"{what} is longer than its header says")
        array = np.frombuffer(data, dtype=dtype)
        return array.reshape(header_shape, order="F" if fortran else "C")


def _read_header(f: IO[bytes]) -> tuple[tuple[int, ...], bool, np.dtype]:
    """The shape, Fortran order and dtype from the header of a ``.npy`` stream."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(f)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(f)
    raise ValueError(f"unsupported .npy format version {version}")


def _read_exactly(f: IO[bytes], nbytes: int) -> bytearray:
    """``nbytes`` from ``f`` into one buffer, read in pieces (no second copy)."""
    data = bytearray(nbytes)
    view, pos = memoryview(data), 0
    while pos < nbytes:
        chunk = f.read(min(nbytes - pos, 1 << 20))
        if not chunk:
            raise ValueError(f"the data ends after {pos:,} of {nbytes:,} bytes")
        view[pos : pos + len(chunk)] = chunk
        pos += len(chunk)
    return data
