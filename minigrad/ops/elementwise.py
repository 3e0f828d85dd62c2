"""Elementwise ops: ``add``, ``sub``, ``mul``, ``div``, ``neg``, ``abs``, ``exp``, ``log``, ``pow``.

Binary ops broadcast like NumPy. Their VJPs return gradients of the broadcast shape, and
the engine sums them back to each input's shape: if ``b`` of shape ``(3,)`` was broadcast
to ``(2, 3)`` in ``a + b``, then ``dL/db = sum over axis 0 of dL/dz``.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

from minigrad import engine
from minigrad.engine import Function, Node
from minigrad.errors import ArgumentError, DTypeError, ShapeError

if TYPE_CHECKING:
    from minigrad.tensor import Tensor

__all__ = ["abs", "add", "div", "exp", "log", "mul", "neg", "pow", "sub"]


def _binary_check(name: str, ufunc: np.ufunc, a: np.ndarray, b: np.ndarray) -> None:
    """The shapes broadcast together and NumPy has ``ufunc`` for the two dtypes."""
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError as exc:
        raise ShapeError(
            f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast together"
        ) from exc
    try:
        ufunc.resolve_dtypes((a.dtype, b.dtype, None))
    except TypeError as exc:  # NumPy refuses e.g. bool - bool
        raise DTypeError(f"{name}: not defined for dtypes {a.dtype} and {b.dtype}") from exc


class Add(Function):
    """``z = a + b``.   VJP: ``dL/da = dL/dz``, ``dL/db = dL/dz``.

    Derivation: ``docs/derivations/elementwise.md#add``
    """

    name = "add"

    @staticmethod
    def check(a: np.ndarray, b: np.ndarray) -> None:
        _binary_check("add", np.add, a, b)

    @staticmethod
    def forward(ctx: Node, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a + b

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return grad, grad


class Sub(Function):
    """``z = a - b``.   VJP: ``dL/da = dL/dz``, ``dL/db = -dL/dz``.

    Derivation: ``docs/derivations/elementwise.md#sub``
    """

    name = "sub"

    @staticmethod
    def check(a: np.ndarray, b: np.ndarray) -> None:
        _binary_check("sub", np.subtract, a, b)

    @staticmethod
    def forward(ctx: Node, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a - b

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return grad, (-grad if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """``z = a * b``.   VJP: ``dL/da = dL/dz * b``, ``dL/db = dL/dz * a``.

    Derivation: ``docs/derivations/elementwise.md#mul``
    """

    name = "mul"

    @staticmethod
    def check(a: np.ndarray, b: np.ndarray) -> None:
        _binary_check("mul", np.multiply, a, b)

    @staticmethod
    def forward(ctx: Node, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)


class Div(Function):
    """``z = a / b``.

    VJP: ``dL/da = dL/dz / b``, ``dL/db = -dL/dz * a / b**2 = -dL/dz * z / b``.

    Derivation: ``docs/derivations/elementwise.md#div``
    """

    name = "div"

    @staticmethod
    def check(a: np.ndarray, b: np.ndarray) -> None:
        _binary_check("div", np.true_divide, a, b)

    @staticmethod
    def forward(ctx: Node, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        z = a / b
        ctx.save_for_backward(b, z)
        return z

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        b, z = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        ga = grad / b
        return (ga if need_a else None), (-ga * z if need_b else None)


class Neg(Function):
    """``z = -x``.   VJP: ``dL/dx = -dL/dz``.

    Derivation: ``docs/derivations/elementwise.md#neg``
    """

    name = "neg"

    @staticmethod
    def check(x: np.ndarray) -> None:
        try:
            np.negative.resolve_dtypes((x.dtype, None))
        except TypeError as exc:  # NumPy refuses -bool
            raise DTypeError(f"neg: not defined for dtype {x.dtype}") from exc

    @staticmethod
    def forward(ctx: Node, x: np.ndarray) -> np.ndarray:
        return np.negative(x)

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray]:
        return (np.negative(grad),)


class Abs(Function):
    """``y = |x|``.   VJP: ``dL/dx = dL/dy * sign(x)``, with ``sign(0) = 0`` as in PyTorch.

    Derivation: ``docs/derivations/elementwise.md#abs``
    """

    name = "abs"

    @staticmethod
    def forward(ctx: Node, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray]:
        (x,) = ctx.saved_tensors
        return (grad * np.sign(x),)


class Exp(Function):
    """``y = exp(x)``.   VJP: ``dL/dx = dL/dy * exp(x) = dL/dy * y``.

    Derivation: ``docs/derivations/elementwise.md#exp``
    """

    name = "exp"

    @staticmethod
    def forward(ctx: Node, x: np.ndarray) -> np.ndarray:
        y = np.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray]:
        (y,) = ctx.saved_tensors
        return (grad * y,)


class Log(Function):
    """``y = log(x)`` (natural log).   VJP: ``dL/dx = dL/dy / x``.

    ``log(0) = -inf`` and ``log(x < 0) = nan``, as NumPy, without NumPy's warnings.

    Derivation: ``docs/derivations/elementwise.md#log``
    """

    name = "log"

    @staticmethod
    def forward(ctx: Node, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(x)

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray]:
        (x,) = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            return (grad / x,)


class Pow(Function):
    """``y = x ** p`` for a constant exponent ``p``.   VJP: ``dL/dx = dL/dy * p * x**(p-1)``.

    Derivation: ``docs/derivations/elementwise.md#pow``
    """

    name = "pow"

    @staticmethod
    def check(x: np.ndarray, *, exponent: float) -> None:
        try:
            np.power(np.ones(1, x.dtype), exponent)
        except (TypeError, ValueError) as exc:  # int ** negative int, bool ** ...
            raise DTypeError(
                f"pow: cannot raise a {x.dtype} tensor to the power {exponent!r}; "
                "convert it to float first"
            ) from exc

    @staticmethod
    def forward(ctx: Node, x: np.ndarray, *, exponent: float) -> np.ndarray:
        ctx.save_for_backward(x, exponent)
        return np.power(x, exponent)

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray]:
        x, p = ctx.saved_tensors
        return (grad * (p * np.power(x, p - 1)),)


class Cast(Function):
    """``y = x.astype(dtype)``; the VJP casts back: ``dL/dx = (dL/dy).astype(x.dtype)``.

    Inserted when the inputs of a binary op have different float dtypes (see
    :func:`promote`), and by ``Tensor.astype``.

    Derivation: ``docs/derivations/elementwise.md#cast-dtype-promotion``
    """

    name = "cast"

    @staticmethod
    def forward(ctx: Node, x: np.ndarray, *, dtype: np.dtype) -> np.ndarray:
        ctx.save_for_backward(x.dtype)
        return x.astype(dtype)

    @staticmethod
    def backward(ctx: Node, grad: np.ndarray) -> tuple[np.ndarray]:
        (dtype,) = ctx.saved_tensors
        return (grad.astype(dtype),)


def promote(op: str, a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """``a`` and ``b`` as tensors of one dtype, by NumPy's rules, for a binary op.

    Python numbers are weak and take the tensors' dtype, as PyTorch's scalars do; a narrower
    float tensor is cast to the wider by a recorded :class:`Cast`, so each VJP sees one dtype.
    """
    tensor = engine.Tensor  # the class, bound when minigrad.tensor has loaded (the one knot)
    if isinstance(a, tensor) and isinstance(b, tensor) and a._data.dtype == b._data.dtype:
        return a, b
    values = [
        x if isinstance(x, (tensor, int, float, bool)) else tensor._lift(x, op) for x in (a, b)
    ]
    target = np.result_type(*[v._data.dtype if isinstance(v, tensor) else v for v in values])
    out = []
    for v in values:
        if not isinstance(v, tensor):
            try:
                v = tensor._make(np.asarray(v, dtype=target), None)
            except OverflowError as exc:  # NumPy 2: a uint8 tensor - 300
                raise DTypeError(
                    f"{op}: {exc}; convert the tensor to a wider dtype first, e.g. "
                    "t.astype(np.int64)"
                ) from exc
        elif v._data.dtype != target:
            v = Cast.apply(v, dtype=target)
        out.append(v)
    return out[0], out[1]


def add(a: Tensor | Any, b: Tensor | Any) -> Tensor:
    """Elementwise ``a + b`` with NumPy broadcasting (also ``a + b`` on tensors).

    >>> import minigrad
    >>> (minigrad.Tensor([1.0, 2.0]) + 1).data
    array([2., 3.])
    """
    return Add.apply(*promote("add", a, b))


def sub(a: Tensor | Any, b: Tensor | Any) -> Tensor:
    """Elementwise ``a - b`` with NumPy broadcasting (also ``a - b``).

    >>> import minigrad, numpy as np
    >>> b = minigrad.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    >>> d = minigrad.sub(np.ones((3, 2)), b)      # b is broadcast over 3 rows
    >>> d.sum().backward()
    >>> b.grad                                    # -1 from each of the 3 rows
    array([-3., -3.])
    """
    return Sub.apply(*promote("sub", a, b))


def mul(a: Tensor | Any, b: Tensor | Any) -> Tensor:
    """Elementwise ``a * b`` with NumPy broadcasting (also ``a * b``).

    >>> import minigrad, numpy as np
    >>> a = minigrad.Tensor(np.array([2.0, 3.0]), requires_grad=True)
    >>> minigrad.mul(a, np.array([10.0, 100.0])).sum().backward()
    >>> a.grad                                    # dL/da = dL/dz * b
    array([ 10., 100.])
    """
    return Mul.apply(*promote("mul", a, b))


def div(a: Tensor | Any, b: Tensor | Any) -> Tensor:
    """Elementwise ``a / b`` with NumPy broadcasting (also ``a / b``).

    >>> import minigrad, numpy as np
    >>> b = minigrad.Tensor(np.array([2.0, 4.0]), requires_grad=True)
    >>> minigrad.div(1.0, b).sum().backward()
    >>> b.grad                                    # d(1/b)/db = -1/b**2
    array([-0.25  , -0.0625])
    """
    return Div.apply(*promote("div", a, b))


def neg(x: Tensor | Any) -> Tensor:
    """Elementwise ``-x`` (also ``-x``).

    >>> import minigrad
    >>> minigrad.neg(minigrad.Tensor([1.0, -2.0])).data
    array([-1.,  2.])
    """
    return Neg.apply(x)


def abs(x: Tensor | Any) -> Tensor:
    """Elementwise ``|x|`` (also ``abs(x)``); its gradient at 0 is 0.

    >>> import minigrad, numpy as np
    >>> x = minigrad.Tensor(np.array([-2.0, 0.0, 3.0]), requires_grad=True)
    >>> abs(x).sum().backward()
    >>> x.grad                                    # sign(x)
    array([-1.,  0.,  1.])
    """
    return Abs.apply(x)


def exp(x: Tensor | Any) -> Tensor:
    """Elementwise ``e**x``.

    >>> import minigrad, numpy as np
    >>> x = minigrad.Tensor(np.array([0.0, 1.0]), requires_grad=True)
    >>> minigrad.exp(x).sum().backward()
    >>> x.grad                                    # d(e**x)/dx = e**x
    array([1.        , 2.71828183])
    """
    return Exp.apply(x)


def log(x: Tensor | Any) -> Tensor:
    """Elementwise natural logarithm: ``-inf`` at 0 and NaN below, as NumPy.

    Inside ``detect_anomaly()`` those raise instead.

    >>> import minigrad, numpy as np
    >>> x = minigrad.Tensor(np.array([1.0, 4.0]), requires_grad=True)
    >>> minigrad.log(x).sum().backward()
    >>> x.grad                                    # d(log x)/dx = 1/x
    array([1.  , 0.25])
    """
    return Log.apply(x)


def pow(x: Tensor | Any, exponent: float) -> Tensor:
    """Elementwise ``x ** exponent`` for a constant Python number ``exponent`` (also ``x ** p``).

    >>> import minigrad
    >>> (minigrad.Tensor([1.0, 2.0, 3.0]) ** 2).data
    array([1., 4., 9.])
    """
    if not isinstance(exponent, numbers.Real) or isinstance(exponent, (bool, np.bool_)):
        raise ArgumentError(
            f"pow: the exponent must be a Python int or float, got {type(exponent).__name__}"
        )
    if isinstance(exponent, np.generic):  # a NumPy scalar would change the result's dtype
        exponent = exponent.item()
    return Pow.apply(x, exponent=exponent)
