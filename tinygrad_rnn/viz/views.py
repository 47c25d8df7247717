"""Views of a traced graph: every primitive ("op"), one node per time step ("cell"), or long
sequences folded in the middle ("collapsed"). A view maps graph nodes to display nodes; nodes
that map to the same display node are merged and the edges between groups are merged too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .contrib import PASS_THROUGH
from .fold import CHAIN, fold_chain, member_stats
from .trace import NORMS, Edge, GradStat, Graph, Node, combine

VIEWS = ("op", "cell", "collapsed")


@dataclass
class VNode:
    """A display node. kind: op | param | input | cell | scope | fold."""

    id: str
    kind: str
    label: str
    sub: str
    cluster: int | None  # the time step whose cluster holds the node (None: outside)
    grad: GradStat  # what the fill colour shows: the gradient at the node's output(s)
    grad_in: GradStat | None = None  # groups: the gradient they sent back to their inputs
    members: list[Node] = field(default_factory=list, repr=False)
    per_step: dict[int, GradStat] | None = None  # fold: the gradient at each folded step's outputs
    fill: dict[str, GradStat] = field(default_factory=dict)  # norm -> what the fill shows


@dataclass
class VEdge:
    src: str
    dst: str
    grad: GradStat
    count: int = 1  # how many graph edges were merged into this one


@dataclass
class View:
    kind: str  # the view actually drawn: "op", "cell", "collapsed-op" or "collapsed-cell"
    nodes: list[VNode]
    edges: list[VEdge]
    steps: list[int]  # every time step of the graph
    folded: tuple[int, int] | None = None  # first and last folded step
    hidden: dict[str, list[str]] = field(default_factory=dict)  # node id -> folded-in constants

    def clusters(self) -> list[int]:
        """The time steps drawn as clusters, in order along the spine."""
        return sorted({n.cluster for n in self.nodes if n.cluster is not None})


def is_hidden(node: Node) -> bool:
    """Scalar constants (the ½ in E, a literal 2.0) are folded into their consumer's tooltip."""
    return node.kind == "input" and int(np.prod(node.shape)) <= 1


def group_key(node: Node, base: str, fold: tuple[int, int] | None) -> str:
    """The display node a graph node belongs to."""
    if node.kind != "op":
        return node.id
    if fold is not None and node.step is not None and fold[0] <= node.step <= fold[1]:
        return "fold"
    if base == "cell":
        if node.step is not None:
            return f"cell{node.step}"
        if node.scope:
            return "scope_" + "".join(c if c.isalnum() else "_" for c in node.scope)
    return node.id


def build_view(graph: Graph, view: str = "op", collapse_k: int = 3, max_steps: int | None = None,
               chain_levels: int | None = None) -> View:
    """The display graph of `graph` for `view` ("op", "cell", "collapsed" = collapsed op view,
    or "collapsed-cell"). Folding keeps the first and last `collapse_k` steps; the op and
    cell views fold too when they have more than `max_steps` steps (None: never).
    chain_levels: fold the ops outside any group by depth, keeping that many levels at each
    end (see fold.fold_chain; None: never)."""
    if view not in VIEWS + ("collapsed-op", "collapsed-cell"):
        raise ValueError(f"view must be one of {VIEWS + ('collapsed-cell',)}, got {view!r}")
    base = "cell" if view in ("cell", "collapsed-cell") else "op"
    steps = graph.steps
    fold = None
    if collapse_k < 1:
        raise ValueError(f"collapse_k must be >= 1, got {collapse_k}")
    too_long = max_steps is not None and len(steps) > max_steps
    if (view.startswith("collapsed") or too_long) and len(steps) > 2 * collapse_k + 1:
        fold = (steps[collapse_k], steps[-collapse_k - 1])
    kind = base if fold is None else f"collapsed-{base}"
    keys = {n.id: group_key(n, base, fold) for n in graph.nodes}
    if base == "cell":
        _absorb_glue(graph, keys)
    if chain_levels is not None and fold_chain(graph, keys, chain_levels):
        kind += "+chain"
    groups: dict[str, list[Node]] = {}
    for n in graph.nodes:
        if not is_hidden(n):
            groups.setdefault(keys[n.id], []).append(n)
    out = View(kind, [], [], steps, fold)
    adj = _Adjacency(graph, keys)
    out.nodes = [_display_node(key, members, adj) for key, members in groups.items()]
    if fold is not None:
        per_step = step_stats(graph)
        for v in out.nodes:
            if v.kind == "fold":
                v.per_step = {t: s for t, s in per_step.items() if fold[0] <= t <= fold[1]}
    for v in out.nodes:
        v.fill = {norm: fill_stat(v, norm) for norm in NORMS}
    out.edges = _merge_edges(graph, keys)
    for e in graph.edges:
        src = graph.by_id[e.src]
        if is_hidden(src):
            out.hidden.setdefault(keys[e.dst], []).append(_const_text(src))
    return out


def fill_stat(v: VNode, norm: str) -> GradStat:
    """The one statistic a display node's fill shows: the gradient at its output(s); for the
    folded middle, the median step by `norm` (the first NaN/Inf step if there is one)."""
    if v.kind != "fold":
        return v.grad
    stats = list((v.per_step or member_stats(v.members)).values())
    if not stats:
        return v.grad
    bad = [s for s in stats if s.state == "nonfinite"]
    if bad:
        return bad[0]
    stats.sort(key=lambda s: s.norm(norm) or 0.0)
    return stats[len(stats) // 2]


def _const_text(node: Node) -> str:
    value = node.value["mean"] if node.value else "?"
    return f"constant {value:g}" if isinstance(value, float) else "constant"


def _absorb_glue(graph: Graph, keys: dict[str, str]) -> None:
    """Cell level: a scope-less linear op of one parameter (a hoisted `W.T`) joins the
    parameter, and a scope-less op between a scope group and the steps (the `unbind` of the
    input projection) joins that group, so neither becomes a hub node of its own."""
    into: dict[str, list[Edge]] = {}
    out: dict[str, list[Edge]] = {}
    for e in graph.edges:
        into.setdefault(e.dst, []).append(e)
        out.setdefault(e.src, []).append(e)
    for n in reversed(graph.nodes):  # breadth-first from the root: producers come later
        if n.kind != "op" or n.scope is not None or keys[n.id] != n.id:
            continue
        sources = {keys[e.src] for e in into.get(n.id, ()) if graph.by_id[e.src].kind != "input"}
        if len(sources) != 1:
            continue
        (source,) = sources
        to_steps = all(graph.by_id[e.dst].step is not None for e in out.get(n.id, ()))
        param = graph.by_id.get(source)
        if param is not None and param.kind == "param" and n.op in PASS_THROUGH:
            keys[n.id] = source
        elif source.startswith("scope_") and to_steps:
            keys[n.id] = source


class _Adjacency:
    """Edges by source and by destination, and each node's group key."""

    def __init__(self, graph: Graph, keys: dict[str, str]) -> None:
        self.graph, self.keys = graph, keys
        self.out: dict[str, list[Edge]] = {}
        self.into: dict[str, list[Edge]] = {}
        for e in graph.edges:
            self.out.setdefault(e.src, []).append(e)
            self.into.setdefault(e.dst, []).append(e)


def _display_node(key: str, members: list[Node], adj: _Adjacency) -> VNode:
    head = adj.graph.by_id.get(key)
    if head is not None:  # a node of its own, perhaps with absorbed glue ops (W and its Wᵀ)
        sub = "×".join(map(str, head.shape)) if head.shape else "scalar"
        rest = [m for m in members if m is not head]
        return VNode(head.id, head.kind, head.op, sub, head.step, head.grad, None, [head] + rest)
    exits, entries = _boundary(key, members, adj)
    grad_out = combine(adj.graph.by_id[i].grad for i in exits) if exits else combine(
        m.grad for m in members)
    grad_in = combine(e.grad for e in entries)
    if key == CHAIN:
        ops = sum(1 for m in members if m.kind == "op")
        return VNode(key, "fold", "ops folded", f"{ops} ops in a chain", None, grad_out, grad_in,
                     members)
    if key == "fold":
        steps = [m.step for m in members if m.step is not None]  # (all of them: a fold is of steps)
        first, last = min(steps), max(steps)
        return VNode(key, "fold", f"t={first} … t={last}", f"{last - first + 1} steps folded",
                     None, grad_out, grad_in, members)
    if key.startswith("cell"):
        step = members[0].step
        return VNode(key, "cell", f"t={step}", f"{len(members)} ops", None, grad_out, grad_in,
                     members)
    scope = next((m.scope for m in members if m.scope), "other")
    return VNode(key, "scope", scope, f"{len(members)} ops", None, grad_out, grad_in, members)


def _boundary(key: str, members: list[Node], adj: _Adjacency) -> tuple[list[str], list[Edge]]:
    """Members whose output leaves the group, and the non-parameter edges entering it."""
    keys, by_id = adj.keys, adj.graph.by_id
    exits = [m.id for m in members if any(keys[e.dst] != key for e in adj.out.get(m.id, ()))]
    def from_state(e: Edge) -> bool:  # not a parameter, nor an op absorbed into one (Wᵀ)
        group = by_id.get(keys[e.src])
        return by_id[e.src].kind == "op" and (group is None or group.kind == "op")
    entries = [e for m in members for e in adj.into.get(m.id, ())
               if keys[e.src] != key and from_state(e)]
    return exits, entries


def _merge_edges(graph: Graph, keys: dict[str, str]) -> list[VEdge]:
    """One display edge per (group, group) pair. Gradients that reached the same tensor are
    summed first (they accumulate there); different tensors combine as if concatenated."""
    merged: dict[tuple[str, str], dict[tuple[str, int], list[Edge]]] = {}
    for e in graph.edges:
        if is_hidden(graph.by_id[e.src]):
            continue
        pair = (keys[e.src], keys[e.dst])
        if pair[0] == pair[1]:
            continue
        merged.setdefault(pair, {}).setdefault((e.src, e.out_index), []).append(e)
    edges = []
    for (src, dst), by_tensor in merged.items():
        stats, count = [], 0
        for group in by_tensor.values():
            count += len(group)
            stats.append(group[0].grad if len(group) == 1 else _summed(group))
        edges.append(VEdge(src, dst, combine(stats), count))
    return edges


def _summed(group: list[Edge]) -> GradStat:
    arrays = [e.array for e in group if e.array is not None]
    if not arrays:
        return GradStat()
    total = np.array(arrays[0], dtype=np.float64)
    for a in arrays[1:]:
        total = total + a
    return GradStat.of(total)


def step_stats(graph: Graph) -> dict[int, GradStat]:
    """The gradient at the outputs of each time step (for an RNN: ‖∂E/∂h_t‖)."""
    keys = {n.id: group_key(n, "cell", None) for n in graph.nodes}
    exits: dict[int, dict[str, GradStat]] = {}
    for e in graph.edges:
        src = graph.by_id[e.src]
        if src.step is not None and keys[e.dst] != keys[e.src]:
            exits.setdefault(src.step, {})[src.id] = src.grad
    return {t: combine(exits[t].values()) for t in sorted(exits)}
