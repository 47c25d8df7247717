"""`Tensor`: a numpy array plus the graph node that produced it. Operators call the primitives."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any

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
    def size(self) -> int:
        return self._data.size

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

    def item(self) -> float:
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

    def __float__(self) -> float:
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

    def add_(self, other: Any, alpha: float = 1) -> Tensor:
        """self += alpha * other, in place."""
        return inplace.update(self, np.add, other, "add_", alpha)

    def sub_(self, other: Any, alpha: float = 1) -> Tensor:
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

    def sqrt(self) -> Tensor:
        return ops.PowScalar.apply(self, exponent=0.5)

    # ------------------------------------------------------------------------- reductions
    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return ops.Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return ops.Mean.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return ops.Max.apply(self, axis=axis, keepdims=keepdims)

    # ---------------------------------------------------------------------- shape movement
    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.Reshape.apply(self, shape=shape)

    def permute(self, *axes: Any) -> Tensor:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return ops.Permute.apply(self, axes=axes)

    def transpose(self, dim0: int = -2, dim1: int = -1) -> Tensor:
        """Swap two axes (PyTorch's `transpose(dim0, dim1)`)."""
        axes = list(range(self.ndim))
        if self.ndim < 2:
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

    def unbind(self, axis: int = 0) -> tuple[Tensor, ...]:
        out = ops.Unbind.apply(self, axis=axis)
        return out if isinstance(out, tuple) else (out,)

    def where(self, condition: Any, other: Any) -> Tensor:
        """`condition ? self : other`, as PyTorch's `Tensor.where`."""
        return where(condition, self, other)


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


_COMPARABLE = (Tensor, np.ndarray, np.generic, bool, int, float, list, tuple)


def _one_element(t: Tensor, what: str) -> Any:
    """The Python number inside a one-element tensor (float(t), int(t))."""
    if t._data.size != 1:
        raise ValueError(f"{what}(): only a one-element tensor can be converted to a Python "
                         f"scalar, got a tensor of shape {t.shape} ({t.size} elements)")
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


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    if len(tensors) == 0:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    return ops.Stack.apply(*tensors, axis=axis)


def cat(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    if len(tensors) == 0:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    return ops.Cat.apply(*tensors, axis=axis)


concatenate = cat


def where(condition: Any, x: Any, y: Any) -> Tensor:
    cond = Tensor._wrap(np.asarray(_data(condition), dtype=bool), None, 0)
    like = x if isinstance(x, Tensor) else y if isinstance(y, Tensor) else None
    return ops.Where.apply(cond, as_tensor(x, like), as_tensor(y, like))


def zeros(*shape: Any, requires_grad: bool = False, dtype: Any = np.float64) -> Tensor:
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return Tensor(np.zeros(shape, dtype=dtype), requires_grad=requires_grad)


def ones(*shape: Any, requires_grad: bool = False, dtype: Any = np.float64) -> Tensor:
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return Tensor(np.ones(shape, dtype=dtype), requires_grad=requires_grad)


def randn(*shape: Any, requires_grad: bool = False, dtype: Any = np.float64,
          rng: np.random.Generator | None = None) -> Tensor:
    """Standard normal samples; `randn(2, 3)` or `randn((2, 3))`, a floating dtype only."""
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    if np.dtype(dtype).kind != "f":
        raise TypeError(f"randn: normal samples need a floating-point dtype, got {dtype}")
    rng = rng if rng is not None else np.random.default_rng()
    return Tensor(rng.standard_normal(shape), requires_grad=requires_grad, dtype=dtype)


__all__ = ["Tensor", "tensor", "stack", "cat", "concatenate", "where", "zeros", "ones", "randn",
           "as_tensor"]
