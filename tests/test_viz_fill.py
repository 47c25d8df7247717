"""A node's fill is decided once: the view computes the statistic (VNode.fill), the renderer
only maps it to a style."""

from __future__ import annotations

from tinygrad_rnn.viz import build_view, elman_example, to_dot, trace
from tinygrad_rnn.viz.colors import LogColormap, fmt, node_style
from tinygrad_rnn.viz.render import Painter
from tinygrad_rnn.viz.trace import NORMS


def test_the_view_holds_the_fill_statistic_of_every_node_for_every_norm():
    model, E = elman_example(steps=12, hidden=3)
    view = build_view(trace(E, model), "collapsed", collapse_k=2)
    folds = [v for v in view.nodes if v.kind == "fold"]
    assert folds, "a collapsed view of 12 steps has a fold"
    for v in view.nodes:
        assert set(v.fill) == set(NORMS), f"{v.id} has fill for {sorted(v.fill)}"
        if v.kind != "fold":
            assert all(s is v.grad for s in v.fill.values()), f"{v.id}: fill is not its grad"
    for norm in NORMS:
        values = sorted(s.norm(norm) for s in folds[0].per_step.values())
        assert folds[0].fill[norm].norm(norm) == values[len(values) // 2], f"{norm}: not median"


def test_the_painter_maps_the_views_fill_statistic_and_computes_none_of_its_own():
    model, E = elman_example(steps=12, hidden=3)
    view = build_view(trace(E, model), "collapsed", collapse_k=2)
    cmap = LogColormap(1e-4, 1e1)
    for norm in NORMS:
        painter = Painter(view, cmap, norm, {}, {})
        for v in view.nodes:
            if v.kind != "input":
                want = node_style(v.fill[norm], cmap, norm)["fillcolor"]
                assert painter.style(v)["fillcolor"] == want, f"{v.id} ({v.kind}), {norm}"


def test_the_drawn_folds_tooltip_names_the_fill_the_view_chose():
    model, E = elman_example(steps=12, hidden=3)
    dot = to_dot(E, params=model, view="collapsed", collapse_k=2)
    view = build_view(trace(E, model), "collapsed", collapse_k=2)
    fold = next(v for v in view.nodes if v.kind == "fold")
    assert f"fill: the median, {fmt(fold.fill['l2'].norm('l2'))}" in dot
