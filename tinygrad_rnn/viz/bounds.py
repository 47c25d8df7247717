"""What a view may send to Graphviz, so that every picture stays readable and renders in seconds.

The rules, in order:
1. Time steps. The op view draws at most `STEP_BUDGET["op"]` steps and the cell view at most
   `STEP_BUDGET["cell"]` (about 3,000 pt wide either way); beyond that the first and last
   `collapse_k` steps stay and the middle steps fold into one summary node.
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

from .trace import Graph
from .views import View, build_view

STEP_BUDGET = {"op": 12, "cell": 40}
CHAIN_LEVELS = 10
DOT_TIMEOUT = 30.0


class LargeGraphWarning(UserWarning):
    """The requested view was too large, so part of it was folded into summary nodes."""


def _attempts(view: str, collapse_k: int, max_steps: int | None):
    """(view, collapse_k, max_steps, chain_levels) to try, from the most detailed down."""
    base = "cell" if "cell" in view else "op"
    budget = STEP_BUDGET[base] if max_steps is None else max_steps
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
    for i, (kind, k, budget, levels) in enumerate(_attempts(view, collapse_k, max_steps)):
        shown = build_view(graph, kind, k, budget, levels)
        if smallest is None or len(shown.nodes) < len(smallest.nodes):
            smallest = shown
        if max_nodes is None or len(shown.nodes) <= max_nodes:
            fallback = None if i == 0 else (
                f"max_nodes={max_nodes}: drawn as the {kind} view, {k} steps kept at each end")
            break
    else:
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
