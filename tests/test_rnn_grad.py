"""BPTT is plain backprop: the engine's gradients through unrolled RNN/LSTM/GRU graphs match
central finite differences and a hand-written numpy BPTT (the notes' δ recursion).

Hypothesis draws T, batch, sizes, the nonlinearity, whether h0 is given, and the spectral radius
ρ(W) ∈ {0.5, 1, 1.5, 3}, so both the vanishing (ρ < 1) and exploding (ρ > 1) regimes appear.
"""

from dataclasses import dataclass

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis.control import currently_in_test_context

import tinygrad_rnn.nn as nn
from tinygrad_rnn import Tensor, gradcheck
from tinygrad_rnn.autograd import toposort
from tinygrad_rnn.functional import squared_error
from tinygrad_rnn.nn import functional_call
from tinygrad_rnn.testing.reference import numpy_rnn_forward_backward, numpy_rnn_loss

NONLINEARITIES = ["tanh", "sigmoid", "relu"]
RADII = [0.5, 1.0, 1.5, 3.0]


@dataclass(frozen=True)
class Config:
    T: int
    B: int
    I: int
    H: int
    rho: float
    nonlinearity: str
    with_h0: bool
    seed: int

    def data(self, *shapes):
        rng = np.random.default_rng(self.seed)
        return [rng.standard_normal(shape) for shape in shapes]


@st.composite
def configs(draw, nonlinearities=NONLINEARITIES):
    return Config(T=draw(st.integers(1, 6)), B=draw(st.integers(1, 3)),
                  I=draw(st.integers(1, 3)), H=draw(st.integers(1, 4)),
                  rho=draw(st.sampled_from(RADII)),
                  nonlinearity=draw(st.sampled_from(nonlinearities)),
                  with_h0=draw(st.booleans()), seed=draw(st.integers(0, 2**16)))


def set_radius(module, cfg):
    """ρ(W) = cfg.rho for square W; gated layers (W is (gH, H)) are scaled by rho instead."""
    W = module.W.data
    if W.shape[0] == W.shape[1]:
        nn.init.spectral_radius_(module.W, cfg.rho, cfg.seed)
    else:
        W *= cfg.rho
    return module


def check_module(module, args, arg_names, reduce=lambda out: out):
    """gradcheck over every parameter of `module` and the tensors in `args` (all float64)."""
    names = [name for name, _ in module.named_parameters()]
    params = [p.data.copy() for _, p in module.named_parameters()]

    def fn(*tensors):
        swapped = dict(zip(names, tensors[:len(names)]))
        return reduce(functional_call(module, swapped, *tensors[len(names):]))

    # A ReLU input within a few eps of 0 puts the kink inside the central difference: the
    # numeric slope is then an average of the two sides, not a derivative. Skip such draws.
    probe = [Tensor(a.data if isinstance(a, Tensor) else a, requires_grad=True)
             for a in [*params, *args]]
    out = fn(*probe)
    if currently_in_test_context():
        assume(all(np.abs(n.parents[0].data).min() > 1e-4 for n in toposort(out._ctx)
                   if n.name == "ReLU" and n.parents[0].data.size))
    # Central differences lose about |f|·1e-16/eps to round-off, so an exploding relu RNN
    # (|f| ~ 1e4) needs an absolute tolerance that scales with the value it differentiates.
    scale = max(1.0, float(np.abs(out.data).max()))
    assert gradcheck(fn, [*params, *args], atol=1e-6 * scale, rtol=1e-5,
                     names=[*names, *arg_names]), f"{type(module).__name__} gradcheck failed"


def state_args(cfg, *names):
    """(tensors, names) for the initial state: none, or one (B, H) tensor per name."""
    if not cfg.with_h0:
        return [], []
    arrays = cfg.data(*[(cfg.B, cfg.H)] * len(names))
    return [Tensor(a + 0.1, requires_grad=True) for a in arrays], list(names)


# ------------------------------------------------------------------------- finite differences
@given(configs())
def test_rnn_layer_bptt_matches_central_differences(cfg):
    rnn = set_radius(nn.RNN(cfg.I, cfg.H, nonlinearity=cfg.nonlinearity, seed=cfg.seed), cfg)
    (x,) = cfg.data((cfg.T, cfg.B, cfg.I))
    h0, h0_name = state_args(cfg, "h0")
    check_module(rnn, [Tensor(x, requires_grad=True), *h0], ["x", *h0_name],
                 reduce=lambda out: out[0])


@given(configs())
def test_rnn_cell_grad_matches_central_differences(cfg):
    cell = set_radius(nn.RNNCell(cfg.I, cfg.H, nonlinearity=cfg.nonlinearity, seed=cfg.seed),
                      cfg)
    (x,) = cfg.data((cfg.B, cfg.I))
    h, h_name = state_args(cfg, "h")
    check_module(cell, [Tensor(x, requires_grad=True), *h], ["x_t", *h_name])


@given(configs(), st.sampled_from(["identity", "softmax"]))
def test_elman_rnn_loss_grad_matches_central_differences(cfg, output):
    model = set_radius(nn.ElmanRNN(cfg.I, cfg.H, 2, nonlinearity=cfg.nonlinearity,
                                   output=output, seed=cfg.seed), cfg)
    x, g = cfg.data((cfg.T, cfg.B, cfg.I), (cfg.T, cfg.B, 2))
    h0, h0_name = state_args(cfg, "h0")
    check_module(model, [Tensor(x), *h0], ["x", *h0_name],
                 reduce=lambda out: squared_error(out[0], g))


@given(configs(nonlinearities=["tanh"]))
def test_lstm_layer_bptt_matches_central_differences(cfg):
    lstm = set_radius(nn.LSTM(cfg.I, cfg.H, seed=cfg.seed), cfg)
    (x,) = cfg.data((cfg.T, cfg.B, cfg.I))
    state, names = state_args(cfg, "h0", "c0")
    args = [Tensor(x, requires_grad=True)] + ([tuple(state)] if state else [])

    def fn(*tensors):  # flatten the (h0, c0) tuple for gradcheck
        n = len(list(lstm.parameters()))
        params, rest = tensors[:n], tensors[n:]
        swapped = dict(zip([k for k, _ in lstm.named_parameters()], params))
        hs, (h_T, c_T) = functional_call(lstm, swapped, rest[0],
                                         tuple(rest[1:]) if len(rest) > 1 else None)
        return hs.sum(axis=0) + c_T * 0.5

    params = [p.data.copy() for p in lstm.parameters()]
    flat = [args[0], *(args[1] if len(args) > 1 else ())]
    assert gradcheck(fn, [*params, *flat], atol=1e-6, rtol=1e-5)


@given(configs(nonlinearities=["tanh"]))
def test_lstm_cell_grad_matches_central_differences(cfg):
    cell = set_radius(nn.LSTMCell(cfg.I, cfg.H, seed=cfg.seed), cfg)
    (x,) = cfg.data((cfg.B, cfg.I))
    state, _ = state_args(cfg, "h", "c")
    names = [k for k, _ in cell.named_parameters()]

    def fn(*tensors):
        swapped = dict(zip(names, tensors[:3]))
        h, c = functional_call(cell, swapped, tensors[3], tuple(tensors[4:]) or None)
        return h * 2.0 + c

    params = [p.data.copy() for p in cell.parameters()]
    assert gradcheck(fn, [*params, Tensor(x, requires_grad=True), *state], atol=1e-6, rtol=1e-5)


@given(configs(nonlinearities=["tanh"]))
def test_gru_layer_bptt_matches_central_differences(cfg):
    gru = set_radius(nn.GRU(cfg.I, cfg.H, seed=cfg.seed), cfg)
    (x,) = cfg.data((cfg.T, cfg.B, cfg.I))
    h0, h0_name = state_args(cfg, "h0")
    check_module(gru, [Tensor(x, requires_grad=True), *h0], ["x", *h0_name],
                 reduce=lambda out: out[0])


@given(configs(nonlinearities=["tanh"]))
def test_gru_cell_grad_matches_central_differences(cfg):
    cell = set_radius(nn.GRUCell(cfg.I, cfg.H, seed=cfg.seed), cfg)
    (x,) = cfg.data((cfg.B, cfg.I))
    h, h_name = state_args(cfg, "h")
    check_module(cell, [Tensor(x, requires_grad=True), *h], ["x_t", *h_name])


@pytest.mark.parametrize("layer", [nn.RNN, nn.LSTM, nn.GRU])
def test_layers_without_bias_still_match_central_differences(layer):
    module = layer(2, 3, bias=False, seed=0)
    x = np.random.default_rng(0).standard_normal((3, 2, 2))
    assert "b" not in dict(module.named_parameters())
    check_module(module, [Tensor(x, requires_grad=True)], ["x"], reduce=lambda out: out[0])


# ------------------------------------------------------------------------- the numpy oracle
def engine_grads(model, x, g, h0):
    model.zero_grad()
    h0_t = None if h0 is None else Tensor(h0, requires_grad=True, dtype=model.dtype)
    ys, _ = model(Tensor(x, dtype=model.dtype), h0_t)
    loss = squared_error(ys, g)
    loss.backward()
    # W gets no gradient (None) when T = 1 and h0 = None: it never touched the loss
    grads = {name: p.grad if p.grad is not None else np.zeros_like(p.data)
             for name, p in model.named_parameters()}
    if h0_t is not None:
        grads["h0"] = h0_t.grad
    return loss, grads


def oracle_inputs(model, cfg, O=2):
    x, g, h0 = cfg.data((cfg.T, cfg.B, cfg.I), (cfg.T, cfg.B, O), (cfg.B, cfg.H))
    params = {k: v.copy() for k, v in model.state_dict().items()}
    return x, g, (h0 if cfg.with_h0 else None), params


@given(configs(), st.sampled_from(["identity", "softmax"]))
def test_engine_bptt_equals_hand_written_numpy_bptt_to_1e_10(cfg, output):
    model = set_radius(nn.ElmanRNN(cfg.I, cfg.H, 2, nonlinearity=cfg.nonlinearity,
                                   output=output, seed=cfg.seed), cfg)
    x, g, h0, p = oracle_inputs(model, cfg)
    loss, grads = engine_grads(model, x, g, h0)
    E, expected = numpy_rnn_forward_backward(x, g, p["U"], p["W"], p["b"], p["V"], p["c"], h0,
                                             cfg.nonlinearity, output)
    assert abs(loss.item() - E) <= 1e-10 * max(1.0, abs(E)), (loss.item(), E)
    for name, grad in grads.items():
        scale = max(1.0, float(np.abs(expected[name]).max()))
        err = float(np.abs(grad - expected[name]).max())
        assert err <= 1e-10 * scale, f"{cfg}: dE/d{name} differs from the oracle by {err:.2e}"


@given(configs())
def test_numpy_oracle_itself_matches_central_differences(cfg):
    model = set_radius(nn.ElmanRNN(cfg.I, cfg.H, 2, nonlinearity=cfg.nonlinearity,
                                   seed=cfg.seed), cfg)
    x, g, h0, p = oracle_inputs(model, cfg)
    _, grads = numpy_rnn_forward_backward(x, g, **p, h0=h0, nonlinearity=cfg.nonlinearity)
    for name in ("U", "W", "b"):
        for idx in np.ndindex(p[name].shape):
            original = p[name][idx]
            p[name][idx] = original + 1e-6
            plus = numpy_rnn_loss(x, g, **p, h0=h0, nonlinearity=cfg.nonlinearity)
            p[name][idx] = original - 1e-6
            minus = numpy_rnn_loss(x, g, **p, h0=h0, nonlinearity=cfg.nonlinearity)
            p[name][idx] = original
            numeric = (plus - minus) / 2e-6
            assert abs(grads[name][idx] - numeric) <= 1e-5 + 1e-5 * abs(numeric), \
                f"oracle dE/d{name}{idx} = {grads[name][idx]} but central difference {numeric}"


@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
@pytest.mark.parametrize("output", ["identity", "softmax"])
def test_float32_model_stays_float32_and_matches_the_float32_oracle(nonlinearity, output):
    cfg = Config(T=6, B=3, I=2, H=4, rho=1.0, nonlinearity=nonlinearity, with_h0=True, seed=7)
    model = nn.ElmanRNN(2, 4, 2, nonlinearity=nonlinearity, output=output, seed=7)
    model.to(np.float32)
    x, g, h0, p = oracle_inputs(model, cfg)
    x, g, h0 = (a.astype(np.float32) for a in (x, g, h0))
    loss, grads = engine_grads(model, x, g, h0)
    assert loss.dtype == np.float32, f"loss became {loss.dtype}"
    E, expected = numpy_rnn_forward_backward(x, g, **p, h0=h0, nonlinearity=nonlinearity,
                                             output=output)
    for name, grad in grads.items():
        assert grad.dtype == np.float32, f"dE/d{name} became {grad.dtype}"
        assert expected[name].dtype == np.float32, f"the oracle upcast dE/d{name}"
        np.testing.assert_allclose(grad, expected[name], rtol=1e-4, atol=1e-5,
                                   err_msg=f"float32 dE/d{name}")


# ------------------------------------------------------------- vanishing and exploding regimes
@pytest.mark.parametrize("rho", [0.5, 0.9])
@pytest.mark.parametrize("T", [5, 20])
def test_tanh_gradient_to_h0_vanishes_at_most_like_rho_to_the_T(rho, T):
    """|tanh'| <= 1 and ‖W‖₂ = ρ for an orthogonal W scaled by ρ, so ‖∂(v·h_T)/∂h0‖ <= ρ^T ‖v‖."""
    rnn = nn.RNN(1, 8, init="orthogonal", spectral_radius=rho, seed=1)
    h0 = Tensor(np.random.default_rng(1).standard_normal((1, 8)), requires_grad=True)
    v = np.random.default_rng(2).standard_normal((1, 8))
    _, h_T = rnn(np.zeros((T, 1, 1)), h0)
    (h_T * v).sum().backward()
    bound = rho ** T * np.linalg.norm(v)
    assert np.linalg.norm(h0.grad) <= bound * (1 + 1e-12), (np.linalg.norm(h0.grad), bound)


@pytest.mark.parametrize("rho", [1.5, 3.0])
def test_relu_identity_recurrence_gradient_explodes_exactly_as_rho_to_the_T(rho):
    """W = ρI, b = 0, x = 0, h0 > 0: h_T = ρ^T h0, so ∂Σh_T/∂h0 = ρ^T everywhere."""
    T = 12
    rnn = nn.RNN(1, 3, nonlinearity="relu", init="identity", seed=0)
    rnn.W.data *= rho
    h0 = Tensor(np.full((2, 3), 0.5), requires_grad=True)
    _, h_T = rnn(np.zeros((T, 2, 1)), h0)
    h_T.sum().backward()
    np.testing.assert_allclose(h0.grad, np.full((2, 3), rho ** T), rtol=1e-12)


@given(configs(), st.sampled_from(["identity", "softmax"]))
def test_numpy_oracle_with_a_reused_workspace_gives_identical_results(cfg, output):
    """The benchmark's baseline keeps its arrays across calls; it must compute the same."""
    model = set_radius(nn.ElmanRNN(cfg.I, cfg.H, 2, nonlinearity=cfg.nonlinearity,
                                   output=output, seed=cfg.seed), cfg)
    x, g, h0, p = oracle_inputs(model, cfg)
    E, expected = numpy_rnn_forward_backward(x, g, **p, h0=h0, nonlinearity=cfg.nonlinearity,
                                             output=output)
    work: dict = {}
    for call in range(2):  # the second call reuses every array of the first
        E2, grads = numpy_rnn_forward_backward(x, g, **p, h0=h0, nonlinearity=cfg.nonlinearity,
                                               output=output, work=work)
        assert E2 == E, f"call {call}: E differs"
        for name, grad in expected.items():
            np.testing.assert_array_equal(grads[name], grad, err_msg=f"call {call}: d{name}")


def test_weight_gradients_are_row_major_arrays_equal_to_the_oracles():
    """W.T, U.T and V.T are transposes, and the engine transposes their factored gradients
    as factors (OuterSum): `.grad` is a C-contiguous array, as PyTorch's, not a view."""
    from tinygrad_rnn.testing.reference import numpy_rnn_forward_backward

    rng = np.random.default_rng(3)
    model = nn.ElmanRNN(3, 5, 2, seed=1)
    x, g = rng.standard_normal((6, 4, 3)), rng.standard_normal((6, 4, 2))
    squared_error(model(Tensor(x))[0], g).backward()
    _, want = numpy_rnn_forward_backward(x, g, *(model.state_dict()[k] for k in "UWbVc"))
    for name, p in model.named_parameters():
        assert isinstance(p.grad, np.ndarray) and p.grad.flags.c_contiguous, name
        np.testing.assert_allclose(p.grad, want[name], rtol=1e-12, atol=1e-14)
