"""The primitives. Each is one `Function` with its forward and backward side by side.

Every op here is listed in `REGISTRY` (by the `register` decorator), which the gradient tests
iterate over: a new op without a hypothesis strategy in `tinygrad_rnn.testing` fails the suite.
Ops see numpy arrays only; broadcasting in binary ops is undone by the engine, not here.
Notation: `x, y` inputs, `out` the result, `g` the gradient arriving from above.
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np

from . import buffers
from .autograd import Function, OuterSum
from .promotion import result_dtype, scalar_dtype

REGISTRY: dict[str, type[Function]] = {}


def register(cls: type[Function]) -> type[Function]:
    REGISTRY[cls.__name__] = cls
    return cls


# ------------------------------------------------------------------------------ output buffers
# Large float outputs come from the engine's buffer cache (buffers.py), so a training step
# reuses the previous step's freed activations instead of page-faulting fresh memory in.


_MIN = buffers.MIN_BYTES


def _out_like(x: np.ndarray) -> np.ndarray | None:
    """A cached buffer of x's shape and float dtype for a ufunc's `out=`, or None (numpy
    allocates) for small or non-float arrays."""
    if x.nbytes < _MIN or x.dtype.kind != "f":
        return None
    return buffers.empty(x.shape, x.dtype)


def _buffer_like(x: np.ndarray) -> np.ndarray | None:
    """A buffer of x's shape and dtype to compute into: cached if large, a new one if 0-d,
    else None (numpy allocates)."""
    return _out_like(x) if x.ndim else np.empty_like(x)


def _cached(shape: tuple[int, ...], x: np.ndarray, y: np.ndarray | None = None
            ) -> np.ndarray | None:
    """A cached `out=` buffer of `shape` for a result of x's float dtype (y, if given, must
    share it), or None to let numpy allocate."""
    dtype = x.dtype
    if dtype.kind != "f" or (y is not None and y.dtype is not dtype):
        return None
    return buffers.empty(shape, dtype)  # (it hands small arrays out uncached)


def _binary(ufunc: np.ufunc, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """ufunc(x, y), into a cached buffer when the result has x's shape and dtype: the same
    shapes, or y broadcast along x's leading axes (a bias)."""
    if x.dtype is y.dtype and (x.shape == y.shape or (
            y.ndim < x.ndim and x.shape[x.ndim - y.ndim:] == y.shape)):
        return ufunc(x, y, out=_out_like(x))
    return ufunc(x, y)


# ---------------------------------------------------------------------------------- arithmetic


@register
class Add(Function):
    """out = x + y;  dout/dx = 1, dout/dy = 1"""

    promote_from = 0

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return _binary(np.add, x, y)

    @staticmethod
    def backward(ctx: Function, g: np.ndarray) -> Any:
        return g, g


@register
class Sub(Function):
    """out = x - y;  dout/dx = 1, dout/dy = -1"""

    promote_from = 0

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return _binary(np.subtract, x, y)

    @staticmethod
    def backward(ctx: Function, g: np.ndarray) -> Any:
        return g, (-g if ctx.needs_input_grad[1] else None)


@register
class Mul(Function):
    """out = x * y;  dout/dx = y, dout/dy = x"""

    promote_from = 0

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        need_x, need_y = ctx.needs_input_grad  # save only what a needed gradient uses
        ctx.save_for_backward(x if need_y else None, y if need_x else None)
        return _binary(np.multiply, x, y)

    @staticmethod
    def backward(ctx: Function, g: np.ndarray) -> Any:
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        return (g * y if need_x else None), (g * x if need_y else None)


@register
class Div(Function):
    """out = x / y;  dout/dx = 1/y, dout/dy = -x/y² = -out/y"""

    promote_from = 0

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = x / y
        ctx.save_for_backward(y, out if ctx.needs_input_grad[1] else None)
        return out

    @staticmethod
    def backward(ctx: Function, g: np.ndarray) -> Any:
        y, out = ctx.saved_tensors
        gx = g / y
        return gx, (-gx * out if ctx.needs_input_grad[1] else None)


@register
class Neg(Function):
    """out = -x;  dout/dx = -1"""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        return -x

    @staticmethod
    def backward(ctx: Function, g: np.ndarray) -> Any:
        return -g


@register
class Pow(Function):
    """out = x ** y (y a tensor);  dout/dx = y x^(y-1), dout/dy = out log(x)

    At a zero base PyTorch's values: dout/dx = 0 where y = 0 (x**0 is constant), dout/dy = 0
    where x = 0 and y >= 0 (0**y is constant for y > 0); elsewhere the formulas, so 0**0.5 has
    dout/dx = inf. A Python-number exponent uses `PowScalar` instead.
    """

    promote_from = 0

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = x ** y
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx: Function, g: np.ndarray) -> Any:
        x, y, out = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        gx = gy = None
        with np.errstate(divide="ignore", invalid="ignore"):  # 0**(y-1), log(0): masked below
            if need_x:
                gx = g * np.where(y == 0, 0, y * x ** (y - 1))
            if need_y:
                gy = g * np.where((x == 0) & (y >= 0), 0, out * np.log(x))
        return gx, gy


@register
class PowScalar(Function):
    """out = x ** p (p a Python number);  dout/dx = p x^(p-1), and 0 everywhere for p = 0

    No exponent tensor, no log and no saved output: `x ** 2` saves x only.
    """

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, exponent: float = 1.0) -> np.ndarray:
        ctx.exponent = exponent
        ctx.save_for_backward(x)
        if x.dtype.kind == "b":  # numpy's bool ** 2 is int8; PyTorch's is int64 (the table's)
            x = x.astype(result_dtype([x], [scalar_dtype(exponent)]))
        if exponent == 2:  # the squared error's square: into a cached buffer
            return np.multiply(x, x, out=_out_like(x))
        return x ** exponent

    @staticmethod
    def backward(ctx: Function, g: np.ndarray) -> Any:
        p, x = ctx.exponent, ctx.saved_tensors[0]
        if p == 0:
            return np.zeros_like(g)
        if p == 1:
            return g
        if p == 2:
            return _binary(np.multiply, _binary(np.multiply, x, np.asarray(2, x.dtype)), g)
        return g * (p * x ** (p - 1))


# ------------------------------------------------------------------------------------- matmul


@register
class MatMul(Function):
    """out = x @ y (np.matmul semantics);  dx = g @ yᵀ, dy = xᵀ @ g

    1-D operands are promoted to matrices the way np.matmul promotes them, and the promoted axis
    is removed again from the gradient. Broadcast batch axes are summed by the engine.
    """

    promote_from = 0

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        if x.ndim == 0 or y.ndim == 0:
            raise ValueError(f"matmul: operands must be at least 1-D, got shapes {x.shape} "
                             f"and {y.shape}")
        try:
            out = (x.dot(y, out=_cached((x.shape[0], y.shape[1]), x, y)
                         if x.nbytes >= _MIN or y.nbytes >= _MIN else None)
                   if x.ndim == 2 and y.ndim == 2 else
                   np.matmul(x, y, out=_cached(x.shape[:-1] + y.shape[-1:], x, y)
                             if y.ndim == 2 and x.ndim > 2 else None))
        except ValueError:
            raise ValueError(f"matmul: shapes {x.shape} and {y.shape} are not aligned (the last "
                             f"axis of the first must equal the "
                             f"{'only' if y.ndim == 1 else 'second-to-last'} axis of the second)"
                             ) from None
        need_x, need_y = ctx.needs_input_grad  # dx needs y, dy needs x
        ctx.save_for_backward(x if need_y else None, y if need_x else None)
        ctx.ndims = (x.ndim, y.ndim)
        return out

    @staticmethod
    def backward(ctx: Function, g: np.ndarray) -> Any:
        x, y = ctx.saved_tensors
        x_ndim, y_ndim = ctx.ndims
        if y_ndim == 1:
            g = g[..., None]
        if x_ndim == 1:
            g = np.expand_dims(g, -2)
        gx = gy = None
        if ctx.needs_input_grad[0]:
            y2 = np.swapaxes(y[:, None] if y_ndim == 1 else y, -1, -2)
            gx = np.matmul(g, y2, out=_cached(g.shape[:-1] + y2.shape[-1:], g, y2)
                           if y_ndim == 2 and g.ndim >= 2 else None)
            gx = gx[..., 0, :] if x_ndim == 1 else gx
        if ctx.needs_input_grad[1]:
            x2 = x[None, :] if x_ndim == 1 else x
            if y_ndim <= 2 and x2.ndim >= 2:  # one y for every row: one dot over all rows
                gy = x2.reshape(-1, x2.shape[-1]).T.dot(g.reshape(-1, g.shape[-1]))
            else:
                gy = np.matmul(np.swapaxes(x2, -1, -2), g)
            gy = gy[..., 0] if y_ndim == 1 else gy
        return gx, gy


@register
class Addmm(Function):
    """out = c + x @ y (x, y 2-D; c broadcasts to the result);  dc = g, dx = g yᵀ, dy = xᵀ g

    One node for the recurrence's `xp_t + h Wᵀ` instead of two (PyTorch's addmm).
    """

    promote_from, n_ary = 0, True

    @staticmethod
    def forward(ctx: Function, c: np.ndarray, x: np.ndarray, y: np.ndarray
                ) -> np.ndarray:
        if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[0]:
            raise ValueError(f"addmm: needs 2-D operands with matching inner sizes, got shapes "
                             f"{x.shape} and {y.shape}")
        # for 2-D operands dot is matmul with ~1 µs less dispatch (numpy 2)
        big = x.nbytes >= _MIN or y.nbytes >= _MIN  # small arrays: numpy's allocation is faster
        out = x.dot(y, out=_cached((x.shape[0], y.shape[1]), x, y) if big else None)
        out += c
        _, need_x, need_y = ctx.needs_input_grad
        ctx.saved_tensors = (x if need_y else None, y if need_x else None)  # (no call: hot path)
        return out

    @staticmethod
    def backward(ctx: Function, g: np.ndarray) -> Any:
        x, y = ctx.saved_tensors
        need_c, need_x, need_y = ctx.needs_input_grad
        big = g.nbytes >= _MIN
        gx = (g.dot(y.T, out=_cached((g.shape[0], y.shape[0]), g, y) if big else None)
              if need_x else None)
        # dy = xᵀ g, left as factors: the engine sums every step's into one matmul (OuterSum)
        gy = (OuterSum(x, g) if x.dtype is g.dtype else x.T.dot(g)) if need_y else None
        return (g if need_c else None), gx, gy


# ---------------------------------------------------------------------------------- unary maps


@register
class Exp(Function):
    """out = exp(x);  dout/dx = out"""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Function, g: np.ndarray) -> Any:
        return g * ctx.saved_tensors[0]


@register
class Log(Function):
    """out = log(x);  dout/dx = 1/x"""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx: Function, g: np.ndarray) -> Any:
        return g / ctx.saved_tensors[0]


@register
class Tanh(Function):
    """out = tanh(x);  dout/dx = 1 - out²"""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        out = np.tanh(x, out=_out_like(x) if x.nbytes >= _MIN else None)
        ctx.saved_tensors = (out,)  # save_for_backward, minus a call on the hottest path
        return out

    @staticmethod
    def backward(ctx: Function, g: np.ndarray) -> Any:
        out = ctx.saved_tensors[0]
        grad = np.multiply(out, out, out=_buffer_like(out) if out.nbytes >= _MIN or not out.ndim
                           else None)  # one buffer: g·(1 − out²)
        np.subtract(1, grad, out=grad)
        grad *= g
        return grad


@register
class Sigmoid(Function):
    """out = 1 / (1 + exp(-x));  dout/dx = out (1 - out)

    Computed as exp(min(x, 0)) / (1 + exp(-|x|)): no exp overflows, tiny outputs keep full
    precision, and no np.where (whose per-element branch made this 2x slower on large arrays).
    """

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        out = np.divide(np.exp(np.minimum(x, 0)), 1 + np.exp(-np.abs(x)), out=_out_like(x))
        out = out.astype(x.dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Function, g: np.ndarray) -> Any:
        out = ctx.saved_tensors[0]
        grad = np.subtract(1, out, out=_buffer_like(out))  # one buffer: g·out·(1 − out)
        grad *= out
        grad *= g
        return grad


@register
class ReLU(Function):
    """out = max(x, 0);  dout/dx = 1 where x > 0, else 0 (so 0 at the kink x = 0, as PyTorch)"""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        mask = x > 0
        ctx.save_for_backward(mask)
        return np.where(mask, x, 0).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Function, g: np.ndarray) -> Any:
        return np.where(ctx.saved_tensors[0], g, 0).astype(g.dtype, copy=False)


@register
class Abs(Function):
    """out = |x|;  dout/dx = sign(x) (so 0 at the kink x = 0, as PyTorch)"""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx: Function, g: np.ndarray) -> Any:
        return g * np.sign(ctx.saved_tensors[0])


# ---------------------------------------------------------------------------------- reductions


def _normalize_axis(axis: Any, ndim: int, op: str) -> tuple[int, ...]:
    """Axis argument -> sorted tuple of non-negative axes, with a clear error when out of range."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    result = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or not -ndim <= a < ndim:
            raise ValueError(f"{op}: axis {axis!r} is out of range for a tensor with {ndim} "
                             f"dimension(s)")
        result.append(int(a) % ndim)
    if len(set(result)) != len(result):
        raise ValueError(f"{op}: axis {axis!r} repeats an axis")
    return tuple(sorted(result))


def _expand_reduced(g: np.ndarray, axes: tuple[int, ...], keepdims: bool,
                    shape: tuple[int, ...]) -> np.ndarray:
    """Give a reduced gradient its reduced axes back as size 1, then broadcast to `shape`."""
    if not keepdims and axes:
        g = np.expand_dims(g, axes)
    return np.broadcast_to(g, shape)


@register
class Sum(Function):
    """out = Σ_axis x;  dout/dx = 1 (the gradient is broadcast back over the summed axes)"""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axis: Any = None, keepdims: bool = False
                ) -> np.ndarray:
        ctx.axes = _normalize_axis(axis, x.ndim, "sum")
        ctx.keepdims = keepdims
        ctx.shape = x.shape
        return np.asarray(x.sum(axis=ctx.axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx: Function, g: np.ndarray) -> Any:
        return _expand_reduced(g, ctx.axes, ctx.keepdims, ctx.shape)


@register
class Mean(Function):
    """out = Σ_axis x / n;  dout/dx = 1/n (n = number of elements reduced)"""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axis: Any = None, keepdims: bool = False
                ) -> np.ndarray:
        ctx.axes = _normalize_axis(axis, x.ndim, "mean")
        ctx.keepdims = keepdims
        ctx.shape = x.shape
        ctx.n = math.prod(x.shape[a] for a in ctx.axes)
        if ctx.n == 0:  # the mean of nothing is nan, as in PyTorch (and without numpy's warning)
            total = np.asarray(x.sum(axis=ctx.axes, keepdims=keepdims))
            return np.full(total.shape, np.nan, x.dtype if x.dtype.kind == "f" else np.float64)
        return np.asarray(x.mean(axis=ctx.axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx: Function, g: np.ndarray) -> Any:
        if ctx.n == 0:  # x has no elements: its gradient is an empty array
            return np.zeros(ctx.shape, dtype=g.dtype)
        return _expand_reduced(g / ctx.n, ctx.axes, ctx.keepdims, ctx.shape)


@register
class Max(Function):
    """out = max_axis x;  dout/dx = 1/k at each of the k tied maxima, 0 elsewhere

    Ties share the gradient equally (like numpy's amax gradient in JAX and PyTorch's amax),
    so the sum of the gradient over a reduced slice is always exactly g.
    """

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axis: Any = None, keepdims: bool = False
                ) -> np.ndarray:
        axes = _normalize_axis(axis, x.ndim, "max")
        empty = [a for a in axes if x.shape[a] == 0]
        if empty:  # an empty tensor is fine as long as every reduced axis has elements
            raise ValueError(f"max: cannot reduce over the empty axis {empty[0]} (size 0) of a "
                             f"tensor of shape {x.shape}: the max of no elements is undefined; "
                             f"reduce over axes that have elements")
        out = x.max(axis=axes, keepdims=True)
        ctx.axes, ctx.keepdims = axes, keepdims
        ctx.save_for_backward(x, out)
        return out if keepdims else np.squeeze(out, axis=axes)

    @staticmethod
    def backward(ctx: Function, g: np.ndarray) -> Any:
        x, out = ctx.saved_tensors
        mask = x == out
        share = mask / mask.sum(axis=ctx.axes, keepdims=True)
        if not ctx.keepdims and ctx.axes:
            g = np.expand_dims(g, ctx.axes)
        return (g * share).astype(g.dtype, copy=False)


# ----------------------------------------------------------------------------- shape movement


@register
class Reshape(Function):
    """out = x viewed with a new shape;  dx = g reshaped back"""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, shape: tuple[int, ...] = ()) -> np.ndarray:
        ctx.shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                             f"({x.size} elements) into shape {tuple(shape)}") from None

    @staticmethod
    def backward(ctx: Function, g: np.ndarray) -> Any:
        return g.reshape(ctx.shape)


@register
class Permute(Function):
    """out = x with its axes reordered;  dx = g with the inverse order"""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axes: tuple[int, ...] = ()) -> np.ndarray:
        given = tuple(axes)
        if any(not -x.ndim <= int(a) < x.ndim for a in given):
            raise ValueError(f"permute: axes {given} are out of range for a tensor of shape "
                             f"{x.shape}")
        axes = tuple(int(a) % x.ndim for a in given) if x.ndim else given
        if sorted(axes) != list(range(x.ndim)):
            raise ValueError(f"permute: {axes} is not a permutation of the {x.ndim} axes of a "
                             f"tensor of shape {x.shape}")
        ctx.inverse = tuple(np.argsort(axes))
        return np.transpose(x, axes)

    @staticmethod
    def backward(ctx: Function, g: np.ndarray) -> Any:
        return np.transpose(g, ctx.inverse)


def _is_advanced(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (list, tuple, range, np.ndarray)) for p in parts)


@register
class GetItem(Function):
    """out = x[index];  dx = zeros with g scattered back (repeated indices accumulate)"""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, index: Any = ()) -> np.ndarray:
        ctx.index, ctx.shape = index, x.shape
        try:
            return np.asarray(x[index])
        except IndexError as e:
            raise IndexError(f"getitem: index {index!r} is invalid for a tensor of shape "
                             f"{x.shape}: {e}") from None

    @staticmethod
    def backward(ctx: Function, g: np.ndarray) -> Any:
        dx = np.zeros(ctx.shape, dtype=g.dtype)
        if _is_advanced(ctx.index):
            np.add.at(dx, ctx.index, g)
        else:
            dx[ctx.index] = g
        return dx


def _stack_buffer(xs: tuple, axis: int) -> np.ndarray | None:
    shape = xs[0].shape
    axis %= len(shape) + 1  # (in range: Stack.forward checked it)
    return _cached(shape[:axis] + (len(xs),) + shape[axis:], xs[0])


@register
class Stack(Function):
    """out = stack(xs, axis);  dx_i = g taken at position i along axis"""

    promote_from, n_ary = 0, True

    @staticmethod
    def forward(ctx: Function, *xs: np.ndarray, axis: int = 0) -> np.ndarray:
        ndim = xs[0].ndim + 1
        if not -ndim <= axis < ndim:  # numpy's AxisError is a ValueError: not a shape problem
            raise ValueError(f"stack: axis {axis} is out of range for stacking tensors of shape "
                             f"{xs[0].shape} (a result of {ndim} dimensions)")
        try:
            out = np.stack(xs, axis=axis, out=_stack_buffer(xs, axis))
        except ValueError:
            raise ValueError(f"stack: all tensors must have the same shape, got "
                             f"{[x.shape for x in xs]}") from None
        ctx.axis = axis % out.ndim
        return out

    @staticmethod
    def backward(ctx: Function, g: np.ndarray) -> Any:
        moved = np.moveaxis(g, ctx.axis, 0)
        return tuple(moved[i] if need else None for i, need in enumerate(ctx.needs_input_grad))


@register
class Cat(Function):
    """out = concatenate(xs, axis);  dx_i = the slice of g that x_i filled"""

    promote_from, n_ary = 0, True

    @staticmethod
    def forward(ctx: Function, *xs: np.ndarray, axis: int = 0) -> np.ndarray:
        try:
            out = np.concatenate(xs, axis=axis)
        except (ValueError, np.exceptions.AxisError):
            raise ValueError(f"cat: tensors of shapes {[x.shape for x in xs]} cannot be "
                             f"concatenated along axis {axis}") from None
        ctx.axis = axis % out.ndim
        ctx.bounds = np.cumsum([x.shape[ctx.axis] for x in xs])[:-1]
        return out

    @staticmethod
    def backward(ctx: Function, g: np.ndarray) -> Any:
        return tuple(np.split(g, ctx.bounds, axis=ctx.axis))


@register
class Unbind(Function):
    """outs = the slices of x along axis (a multi-output op);  dx = stack(gs), zeros for unused

    Slicing T steps one at a time would make T full-size zero arrays in backward (O(T²));
    this op assembles every slice's gradient in one O(T) buffer.
    """

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axis: int = 0) -> tuple[np.ndarray, ...]:
        if x.ndim == 0:
            raise ValueError("unbind: cannot unbind a 0-d tensor")
        if not -x.ndim <= axis < x.ndim:
            raise ValueError(f"unbind: axis {axis} is out of range for a tensor of shape "
                             f"{x.shape}")
        ctx.axis, ctx.shape = axis % x.ndim, x.shape
        return tuple(np.moveaxis(x, ctx.axis, 0))

    @staticmethod
    def backward(ctx: Function, *gs: np.ndarray | None) -> np.ndarray:
        first = next(g for g in gs if g is not None)
        dx = _cached(ctx.shape, first)
        dx = np.empty(ctx.shape, first.dtype) if dx is None else dx
        if ctx.axis == 0 and first.ndim and all(g is not None for g in gs):
            # every slice has a gradient: one C-level concatenate into dx (T·B rows)
            pieces = cast("tuple[np.ndarray, ...]", gs)  # no None in it: checked just above
            np.concatenate(pieces, out=dx.reshape((-1,) + first.shape[1:]))
            return dx
        moved = np.moveaxis(dx, ctx.axis, 0)
        for i, g in enumerate(gs):
            moved[i] = 0 if g is None else g
        return dx


@register
class Where(Function):
    """out = where(cond, x, y);  dx = g where cond, dy = g where not cond (cond gets none)"""

    promote_from = 1

    @staticmethod
    def forward(ctx: Function, cond: np.ndarray, x: np.ndarray, y: np.ndarray
                ) -> np.ndarray:
        cond = cond.astype(bool, copy=False)
        ctx.save_for_backward(cond)
        return np.where(cond, x, y)

    @staticmethod
    def backward(ctx: Function, g: np.ndarray) -> Any:
        cond = ctx.saved_tensors[0]
        _, need_x, need_y = ctx.needs_input_grad
        zero = np.zeros((), dtype=g.dtype)
        return (None, np.where(cond, g, zero) if need_x else None,
                np.where(cond, zero, g) if need_y else None)
