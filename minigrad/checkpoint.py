"""Checkpoints: one ``.npz`` file with everything needed to resume training exactly.

Inside the file (a NumPy zip archive, readable with ``numpy.load(path, allow_pickle=False)``):

| key | what |
|---|---|
| ``param:<name>`` | each parameter's array, by dotted name (``param:0.weight``) |
| ``buffer:<name>`` | each buffer's array, e.g. batch norm's ``buffer:1.running_mean`` |
| ``optim:<i>:<key>`` | the optimiser's per-parameter arrays (``optim:0:momentum_buffer``) |
| ``meta`` | JSON: format version, epoch, spec, optimiser type and hyperparameters, history, |
| | and the state of each ``Dropout``'s generator, by the layer's dotted name |

The file is written to a temporary file in the same folder and then moved into place with
``os.replace``, so a crash mid-write never leaves a half-written checkpoint under the real
name. Loading never unpickles anything.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from minigrad.errors import ArgumentError, CheckpointError, StateDictError
from minigrad.nn.module import Module
from minigrad.nn.spec import from_spec
from minigrad.optim import SGD, Adam, Optimizer

__all__ = ["Checkpoint", "load_checkpoint", "save_checkpoint"]

FORMAT = "minigrad-checkpoint"
VERSION = 1
OPTIMIZERS: dict[str, type[Optimizer]] = {"SGD": SGD, "Adam": Adam}


@dataclass
class Checkpoint:
    """The contents of a checkpoint file.

    Attributes:
        params: parameter arrays by dotted name.
        epoch: the number of epochs completed.
        spec: the normalised model spec, or None for a model not built from a spec.
        optimizer: the optimiser's ``state_dict()``, or None.
        history: per-epoch metric records.
        extra: any JSON-able data the caller stored (e.g. the dataset name).
        path: the file it was read from.
        buffers: buffer arrays (batch norm's running statistics) by dotted name.
        rng: each dropout layer's generator state, by the layer's dotted name.
    """

    params: dict[str, np.ndarray]
    epoch: int = 0
    spec: dict[str, Any] | None = None
    optimizer: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    buffers: dict[str, np.ndarray] = field(default_factory=dict)
    rng: dict[str, Any] = field(default_factory=dict)

    def build_model(self) -> Module:
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
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"{self.path}: damaged optimiser settings ({exc})") from None
        opt.load_state_dict(self.optimizer)
        return opt

    def restore(self, model: Module, optimizer: Optimizer | None = None) -> None:
        """Load the stored parameters, buffers and generator states into ``model`` (and state
        into ``optimizer``)."""
        generators = _generators(model)
        unknown = [name for name in self.rng if name not in generators]
        if unknown:
            raise CheckpointError(
                f"{self.path}: does not fit the model: it holds the generator of "
                f"{unknown[0]!r}, which is not a Dropout layer of the model"
            )
        for name, state in self.rng.items():  # checked before anything changes
            try:
                trial = type(generators[name].generator.bit_generator)()
                trial.state = state
            except (TypeError, ValueError, KeyError) as exc:
                raise CheckpointError(
                    f"{self.path}: damaged generator state of {name!r} ({exc})"
                ) from None
        try:
            model.load_state_dict({**self.params, **self.buffers})
        except StateDictError as exc:
            raise CheckpointError(f"{self.path}: does not fit the model: {exc}") from None
        for name, state in self.rng.items():
            generators[name].set_rng_state(state)
        if optimizer is not None:
            if self.optimizer is None:
                raise CheckpointError(f"{self.path}: this checkpoint holds no optimiser state")
            optimizer.load_state_dict(self.optimizer)


def _generators(model: Module) -> dict[str, Any]:
    """The modules that draw random numbers as they run (``Dropout``), by dotted name."""
    return {name: m for name, m in model.named_modules() if hasattr(m, "get_rng_state")}


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
        history: a :class:`~minigrad.train.History` or a list of per-epoch dicts.
        extra: JSON-able data to keep alongside (e.g. which dataset was used).

    Returns:
        The path written.
    """
    path = Path(path)
    arrays: dict[str, np.ndarray] = {
        f"param:{name}": p.data for name, p in model.named_parameters()
    }
    arrays.update({f"buffer:{name}": b.data for name, b in model.named_buffers()})
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
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "epoch": int(epoch),
        "spec": getattr(model, "spec", None),
        "optimizer": optim_meta,
        "history": list(records),
        "extra": extra or {},
        "rng": {name: m.get_rng_state() for name, m in _generators(model).items()},
    }
    arrays["meta"] = np.array(json.dumps(meta, default=_json_default))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates the file readable by its owner only; give it the usual permissions.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_name, 0o666 & ~umask)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (with ``allow_pickle=False``).

    Raises:
        CheckpointError: the file is missing, is not a minigrad checkpoint, or is damaged.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        with np.load(path, allow_pickle=False) as npz:
            contents = {key: npz[key] for key in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise CheckpointError(f"{path}: not a readable .npz checkpoint ({exc})") from None
    if "meta" not in contents:
        raise CheckpointError(f"{path}: not a minigrad checkpoint (no 'meta' entry)")
    try:
        meta = json.loads(str(contents.pop("meta")))
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: damaged metadata ({exc})") from None
    try:
        return _from_contents(path, meta, contents)
    except CheckpointError:
        raise
    except (AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
        # The JSON parsed but does not have the structure save_checkpoint writes.
        raise CheckpointError(f"{path}: damaged metadata ({type(exc).__name__}: {exc})") from None


def _from_contents(path: Path, meta: Any, contents: dict[str, np.ndarray]) -> Checkpoint:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a minigrad checkpoint")
    if int(meta.get("version", 0)) > VERSION:
        raise CheckpointError(
            f"{path}: written by a newer minigrad (format version {meta['version']}); upgrade"
        )
    spec = meta.get("spec")
    if spec is not None and not isinstance(spec, dict):
        # A string here would be read as a file path by from_spec.
        raise CheckpointError(f"{path}: damaged metadata (the model spec is not a table)")
    params = {k.removeprefix("param:"): v for k, v in contents.items() if k.startswith("param:")}
    buffers = {k.removeprefix("buffer:"): v for k, v in contents.items() if k.startswith("buffer:")}
    rng = meta.get("rng", {})
    if not isinstance(rng, dict) or not all(isinstance(v, dict) for v in rng.values()):
        raise CheckpointError(f"{path}: damaged metadata (the generator states are not tables)")
    optimizer = None
    if meta.get("optimizer") is not None:
        om = meta["optimizer"]
        if om["type"] not in OPTIMIZERS:
            raise CheckpointError(f"{path}: unknown optimiser type {om['type']!r}")
        state: list[dict[str, Any]] = [dict(s) for s in om["scalars"]]
        for key, value in contents.items():
            if key.startswith("optim:"):
                _, index, name = key.split(":", 2)
                state[int(index)][name] = value
        optimizer = {"type": om["type"], "hyper": dict(om["hyper"]), "state": state}
    return Checkpoint(
        params=params,
        epoch=int(meta["epoch"]),
        spec=spec,
        optimizer=optimizer,
        history=list(meta.get("history", [])),
        extra=dict(meta.get("extra", {})),
        path=path,
        buffers=buffers,
        rng=rng,
    )
