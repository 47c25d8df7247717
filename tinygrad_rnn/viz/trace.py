"""Walk the graph behind a tensor (iteratively) into a neutral, JSON-exportable description.

A `Graph` has one `Node` per graph node (`Function`) and per leaf tensor, and one `Edge` per
(parent tensor -> consuming op) pair. After `backward` every op node knows the gradient that
arrived at its output (`Function.out_grad`) and every edge the gradient that flowed along it
(`Function.in_grads`), both kept by `loss.backward(keep_node_grads=True)`; before backward
both are missing, which is its own state, not zero. A graph whose backward ran without
keeping them cannot be traced (a clear error, never "not computed yet").
Node ids are assigned in breadth-first order from the root, so the same graph gives the same ids.
"""

from __future__ import annotations

import json
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..tensor import Tensor

NORMS = ("l2", "rms", "max")
STATES = ("none", "zero", "finite", "nonfinite")  # not computed yet / exactly 0 / finite / NaN-Inf


@dataclass(frozen=True)
class GradStat:
    """Summary of one or more gradient arrays: L2 norm, element count, max |g|, finiteness.

    Stats of several arrays combine as if the arrays were concatenated (`a | b`).
    """

    present: bool = False
    l2: float = 0.0
    size: int = 0
    maxabs: float = 0.0
    finite: bool = True

    @classmethod
    def of(cls, array: Any) -> GradStat:
        if array is None:
            return cls()
        a = np.asarray(array, dtype=np.float64).ravel()
        if a.size == 0:
            return cls(True, 0.0, 0, 0.0, True)
        maxabs = float(np.abs(a).max())  # NaN and Inf propagate through max
        if not math.isfinite(maxabs):
            return cls(True, math.nan, int(a.size), math.inf, False)
        if maxabs == 0.0:
            return cls(True, 0.0, int(a.size), 0.0, True)
        if 1e-150 < maxabs < 1e150:
            l2 = math.sqrt(float(np.dot(a, a)))
        else:  # rescale so that squaring cannot overflow or underflow
            r = a / maxabs
            l2 = maxabs * math.sqrt(float(np.dot(r, r)))
        return cls(True, l2, int(a.size), maxabs, True)

    def __or__(self, other: GradStat) -> GradStat:
        if not other.present:
            return self
        if not self.present:
            return other
        return GradStat(True, math.hypot(self.l2, other.l2), self.size + other.size,
                        max(self.maxabs, other.maxabs), self.finite and other.finite)

    @property
    def state(self) -> str:
        if not self.present:
            return "none"
        if not self.finite:
            return "nonfinite"
        return "zero" if self.maxabs == 0.0 else "finite"

    def norm(self, kind: str = "l2") -> float | None:
        """The chosen norm ("l2", "rms" or "max"); None when no gradient was computed."""
        if kind not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {kind!r}")
        if not self.present:
            return None
        if not self.finite:
            return math.nan
        if kind == "l2":
            return self.l2
        if kind == "rms":
            return self.l2 / math.sqrt(self.size) if self.size else 0.0
        return self.maxabs

    def to_dict(self) -> dict[str, Any]:
        norms = {k: self.norm(k) for k in NORMS} if self.present else None
        return {"state": self.state, "norms": norms, "size": self.size}


def combine(stats: Any) -> GradStat:
    total = GradStat()
    for s in stats:
        total = total | s
    return total


_DTYPE_NAMES: dict = {}


def _dtype_name(dtype: Any) -> str:
    """str(dtype), cached: numpy builds the name anew each time, which dominates big traces."""
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = str(dtype)
    return name


def value_stats(array: np.ndarray) -> dict[str, float] | None:
    """min / mean / max of a value array (None for an empty one)."""
    a = np.asarray(array)
    if a.size == 0 or a.dtype.kind not in "biuf":
        return None
    return {"min": float(a.min()), "mean": float(a.mean()), "max": float(a.max())}


@dataclass
class Node:
    """One graph node: an op (kind "op") or a leaf ("param" needs a gradient, "input" does not)."""

    id: str
    kind: str
    op: str
    shape: tuple[int, ...]
    dtype: str
    scope: str | None
    step: int | None
    grad: GradStat
    value: dict[str, float] | None = None
    n_outputs: int = 1
    fn: Any = field(default=None, repr=False, compare=False)  # the Function (ops) or the Tensor

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "op": self.op, "shape": list(self.shape),
                "dtype": self.dtype, "scope": self.scope, "step": self.step,
                "n_outputs": self.n_outputs, "value": self.value, "grad": self.grad.to_dict()}


@dataclass
class Edge:
    """Data flows src -> dst (output `out_index` of src is input `slot` of dst); the gradient
    that backward sent back along it is summarised in `grad` and kept raw in `array`."""

    src: str
    dst: str
    slot: int
    out_index: int
    grad: GradStat
    array: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"src": self.src, "dst": self.dst, "slot": self.slot,
                "out_index": self.out_index, "grad": self.grad.to_dict()}


@dataclass
class Graph:
    """The traced graph: nodes in breadth-first order from the root (nodes[0])."""

    nodes: list[Node]
    edges: list[Edge]
    root: str

    def __post_init__(self) -> None:
        self.by_id = {n.id: n for n in self.nodes}

    @property
    def steps(self) -> list[int]:
        return sorted({n.step for n in self.nodes if n.step is not None})

    def params(self) -> list[Node]:
        return [n for n in self.nodes if n.kind == "param"]

    def to_dict(self) -> dict[str, Any]:
        return {"root": self.root, "nodes": [n.to_dict() for n in self.nodes],
                "edges": [e.to_dict() for e in self.edges]}

    def to_json(self, indent: int | None = None) -> str:
        """The graph as JSON; non-finite floats become the strings "nan", "inf", "-inf"."""
        return json.dumps(_json_safe(self.to_dict()), indent=indent)


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_json_safe(v) for v in obj]
    return obj


# ---------------------------------------------------------------------------------- tracing


def param_names(params: Any = None) -> dict[int, str]:
    """id(tensor) -> name, from a {name: tensor} dict or a Module (its named_parameters())."""
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        params = dict(params.named_parameters())
    if not isinstance(params, dict):
        raise TypeError(f"trace: params must be a dict of name -> Tensor or a Module, got "
                        f"{type(params).__name__}")
    return {id(t): str(name) for name, t in params.items()}


def _leaf_node(tensor: Tensor, node_id: str, names: dict[int, str]) -> Node:
    kind = "param" if tensor.requires_grad else "input"
    name = names.get(id(tensor)) or tensor.name or kind
    grad = GradStat.of(tensor.grad) if tensor.requires_grad else GradStat()
    return Node(node_id, kind, name, tuple(tensor.shape), str(tensor.dtype), None, None, grad,
                value_stats(tensor.data), 1, tensor)


def _op_node(fn: Any, node_id: str) -> Node:
    outs = fn.out_grad if isinstance(fn.out_grad, tuple) else (fn.out_grad,)
    return Node(node_id, "op", fn.name, (), "", fn.scope, fn.step,
                combine(GradStat.of(g) for g in outs), None, fn.n_outputs, fn)


_NOT_KEPT = ("trace: backward already ran through this graph ({op} and the rest) without keeping "
             "the gradients of its nodes, so they cannot be drawn. Run the forward again and "
             "call loss.backward(keep_node_grads=True) before viz.draw / viz.trace (or draw "
             "before any backward to see the graph without gradients).")


def trace(tensor: Tensor, params: Any = None) -> Graph:
    """The graph behind `tensor` as a `Graph`, walked breadth-first with an explicit queue.

    params: optional {name: tensor} or Module, so that leaves get their names (U, W, V).
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"trace: expected a Tensor, got {type(tensor).__name__}")
    names = param_names(params)
    walk = _Walk(names)
    root_key = walk.key(tensor)
    walk.visit(tensor)
    walk.record_value(tensor)
    while walk.queue:
        fn = walk.queue.popleft()
        if fn.grads_kept is False:
            raise RuntimeError(_NOT_KEPT.format(op=fn.name))
        dst = walk.ids[id(fn)]
        in_grads = fn.in_grads or ()
        for slot, parent in enumerate(fn.parents):
            src = walk.visit(parent)
            walk.record_value(parent)
            g = in_grads[slot] if slot < len(in_grads) else None
            walk.edges.append(Edge(src, dst, slot, parent._index, GradStat.of(g), g))
    walk.finish_values()
    return Graph(walk.nodes, walk.edges, walk.ids[root_key])


class _Walk:
    """Bookkeeping of one trace: ids by object identity, value stats per op output."""

    def __init__(self, names: dict[int, str]) -> None:
        self.names = names
        self.ids: dict[int, str] = {}
        self.nodes: list[Node] = []
        self.edges: list[Edge] = []
        self.queue: deque = deque()
        self.values: dict[str, list] = {}  # node id -> [min, sum, count, max, {index: shape}]

    @staticmethod
    def key(t: Tensor) -> int:
        return id(t._ctx) if t._ctx is not None else id(t)

    def visit(self, t: Tensor) -> str:
        key = self.key(t)
        node_id = self.ids.get(key)
        if node_id is None:
            node_id = self.ids[key] = f"n{len(self.nodes)}"
            if t._ctx is None:
                self.nodes.append(_leaf_node(t, node_id, self.names))
            else:
                self.nodes.append(_op_node(t._ctx, node_id))
                self.queue.append(t._ctx)
        return node_id

    def record_value(self, t: Tensor) -> None:
        if t._ctx is None:
            return
        acc = self.values.setdefault(self.ids[id(t._ctx)], [math.inf, 0.0, 0, -math.inf, {}])
        if t._index in acc[4]:
            return
        acc[4][t._index] = (tuple(t.shape), _dtype_name(t.dtype))
        a = t.data
        if a.size and a.dtype.kind in "biuf":
            acc[0] = min(acc[0], float(a.min()))
            acc[1] += float(a.sum())
            acc[2] += a.size
            acc[3] = max(acc[3], float(a.max()))

    def finish_values(self) -> None:
        for node in self.nodes:
            acc = self.values.get(node.id)
            if acc is None:
                continue
            shapes = [acc[4][i] for i in sorted(acc[4])]
            node.shape, node.dtype = shapes[0][0], shapes[0][1]
            if acc[2]:
                node.value = {"min": acc[0], "mean": acc[1] / acc[2], "max": acc[3]}
