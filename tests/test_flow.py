"""Gradient flow through time, measured from real backward passes and checked against numpy."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_rnn import Tensor, nn
from tinygrad_rnn.viz import (
    clip_experiment,
    format_table,
    hidden_grad_norms,
    jacobian_norms,
    plot_flow,
    sweep,
)
from tinygrad_rnn.viz.flow import per_step_factor


def tanh_rnn(T=12, H=5, I=3, rho=0.9, seed=0):
    rng = np.random.default_rng(seed)
    model = nn.ElmanRNN(I, H, 2, spectral_radius=rho, seed=seed)
    return model, rng.standard_normal((T, 1, I)), rng.standard_normal((T, 1, 2))


def numpy_states(model, x):
    """h_t = tanh(U x_t + W h_{t−1} + b) in plain numpy, h_0 = 0."""
    U, W, b = model.U.data, model.W.data, model.b.data
    h, hs = np.zeros((x.shape[1], W.shape[0])), []
    for x_t in x:
        h = np.tanh(x_t @ U.T + h @ W.T + b)
        hs.append(h)
    return hs


def test_hidden_grad_norms_match_hand_written_bptt():
    model, x, g = tanh_rnn()
    norms = hidden_grad_norms(model, Tensor(x), g, loss="last")
    hs, W, V, c = numpy_states(model, x), model.W.data, model.V.data, model.c.data
    delta = (hs[-1] @ V.T + c - g[-1]) @ V  # ∂E/∂h_T for E = ½||V h_T + c − g_T||²
    expected = [np.linalg.norm(delta)]
    for t in range(len(hs) - 1, 0, -1):
        delta = (delta * (1 - hs[t] ** 2)) @ W  # ∂E/∂h_{t−1} = Wᵀ (δ_t ⊙ (1 − h_t²))
        expected.append(np.linalg.norm(delta))
    np.testing.assert_allclose(norms, expected[::-1], rtol=1e-10,
                               err_msg="‖∂E/∂h_t‖ differs from numpy BPTT")


def test_jacobian_norms_match_the_product_of_step_jacobians():
    model, x, _ = tanh_rnn(T=8, H=4)
    norms = jacobian_norms(model, Tensor(x), method="spectral")
    hs, W = numpy_states(model, x), model.W.data
    J, expected = np.eye(4), [1.0]
    for t in range(len(hs) - 1, 0, -1):
        J = J @ (np.diag(1 - hs[t][0] ** 2) @ W)  # ∂h_T/∂h_{t−1} = ∂h_T/∂h_t · diag(1−h_t²) W
        expected.append(np.linalg.norm(J, 2))
    np.testing.assert_allclose(norms, expected[::-1], rtol=1e-9)


def test_random_probe_estimate_tracks_the_rms_singular_value():
    model, x, _ = tanh_rnn(T=6, H=6, rho=1.0)
    spectral = jacobian_norms(model, Tensor(x), method="spectral")
    probe = jacobian_norms(model, Tensor(x), method="random", probes=400, seed=1)
    hs, W = numpy_states(model, x), model.W.data
    J, rms = np.eye(6), [1.0]
    for t in range(len(hs) - 1, 0, -1):
        J = J @ (np.diag(1 - hs[t][0] ** 2) @ W)
        rms.append(np.linalg.norm(J) / np.sqrt(6))  # ‖J‖_F / √H
    np.testing.assert_allclose(probe, rms[::-1], rtol=0.15)
    assert np.all(probe <= spectral * (1 + 1e-9)), "no probe can exceed the spectral norm"


def test_radius_one_half_makes_the_gradient_vanish_geometrically():
    model, x, g = tanh_rnn(T=40, H=16, rho=0.5)
    norms = jacobian_norms(model, Tensor(x))
    d = np.arange(40)[::-1]
    slope, intercept = np.polyfit(d[:-1], np.log(norms[:-1]), 1)
    residual = np.log(norms[:-1]) - (slope * d[:-1] + intercept)
    assert 0.3 < np.exp(slope) < 0.6, f"per-step factor {np.exp(slope):.3f} is not about 0.5"
    assert np.abs(residual).max() < 1.5, "log‖∂h_T/∂h_k‖ must be close to a straight line"
    grads = hidden_grad_norms(model, Tensor(x), g)
    assert grads[0] < 1e-9 * grads[-1], f"‖∂E/∂h_1‖/‖∂E/∂h_T‖ = {grads[0] / grads[-1]:.1e}"


def test_relu_with_radius_above_one_makes_the_gradient_grow():
    rng = np.random.default_rng(0)
    model = nn.ElmanRNN(4, 32, 4, nonlinearity="relu", spectral_radius=1.5, seed=0)
    x = Tensor(rng.standard_normal((50, 1, 4)))
    norms = jacobian_norms(model, x)
    assert norms[0] > 5.0 and per_step_factor(norms) > 1.0, (norms[0], per_step_factor(norms))
    grads = hidden_grad_norms(model, x, rng.standard_normal((50, 1, 4)))
    assert grads[0] > 3 * grads[-1], "‖∂E/∂h_1‖ must exceed ‖∂E/∂h_T‖ when gradients explode"


def test_clipping_keeps_the_exploding_model_trainable():
    runs, setup = clip_experiment(steps=12)
    plain, clipped = runs
    assert plain.max_norm is None and not np.isfinite(plain.losses[-1]), \
        "without clipping SGD must blow up on ρ(W) = 1.5"
    assert np.all(np.isfinite(clipped.losses)) and clipped.losses[-1] < clipped.losses[0] / 2
    assert setup["radius"] == 1.5 and setup["nonlinearity"] == "relu"


def test_sweep_table_and_figure(tmp_path):
    results = sweep(radii=(0.5, 1.5), nonlinearities=("tanh", "relu"), T=10, H=6)
    labels = [c.label for c in results.curves]
    assert labels == ["tanh, ρ=0.5", "tanh, ρ=1.5", "relu, ρ=0.5", "relu, ρ=1.5",
                      "LSTM, forget bias 0", "LSTM, forget bias 3"]
    assert all(c.grad_norms.shape == (10,) and c.jac_norms[-1] == pytest.approx(1.0)
               for c in results.curves)
    table = format_table(results)
    assert all(label in table for label in labels) and "factor" in table and "SGD" in table
    png = plot_flow(results, tmp_path / "flow.png")
    svg = plot_flow(results, tmp_path / "flow.svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "<svg" in svg.read_text()


def test_the_lstm_with_a_forget_bias_keeps_the_gradient_alive():
    results = sweep(radii=(0.5,), nonlinearities=("tanh",), T=30, H=16, clip=False)
    by = {c.label: c for c in results.curves}
    rnn, lstm = by["tanh, ρ=0.5"], by["LSTM, forget bias 3"]
    assert lstm.grad_norms[0] > 1e6 * rnn.grad_norms[0], "LSTM must carry the gradient further"


def test_flow_rejects_bad_arguments():
    model, x, g = tanh_rnn(T=3)
    with pytest.raises(ValueError, match="loss must be"):
        hidden_grad_norms(model, Tensor(x), g, loss="mean")
    with pytest.raises(ValueError, match="method must be"):
        jacobian_norms(model, Tensor(x), method="exact")
    with pytest.raises(TypeError, match="has no unroll"):
        hidden_grad_norms(nn.Linear(3, 2), Tensor(x), g)
    with pytest.raises(ValueError, match="unknown format"):
        plot_flow(sweep(radii=(0.5,), nonlinearities=("tanh",), T=3, H=2, lstm=False,
                        clip=False), "flow.jpeg")


def test_clip_experiment_with_one_step_leaves_out_W_which_gets_no_gradient():
    """T = 1: h_0 = 0, so W never enters the graph and has no gradient; it adds 0 to the norm."""
    from tinygrad_rnn.functional import squared_error

    runs, setup = clip_experiment(T=1, H=4, steps=3, batch=2)
    assert setup["T"] == 1 and all(len(run.losses) == 3 for run in runs)
    x = Tensor(np.random.default_rng(0).standard_normal((1, 2, 4)))
    model = nn.ElmanRNN(4, 4, 4, nonlinearity="relu", spectral_radius=1.5, seed=0)
    ys, _ = model(x)
    (squared_error(ys, np.zeros((1, 2, 4))) * 0.5).backward()
    assert model.W.grad is None
    expected = np.sqrt(sum(np.sum(p.grad ** 2) for p in model.parameters() if p is not model.W))
    assert runs[0].grad_norms[0] == pytest.approx(expected, rel=1e-12)


def test_sweep_and_figure_with_one_step(tmp_path, recwarn):
    results = sweep(radii=(0.5,), nonlinearities=("tanh", "relu"), T=1, H=3)
    assert all(c.grad_norms.shape == (1,) and c.jac_norms[0] == pytest.approx(1.0)
               for c in results.curves)
    assert "d=0" in format_table(results)
    png = plot_flow(results, tmp_path / "flow.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [w for w in recwarn if "xlim" in str(w.message)], "T = 1 must not warn"
