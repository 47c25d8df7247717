"""The autograd core: `Function` (a graph node), global recording state, and the backward engine.

A node of the graph is the `Function` instance that produced a tensor (PyTorch's `grad_fn`,
tinygrad's `_ctx`). It holds the parent tensors, what forward saved for backward, and the
scope (time step) it was created in. `backward` walks these nodes in reverse topological order
with an explicit stack, never by recursion, and sums gradients where a tensor is used twice.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import itertools
import operator
import traceback
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from . import buffers
from . import dual as D
from .promotion import promote_arrays, result_dtype, scalar_dtype

if TYPE_CHECKING:
    from .tensor import Tensor


class _State:
    """Process-wide recording state. Read once per op, so they must stay plain attributes.

    The switches (`grad_enabled`, `scope`, `step`, `anomaly`) are written only by the context
    managers below, which save and restore them through `_switched`.
    `modified_at` is the sequence number of the last in-place change made through the library
    (see `mark_modified`); nodes and changes draw their numbers from one clock (`_CLOCK`), so a
    node with `seq < modified_at` may have had something change under it since it was created.
    """

    grad_enabled: bool = True
    scope: str | None = None
    step: int | None = None  # the time step being unrolled (see time_steps); None outside one
    anomaly: bool = False
    modified_at: int = 0
    # Forward mode (func.jvp): id(tensor) -> (tensor, its tangent array); None when off.
    tangents: dict[int, tuple[Any, np.ndarray]] | None = None
    # Inside a backward that builds a graph (create_graph=True): np.asarray() of a tensor that
    # requires grad raises there, since it would silently cut the graph.
    graph_backward: bool = False


STATE = _State()
# Every field as an instance attribute: apply reads several per op, and an instance attribute
# is a cheaper read than a class default found through the instance.
for _field in ("grad_enabled", "scope", "step", "anomaly", "modified_at", "tangents",
               "graph_backward"):
    setattr(STATE, _field, getattr(_State, _field))
_CLOCK = itertools.count(1)  # sequence numbers of nodes and of in-place changes


@contextlib.contextmanager
def _switched(**values: Any) -> Iterator[None]:
    """Set STATE's switches for the block and restore what they were, also when it raises."""
    previous = {name: getattr(STATE, name) for name in values}
    for name, value in values.items():
        setattr(STATE, name, value)
    try:
        yield
    finally:
        for name, value in previous.items():
            setattr(STATE, name, value)


def no_grad() -> contextlib.AbstractContextManager[None]:
    """Record nothing inside the block: results have requires_grad=False and no graph node."""
    return _switched(grad_enabled=False)


def enable_grad() -> contextlib.AbstractContextManager[None]:
    """Re-enable recording inside a `no_grad` block."""
    return _switched(grad_enabled=True)


@contextlib.contextmanager
def scope(name: str) -> Iterator[None]:
    """Tag every node created inside the block with `name` (nested scopes join with '/').

    A scope is a label for display and error messages; it never makes a time step, whatever
    it reads (`scope("t=2")` included): steps come from `time_steps`. The cost is one
    attribute read per op.
    """
    outer = STATE.scope
    with _switched(scope=str(name) if outer is None else f"{outer}/{name}"):
        yield


@contextlib.contextmanager
def time_steps() -> Iterator[Callable[[int], None]]:
    """`with time_steps() as at_step:` … `at_step(t)` marks the nodes created after it as time
    step t of a recurrence: `node.step == t` (the integer the visualization groups by) and
    scope "t={t}" for display, nested under any enclosing scope ("enc/t=3"). One call per
    step, no context manager per step; the cost is one attribute read per op. Scope and step
    are restored when the block ends.
    """
    outer = STATE.scope
    prefix = "" if outer is None else outer + "/"

    def at_step(t: int) -> None:
        t = operator.index(t)
        STATE.scope = f"{prefix}t={t}"
        STATE.step = t

    with _switched(scope=outer, step=STATE.step):
        yield at_step


# ---------------------------------------------------------------------------------------------
# Versions: in-place changes made through the library, checked against what backward saved.
#
# A change is logged against the buffer that owns the memory (the root of numpy's `.base`
# chain), so a change made through any alias or view (detach(), x[0], reshape) counts, as
# PyTorch's shared version counters do. Nodes and changes draw sequence numbers from one
# clock; backward looks at the log only when a change happened since, so the common case
# (forward, backward, then the optimizer step) costs one integer comparison per node.

_CHANGED: dict[int, tuple[Any, int]] = {}  # id(root buffer) -> (weakref to it, change seq)
_PRUNE_AT = [1024]


def _root(array: np.ndarray) -> np.ndarray:
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def mark_modified(tensor: Tensor, replaced: np.ndarray | None = None) -> None:
    """Record an in-place change of `tensor`: of its buffer, or of the buffer `replaced` that an
    assignment to `.data` took away. Bumps `tensor._version` and `STATE.modified_at`."""
    STATE.modified_at = seq = next(_CLOCK)
    tensor._version += 1
    root = _root(tensor._data if replaced is None else replaced)
    if len(_CHANGED) >= _PRUNE_AT[0]:
        for key in [k for k, (ref, _) in _CHANGED.items() if ref() is None]:
            del _CHANGED[key]
        _PRUNE_AT[0] = max(1024, 2 * len(_CHANGED))
    _CHANGED[id(root)] = (weakref.ref(root), seq)


def _check_saved(node: Function) -> None:
    """Raise if a buffer that `node` saved for backward changed in place after it was created."""
    for saved in node.saved_tensors:
        if not isinstance(saved, np.ndarray):
            continue
        root = _root(saved)
        entry = _CHANGED.get(id(root))
        if entry is not None and entry[1] > node.seq and entry[0]() is root:
            raise RuntimeError(_modified_message(node, saved, root))


def _modified_message(node: Function, saved: np.ndarray, root: np.ndarray) -> str:
    where = f"{node.name}" + (f" (scope {node.scope})" if node.scope else "")
    what = "one of its outputs"
    for i, parent in enumerate(node.parents):
        if _root(parent._data) is root:
            label = f" {parent.name!r}" if parent.name else ""
            kind = "a leaf" if parent._ctx is None else f"the output of {parent._ctx.name}"
            what = f"its input {i}, {kind}{label} now at version {parent._version}"
            break
    return (f"backward of {where}: a tensor of shape {saved.shape} that {node.name} saved for "
            f"its gradient ({what}) was modified by an in-place operation after the forward "
            "pass. An optimizer step, an in-place operator (+=, add_, zero_, copy_, ...) or an "
            "assignment to .data between forward and backward changes values the gradient "
            "needs: call backward before the change, or change a copy instead.")


class Function:
    """Base class of every primitive. Subclass it, write static `forward` and `backward`, and
    optionally `jvp`.

    `forward(ctx, *arrays, **attrs)` receives numpy arrays and returns an array (or a tuple of
    arrays for a multi-output op). `backward(ctx, *grads)` receives one gradient per output and
    returns one gradient (or None) per tensor input. Keep values with `ctx.save_for_backward`.
    `jvp(ctx, *tangents)` (forward mode, `func.jvp`) receives the ctx that forward filled and
    one tangent per input (zeros for inputs without one), and returns one tangent per output.
    Call the op with `MyOp.apply(*tensors, **attrs)`.

    Under `create_graph=True` backward receives Tensors (the gradients, and the saved inputs
    and outputs as the graph's own tensors), so it must compute with operators and
    `tinygrad_rnn.dual` functions, not numpy functions; one that cannot gets a clear error.
    """

    __slots__ = ("parents", "needs_input_grad", "saved_tensors", "scope", "step", "seq",
                 "created_at", "__dict__")
    parents: tuple[Any, ...]
    needs_input_grad: tuple[bool, ...]
    saved_tensors: Any  # the tuple save_for_backward stored; None once a backward freed it
    scope: str | None
    seq: int
    created_at: str
    n_outputs = 1
    # Inputs from this index on share one dtype by the promotion table (None: no promotion);
    # n_ary: more than two of them (Addmm, Stack, Cat), so every dtype is compared.
    promote_from: int | None = None
    n_ary: bool = False
    # exact_grads: backward always returns each input's gradient in that input's shape and
    # dtype, so the engine skips its per-edge check (_conform). Only for rules where that is
    # certain: tests/test_ops_grad.py checks every op that claims it, and detect_anomaly does
    # too.
    exact_grads: bool = False
    # takes_outer_sum: on the plain path, backward may receive the engine's factored weight
    # gradient (OuterSum) as is, instead of its matrix (Permute: the transpose of a factored
    # sum is the factored sum with its factors swapped, so W's gradient stays one row-major
    # matmul instead of becoming a column-major view).
    takes_outer_sum: bool = False
    # Per-node state that is rarely set: class-level defaults spare every op these writes.
    out_grad: Any = None
    in_grads: tuple | None = None
    _kept: bool | None = None  # set by a backward that kept node gradients or the graph
    hooks: dict | None = None
    retained: dict | None = None

    if TYPE_CHECKING:  # an op keeps its own per-node values on ctx (ctx.axes, ctx.shape, ...)
        def __getattr__(self, name: str) -> Any: ...
        def __setattr__(self, name: str, value: Any) -> None: ...

    def save_for_backward(self, *arrays: Any) -> None:
        self.saved_tensors = arrays

    @property
    def freed(self) -> bool:
        """Whether a backward without retain_graph went through (its saved values are gone)."""
        return self.saved_tensors is None

    @property
    def grads_kept(self) -> bool | None:
        """None before any backward reached this node; then whether it kept `out_grad` and
        `in_grads` (backward(keep_node_grads=True)). Costs nothing on the plain path: a freed
        node that recorded nothing did not keep them."""
        if self._kept is not None:
            return self._kept
        return False if self.saved_tensors is None else None

    @staticmethod
    def forward(ctx: Function, *args: Any, **attrs: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Function, *grads: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def jvp(ctx: Function, *tangents: Any) -> Any:
        raise NotImplementedError  # (apply reports it, naming the op)

    @property
    def name(self) -> str:
        return type(self).__name__

    @classmethod
    def apply(cls, *inputs: Any, **attrs: Any) -> Any:
        wrap = _WRAP or _bind_tensor_class()
        arrays: list[Any] = []
        needs: list[bool] | tuple[bool, ...]  # gathered, then kept as a tuple
        needs = []
        try:  # a plain loop: measured cheaper than comprehensions or map(attrgetter) here
            for t in inputs:
                arrays.append(t._data)
                needs.append(t.requires_grad)
            tensors = inputs
        except AttributeError:  # a Python number or array operand: the slow path
            tensors, arrays = _to_tensors(cls, inputs, _TENSOR)
            needs = [t.requires_grad for t in tensors]
            if True in needs and cls.promote_from is not None:
                tensors, arrays = _cast_inputs(tensors, arrays)
        else:
            first = cls.promote_from
            if first is not None:  # one dtype identity check per operand; casts on mismatch
                dtype = arrays[-1].dtype
                if arrays[first].dtype is not dtype or (cls.n_ary and (
                        arrays[1].dtype is not dtype if len(arrays) == 3 else  # (Addmm)
                        _mixed(arrays, dtype))):
                    arrays = promote_arrays(arrays, first)
                    if True in needs:
                        tensors, arrays = _cast_inputs(tensors, arrays)
        needs = tuple(needs)
        ctx = cls()
        ctx.saved_tensors = ()
        state = STATE
        tangents = state.tangents
        # forward mode: forward saves what every input's rule needs, for the jvp below
        ctx.needs_input_grad = needs if tangents is None else (True,) * len(needs)
        try:
            out = cls.forward(ctx, *arrays, **attrs)
        except ValueError as e:
            if "broadcast" in str(e):
                raise _broadcast_error(cls, tensors) from None
            raise
        if state.anomaly:
            _check_forward(cls, ctx, tensors, out)
        if not (state.grad_enabled and True in needs):
            result = (tuple(wrap(o, None, 0) for o in out) if type(out) is tuple else
                      wrap(out, None, 0))
        else:
            ctx.parents = tensors
            ctx.scope = state.scope
            ctx.step = state.step
            ctx.seq = next(_CLOCK)
            if type(out) is tuple:
                ctx.n_outputs = len(out)
                result = tuple(wrap(o, ctx, i) for i, o in enumerate(out))
            else:
                result = wrap(out, ctx, 0)
        if tangents is not None:  # (jvp sees every input as needed, as forward did)
            _push_tangents(cls, ctx, tensors, result, tangents)
            ctx.needs_input_grad = needs
        return result

    def __repr__(self) -> str:
        where = f" @ {self.scope}" if getattr(self, "scope", None) else ""
        return f"<{self.name}{where}>"


_TENSOR: Any = None  # tensor.Tensor and its fast constructor, bound on first use (tensor.py
_WRAP: Any = None    # imports this module)


def _bind_tensor_class() -> Callable:
    global _TENSOR, _WRAP
    from .tensor import Tensor

    _TENSOR, _WRAP = Tensor, Tensor._wrap
    return _WRAP


def _cast_inputs(tensors: Any, arrays: list[np.ndarray]) -> tuple[tuple, list[np.ndarray]]:
    """Inputs that promotion converted and that need a gradient go through a `Cast` node, so
    that what the op saves is a tensor of the graph (a second derivative flows through it)."""
    from .ops import Cast

    new = list(tensors)
    for i, (t, a) in enumerate(zip(tensors, arrays)):
        if a.dtype != t._data.dtype and t.requires_grad:
            new[i] = Cast.apply(t, dtype=a.dtype)
            arrays[i] = new[i]._data
    return tuple(new), arrays


def _push_tangents(cls: type[Function], ctx: Function, tensors: Any, result: Any,
                   tangents: dict) -> None:
    """Forward mode: the tangents of this op's outputs, from its inputs' by its jvp rule."""
    entries = [tangents.get(id(t)) for t in tensors]
    carried = tuple(e is not None and e[0] is t for e, t in zip(entries, tensors))
    if True not in carried:
        return  # no input carries a tangent: the outputs' tangents are zero
    dots = [e[1] if c else np.zeros(t.shape, t.dtype)  # type: ignore[index]
            for e, c, t in zip(entries, carried, tensors)]
    ctx.needs_input_grad = carried  # a rule may skip the terms of inputs without a tangent
    if cls.jvp is Function.jvp:
        raise RuntimeError(f"{cls.__name__} has no jvp rule, so forward-mode AD (func.jvp, "
                           f"gradcheck(check_forward_ad=True)) cannot go through it: give "
                           f"{cls.__name__} a static jvp(ctx, *tangents) that returns one tangent "
                           f"per output, or use reverse mode (func.vjp, grad)")
    with _switched(tangents=None):  # the rule's own array arithmetic is not traced
        out_dots = cls.jvp(ctx, *dots)
    outs = result if type(result) is tuple else (result,)
    out_dots = out_dots if type(out_dots) is tuple else (out_dots,)
    if len(out_dots) != len(outs):
        raise RuntimeError(f"{cls.__name__}.jvp returned {len(out_dots)} tangents for "
                           f"{len(outs)} outputs")
    for t, dot in zip(outs, out_dots):
        dot = np.asarray(dot._data if hasattr(dot, "_data") else dot)
        if dot.shape != t.shape:
            try:
                dot = np.broadcast_to(dot, t.shape)
            except ValueError:
                raise RuntimeError(f"{cls.__name__}.jvp returned a tangent of shape {dot.shape} "
                                   f"for an output of shape {t.shape}") from None
        if t.dtype.kind == "f" and dot.dtype != t.dtype:
            dot = dot.astype(t.dtype)
        tangents[id(t)] = (t, dot)


def _mixed(arrays: list, dtype: Any) -> bool:
    for a in arrays:
        if a.dtype is not dtype:
            return True
    return False


def _to_tensors(cls: type[Function], inputs: tuple[Any, ...], tensor_class: type[Tensor]
                ) -> tuple[tuple[Tensor, ...], list[np.ndarray]]:
    """Non-tensor operands -> constant tensors; returns them with the arrays forward gets.

    For an op that promotes (`promote_from`), Python scalars join the promotion as the weakest
    group (a scalar never upcasts a tensor) and become constants of the result dtype; lists and
    ndarrays count as tensors of their own dtype. See promotion.py. For any other op (a user's
    own, say) a constant takes the dtype of the first float tensor operand, so a Python number
    does not upcast a float32 computation either.
    """
    first = cls.promote_from
    if first is None:
        from .tensor import as_tensor

        like = next((x for x in inputs if isinstance(x, tensor_class)), None)
        tensors = tuple(x if isinstance(x, tensor_class) else as_tensor(x, like) for x in inputs)
        return tensors, [t._data for t in tensors]
    datas: list[np.ndarray | None] = []  # an array per operand, None for a Python scalar
    scalars: list[np.dtype] = []
    for i, x in enumerate(inputs):
        if isinstance(x, tensor_class):
            datas.append(x._data)
            continue
        kind = scalar_dtype(x) if i >= first else None
        if kind is None:  # a list or an ndarray: a tensor of its own dtype
            from .tensor import _to_array

            datas.append(_to_array(x, None, False))
        else:
            datas.append(None)
            scalars.append(kind)
    dtype = result_dtype([d for d in datas[first:] if d is not None], scalars)
    constants: list[Tensor] = []
    out: list[np.ndarray] = []
    for i, (x, data) in enumerate(zip(inputs, datas)):
        if data is None:
            data = np.array(x, dtype=dtype)
        if not isinstance(x, tensor_class):
            x = tensor_class._wrap(data, None, 0)
        constants.append(x)
        out.append(data if i < first or data.dtype == dtype else data.astype(dtype))
    return tuple(constants), out


def _broadcast_error(cls: type, tensors: tuple) -> ValueError:
    """numpy's broadcasting message names neither the op nor the tensors; ours names both."""
    shapes = ", ".join(str(t.data.shape) for t in tensors)
    return ValueError(f"{cls.__name__}: shapes {shapes} cannot be broadcast together (numpy "
                      f"broadcasting rules)")


# ---------------------------------------------------------------------------------------------
# Broadcasting is undone in one place for every op: dual.sum_to, called by the engine (_conform).


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...], op: str = "?") -> np.ndarray:
    """Sum `grad` over the axes that broadcasting expanded so that it has `shape`."""
    return D.sum_to(grad, shape, op)


# ---------------------------------------------------------------------------------------------
# A weight gradient summed over time steps, kept as factors until it is needed.


class OuterSum:
    """Σ_i a_iᵀ b_i (a_i: (B_i, K), b_i: (B_i, N)) kept as its factors.

    A weight used at every step of a recurrence receives one gradient a_tᵀ b_t per step
    (h_{t-1}ᵀ δ_t for W). Computing and adding them one by one costs two numpy calls per step
    and an H×H temporary; `Addmm.backward` returns an OuterSum instead, the engine appends the
    factors of every step to one, and `value()` is a single (K, ΣB)·(ΣB, N) matmul, the shape
    of hand-written BPTT. Only the engine sees one: a node's backward receives arrays (or
    Tensors), except that of an op with `takes_outer_sum` (Permute, W.T's node, which passes
    the transpose on as factors; never to a hook or under keep_node_grads). Under
    create_graph the factors are Tensors and `value()` records the concatenations and the
    one matmul, so the second backward also does one matmul, not T.
    """

    __slots__ = ("a", "b", "shape", "dtype", "extra")

    def __init__(self, a: np.ndarray, b: np.ndarray) -> None:
        self.a, self.b = [a], [b]
        self.shape = (a.shape[1], b.shape[1])
        self.dtype = a.dtype
        self.extra: Any = None  # a dense part of the sum, from gradients that were not factors

    def add(self, other: Any) -> OuterSum:
        """self + other (an OuterSum or a dense gradient), still as factors."""
        if type(other) is OuterSum:
            self.a += other.a
            self.b += other.b
            other = other.extra
        if other is not None:  # never in place: a dense gradient may be shared
            self.extra = other if self.extra is None else self.extra + other
        return self

    @property
    def graph(self) -> bool:
        """Whether the factors are Tensors (under create_graph)."""
        return D.is_tensor(self.b[0]) or D.is_tensor(self.a[0])

    def value(self) -> Any:
        total = self._product()
        return total if self.extra is None else total + self.extra

    def transposed(self) -> OuterSum:
        """(Σ a_iᵀ b_i)ᵀ = Σ b_iᵀ a_i, still as factors (this one is not used afterwards)."""
        out = OuterSum.__new__(OuterSum)
        out.a, out.b, out.shape, out.dtype = self.b, self.a, self.shape[::-1], self.dtype
        out.extra = None if self.extra is None else D.transpose(self.extra, (1, 0))
        return out

    def _product(self) -> Any:
        a, b = self.a, self.b
        if self.graph:
            if len(a) == 1:
                return D.matmul(a[0].T, b[0])
            return D.matmul(D.concatenate(a, 0).T, D.concatenate(b, 0))
        if len(self.a) == 1:
            return self.a[0].T.dot(self.b[0])
        rows = sum(x.shape[0] for x in a)
        a_all = np.concatenate(a, out=buffers.empty((rows, self.shape[0]), self.dtype))
        b_all = np.concatenate(b, out=buffers.empty((rows, self.shape[1]), self.dtype))
        return a_all.T.dot(b_all)


def dense(g: Any) -> Any:
    """An OuterSum as its array; anything else unchanged."""
    return g.value() if type(g) is OuterSum else g


# ---------------------------------------------------------------------------------------------
# The backward engine.


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cycle collector inside the block (refcounting still frees everything).

    Building or walking a graph creates no reference cycles, but the collector would still run
    full passes over every live node: backward through 1e5 nodes was 1.6x slower per node than
    through 1e3, and an unrolled forward spent 6% of its time in it at T = 2,000. Backward and
    the recurrent layers' time loops run inside this.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def toposort(*root_ctxs: Function) -> list[Function]:
    """Nodes reachable from the given nodes, parents before children.

    A node is created after the nodes of its inputs, so creation order (`Function.seq`) is a
    topological order. The reachable nodes are collected with an explicit stack, never by
    recursion (an unrolled RNN can be 100,000 nodes deep), then sorted by `seq`.
    """
    seen = set(root_ctxs)
    stack = list(seen)
    while stack:
        for parent in stack.pop().parents:
            pctx = parent._ctx
            if pctx is not None and pctx not in seen:
                seen.add(pctx)
                stack.append(pctx)
    return sorted(seen, key=_SEQ_OF)


_SEQ_OF = operator.attrgetter("seq")
_CACHED_BYTES = buffers.MIN_BYTES


def _key(t: Tensor) -> Any:
    """Where the gradient of `t` is summed: its node (with the output index for a multi-output
    node), or id(t) for a leaf."""
    ctx = t._ctx
    if ctx is None:
        return id(t)
    return ctx if ctx.n_outputs == 1 else (ctx, t._index)


def run_backward(roots: Any, seeds: Any, retain_graph: bool, keep_node_grads: bool = False,
                 create_graph: bool = False, inputs: Any = None) -> dict[Any, Any] | None:
    """Propagate `seeds` (d loss / d root, one per root) back through the graph.

    Gradient buffers are keyed by the producing node (by `(node, index)` for a multi-output
    node, by `id(leaf)` for a leaf) and summed on arrival. A buffer the engine allocated itself
    is summed into in place; one that arrived from an op (it may alias an input, the user's
    `grad` or another gradient) is never mutated.

    keep_node_grads: every node keeps the gradient that reached its output (`out_grad`) and
    the ones it sent to its inputs (`in_grads`), for the pictures. Off, backward drops each
    gradient as soon as it has been passed on.
    create_graph: the seeds and every gradient are Tensors and each node's backward runs on
    Tensors (see `_graph_backward`), recording the graph of the gradient itself.
    inputs: (`grad()`) return {key: gradient} for these tensors, visit only the nodes that lead
    to them, and leave every `.grad` alone. Without it, leaves accumulate into `.grad`.
    """
    grads: dict[Any, Any] = {}
    owned: set = set()
    leaves: dict[int, Tensor] = {}
    wanted = None if inputs is None else {_key(t) for t in inputs}
    captured: dict[Any, Any] = {}
    starts = []
    for root, seed in zip(roots, seeds):
        start = _key(root)
        if root._ctx is None:
            leaves[start] = root
        else:
            starts.append(root._ctx)
        grads[start] = seed if start not in grads else grads[start] + seed
    order = toposort(*starts) if starts else []
    if wanted is not None:
        order = _leading_to(order, wanted)
    outputs = _outputs_of(order, roots) if create_graph else {}
    # plain: a first-order backward that frees the graph and keeps nothing (the training loop)
    plain = not (keep_node_grads or retain_graph or create_graph) and wanted is None
    state = STATE
    with gc_paused(), _pass_caches(create_graph):
        for node in reversed(order):
            if node.n_outputs == 1:  # the common case, without building lists
                g = grads.pop(node, None)
                if g is None:
                    continue
                if wanted is not None and node in wanted:
                    captured[node] = g
                outs: Any = (g.value() if type(g) is OuterSum and not (
                    plain and node.takes_outer_sum) else g,)
            else:
                outs = [dense(grads.pop((node, i), None)) for i in range(node.n_outputs)]
                if all(g is None for g in outs):
                    continue
                if wanted is not None:
                    captured.update(((node, i), g) for i, g in enumerate(outs)
                                    if (node, i) in wanted and g is not None)
            if (node.saved_tensors is None or node.hooks or node.retained
                    or node.seq < state.modified_at):
                outs = _before_backward(node, outs)
            if plain:
                in_grads = node.backward(node, *outs)
                node.saved_tensors = None  # frees what forward saved; also marks it freed
            else:
                in_grads = _node_backward(node, outs, outputs, keep_node_grads, retain_graph,
                                          create_graph)
            if type(in_grads) is not tuple:
                in_grads = (in_grads,)
            if len(in_grads) != len(node.parents) or state.anomaly:
                _check_in_grads(node, in_grads)
            sent: list[Any] | None = [] if keep_node_grads else None
            exact = node.exact_grads
            for parent, g, need in zip(node.parents, in_grads, node.needs_input_grad):
                if g is None or not need:
                    if sent is not None:
                        sent.append(None)
                    continue
                # Pass g on to the parent's buffer (inline: this runs once per graph edge).
                if not exact:
                    data = parent._data
                    if g.shape != data.shape or g.dtype is not data.dtype:
                        g = _conform(node, g, data)
                pctx = parent._ctx
                if pctx is None:
                    key: Any = id(parent)
                    leaves[key] = parent
                elif pctx.n_outputs == 1:
                    key = pctx
                else:
                    key = (pctx, parent._index)
                if sent is not None:  # (before the sum below, which may extend g)
                    sent.append(D.value(dense(g)))
                current = grads.get(key)
                if current is None:
                    grads[key] = g
                elif type(current) is OuterSum:  # a weight's next step: append the factors
                    if type(g) is OuterSum and g.extra is None:  # (inline: once per step)
                        current.a += g.a
                        current.b += g.b
                    else:
                        current.add(g)
                elif type(g) is OuterSum:
                    grads[key] = g.add(current)
                elif create_graph:  # recorded: the sum is part of the new graph
                    grads[key] = current + g
                elif key in owned:
                    current += g
                else:  # a buffer of the engine's own, summed into in place from now on
                    # (transient: it reaches the node below and is dropped; buffers.empty)
                    total = (np.add(current, g, out=buffers.empty(current.shape, current.dtype,
                                                                  True))
                             if current.nbytes >= _CACHED_BYTES else current + g)
                    # (a 0-d sum is a numpy scalar)
                    grads[key] = total if type(total) is np.ndarray else np.asarray(total)
                    owned.add(key)
            if sent is not None:
                node.in_grads = tuple(sent)
    if wanted is not None:
        for key in wanted:
            if key in leaves and key in grads:
                captured[key] = dense(grads.pop(key))
        return captured
    for key, leaf in leaves.items():
        g = grads.pop(key)
        _accumulate_leaf(leaf, dense(g), key in owned or type(g) is OuterSum)
    return None


def _node_backward(node: Function, outs: Any, outputs: dict, keep_node_grads: bool,
                   retain_graph: bool, create_graph: bool) -> Any:
    """One node's backward outside the plain path: keeping its gradients for the pictures,
    keeping the graph, or recording the gradient's own graph (create_graph)."""
    node._kept = keep_node_grads
    if keep_node_grads:
        kept = [None if o is None else D.value(o) for o in outs]
        node.out_grad = kept[0] if node.n_outputs == 1 else tuple(kept)
    in_grads = (_graph_backward(node, outs, outputs) if create_graph else
                node.backward(node, *outs))
    if not retain_graph:
        node.saved_tensors = None
    return in_grads


@contextlib.contextmanager
def _pass_caches(create_graph: bool) -> Iterator[None]:
    """What one backward pass shares between its nodes, dropped when it ends: one transpose
    node per tensor under create_graph (dual.T), the weight layouts of dual.matmul_t."""
    if create_graph:
        D._TRANSPOSES.clear()
    try:
        yield
    finally:
        D.clear_layouts()
        if create_graph:
            D._TRANSPOSES.clear()


def _leading_to(order: list[Function], wanted: set) -> list[Function]:
    """The nodes of `order` (a topological order) from which some wanted tensor can be
    reached: the only ones whose backward `grad()` needs."""
    useful: set = set()
    for node in order:
        for parent in node.parents:
            pctx = parent._ctx
            if (pctx is None and id(parent) in wanted) or (pctx is not None and (
                    pctx in useful or _key(parent) in wanted)):
                useful.add(node)
                break
    return [n for n in order if n in useful or n in wanted or any(
        (n, i) in wanted for i in range(n.n_outputs))]


def _outputs_of(order: list[Function], roots: Any) -> dict[Function, list[Tensor]]:
    """node -> the output tensors of it that the graph holds (as some node's input, or a
    root): the tensors a backward under create_graph receives for the outputs it saved."""
    outputs: dict[Function, list[Tensor]] = {}
    for t in itertools.chain(roots, (p for n in order for p in n.parents)):
        if t._ctx is not None:
            held = outputs.setdefault(t._ctx, [])
            if not any(h is t for h in held):
                held.append(t)
    return outputs


class _Rebound:
    """A node as its backward sees it under create_graph: the node's attributes, with the
    saved arrays replaced by the graph's tensors that hold them (see `_graph_backward`)."""

    __slots__ = ("_node", "saved_tensors")

    def __init__(self, node: Function, saved: tuple) -> None:
        self._node, self.saved_tensors = node, saved

    def __getattr__(self, name: str) -> Any:
        return getattr(self._node, name)


class _CutGraph(RuntimeError):
    """np.asarray() of a tensor that requires grad, inside a backward building a graph."""


def _graph_backward(node: Function, outs: Any, outputs: dict) -> Any:
    """node.backward on Tensors, recording the graph of its result (create_graph=True).

    Each array the node saved is replaced by the tensor of the graph that holds it: one of
    its inputs, or one of its outputs. Anything else it saved (a mask, a shifted max) is a
    constant. The new nodes get the node's scope and time step, so a picture of the derivative
    groups them like the graph they came from. A backward that reaches for numpy on a tensor
    that requires grad, or returns an array, could only give a silently wrong second
    derivative: it raises instead, naming the op.
    """
    if _TENSOR is None:
        _bind_tensor_class()
    held = outputs.get(node, ())
    saved = tuple(_saved_as_tensor(s, node, held) for s in (node.saved_tensors or ()))
    try:
        with _switched(grad_enabled=True, graph_backward=True, scope=node.scope,
                       step=node.step):
            in_grads = node.backward(_Rebound(node, saved), *outs)  # type: ignore[arg-type]
    except (TypeError, AttributeError, _CutGraph) as e:
        raise RuntimeError(
            f"{node.name}.backward cannot build a graph (create_graph=True, grad of grad, "
            f"hvp): under create_graph it receives Tensors and must compute with their "
            f"operators and methods or the tinygrad_rnn.dual functions, not numpy ({e})") from e
    in_grads = in_grads if type(in_grads) is tuple else (in_grads,)
    # (a wrong number of gradients is reported by run_backward, naming the op)
    for i, g in enumerate(in_grads[:len(node.needs_input_grad)]):
        graph = g.graph if type(g) is OuterSum else isinstance(g, _TENSOR)
        if g is not None and not graph and node.needs_input_grad[i]:
            raise RuntimeError(
                f"{node.name}.backward returned a numpy array (not a Tensor) for input {i} "
                f"under create_graph=True, so its gradient would have no graph and a second "
                f"derivative through {node.name} would be silently wrong; compute it from the "
                f"Tensors the backward receives (operators, tinygrad_rnn.dual)")
    return in_grads


def _saved_as_tensor(saved: Any, node: Function, held: Any) -> Any:
    if isinstance(saved, np.generic):
        # a 0-d result that numpy gave as a scalar (x / y of 0-d arrays): the node's output
        # became a 0-d array of it when it was wrapped, so identity is lost; match by value
        for t in held:
            if t._data.shape == () and np.array_equal(t._data, saved, equal_nan=True):
                return t
        return saved
    if type(saved) is not np.ndarray:
        return saved
    for t in itertools.chain(node.parents, held):
        if t._data is saved:
            return t
    return _TENSOR._wrap(saved, None, 0) if saved.dtype.kind == "f" else saved


def _before_backward(node: Function, outs: Any) -> Any:
    """The rare cases before a node's backward: freed, possibly changed in place, hooked."""
    if node.saved_tensors is None:
        raise RuntimeError(
            f"backward through {node.name}{' at ' + node.scope if node.scope else ''} a second "
            "time: its saved values were freed by the first backward. Pass retain_graph=True "
            "to the first backward if you need to call it again.")
    if node.seq < STATE.modified_at and node.saved_tensors:
        _check_saved(node)
    if node.hooks or node.retained:
        outs = _run_output_hooks(node, [dense(g) for g in outs])
    return outs


def _check_in_grads(node: Function, in_grads: tuple) -> None:
    if len(in_grads) != len(node.parents):
        raise RuntimeError(f"{node.name}.backward returned {len(in_grads)} gradients for "
                           f"{len(node.parents)} inputs")
    if STATE.anomaly:
        _check_backward(node, in_grads)


def _conform(node: Function, g: Any, data: np.ndarray) -> Any:
    """`g` summed back to the parent's shape (undoing broadcasting) and cast to its dtype."""
    g = dense(g)
    if g.shape != data.shape:
        g = D.sum_to(g if D.is_tensor(g) else np.asarray(g), data.shape, node.name)
    if g.dtype != data.dtype:
        g = D.cast(g, data.dtype)
    return g


def _run_output_hooks(node: Function, outs: list) -> list:
    outs = list(outs)
    for i, g in enumerate(outs):
        if g is None:
            continue
        for hook in (node.hooks or {}).get(i, ()):
            g = _call_hook(hook, g, functools.partial(_describe_output, node, i, g.shape))
        outs[i] = g
        ref = (node.retained or {}).get(i)
        tensor = ref() if ref is not None else None
        if tensor is not None:
            tensor.grad = (g if D.is_tensor(g) else g.copy()) if tensor.grad is None else (
                tensor.grad + g)
    return outs


def _call_hook(hook: Any, g: np.ndarray, tensor: Any) -> np.ndarray:
    """`hook(g)`: None keeps g; a Tensor or an array of g's shape replaces it. A wrong shape is
    the hook's fault, so the error names the hook and the tensor (`tensor()` describes it)."""
    replaced = hook(g)
    if replaced is None:
        return g
    if _TENSOR is None:
        _bind_tensor_class()
    graph = D.is_tensor(g)  # under create_graph: a Tensor the hook may compute with
    new = (replaced if graph and isinstance(replaced, _TENSOR) else
           np.asarray(replaced._data if isinstance(replaced, _TENSOR) else replaced))
    if new.shape != g.shape:
        name = getattr(hook, "__qualname__", None) or repr(hook)
        raise RuntimeError(f"hook {name} registered on {tensor()} returned a gradient of shape "
                           f"{new.shape}, but the gradient must keep the tensor's shape "
                           f"{g.shape}; return None or an array of shape {g.shape}")
    if graph and not isinstance(new, _TENSOR):
        new = _TENSOR._wrap(new, None, 0)
    return new if new.dtype == g.dtype else D.cast(new, g.dtype)


def _describe_output(node: Function, index: int, shape: tuple) -> str:
    """'the tensor 'h' of shape (2, 3) produced by Tanh (scope t=3)' for a hook's error."""
    ref = (node.retained or {}).get(index)
    tensor = ref() if ref is not None else None
    label = f" {tensor.name!r}" if tensor is not None and tensor.name else ""
    which = f" (output {index})" if node.n_outputs > 1 else ""
    return (f"the tensor{label} of shape {shape} produced by {_describe(node.name, node.scope)}"
            f"{which}")


def _accumulate_leaf(leaf: Tensor, g: np.ndarray, owned: bool = False) -> None:
    for hook in leaf._hooks or ():
        owned = False  # the hook may keep a reference to g
        g = _call_hook(hook, g, lambda: "the leaf tensor" + (f" {leaf.name!r}" if leaf.name else "")
                       + f" of shape {leaf.shape}")
    if D.is_tensor(g):  # create_graph: .grad holds the gradient as a Tensor with its graph
        leaf.grad = g if leaf.grad is None else leaf.grad + g
    elif leaf.grad is None and owned and g.dtype == leaf.data.dtype:
        leaf.grad = g  # the engine's own buffer: adopting it saves a copy
    elif leaf.grad is None:
        leaf.grad = np.array(g, dtype=leaf.data.dtype)  # a copy: the engine owns .grad
    else:
        leaf.grad += g


# ---------------------------------------------------------------------------------------------
# Anomaly detection: name the first op whose forward or backward produced NaN or Inf.


class AnomalyError(RuntimeError):
    """Raised inside `detect_anomaly()` by the first op that produced a NaN or an Inf."""


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
    """Check every op's forward output and backward gradients for NaN/Inf inside the block.

    The error names the op, its scope (time step) and the line of user code that created it.
    It is slow (a finiteness check and a stack capture per op), so use it to locate a problem.
    """
    with _switched(anomaly=True):
        yield


_CORE_FILES = ("/autograd.py", "/tensor.py", "/ops.py", "/functional.py")


def _user_frame() -> str:
    """Where the op was created: the innermost frame outside tinygrad_rnn (the user's line),
    plus the innermost library layer above the engine core (e.g. nn/rnn.py) when there is one.
    Under the command line every frame is inside the package, so the layer line is the answer.
    """
    layer = None
    for frame in reversed(traceback.extract_stack()[:-3]):
        path = frame.filename.replace("\\", "/")
        inside = "/tinygrad_rnn/" in path
        if not inside or "/tinygrad_rnn/cli/" in path:
            here = f"{frame.filename}:{frame.lineno} in {frame.name}: {frame.line}"
            return here + (f" (via {layer})" if layer else "")
        if layer is None and not path.endswith(_CORE_FILES):
            short = path[path.rindex("/tinygrad_rnn/") + 1:]
            layer = f"{short}:{frame.lineno} in {frame.name}: {frame.line}"
    return layer or "<inside tinygrad_rnn>"


def _describe(op: str, scope: str | None) -> str:
    return f"{op}" + (f" (scope {scope})" if scope else "")


def _check_forward(cls: type, ctx: Function, tensors: tuple, out: Any) -> None:
    ctx.created_at = _user_frame()
    arrays = out if type(out) is tuple else (out,)
    if any(np.issubdtype(a.dtype, np.floating) and not np.all(np.isfinite(a)) for a in arrays):
        inputs_ok = all(np.all(np.isfinite(t.data)) for t in tensors
                        if np.issubdtype(t.data.dtype, np.floating))
        if inputs_ok:
            raise AnomalyError(f"forward of {_describe(cls.__name__, STATE.scope)} produced "
                               f"NaN/Inf from finite inputs; created at {ctx.created_at}")


def _check_backward(node: Function, in_grads: tuple) -> None:
    for i, (g, parent) in enumerate(zip(in_grads, node.parents)):
        if node.exact_grads and g is not None and (g.shape != parent.shape
                                                   or g.dtype != parent.dtype):
            raise RuntimeError(f"{node.name}.backward claims exact_grads but returned a "
                               f"gradient of shape {g.shape} and dtype {g.dtype} for input "
                               f"{i} of shape {parent.shape} and dtype {parent.dtype}")
        if g is not None and not np.all(np.isfinite(D.value(dense(g)))):
            where = getattr(node, "created_at", "<unknown: created outside detect_anomaly>")
            raise AnomalyError(f"backward of {_describe(node.name, node.scope)} produced NaN/Inf "
                               f"in the gradient of input {i}; the op was created at {where}")


# ---------------------------------------------------------------------------------------------
# torch.autograd.grad


def _as_tuple(x: Any, what: str) -> tuple:
    if _TENSOR is None:
        _bind_tensor_class()
    items = (x,) if isinstance(x, _TENSOR) else tuple(x)
    for i, t in enumerate(items):
        if not isinstance(t, _TENSOR):
            raise TypeError(f"grad: {what} must be Tensors, got {type(t).__name__} at position {i}")
    return items


def _seeds(outputs: tuple, grad_outputs: Any, create_graph: bool) -> list:
    """One cotangent per output: ones for a one-element output when none is given."""
    given = [None] * len(outputs) if grad_outputs is None else (
        [grad_outputs] if isinstance(grad_outputs, _TENSOR) or not isinstance(
            grad_outputs, (list, tuple)) else list(grad_outputs))
    if len(given) != len(outputs):
        raise ValueError(f"grad: {len(given)} grad_outputs for {len(outputs)} outputs")
    seeds = []
    for i, (out, g) in enumerate(zip(outputs, given)):
        if g is None:
            if out.numel() != 1:
                raise RuntimeError(f"grad: grad can be implicitly created only for one-element "
                                   f"outputs, but output {i} has shape {out.shape}; pass "
                                   f"grad_outputs")
            g = np.ones_like(out._data)
        data = g._data if isinstance(g, _TENSOR) else np.asarray(g, dtype=out.dtype)
        if data.shape != out.shape:
            raise RuntimeError(f"grad: grad_outputs[{i}] has shape {data.shape} but output {i} "
                               f"has shape {out.shape}")
        if create_graph:
            seeds.append(g if isinstance(g, _TENSOR) else _TENSOR._wrap(data, None, 0))
        else:
            seeds.append(data.astype(out.dtype, copy=False))
    return seeds


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple:
    """The gradients of `outputs` with respect to `inputs`, as torch.autograd.grad.

    Returns one Tensor per input (its `.grad` is left alone). `grad_outputs` are the
    cotangents (ones for one-element outputs when omitted). With create_graph=True the
    gradients record their own graph, so they can be differentiated again, to any order;
    retain_graph defaults to create_graph. An input that the outputs do not depend on is an
    error, or None with allow_unused=True.
    """
    outputs = _as_tuple(outputs, "outputs")
    inputs = _as_tuple(inputs, "inputs")
    if not inputs:
        raise ValueError("grad: no inputs to differentiate with respect to")
    for i, out in enumerate(outputs):
        if not out.requires_grad:
            raise RuntimeError(f"grad: output {i} (shape {out.shape}) does not require grad and "
                               f"has no graph")
    for i, x in enumerate(inputs):
        if not x.requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {x.shape}) does not require grad; "
                               f"create it with requires_grad=True")
    retain = create_graph if retain_graph is None else retain_graph
    seeds = _seeds(outputs, grad_outputs, create_graph)
    found = run_backward(outputs, seeds, retain, create_graph=create_graph, inputs=inputs) or {}
    result: list[Any] = []
    for i, x in enumerate(inputs):
        g = dense(found.get(_key(x)))
        if g is None:
            if not allow_unused:
                label = f" {x.name!r}" if x.name else ""
                raise RuntimeError(f"grad: input {i}{label} (shape {x.shape}) was not used to "
                                   f"compute the outputs, so it has no gradient; pass "
                                   f"allow_unused=True to get None for it")
            result.append(None)
            continue
        if not isinstance(g, _TENSOR):
            g = _TENSOR._wrap(np.array(g, dtype=x.dtype), None, 0)
        elif g.shape != x.shape or g.dtype != x.dtype:
            g = _conform_input(g, x)
        result.append(g)
    return tuple(result)


def _conform_input(g: Any, x: Any) -> Any:
    if g.shape != x.shape:
        g = D.sum_to(g, x.shape, "grad")
    return D.cast(g, x.dtype)
