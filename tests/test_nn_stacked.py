"""nn.RNN, nn.LSTM and nn.GRU with PyTorch's num_layers, bidirectional, batch_first and dropout:
outputs equal torch's for copied weights, BPTT through every layer and direction equals central
differences, the defaults keep the library's single-layer conventions, and bad arguments are
clear errors."""

import numpy as np
import pytest

import tinygrad_rnn.nn as nn
from tinygrad_rnn import Tensor
from tinygrad_rnn.gradcheck import gradcheck
from tinygrad_rnn.nn.module import functional_call

LAYERS = {"RNN": (nn.RNN, 1), "LSTM": (nn.LSTM, 4), "GRU": (nn.GRU, 3)}
I, H, B, T = 2, 2, 1, 3


def torch_named_weights(gates, num_layers=2, directions=2):
    """Weights under PyTorch's names, in its order, drawn from U(−0.8, 0.8) with seed 0."""
    rng = np.random.default_rng(0)
    out = {}
    for k in range(num_layers):
        for d in range(directions):
            t = f"_l{k}" + ("_reverse" if d else "")
            inputs = I if k == 0 else directions * H
            for name, shape in (("weight_ih", (gates * H, inputs)), ("weight_hh", (gates * H, H)),
                                ("bias_ih", (gates * H,)), ("bias_hh", (gates * H,))):
                out[name + t] = rng.uniform(-0.8, 0.8, shape)
    return out


# From torch 2.13: torch.nn.{RNN,LSTM,GRU}(2, 2, num_layers=2, bidirectional=True,
# batch_first=True), float64, weights torch_named_weights(gates), input
# np.random.default_rng(1).standard_normal((1, 3, 2)), no initial state.
TORCH_OUT = {
    "RNN": [[[-0.092358807104, 0.269661906414, 0.666914569317, -0.941559938615],
             [0.924465711154, 0.575235289927, -0.571765865177, -0.509736293778],
             [0.187886192154, 0.292118376941, 0.575456789941, -0.943127770974]]],
    "LSTM": [[[0.057434820391, -0.072478235635, 0.043405934779, -0.029034704022],
              [0.023860947456, -0.136670496678, 0.03287480607, -0.077702044931],
              [0.044356950254, -0.186022916914, 0.005858210169, -0.054125359696]]],
    "GRU": [[[0.167350372718, -0.549236194529, -0.259226306118, -0.006414070054],
             [0.251239114338, -0.792465864658, -0.27844178661, -0.174289631467],
             [0.32468657882, -0.833046198676, -0.126544509063, 0.010305172307]]],
}
TORCH_H_N = {
    "RNN": [[[0.838673215512, -0.687620431298]], [[-0.53526457066, -0.703580996923]],
            [[0.187886192154, 0.292118376941]], [[0.666914569317, -0.941559938615]]],
    "LSTM": [[[-0.151371396696, 0.251437900916]], [[-0.224381713905, 0.453642806457]],
             [[0.044356950254, -0.186022916914]], [[0.043405934779, -0.029034704022]]],
    "GRU": [[[0.00916114983, 0.263776945052]], [[0.177792363548, 0.455877713148]],
            [[0.32468657882, -0.833046198676]], [[-0.259226306118, -0.006414070054]]],
}
TORCH_C_N = [[[-0.25221865306, 0.586781490356]], [[-0.318485478447, 0.720750173127]],
             [[0.105540958176, -0.871839468166]], [[0.167614850443, -0.083922777347]]]


def stacked(name, **options):
    layer, _ = LAYERS[name]
    config = {"num_layers": 2, "bidirectional": True, "batch_first": True, **options}
    return layer(I, H, seed=0, **config)


@pytest.mark.parametrize("name", LAYERS)
def test_stacked_bidirectional_batch_first_output_equals_torch_for_copied_weights(name):
    module = stacked(name)
    module.load_torch_state_dict(torch_named_weights(LAYERS[name][1]))
    x = np.random.default_rng(1).standard_normal((B, T, I))
    out, state = module(x)
    assert out.shape == (B, T, 2 * H)
    np.testing.assert_allclose(out.data, TORCH_OUT[name], atol=1e-11, err_msg=f"{name} output")
    h_n = state[0] if name == "LSTM" else state
    assert h_n.shape == (4, B, H)
    np.testing.assert_allclose(h_n.data, TORCH_H_N[name], atol=1e-11, err_msg=f"{name} h_n")
    if name == "LSTM":
        np.testing.assert_allclose(state[1].data, TORCH_C_N, atol=1e-11, err_msg="LSTM c_n")


@pytest.mark.parametrize("name", LAYERS)
def test_torch_state_dict_round_trips_and_gives_torch_the_same_function(name):
    module = stacked(name)
    names = torch_named_weights(LAYERS[name][1])
    exported = module.torch_state_dict()
    assert sorted(exported) == sorted(names)
    copy = stacked(name)
    copy.load_torch_state_dict(exported)
    x = np.random.default_rng(2).standard_normal((B, T, I))
    np.testing.assert_array_equal(copy(x)[0].data, module(x)[0].data)


def test_torch_state_dict_errors_name_the_missing_and_unexpected_keys():
    module = stacked("GRU")
    weights = torch_named_weights(3)
    with pytest.raises(nn.StateDictError, match="unexpected key.*'extra'"):
        module.load_torch_state_dict({**weights, "extra": np.zeros(1)})
    del weights["weight_hh_l1_reverse"]
    with pytest.raises(nn.StateDictError, match="missing key.*weight_hh_l1_reverse"):
        module.load_torch_state_dict(weights)


def test_parameters_are_named_with_pytorchs_suffixes_in_pytorchs_order():
    gru = nn.GRU(2, 3, num_layers=2, bidirectional=True)
    layer0 = [("U", (9, 2)), ("W", (9, 3)), ("b", (9,)), ("b_hn", (3,))]
    expected = [(n + s, shape if n != "U" or not s.startswith("_l1") else (9, 6))
                for s in ("", "_reverse", "_l1", "_l1_reverse") for n, shape in layer0]
    assert [(n, p.shape) for n, p in gru.named_parameters()] == expected


# ------------------------------------------------------------------------------- gradients
def bptt_loss(module, name, with_state):
    """A scalar reading every output and final state through fixed random projections:
    loss(x, [h0, [c0]], *parameters), for gradcheck."""
    names = [n for n, _ in module.named_parameters()]
    n_states = (2 if name == "LSTM" else 1) if with_state else 0
    rng, fixed = np.random.default_rng(3), {}

    def project(t):  # one fixed projection per shape, the same in every evaluation
        if t.shape not in fixed:
            fixed[t.shape] = rng.standard_normal(t.shape)
        return (t * fixed[t.shape]).sum()

    def loss(x, *rest):
        states, params = rest[:n_states], rest[n_states:]
        args = (x,) + ((tuple(states) if name == "LSTM" else states[0],) if states else ())
        out, final = functional_call(module, dict(zip(names, params)), *args)
        finals = final if isinstance(final, tuple) else (final,)
        total = project(out)
        for f in finals:
            total = total + project(f)
        return total
    return loss, n_states


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("with_state", [False, True])
def test_stacked_bidirectional_batch_first_bptt_matches_central_differences(name, with_state):
    module = stacked(name)
    rng = np.random.default_rng(4)
    loss, n_states = bptt_loss(module, name, with_state)
    x = Tensor(rng.standard_normal((2, 3, I)), requires_grad=True)
    states = [Tensor(rng.standard_normal((4, 2, H)), requires_grad=True) for _ in range(n_states)]
    params = [p for _, p in module.named_parameters()]
    assert gradcheck(loss, [x, *states, *params], atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("name", LAYERS)
def test_dropout_between_layers_in_training_mode_matches_central_differences(name):
    module = stacked(name, dropout=0.5, bidirectional=False)
    names = [n for n, _ in module.named_parameters()]
    x = Tensor(np.random.default_rng(6).standard_normal((2, 3, I)), requires_grad=True)

    def loss(x_, *ps):
        module._dropout_rng = np.random.default_rng(0)  # the same mask in every evaluation
        out, _ = functional_call(module, dict(zip(names, ps)), x_)
        return (out * out).sum()
    assert gradcheck(loss, [x, *(p for _, p in module.named_parameters())], atol=1e-7,
                     rtol=1e-6)


@pytest.mark.parametrize("name", LAYERS)
def test_dropout_acts_between_layers_in_train_mode_only(name):
    module = stacked(name, dropout=0.6)
    x = np.random.default_rng(7).standard_normal((2, 4, I))
    module.eval()
    first, second = module(x)[0].data, module(x)[0].data
    np.testing.assert_array_equal(first, second)  # eval: deterministic, no dropout
    without = stacked(name)  # dropout=0, same seed, same weights
    np.testing.assert_array_equal(without(x)[0].data, first)
    module.train()
    assert not np.allclose(module(x)[0].data, first), "train mode should drop units"


def test_dropout_with_one_layer_warns_as_pytorch():
    with pytest.warns(UserWarning, match="between stacked layers only"):
        nn.LSTM(2, 3, dropout=0.5)


# ----------------------------------------------------------------------- conventions kept
@pytest.mark.parametrize("name", LAYERS)
def test_the_default_layer_keeps_its_b_h_state_and_stacked_layers_use_pytorchs(name):
    layer, _ = LAYERS[name]
    x = np.random.default_rng(8).standard_normal((T, 2, I))
    out, state = layer(I, H, seed=0)(x)
    h = state[0] if name == "LSTM" else state
    assert out.shape == (T, 2, H) and h.shape == (2, H)
    out, state = layer(I, H, num_layers=3, seed=0)(x)
    h = state[0] if name == "LSTM" else state
    assert out.shape == (T, 2, H) and h.shape == (3, 2, H)
    out, state = layer(I, H, bidirectional=True, seed=0)(x)
    h = state[0] if name == "LSTM" else state
    assert out.shape == (T, 2, 2 * H) and h.shape == (2, 2, H)


@pytest.mark.parametrize("name", LAYERS)
def test_batch_first_single_layer_equals_the_time_major_layer_transposed(name):
    layer, _ = LAYERS[name]
    x = np.random.default_rng(9).standard_normal((T, 2, I))
    plain, batch_first = layer(I, H, seed=1), layer(I, H, batch_first=True, seed=1)
    out, state = plain(x)
    out_bf, state_bf = batch_first(x.transpose(1, 0, 2))
    np.testing.assert_allclose(out_bf.data, out.data.transpose(1, 0, 2), rtol=1e-14)
    h, h_bf = (state[0], state_bf[0]) if name == "LSTM" else (state, state_bf)
    np.testing.assert_allclose(h_bf.data, h.data, rtol=1e-14)
    assert [h.shape for h in batch_first.unroll(x.transpose(1, 0, 2))] == [(2, H)] * T


@pytest.mark.parametrize("name", LAYERS)
def test_unroll_of_a_stacked_layer_lists_the_top_layers_outputs(name):
    module = stacked(name, batch_first=False)
    x = np.random.default_rng(10).standard_normal((T, 2, I))
    hs = module.unroll(x)
    out, _ = module(x)
    assert len(hs) == T
    np.testing.assert_array_equal(np.stack([h.data for h in hs]), out.data)


def test_each_direction_of_each_layer_has_its_own_scope_and_time_steps():
    out, _ = nn.RNN(2, 3, num_layers=2, bidirectional=True, seed=0)(np.ones((3, 1, 2)))
    seen, stack, scopes = set(), [out._ctx], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        scopes.add(node.scope)
        stack.extend(p._ctx for p in node.parents)
    for prefix in ("l0", "l0_reverse", "l1", "l1_reverse"):
        assert {f"{prefix}/t={t}" for t in range(3)} <= scopes, sorted(map(str, scopes))
        assert f"{prefix}/input" in scopes


def test_rnn_init_schemes_apply_to_every_layer_and_direction():
    rnn = nn.RNN(2, 3, num_layers=2, bidirectional=True, init="identity")
    for suffix in ("", "_reverse", "_l1", "_l1_reverse"):
        np.testing.assert_array_equal(getattr(rnn, "W" + suffix).data, np.eye(3))
        np.testing.assert_array_equal(getattr(rnn, "b" + suffix).data, np.zeros(3))


def test_repr_shows_the_options_that_differ_from_the_defaults():
    assert repr(nn.GRU(2, 3)) == "GRU(2, 3)"
    assert repr(nn.LSTM(2, 3, num_layers=2, bidirectional=True)) == \
        "LSTM(2, 3, num_layers=2, bidirectional=True)"


# ---------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("options, fragment", [
    ({"num_layers": 0}, "num_layers must be a positive int, got 0"),
    ({"num_layers": 1.5}, "num_layers must be a positive int"),
    ({"dropout": 1.0}, r"dropout must be a probability in \[0, 1\), got 1.0"),
    ({"dropout": -0.1}, "dropout must be a probability"),
    ({"bidirectional": "yes"}, "bidirectional must be a bool"),
    ({"batch_first": 1}, "batch_first must be a bool"),
])
def test_bad_stacking_arguments_are_value_errors_naming_the_layer(name, options, fragment):
    with pytest.raises(ValueError, match=f"{name}: {fragment}"):
        LAYERS[name][0](2, 3, **options)


@pytest.mark.parametrize("name", LAYERS)
def test_wrong_input_rank_or_size_names_the_expected_and_actual_shapes(name):
    with pytest.raises(ValueError, match=rf"{name}: expected input x of shape \(B, T, 2\) "
                                         r"\(batch_first=True.*got shape \(3, 2\)"):
        stacked(name)(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=rf"{name}: expected input x of shape \(T, B, 2\).*"
                                         r"got shape \(3, 1, 5\)"):
        stacked(name, batch_first=False)(np.zeros((3, 1, 5)))


@pytest.mark.parametrize("name", LAYERS)
def test_a_state_of_the_wrong_shape_names_the_expected_and_actual_shapes(name):
    module = stacked(name)
    h0 = np.zeros((2, 1, H))  # (num_layers, B, H) but the layer is bidirectional
    state = (h0, np.zeros((4, 1, H))) if name == "LSTM" else h0
    with pytest.raises(ValueError, match=rf"{name}: expected h0 of shape \(num_layers \* "
                                         r"num_directions, B, H\) = \(4, 1, 2\), got shape "
                                         r"\(2, 1, 2\)"):
        module(np.zeros((1, 3, I)), state)


def test_an_lstm_state_must_be_a_pair():
    with pytest.raises(TypeError, match=r"LSTM: state must be a tuple \(h0, c0\)"):
        stacked("LSTM")(np.zeros((1, 3, I)), np.zeros((4, 1, H)))
