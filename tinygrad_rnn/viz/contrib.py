"""Per-step contributions to shared parameters: ∂E/∂W = Σ_t (the part that flowed in from step t).

A parameter used in every step receives one gradient per use; the engine sums them into `.grad`.
Here the gradients that arrived along each edge into the parameter are bucketed by the time step
of the op that used it. Uses outside any step go to a bucket named after their scope ("input",
"output") or "other". If the parameter first passes through a step-less linear op (a `W.T`
hoisted out of the loop), the buckets at that op's output are pulled back through its backward,
which is linear, so the buckets still sum to `.grad` (up to float rounding).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import unbroadcast
from .rows import edges_of, row_parts
from .trace import Edge, Graph, Node, trace

# Ops whose backward is linear in g and needs no saved tensors, so it can be re-run per bucket.
PASS_THROUGH = {"Permute", "Reshape", "Neg", "Sum", "Mean", "GetItem", "Add", "Sub"}

Bucket = Any  # an int time step, or a scope name / "other"


def bucket_of(node: Node) -> Bucket:
    if node.step is not None:
        return node.step
    return node.scope if node.scope else "other"


def _is_pass_through(node: Node, source: str, graph_in: dict[str, list[Edge]]) -> bool:
    """A step-less linear op whose only gradient-carrying input comes from `source`."""
    if node.kind != "op" or node.step is not None or node.op not in PASS_THROUGH:
        return False
    if node.n_outputs != 1:
        return False
    carrying = [e for e in graph_in.get(node.id, ()) if e.array is not None]
    return len(carrying) == 1 and carrying[0].src == source


def _pull_back(node: Node, g: np.ndarray, slot: int) -> np.ndarray:
    fn = node.fn
    grads = type(fn).backward(fn, g)
    grads = grads if isinstance(grads, tuple) else (grads,)
    parent = fn.parents[slot]
    out = np.asarray(grads[slot])
    if out.shape != parent.shape:
        out = unbroadcast(out, parent.shape, node.op)
    return out.astype(parent.dtype, copy=False)


def _add(buckets: dict, key: Bucket, g: np.ndarray) -> None:
    buckets[key] = g.copy() if key not in buckets else buckets[key] + g


def _add_use(graph: Graph, buckets: dict, user: Node, e: Edge) -> None:
    """The gradient `user` sent along e, in the user's bucket, or split by the time step of
    each row when the user is a hoisted op over all steps (see rows.py)."""
    parts = row_parts(graph, user, e.slot) if user.step is None else None
    if parts is None:
        _add(buckets, bucket_of(user), np.asarray(e.array))
        return
    for step, g in parts.items():
        _add(buckets, step, g)


def param_contributions(graph: Graph, node: Node) -> dict[Bucket, np.ndarray]:
    """Buckets {step or scope: gradient} that sum to the gradient of the leaf `node`."""
    edges = edges_of(graph)
    out_edges, in_edges = edges.out, edges.into
    # The region: the parameter plus the chain of pass-through ops it feeds (breadth-first,
    # so every op comes after the node that feeds it and reversed order is safe to fold).
    region, seen = [node.id], {node.id}
    i = 0
    while i < len(region):
        for e in out_edges.get(region[i], ()):
            dst = graph.by_id[e.dst]
            if e.dst not in seen and _is_pass_through(dst, region[i], in_edges):
                seen.add(e.dst)
                region.append(e.dst)
        i += 1
    at_output: dict[str, dict[Bucket, np.ndarray]] = {}
    for node_id in reversed(region):
        buckets: dict[Bucket, np.ndarray] = {}
        for e in out_edges.get(node_id, ()):
            if e.array is None:
                continue
            if e.dst in seen:
                for key, g in at_output[e.dst].items():
                    _add(buckets, key, _pull_back(graph.by_id[e.dst], g, e.slot))
            else:
                _add_use(graph, buckets, graph.by_id[e.dst], e)
        at_output[node_id] = buckets
    return _sorted(at_output[node.id])


def _sorted(buckets: dict[Bucket, np.ndarray]) -> dict[Bucket, np.ndarray]:
    steps = sorted(k for k in buckets if isinstance(k, int))
    others = sorted(k for k in buckets if not isinstance(k, int))
    return {k: buckets[k] for k in steps + others}


def step_contributions(source: Any, params: Any = None) -> dict[str, dict[Bucket, np.ndarray]]:
    """{parameter name: {time step or scope: its part of ∂E/∂param}} for every parameter leaf.

    source: a traced `Graph` or the tensor that backward was called on (traced here).
    The parts of one parameter sum to its `.grad` when `.grad` was zero before the backward.
    """
    graph = source if isinstance(source, Graph) else trace(source, params)
    params_ = graph.params()
    counts: dict[str, int] = {}
    for n in params_:
        counts[n.op] = counts.get(n.op, 0) + 1
    return {(n.op if counts[n.op] == 1 else f"{n.op}#{n.id}"): param_contributions(graph, n)
            for n in params_}
