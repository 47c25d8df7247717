"""Folding long graphs: the middle of a long chain of ops becomes one summary node.

Time steps fold by step (see views.build_view). A graph without time-step scopes, or the
scope-less part of one, folds by depth instead: every op gets its longest distance from the
root, the first and last `levels` distinct depths stay, and the ops in between, with the
leaves that feed only them, become one node. A chain of 10^5 ops thus draws as about
2·levels + 1 nodes, whatever its length.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from .trace import GradStat, Graph, Node

CHAIN = "chain"  # the group key of the depth-folded ops


def depths(graph: Graph) -> dict[str, int]:
    """The longest distance of each node from the root (root 0), found without recursion:
    a node is placed once all its consumers are (Kahn's algorithm on the reversed graph).
    Computed once per graph."""
    cached = graph.__dict__.get("_depths")
    if cached is None:
        cached = graph.__dict__["_depths"] = _depths(graph)
    return cached


def _depths(graph: Graph) -> dict[str, int]:
    consumers: dict[str, int] = {}
    parents: dict[str, list[str]] = {}
    for e in graph.edges:
        consumers[e.src] = consumers.get(e.src, 0) + 1
        parents.setdefault(e.dst, []).append(e.src)
    depth = {graph.root: 0}
    ready = deque([graph.root])
    while ready:
        node = ready.popleft()
        for parent in parents.get(node, ()):
            depth[parent] = max(depth.get(parent, 0), depth[node] + 1)
            consumers[parent] -= 1
            if consumers[parent] == 0:
                ready.append(parent)
    return depth


def fold_chain(graph: Graph, keys: dict[str, str], levels: int) -> bool:
    """Fold the ops outside time steps and groups that lie deeper than the first
    `levels` and shallower than the last `levels` of their distinct depths. Changes `keys`
    in place; returns whether anything was folded."""
    if levels < 1:
        raise ValueError(f"chain levels must be >= 1, got {levels}")
    alone = [n for n in graph.nodes
             if n.kind == "op" and n.step is None and keys[n.id] == n.id]
    if not alone:
        return False
    depth = depths(graph)
    distinct = sorted({depth[n.id] for n in alone})
    if len(distinct) <= 2 * levels + 1:
        return False
    low, high = distinct[levels], distinct[-levels - 1]
    for n in alone:
        if low <= depth[n.id] <= high:
            keys[n.id] = CHAIN
    consumers: dict[str, set[str]] = {}
    for e in graph.edges:
        consumers.setdefault(e.src, set()).add(keys[e.dst])
    for n in graph.nodes:  # leaves that feed only folded ops fold with them
        if n.kind != "op" and consumers.get(n.id) == {CHAIN}:
            keys[n.id] = CHAIN
    return True


def grad_range(stats: dict, norm: str) -> dict:
    """The true range of the chosen norm over `stats` ({key: GradStat}):
    {"lo": (key, value), "hi": (key, value), "zero": count, "none": count, "nonfinite": [keys]}.
    "lo" and "hi" range over the finite entries (exact zeros included); None if there are none."""
    finite = {k: s.norm(norm) for k, s in stats.items() if s.state in ("finite", "zero")}
    out: dict[str, Any] = {
        "lo": None, "hi": None, "zero": sum(1 for s in stats.values() if s.state == "zero"),
        "none": sum(1 for s in stats.values() if s.state == "none"),
        "nonfinite": [k for k, s in stats.items() if s.state == "nonfinite"]}
    if finite:
        lo = min(finite, key=lambda k: finite[k])
        hi = max(finite, key=lambda k: finite[k])
        out["lo"], out["hi"] = (lo, finite[lo]), (hi, finite[hi])
    return out


def member_stats(members: list[Node]) -> dict[str, GradStat]:
    """{op id: the gradient at its output} for the op members of a folded group."""
    return {m.id: m.grad for m in members if m.kind == "op"}

