"""Which time step each row of a hoisted op belongs to, so that U, b, V and c split by step too.

The RNNs apply U, b (all inputs at once) and V, c (all hidden states at once) with one matmul
over T·B rows, outside any time step. Row r of such an op belongs to the step whose slice it
becomes (the input side: the rows go through reshapes into an `Unbind` whose slice i feeds step
t_i) or whose state it came from (the output side: a `Stack` of h_1 … h_T, then a reshape).
The ops between are pure data movement, so pushing labels through their own backward (which is
linear and needs no saved tensors) tells where each element went, in both directions.

`row_parts` then splits the gradient an op sent to one input by those rows:
MatMul's ∂/∂y = Σ_r x_rᵀ g_r, a broadcast bias's ∂/∂b = Σ_r g_r, so the parts sum exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import unbroadcast
from .trace import Edge, Graph, Node

MOVES = {"Reshape", "Permute", "Add", "Sub"}  # ops a label passes through unchanged (slot 0)


class _Edges:
    def __init__(self, graph: Graph) -> None:
        self.out: dict[str, list[Edge]] = {}
        self.into: dict[str, list[Edge]] = {}
        for e in graph.edges:
            self.out.setdefault(e.src, []).append(e)
            self.into.setdefault(e.dst, []).append(e)


def edges_of(graph: Graph) -> _Edges:
    """The edges of `graph` by source and by destination, built once per graph."""
    cached = graph.__dict__.get("_edges_by_node")
    if cached is None:
        cached = graph.__dict__["_edges_by_node"] = _Edges(graph)
    return cached


def _backward(node: Node, *grads: Any) -> tuple:
    out = type(node.fn).backward(node.fn, *grads)
    return out if isinstance(out, tuple) else (out,)


def _steps_below(graph: Graph, edges: _Edges, op: Node) -> np.ndarray | None:
    """Input side: follow op's output through MOVES ops to an Unbind and label every element
    of op's output by the step of the slice it became (-1: no single step)."""
    path, node = [], op  # path: (node, the input slot the labels leave it by)
    while node.op != "Unbind":
        outs = edges.out.get(node.id, ())
        if len(outs) != 1:
            return None
        nxt, slot = graph.by_id[outs[0].dst], outs[0].slot
        if nxt.step is not None or nxt.op not in MOVES | {"Unbind"}:
            return None
        if nxt.op == "Sub" and slot == 1:  # its backward negates: labels would not survive
            return None
        path.append((nxt, slot))
        node = nxt
    consumers: dict[int, set] = {}
    for e in edges.out.get(node.id, ()):
        consumers.setdefault(e.out_index, set()).add(graph.by_id[e.dst].step)
    pieces = []
    for i in range(node.n_outputs):
        steps = consumers.get(i, {None})
        step = next(iter(steps)) if len(steps) == 1 else None
        pieces.append(np.full(_out_shape(node, i), -1.0 if step is None else float(step)))
    labels = _backward(node, *pieces)[path[-1][1]]
    for n, slot in reversed(path[:-1]):
        labels = _backward(n, labels)[slot]
    return labels


def _out_shape(unbind: Node, i: int) -> tuple:
    fn = unbind.fn
    g = fn.out_grad[i] if isinstance(fn.out_grad, tuple) else None
    return np.shape(g) if g is not None else tuple(unbind.shape)


def _steps_above(graph: Graph, edges: _Edges, op: Node) -> np.ndarray | None:
    """Output side: op's data input (MatMul's x, Addmm's x after its bias c) comes from a
    Stack of step outputs through MOVES ops; label every row of that input by the step that
    produced it (or None)."""
    into = {e.slot: e for e in edges.into.get(op.id, ())}
    data = 1 if op.op == "Addmm" else 0
    if data not in into:
        return None
    path, node = [], graph.by_id[into[data].src]
    while node.op != "Stack":
        if node.kind != "op" or node.step is not None or node.op not in ("Reshape", "Permute"):
            return None
        path.append(node)
        parents = edges.into.get(node.id, ())
        if len(parents) != 1:
            return None
        node = graph.by_id[parents[0].src]
    shape = np.shape(op.fn.parents[data].data)
    if len(shape) != 2:
        return None
    rows = np.broadcast_to(np.arange(shape[0], dtype=np.float64)[:, None], shape).copy()
    for n in path:
        rows = _backward(n, rows)[0]
    slices = _backward(node, rows)
    step_of_row = np.full(shape[0], -1.0)
    for e in edges.into.get(node.id, ()):
        producer = graph.by_id[e.src].step
        if producer is not None:
            step_of_row[np.unique(slices[e.slot]).astype(int)] = producer
    return step_of_row


def row_steps(graph: Graph, op: Node, edges: _Edges | None = None) -> np.ndarray | None:
    """The time step of every row of op's (2-D) output, or None if it cannot be told."""
    if op.kind != "op" or op.step is not None or op.fn is None or op.n_outputs != 1:
        return None
    edges = edges or edges_of(graph)
    out = op.fn.out_grad
    if out is None or np.ndim(out) != 2:
        return None
    steps = _rows_of(_steps_below(graph, edges, op), np.shape(out))
    if steps is None and op.op in ("MatMul", "Addmm"):
        steps = _steps_above(graph, edges, op)
    if steps is None and op.op in ("Add", "Sub"):  # a bias added to a hoisted matmul's rows
        first = next((e for e in edges.into.get(op.id, ()) if e.slot == 0), None)
        source = graph.by_id[first.src] if first is not None else None
        if source is not None and source.kind == "op" and source.op in ("MatMul", "Addmm"):
            steps = row_steps(graph, source, edges)
    if steps is None or len(steps) != np.shape(out)[0] or np.any(steps < 0):
        return None
    return steps.astype(int)


def _rows_of(labels: np.ndarray | None, shape: tuple) -> np.ndarray | None:
    """One label per row, if all the labelled elements of each row agree. Unlabelled ones
    (-1) went into a slice that nothing used, so their gradient is zero wherever they count."""
    if labels is None or np.shape(labels) != shape or 0 in shape:
        return None
    labels = np.where(np.asarray(labels) < 0, np.nan, labels)
    if np.isnan(labels).all(axis=1).any():
        return None
    low, high = np.nanmin(labels, axis=1), np.nanmax(labels, axis=1)
    return low if np.array_equal(low, high) else None


def row_parts(graph: Graph, op: Node, slot: int, edges: _Edges | None = None
              ) -> dict[int, np.ndarray] | None:
    """{step: its part of the gradient op sent to input `slot`}, or None if op's rows do not
    map to steps or the op is not one whose input gradient is a sum over rows."""
    steps = row_steps(graph, op, edges)
    if steps is None:
        return None
    fn, g = op.fn, np.asarray(op.fn.out_grad)
    parent = fn.parents[slot]
    if op.op == "MatMul" and slot == 1 or op.op == "Addmm" and slot == 2:
        x = np.asarray(fn.parents[slot - 1].data)
        if x.ndim != 2 or parent.ndim != 2:
            return None

        def part(rows: np.ndarray) -> np.ndarray:  # ∂/∂y of Σ_r x_r y is Σ_r x_rᵀ g_r
            return x[rows].T @ g[rows]
    elif (op.op in ("Add", "Sub") or op.op == "Addmm" and slot == 0) and (
            parent.ndim < 2 or parent.shape[0] == 1):
        sign = -1.0 if op.op == "Sub" and slot == 1 else 1.0

        def part(rows: np.ndarray) -> np.ndarray:  # a bias broadcast over the rows
            return sign * unbroadcast(g[rows], parent.shape, op.op)
    else:
        return None
    order = np.argsort(steps, kind="stable")
    labels, starts = np.unique(steps[order], return_index=True)
    ends = list(starts[1:]) + [len(order)]
    return {int(t): np.asarray(part(order[a:b]), dtype=parent.dtype)
            for t, a, b in zip(labels, starts, ends)}
