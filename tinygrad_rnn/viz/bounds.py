"""What a view may send to Graphviz, so that every picture stays readable and renders in seconds.

The rules, in order:
1. Time steps. The cell view draws at most `STEP_BUDGET["cell"]` steps, and the op view as many
   as fit in about `OP_WIDTH_PT` (12 steps of the Elman RNN, 4 of an LSTM, 3 of a GRU: each
   step takes RANK_PT per rank of ops); beyond that the first and last `collapse_k` steps
   (fewer, if those would not fit) stay and the middle steps fold into one summary node.
2. Chains. Ops outside any time step fold by depth: the first and last `CHAIN_LEVELS` distinct
   depths stay (see fold.fold_chain), so a graph without time-step scopes stays small too.
3. `max_nodes`. If the view still has more nodes, fewer steps are kept, then the cell level is
   used, then fewer chain levels; if even the smallest view is larger, a ValueError says so.
   max_nodes=None sets no node limit of its own, but rules 1 and 2 still apply.
4. Width. Graphviz scales anything wider than render.MAX_WIDTH_PT down (a safety net).
5. Time. `save` gives `dot` DOT_TIMEOUT seconds and then raises RenderTimeout.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

from .fold import depths
from .trace import Graph
from .views import View, build_view

STEP_BUDGET = {"op": 12, "cell": 40}
OP_WIDTH_PT, RANK_PT = 3500, 80  # measured: a rank of ops takes about 80 pt in the op view
CHAIN_LEVELS = 10
DOT_TIMEOUT = 30.0


class LargeGraphWarning(UserWarning):
    """The requested view was too large, so part of it was folded into summary nodes."""


def ranks_per_step(graph: Graph) -> int:
    """How many ranks (longest-path levels) of ops one time step spans, the widest of the
    first, middle and last step."""
    steps = graph.steps
    if not steps:
        return 1
    depth = depths(graph)
    spans = []
    for t in {steps[0], steps[len(steps) // 2], steps[-1]}:
        at = [depth[n.id] for n in graph.nodes if n.step == t and n.id in depth]
        spans.append(max(at) - min(at) + 1 if at else 1)
    return max(spans)


def step_budget(graph: Graph, base: str, max_steps: int | None) -> int:
    """The most steps a view draws before its middle folds (rule 1)."""
    if max_steps is not None:
        return max_steps
    if base == "cell":
        return STEP_BUDGET["cell"]
    fit = OP_WIDTH_PT // (RANK_PT * ranks_per_step(graph))
    return max(2, min(STEP_BUDGET["op"], fit))


def _attempts(graph: Graph, view: str, collapse_k: int, max_steps: int | None
              ) -> Iterator[tuple[str, int, int, int]]:
    """(view, collapse_k, max_steps, chain_levels) to try, from the most detailed down."""
    base = "cell" if "cell" in view else "op"
    budget = step_budget(graph, base, max_steps)
    if max_steps is None:  # the kept steps must fit too
        collapse_k = max(1, min(collapse_k, budget // 2))
    yield view, collapse_k, budget, CHAIN_LEVELS
    for b in dict.fromkeys((base, "cell")):
        for k in range(collapse_k, 0, -1):
            yield f"collapsed-{b}", k, budget, CHAIN_LEVELS
    for levels in (5, 2, 1):
        yield "collapsed-cell", 1, budget, levels


def choose_view(graph: Graph, view: str, collapse_k: int, max_nodes: int | None,
                max_steps: int | None = None) -> View:
    """The most detailed view of `graph` within the rules above, with a LargeGraphWarning
    whenever something had to fold that the caller did not ask to fold."""
    if max_nodes is not None and max_nodes < 1:
        raise ValueError(f"draw: max_nodes must be >= 1 or None, got {max_nodes}")
    if max_steps is not None and max_steps < 1:
        raise ValueError(f"draw: max_steps must be >= 1 or None, got {max_steps}")
    smallest = None
    attempts = _attempts(graph, view, collapse_k, max_steps)
    for i, (kind, k, budget, levels) in enumerate(attempts):
        shown = build_view(graph, kind, k, budget, levels)
        if smallest is None or len(shown.nodes) < len(smallest.nodes):
            smallest = shown
        if max_nodes is None or len(shown.nodes) <= max_nodes:
            fallback = None if i == 0 else (
                f"max_nodes={max_nodes}: drawn as the {kind} view, {k} steps kept at each end")
            break
    else:
        assert smallest is not None  # _attempts yields at least one view
        raise ValueError(f"draw: even the most folded view has {len(smallest.nodes)} nodes, "
                         f"more than max_nodes={max_nodes}; raise max_nodes or use "
                         "viz.explore(loss) for an interactive view")
    _warn_if_folded(graph, view, shown, fallback)
    return shown


def _warn_if_folded(graph: Graph, view: str, shown: View, fallback: str | None) -> None:
    notes = [fallback] if fallback else []
    if shown.folded is not None and not view.startswith("collapsed"):
        first, last = shown.folded
        notes.append(f"steps {first}..{last} of {len(graph.steps)} are folded into one node")
    if shown.kind.endswith("+chain"):
        chain = next(n for n in shown.nodes if n.id == "chain")
        ops = sum(1 for m in chain.members if m.kind == "op")
        notes.append(f"{ops} ops in the middle of a long chain are folded into one node")
    if notes:
        warnings.warn(f"draw: the {view} view would be too large to read or lay out "
                      f"({'; '.join(notes)}). See every step with viz.explore(loss) "
                      "(interactive HTML, any length), or pass max_steps / max_nodes.",
                      LargeGraphWarning, stacklevel=4)
