"""Truncated BPTT: with chunk_len >= T it is full BPTT exactly; with shorter chunks it is the
sum of per-chunk BPTT from the carried (detached) state; and it trains a model reproducibly."""

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given

import tinygrad_rnn.nn as nn
import tinygrad_rnn.optim as optim
from tinygrad_rnn import Tensor, no_grad
from tinygrad_rnn.functional import squared_error
from tinygrad_rnn.testing.reference import numpy_rnn_forward, numpy_rnn_forward_backward
from tinygrad_rnn.train import detach_state, full_bptt_gradients, tbptt

MODELS = {
    "ElmanRNN": lambda seed: nn.ElmanRNN(2, 3, 2, seed=seed),
    "RNN": lambda seed: nn.RNN(2, 3, nonlinearity="relu", seed=seed),
    "LSTM": lambda seed: nn.LSTM(2, 3, seed=seed),
    "GRU": lambda seed: nn.GRU(2, 3, seed=seed),
}


def problem(model_name, T, B, seed):
    model = MODELS[model_name](seed)
    rng = np.random.default_rng(seed)
    out = 2 if model_name == "ElmanRNN" else 3
    return model, rng.standard_normal((T, B, 2)), rng.standard_normal((T, B, out))


@given(st.sampled_from(sorted(MODELS)), st.integers(1, 8), st.integers(1, 3),
       st.integers(0, 4), st.integers(0, 2**16))
def test_tbptt_with_a_chunk_at_least_T_is_exactly_full_bptt(model_name, T, B, extra, seed):
    model, x, y = problem(model_name, T, B, seed)
    loss, full = full_bptt_gradients(model, x, y, squared_error)
    result = tbptt(model, x, y, squared_error, None, chunk_len=T + extra, step=False)
    assert result.n_chunks == 1 and result.total_loss == loss
    for name, p in model.named_parameters():
        grad = p.grad if p.grad is not None else np.zeros_like(p.data)
        assert np.array_equal(grad, full[name]), f"{model_name}: d/d{name} differs"


@given(st.integers(2, 9), st.integers(1, 3), st.integers(1, 4), st.integers(0, 2**16))
def test_truncated_gradients_equal_per_chunk_numpy_bptt_from_the_carried_state(T, B, k, seed):
    """Chunks of k steps: the carried state has the same values, only gradient paths are cut."""
    model, x, y = problem("ElmanRNN", T, B, seed)
    p = model.state_dict()
    result = tbptt(model, x, y, squared_error, None, chunk_len=k, step=False)
    expected = {name: np.zeros_like(v) for name, v in p.items()}
    h, losses = None, []
    for start in range(0, T, k):
        xs, ys = x[start:start + k], y[start:start + k]
        E, grads = numpy_rnn_forward_backward(xs, ys, **p, h0=h)
        losses.append(E)
        for name in expected:
            expected[name] += grads[name]
        h = numpy_rnn_forward(xs, **p, h0=h)[1][-1]
    np.testing.assert_allclose(result.losses, losses, rtol=1e-12)
    np.testing.assert_allclose(result.state.data, h, rtol=1e-12, atol=1e-15)
    for name, param in model.named_parameters():
        grad = param.grad if param.grad is not None else 0
        np.testing.assert_allclose(grad, expected[name], rtol=1e-10, atol=1e-12,
                                   err_msg=f"truncated d/d{name}")


def test_truncation_really_cuts_long_gradient_paths():
    model, x, y = problem("ElmanRNN", 8, 2, 0)
    _, full = full_bptt_gradients(model, x, y, squared_error)
    tbptt(model, x, y, squared_error, None, chunk_len=2, step=False)
    assert not np.allclose(model.W.grad, full["W"], rtol=1e-6), "chunk_len=2 changed nothing"


def test_lstm_state_is_carried_as_a_detached_tuple():
    model, x, y = problem("LSTM", 7, 2, 1)
    opt = optim.SGD(model.parameters(), lr=0.01)
    result = tbptt(model, x, y, squared_error, opt, chunk_len=3, clip=1.0)
    assert result.n_chunks == 3 and len(result.grad_norms) == 3
    h, c = result.state
    assert h.shape == c.shape == (2, 3) and h._ctx is None and c._ctx is None
    again = tbptt(model, x, y, squared_error, opt, chunk_len=3, state=result.state)
    assert again.n_chunks == 3


def test_detach_state_keeps_values_and_drops_the_graph():
    h = Tensor(np.ones((1, 2)), requires_grad=True) * 2
    for state in (h, (h, h), None):
        detached = detach_state(state)
        if state is not None:
            flat = detached if isinstance(detached, tuple) else (detached,)
            assert all(t._ctx is None and np.array_equal(t.data, h.data) for t in flat)
    with pytest.raises(TypeError, match="state must be a Tensor"):
        detach_state("h")


@pytest.mark.parametrize("kwargs, error, fragment", [
    ({"chunk_len": 0}, ValueError, "chunk_len must be a positive int"),
    ({"chunk_len": 2.0}, ValueError, "chunk_len must be a positive int"),
    ({"chunk_len": 2, "inputs": np.zeros((5, 2))}, ValueError, "time-major 3-D"),
    ({"chunk_len": 2, "targets": np.zeros((4, 2, 2))}, ValueError, "do not match inputs"),
    ({"chunk_len": 2, "optimizer": None}, ValueError, "optimizer is needed"),
    ({"chunk_len": 2, "model": lambda x, h: x}, TypeError, "must be an nn.Module"),
])
def test_bad_tbptt_arguments_are_clear_errors(kwargs, error, fragment):
    model, x, y = problem("ElmanRNN", 5, 2, 0)
    args = {"model": model, "inputs": x, "targets": y, "loss_fn": squared_error,
            "optimizer": optim.SGD(model.parameters(), lr=0.1), **kwargs}
    with pytest.raises(error, match=fragment):
        tbptt(**args)


# ---------------------------------------------------------------------------------- training
def noisy_sines(seed=0, T=60, B=8):
    """Next-step prediction of sines with random periods and phases, plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(T + 1)[:, None]
    s = np.sin(2 * np.pi * t / rng.uniform(10, 20, B) + rng.uniform(0, 2 * np.pi, B))
    s += 0.05 * rng.standard_normal(s.shape)
    return s[:-1, :, None], s[1:, :, None]


def train(seed, epochs=120):
    x, y = noisy_sines()
    model = nn.ElmanRNN(1, 16, 1, seed=seed)
    opt = optim.Adam(model.parameters(), lr=0.02)
    with no_grad():
        before = squared_error(model(x)[0], y).item()
    for _ in range(epochs):
        tbptt(model, x, y, squared_error, opt, chunk_len=20, clip=10.0)
    with no_grad():
        after = squared_error(model(x)[0], y).item()
    return model, before, after


def test_training_an_elman_rnn_on_noisy_sines_reduces_the_error_more_than_5x():
    _, before, after = train(seed=0)
    assert after < before / 5, f"E went from {before:.3f} to {after:.3f} only"


def test_the_same_seed_gives_bit_identical_parameters():
    a, _, _ = train(seed=3, epochs=10)
    b, _, _ = train(seed=3, epochs=10)
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        assert np.array_equal(p.data, q.data), f"{name} differs between identical runs"


def test_tbptt_step_is_the_loop_body_and_refuses_a_non_finite_loss_before_updating():
    from tinygrad_rnn.train import TrainingDiverged, tbptt_step

    model, x, y = problem("ElmanRNN", 6, 2, 3)
    opt = optim.SGD(model.parameters(), lr=0.1)
    before = [p.data.copy() for p in model.parameters()]
    bad = y.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(TrainingDiverged, match="the loss became nan"):
        tbptt_step(model, x, bad, squared_error, opt, check_finite=True)
    assert all(np.array_equal(b, p.data) for b, p in zip(before, model.parameters()))
    done = tbptt_step(model, x, y, squared_error, opt, clip=1e9, clip_value=1e-3)
    assert done.grad_norm > 1e-3 and all(np.abs(p.grad).max() <= 1e-3
                                         for p in model.parameters())
    assert done.state.requires_grad is False and done.state.shape == (2, 3)
