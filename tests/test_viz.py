"""The unfolded-graph picture: tracing, DOT structure, colours, views, contributions, rendering."""

from __future__ import annotations

import json
import re
import time
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_rnn import Tensor, nn
from tinygrad_rnn.functional import squared_error
from tinygrad_rnn.viz import (
    GradStat,
    GraphvizNotFound,
    LargeGraphWarning,
    LogColormap,
    build_view,
    draw,
    elman_example,
    render_unrolled,
    save,
    step_contributions,
    to_dot,
    trace,
)
from tinygrad_rnn.viz.colors import luminance, node_style


def clusters(dot: str) -> list[str]:
    return re.findall(r"subgraph (cluster_\w+)", dot)


def node_lines(dot: str, label_word: str) -> list[str]:
    return [line for line in dot.splitlines()
            if "->" not in line and re.search(rf"<B>{label_word}</B>", line)]


# ------------------------------------------------------------------------------- the trace


def test_trace_takes_the_step_from_the_node_and_never_from_a_scope_named_t_equals_n():
    from tinygrad_rnn import scope
    x = Tensor(np.ones((1, 1)), requires_grad=True)
    with scope("t=2"):  # a user's label that only reads like a time step
        y = (x * 2).sum()
    with scope("encoder"):
        hs, _ = nn.RNN(1, 2, seed=0)(x.reshape(1, 1, 1) * np.ones((3, 1, 1)))
    graph = trace(y + hs.sum())
    user = [n for n in graph.nodes if n.scope == "t=2"]
    assert user and all(n.step is None for n in user), "scope('t=2') must not make a time step"
    assert graph.steps == [0, 1, 2]
    assert {n.scope for n in graph.nodes if n.step == 1} == {"encoder/t=1"}


def test_trace_before_backward_marks_every_gradient_not_computed():
    model = nn.ElmanRNN(3, 4, 2, seed=0)
    ys, _ = model(np.ones((4, 1, 3)))
    E = squared_error(ys, np.zeros((4, 1, 2)))
    graph = trace(E, model)
    states = {n.grad.state for n in graph.nodes if n.kind != "input"}
    assert states == {"none"}, f"before backward every gradient must be 'none', got {states}"
    assert graph.steps == [0, 1, 2, 3]


def test_trace_records_node_and_edge_gradients_and_exports_json():
    model, E = elman_example(steps=4, hidden=3)
    graph = trace(E, model)
    assert graph.nodes[0].id == "n0" and graph.root == "n0"
    assert graph.nodes[0].grad.norm("l2") == pytest.approx(1.0), "dE/dE must be 1"
    names = sorted(n.op for n in graph.params())
    assert names == ["U", "V", "W", "b", "c"], names
    assert all(e.grad.state != "none" for e in graph.edges
               if graph.by_id[e.src].kind != "input"), "every edge into an op carries a gradient"
    data = json.loads(graph.to_json())
    assert len(data["nodes"]) == len(graph.nodes) and len(data["edges"]) == len(graph.edges)
    assert {"op", "shape", "dtype", "scope", "value", "grad"} <= set(data["nodes"][0])


def test_trace_node_ids_and_dot_are_deterministic():
    first = to_dot(elman_example(steps=3, hidden=3, seed=1)[1])
    second = to_dot(elman_example(steps=3, hidden=3, seed=1)[1])
    assert first == second, "two identical graphs must give byte-identical DOT"


def test_gradstat_combines_like_concatenation_and_survives_huge_values():
    a, b = np.array([3.0, -4.0]), np.array([[1e200, 0.0]])
    both = GradStat.of(a) | GradStat.of(b)
    assert both.norm("l2") == pytest.approx(np.hypot(5.0, 1e200), rel=1e-12)
    assert both.norm("max") == 1e200 and both.size == 4
    assert GradStat.of(np.zeros(3)).state == "zero"
    assert GradStat.of(np.array([1.0, np.nan])).state == "nonfinite"
    assert GradStat.of(None).state == "none"


# -------------------------------------------------------------------------- DOT structure


def test_op_view_has_one_cluster_per_time_step_in_order():
    for steps in (1, 5, 9):
        dot = to_dot(elman_example(steps=steps, hidden=3)[1], max_nodes=None)
        assert clusters(dot) == [f"cluster_t{t}" for t in range(steps)], clusters(dot)


def test_shared_parameters_are_drawn_once_and_reach_every_step():
    model, E = elman_example(steps=6, hidden=3)
    dot = to_dot(E, params=model)
    for name in ("U", "W", "V"):
        assert len(node_lines(dot, name)) == 1, f"{name} must be drawn exactly once"
    view = build_view(trace(E, model), "cell")
    w_id = next(v.id for v in view.nodes if v.kind == "param" and v.label == "W")
    fed = sorted(int(e.dst[4:]) for e in view.edges if e.src == w_id and e.dst.startswith("cell"))
    assert fed == [1, 2, 3, 4, 5], f"W must fan out to every step that uses it, got {fed}"


def test_fill_colour_lightness_is_monotone_in_grad_magnitude():
    cmap = LogColormap(1e-6, 1e2)
    values = np.logspace(-7, 3, 60)  # beyond both ends too: clipped, never reversed
    lum = [luminance(node_style(GradStat.of(np.array([v])), cmap, "l2")["fillcolor"])
           for v in values]
    assert all(b >= a - 1e-12 for a, b in zip(lum, lum[1:])), "fill must brighten with |grad|"
    assert lum[-1] - lum[0] > 0.5, "the colour map must span dark to light"


def test_drawn_nodes_are_coloured_monotonically_in_their_gradient():
    model, E = elman_example(steps=6, hidden=4)
    graph = trace(E, model)
    view = build_view(graph, "op")
    cmap = LogColormap.span([v.grad.norm("l2") for v in view.nodes])
    pairs = sorted((v.grad.norm("l2"), luminance(node_style(v.grad, cmap, "l2")["fillcolor"]))
                   for v in view.nodes if v.grad.state == "finite")
    lum = [p[1] for p in pairs]
    assert len(pairs) > 20 and all(b >= a - 1e-12 for a, b in zip(lum, lum[1:]))


def test_the_four_gradient_states_look_different_in_the_picture():
    a = Tensor([1.0, 2.0], requires_grad=True)
    z = Tensor([0.0, 4.0], requires_grad=True)
    loss = (a * 2.0).sum() * 0.0 + z.sqrt().sum() + (a * a).sum()  # 0, inf at sqrt(0), finite
    with np.errstate(divide="ignore"):
        loss.backward(keep_node_grads=True)
    top = loss * 1.0  # built after backward: its gradient is not computed yet
    graph = trace(top)
    states = {n.grad.state for n in graph.nodes}
    assert states >= {"none", "zero", "finite", "nonfinite"}, states
    cmap = LogColormap(1e-3, 1e3)
    looks = {s: node_style(GradStat.of(x), cmap, "l2") for s, x in
             (("none", None), ("zero", np.zeros(1)), ("finite", np.ones(1)),
              ("nonfinite", np.array([np.inf])))}
    for s1 in looks:
        for s2 in looks:
            if s1 < s2:
                differ = {k for k in ("fillcolor", "style", "color", "peripheries")
                          if looks[s1].get(k) != looks[s2].get(k)}
                assert len(differ) >= 2, f"{s1} and {s2} differ only in {differ}"
    dot = draw(top).source
    assert "dotted" in dot and "dashed" in dot and 'peripheries=2' in dot
    assert "not computed yet" in dot and "exactly zero" in dot and "NaN or Inf" in dot


def test_cell_view_is_smaller_than_op_view():
    model, E = elman_example(steps=12, hidden=4)
    op, cell = to_dot(E, params=model), to_dot(E, params=model, view="cell")
    graph = trace(E, model)
    n_op, n_cell = len(build_view(graph, "op").nodes), len(build_view(graph, "cell").nodes)
    assert n_cell < n_op and len(cell) < len(op), (n_cell, n_op)
    assert clusters(cell) == [], "the cell view draws one node per step, not clusters"


def test_fixed_vmin_vmax_make_two_pictures_share_one_colour_scale():
    _, small = elman_example(steps=4, hidden=3, spectral_radius=0.5, loss="last")
    _, large = elman_example(steps=4, hidden=3, spectral_radius=1.5, nonlinearity="relu",
                             loss="last")
    a = to_dot(small, vmin=1e-4, vmax=1e1)
    b = to_dot(large, vmin=1e-4, vmax=1e1)
    legend = re.search(r"label=<<TABLE.*?</TABLE>>", a, re.S).group(0)
    assert legend in b, "same vmin/vmax must give the same legend (colour bar and ticks)"


# ------------------------------------------------------------------- per-step contributions


@given(steps=st.integers(1, 7), hidden=st.integers(1, 4), batch=st.integers(1, 3),
       nonlinearity=st.sampled_from(["tanh", "relu", "sigmoid"]), seed=st.integers(0, 10_000))
def test_per_step_contributions_sum_to_the_parameter_grad(steps, hidden, batch, nonlinearity,
                                                         seed):
    rng = np.random.default_rng(seed)
    model = nn.ElmanRNN(2, hidden, 2, nonlinearity=nonlinearity, seed=seed)
    ys, _ = model(rng.standard_normal((steps, batch, 2)))
    E = squared_error(ys, rng.standard_normal((steps, batch, 2)))
    E.backward(keep_node_grads=True)
    parts = step_contributions(E, model)
    for name, p in model.named_parameters():
        if p.grad is None:  # T = 1 with h0 = 0: W is never used, so it is not in the graph
            assert name not in parts and name == "W" and steps == 1
            continue
        total = sum(parts[name].values())
        scale = max(1.0, float(np.abs(p.grad).max()))
        assert np.abs(total - p.grad).max() <= 1e-12 * scale, f"{name}: parts do not sum"
    assert all(isinstance(k, int) for k in parts.get("W", ())), f"W buckets: {parts.get('W')}"


def test_the_parameter_strip_has_one_cell_per_time_step_and_none_for_a_scope_named_t_n():
    from tinygrad_rnn import scope
    model = nn.ElmanRNN(1, 2, 1, seed=0)
    ys, _ = model(np.ones((3, 1, 1)), Tensor(np.zeros((1, 2)), requires_grad=True))
    with scope("t=9"):  # a user's penalty on W, outside the time loop
        penalty = (model.W * model.W).sum()
    E = squared_error(ys, np.zeros((3, 1, 1))) + penalty
    E.backward(keep_node_grads=True)
    assert "t=9" in step_contributions(E, model)["W"], "the user's scope keeps its own bucket"
    dot = to_dot(E, params=model)
    cells = re.findall(r'WIDTH="9" HEIGHT="9" FIXEDSIZE="TRUE" TOOLTIP="(t=[^:]*):', dot)
    assert "t=9" not in cells, f"scope('t=9') was drawn as a time step: {cells}"
    assert set(cells) >= {"t=1", "t=2"}, cells


def test_contribution_of_a_step_equals_the_grad_of_a_private_copy_of_w():
    """Give every step its own copy W_t of W: ∂E/∂W_t is by definition step t's share."""
    rng = np.random.default_rng(3)
    T, B, I, H = 5, 2, 3, 4
    model = nn.ElmanRNN(I, H, 2, seed=3)
    x, g = rng.standard_normal((T, B, I)), rng.standard_normal((T, B, 2))
    ys, _ = model(x)
    E = squared_error(ys, g)
    E.backward(keep_node_grads=True)
    parts = step_contributions(E, model)["W"]
    copies = [Tensor(model.W.data, requires_grad=True) for _ in range(T)]
    xp = (Tensor(x) @ model.U.T + model.b).unbind(0)
    h, hs = None, []
    for t in range(T):
        h = xp[t].tanh() if h is None else (xp[t] + h @ copies[t].T).tanh()
        hs.append(h)
    squared_error(model.readout(hs), g).backward()
    for t in range(1, T):
        np.testing.assert_allclose(parts[t], copies[t].grad, rtol=1e-10, atol=1e-13,
                                   err_msg=f"step {t}'s share of dE/dW")


# ------------------------------------------------------------------------------ rendering


def test_real_render_through_dot_gives_svg_with_tooltips_and_png(tmp_path):
    model, E = elman_example(steps=3, hidden=3)
    picture = draw(E, params=model)
    svg = save(picture, tmp_path / "g.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "xlink:title=" in svg and "|∂E/∂out|: L2" in svg, "tooltips must carry full stats"
    assert (save(picture, tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n")
    assert save(picture, tmp_path / "g.pdf").read_bytes()[:4] == b"%PDF"
    assert save(picture.source, tmp_path / "g.dot").read_text() == picture.source


def test_missing_dot_raises_an_install_hint_and_still_writes_the_dot_file(tmp_path, monkeypatch):
    monkeypatch.setattr("tinygrad_rnn.viz.drawing.shutil.which", lambda name: None)
    with pytest.raises(GraphvizNotFound, match="apt-get install graphviz") as info:
        render_unrolled(steps=2, hidden=2, out=tmp_path / "u.png")
    assert isinstance(info.value, RuntimeError) and "brew install graphviz" in str(info.value)
    assert (tmp_path / "u.dot").read_text().startswith("digraph")


def test_save_with_overwrite_false_never_replaces_the_dot_fallback(tmp_path, monkeypatch):
    monkeypatch.setattr("tinygrad_rnn.viz.drawing.shutil.which", lambda name: None)
    (tmp_path / "u.dot").write_text("mine")
    with pytest.raises(FileExistsError, match="already exists"):
        save("digraph { a -> b }", tmp_path / "u.svg", overwrite=False)
    with pytest.raises(FileExistsError, match="already exists"):
        save("digraph { a -> b }", tmp_path / "u.dot", overwrite=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["u.dot"]
    assert (tmp_path / "u.dot").read_text() == "mine"
    with pytest.raises(GraphvizNotFound):  # the default replaces it, as before
        save("digraph { a -> b }", tmp_path / "u.svg")
    assert (tmp_path / "u.dot").read_text() == "digraph { a -> b }"


def test_two_thousand_steps_render_collapsed_in_bounded_time_and_nodes(tmp_path):
    start = time.perf_counter()
    model, E = elman_example(steps=2000, hidden=4)
    with pytest.warns(LargeGraphWarning, match="folded into one node"):
        picture = draw(E, params=model)
    save(picture, tmp_path / "long.svg")
    elapsed = time.perf_counter() - start
    n_nodes = len(re.findall(r'^\s+n\d+ \[|^\s+fold \[', picture.source, re.M))
    assert n_nodes <= 60, f"collapsed view drew {n_nodes} nodes"
    assert len(clusters(picture.source)) == 6 and "1994 steps folded" in picture.source
    assert elapsed < 30, f"2,000 steps took {elapsed:.1f} s"


def test_render_unrolled_writes_each_format(tmp_path):
    for fmt in ("dot", "svg"):
        path = render_unrolled(steps=3, hidden=2, out=tmp_path / "u", fmt=fmt, view="cell")
        assert path.suffix == "." + fmt and path.stat().st_size > 500


def test_bad_arguments_raise_clear_errors(tmp_path):
    _, E = elman_example(steps=2, hidden=2)
    with pytest.raises(TypeError, match="expected a Tensor"):
        draw(np.ones(3))
    with pytest.raises(ValueError, match="view must be one of"):
        draw(E, view="fancy")
    with pytest.raises(ValueError, match="norm must be one of"):
        draw(E, norm="l7")
    with pytest.raises(ValueError, match="unknown format"):
        save(draw(E), tmp_path / "g.jpeg")
    with pytest.raises(ValueError, match="vmin"):
        LogColormap(0.0, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        draw(E, max_nodes=None)  # no fallback, no warning
