"""Static pictures stay readable at any length: bounded nodes and width, a real `dot` render within
its time limit, folds that report the true range of what they hold, and one-line errors."""

from __future__ import annotations

import re
import subprocess
import time
import warnings

import numpy as np
import pytest

from tinygrad_rnn import Tensor, nn
from tinygrad_rnn.cli import main
from tinygrad_rnn.functional import squared_error
from tinygrad_rnn.viz import (
    LargeGraphWarning,
    RenderTimeout,
    build_view,
    choose_view,
    draw,
    elman_example,
    save,
    trace,
)
from tinygrad_rnn.viz.bounds import DOT_TIMEOUT, STEP_BUDGET
from tinygrad_rnn.viz.example import sequence_model
from tinygrad_rnn.viz.fold import grad_range, member_stats

MAX_WIDTH_PT = 5000
MAX_DRAWN_NODES = {"rnn": 80, "lstm": 160, "gru": 160}  # what a default view may send to dot
_GRAPHS: dict[tuple, tuple] = {}


def elman_graph(steps: int):
    """(model, traced graph) of the notes' RNN, H=2, traced once per length for the module."""
    return model_graph("rnn", steps)


def model_graph(kind: str, steps: int):
    """(params, traced graph) of an Elman RNN, LSTM or GRU with H=2, traced once."""
    if (kind, steps) not in _GRAPHS:
        if kind == "rnn":
            model, E = elman_example(steps=steps, hidden=2)
            _GRAPHS[kind, steps] = (model, trace(E, model))
        else:
            rng = np.random.default_rng(0)
            model, readout, params = sequence_model(kind, 3, 2, 2)
            E = squared_error(readout(model.unroll(Tensor(rng.standard_normal((steps, 1, 3))))),
                              rng.standard_normal((steps, 1, 2)))
            E.backward(keep_node_grads=True)
            _GRAPHS[kind, steps] = (params, trace(E, params))
    return _GRAPHS[kind, steps]


def svg_width(svg: str) -> float:
    return float(re.search(r'<svg width="([\d.]+)pt"', svg).group(1))


def without_safety_net(dot: str) -> str:
    """The DOT without its size attribute, so that dot does not scale a wide layout down:
    the folds alone must keep the width within bounds."""
    return re.sub(r'\bsize="[^"]*"', "", dot)


def drawn_nodes(dot: str) -> int:
    return len(re.findall(r"^\s+(?:n\d+|fold|chain|cell\d+|scope_\w+) \[", dot, re.M))


@pytest.mark.parametrize("kind, steps", [("rnn", 2), ("rnn", 100), ("rnn", 2000),
                                         ("rnn", 10000), ("lstm", 2), ("lstm", 100),
                                         ("lstm", 2000), ("gru", 2), ("gru", 100),
                                         ("gru", 2000)])
def test_every_view_stays_within_node_and_width_bounds_and_renders_in_time(kind, steps,
                                                                            tmp_path):
    params, graph = model_graph(kind, steps)
    for view in ("op", "cell", "collapsed"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LargeGraphWarning)
            picture = draw(graph, params=params, view=view)
        n, what = drawn_nodes(picture.source), f"{kind}, {view} view at T={steps}"
        assert 10 <= n <= MAX_DRAWN_NODES[kind], f"{what}: {n} nodes sent to dot"
        start = time.perf_counter()
        svg = save(without_safety_net(picture.source), tmp_path / f"{view}.svg").read_text()
        seconds = time.perf_counter() - start
        assert seconds < DOT_TIMEOUT / 3, f"{what}: dot took {seconds:.1f} s"
        width = svg_width(svg)
        assert width <= MAX_WIDTH_PT, f"{what}: {width} pt wide"
        assert 'size="69.44,69.44"' in picture.source, "the safety net is on by default"


@pytest.mark.parametrize("view", ["op", "cell"])
def test_views_draw_every_step_up_to_their_budget_and_fold_beyond(view):
    budget = STEP_BUDGET[view]
    for steps, folded in ((budget, False), (budget + 1, True)):
        _, E = elman_example(steps=steps, hidden=2)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            shown = choose_view(trace(E), view, 3, 400)
        assert (shown.folded is not None) == folded, (view, steps, shown.folded)
        assert any(issubclass(w.category, LargeGraphWarning) for w in caught) == folded
    _, E = elman_example(steps=budget + 8, hidden=2)
    shown = choose_view(trace(E), view, 3, None, max_steps=budget + 8)
    assert shown.folded is None, "an explicit max_steps draws that many steps"


def retained_rnn(steps: int, seed: int = 0):
    """The notes' RNN with every h_t retained: h_t.grad is the true ∂E/∂h_t."""
    rng = np.random.default_rng(seed)
    model = nn.ElmanRNN(3, 4, 2, seed=seed)
    hs = model.unroll(Tensor(rng.standard_normal((steps, 1, 3))))
    for h in hs:
        h.retain_grad()
    E = squared_error(model.readout(hs), rng.standard_normal((steps, 1, 2)))
    E.backward(keep_node_grads=True)
    return model, E, hs


def test_a_step_fold_reports_the_true_min_and_max_of_the_steps_it_folds():
    model, E, hs = retained_rnn(100)
    shown = build_view(trace(E, model), "collapsed", 3)
    fold = next(v for v in shown.nodes if v.kind == "fold")
    first, last = shown.folded
    truth = {t: float(np.linalg.norm(hs[t].grad)) for t in range(first, last + 1)}
    got = grad_range(fold.per_step, "l2")
    lo, hi = min(truth, key=truth.get), max(truth, key=truth.get)
    assert got["lo"][0] == lo and got["hi"][0] == hi, (got, lo, hi)
    assert got["lo"][1] == pytest.approx(truth[lo], rel=1e-12)
    assert got["hi"][1] == pytest.approx(truth[hi], rel=1e-12)
    dot = draw(E, params=model, view="collapsed").source
    assert f"(t={lo})" in dot and f"(t={hi})" in dot, "the fold's label names both ends"


def long_chain(n: int):
    """A chain of n scope-less ops, y ← tanh(0.9·y + x), and the tensors it made."""
    x = Tensor(np.linspace(-1, 1, 3), requires_grad=True)
    y, made = x, []
    for _ in range(n // 3):
        y = ((y * 0.9) + x).tanh()
        made.append(y)
    loss = y.sum()
    loss.backward(keep_node_grads=True)
    return loss, made


def test_a_long_chain_without_time_steps_folds_and_reports_its_true_range(tmp_path):
    loss, _ = long_chain(3000)
    graph = trace(loss)
    with pytest.warns(LargeGraphWarning, match="long chain"):
        picture = draw(graph, max_nodes=400)
    assert drawn_nodes(picture.source) <= 40
    chain_svg = save(without_safety_net(picture.source), tmp_path / "chain.svg").read_text()
    assert svg_width(chain_svg) <= MAX_WIDTH_PT
    shown = build_view(graph, "op", chain_levels=10)
    fold = next(v for v in shown.nodes if v.id == "chain")
    truth = {m.id: float(np.linalg.norm(m.fn.out_grad)) for m in fold.members if m.kind == "op"}
    got = grad_range(member_stats(fold.members), "l2")
    assert got["lo"][1] == pytest.approx(min(truth.values()), rel=1e-12)
    assert got["hi"][1] == pytest.approx(max(truth.values()), rel=1e-12)
    assert len(truth) > 2900, "the fold holds the middle of the chain"


def test_max_nodes_is_always_honoured_and_none_stays_bounded():
    _, graph = elman_graph(100)
    chain = trace(long_chain(3000)[0])
    for g in (graph, chain):
        for view in ("op", "cell", "collapsed"):
            for limit in (20, 40, 400):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", LargeGraphWarning)
                    shown = choose_view(g, view, 3, limit)
                assert len(shown.nodes) <= limit, (view, limit, len(shown.nodes))
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", LargeGraphWarning)
                shown = choose_view(g, view, 3, None)
            assert len(shown.nodes) <= MAX_DRAWN_NODES["rnn"] and time.perf_counter() - start < 5
    with pytest.raises(ValueError, match="most folded view has"):
        choose_view(graph, "op", 3, 3)


def test_dot_past_its_time_limit_raises_a_one_line_error_naming_alternatives(tmp_path):
    _, E = elman_example(steps=3, hidden=2)
    with pytest.raises(RenderTimeout) as info:
        save(draw(E), tmp_path / "slow.svg", timeout=1e-4)
    message = str(info.value)
    assert "\n" not in message and "viz.explore" in message and "collapsed" in message
    assert not (tmp_path / "slow.svg").exists()


def test_cli_render_reports_a_dot_timeout_in_one_line(tmp_path, monkeypatch, capsys):
    def too_slow(*args, **kwargs):
        raise subprocess.TimeoutExpired("dot", kwargs.get("timeout"))
    monkeypatch.setattr("tinygrad_rnn.viz.drawing.subprocess.run", too_slow)
    code = main(["render", "--steps", "4", "--out", str(tmp_path / "g.svg")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1, err
    assert "did not finish" in err and "explore" in err and "this is a bug" not in err


def test_cli_render_of_100_steps_in_the_op_view_takes_seconds(tmp_path, capsys):
    start = time.perf_counter()
    code = main(["render", "--steps", "100", "--out", str(tmp_path / "g.svg")])
    seconds = time.perf_counter() - start
    assert code == 0 and seconds < 10, f"render --steps 100 took {seconds:.1f} s"
    assert svg_width((tmp_path / "g.svg").read_text()) <= MAX_WIDTH_PT
    err = capsys.readouterr().err
    assert "folded into one node" in err and "tinygrad-rnn explore --steps 100" in err
