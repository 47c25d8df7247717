"""Hypothesis strategies for property-testing ops: shapes, bounded arrays, per-op input domains
and random computation graphs.

Domains are *mapped* away from kinks and poles (|x| + 0.5 for log, values pushed off 0 for abs,
spaced values for max), never filtered, so every drawn example is a valid test.
Example: `@given(OP_INPUTS["Log"]())` draws an `OpCase` ready for `REGISTRY["Log"].apply`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np

from ..tensor import Tensor, cat

# ------------------------------------------------------------------------------ basic blocks


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1,
           max_side: int = 4) -> st.SearchStrategy[tuple[int, ...]]:
    """Array shapes with min_dims..max_dims axes of min_side..max_side elements each."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(num_shapes: int = 2, min_dims: int = 0, max_dims: int = 3,
                         max_side: int = 4) -> st.SearchStrategy[tuple[tuple[int, ...], ...]]:
    """`num_shapes` shapes that broadcast together (size-1 and missing leading axes included)."""
    return hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=min_dims,
                                             max_dims=max_dims, max_side=max_side
                                             ).map(lambda result: result.input_shapes)


def arrays(shape: Any, low: float = -3.0, high: float = 3.0,
           dtype: Any = np.float64) -> st.SearchStrategy[np.ndarray]:
    """Float arrays with values in [low, high]: no NaN, no Inf, no subnormals.

    shape: a tuple or a strategy of tuples. dtype: float64 (default) or float32.
    """
    width = np.dtype(dtype).itemsize * 8
    low, high = (float(np.dtype(dtype).type(v)) for v in (low, high))
    elements = st.floats(low, high, allow_nan=False, allow_infinity=False,
                         allow_subnormal=False, width=width)
    return hnp.arrays(np.dtype(dtype), shape, elements=elements)


def tensors(shape: Any = None, low: float = -3.0, high: float = 3.0, dtype: Any = np.float64,
            requires_grad: bool = True) -> st.SearchStrategy[Tensor]:
    """Tensors wrapping `arrays(...)`; shape defaults to `shapes()`."""
    return arrays(shapes() if shape is None else shape, low, high, dtype).map(
        lambda a: Tensor(a, requires_grad=requires_grad, dtype=a.dtype))


def away_from_zero(x: np.ndarray, gap: float = 0.1) -> np.ndarray:
    """x -> sign(x)·(|x| + gap), with sign(0) = +1: no value lies within `gap` of the kink 0."""
    return np.asarray(np.where(x >= 0, 1.0, -1.0).astype(x.dtype) * (np.abs(x) + gap))


def positive(x: np.ndarray, floor: float = 0.5) -> np.ndarray:
    """x -> |x| + floor: a domain for log, a tensor-exponent pow's base, a denominator."""
    return np.asarray(np.abs(x) + np.asarray(floor, dtype=x.dtype))


@st.composite
def distinct_arrays(draw: Callable, shape: tuple[int, ...], spacing: float = 0.1) -> np.ndarray:
    """Values at least 0.75·spacing apart (a shuffled grid plus jitter): max never ties."""
    size = math.prod(shape)
    order = np.array(draw(st.permutations(range(size))), dtype=np.float64)
    jitter = draw(arrays((size,), 0.0, spacing / 4))
    return ((order - (size - 1) / 2) * spacing + jitter).reshape(shape)


def axes(ndim: int) -> st.SearchStrategy[Any]:
    """An `axis` argument for a reduction: None, an int (maybe negative) or a tuple of axes."""
    if ndim == 0:
        return st.sampled_from([None, ()])
    one = st.integers(-ndim, ndim - 1)
    many = st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim).map(tuple)
    return st.one_of(st.none(), one, many)


# ------------------------------------------------------------------------------ op inputs


class OpCase(NamedTuple):
    """One drawn call of an op: `REGISTRY[name].apply(*case.inputs(), **case.attrs)`.

    args: float arrays (differentiated), bool/int arrays and Python scalars (constants).
    """

    args: tuple
    attrs: dict

    def inputs(self, dtype: Any = np.float64) -> list[Tensor]:
        """Float arrays -> tensors requiring grad in `dtype`; everything else -> constants."""
        out = []
        for a in self.args:
            if isinstance(a, np.ndarray) and a.dtype.kind == "f":
                out.append(Tensor(a, requires_grad=True, dtype=dtype))
            elif isinstance(a, np.ndarray):
                out.append(Tensor(a))
            else:
                out.append(Tensor(a, dtype=dtype))
        return out


def join_outputs(out: Any) -> Tensor:
    """A multi-output op's tuple -> one flat tensor (so gradcheck sees every output)."""
    if isinstance(out, tuple):
        return cat([o.reshape(-1) for o in out])
    return out


OP_INPUTS: dict[str, Callable[[], st.SearchStrategy[OpCase]]] = {}


def register_op_inputs(name: str) -> Callable:
    """Decorator: `@register_op_inputs("MyOp")` on a zero-argument function that returns a
    strategy of `OpCase`s. The registry-wide gradient test then covers the op."""
    def decorate(build: Callable[[], st.SearchStrategy[OpCase]]) -> Callable:
        OP_INPUTS[name] = build
        return build
    return decorate


def op_inputs(name: str) -> st.SearchStrategy[OpCase]:
    """The input strategy of a registered op; a clear KeyError when the op has none."""
    if name not in OP_INPUTS:
        raise KeyError(f"op {name!r} has no input strategy: add one to "
                       f"tinygrad_rnn.testing.OP_INPUTS with @register_op_inputs({name!r})")
    return OP_INPUTS[name]()


def _unary(domain: Callable[[np.ndarray], np.ndarray] | None = None) -> Callable:
    def build() -> st.SearchStrategy[OpCase]:
        values = arrays(shapes())
        return values.map(lambda x: OpCase(((domain(x) if domain else x),), {}))
    return build


def _binary(domain_y: Callable[[np.ndarray], np.ndarray] | None = None) -> Callable:
    @st.composite
    def build(draw: Callable) -> OpCase:
        shape_x, shape_y = draw(broadcastable_shapes())
        x, y = draw(arrays(shape_x)), draw(arrays(shape_y))
        return OpCase((x, domain_y(y) if domain_y else y), {})
    return build


for _name in ("Add", "Sub", "Mul"):
    OP_INPUTS[_name] = _binary()
OP_INPUTS["Div"] = _binary(lambda y: away_from_zero(y, 0.5))
for _name, _domain in (("Neg", None), ("Exp", None), ("Tanh", None), ("Sigmoid", None),
                       ("Log", positive), ("ReLU", away_from_zero), ("Abs", away_from_zero),
                       ("Erf", None)):
    OP_INPUTS[_name] = _unary(_domain)


@register_op_inputs("Cast")
@st.composite
def _cast(draw: Callable) -> OpCase:
    # to float64 only: a cast that rounds (to float32) has no central difference to check
    return OpCase((draw(arrays(shapes())),), {"dtype": np.dtype(np.float64)})


@register_op_inputs("Pow")
@st.composite
def _pow(draw: Callable) -> OpCase:
    kind = draw(st.sampled_from(["tensor", "int", "float", "scalar_base"]))
    if kind == "tensor":  # positive base: d/dy x^y = x^y log x needs x > 0
        shape_x, shape_y = draw(broadcastable_shapes())
        return OpCase((positive(draw(arrays(shape_x))), draw(arrays(shape_y, -2.0, 2.0))), {})
    x = draw(arrays(shapes()))
    if kind == "int":  # any sign of base; a negative exponent keeps the base off the pole 0
        exponent = draw(st.sampled_from([-1, 1, 2, 3]))
        return OpCase((away_from_zero(x, 0.5) if exponent < 0 else x, exponent), {})
    if kind == "float":
        return OpCase((positive(x), draw(st.sampled_from([0.5, -1.5, 2.5]))), {})
    return OpCase((draw(st.sampled_from([0.5, 2.0])), x), {})


@register_op_inputs("PowScalar")
@st.composite
def _pow_scalar(draw: Callable) -> OpCase:
    """A Python-number exponent: integers take any base (negative ones a base off the pole 0),
    fractional ones a positive base; 0 checks that the gradient is exactly zero."""
    exponent = draw(st.sampled_from([0, 1, 2, 3, -1, -2, 0.5, -1.5, 2.5, True]))
    x = draw(arrays(shapes()))
    if isinstance(exponent, float):
        x = positive(x)
    elif exponent < 0:
        x = away_from_zero(x, 0.5)
    return OpCase((x,), {"exponent": exponent})


@register_op_inputs("MatMul")
@st.composite
def _matmul(draw: Callable) -> OpCase:
    """1-D on either side, 2-D, and batched operands whose batch axes broadcast."""
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    batch_x, batch_y = draw(broadcastable_shapes(max_dims=2, max_side=3))
    shape_x = (k,) if draw(st.booleans()) else batch_x + (n, k)
    shape_y = (k,) if draw(st.booleans()) else batch_y + (k, m)
    return OpCase((draw(arrays(shape_x)), draw(arrays(shape_y))), {})


@register_op_inputs("Addmm")
@st.composite
def _addmm(draw: Callable) -> OpCase:
    """2-D x (n, k) and y (k, m); c of shape (n, m), (m,), (1, m) or a scalar broadcasts."""
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    shape_c = draw(st.sampled_from([(n, m), (m,), (1, m), ()]))
    return OpCase((draw(arrays(shape_c)), draw(arrays((n, k))), draw(arrays((k, m)))), {})


def _reduction(distinct: bool) -> Callable:
    @st.composite
    def build(draw: Callable) -> OpCase:
        shape = draw(shapes())
        x = draw(distinct_arrays(shape) if distinct else arrays(shape))
        return OpCase((x,), {"axis": draw(axes(len(shape))), "keepdims": draw(st.booleans())})
    return build


OP_INPUTS["Sum"] = _reduction(distinct=False)
OP_INPUTS["Mean"] = _reduction(distinct=False)
OP_INPUTS["Max"] = _reduction(distinct=True)  # no ties within far more than gradcheck's eps


@register_op_inputs("Reshape")
@st.composite
def _reshape(draw: Callable) -> OpCase:
    shape = draw(shapes())
    dims = list(draw(st.permutations(shape)))
    if draw(st.booleans()):
        dims.insert(draw(st.integers(0, len(dims))), 1)
    if dims and draw(st.booleans()):
        dims[draw(st.integers(0, len(dims) - 1))] = -1
    return OpCase((draw(arrays(shape)),), {"shape": tuple(dims)})


@register_op_inputs("Permute")
@st.composite
def _permute(draw: Callable) -> OpCase:
    shape = draw(shapes())
    order = [a - len(shape) if draw(st.booleans()) else a
             for a in draw(st.permutations(range(len(shape))))]
    return OpCase((draw(arrays(shape)),), {"axes": tuple(order)})


@st.composite
def indices(draw: Callable, shape: tuple[int, ...]) -> Any:
    """A numpy index for `shape`: ints, slices (negative steps too), at most one integer array
    (always with a repeated entry, which must accumulate) or boolean mask."""
    parts: list[Any] = []
    advanced = False
    for size in shape[:draw(st.integers(1, len(shape)))]:
        kind = draw(st.sampled_from(["int", "slice"] if advanced else
                                    ["int", "slice", "array", "mask"]))
        if kind == "int":
            parts.append(draw(st.integers(-size, size - 1)))
        elif kind == "slice":
            bound = st.none() | st.integers(-size, size)
            parts.append(slice(draw(bound), draw(bound), draw(st.sampled_from([None, 1, 2, -1]))))
        elif kind == "array":
            picks = draw(st.lists(st.integers(-size, size - 1), min_size=1, max_size=4))
            parts.append(np.array(picks + picks[:1]))
        else:
            parts.append(np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size))))
        advanced = advanced or kind in ("array", "mask")
    return parts[0] if len(parts) == 1 and draw(st.booleans()) else tuple(parts)


@register_op_inputs("GetItem")
@st.composite
def _getitem(draw: Callable) -> OpCase:
    shape = draw(shapes(min_dims=1))
    return OpCase((draw(arrays(shape)),), {"index": draw(indices(shape))})


@register_op_inputs("IndexAdd")
@st.composite
def _index_add(draw: Callable) -> OpCase:
    shape = draw(shapes(min_dims=1))
    index = draw(indices(shape))
    picked = np.zeros(shape)[index].shape
    return OpCase((draw(arrays(picked)),), {"index": index, "shape": shape})


@register_op_inputs("Expand")
@st.composite
def _expand(draw: Callable) -> OpCase:
    """x of some shape with size-1 axes, expanded along them and along new leading axes."""
    target = draw(shapes(min_dims=0, max_dims=3))
    ones = draw(st.lists(st.booleans(), min_size=len(target), max_size=len(target)))
    lost = draw(st.integers(0, len(target)))
    x_shape = tuple(1 if one else side for one, side in zip(ones, target))[lost:]
    return OpCase((draw(arrays(x_shape)),), {"shape": target})


@register_op_inputs("Stack")
@st.composite
def _stack(draw: Callable) -> OpCase:
    shape = draw(shapes(max_dims=2))
    parts = tuple(draw(arrays(shape)) for _ in range(draw(st.integers(1, 3))))
    return OpCase(parts, {"axis": draw(st.integers(-len(shape) - 1, len(shape)))})


@register_op_inputs("Cat")
@st.composite
def _cat(draw: Callable) -> OpCase:
    shape = list(draw(shapes(min_dims=1, max_dims=3)))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        shape[axis] = draw(st.integers(1, 3))
        parts.append(draw(arrays(tuple(shape))))
    return OpCase(tuple(parts), {"axis": axis})


@register_op_inputs("Unbind")
@st.composite
def _unbind(draw: Callable) -> OpCase:
    shape = draw(shapes(min_dims=1))
    return OpCase((draw(arrays(shape)),), {"axis": draw(st.integers(-len(shape), len(shape) - 1))})


@register_op_inputs("Where")
@st.composite
def _where(draw: Callable) -> OpCase:
    shape_c, shape_x, shape_y = draw(broadcastable_shapes(num_shapes=3))
    cond = draw(hnp.arrays(np.bool_, shape_c))  # a constant: never differentiated
    return OpCase((cond, draw(arrays(shape_x)), draw(arrays(shape_y))), {})


# ------------------------------------------------------------- issue 10's primitives

OP_INPUTS["Sin"] = _unary()
OP_INPUTS["Cos"] = _unary()
OP_INPUTS["Expm1"] = _unary()
OP_INPUTS["Log1p"] = _unary(lambda x: np.asarray(positive(x) - 1, x.dtype))  # x >= -0.5


def _extremum() -> Callable:
    """x on the grid k/2, y on k/2 + 1/4: never a tie (ties are tested exactly elsewhere)."""
    @st.composite
    def build(draw: Callable) -> OpCase:
        shape_x, shape_y = draw(broadcastable_shapes())
        x = np.asarray(np.round(draw(arrays(shape_x)) * 2) / 2)
        y = np.asarray(np.round(draw(arrays(shape_y)) * 2) / 2 + 0.25)
        return OpCase((x, y), {})
    return build


OP_INPUTS["Maximum"] = _extremum()
OP_INPUTS["Minimum"] = _extremum()


@st.composite
def with_zeros(draw: Callable, x: np.ndarray) -> np.ndarray:
    """x with some entries set to exactly 0 (none, one or several): the product ops'
    gradients must be exact there."""
    if x.size == 0 or not draw(st.booleans()):
        return x
    flat = x.reshape(-1).copy()
    for i in draw(st.lists(st.integers(0, x.size - 1), min_size=1, max_size=3)):
        flat[i] = 0.0
    return flat.reshape(x.shape)


@register_op_inputs("Prod")
@st.composite
def _prod(draw: Callable) -> OpCase:
    """Products are linear in each entry, so central differences are exact, zeros included."""
    shape = draw(shapes())
    x = draw(with_zeros(draw(arrays(shape, -1.5, 1.5))))  # |prod| stays moderate
    return OpCase((x,), {"axis": draw(axes(len(shape))), "keepdims": draw(st.booleans())})


def scan_axis(ndim: int) -> st.SearchStrategy[int]:
    """A scan's dim: any axis (maybe negative); 0 or -1 for a 0-d tensor."""
    return st.integers(-max(ndim, 1), max(ndim, 1) - 1)


def _scan(zeros: bool, low: float = -3.0, high: float = 3.0) -> Callable:
    @st.composite
    def build(draw: Callable) -> OpCase:
        shape = draw(shapes())
        x = draw(arrays(shape, low, high))
        x = draw(with_zeros(x)) if zeros else x
        return OpCase((x,), {"axis": draw(scan_axis(len(shape)))})
    return build


OP_INPUTS["Cumsum"] = _scan(zeros=False)
OP_INPUTS["Cumprod"] = _scan(zeros=True, low=-2.0, high=2.0)
OP_INPUTS["LogCumSumExp"] = _scan(zeros=False)


# ---------------------------------------------------------------------- computation graphs

_GRAPH_OPS: dict[str, Callable[..., Tensor]] = {
    # Smooth everywhere, and bounded (|out| <= 2·max|in| or a constant), so any program stays
    # in a range where central differences are accurate.
    "tanh": lambda a: a.tanh(),
    "sigmoid": lambda a: a.sigmoid(),
    "exp_tanh": lambda a: a.tanh().exp(),
    "log1p_sq": lambda a: (a * a + 1.0).log(),
    "neg": lambda a: -a,
    "mean_last": lambda a: a.mean(axis=-1, keepdims=True) if a.ndim else a,
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul_tanh": lambda a, b: a * b.tanh(),
    "div_safe": lambda a, b: a / (b * b + 1.0),
}


@dataclass(frozen=True)
class GraphProgram:
    """A straight-line program over a pool of values: inputs v0..v{n-1}, then one value per
    step. The output sums every value no later step consumed, so all of them reach the loss."""

    n_inputs: int
    steps: tuple[tuple[str, tuple[int, ...]], ...]

    def __call__(self, *inputs: Tensor) -> Tensor:
        pool = list(inputs)
        consumed: set[int] = set()
        for op, operands in self.steps:
            pool.append(_GRAPH_OPS[op](*(pool[i] for i in operands)))
            consumed.update(operands)
        sinks = [v for i, v in enumerate(pool) if i not in consumed]
        out = sinks[0]
        for v in sinks[1:]:
            out = out + v
        return out

    def __repr__(self) -> str:
        lines = [f"v{self.n_inputs + k} = {op}({', '.join(f'v{i}' for i in operands)})"
                 for k, (op, operands) in enumerate(self.steps)]
        return f"GraphProgram({self.n_inputs} inputs; " + "; ".join(lines) + ")"


@st.composite
def computation_graphs(draw: Callable, max_inputs: int = 3, min_steps: int = 2,
                       max_steps: int = 8) -> tuple[GraphProgram, list[np.ndarray]]:
    """A random program with reuse and a guaranteed diamond (the first two steps both read v0),
    and float64 inputs of mutually broadcastable shapes: `(f, inputs)` for gradcheck."""
    n_inputs = draw(st.integers(1, max_inputs))
    input_shapes = draw(broadcastable_shapes(num_shapes=n_inputs, max_dims=2))
    steps = []
    for k in range(draw(st.integers(max(min_steps, 2), max_steps))):
        op = draw(st.sampled_from(sorted(_GRAPH_OPS)))
        arity = _GRAPH_OPS[op].__code__.co_argcount
        pick = st.integers(0, n_inputs + k - 1)
        operands = tuple(0 if (k < 2 and j == 0) else draw(pick) for j in range(arity))
        steps.append((op, operands))
    return GraphProgram(n_inputs, tuple(steps)), [draw(arrays(s)) for s in input_shapes]
