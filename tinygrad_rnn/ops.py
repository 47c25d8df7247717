"""The primitives. Each is one `Function` with its forward, backward and jvp side by side.

Every op here is listed in `REGISTRY` (by the `register` decorator), which the gradient tests
iterate over: a new op without a hypothesis strategy in `tinygrad_rnn.testing` fails the suite.
`forward` sees numpy arrays. `backward` (reverse mode: one cotangent per output in, one per
input out) and `jvp` (forward mode: one tangent per input in, one per output out) are each
written once, in the vocabulary of `dual` (`D`): they receive arrays on the fast path and the
engine's Tensors under `create_graph=True`, where the same lines record a differentiable graph.
Broadcasting in binary ops is undone by the engine, not here.
Notation: `x, y` inputs, `out` the result, `g` the cotangent arriving from above, `x_dot` the
tangent of x.
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np

from . import dual as D
from .autograd import Function, OuterSum
from .buffers import MIN_BYTES
from .dual import binary as _binary
from .dual import cached as _cached
from .dual import out_like as _out_like
from .promotion import result_dtype, scalar_dtype

REGISTRY: dict[str, type[Function]] = {}


def register(cls: type[Function]) -> type[Function]:
    REGISTRY[cls.__name__] = cls
    return cls


_MIN = MIN_BYTES


# ---------------------------------------------------------------------------------- arithmetic


@register
class Add(Function):
    """out = x + y;  dout/dx = 1, dout/dy = 1"""

    promote_from = 0

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return _binary(np.add, x, y)

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        return g, g

    @staticmethod
    def jvp(ctx: Function, x_dot: Any, y_dot: Any) -> Any:
        return x_dot + y_dot


@register
class Sub(Function):
    """out = x - y;  dout/dx = 1, dout/dy = -1"""

    promote_from = 0

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return _binary(np.subtract, x, y)

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        return g, (D.neg(g) if ctx.needs_input_grad[1] else None)

    @staticmethod
    def jvp(ctx: Function, x_dot: Any, y_dot: Any) -> Any:
        return x_dot - y_dot


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
    def backward(ctx: Function, g: Any) -> Any:
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        return (g * y if need_x else None), (g * x if need_y else None)

    @staticmethod
    def jvp(ctx: Function, x_dot: Any, y_dot: Any) -> Any:
        x, y = ctx.saved_tensors
        return x_dot * y + x * y_dot


@register
class Div(Function):
    """out = x / y;  dout/dx = 1/y, dout/dy = -x/y² = -out/y"""

    promote_from = 0

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = _binary(np.true_divide, x, y)
        ctx.save_for_backward(y, out if ctx.needs_input_grad[1] else None)
        return out

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        y, out = ctx.saved_tensors
        gx = D.div(g, y)
        return gx, (D.mul(-gx, out) if ctx.needs_input_grad[1] else None)

    @staticmethod
    def jvp(ctx: Function, x_dot: Any, y_dot: Any) -> Any:
        y, out = ctx.saved_tensors
        return (x_dot - out * y_dot) / y


@register
class Neg(Function):
    """out = -x;  dout/dx = -1"""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        return -x

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        return -g

    @staticmethod
    def jvp(ctx: Function, x_dot: Any) -> Any:
        return -x_dot


def _pow_partials(ctx: Function) -> tuple[Any, Any]:
    """(dout/dx, dout/dy) of x ** y, each None when not needed, with PyTorch's zero-base values
    (the masks are constants: computed on the values inside)."""
    x, y, out = ctx.saved_tensors
    need_x, need_y = ctx.needs_input_grad
    xv, yv = D.value(x), D.value(y)
    dx = dy = None
    with np.errstate(divide="ignore", invalid="ignore"):  # 0**(y-1), log(0): masked below
        if need_x:  # (only 0**0 needs the mask: elsewhere y = 0 gives 0 by the formula, and
            # its own derivative in y, x^(y-1), stays right for a second derivative)
            dx = D.where((yv == 0) & (xv == 0), 0, y * x ** (y - 1))
        if need_y:
            dy = D.where((xv == 0) & (yv >= 0), 0, out * D.log(x))
    return dx, dy


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
    def backward(ctx: Function, g: Any) -> Any:
        dx, dy = _pow_partials(ctx)
        return (None if dx is None else g * dx), (None if dy is None else g * dy)

    @staticmethod
    def jvp(ctx: Function, x_dot: Any, y_dot: Any) -> Any:
        dx, dy = _pow_partials(ctx)  # (None for an input without a tangent: no 0 * nan)
        return (0 if dx is None else x_dot * dx) + (0 if dy is None else y_dot * dy)


def _pow_scalar_slope(x: Any, p: float) -> Any:
    """d(x**p)/dx = p x^(p-1), for p not 0 or 1."""
    return D.mul(x, 2) if p == 2 else p * x ** (p - 1)


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
    def backward(ctx: Function, g: Any) -> Any:
        p, x = ctx.exponent, ctx.saved_tensors[0]
        if p == 0:
            return D.zeros_like(g)
        return g if p == 1 else D.mul(_pow_scalar_slope(x, p), g)

    @staticmethod
    def jvp(ctx: Function, x_dot: Any) -> Any:
        p, x = ctx.exponent, ctx.saved_tensors[0]
        if p == 0:
            return D.zeros_like(x_dot)
        return x_dot if p == 1 else x_dot * _pow_scalar_slope(x, p)


# ------------------------------------------------------------------------------------- matmul


def _as_matrices(x: Any, y: Any, x_ndim: int, y_ndim: int) -> tuple[Any, Any]:
    """1-D operands as np.matmul promotes them: x (k,) -> (1, k), y (k,) -> (k, 1)."""
    if x_ndim == 1:
        x = x.reshape((1,) + x.shape)
    if y_ndim == 1:
        y = y.reshape(y.shape + (1,))
    return x, y


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
        try:  # (a cached buffer for a large result only: the cache keeps no small arrays)
            out = (x.dot(y, out=_cached((x.shape[0], y.shape[1]), x, y)
                         if x.shape[0] * y.shape[1] * x.itemsize >= _MIN else None)
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
    def backward(ctx: Function, g: Any) -> Any:
        x, y = ctx.saved_tensors
        x_ndim, y_ndim = ctx.ndims
        if y_ndim == 1:
            g = g.reshape(g.shape + (1,))
        if x_ndim == 1:
            g = g.reshape(g.shape[:-1] + (1,) + g.shape[-1:])
        gx: Any = None
        gy: Any = None  # an array, a Tensor or an OuterSum (left as factors)
        if ctx.needs_input_grad[0]:
            y2 = y.reshape(y.shape + (1,)) if y_ndim == 1 else y
            gx = D.matmul(g, D.T(y2) if y2.ndim == 2 else D.swapaxes(y2, -1, -2))
            gx = gx.reshape(gx.shape[:-2] + gx.shape[-1:]) if x_ndim == 1 else gx
        if ctx.needs_input_grad[1]:
            x2 = x.reshape((1,) + x.shape) if x_ndim == 1 else x
            if x_ndim == 2 and y_ndim == 2 and x.dtype is g.dtype:
                gy = OuterSum(x, g)  # a weight used at every step: one matmul (see Addmm)
            elif y_ndim <= 2 and x2.ndim >= 2:  # one y for every row: one dot over all rows
                gy = D.matmul(x2.reshape(-1, x2.shape[-1]).T, g.reshape(-1, g.shape[-1]))
            else:
                gy = D.matmul(D.swapaxes(x2, -1, -2), g)
            gy = gy.reshape(gy.shape[:-1]) if y_ndim == 1 else gy
        return gx, gy

    @staticmethod
    def jvp(ctx: Function, x_dot: Any, y_dot: Any) -> Any:
        x, y = ctx.saved_tensors
        return D.matmul(x_dot, y) + D.matmul(x, y_dot)


@register
class Addmm(Function):
    """out = c + x @ y (x, y 2-D; c broadcasts to the result);  dc = g, dx = g yᵀ, dy = xᵀ g

    One node for the recurrence's `xp_t + h Wᵀ` instead of two (PyTorch's addmm).
    """

    promote_from, n_ary, exact_grads = 0, True, True

    @staticmethod
    def forward(ctx: Function, c: np.ndarray, x: np.ndarray, y: np.ndarray
                ) -> np.ndarray:
        if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[0]:
            raise ValueError(f"addmm: needs 2-D operands with matching inner sizes, got shapes "
                             f"{x.shape} and {y.shape}")
        # for 2-D operands dot is matmul with ~1 µs less dispatch (numpy 2)
        rows, cols = x.shape[0], y.shape[1]
        if rows * cols * x.itemsize < _MIN:  # a small result: numpy's allocation is faster
            out = x.dot(y)  # (and the cache would hand out a new array anyway)
        else:
            out = x.dot(y, out=_cached((rows, cols), x, y))
        out += c
        _, need_x, need_y = ctx.needs_input_grad
        ctx.saved_tensors = (x if need_y else None, y if need_x else None)  # (no call: hot path)
        return out

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        x, y = ctx.saved_tensors
        need_c, need_x, need_y = ctx.needs_input_grad
        gx = D.matmul_t(g, y) if need_x else None
        gy = gc = None
        if need_y:  # dy = xᵀ g, left as factors, which the engine sums over every step of a
            # recurrence in one matmul (OuterSum)
            gy = OuterSum(x, g) if x.dtype is g.dtype else D.matmul(x.T, g)
        if need_c:  # c broadcasts (a bias): its gradient summed back here (exact_grads)
            c_shape = ctx.parents[0]._data.shape
            gc = g if g.shape == c_shape else D.sum_to(g, c_shape, "Addmm")
        return gc, gx, gy

    @staticmethod
    def jvp(ctx: Function, c_dot: Any, x_dot: Any, y_dot: Any) -> Any:
        x, y = ctx.saved_tensors
        return c_dot + D.matmul(x_dot, y) + D.matmul(x, y_dot)


# ---------------------------------------------------------------------------------- unary maps


@register
class Exp(Function):
    """out = exp(x);  dout/dx = out"""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        out = np.exp(x, out=_out_like(x))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        return D.mul(g, ctx.saved_tensors[0])

    @staticmethod
    def jvp(ctx: Function, x_dot: Any) -> Any:
        return x_dot * ctx.saved_tensors[0]


@register
class Log(Function):
    """out = log(x);  dout/dx = 1/x"""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        return g / ctx.saved_tensors[0]

    @staticmethod
    def jvp(ctx: Function, x_dot: Any) -> Any:
        return x_dot / ctx.saved_tensors[0]


def _tanh_slope(ctx: Function) -> Any:
    """d tanh(x)/dx = 1 − out²"""
    out = ctx.saved_tensors[0]
    return 1 - out * out


@register
class Tanh(Function):
    """out = tanh(x);  dout/dx = 1 - out²"""

    exact_grads = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        out = np.tanh(x) if x.nbytes < _MIN else np.tanh(x, out=_out_like(x))
        ctx.saved_tensors = (out,)  # save_for_backward, minus a call on the hottest path
        return out

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        out = ctx.saved_tensors[0]  # (the slope inline, not _tanh_slope: the hottest rule)
        if type(g) is np.ndarray and g.nbytes >= _MIN and g.dtype is out.dtype and (
                g.shape == out.shape):
            # a large result lives until the pass ends (W's factors): one cached buffer
            # holds out², then the slope 1 − out², then g times it (the same three ufuncs)
            slope = np.multiply(out, out, out=_out_like(out))
            np.subtract(1, slope, out=slope)
            return np.multiply(g, slope, out=slope)
        return g * (1 - out * out)

    @staticmethod
    def jvp(ctx: Function, x_dot: Any) -> Any:
        return x_dot * _tanh_slope(ctx)


def _sigmoid_slope(ctx: Function) -> Any:
    """d σ(x)/dx = out (1 − out)"""
    out = ctx.saved_tensors[0]
    return out * (1 - out)


@register
class Sigmoid(Function):
    """out = 1 / (1 + exp(-x));  dout/dx = out (1 - out)

    Computed as exp(min(x, 0)) / (1 + exp(-|x|)): no exp overflows, tiny outputs keep full
    precision, and no np.where (whose per-element branch made this 2x slower on large arrays).
    """

    exact_grads = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        out = np.divide(np.exp(np.minimum(x, 0)), 1 + np.exp(-np.abs(x)), out=_out_like(x))
        out = out.astype(x.dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        slope = _sigmoid_slope(ctx)
        return D.mul(g, slope) if type(g) is np.ndarray and g.nbytes >= _MIN else g * slope

    @staticmethod
    def jvp(ctx: Function, x_dot: Any) -> Any:
        return x_dot * _sigmoid_slope(ctx)


@register
class ReLU(Function):
    """out = max(x, 0);  dout/dx = 1 where x > 0, else 0 (so 0 at the kink x = 0, as PyTorch)"""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        mask = x > 0
        ctx.save_for_backward(mask)
        return np.where(mask, x, 0).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        return D.where(ctx.saved_tensors[0], g, 0)

    @staticmethod
    def jvp(ctx: Function, x_dot: Any) -> Any:
        return D.where(ctx.saved_tensors[0], x_dot, 0)


@register
class Abs(Function):
    """out = |x|;  dout/dx = sign(x) (so 0 at the kink x = 0, as PyTorch)"""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        return g * np.sign(D.value(ctx.saved_tensors[0]))

    @staticmethod
    def jvp(ctx: Function, x_dot: Any) -> Any:
        return x_dot * np.sign(D.value(ctx.saved_tensors[0]))


def erf_array(x: np.ndarray) -> np.ndarray:
    """erf elementwise (numpy has none; math.erf is exact to the last bit or two)."""
    out = np.frompyfunc(math.erf, 1, 1)(x)
    return np.asarray(out, dtype=x.dtype if x.dtype.kind == "f" else np.float64)


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _erf_slope(ctx: Function) -> Any:
    """d erf(x)/dx = 2/√π exp(−x²)"""
    x = ctx.saved_tensors[0]
    return _TWO_OVER_SQRT_PI * D.exp(-(x * x))


@register
class Erf(Function):
    """out = erf(x) = 2/√π ∫₀ˣ exp(−t²) dt;  dout/dx = 2/√π exp(−x²)"""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return erf_array(x)

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        return g * _erf_slope(ctx)

    @staticmethod
    def jvp(ctx: Function, x_dot: Any) -> Any:
        return x_dot * _erf_slope(ctx)


@register
class Cast(Function):
    """out = x converted to `dtype`;  dx = g converted back to x's dtype

    Inserted by the engine where dtype promotion converts an input that needs a gradient, so
    that every input an op sees is a tensor of the graph.
    """

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, dtype: Any = np.float64) -> np.ndarray:
        ctx.in_dtype, ctx.dtype = x.dtype, np.dtype(dtype)
        return x.astype(ctx.dtype)

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        return D.cast(g, ctx.in_dtype)

    @staticmethod
    def jvp(ctx: Function, x_dot: Any) -> Any:
        return D.cast(x_dot, ctx.dtype)


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


def _expand_reduced(g: Any, axes: tuple[int, ...], keepdims: bool,
                    shape: tuple[int, ...]) -> Any:
    """Give a reduced gradient its reduced axes back as size 1, then broadcast to `shape`."""
    if not keepdims and axes:
        g = D.expand_dims(g, axes)
    return D.broadcast_to(g, shape)


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
    def backward(ctx: Function, g: Any) -> Any:
        return _expand_reduced(g, ctx.axes, ctx.keepdims, ctx.shape)

    @staticmethod
    def jvp(ctx: Function, x_dot: Any) -> Any:
        return x_dot.sum(axis=ctx.axes, keepdims=ctx.keepdims)


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
    def backward(ctx: Function, g: Any) -> Any:
        if ctx.n == 0:  # x has no elements: its gradient is an empty array
            return D.constant(np.zeros(ctx.shape, dtype=g.dtype), g)
        return _expand_reduced(g / ctx.n, ctx.axes, ctx.keepdims, ctx.shape)

    @staticmethod
    def jvp(ctx: Function, x_dot: Any) -> Any:
        if ctx.n == 0:  # the mean of nothing is nan, and so is its tangent
            total = D.value(x_dot).sum(axis=ctx.axes, keepdims=ctx.keepdims)
            return D.constant(np.full(np.shape(total), np.nan, x_dot.dtype), x_dot)
        return x_dot.sum(axis=ctx.axes, keepdims=ctx.keepdims) / ctx.n


def _max_share(ctx: Function) -> np.ndarray:
    """1/k at each of the k tied maxima of a reduced slice, 0 elsewhere (a constant)."""
    x, out = ctx.saved_tensors
    mask = D.value(x) == D.value(out)
    return mask / mask.sum(axis=ctx.axes, keepdims=True)


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
    def backward(ctx: Function, g: Any) -> Any:
        if not ctx.keepdims and ctx.axes:
            g = D.expand_dims(g, ctx.axes)
        return g * _max_share(ctx).astype(g.dtype, copy=False)

    @staticmethod
    def jvp(ctx: Function, x_dot: Any) -> Any:
        share = _max_share(ctx).astype(x_dot.dtype, copy=False)
        return (x_dot * share).sum(axis=ctx.axes, keepdims=ctx.keepdims)


# ----------------------------------------------------------------------------- shape movement


@register
class Reshape(Function):
    """out = x viewed with a new shape;  dx = g reshaped back"""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, shape: tuple[int, ...] = ()) -> np.ndarray:
        ctx.shape = x.shape
        try:
            out = D.reshape(x, shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                             f"({x.size} elements) into shape {tuple(shape)}") from None
        ctx.out_shape = out.shape
        return out

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        return D.reshape(g, ctx.shape)

    @staticmethod
    def jvp(ctx: Function, x_dot: Any) -> Any:
        return x_dot.reshape(ctx.out_shape)


@register
class Expand(Function):
    """out = x broadcast to `shape` (a read-only view);  dx = g summed over the broadcast axes"""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, shape: tuple[int, ...] = ()) -> np.ndarray:
        ctx.shape, ctx.out_shape = x.shape, tuple(shape)
        try:
            return np.broadcast_to(x, ctx.out_shape)
        except ValueError:
            raise ValueError(f"expand: a tensor of shape {x.shape} cannot be broadcast to shape "
                             f"{ctx.out_shape}") from None

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        return D.sum_to(g, ctx.shape, "Expand")

    @staticmethod
    def jvp(ctx: Function, x_dot: Any) -> Any:
        return D.broadcast_to(x_dot, ctx.out_shape)


@register
class Permute(Function):
    """out = x with its axes reordered;  dx = g with the inverse order"""

    takes_outer_sum = True  # W.T's gradient: the engine's factored sum, transposed as factors

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
        inverse = [0] * len(axes)
        for i, a in enumerate(axes):
            inverse[a] = i
        ctx.axes, ctx.inverse = axes, tuple(inverse)
        return x.transpose(axes)

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        if type(g) is OuterSum:  # (from the engine only; an OuterSum is 2-D)
            return g.transposed() if ctx.inverse == (1, 0) else g
        return D.transpose(g, ctx.inverse)

    @staticmethod
    def jvp(ctx: Function, x_dot: Any) -> Any:
        return D.transpose(x_dot, ctx.axes)


def _is_advanced(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (list, tuple, range, np.ndarray)) for p in parts)


def _take(x: Any, index: Any) -> Any:
    """x[index], a 0-d array rather than a numpy scalar for arrays."""
    out = x[index]
    return out if type(out) is np.ndarray or D.is_tensor(out) else np.asarray(out)


def index_add_array(g: np.ndarray, index: Any, shape: tuple[int, ...]) -> np.ndarray:
    """zeros(shape) with g added at [index]: repeated indices accumulate (np.add.at)."""
    dx = _cached(shape, g)  # a large float one from the buffer cache, zeroed
    if dx is None or dx.nbytes < _MIN:
        dx = np.zeros(shape, dtype=g.dtype)
    else:
        dx.fill(0)
    if _is_advanced(index):
        np.add.at(dx, index, g)
    else:
        dx[index] = g
    return dx


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
    def backward(ctx: Function, g: Any) -> Any:
        return D.index_add(g, ctx.index, ctx.shape)

    @staticmethod
    def jvp(ctx: Function, x_dot: Any) -> Any:
        return _take(x_dot, ctx.index)


@register
class IndexAdd(Function):
    """out = zeros(shape) with x added at [index] (repeated indices accumulate);
    dx = g[index]. GetItem's adjoint: the two are each other's backward."""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, index: Any = (), shape: tuple[int, ...] = ()
                ) -> np.ndarray:
        ctx.index, ctx.shape = index, tuple(shape)
        try:
            return index_add_array(x, index, ctx.shape)
        except (IndexError, ValueError) as e:
            raise ValueError(f"index_add: cannot add a tensor of shape {x.shape} at index "
                             f"{index!r} of a tensor of shape {ctx.shape}: {e}") from None

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        return _take(g, ctx.index)

    @staticmethod
    def jvp(ctx: Function, x_dot: Any) -> Any:
        return D.index_add(x_dot, ctx.index, ctx.shape)


def _stack_buffer(xs: tuple, axis: int) -> np.ndarray | None:
    shape = xs[0].shape
    axis %= len(shape) + 1  # (in range: Stack.forward checked it)
    return _cached(shape[:axis] + (len(xs),) + shape[axis:], xs[0])


@register
class Stack(Function):
    """out = stack(xs, axis);  dx_i = g taken at position i along axis"""

    promote_from, n_ary, exact_grads = 0, True, True

    @staticmethod
    def forward(ctx: Function, *xs: np.ndarray, axis: int = 0) -> np.ndarray:
        ndim = xs[0].ndim + 1
        if not -ndim <= axis < ndim:  # numpy's AxisError is a ValueError: not a shape problem
            raise ValueError(f"stack: axis {axis} is out of range for stacking tensors of shape "
                             f"{xs[0].shape} (a result of {ndim} dimensions)")
        shape = xs[0].shape
        ctx.axis = axis % ndim
        if ctx.axis == 0 and shape and all(x.shape == shape for x in xs):
            # the recurrence's states: one concatenate of the rows, without np.stack's per
            # input expand_dims (same values; xs share a dtype, by promotion)
            out = _stack_buffer(xs, 0)
            out = np.empty((len(xs), *shape), xs[0].dtype) if out is None else out
            np.concatenate(xs, out=out.reshape(len(xs) * shape[0], *shape[1:]))
            return out
        try:
            return np.stack(xs, axis=axis, out=_stack_buffer(xs, axis))
        except ValueError:
            raise ValueError(f"stack: all tensors must have the same shape, got "
                             f"{[x.shape for x in xs]}") from None

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        parts = D.unbind(g, ctx.axis)
        if False not in ctx.needs_input_grad:  # (the recurrence's states: all of them)
            return parts
        return tuple(part if need else None for part, need in zip(parts, ctx.needs_input_grad))

    @staticmethod
    def jvp(ctx: Function, *x_dots: Any) -> Any:
        return D.stack(list(x_dots), ctx.axis)


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
        ctx.bounds = [0, *np.cumsum([x.shape[ctx.axis] for x in xs]).tolist()]
        return out

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        lead, b = (slice(None),) * ctx.axis, ctx.bounds
        return tuple(_take(g, lead + (slice(b[i], b[i + 1]),)) if need else None
                     for i, need in enumerate(ctx.needs_input_grad))

    @staticmethod
    def jvp(ctx: Function, *x_dots: Any) -> Any:
        return D.concatenate(list(x_dots), ctx.axis)


def _stack_slices(gs: tuple, axis: int, shape: tuple[int, ...]) -> Any:
    """The slices gs (None: zeros) stacked along axis into an array of `shape`."""
    first = next(g for g in gs if g is not None)
    if type(first) is not np.ndarray:  # Tensors (create_graph): every gradient is one
        zero = D.constant(np.zeros(first.shape, first.dtype), first)
        return D.stack([zero if g is None else g for g in gs], axis)
    dx = _cached(shape, first)
    dx = np.empty(shape, first.dtype) if dx is None else dx
    if axis == 0 and first.ndim and all(g is not None for g in gs):
        # every slice has a gradient: one C-level concatenate into dx (T·B rows)
        pieces = cast("tuple[np.ndarray, ...]", gs)  # no None in it: checked just above
        np.concatenate(pieces, out=dx.reshape((-1,) + first.shape[1:]))
        return dx
    moved = np.moveaxis(dx, axis, 0)
    for i, g in enumerate(gs):
        moved[i] = 0 if g is None else g
    return dx


@register
class Unbind(Function):
    """outs = the slices of x along axis (a multi-output op);  dx = stack(gs), zeros for unused

    Slicing T steps one at a time would make T full-size zero arrays in backward (O(T²));
    this op assembles every slice's gradient in one O(T) buffer.
    """

    exact_grads = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axis: int = 0) -> tuple[np.ndarray, ...]:
        if x.ndim == 0:
            raise ValueError("unbind: cannot unbind a 0-d tensor")
        if not -x.ndim <= axis < x.ndim:
            raise ValueError(f"unbind: axis {axis} is out of range for a tensor of shape "
                             f"{x.shape}")
        ctx.axis, ctx.shape = axis % x.ndim, x.shape
        return D.unbind(x, ctx.axis)

    @staticmethod
    def backward(ctx: Function, *gs: Any) -> Any:
        return _stack_slices(gs, ctx.axis, ctx.shape)

    @staticmethod
    def jvp(ctx: Function, x_dot: Any) -> Any:
        lead = (slice(None),) * ctx.axis
        return tuple(_take(x_dot, lead + (i,)) for i in range(ctx.shape[ctx.axis]))


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
    def backward(ctx: Function, g: Any) -> Any:
        cond = D.value(ctx.saved_tensors[0])
        _, need_x, need_y = ctx.needs_input_grad
        return (None, D.where(cond, g, 0) if need_x else None,
                D.where(cond, 0, g) if need_y else None)

    @staticmethod
    def jvp(ctx: Function, cond_dot: Any, x_dot: Any, y_dot: Any) -> Any:
        return D.where(D.value(ctx.saved_tensors[0]), x_dot, y_dot)


# --------------------------------------------------------------------- more unary maps (issue 10)
# Each rule calls the Tensor method on Tensors (grad of grad) and numpy on arrays.


def _sin(x: Any) -> Any:
    return x.sin() if D.is_tensor(x) else np.sin(x)


def _cos(x: Any) -> Any:
    return x.cos() if D.is_tensor(x) else np.cos(x)


@register
class Sin(Function):
    """out = sin(x);  dout/dx = cos(x)"""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        return g * _cos(ctx.saved_tensors[0])

    @staticmethod
    def jvp(ctx: Function, x_dot: Any) -> Any:
        return x_dot * _cos(ctx.saved_tensors[0])


@register
class Cos(Function):
    """out = cos(x);  dout/dx = -sin(x)"""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        return -(g * _sin(ctx.saved_tensors[0]))

    @staticmethod
    def jvp(ctx: Function, x_dot: Any) -> Any:
        return -(x_dot * _sin(ctx.saved_tensors[0]))


@register
class Log1p(Function):
    """out = log(1 + x), exact for tiny x;  dout/dx = 1 / (1 + x)"""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.log1p(x)

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        return g / (ctx.saved_tensors[0] + 1)

    @staticmethod
    def jvp(ctx: Function, x_dot: Any) -> Any:
        return x_dot / (ctx.saved_tensors[0] + 1)


@register
class Expm1(Function):
    """out = exp(x) - 1, exact for tiny x;  dout/dx = out + 1"""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        out = np.expm1(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        return g * (ctx.saved_tensors[0] + 1)

    @staticmethod
    def jvp(ctx: Function, x_dot: Any) -> Any:
        return x_dot * (ctx.saved_tensors[0] + 1)


# ------------------------------------------------------------------ elementwise maximum/minimum


def _tie_shares(x: np.ndarray, y: np.ndarray, greater: np.ndarray) -> tuple[Any, Any]:
    """(share of x, share of y) of the gradient: 1 to the winner, ½ each on a tie (PyTorch)."""
    dtype = np.result_type(x.dtype, y.dtype)
    dtype = dtype if dtype.kind == "f" else np.dtype(np.float64)
    tie = (x == y).astype(dtype) * 0.5
    share_x = greater.astype(dtype) + tie
    share_y = (~greater & (x != y)).astype(dtype) + tie
    return share_x, share_y


class _Extremum(Function):
    """out = maximum(x, y) or minimum(x, y) elementwise; dx = g where x wins, ½ g on a tie."""

    promote_from = 0
    pick: Any = np.maximum

    @classmethod
    def _forward(cls, ctx: Function, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        greater = x > y if cls.pick is np.maximum else x < y  # "x wins"
        shares = _tie_shares(x, y, greater)
        ctx.save_for_backward(*shares)
        return np.asarray(cls.pick(x, y))

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        share_x, share_y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        return (g * D.value(share_x) if need_x else None,
                g * D.value(share_y) if need_y else None)

    @staticmethod
    def jvp(ctx: Function, x_dot: Any, y_dot: Any) -> Any:
        share_x, share_y = (D.value(s) for s in ctx.saved_tensors)
        return x_dot * share_x + y_dot * share_y


@register
class Maximum(_Extremum):
    """out = max(x, y) elementwise;  dout/dx = [x > y] + ½[x = y], dout/dy = [y > x] + ½[x = y]"""

    pick = np.maximum

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return Maximum._forward(ctx, x, y)


@register
class Minimum(_Extremum):
    """out = min(x, y) elementwise;  dout/dx = [x < y] + ½[x = y], dout/dy = [y < x] + ½[x = y]"""

    pick = np.minimum

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return Minimum._forward(ctx, x, y)


# ------------------------------------------------------------------------ products and scans


def _scan_axis(axis: Any, ndim: int, op: str) -> int | None:
    """A scan's single axis, non-negative; None for a 0-d tensor (which takes 0 and -1)."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{op}: dim must be an int, got {axis!r}")
    if ndim == 0:
        if axis not in (0, -1):
            raise ValueError(f"{op}: dim {axis} is out of range for a 0-d tensor (0 or -1)")
        return None
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: dim {axis} is out of range for a tensor with {ndim} "
                         f"dimension(s)")
    return int(axis) % ndim


def _flip(x: Any, axis: int) -> Any:
    return x[(slice(None),) * axis + (slice(None, None, -1),)]


def _cumsum(x: Any, axis: int) -> Any:
    return Cumsum.apply(x, axis=axis) if D.is_tensor(x) else np.cumsum(x, axis=axis)


def _rev_cumsum(x: Any, axis: int) -> Any:
    """out_j = Σ_{i ≥ j} x_i along axis."""
    return _flip(_cumsum(_flip(x, axis), axis), axis)


def _prod(x: Any, axes: tuple[int, ...]) -> Any:
    if D.is_tensor(x):
        return Prod.apply(x, axis=axes, keepdims=True)
    return np.prod(x, axis=axes, keepdims=True)


def _prod_partials(x: Any, axes: tuple[int, ...]) -> Any:
    """d prod(x)/dx_j = Π_{k≠j} x_k for every j, exact with zeros (no division by them).

    On arrays: with no zero in a slice it is prod/x_j; with one zero only the zero's entry is
    nonzero (the product of the others); with two or more all are 0.
    """
    if D.is_tensor(x):
        return _prod_partials_graph(x, axes)
    zeros = x == 0
    x_nz = np.where(zeros, 1, x).astype(x.dtype, copy=False)
    base = np.prod(x_nz, axis=axes, keepdims=True) / x_nz  # Π_{k≠j} of the nonzero entries
    if not zeros.any():
        return base
    count = np.broadcast_to(zeros.sum(axis=axes, keepdims=True), x.shape)
    return np.where((count == 0) | ((count == 1) & zeros), base, 0).astype(x.dtype)


def _prod_partials_graph(x: Any, axes: tuple[int, ...]) -> Any:
    """Π_{k≠j} x_k on Tensors (create_graph) as the exclusive prefix product times the
    exclusive suffix product over the reduced entries: no division, so its own derivative
    is exact at any order (prod/x_j cancels catastrophically near x_j = 0)."""
    kept = tuple(a for a in range(x.ndim) if a not in axes)
    order = kept + axes
    moved = D.transpose(x, order) if order != tuple(range(x.ndim)) else x
    lead = tuple(x.shape[a] for a in kept)
    n = math.prod(x.shape[a] for a in axes)
    flat = moved.reshape(lead + (n,))
    if n == 0:
        return D.zeros_like(x)
    last = len(lead)
    one = D.constant(np.ones(lead + (1,), x.dtype), x)
    prefix = D.concatenate([one, _cumprod(flat, last)[..., : n - 1]], last)
    suffix = _flip(D.concatenate([one, _cumprod(_flip(flat, last), last)[..., : n - 1]], last),
                   last)
    partials = (prefix * suffix).reshape(moved.shape)
    inverse = tuple(int(i) for i in np.argsort(order))
    return D.transpose(partials, inverse) if order != tuple(range(x.ndim)) else partials


@register
class Prod(Function):
    """out = Π_axis x;  dout/dx_j = Π_{k≠j} x_k (exact when some x_k are 0: no division)"""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axis: Any = None, keepdims: bool = False
                ) -> np.ndarray:
        ctx.axes = _normalize_axis(axis, x.ndim, "prod")
        ctx.keepdims, ctx.shape = keepdims, x.shape
        ctx.save_for_backward(x)
        return np.asarray(np.prod(x, axis=ctx.axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        partials = _prod_partials(ctx.saved_tensors[0], ctx.axes)
        return _expand_reduced(g, ctx.axes, ctx.keepdims, ctx.shape) * partials

    @staticmethod
    def jvp(ctx: Function, x_dot: Any) -> Any:
        partials = _prod_partials(ctx.saved_tensors[0], ctx.axes)
        return (x_dot * partials).sum(axis=ctx.axes, keepdims=ctx.keepdims)


@register
class Cumsum(Function):
    """out_i = Σ_{j ≤ i} x_j along axis;  dx_j = Σ_{i ≥ j} g_i (a reversed cumsum)"""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axis: int = 0) -> np.ndarray:
        ctx.axis = _scan_axis(axis, x.ndim, "cumsum")
        return x.copy() if ctx.axis is None else np.cumsum(x, axis=ctx.axis)

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        return g if ctx.axis is None else _rev_cumsum(g, ctx.axis)

    @staticmethod
    def jvp(ctx: Function, x_dot: Any) -> Any:
        return x_dot if ctx.axis is None else _cumsum(x_dot, ctx.axis)


def _cumprod(x: Any, axis: int) -> Any:
    return Cumprod.apply(x, axis=axis) if D.is_tensor(x) else np.cumprod(x, axis=axis)


def _cumprod_parts(ctx: Function) -> tuple[Any, Any, Any, Any, Any]:
    """Where each x_j lies against the first zero z of its slice: before (j < z, divide by x_j
    safely), at (j = z: the products without it, y'), after (0). Returns x_safe, before, at,
    y' = cumprod(x with x_z set to 1) and out."""
    x, out = ctx.saved_tensors
    zeros = D.value(x) == 0
    seen = np.cumsum(zeros, axis=ctx.axis)
    before, at = seen == 0, zeros & (seen == 1)
    x_safe = D.where(before, x, 1)
    y_prime = _cumprod(D.where(at, 1, x), ctx.axis) if at.any() else out
    return x_safe, before, at, y_prime, out


def _cumprod_vjp_with_zeros(x: Any, out: Any, g: Any, a: int) -> Any:
    """dx_j = P_{j−1} S_j with P the exclusive cumprod (out shifted by one) and
    S_j = g_j + x_{j+1} S_{j+1}: no division, so exact at every order with zeros (a loop
    over the axis: taken when the input has a zero, and under create_graph)."""
    n = g.shape[a]
    lead = (slice(None),) * a
    s = g[lead + (n - 1,)]
    pieces = [s]
    for j in range(n - 2, -1, -1):
        s = g[lead + (j,)] + x[lead + (j + 1,)] * s
        pieces.append(s)
    one = D.constant(np.ones(out.shape[:a] + (1,) + out.shape[a + 1:], out.dtype), out)
    before = D.concatenate([one, out[lead + (slice(0, n - 1),)]], a)
    return before * D.stack(pieces[::-1], a)


@register
class Cumprod(Function):
    """out_i = Π_{j ≤ i} x_j along axis;  dx_j = Σ_{i ≥ j} g_i Π_{k ≤ i, k ≠ j} x_k

    Without zeros dx = revcumsum(g·out) / x. With zeros (as PyTorch, exactly) no division:
    dx_j = P_{j−1} S_j, P the exclusive cumprod, S_j = g_j + x_{j+1} S_{j+1}.
    """

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axis: int = 0) -> np.ndarray:
        ctx.axis = _scan_axis(axis, x.ndim, "cumprod")
        out = x.copy() if ctx.axis is None else np.cumprod(x, axis=ctx.axis)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        if ctx.axis is None or g.shape[ctx.axis] == 0:
            return g
        x, out = ctx.saved_tensors
        # the division form is one vectorised pass, but wrong at zeros and, differentiated
        # again (create_graph), cancels catastrophically near them: then the loop form
        if D.is_tensor(g) or (D.value(x) == 0).any():
            return _cumprod_vjp_with_zeros(x, out, g, ctx.axis)
        return _rev_cumsum(g * out, ctx.axis) / x

    @staticmethod
    def jvp(ctx: Function, x_dot: Any) -> Any:
        if ctx.axis is None:
            return x_dot
        x_safe, before, at, y_prime, out = _cumprod_parts(ctx)
        dot = _cumsum(D.where(before, x_dot / x_safe, 0), ctx.axis) * out
        if at.any():
            dot = dot + y_prime * _cumsum(D.where(at, x_dot, 0), ctx.axis)
        return dot


def _logcumsumexp(x: Any, axis: int) -> Any:
    if D.is_tensor(x):
        return LogCumSumExp.apply(x, axis=axis)
    return np.logaddexp.accumulate(x, axis=axis)


def _signed_parts(v: Any) -> list[tuple[float, Any]]:
    """[(sign, log |v|)] for v's positive part (NaN counts here, so it propagates) and its
    negative part, -inf where a part is 0; a part that is 0 everywhere is left out."""
    vv = D.value(v)
    parts = []
    for sign, mask in ((1.0, ~(vv <= 0)), (-1.0, vv < 0)):
        if mask.any():
            with np.errstate(divide="ignore", invalid="ignore"):
                parts.append((sign, D.where(mask, D.log(D.where(mask, v * sign, 1)), -np.inf)))
    return parts


def _minus_out(log_part: Any, out: Any) -> Any:
    """log_part − out, with -inf where out is -inf (all of a prefix was -inf: its weights
    exp(x_j − out_i) are taken as 0, not -inf − (-inf) = nan)."""
    with np.errstate(invalid="ignore"):
        return D.where(D.value(out) == -np.inf, -np.inf, log_part - out)


def _lcse_vjp(x: Any, out: Any, g: Any, a: int) -> Any:
    """Σ_{i ≥ j} g_i exp(x_j − out_i), each sign of g summed in log space (no overflow)."""
    total = D.zeros_like(g)
    for sign, log_part in _signed_parts(g):
        summed = _flip(_logcumsumexp(_flip(_minus_out(log_part, out), a), a), a)
        with np.errstate(invalid="ignore"):
            total = total + sign * D.exp(x + summed)
    return total


@register
class LogCumSumExp(Function):
    """out_i = log Σ_{j ≤ i} exp(x_j) along axis;  dx_j = Σ_{i ≥ j} g_i exp(x_j − out_i)

    Stable at any scale (np.logaddexp.accumulate, a running log-sum). The gradient sums the
    positive and negative parts of g separately in log space, as PyTorch, so no exp overflows.
    """

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axis: int = 0) -> np.ndarray:
        if x.dtype.kind != "f":
            raise TypeError(f"logcumsumexp: needs a floating-point tensor, got {x.dtype}")
        ctx.axis = _scan_axis(axis, x.ndim, "logcumsumexp")
        out = x.copy() if ctx.axis is None else np.logaddexp.accumulate(x, axis=ctx.axis)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        if ctx.axis is None:
            return g
        x, out = ctx.saved_tensors
        return _lcse_vjp(x, out, g, ctx.axis)

    @staticmethod
    def jvp(ctx: Function, x_dot: Any) -> Any:
        """out_dot_i = Σ_{j ≤ i} exp(x_j − out_i) x_dot_j, each sign in log space."""
        if ctx.axis is None:
            return x_dot
        x, out = ctx.saved_tensors
        total = D.zeros_like(x_dot)
        for sign, log_part in _signed_parts(x_dot):
            with np.errstate(invalid="ignore"):
                summed = _logcumsumexp(x + log_part, ctx.axis)
                total = total + sign * D.exp(_minus_out(summed, out))
        return total
