"""`Tensor`: a numpy array plus the graph node that produced it. Operators call the primitives."""

from __future__ import annotations

import builtins
import math
import weakref
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from . import inplace, ops
from .autograd import STATE, Function, _CutGraph, mark_modified, run_backward

_FLOATS = (np.float16, np.float32, np.float64)


def _to_array(data: Any, dtype: Any, requires_grad: bool) -> np.ndarray:
    """User data -> a fresh numpy array (never an alias of the user's array)."""
    if isinstance(data, Tensor):
        data = data.data
    try:
        array = np.array(data, dtype=dtype)
    except ValueError as e:
        raise ValueError(f"Tensor: could not build an array from the data ({e}); nested lists "
                         "must be rectangular (not ragged) and hold numbers") from None
    except TypeError as e:
        raise TypeError(f"Tensor: data of type {type(data).__name__} is not numeric "
                        f"({e})") from None
    kind = array.dtype.kind
    if kind not in "biuf":
        raise TypeError(f"Tensor: data must be numeric (bool, int or float), got dtype "
                        f"{array.dtype} from {type(data).__name__}")
    if dtype is None and kind == "f" and array.dtype.type not in _FLOATS:
        array = array.astype(np.float64)
    if requires_grad and kind != "f":
        if dtype is not None:
            raise TypeError(f"Tensor: only floating-point tensors can require gradients, got "
                            f"dtype {array.dtype}")
        array = array.astype(np.float64)
    return array


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    `Tensor(data, requires_grad=False, dtype=None)`: data is a scalar, a (nested) list or an
    ndarray, always copied. Floats default to float64; float32 data stays float32 through every
    op and gradient. Integer data becomes float64 when requires_grad=True.
    """

    __slots__ = ("_data", "grad", "requires_grad", "_ctx", "_index", "_hooks", "name",
                 "_version", "__weakref__")
    # numpy must not take over `ndarray * tensor` (it would build an object array of tensors):
    # with this, numpy returns NotImplemented and Python calls our reflected operator.
    __array_ufunc__ = None

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        self._data = _to_array(data, dtype, requires_grad)
        self._version = 0
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self._ctx: Function | None = None
        self._index = 0
        self._hooks: list[Callable] | None = None
        self.name: str | None = None

    @classmethod
    def _wrap(cls, array: np.ndarray, ctx: Function | None, index: int) -> Tensor:
        """Fast constructor for op results: no copy, no validation."""
        t = cls.__new__(cls)
        t._data = array if type(array) is np.ndarray else np.asarray(array)
        t._version = 0
        t.grad = None
        t.requires_grad = ctx is not None
        t._ctx = ctx
        t._index = index
        t._hooks = None
        t.name = None
        return t

    # ------------------------------------------------------------------------------ properties
    @property
    def data(self) -> np.ndarray:
        """The numpy array. Assigning to it counts as an in-place change (bumps `_version`)."""
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        array = value._data if isinstance(value, Tensor) else np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"Tensor.data: data must be numeric (bool, int or float), got dtype "
                            f"{array.dtype}")
        if self.requires_grad and array.dtype.kind != "f":
            raise TypeError(f"Tensor.data: a tensor that requires grad needs floating-point "
                            f"data, got dtype {array.dtype}")
        old, self._data = self._data, array
        mark_modified(self, replaced=old)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self) -> Function | None:
        return self._ctx

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self) -> builtins.float:
        if self.data.size != 1:
            raise ValueError(f"item: only a one-element tensor can become a Python number, got "
                             f"shape {self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> Tensor:
        """The same data with no graph behind it (the data is shared, as in PyTorch)."""
        return Tensor._wrap(self.data, None, 0)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if self._ctx is not None and not requires_grad:
            raise RuntimeError("requires_grad_: cannot turn off gradients of a non-leaf tensor; "
                               "use detach()")
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"requires_grad_: only floating-point tensors can require gradients, "
                            f"got dtype {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def astype(self, dtype: Any) -> Tensor:
        """A converted copy; a differentiable cast is not a primitive, so this detaches."""
        return Tensor(self.data.astype(dtype), requires_grad=self.requires_grad, dtype=dtype)

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, separator=", ", threshold=20,
                               prefix="Tensor(")
        extra = f", dtype={self.dtype}" if self.dtype != np.float64 else ""
        if self._ctx is not None:
            extra += f", grad_fn=<{self._ctx.name}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    # ------------------------------------------------------- conversions (PyTorch's rules)
    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous "
                             f"(only a one-element tensor has one); use .any() or .all() on "
                             f"the data")
        return bool(self._data.item())

    def __float__(self) -> builtins.float:
        return float(_one_element(self, "float"))

    def __int__(self) -> int:
        return int(_one_element(self, "int"))

    def __index__(self) -> int:
        if self._data.dtype.kind not in "biu" or self._data.size != 1:
            raise TypeError(f"only integer tensors of a single element can be converted to an "
                            f"index, got a {self.dtype} tensor of shape {self.shape}")
        return int(self._data.item())

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """`np.asarray(t)` is `t.data` itself (numpy 2's protocol: copy=True copies, copy=False
        refuses to)."""
        if STATE.graph_backward and self.requires_grad:
            raise _CutGraph(f"np.asarray() of a tensor of shape {self.shape} that requires grad "
                            f"would cut the graph being built")
        data = self._data
        if dtype is not None and np.dtype(dtype) != data.dtype:
            if copy is False:
                raise ValueError(f"__array__: converting a {data.dtype} tensor to {dtype} needs "
                                 f"a copy, but copy=False")
            return data.astype(dtype)
        return data.copy() if copy else data

    # ---------------------------------------------------------------------------- autograd
    def backward(self, grad: Any = None, retain_graph: bool | None = None,
                 keep_node_grads: bool = False, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into `.grad` of every leaf that requires a gradient.

        retain_graph: keep the saved values so backward can run through the graph again
        (default: create_graph).
        keep_node_grads: every node of the graph keeps the gradients that passed through it,
        for `viz.draw`/`viz.trace` (costs memory: an RNN keeps T per-step pieces of ∂E/∂W).
        create_graph: record the graph of the gradient, so it can be differentiated again.
        `.grad` then holds a Tensor with that graph (as in PyTorch) instead of an array, and
        a `.grad` that was already there is added to it.
        """
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad and has no graph "
                               "(was it created under no_grad(), or from inputs that do not "
                               "require grad?)")
        given = grad
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward: grad can be implicitly created only for a scalar "
                                   f"output, but this tensor has shape {self.shape}; pass grad=")
            grad = np.ones_like(self.data)
        else:
            grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad)
            if grad.shape != self.shape:
                raise RuntimeError(f"backward: grad has shape {grad.shape} but the tensor has "
                                   f"shape {self.shape}")
            grad = grad.astype(self.dtype, copy=False)
        retain = create_graph if retain_graph is None else retain_graph
        if create_graph:  # a given Tensor cotangent keeps its own graph
            grad = given if isinstance(given, Tensor) and given.shape == self.shape else (
                Tensor._wrap(grad, None, 0))
        run_backward((self,), (grad,), retain, keep_node_grads, create_graph)

    def register_hook(self, hook: Callable[[np.ndarray], Any]) -> Callable[[], None]:
        """Call `hook(grad)` when this tensor's gradient is computed; a returned array replaces
        it. Returns a function that removes the hook."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does not "
                               "require grad")
        if self._ctx is None:
            hooks = self._hooks = self._hooks or []
        else:
            table = self._ctx.hooks = self._ctx.hooks or {}
            hooks = table.setdefault(self._index, [])
        hooks.append(hook)
        return lambda: hooks.remove(hook) if hook in hooks else None

    def retain_grad(self) -> None:
        """Keep this intermediate's gradient in `.grad` after backward (leaves always do)."""
        if self._ctx is None:
            return
        table = self._ctx.retained = self._ctx.retained or {}
        table[self._index] = weakref.ref(self)

    def zero_grad(self) -> None:
        self.grad = None

    # -------------------------------------------------------------------------- arithmetic
    def __add__(self, other: Any) -> Tensor:
        return ops.Add.apply(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return ops.Add.apply(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(other, self)

    def __pow__(self, other: Any) -> Tensor:
        if isinstance(other, (int, float, np.integer, np.floating)):  # a Python number
            exponent = other.item() if isinstance(other, np.generic) else other
            return ops.PowScalar.apply(self, exponent=exponent)
        return ops.Pow.apply(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return ops.Pow.apply(other, self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.MatMul.apply(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.MatMul.apply(other, self)

    # ------------------------------------------------------------------ in-place (PyTorch's)
    # Each updates this tensor's own buffer and bumps its version (see inplace.py).
    def __iadd__(self, other: Any) -> Tensor:
        return inplace.update(self, np.add, other, "+=")

    def __isub__(self, other: Any) -> Tensor:
        return inplace.update(self, np.subtract, other, "-=")

    def __imul__(self, other: Any) -> Tensor:
        return inplace.update(self, np.multiply, other, "*=")

    def __itruediv__(self, other: Any) -> Tensor:
        return inplace.update(self, np.true_divide, other, "/=")

    def add_(self, other: Any, alpha: builtins.float = 1) -> Tensor:
        """self += alpha * other, in place."""
        return inplace.update(self, np.add, other, "add_", alpha)

    def sub_(self, other: Any, alpha: builtins.float = 1) -> Tensor:
        """self -= alpha * other, in place."""
        return inplace.update(self, np.subtract, other, "sub_", alpha)

    def mul_(self, other: Any) -> Tensor:
        return inplace.update(self, np.multiply, other, "mul_")

    def div_(self, other: Any) -> Tensor:
        return inplace.update(self, np.true_divide, other, "div_")

    def copy_(self, src: Any) -> Tensor:
        """Copy src's values into this tensor (broadcast to its shape; a cast within one kind,
        e.g. float64 into float32, is fine, a float into an int tensor raises)."""
        return inplace.update(self, None, src, "copy_")

    def fill_(self, value: Any) -> Tensor:
        return inplace.update(self, None, value, "fill_")

    def zero_(self) -> Tensor:
        return inplace.update(self, None, np.zeros((), self._data.dtype), "zero_")

    # Comparisons give plain boolean tensors (no graph), as in PyTorch.
    def __lt__(self, other: Any) -> Tensor:
        return Tensor._wrap(self.data < _data(other), None, 0)

    def __le__(self, other: Any) -> Tensor:
        return Tensor._wrap(self.data <= _data(other), None, 0)

    def __gt__(self, other: Any) -> Tensor:
        return Tensor._wrap(self.data > _data(other), None, 0)

    def __ge__(self, other: Any) -> Tensor:
        return Tensor._wrap(self.data >= _data(other), None, 0)

    # `==` and `!=` are elementwise too, while hashing stays by identity (as in PyTorch), so
    # tensors still work as dict keys and in sets; to find a tensor in a list, compare with `is`.
    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        if not isinstance(other, _COMPARABLE):
            return NotImplemented  # Python then answers by identity: t == None is False
        return Tensor._wrap(self._data == _data(other), None, 0)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        if not isinstance(other, _COMPARABLE):
            return NotImplemented
        return Tensor._wrap(self._data != _data(other), None, 0)

    __hash__ = object.__hash__

    def matmul(self, other: Any) -> Tensor:
        return ops.MatMul.apply(self, other)

    # ------------------------------------------------------------------- sizes (PyTorch's)
    def size(self, dim: int | None = None) -> Any:
        """The shape (`size()`, a tuple) or the length of one dim (`size(dim)`, an int)."""
        if dim is None:
            return self._data.shape
        return self._data.shape[_one_dim(dim, self.ndim, "size")]

    def numel(self) -> int:
        """The number of elements (numpy's `.size`)."""
        return int(self._data.size)

    def dim(self) -> int:
        """The number of dimensions (`ndim`)."""
        return self._data.ndim

    # ------------------------------------------------------------------------ elementwise
    def exp(self) -> Tensor:
        return ops.Exp.apply(self)

    def log(self) -> Tensor:
        return ops.Log.apply(self)

    def tanh(self) -> Tensor:
        return ops.Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        return ops.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        return ops.ReLU.apply(self)

    def abs(self) -> Tensor:
        return ops.Abs.apply(self)

    def erf(self) -> Tensor:
        return ops.Erf.apply(self)

    def sin(self) -> Tensor:
        return ops.Sin.apply(self)

    def cos(self) -> Tensor:
        return ops.Cos.apply(self)

    def log1p(self) -> Tensor:
        return ops.Log1p.apply(self)

    def expm1(self) -> Tensor:
        return ops.Expm1.apply(self)

    def sqrt(self) -> Tensor:
        return ops.PowScalar.apply(self, exponent=0.5)

    def rsqrt(self) -> Tensor:
        return ops.PowScalar.apply(self, exponent=-0.5)

    def square(self) -> Tensor:
        return ops.PowScalar.apply(self, exponent=2)

    def reciprocal(self) -> Tensor:
        return ops.PowScalar.apply(self, exponent=-1)

    def exp2(self) -> Tensor:
        return (self * _LN2).exp()

    def log2(self) -> Tensor:
        return self.log() / _LN2

    def neg(self) -> Tensor:
        return ops.Neg.apply(self)

    def pow(self, exponent: Any) -> Tensor:
        return self ** exponent

    def sign(self) -> Tensor:
        """-1, 0 or +1 (0 for NaN, as PyTorch); its gradient is 0 everywhere."""
        with np.errstate(invalid="ignore"):
            s = np.where(np.isnan(self._data), 0, np.sign(self._data)).astype(self.dtype)
        return _constant_result(self, s)

    def maximum(self, other: Any) -> Tensor:
        """Elementwise max; a tie gives each input half the gradient (PyTorch)."""
        return ops.Maximum.apply(self, other)

    def minimum(self, other: Any) -> Tensor:
        """Elementwise min; a tie gives each input half the gradient (PyTorch)."""
        return ops.Minimum.apply(self, other)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        """min(max(x, lo), hi) (numbers or tensors). As PyTorch: x gets the gradient where
        lo <= x <= hi, lo where x < lo, hi where the result would exceed hi; lo > hi gives hi."""
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        out = self
        if min is not None:
            out = where(self._data < _data(min), min, out)
        if max is not None:
            out = where(out._data > _data(max), max, out)
        return out

    clip = clamp

    def clamp_min(self, min: Any) -> Tensor:
        return self.clamp(min=min)

    def clamp_max(self, max: Any) -> Tensor:
        return self.clamp(max=max)

    def softmax(self, dim: int | None = None, *, axis: int | None = None) -> Tensor:
        from .functional import softmax

        return softmax(self, dim, axis=axis)

    def log_softmax(self, dim: int | None = None, *, axis: int | None = None) -> Tensor:
        from .functional import log_softmax

        return log_softmax(self, dim, axis=axis)

    def logsumexp(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
                  keepdims: bool | None = None) -> Tensor:
        from .functional import logsumexp

        return logsumexp(self, dim, keepdim, axis=axis, keepdims=keepdims)

    # ------------------------------------------------------------------------- reductions
    # Every reduction takes PyTorch's dim/keepdim, with numpy's axis/keepdims as aliases.
    def sum(self, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None,
            keepdims: bool | None = None) -> Tensor:
        d, k = _reduce_args(self, "sum", dim, axis, keepdim, keepdims)
        return ops.Sum.apply(self, axis=d, keepdims=k)

    def mean(self, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None,
             keepdims: bool | None = None) -> Tensor:
        d, k = _reduce_args(self, "mean", dim, axis, keepdim, keepdims)
        return ops.Mean.apply(self, axis=d, keepdims=k)

    def prod(self, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None,
             keepdims: bool | None = None) -> Tensor:
        """Π over dim; exact gradients with one or several zeros (the Prod primitive)."""
        d, k = _reduce_args(self, "prod", dim, axis, keepdim, keepdims)
        return ops.Prod.apply(self, axis=d, keepdims=k)

    def amax(self, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None,
             keepdims: bool | None = None) -> Tensor:
        """max over dim (an int or a tuple); k tied maxima each get 1/k of the gradient."""
        d, k = _reduce_args(self, "amax", dim, axis, keepdim, keepdims)
        return ops.Max.apply(self, axis=d, keepdims=k)

    def amin(self, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None,
             keepdims: bool | None = None) -> Tensor:
        """min over dim; k tied minima each get 1/k of the gradient."""
        d, k = _reduce_args(self, "amin", dim, axis, keepdim, keepdims)
        return -ops.Max.apply(-self, axis=d, keepdims=k)

    def max(self, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None,
            keepdims: bool | None = None) -> Any:
        """PyTorch's three forms: `max()` (ties share the gradient), `max(dim)` -> (values,
        indices) with the gradient at the first maximal index, `max(other)` = maximum.
        numpy's `max(axis=...)` (int or tuple) returns the values only, as `amax`."""
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        if dim is None:
            return self.amax(axis=axis, keepdim=keepdim, keepdims=keepdims)
        return self._extremum_along(dim, keepdim, keepdims, axis, "max")

    def min(self, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None,
            keepdims: bool | None = None) -> Any:
        """As `max`: `min()`, `min(dim)` -> (values, indices), `min(other)`, `min(axis=...)`."""
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        if dim is None:
            return self.amin(axis=axis, keepdim=keepdim, keepdims=keepdims)
        return self._extremum_along(dim, keepdim, keepdims, axis, "min")

    def _extremum_along(self, dim: Any, keepdim: bool | None, keepdims: bool | None,
                        axis: Any, op: str) -> ValuesIndices:
        if axis is not None:
            raise TypeError(f"{op}: got both dim={dim!r} and axis={axis!r}; pass one")
        keep = _keep_arg(op, keepdim, keepdims)
        d = _one_dim(dim, self.ndim, op)
        if self.ndim == 0:
            return ValuesIndices(self, Tensor._wrap(np.zeros((), np.int64), None, 0))
        index = (self.argmax if op == "max" else self.argmin)(d, keepdim=True)
        values = self.gather(d, index)
        if not keep:
            values, index = values.squeeze(d), index.squeeze(d)
        return ValuesIndices(values, index)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Index of the max (of the flattened tensor when dim is None); ties: the first."""
        return _arg_extremum(self, dim, keepdim, "argmax")

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Index of the min (of the flattened tensor when dim is None); ties: the first."""
        return _arg_extremum(self, dim, keepdim, "argmin")

    def var(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool | None = None,
            *, correction: builtins.float | None = None, axis: Any = None,
            keepdims: bool | None = None) -> Tensor:
        """Σ (x − mean)² / (N − correction); correction=1 (unbiased) by default, unbiased=False
        means correction=0. N <= correction gives inf or nan, as PyTorch."""
        d, k = _reduce_args(self, "var", dim, axis, keepdim, keepdims)
        if unbiased is not None and correction is not None:
            raise TypeError("var: got both unbiased and correction; pass one")
        c = (1 if unbiased is None or unbiased else 0) if correction is None else correction
        n = math.prod(self.shape[a] for a in _reduced_axes(self.ndim, d))
        centered = self - self.mean(axis=d, keepdims=True)
        total = (centered * centered).sum(axis=d, keepdims=k)
        with np.errstate(divide="ignore", invalid="ignore"):  # N <= correction: inf or nan
            return total / max(n - c, 0)

    def std(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool | None = None,
            *, correction: builtins.float | None = None, axis: Any = None,
            keepdims: bool | None = None) -> Tensor:
        """√var; its gradient is 0 where var is 0 (a constant slice), as PyTorch."""
        v = self.var(dim, unbiased, keepdim, correction=correction, axis=axis, keepdims=keepdims)
        return _safe_sqrt(v)

    def cumsum(self, dim: int | None = None, *, axis: int | None = None) -> Tensor:
        """out_i = Σ_{j ≤ i} x_j along dim."""
        return ops.Cumsum.apply(self, axis=_scan_dim(dim, axis, "cumsum"))

    def cumprod(self, dim: int | None = None, *, axis: int | None = None) -> Tensor:
        """out_i = Π_{j ≤ i} x_j along dim; exact gradients with zeros."""
        return ops.Cumprod.apply(self, axis=_scan_dim(dim, axis, "cumprod"))

    def logcumsumexp(self, dim: int | None = None, *, axis: int | None = None) -> Tensor:
        """out_i = log Σ_{j ≤ i} exp(x_j) along dim, stable for any values."""
        return ops.LogCumSumExp.apply(self, axis=_scan_dim(dim, axis, "logcumsumexp"))

    def any(self, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None,
            keepdims: bool | None = None) -> Tensor:
        d, k = _reduce_args(self, "any", dim, axis, keepdim, keepdims)
        return Tensor._wrap(np.asarray(np.any(self._data, axis=d, keepdims=k)), None, 0)

    def all(self, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None,
            keepdims: bool | None = None) -> Tensor:
        d, k = _reduce_args(self, "all", dim, axis, keepdim, keepdims)
        return Tensor._wrap(np.asarray(np.all(self._data, axis=d, keepdims=k)), None, 0)

    def norm(self, p: Any = "fro", dim: Any = None, keepdim: bool | None = None, *,
             axis: Any = None, keepdims: bool | None = None) -> Tensor:
        """Vector norm over dim (all elements by default): p = 2 or "fro" √Σx² (gradient 0 at
        x = 0, overflow-safe), 1 Σ|x|, inf max|x| and -inf min|x| (ties share), 0 the number
        of nonzeros, any other p (Σ|x|^p)^(1/p)."""
        d, k = _reduce_args(self, "norm", dim, axis, keepdim, keepdims)
        return _norm(self, p, d, k)

    # ---------------------------------------------------------------------- shape movement
    def reshape(self, *shape: Any) -> Tensor:
        """A new shape with the same elements; one entry may be -1 (inferred)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.Reshape.apply(self, shape=shape)

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge dims start_dim..end_dim into one (a 0-d tensor becomes shape (1,))."""
        if self.ndim == 0:
            return self.reshape(1)
        a = _one_dim(start_dim, self.ndim, "flatten")
        b = _one_dim(end_dim, self.ndim, "flatten")
        if a > b:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for "
                             f"a tensor of shape {self.shape}")
        shape = self.shape
        return self.reshape(shape[:a] + (math.prod(shape[a:b + 1]),) + shape[b + 1:])

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        """Split dim into `sizes` (one may be -1)."""
        d = _one_dim(dim, self.ndim, "unflatten")
        sizes = tuple(int(s) for s in sizes)
        known = math.prod(s for s in sizes if s != -1)
        if sizes.count(-1) > 1 or (sizes.count(-1) == 0 and known != self.shape[d]) or (
                sizes.count(-1) == 1 and (known == 0 or self.shape[d] % known)):
            raise ValueError(f"unflatten: sizes {sizes} do not multiply to dim {dim}'s size "
                             f"{self.shape[d]} (shape {self.shape})")
        return self.reshape(self.shape[:d] + sizes + self.shape[d + 1:])

    def squeeze(self, dim: Any = None) -> Tensor:
        """Drop size-1 dims (all, or those of `dim` that have size 1, as PyTorch)."""
        if dim is None:
            drop = {a for a, s in enumerate(self.shape) if s == 1}
        else:
            dims = dim if isinstance(dim, (tuple, list)) else (dim,)
            drop = {a for a in (_one_dim(x, self.ndim, "squeeze") for x in dims)
                    if self.ndim and self.shape[a] == 1}
        return self.reshape(tuple(s for a, s in enumerate(self.shape) if a not in drop))

    def unsqueeze(self, dim: int) -> Tensor:
        """Insert a size-1 dim at `dim` (-ndim-1 <= dim <= ndim)."""
        d = _one_dim(dim, self.ndim + 1, "unsqueeze")
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def expand(self, *sizes: Any) -> Tensor:
        """Broadcast to `sizes` without copying; -1 keeps a dim's size; new dims go in front."""
        sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) \
            else sizes
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise ValueError(f"expand: {len(sizes)} sizes {sizes} for a tensor of shape "
                             f"{self.shape}: give at least one per dim")
        target = []
        for i, s in enumerate(sizes):
            if s == -1:
                if i < lead:
                    raise ValueError(f"expand: -1 is not allowed for a new leading dim "
                                     f"(sizes {sizes}, shape {self.shape})")
                s = self.shape[i - lead]
            target.append(int(s))
        return ops.Expand.apply(self, shape=tuple(target))

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def repeat(self, *sizes: Any) -> Tensor:
        """Tile: out[i] = x[i % size] along each dim (numpy's tile; PyTorch's repeat)."""
        sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) \
            else sizes
        if len(sizes) < self.ndim:
            raise ValueError(f"repeat: {len(sizes)} repeats {sizes} for a tensor of shape "
                             f"{self.shape}: give at least one per dim")
        shape = (1,) * (len(sizes) - self.ndim) + self.shape
        spread = self.reshape(tuple(v for s in shape for v in (1, s)))
        tiled = spread.expand(tuple(v for r, s in zip(sizes, shape) for v in (int(r), s)))
        return tiled.reshape(tuple(int(r) * s for r, s in zip(sizes, shape)))

    def flip(self, *dims: Any) -> Tensor:
        """Reverse the order along each of `dims`."""
        dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        index = [slice(None)] * self.ndim
        for d in dims:
            index[_one_dim(d, self.ndim, "flip")] = slice(None, None, -1)
        return self[tuple(index)] if self.ndim else self.reshape(())

    def split(self, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
        """Pieces along dim: of size n each (the last may be smaller), or of the listed sizes."""
        d = _one_dim(dim, self.ndim, "split")
        n = self.shape[d]
        if isinstance(split_size_or_sections, (int, np.integer)):
            step = int(split_size_or_sections)
            if step <= 0 and n:
                raise ValueError(f"split: split_size must be positive, got {step}")
            sizes = [min(step, n - i) for i in range(0, n, step)] if n else [0]
        else:
            sizes = [int(s) for s in split_size_or_sections]
            if sum(sizes) != n or any(s < 0 for s in sizes):
                raise ValueError(f"split: sections {sizes} do not sum to dim {dim}'s size {n} "
                                 f"(shape {self.shape})")
        bounds = np.cumsum([0] + sizes).tolist()
        lead = (slice(None),) * d
        return tuple(self[lead + (slice(a, b),)] for a, b in zip(bounds[:-1], bounds[1:]))

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        """`chunks` pieces of ceil(n / chunks) along dim (fewer when n is small), as PyTorch."""
        if chunks <= 0:
            raise ValueError(f"chunk: chunks must be positive, got {chunks}")
        n = self.shape[_one_dim(dim, self.ndim, "chunk")]
        return self.split(max(-(-n // chunks), 1), dim)

    def permute(self, *axes: Any) -> Tensor:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return ops.Permute.apply(self, axes=axes)

    def transpose(self, dim0: int = -2, dim1: int = -1) -> Tensor:
        """Swap two axes (PyTorch's `transpose(dim0, dim1)`)."""
        axes = list(range(self.ndim))
        if self.ndim < 2:  # the identity (whatever the dims, as before)
            return ops.Permute.apply(self, axes=tuple(axes))
        if not (-self.ndim <= dim0 < self.ndim and -self.ndim <= dim1 < self.ndim):
            raise ValueError(f"transpose: dims ({dim0}, {dim1}) are out of range for a tensor of "
                             f"shape {self.shape}")
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return ops.Permute.apply(self, axes=tuple(axes))

    @property
    def T(self) -> Tensor:
        return ops.Permute.apply(self, axes=tuple(reversed(range(self.ndim))))

    def __getitem__(self, index: Any) -> Tensor:
        return ops.GetItem.apply(self, index=_plain_index(index))

    def unbind(self, dim: int | None = None, *, axis: int | None = None) -> tuple[Tensor, ...]:
        out = ops.Unbind.apply(self, axis=_dim_arg("unbind", dim, axis, 0))
        return out if isinstance(out, tuple) else (out,)

    # --------------------------------------------------------------------------- indexing
    def where(self, condition: Any, other: Any) -> Tensor:
        """`condition ? self : other`, as PyTorch's `Tensor.where`."""
        return where(condition, self, other)

    def gather(self, dim: int, index: Any) -> Tensor:
        """out[i][j][k] = x[i][index[i][j][k]][k] (dim = 1); repeated indices accumulate."""
        return self[_along_dim(self, dim, index, "gather")]

    def scatter_add(self, dim: int, index: Any, src: Any) -> Tensor:
        """A copy of x with out[i][index[i][j][k]][k] += src[i][j][k] (dim = 1), repeated
        indices accumulating; out-of-place (PyTorch's scatter_add, not scatter_add_)."""
        idx = _index_array(index, "scatter_add")
        src = as_tensor(src, self)
        if src.ndim != idx.ndim or any(a > b for a, b in zip(idx.shape, src.shape)):
            raise ValueError(f"scatter_add: src of shape {src.shape} must have index's "
                             f"{idx.ndim} dims and be at least as large ({idx.shape})")
        part = src[tuple(slice(0, n) for n in idx.shape)] if src.shape != idx.shape else src
        where_to = _along_dim(self, dim, idx, "scatter_add")
        return self + ops.IndexAdd.apply(part, index=where_to, shape=self.shape)

    def index_select(self, dim: int, index: Any) -> Tensor:
        """The entries at the (1-D) `index` along dim; repeated indices accumulate."""
        d = _one_dim(dim, self.ndim, "index_select")
        idx = _index_array(index, "index_select")
        if idx.ndim > 1:
            raise ValueError(f"index_select: index must be 1-D, got shape {idx.shape}")
        if self.ndim == 0:
            return self.reshape(idx.shape)[np.zeros_like(idx.reshape(-1))].reshape(idx.shape)
        _check_bounds(idx, self.shape[d], "index_select", self.shape, d)
        return self[(slice(None),) * d + (idx.reshape(-1),)]

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        """`value` where mask is True, x elsewhere (mask broadcasts to x)."""
        m = np.asarray(_data(mask))
        if m.dtype != bool:
            raise TypeError(f"masked_fill: mask must be a bool tensor, got dtype {m.dtype}")
        out = where(m, value, self)
        if out.shape != self.shape:
            raise ValueError(f"masked_fill: mask of shape {m.shape} does not broadcast to the "
                             f"tensor's shape {self.shape}")
        return out

    # --------------------------------------------------------------- comparison and logic
    def isnan(self) -> Tensor:
        return Tensor._wrap(np.isnan(self._data), None, 0)

    def isinf(self) -> Tensor:
        return Tensor._wrap(np.isinf(self._data), None, 0)

    def isfinite(self) -> Tensor:
        return Tensor._wrap(np.isfinite(self._data), None, 0)

    def logical_not(self) -> Tensor:
        return Tensor._wrap(np.logical_not(self._data), None, 0)

    def logical_and(self, other: Any) -> Tensor:
        return Tensor._wrap(np.logical_and(self._data, _data(other)), None, 0)

    def logical_or(self, other: Any) -> Tensor:
        return Tensor._wrap(np.logical_or(self._data, _data(other)), None, 0)

    def logical_xor(self, other: Any) -> Tensor:
        return Tensor._wrap(np.logical_xor(self._data, _data(other)), None, 0)

    def __and__(self, other: Any) -> Tensor:
        return _bitwise(np.bitwise_and, "&", self, other)

    def __rand__(self, other: Any) -> Tensor:
        return _bitwise(np.bitwise_and, "&", other, self)

    def __or__(self, other: Any) -> Tensor:
        return _bitwise(np.bitwise_or, "|", self, other)

    def __ror__(self, other: Any) -> Tensor:
        return _bitwise(np.bitwise_or, "|", other, self)

    def __xor__(self, other: Any) -> Tensor:
        return _bitwise(np.bitwise_xor, "^", self, other)

    def __invert__(self) -> Tensor:
        if self.dtype.kind not in "biu":
            raise TypeError(f"~: only bool and integer tensors can be inverted, got dtype "
                            f"{self.dtype}")
        return Tensor._wrap(np.invert(self._data), None, 0)

    # ---------------------------------------------------------------------------- dtypes
    def to(self, dtype: Any) -> Tensor:
        """Converted to `dtype` (numpy dtypes): differentiable between floating dtypes (the
        Cast primitive); other targets give a tensor without a graph. The same dtype: self."""
        target = np.dtype(dtype)
        if target == self.dtype:
            return self
        if target.kind == "f" and self.dtype.kind == "f":
            return ops.Cast.apply(self, dtype=target)
        return Tensor._wrap(self._data.astype(target), None, 0)

    def float(self) -> Tensor:
        """float32, differentiably."""
        return self.to(np.float32)

    def double(self) -> Tensor:
        """float64, differentiably."""
        return self.to(np.float64)

    def half(self) -> Tensor:
        return self.to(np.float16)



class DimError(IndexError, ValueError):
    """A dim out of range: an IndexError as in PyTorch, and a ValueError as the primitives'
    axis errors (so either `except` catches it)."""


class ValuesIndices(NamedTuple):
    """What `max(dim)`/`min(dim)` return, as PyTorch's (values, indices)."""

    values: Tensor
    indices: Tensor


_LN2 = math.log(2.0)


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


# ------------------------------------------------------------------------ dim arguments


def _dim_arg(op: str, dim: Any, axis: Any, default: Any = None) -> Any:
    """PyTorch's `dim` or its numpy alias `axis` (giving both is an error)."""
    if dim is not None and axis is not None:
        raise TypeError(f"{op}: got both dim={dim!r} and axis={axis!r}; pass one (axis is "
                        f"numpy's name for dim)")
    return default if dim is None and axis is None else (axis if dim is None else dim)


def _keep_arg(op: str, keepdim: bool | None, keepdims: bool | None) -> bool:
    if keepdim is not None and keepdims is not None:
        raise TypeError(f"{op}: got both keepdim and keepdims; pass one (keepdims is numpy's "
                        f"name for keepdim)")
    return bool(keepdims if keepdim is None else keepdim)


def _one_dim(dim: Any, ndim: int, op: str) -> int:
    """One dim in [-ndim, ndim) as a non-negative int; a 0-d tensor takes 0 and -1."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {dim!r}")
    size = max(ndim, 1)
    if not -size <= dim < size:
        raise DimError(f"{op}: dim {dim} is out of range for a tensor with {ndim} "
                         f"dimension(s) (expected {-size} <= dim < {size})")
    return int(dim) % size


def _reduce_args(t: Tensor, op: str, dim: Any, axis: Any, keepdim: bool | None,
                 keepdims: bool | None) -> tuple[Any, bool]:
    """(axis for the primitive, keepdims): dim/axis resolved, a 0-d tensor's 0/-1 -> ()."""
    d = _dim_arg(op, dim, axis)
    keep = _keep_arg(op, keepdim, keepdims)
    if t.ndim == 0 and d is not None:
        for a in (d if isinstance(d, (tuple, list)) else (d,)):
            _one_dim(a, 0, op)
        d = ()
    return d, keep


def _reduced_axes(ndim: int, d: Any) -> tuple[int, ...]:
    if d is None:
        return tuple(range(ndim))
    return tuple(int(a) % ndim for a in (d if isinstance(d, (tuple, list)) else (d,)))


def _scan_dim(dim: Any, axis: Any, op: str) -> int:
    d = _dim_arg(op, dim, axis)
    if d is None:
        raise TypeError(f"{op}: dim is required (PyTorch's {op}(dim))")
    return int(d)


# --------------------------------------------------------------------- composite helpers


def _constant_result(t: Tensor, array: np.ndarray) -> Tensor:
    """`array` as a function of t with gradient 0 (kept in t's graph if t requires grad)."""
    if not t.requires_grad:
        return Tensor._wrap(array, None, 0)
    return where(np.zeros(t.shape, dtype=bool), t, Tensor._wrap(array, None, 0))


def _safe_sqrt(s: Tensor) -> Tensor:
    """√s with gradient 0 (not inf·0 = nan) where s = 0, as PyTorch's norm and std."""
    zero = s._data == 0
    if not zero.any():
        return s.sqrt()
    return where(zero, 0.0, where(zero, 1.0, s).sqrt())


def _norm(x: Tensor, p: Any, d: Any, keep: bool) -> Tensor:
    if p in ("fro", 2, 2.0):
        if x.numel() == 0:
            return (x * x).sum(axis=d, keepdims=keep)
        # scaled by the (constant) largest |x|: no overflow at 1e200, no underflow at 1e-200
        scale = np.max(np.abs(x._data), axis=d, keepdims=True)
        scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1).astype(x.dtype)
        y = x / scale
        total = _safe_sqrt((y * y).sum(axis=d, keepdims=True)) * scale
        return total if keep else total.squeeze(_reduced_axes(x.ndim, d) if x.ndim else None)
    if p == 1:
        return x.abs().sum(axis=d, keepdims=keep)
    if p in (math.inf, "inf"):
        return x.abs().amax(axis=d, keepdims=keep)
    if p == -math.inf:
        return x.abs().amin(axis=d, keepdims=keep)
    if p == 0:
        count = np.count_nonzero(x._data, axis=d, keepdims=keep)
        return Tensor._wrap(np.asarray(count, dtype=x.dtype), None, 0)
    if isinstance(p, str) or not isinstance(p, (int, float)):
        raise ValueError(f"norm: p must be a number, inf or 'fro', got {p!r}")
    return (x.abs() ** p).sum(axis=d, keepdims=keep) ** (1.0 / p)


def _arg_extremum(t: Tensor, dim: Any, keepdim: bool, op: str) -> Tensor:
    if t.numel() == 0:
        raise ValueError(f"{op}: cannot take the {op} of an empty tensor of shape {t.shape}")
    find = np.argmax if op == "argmax" else np.argmin
    if dim is None:
        flat = find(t._data)
        out = np.asarray(flat).reshape((1,) * t.ndim if keepdim else ())
    elif t.ndim == 0:
        _one_dim(dim, 0, op)
        out = np.zeros((), np.int64)
    else:
        d = _one_dim(dim, t.ndim, op)
        out = find(t._data, axis=d, keepdims=keepdim)
    return Tensor._wrap(np.asarray(out, dtype=np.int64), None, 0)


def _index_array(index: Any, op: str) -> np.ndarray:
    idx = np.asarray(_data(index))
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got dtype {idx.dtype}")
    return idx


def _check_bounds(idx: np.ndarray, size: int, op: str, shape: tuple, dim: int) -> None:
    if idx.size and (idx.min() < -size or idx.max() >= size):
        raise IndexError(f"{op}: index values from {idx.min()} to {idx.max()} are out of range "
                         f"for dim {dim} of size {size} (tensor shape {shape})")


def _along_dim(t: Tensor, dim: int, index: Any, op: str) -> tuple:
    """The numpy index for x[i][index[i][j][k]][k] (dim = 1): index along dim, the position
    itself along every other dim (gather's and scatter_add's addressing)."""
    idx = _index_array(index, op)
    d = _one_dim(dim, t.ndim, op)
    if idx.ndim != t.ndim:
        raise ValueError(f"{op}: index must have the tensor's {t.ndim} dims, got index of shape "
                         f"{idx.shape} for a tensor of shape {t.shape}")
    if t.ndim == 0:
        _check_bounds(idx, 1, op, t.shape, d)
        return ()
    for a in range(t.ndim):
        if a != d and idx.shape[a] > t.shape[a]:
            raise ValueError(f"{op}: index of shape {idx.shape} is larger than the tensor of "
                             f"shape {t.shape} in dim {a}")
    _check_bounds(idx, t.shape[d], op, t.shape, d)
    grids = np.indices(idx.shape, sparse=True)
    return tuple(idx if a == d else grids[a] for a in range(t.ndim))


def _bitwise(fn: Any, symbol: str, a: Any, b: Any) -> Tensor:
    x, y = np.asarray(_data(a)), np.asarray(_data(b))
    if x.dtype.kind not in "biu" or y.dtype.kind not in "biu":
        raise TypeError(f"{symbol}: needs bool or integer tensors, got dtypes {x.dtype} and "
                        f"{y.dtype} (use logical_and/logical_or for truth values)")
    return Tensor._wrap(np.asarray(fn(x, y)), None, 0)


_COMPARABLE = (Tensor, np.ndarray, np.generic, bool, int, float, list, tuple)


def _one_element(t: Tensor, what: str) -> Any:
    """The Python number inside a one-element tensor (float(t), int(t))."""
    if t._data.size != 1:
        raise ValueError(f"{what}(): only a one-element tensor can be converted to a Python "
                         f"scalar, got a tensor of shape {t.shape} ({t._data.size} elements)")
    return t._data.item()


def _plain_index(index: Any) -> Any:
    """Tensors inside an index become integer/bool arrays (an index is never differentiated)."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


def as_tensor(x: Any, like: Tensor | None = None) -> Tensor:
    """A non-tensor operand -> a constant tensor with the dtype of `like` (no upcasting)."""
    if isinstance(x, Tensor):
        return x
    dtype = like.data.dtype if like is not None and like.data.dtype.kind == "f" else None
    return Tensor._wrap(_to_array(x, dtype, False), None, 0)


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def stack(tensors: Sequence[Tensor], dim: int | None = None, *, axis: int | None = None
          ) -> Tensor:
    """The tensors (of one shape) stacked along a new dim."""
    if len(tensors) == 0:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    return ops.Stack.apply(*tensors, axis=_dim_arg("stack", dim, axis, 0))


def cat(tensors: Sequence[Tensor], dim: int | None = None, *, axis: int | None = None
        ) -> Tensor:
    """The tensors joined along an existing dim."""
    if len(tensors) == 0:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    return ops.Cat.apply(*tensors, axis=_dim_arg("cat", dim, axis, 0))


concatenate = cat


def where(condition: Any, x: Any, y: Any) -> Tensor:
    """x where condition else y (broadcast together); the condition gets no gradient."""
    cond = Tensor._wrap(np.asarray(_data(condition), dtype=bool), None, 0)
    like = x if isinstance(x, Tensor) else y if isinstance(y, Tensor) else None
    return ops.Where.apply(cond, as_tensor(x, like), as_tensor(y, like))


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0
        ) -> Tensor:
    """PyTorch's `F.pad` (constant mode): `pad = (left, right)` for the last dim, then
    (top, bottom) for the one before, ...; negative amounts crop. The gradient is the centre."""
    if mode != "constant":
        raise NotImplementedError(f"pad: only mode='constant' is implemented, got {mode!r}")
    pad = [int(p) for p in pad]
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: needs pairs (left, right) for at most the tensor's {input.ndim} "
                         f"dims, got {len(pad)} values {tuple(pad)} for shape {input.shape}")
    before = [0] * input.ndim
    after = [0] * input.ndim
    for i in range(len(pad) // 2):
        before[input.ndim - 1 - i], after[input.ndim - 1 - i] = pad[2 * i], pad[2 * i + 1]
    crop = tuple(slice(max(-b, 0), s - max(-a, 0)) for b, a, s in zip(before, after, input.shape))
    x = input[crop] if any(b < 0 or a < 0 for b, a in zip(before, after)) else input
    lo = [max(b, 0) for b in before]
    shape = tuple(s + lo_ + max(a, 0) for s, lo_, a in zip(x.shape, lo, after))
    if any(s < 0 for s in shape):
        raise ValueError(f"pad: padding {tuple(pad)} crops more than the shape {input.shape}")
    centre = tuple(slice(lo_, lo_ + s) for lo_, s in zip(lo, x.shape))
    out = ops.IndexAdd.apply(x, index=centre, shape=shape)
    if value != 0:
        border = np.full(shape, value, dtype=out.dtype)
        border[centre] = 0
        out = out + Tensor._wrap(border, None, 0)
    return out


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """PyTorch's `F.one_hot`: an int64 tensor of shape index.shape + (num_classes,), with
    num_classes = max + 1 when -1."""
    idx = _index_array(tensor, "one_hot")
    n = int(idx.max()) + 1 if num_classes == -1 and idx.size else max(int(num_classes), 0)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"one_hot: class values from {idx.min()} to {idx.max()} are out of "
                         f"range for num_classes={n}")
    return Tensor._wrap((idx[..., None] == np.arange(n)).astype(np.int64), None, 0)


# ----------------------------------------------------------------------------- creation


def _shape_arg(shape: tuple) -> tuple[int, ...]:
    """`f(2, 3)` or `f((2, 3))` -> (2, 3)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def _made(array: np.ndarray, requires_grad: bool) -> Tensor:
    if requires_grad and array.dtype.kind != "f":
        raise TypeError(f"only floating-point tensors can require gradients, got dtype "
                        f"{array.dtype}")
    t = Tensor._wrap(array, None, 0)
    t.requires_grad = bool(requires_grad)
    return t


def _float_dtype(dtype: Any) -> np.dtype:
    return np.dtype(np.float64 if dtype is None else dtype)


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of 0s: `zeros(2, 3)` or `zeros((2, 3))`; float64 unless dtype is given."""
    return _made(np.zeros(_shape_arg(size), _float_dtype(dtype)), requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of 1s: `ones(2, 3)` or `ones((2, 3))`; float64 unless dtype is given."""
    return _made(np.ones(_shape_arg(size), _float_dtype(dtype)), requires_grad)


def _fill_dtype(value: Any, dtype: Any) -> np.dtype:
    """PyTorch's inference: bool -> bool, int -> int64, float -> float64 (our default)."""
    if dtype is not None:
        return np.dtype(dtype)
    if isinstance(value, (bool, np.bool_)):
        return np.dtype(bool)
    if isinstance(value, (int, np.integer)):
        return np.dtype(np.int64)
    return np.dtype(np.float64)


def full(size: Any, fill_value: Any, *, dtype: Any = None, requires_grad: bool = False
         ) -> Tensor:
    """A tensor of `fill_value` (its dtype inferred as PyTorch does, float64 for floats)."""
    shape = _shape_arg((tuple(size),) if isinstance(size, (tuple, list)) else (size,))
    return _made(np.full(shape, fill_value, _fill_dtype(fill_value, dtype)), requires_grad)


def zeros_like(t: Any, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    data = np.asarray(_data(t))
    return _made(np.zeros(data.shape, data.dtype if dtype is None else dtype), requires_grad)


def ones_like(t: Any, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    data = np.asarray(_data(t))
    return _made(np.ones(data.shape, data.dtype if dtype is None else dtype), requires_grad)


def full_like(t: Any, fill_value: Any, *, dtype: Any = None, requires_grad: bool = False
              ) -> Tensor:
    data = np.asarray(_data(t))
    return _made(np.full(data.shape, fill_value, data.dtype if dtype is None else dtype),
                 requires_grad)


def arange(start: Any, end: Any = None, step: Any = 1, *, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """[start, end) in steps: int64 for integer arguments, float64 if any is a float."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    kind = dtype if dtype is not None else (np.int64 if ints else np.float64)
    return _made(np.arange(start, end, step).astype(kind), requires_grad)


def linspace(start: float, end: float, steps: int, *, dtype: Any = None,
             requires_grad: bool = False) -> Tensor:
    """`steps` evenly spaced values from start to end inclusive (float64 by default)."""
    if steps < 0:
        raise ValueError(f"linspace: steps must be non-negative, got {steps}")
    return _made(np.linspace(start, end, int(steps), dtype=_float_dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, *, dtype: Any = None, requires_grad: bool = False
        ) -> Tensor:
    """The n x m identity (m = n by default), float64 unless dtype is given."""
    return _made(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def _generator(generator: Any, rng: Any) -> np.random.Generator:
    """A numpy Generator from `generator` (a Generator or an int seed) or the older `rng`."""
    source = generator if generator is not None else rng
    if source is None:
        return np.random.default_rng()
    if isinstance(source, np.random.Generator):
        return source
    if isinstance(source, (int, np.integer)) and not isinstance(source, bool):
        return np.random.default_rng(int(source))
    raise TypeError(f"generator must be a numpy Generator or an int seed, got "
                    f"{type(source).__name__}")


def _random(kind: str, size: tuple, dtype: Any, requires_grad: bool, generator: Any,
            rng: Any) -> Tensor:
    target = _float_dtype(dtype)
    if target.kind != "f":
        raise TypeError(f"{kind}: random samples need a floating-point dtype, got {dtype}")
    gen = _generator(generator, rng)
    shape = _shape_arg(size)
    samples = gen.standard_normal(shape) if kind == "randn" else gen.random(shape)
    return _made(np.asarray(samples, dtype=target), requires_grad)


def randn(*size: Any, dtype: Any = None, requires_grad: bool = False, generator: Any = None,
          rng: np.random.Generator | None = None) -> Tensor:
    """Standard normal samples: `randn(2, 3)` or `randn((2, 3))`; generator: a numpy
    Generator or an int seed (`rng` is the older name of the same)."""
    return _random("randn", size, dtype, requires_grad, generator, rng)


def rand(*size: Any, dtype: Any = None, requires_grad: bool = False, generator: Any = None,
         rng: np.random.Generator | None = None) -> Tensor:
    """Uniform samples in [0, 1): `rand(2, 3)` or `rand((2, 3))`; generator as randn."""
    return _random("rand", size, dtype, requires_grad, generator, rng)


__all__ = ["Tensor", "tensor", "stack", "cat", "concatenate", "where", "zeros", "ones", "randn",
           "rand", "full", "zeros_like", "ones_like", "full_like", "arange", "linspace", "eye",
           "pad", "one_hot", "as_tensor", "ValuesIndices"]
