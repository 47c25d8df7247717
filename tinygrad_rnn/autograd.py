"""The autograd core: `Function` (a graph node), global recording state, and the backward engine.

A node of the graph is the `Function` instance that produced a tensor (PyTorch's `grad_fn`,
tinygrad's `_ctx`). It holds the parent tensors, what forward saved for backward, and the
scope (time step) it was created in. `backward` walks these nodes in reverse topological order
with an explicit stack, never by recursion, and sums gradients where a tensor is used twice.
"""

from __future__ import annotations

import contextlib
import traceback
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

if TYPE_CHECKING:
    from .tensor import Tensor


class _State:
    """Process-wide recording switches. Read once per op, so they must stay plain attributes."""

    grad_enabled: bool = True
    scope: str | None = None
    anomaly: bool = False


STATE = _State()


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Record nothing inside the block: results have requires_grad=False and no graph node."""
    previous = STATE.grad_enabled
    STATE.grad_enabled = False
    try:
        yield
    finally:
        STATE.grad_enabled = previous


@contextlib.contextmanager
def enable_grad() -> Iterator[None]:
    """Re-enable recording inside a `no_grad` block."""
    previous = STATE.grad_enabled
    STATE.grad_enabled = True
    try:
        yield
    finally:
        STATE.grad_enabled = previous


@contextlib.contextmanager
def scope(name: str) -> Iterator[None]:
    """Tag every node created inside the block with `name` (nested scopes join with '/').

    The RNN uses it to mark time steps (`"t=3"`) and the renderer groups nodes by it. The cost
    is one attribute read per op.
    """
    previous = STATE.scope
    STATE.scope = str(name) if previous is None else f"{previous}/{name}"
    try:
        yield
    finally:
        STATE.scope = previous


class Function:
    """Base class of every primitive. Subclass it, write static `forward` and `backward`.

    `forward(ctx, *arrays, **attrs)` receives numpy arrays and returns an array (or a tuple of
    arrays for a multi-output op). `backward(ctx, *grads)` receives one gradient per output and
    returns one gradient (or None) per tensor input. Keep values with `ctx.save_for_backward`.
    Call the op with `MyOp.apply(*tensors, **attrs)`.
    """

    __slots__ = ("parents", "needs_input_grad", "saved_tensors", "scope", "freed",
                 "out_grad", "in_grads", "hooks", "retained", "created_at", "__dict__")
    n_outputs = 1

    def save_for_backward(self, *arrays: Any) -> None:
        self.saved_tensors = arrays

    @staticmethod
    def forward(ctx: Function, *args: Any, **attrs: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Function, *grads: Any) -> Any:
        raise NotImplementedError

    @property
    def name(self) -> str:
        return type(self).__name__

    @classmethod
    def apply(cls, *inputs: Any, **attrs: Any) -> Any:
        from .tensor import Tensor, as_tensor

        like = next((x for x in inputs if isinstance(x, Tensor)), None)
        tensors = tuple(x if isinstance(x, Tensor) else as_tensor(x, like) for x in inputs)
        needs = tuple(t.requires_grad for t in tensors)
        ctx = cls()
        ctx.saved_tensors = ()
        ctx.needs_input_grad = needs
        record = STATE.grad_enabled and True in needs
        out = cls.forward(ctx, *[t.data for t in tensors], **attrs)
        if STATE.anomaly:
            _check_forward(cls, ctx, tensors, out)
        if not record:
            if type(out) is tuple:
                return tuple(Tensor._wrap(o, None, 0) for o in out)
            return Tensor._wrap(out, None, 0)
        ctx.parents = tensors
        ctx.scope = STATE.scope
        ctx.freed = False
        ctx.out_grad = None
        ctx.in_grads = None
        ctx.hooks = None
        ctx.retained = None
        if type(out) is tuple:
            ctx.n_outputs = len(out)
            return tuple(Tensor._wrap(o, ctx, i) for i, o in enumerate(out))
        return Tensor._wrap(out, ctx, 0)

    def __repr__(self) -> str:
        where = f" @ {self.scope}" if getattr(self, "scope", None) else ""
        return f"<{self.name}{where}>"


# ---------------------------------------------------------------------------------------------
# Broadcasting is undone here, once, for every op.


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...], op: str = "?") -> np.ndarray:
    """Sum `grad` over the axes that broadcasting expanded so that it has `shape`."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0:
        raise RuntimeError(f"{op}.backward returned a gradient of shape {grad.shape} for an "
                           f"input of shape {shape}")
    axes = list(range(extra))
    for i, size in enumerate(shape):
        if size == 1 and grad.shape[extra + i] != 1:
            axes.append(extra + i)
        elif size != grad.shape[extra + i]:
            raise RuntimeError(f"{op}.backward returned a gradient of shape {grad.shape}, which "
                               f"does not reduce to the input's shape {shape}")
    return grad.sum(axis=tuple(axes)).reshape(shape)


# ---------------------------------------------------------------------------------------------
# The backward engine.


def toposort(root_ctx: Function) -> list[Function]:
    """Nodes reachable from `root_ctx`, parents before children, by an explicit-stack DFS."""
    order: list[Function] = []
    visited = {id(root_ctx)}
    stack: list[tuple[Function, Iterator]] = [(root_ctx, iter(root_ctx.parents))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            pctx = parent._ctx
            if pctx is not None and id(pctx) not in visited:
                visited.add(id(pctx))
                stack.append((pctx, iter(pctx.parents)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


class _Grads:
    """Gradient buffers keyed by (node, output index) or by leaf tensor, summed on arrival.

    A buffer the engine allocated itself is summed into in place; a buffer that arrived from an
    op (which may alias an input, the user's `grad`, or another gradient) is never mutated.
    """

    __slots__ = ("values", "owned", "leaves")

    def __init__(self) -> None:
        self.values: dict[Any, np.ndarray] = {}
        self.owned: set[Any] = set()
        self.leaves: dict[int, Tensor] = {}

    def add(self, key: Any, grad: np.ndarray) -> None:
        values = self.values
        current = values.get(key)
        if current is None:
            values[key] = grad
        elif key in self.owned:
            current += grad
        else:
            values[key] = current + grad
            self.owned.add(key)

    def pop(self, key: Any) -> np.ndarray | None:
        self.owned.discard(key)
        return self.values.pop(key, None)


def run_backward(root: Tensor, grad: np.ndarray, retain_graph: bool) -> None:
    """Propagate `grad` (d loss / d root) to every leaf that requires a gradient."""
    grads = _Grads()
    if root._ctx is None:
        grads.leaves[id(root)] = root
        grads.add(id(root), grad)
    else:
        grads.add((id(root._ctx), root._index), grad)
        for node in reversed(toposort(root._ctx)):
            _backward_node(node, grads, retain_graph)
    for key, leaf in grads.leaves.items():
        _accumulate_leaf(leaf, grads.pop(key))


def _backward_node(node: Function, grads: _Grads, retain_graph: bool) -> None:
    n_out = node.n_outputs
    outs = [grads.pop((id(node), i)) for i in range(n_out)]
    if all(g is None for g in outs):
        return
    if node.freed:
        raise RuntimeError(
            f"backward through {node.name}{' at ' + node.scope if node.scope else ''} a second "
            "time: its saved values were freed by the first backward. Pass retain_graph=True "
            "to the first backward if you need to call it again.")
    if node.hooks or node.retained:
        outs = _run_output_hooks(node, outs)
    node.out_grad = outs[0] if n_out == 1 else tuple(outs)
    in_grads = type(node).backward(node, *outs)
    if type(in_grads) is not tuple:
        in_grads = (in_grads,)
    if len(in_grads) != len(node.parents):
        raise RuntimeError(f"{node.name}.backward returned {len(in_grads)} gradients for "
                           f"{len(node.parents)} inputs")
    if STATE.anomaly:
        _check_backward(node, in_grads)
    shaped = []
    for parent, g, needed in zip(node.parents, in_grads, node.needs_input_grad):
        if g is None or not needed:
            shaped.append(None)
            continue
        if g.shape != parent.data.shape:
            g = unbroadcast(np.asarray(g), parent.data.shape, node.name)
        if g.dtype != parent.data.dtype:
            g = g.astype(parent.data.dtype)
        shaped.append(g)
        pctx = parent._ctx
        if pctx is None:
            grads.leaves[id(parent)] = parent
            grads.add(id(parent), g)
        else:
            grads.add((id(pctx), parent._index), g)
    node.in_grads = tuple(shaped)
    if not retain_graph:
        node.saved_tensors = None
        node.freed = True


def _run_output_hooks(node: Function, outs: list) -> list:
    outs = list(outs)
    for i, g in enumerate(outs):
        if g is None:
            continue
        for hook in (node.hooks or {}).get(i, ()):
            replaced = hook(g)
            if replaced is not None:
                g = np.asarray(replaced)
        outs[i] = g
        ref = (node.retained or {}).get(i)
        tensor = ref() if ref is not None else None
        if tensor is not None:
            tensor.grad = g.copy() if tensor.grad is None else tensor.grad + g
    return outs


def _accumulate_leaf(leaf: Tensor, g: np.ndarray) -> None:
    for hook in leaf._hooks or ():
        replaced = hook(g)
        if replaced is not None:
            g = np.asarray(replaced)
    if g.shape != leaf.data.shape:
        raise RuntimeError(f"a hook on a tensor of shape {leaf.data.shape} returned a gradient "
                           f"of shape {g.shape}")
    if leaf.grad is None:
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
    previous = STATE.anomaly
    STATE.anomaly = True
    try:
        yield
    finally:
        STATE.anomaly = previous


def _user_frame() -> str:
    for frame in reversed(traceback.extract_stack()[:-3]):
        if "/tinygrad_rnn/" not in frame.filename.replace("\\", "/"):
            return f"{frame.filename}:{frame.lineno} in {frame.name}: {frame.line}"
    return "<inside tinygrad_rnn>"


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
    for i, g in enumerate(in_grads):
        if g is not None and not np.all(np.isfinite(g)):
            where = getattr(node, "created_at", "<unknown: created outside detect_anomaly>")
            raise AnomalyError(f"backward of {_describe(node.name, node.scope)} produced NaN/Inf "
                               f"in the gradient of input {i}; the op was created at {where}")
