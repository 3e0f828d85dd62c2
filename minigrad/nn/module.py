"""``Parameter``, ``Module`` and ``Sequential``: models as trees of layers, as in PyTorch.

A :class:`Module` registers every :class:`Parameter` and sub-module assigned to one of its
attributes, in assignment order. From that tree it derives what training needs:
``parameters()``, ``named_parameters()`` with dotted names (``features.0.weight``),
``zero_grad()``, ``train()``/``eval()`` and ``state_dict()``/``load_state_dict()``. A module
may also hold *buffers* (:meth:`Module.register_buffer`): state that is saved and loaded with
the parameters but not trained, such as batch norm's running statistics.

Calling a module runs its ``forward`` inside :func:`minigrad.name_scope`, so each graph node
records which module made it (``node.scope``). The scope name of a module is the attribute name
under which its parent registered it, and the class name for a module that has no parent. The
parent's scope is active while the child runs, so scopes nest into the dotted path: a node made
by the convolution ``features.0`` of a root model ``Net`` has ``node.scope == ("Net",
"features", "0")``. The graph renderer draws one cluster per scope.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import numpy as np

from minigrad.engine import no_grad
from minigrad.errors import ArgumentError, ShapeError, StateDictError
from minigrad.modes import scope
from minigrad.tensor import Tensor

__all__ = ["Module", "Parameter", "Sequential"]

Shape = tuple[int, ...]


class Parameter(Tensor):
    """A tensor that a :class:`Module` owns and an optimiser updates: ``requires_grad=True``.

    Its ``name`` becomes its dotted path in the model (``features.0.weight``) once the module
    that holds it is registered, so graphs and error messages can say which weight is meant.

    >>> import numpy as np
    >>> from minigrad.nn import Parameter
    >>> Parameter(np.zeros((2, 3), dtype=np.float32))
    Parameter(shape=(2, 3), dtype=float32)
    """

    __slots__ = ()

    def __init__(self, data: Any, dtype: Any = None, name: str | None = None) -> None:
        super().__init__(data, requires_grad=True, dtype=dtype, name=name)

    def __repr__(self) -> str:
        label = f", name={self.name!r}" if self.name else ""
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype}{label})"


class Module:
    """Base class of every layer and model.

    Subclasses call ``super().__init__()`` first, assign their parameters and sub-modules as
    attributes, and define ``forward``. Define ``output_shape(input_shape)`` too (shapes
    without the batch axis) so that :func:`minigrad.nn.summary` and the spec builder can infer
    shapes without running data.

    >>> import numpy as np, minigrad
    >>> from minigrad import nn
    >>> class Net(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.hidden = nn.Linear(4, 3, rng=0)
    ...         self.out = nn.Linear(3, 2, rng=1)
    ...     def forward(self, x):
    ...         return self.out(minigrad.relu(self.hidden(x)))
    >>> net = Net()
    >>> [name for name, _ in net.named_parameters()]
    ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
    >>> net(np.ones((5, 4), dtype=np.float32)).shape
    (5, 2)
    """

    # Counts every change to any module's parameters or children, so that parameters() can
    # keep its list until the tree changes (zero_grad() runs every step).
    _tree_version: ClassVar[int] = 0
    # Set in __init__ through object.__setattr__ (our __setattr__ needs them to exist).
    _parameters: dict[str, Parameter | None]
    _buffers: dict[str, Tensor]
    _modules: dict[str, Module]
    _scope_name: str
    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_scope_name", type(self).__name__)
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_cache", (-1, []))

    # ---------------------------------------------------------------- registration

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__ and isinstance(value, (Parameter, Module)):
            raise AttributeError(
                f"{type(self).__name__}: cannot assign {name!r} before Module.__init__(); "
                "call super().__init__() first in your __init__"
            )
        params, modules = self.__dict__.get("_parameters"), self.__dict__.get("_modules")
        if params is not None and (
            isinstance(value, (Parameter, Module)) or name in params or name in modules
        ):
            Module._tree_version += 1
        if isinstance(value, Parameter):
            modules.pop(name, None)
            params[name] = value
            value.name = name
        elif isinstance(value, Module):
            params.pop(name, None)
            modules[name] = value
            object.__setattr__(value, "_scope_name", name)
            # Name the child's parameters by their path from here; the parent does the same
            # when this module is registered in turn, so names end up relative to the root.
            for path, p in value.named_parameters(prefix=name):
                p.name = path
            for _ in value.named_buffers(prefix=name):  # names the buffers the same way
                pass
        elif name in self.__dict__.get("_buffers", ()):
            self.register_buffer(name, value)
            return
        elif params is not None:
            if name in params:
                if value is not None:
                    raise ArgumentError(
                        f"{type(self).__name__}.{name} is a parameter; assign a Parameter "
                        f"(or None), not {type(value).__name__}"
                    )
                params[name] = None
            modules.pop(name, None)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        Module._tree_version += 1
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` under ``name`` (``None`` keeps a slot, e.g. ``bias=False``)."""
        if param is None:
            Module._tree_version += 1
            self._parameters[name] = None
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def register_buffer(self, name: str, value: Any) -> None:
        """Keep ``value`` (an array or tensor) as the buffer ``name``: saved in
        ``state_dict()`` beside the parameters, never trained (``requires_grad`` is False).

        >>> import numpy as np
        >>> from minigrad import nn
        >>> m = nn.Module()
        >>> m.register_buffer("count", np.array(0))
        >>> m.state_dict()
        {'count': array(0)}
        """
        tensor = value if isinstance(value, Tensor) else Tensor(value)
        if tensor.requires_grad:
            raise ArgumentError(
                f"{type(self).__name__}.register_buffer: {name!r} requires grad; a buffer is "
                "not trained (register a Parameter instead)"
            )
        if tensor.name is None:
            tensor.name = name
        self._buffers[name] = tensor
        object.__setattr__(self, name, tensor)

    def add_module(self, name: str, module: Module) -> None:
        """Register ``module`` as a child under ``name`` (names such as ``"0"`` are allowed)."""
        if not isinstance(module, Module):
            raise ArgumentError(
                f"add_module: {name!r} must be a Module, got {type(module).__name__}"
            )
        setattr(self, name, module)

    # ---------------------------------------------------------------- calling

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # name_scope(self._scope_name) without its object: the token stays in this frame
        # (0.6 us a call instead of 1.6 us, timeit; five calls in a per-sample step).
        token = scope.set((*scope.get(), self._scope_name))
        try:
            return self.forward(*args, **kwargs)
        finally:
            scope.reset(token)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; every subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def output_shape(self, input_shape: Shape) -> Shape:
        """The output shape for an input of ``input_shape`` (both without the batch axis)."""
        raise NotImplementedError(
            f"{type(self).__name__} does not define output_shape(); shape inference needs it"
        )

    # ---------------------------------------------------------------- traversal

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules with their attribute names, in registration order."""
        yield from self._modules.items()

    def children(self) -> Iterator[Module]:
        """The direct sub-modules, in registration order."""
        yield from self._modules.values()

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module (named ``prefix``) and every descendant with its dotted path."""
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        """This module and every descendant, depth first."""
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Every parameter with its dotted path; also sets each parameter's ``name`` to it.

        A parameter shared by two modules is listed once, under its first path.
        """
        seen: set[int] = set()
        for path, module in self.named_modules(prefix):
            for name, p in module._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                full = f"{path}.{name}" if path else name
                p.name = full
                yield full, p

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """Every buffer with its dotted path (``bn.running_mean``), module by module; also
        sets each buffer's ``name`` to it, as :meth:`named_parameters` does."""
        for path, module in self.named_modules(prefix):
            for name, b in module._buffers.items():
                full = f"{path}.{name}" if path else name
                b.name = full
                yield full, b

    def buffers(self) -> list[Tensor]:
        """Every buffer (running statistics and counters), in registration order."""
        return [b for _, b in self.named_buffers()]

    def parameters(self) -> list[Parameter]:
        """Every parameter, once each, in registration order (a new list; optimisers keep it)."""
        version, cached = self._cache
        if version != Module._tree_version:
            cached = [p for _, p in self.named_parameters()]
            object.__setattr__(self, "_cache", (Module._tree_version, cached))
        return list(cached)

    def num_parameters(self) -> int:
        """The number of scalar parameters."""
        return sum(p.data.size for p in self.parameters())

    # ---------------------------------------------------------------- training helpers

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``p.grad = None``, as PyTorch's default)."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True) -> Module:
        """Put this module and its descendants in training mode (or evaluation mode)."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    # ---------------------------------------------------------------- state

    def _named_state(self) -> dict[str, Tensor]:
        """Parameters and buffers by dotted name; each module's parameters, then its buffers."""
        params = dict(self.named_parameters())
        state: dict[str, Tensor] = {}
        for path, module in self.named_modules():
            for name in module._parameters:
                full = f"{path}.{name}" if path else name
                if full in params:
                    state[full] = params[full]
            for name, b in module._buffers.items():
                state[f"{path}.{name}" if path else name] = b
        return state

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's and buffer's array, keyed by dotted name (PyTorch's
        names and order: each module's parameters, then its buffers).

        >>> from minigrad import nn
        >>> {k: v.shape for k, v in nn.Linear(3, 2, rng=0).state_dict().items()}
        {'weight': (2, 3), 'bias': (2,)}
        """
        return {name: t.data.copy() for name, t in self._named_state().items()}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> None:
        """Copy arrays from ``state`` into the parameters and buffers, in place (optimisers
        keep working).

        Raises:
            StateDictError: with ``strict``, a missing or unexpected key; always, an array of
                the wrong shape. Each message names the key.
        """
        own = self._named_state()
        if strict:
            missing = [k for k in own if k not in state]
            unexpected = [k for k in state if k not in own]
            if missing or unexpected:
                parts = []
                if missing:
                    parts.append("missing keys: " + ", ".join(missing))
                if unexpected:
                    parts.append("unexpected keys: " + ", ".join(unexpected))
                raise StateDictError(
                    f"load_state_dict into {type(self).__name__}: " + "; ".join(parts)
                )
        values = {}
        for key, p in own.items():
            if key not in state:
                continue
            value = np.asarray(state[key])
            if value.shape != p.data.shape:
                raise StateDictError(
                    f"load_state_dict: {key!r} has shape {value.shape} in the state dict but "
                    f"{p.data.shape} in the model"
                )
            if value.dtype.kind not in "fiub":
                raise StateDictError(
                    f"load_state_dict: {key!r} has dtype {value.dtype} in the state dict; "
                    f"expected numbers for the model's {p.data.dtype}"
                )
            values[key] = value
        # Every entry is checked before any is copied: a bad state dict changes nothing. The
        # copy goes through the tensor, so each parameter's version goes up.
        with no_grad():
            for key, value in values.items():
                own[key][...] = value

    # ---------------------------------------------------------------- display

    def extra_repr(self) -> str:
        """The arguments shown between the parentheses of this module's ``repr``."""
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


class Sequential(Module):
    """Modules applied one after another; children are named ``"0"``, ``"1"``, ...

    >>> from minigrad import nn
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10, rng=0))
    >>> model
    Sequential(
      (0): Flatten(start_axis=1)
      (1): Linear(in_features=64, out_features=10, bias=True)
    )
    >>> model.output_shape((1, 8, 8))
    (10,)
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        self._layers: tuple[Module, ...] = ()
        for module in modules:
            self.append(module)
        #: The normalised spec this model was built from (set by ``from_spec``), or None.
        self.spec: dict[str, Any] | None = None

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end."""
        self.add_module(str(len(self._modules)), module)
        self._layers = tuple(self._modules.values())
        return self

    def __getitem__(self, index: int) -> Module:
        return self._layers[index]

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._layers)

    def forward(self, x: Any) -> Any:
        for layer in self._layers:
            x = layer(x)
        return x

    def output_shape(self, input_shape: Shape) -> Shape:
        shape = tuple(input_shape)
        for index, layer in enumerate(self._layers):
            try:
                shape = layer.output_shape(shape)
            except ShapeError as exc:
                raise ShapeError(f"layer {index} ({type(layer).__name__}): {exc}") from exc
        return shape
