"""The vocabulary that derivative rules are written in: each function takes numpy arrays or
Tensors and returns the same kind.

A primitive's `backward` and `jvp` are written once. On the fast path (a plain `backward()`,
`func.jvp`) they receive numpy arrays and these functions are numpy calls; under
`create_graph=True` they receive the engine's own Tensors and the same lines record a graph,
so the gradient can be differentiated again. Arithmetic (`+ - * / ** @`), `.reshape`, `.sum`,
`.T` and indexing already work on both kinds; this module adds the rest.

Masks and other piecewise-constant factors are computed on `value(x)` (the array inside), so a
rule never differentiates a comparison.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import buffers

Array = Any  # a numpy array or a Tensor: the rules accept both

_TENSOR: Any = None


def _tensor_class() -> Any:
    global _TENSOR
    if _TENSOR is None:
        from .tensor import Tensor

        _TENSOR = Tensor
    return _TENSOR


def is_tensor(x: Any) -> bool:
    return type(x) is not np.ndarray and isinstance(x, _tensor_class())


def value(x: Array) -> np.ndarray:
    """The numpy array inside (a Tensor's data, an array itself): for masks and constants."""
    return x._data if is_tensor(x) else np.asarray(x)


def _ops() -> Any:
    from . import ops

    return ops


def constant(array: np.ndarray, like: Array) -> Array:
    """`array` as the kind of `like`: itself, or a constant Tensor."""
    return _tensor_class()._wrap(array, None, 0) if is_tensor(like) else array


def zeros_like(x: Array) -> Array:
    return constant(np.zeros(x.shape, x.dtype), x)


def where(mask: np.ndarray, a: Array, b: Array) -> Array:
    """`a` where mask else `b`; mask is an array (constant), a/b arrays, Tensors or numbers."""
    if is_tensor(a) or is_tensor(b):
        from .tensor import where as tensor_where

        return tensor_where(mask, a, b)
    dtype = a.dtype if hasattr(a, "dtype") else b.dtype
    out: np.ndarray = np.asarray(np.where(mask, a, b))
    return out.astype(dtype, copy=False)


# ------------------------------------------------------------------ arithmetic on hot paths
# On large arrays these compute into the engine's cached buffers (buffers.py), so a training
# step reuses last step's memory instead of page-faulting new memory in (for the activations
# and gradients that outlive an expression). On Tensors they are the plain operators.

_MIN = buffers.MIN_BYTES


def out_like(x: np.ndarray) -> np.ndarray | None:
    """A cached buffer of x's shape and float dtype for a ufunc's `out=`, or None (numpy
    allocates) for small or non-float arrays."""
    if x.nbytes < _MIN or x.dtype.kind != "f":
        return None
    return buffers.empty(x.shape, x.dtype)


def cached(shape: tuple[int, ...], x: np.ndarray, y: np.ndarray | None = None,
           transient: bool = False) -> np.ndarray | None:
    """A cached `out=` buffer of `shape` for a result of x's float dtype (y, if given, must
    share it), or None to let numpy allocate. transient: see buffers.empty."""
    dtype = x.dtype
    if dtype.kind != "f" or (y is not None and y.dtype is not dtype):
        return None
    return buffers.empty(shape, dtype, transient)  # (it hands small arrays out uncached)


def binary(ufunc: np.ufunc, x: np.ndarray, y: Any) -> np.ndarray:
    """ufunc(x, y) on arrays (y may be a Python number), into a cached buffer when the result
    has x's shape and dtype: the same shapes, a number, or any y that broadcasts into x (a
    bias along the leading axes, a row maximum kept as (N, 1), ...)."""
    if type(y) is not np.ndarray:
        return ufunc(x, y, out=out_like(x)) if isinstance(y, (int, float)) else ufunc(x, y)
    if x.dtype is y.dtype and (x.shape == y.shape or (
            x.nbytes >= _MIN and _broadcasts_into(y.shape, x.shape))):
        return ufunc(x, y, out=out_like(x))
    return ufunc(x, y)


def _broadcasts_into(small: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    """Whether an array of shape `small` broadcasts to `shape` (numpy's rule, right-aligned)."""
    if len(small) > len(shape):
        return False
    return all(a == 1 or a == b for a, b in zip(small[::-1], shape[::-1]))


def neg(x: Array) -> Array:
    """-x; on a large float array into a cached buffer."""
    return np.negative(x, out=out_like(x)) if type(x) is np.ndarray else -x


def mul(a: Array, b: Array) -> Array:
    if type(a) is np.ndarray and (type(b) is np.ndarray or isinstance(b, (int, float))):
        return binary(np.multiply, a, b)
    return a * b


def div(a: Array, b: Array) -> Array:
    if type(a) is np.ndarray and (type(b) is np.ndarray or isinstance(b, (int, float))):
        return binary(np.true_divide, a, b)
    return a / b


# ---------------------------------------------------------------------------- other functions


def exp(x: Array) -> Array:
    return x.exp() if is_tensor(x) else np.exp(x)


def log(x: Array) -> Array:
    return x.log() if is_tensor(x) else np.log(x)


def tanh(x: Array) -> Array:
    return x.tanh() if is_tensor(x) else np.tanh(x)


def matmul(a: Array, b: Array) -> Array:
    """a @ b; on arrays into a cached buffer when the result is large (2-D), or when the
    operands are (a batch of rows times a matrix)."""
    if type(a) is np.ndarray and type(b) is np.ndarray:
        if a.ndim == 2 and b.ndim == 2:  # (the recurrence's case first: the hot path)
            if a.shape[0] * b.shape[1] * a.itemsize < _MIN:  # a small result (never cached)
                return a.dot(b)
            return a.dot(b, out=cached((a.shape[0], b.shape[1]), a, b))
        if a.ndim > 2 and b.ndim == 2 and (a.nbytes >= _MIN or b.nbytes >= _MIN):
            return np.matmul(a, b, out=cached(a.shape[:-1] + b.shape[-1:], a, b))
        return np.matmul(a, b)
    return _ops().MatMul.apply(a, b)


_TRANSPOSES: dict[int, tuple[Any, Any]] = {}  # id(tensor) -> (tensor, tensor.T) (see T)


def T(x: Array) -> Array:
    """x.T. For a Tensor, within one backward that builds a graph, the same transpose node
    every time: a weight used at every step (W in h Wᵀ) then gets one transpose whose
    gradient the engine sums as factors (OuterSum) into one matmul, not T separate ones."""
    if type(x) is np.ndarray or not is_tensor(x):
        return x.T
    entry = _TRANSPOSES.get(id(x))
    if entry is None or entry[0] is not x:
        entry = _TRANSPOSES[id(x)] = (x, x.T)
    return entry[1]


def matmul_t(a: Array, b: Array) -> Array:
    """a @ bᵀ for 2-D b (the transpose shared as in `T`): one call on the hottest backward."""
    if type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == 2:
        bt = b.T
        if a.shape[0] * b.shape[0] * a.itemsize < _MIN:  # a small result (never cached)
            return a.dot(bt)
        if b.dtype is _F64 and a.shape[0] * b.size >= NT_MIN and not b.flags.c_contiguous:
            bt = _c_order(b).T
        # (the gradient of x in x @ bᵀ: summed into x's gradient and dropped soon after)
        return a.dot(bt, out=cached((a.shape[0], bt.shape[1]), a, bt, transient=True))
    return matmul(a, T(b))


# The recurrence's backward is g @ W for W stored row-major (h Wᵀ's weight, transposed back).
# OpenBLAS's float64 GEMM runs about 1.2x faster on these shapes when the right operand is
# column-major (measured with benchmarks/bench_rnn.py's sizes: B=32, H=128 and B=64, H=512;
# float32 and small products show no gain). So for a large float64 product, matmul_t multiplies
# by the transpose of a row-major copy of b, made once per backward pass and shared by every
# step (the same saved array b), and dropped when the pass ends (`clear_layouts`).
NT_MIN = 1 << 19  # a.shape[0] * b.size from which the copy pays (rows × weight entries)
_F64 = np.dtype(np.float64)
_LAYOUTS: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # id(b) -> (b, its row-major copy)


def _c_order(b: np.ndarray) -> np.ndarray:
    entry = _LAYOUTS.get(id(b))
    if entry is None or entry[0] is not b:
        entry = _LAYOUTS[id(b)] = (b, np.ascontiguousarray(b))
    return entry[1]


def clear_layouts() -> None:
    """Drop the copies `matmul_t` made (the engine calls it when a backward pass ends)."""
    _LAYOUTS.clear()


def transpose(x: Array, axes: tuple[int, ...]) -> Array:
    return x.permute(axes) if is_tensor(x) else np.transpose(x, axes)


def swapaxes(x: Array, a: int, b: int) -> Array:
    if not is_tensor(x):
        return np.swapaxes(x, a, b)
    axes = list(range(x.ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return x.permute(tuple(axes))


def expand_dims(x: Array, axes: tuple[int, ...]) -> Array:
    """x with size-1 axes inserted at `axes` (positions in the result)."""
    shape = list(x.shape)
    for a in sorted(axes):
        shape.insert(a, 1)
    return x.reshape(tuple(shape))


def broadcast_to(x: Array, shape: tuple[int, ...]) -> Array:
    if x.shape == tuple(shape):
        return x
    return _ops().Expand.apply(x, shape=tuple(shape)) if is_tensor(x) else np.broadcast_to(
        x, shape)


def sum_to(g: Array, shape: tuple[int, ...], op: str = "?") -> Array:
    """Sum `g` over the axes that broadcasting expanded, so that it has `shape` (the one place
    where broadcasting is undone; the engine calls it for every op's input gradients)."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra < 0:
        raise RuntimeError(f"{op}.backward returned a gradient of shape {g.shape} for an "
                           f"input of shape {shape}")
    axes = list(range(extra))
    for i, size in enumerate(shape):
        if size == 1 and g.shape[extra + i] != 1:
            axes.append(extra + i)
        elif size != g.shape[extra + i]:
            raise RuntimeError(f"{op}.backward returned a gradient of shape {g.shape}, which "
                               f"does not reduce to the input's shape {shape}")
    return g.sum(axis=tuple(axes)).reshape(shape)


def cast(x: Array, dtype: Any) -> Array:
    if x.dtype == dtype:
        return x
    return _ops().Cast.apply(x, dtype=np.dtype(dtype)) if is_tensor(x) else x.astype(dtype)


def index_add(g: Array, index: Any, shape: tuple[int, ...]) -> Array:
    """zeros(shape) with g added at [index] (repeated indices accumulate): GetItem's adjoint."""
    if is_tensor(g):
        return _ops().IndexAdd.apply(g, index=index, shape=shape)
    return _ops().index_add_array(g, index, shape)


def reshape(x: Array, shape: tuple[int, ...]) -> Array:
    """x.reshape(shape), a view whenever numpy can make one. Where numpy must copy (x is not
    contiguous: a permuted tensor), a large array is copied into a cached buffer, as every
    activation is: a fresh copy per training step was page-faulted in every step."""
    if type(x) is not np.ndarray or x.nbytes < _MIN or x.flags.c_contiguous:
        return x.reshape(shape)
    try:
        return x.reshape(shape, copy=False)
    except TypeError:  # numpy < 2.1 has no copy= here: let numpy decide
        return x.reshape(shape)
    except ValueError:  # a copy is needed (or the shape is wrong: the reshape below says so)
        flat = buffers.empty(x.shape, x.dtype)  # (tensors hold numbers only: any dtype)
        np.copyto(flat, x)
        return flat.reshape(shape)


def unbind(x: Array, axis: int) -> tuple:
    """The slices of x along axis: views of an array, or one Unbind node of a Tensor (so that
    its backward assembles all the slices' gradients in one buffer, never T full-size ones)."""
    if is_tensor(x):
        out = x.unbind(axis)
        return out if isinstance(out, tuple) else (out,)
    return tuple(x) if axis == 0 else tuple(np.moveaxis(x, axis, 0))  # (rows: no moveaxis)


def stack(xs: list, axis: int) -> Array:
    if any(is_tensor(x) for x in xs):
        return _ops().Stack.apply(*xs, axis=axis)
    return np.stack(xs, axis=axis)


def concatenate(xs: list, axis: int) -> Array:
    if any(is_tensor(x) for x in xs):
        return _ops().Cat.apply(*xs, axis=axis)
    return np.concatenate(xs, axis=axis)


__all__ = ["value", "constant", "zeros_like", "where", "exp", "log", "tanh", "matmul",
           "T", "matmul_t", "transpose", "swapaxes", "expand_dims", "broadcast_to", "sum_to",
           "cast", "index_add", "unbind", "stack", "concatenate", "is_tensor", "mul",
           "out_like", "cached", "binary"]
