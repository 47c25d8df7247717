"""The explorer's data and file (no browser here; see test_browser.py), per-step contributions of
every shared parameter, the influence matrix and the training heatmap."""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_rnn import Tensor, nn
from tinygrad_rnn.cli import main
from tinygrad_rnn.functional import squared_error
from tinygrad_rnn.viz import elman_example, explore, step_contributions, step_stats, trace
from tinygrad_rnn.viz.example import explore_unrolled, sequence_model
from tinygrad_rnn.viz.heatmaps import influence_figure, save_figure, training_figure
from tinygrad_rnn.viz.influence import flow_over_training, influence_matrix
from tinygrad_rnn.viz.views import is_hidden


def embedded(html: str) -> dict:
    block = re.search(r'<script id="data" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(block.group(1).replace("<\\/", "</"))


def test_embedded_data_agrees_with_the_trace(tmp_path):
    model, E = elman_example(steps=7, hidden=3)
    graph = trace(E, model)
    path = explore(E, params=model).save(tmp_path / "e.html")
    data = embedded(path.read_text())
    shown = [n for n in graph.nodes if not is_hidden(n)]
    nodes = data["nodes"]
    assert nodes["id"] == [n.id for n in shown]
    assert [nodes["ops"][i] for i in nodes["op"]] == [n.op for n in shown]
    assert nodes["step"] == [-1 if n.step is None else n.step for n in shown]
    for i, n in enumerate(shown):
        expected = n.grad.norm("l2")
        got = nodes["l2"][i]
        assert (got is None) == (expected is None) and (
            got is None or got == pytest.approx(expected, rel=1e-3)), (n.id, got, expected)
    kept = {n.id for n in shown}
    assert len(data["edges"]["src"]) == sum(e.src in kept and e.dst in kept for e in graph.edges)
    per_step = step_stats(graph)
    assert data["steps"] == graph.steps
    for i, t in enumerate(data["steps"]):
        assert data["step_grad"]["l2"][i] == pytest.approx(per_step[t].norm("l2"), rel=1e-3)
    assert {p["name"] for p in data["params"]} == {"U", "W", "b", "V", "c"}
    assert all(p["sum_error"] < 1e-12 for p in data["params"])


def test_the_page_is_self_contained_and_requests_nothing(tmp_path):
    _, E = elman_example(steps=4, hidden=2)
    page = explore(E)
    html = page.html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert urls <= {"http://www.w3.org/2000/svg"}, f"the page names {urls}"
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=|@import|fetch\(|XMLHttpRequest", html)
    assert page._repr_html_().startswith("<iframe srcdoc=")
    path = page.save(tmp_path / "sub" / "page.html")
    assert path.read_text() == html and [p.name for p in path.parent.iterdir()] == ["page.html"]


def test_two_thousand_steps_write_in_seconds_and_under_five_megabytes(tmp_path):
    start = time.perf_counter()
    page, _ = explore_unrolled(2000)
    path = page.save(tmp_path / "e.html")
    seconds = time.perf_counter() - start
    assert seconds < 10, f"2,000 steps took {seconds:.1f} s to write"
    assert path.stat().st_size < 5e6, f"{path.stat().st_size / 1e6:.1f} MB"
    assert embedded(path.read_text())["T"] == 2000


@given(kind=st.sampled_from(["rnn", "lstm", "gru"]), steps=st.integers(2, 6),
       batch=st.integers(1, 3), hidden=st.integers(1, 4), seed=st.integers(0, 1000))
def test_every_shared_parameter_splits_by_step_and_the_parts_sum_to_grad(kind, steps, batch,
                                                                          hidden, seed):
    rng = np.random.default_rng(seed)
    model, readout, params = sequence_model(kind, 2, hidden, 2, seed=seed)
    E = squared_error(readout(model.unroll(Tensor(rng.standard_normal((steps, batch, 2))))),
                      rng.standard_normal((steps, batch, 2)))
    E.backward(keep_node_grads=True)
    parts = step_contributions(E, params)
    for name, p in params.items():
        assert all(isinstance(k, int) for k in parts[name]), f"{kind} {name}: {list(parts[name])}"
        total = sum(parts[name].values())
        scale = max(1.0, float(np.abs(p.grad).max()))
        assert np.abs(total - p.grad).max() <= 1e-12 * scale, f"{kind} {name}: parts ≠ grad"


def test_per_step_contributions_of_u_b_v_c_equal_the_grads_of_private_copies():
    """Give each step its own copies U_t, b_t, V_t, c_t: ∂E/∂U_t is by definition step t's share."""
    rng = np.random.default_rng(5)
    T, B, I, H, O = 4, 2, 3, 3, 2
    model = nn.ElmanRNN(I, H, O, seed=5)
    x, g = rng.standard_normal((T, B, I)), rng.standard_normal((T, B, O))
    E = squared_error(model(x)[0], g)
    E.backward(keep_node_grads=True)
    parts = step_contributions(E, model)
    copies = {name: [Tensor(getattr(model, name).data, requires_grad=True) for _ in range(T)]
              for name in ("U", "b", "V", "c")}
    h, ys = None, []
    for t in range(T):
        xp = Tensor(x[t]) @ copies["U"][t].T + copies["b"][t]
        h = xp.tanh() if h is None else (xp + h @ model.W.T).tanh()
        ys.append(h @ copies["V"][t].T + copies["c"][t])
    loss = sum(((y - Tensor(g[t])) ** 2).sum() for t, y in enumerate(ys)) * 0.5
    loss.backward()
    for name, per_step in copies.items():
        for t in range(T):
            np.testing.assert_allclose(parts[name][t], per_step[t].grad, rtol=1e-10, atol=1e-13,
                                       err_msg=f"step {t}'s share of dE/d{name}")


def test_influence_matrix_matches_finite_differences():
    rng = np.random.default_rng(2)
    model = nn.ElmanRNN(2, 3, 1, spectral_radius=0.9, seed=2)
    x = rng.standard_normal((6, 1, 2))
    got = influence_matrix(model, x).matrix
    hs = [h.data for h in model.unroll(Tensor(x))]
    eps = 1e-6
    for t in range(6):
        for s in range(t):
            jac = np.zeros((3, 3))
            for j in range(3):
                bump = np.zeros((1, 3))
                bump[0, j] = eps
                up = model.unroll(Tensor(x[s + 1:t + 1]), Tensor(hs[s] + bump))[-1].data
                down = model.unroll(Tensor(x[s + 1:t + 1]), Tensor(hs[s] - bump))[-1].data
                jac[:, j] = ((up - down) / (2 * eps))[0]
            assert got[t, s] == pytest.approx(np.linalg.norm(jac, 2), rel=1e-6), (t, s)
        assert got[t, t] == pytest.approx(1.0) and np.all(np.isnan(got[t, t + 1:]))


def test_training_heatmap_records_every_k_steps_and_both_figures_write(tmp_path):
    rng = np.random.default_rng(0)
    model = nn.ElmanRNN(2, 4, 2, seed=0)
    x, g = Tensor(rng.standard_normal((12, 1, 2))), rng.standard_normal((12, 1, 2))
    from tinygrad_rnn.viz import hidden_grad_norms
    first = hidden_grad_norms(nn.ElmanRNN(2, 4, 2, seed=0), x, g, loss="all")
    flow = flow_over_training(model, x, g, steps=9, every=3)
    assert flow.train_steps == [0, 3, 6, 9] and flow.norms.shape == (4, 12)
    np.testing.assert_allclose(flow.norms[0], first, rtol=1e-12)
    assert flow.losses[-1] < flow.losses[0], "Adam must lower the loss"
    png = save_figure(training_figure(flow), tmp_path / "train.png")
    svg = save_figure(influence_figure(influence_matrix(model, x)), tmp_path / "inf.svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "<svg" in svg.read_text()


def test_cli_explore_writes_the_page_and_refuses_what_it_cannot_do(tmp_path, capsys):
    out = tmp_path / "e.html"
    assert main(["explore", "--steps", "30", "--model", "gru", "--out", str(out)]) == 0
    data = embedded(out.read_text())
    assert data["T"] == 30 and "training" in data and "influence" in data
    assert main(["explore", "--steps", "30", "--out", str(out)]) == 2, "no overwrite"
    assert main(["explore", "--model", "lstm", "--radius", "2", "--out", str(out)]) == 2
    assert main(["explore", "--out", str(tmp_path / "e.svg")]) == 2
    err = capsys.readouterr().err
    assert "--force" in err and "rnn only" in err and "must end in .html" in err


def test_cli_flow_heatmaps_writes_both_maps_as_figures(tmp_path, capsys):
    out = tmp_path / "flow.svg"
    assert main(["flow", "--steps", "12", "--hidden", "4", "--heatmaps", "--out", str(out)]) == 0
    for name in ("flow.svg", "flow_training.svg", "flow_influence.svg"):
        assert "<svg" in (tmp_path / name).read_text(), name
    assert "heatmaps:" in capsys.readouterr().out


def test_a_graph_full_of_nan_and_inf_still_writes_a_valid_page(tmp_path):
    with np.errstate(all="ignore"):
        model, E = elman_example(steps=2000, hidden=8, nonlinearity="relu", spectral_radius=1.5)
        data = embedded(explore(E, params=model).save(tmp_path / "nan.html").read_text())
    states = data["step_grad"]["state"]
    assert states.count(3) > 1000 and states[-1] == 2, "NaN/Inf early, finite at the end"
    assert all(v is None for v, s in zip(data["step_grad"]["l2"], states) if s == 3)
