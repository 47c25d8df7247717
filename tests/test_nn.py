"""nn: Module bookkeeping, Linear/MLP/activations/losses, the seed's RNN and the notes' model,
LSTM/GRU against their documented equations, initialisation, graph scopes, and clear errors."""

import numpy as np
import pytest

import tinygrad_rnn.nn as nn
from tinygrad_rnn import Tensor, functional
from tinygrad_rnn.testing.reference import numpy_rnn_forward

RNG = np.random.default_rng(0)


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


NUMPY_ACT = {"tanh": np.tanh, "sigmoid": sigmoid, "relu": lambda a: np.maximum(a, 0)}


def graph_nodes(t):
    """Every graph node behind tensor t (an explicit-stack walk)."""
    seen, stack, nodes = set(), [t._ctx], []
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        nodes.append(node)
        stack.extend(p._ctx for p in node.parents)
    return nodes


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(np.ones(2))
        self.rnn = nn.RNN(2, 3, seed=0)
        self.head = nn.Linear(3, 2, seed=0)

    def forward(self, x):
        hs, _ = self.rnn(x)
        return self.head(hs) * self.scale


# ---------------------------------------------------------------------------------- Module
def test_named_parameters_lists_own_then_submodule_parameters_with_dotted_names():
    names = [name for name, _ in Net().named_parameters()]
    assert names == ["scale", "rnn.U", "rnn.W", "rnn.b", "head.weight", "head.bias"]


def test_submodules_are_discovered_in_assignment_order():
    net = Net()
    assert [name for name, _ in net.named_modules()] == ["", "rnn", "head"]
    assert list(net.children()) == [net.rnn, net.head]


def test_a_shared_parameter_is_listed_once():
    net = Net()
    net.head2 = nn.Linear(3, 2)
    net.head2.weight = net.head.weight
    params = list(net.parameters())
    assert len(params) == len({id(p) for p in params}) == 7


def test_parameters_are_float64_leaves_that_require_grad_by_default():
    for name, p in Net().named_parameters():
        assert isinstance(p, nn.Parameter) and p.requires_grad and p.is_leaf, name
        assert p.dtype == np.float64, f"{name} is {p.dtype}"


def test_zero_grad_clears_every_gradient():
    net = Net()
    net(RNG.standard_normal((4, 2, 2))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_state_dict_returns_copies_and_load_state_dict_restores_values():
    a, b = nn.ElmanRNN(2, 3, 1, seed=1), nn.ElmanRNN(2, 3, 1, seed=2)
    state = a.state_dict()
    state["U"][...] = 0  # a copy: the model is untouched
    assert not np.all(a.U.data == 0)
    b.load_state_dict(a.state_dict())
    for name, p in b.named_parameters():
        np.testing.assert_array_equal(p.data, a.state_dict()[name], err_msg=name)


@pytest.mark.parametrize("change, fragment", [
    (lambda s: s.pop("W"), "missing key 'W'"),
    (lambda s: s.update(extra=np.zeros(1)), "unexpected key 'extra'"),
    (lambda s: s.update(V=np.zeros((5, 5))),
     "wrong shape for key 'V': expected (1, 3), got (5, 5)"),
])
def test_load_state_dict_names_the_bad_key_and_changes_nothing(change, fragment):
    model = nn.ElmanRNN(2, 3, 1, seed=0)
    before = model.state_dict()
    state = nn.ElmanRNN(2, 3, 1, seed=5).state_dict()
    change(state)
    with pytest.raises(nn.StateDictError) as info:
        model.load_state_dict(state)
    assert fragment in str(info.value)
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(p.data, before[name], err_msg=f"{name} changed")


def test_load_state_dict_non_strict_ignores_missing_and_unexpected_keys():
    model = nn.Linear(2, 2, seed=0)
    model.load_state_dict({"weight": np.eye(2), "other": np.zeros(3)}, strict=False)
    np.testing.assert_array_equal(model.weight.data, np.eye(2))


def test_to_float32_converts_parameters_in_place_and_outputs_stay_float32():
    model = nn.ElmanRNN(2, 3, 2, seed=0)
    params_before = list(model.parameters())
    assert model.to(np.float32) is model
    assert [id(p) for p in model.parameters()] == [id(p) for p in params_before]
    assert all(p.dtype == np.float32 for p in model.parameters())
    ys, h = model(RNG.standard_normal((4, 2, 2)))  # arrays are converted to the model's dtype
    assert ys.dtype == np.float32 and h.dtype == np.float32
    assert model.to(np.float64).dtype == np.float64


def test_to_rejects_a_non_float_dtype():
    with pytest.raises(TypeError, match="floating point"):
        nn.Linear(2, 2).to(np.int32)


def test_a_tensor_input_of_another_dtype_is_a_clear_error():
    model = nn.RNN(2, 3).to(np.float32)
    with pytest.raises(TypeError, match="float64.*float32"):
        model(Tensor(np.zeros((2, 1, 2))))


def test_assigning_a_plain_tensor_to_a_parameter_slot_is_an_error():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="parameter 'weight'"):
        layer.weight = Tensor(np.zeros((2, 2)))


def test_a_module_that_skips_super_init_gets_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.zeros(1))

    with pytest.raises(RuntimeError, match="super"):
        Broken()


def test_functional_call_swaps_parameters_temporarily():
    layer = nn.Linear(2, 1, seed=0)
    weight = layer.weight
    out = nn.functional_call(layer, {"weight": Tensor(np.ones((1, 2))), "bias": Tensor([0.0])},
                             np.array([[1.0, 2.0]]))
    assert out.item() == 3.0
    assert layer.weight is weight
    with pytest.raises(nn.StateDictError, match="no parameter 'nope'"):
        nn.functional_call(layer, {"nope": Tensor([1.0])}, np.zeros((1, 2)))


# ---------------------------------------------------------------------------- feed-forward
def test_linear_computes_x_weight_transpose_plus_bias_for_any_leading_axes():
    layer = nn.Linear(3, 2, seed=0)
    x = RNG.standard_normal((4, 5, 3))
    expected = x @ layer.weight.data.T + layer.bias.data
    np.testing.assert_allclose(layer(x).data, expected, rtol=1e-14)
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,)
    assert np.all(np.abs(layer.weight.data) <= 1 / np.sqrt(3))
    assert nn.Linear(3, 2, bias=False).bias is None


@pytest.mark.parametrize("shape", [(3,), (4, 3), (4, 5, 3), (0, 3), (2, 0, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_functional_linear_is_x_weight_transpose_plus_bias_with_its_gradients(shape, bias):
    from tinygrad_rnn import functional as F
    from tinygrad_rnn import gradcheck

    w, b = RNG.standard_normal((2, 3)), RNG.standard_normal(2)
    x = RNG.standard_normal(shape)
    args = [x, w, b] if bias else [x, w]
    out = F.linear(*(Tensor(a) for a in args))
    expected = x @ w.T + (b if bias else 0)
    assert out.shape == shape[:-1] + (2,)
    np.testing.assert_allclose(out.data, expected, rtol=1e-13, atol=1e-15)
    if 0 not in shape:
        assert gradcheck(F.linear, args, eps=1e-6, atol=1e-6, rtol=1e-5)


def test_functional_linear_takes_torchs_1d_weight_and_0d_bias_and_names_other_ranks():
    from tinygrad_rnn import functional as F

    x = RNG.standard_normal((4, 3))
    w1, w2 = RNG.standard_normal(3), RNG.standard_normal((2, 3))
    np.testing.assert_allclose(F.linear(Tensor(x), Tensor(w1), Tensor(0.5)).data,
                               x @ w1 + 0.5, rtol=1e-14)
    np.testing.assert_allclose(F.linear(Tensor(x), Tensor(w2), Tensor(0.5)).data,
                               x @ w2.T + 0.5, rtol=1e-14)
    with pytest.raises(ValueError, match=r"linear: weight must be.*\(1, 2, 3\)"):
        F.linear(Tensor(x), Tensor(np.ones((1, 2, 3))))
    with pytest.raises(ValueError, match=r"linear: .*bias.*\(1, 2\)"):
        F.linear(Tensor(x), Tensor(w2), Tensor(np.ones((1, 2))))


def test_linear_with_a_bias_records_one_addmm_node_over_the_rows():
    layer = nn.Linear(3, 2, seed=0)
    y = layer(Tensor(RNG.standard_normal((4, 5, 3)), requires_grad=True))
    assert y._ctx.name == "Reshape" and y._ctx.parents[0]._ctx.name == "Addmm"


def test_mlp_is_the_notes_input_hidden_output_network():
    mlp = nn.MLP([3, 5, 2], activation="sigmoid", seed=0)
    assert [type(m).__name__ for m in mlp] == ["Linear", "Sigmoid", "Linear"]
    x = RNG.standard_normal((4, 3))
    w1, b1, w2, b2 = (p.data for p in mlp.parameters())
    np.testing.assert_allclose(mlp(x).data, sigmoid(x @ w1.T + b1) @ w2.T + b2, rtol=1e-13)


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "relu"])
def test_activation_modules_equal_their_functions(name):
    x = RNG.standard_normal((3, 4))
    np.testing.assert_allclose(nn.get_activation(name)(Tensor(x)).data, NUMPY_ACT[name](x),
                               rtol=1e-14)


def test_softmax_module_rows_sum_to_one():
    y = nn.Softmax()(Tensor(RNG.standard_normal((3, 4)) * 50))
    np.testing.assert_allclose(y.data.sum(axis=-1), np.ones(3), rtol=1e-14)


def test_loss_modules_equal_their_definitions():
    y, g = RNG.standard_normal((3, 2, 4)), RNG.standard_normal((3, 2, 4))
    assert nn.SquaredError()(Tensor(y), g).item() == pytest.approx(0.5 * np.sum((y - g) ** 2))
    assert nn.MSELoss()(Tensor(y), g).item() == pytest.approx(np.mean((y - g) ** 2))
    labels = RNG.integers(0, 2, size=(3, 4))  # classes on dim 1, as PyTorch: y is (N, C, d)
    logp = y - np.log(np.exp(y).sum(axis=1, keepdims=True))
    expected = -np.mean(np.take_along_axis(logp, labels[:, None], 1))
    assert nn.CrossEntropyLoss()(Tensor(y), labels).item() == pytest.approx(expected)
    assert nn.NLLLoss()(Tensor(logp), labels).item() == pytest.approx(expected)
    assert nn.functional is functional


# ------------------------------------------------------------------------------ recurrent
@pytest.mark.parametrize("nonlinearity", ["tanh", "sigmoid", "relu"])
def test_rnn_cell_computes_the_seed_unit(nonlinearity):
    cell = nn.RNNCell(3, 4, nonlinearity=nonlinearity, seed=0)
    x, h = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 4))
    U, W, b = cell.U.data, cell.W.data, cell.b.data
    expected = NUMPY_ACT[nonlinearity](x @ U.T + h @ W.T + b)
    np.testing.assert_allclose(cell(x, h).data, expected, rtol=1e-14)
    assert (cell.U.shape, cell.W.shape, cell.b.shape) == ((4, 3), (4, 4), (4,))


@pytest.mark.parametrize("with_h0", [False, True])
def test_rnn_layer_equals_stepping_the_cell(with_h0):
    rnn, cell = nn.RNN(3, 4, seed=0), nn.RNNCell(3, 4, seed=1)
    cell.load_state_dict(rnn.state_dict())
    x = RNG.standard_normal((5, 2, 3))
    h0 = RNG.standard_normal((2, 4)) if with_h0 else None
    hs, h_T = rnn(x, h0)
    h = h0
    for t in range(5):
        h = cell(x[t], h)
        np.testing.assert_allclose(hs.data[t], h.data, rtol=1e-13, err_msg=f"step {t}")
    np.testing.assert_array_equal(h_T.data, hs.data[-1])
    assert hs.shape == (5, 2, 4) and len(rnn.unroll(x, h0)) == 5


@pytest.mark.parametrize("output", ["identity", "softmax"])
def test_elman_rnn_is_the_notes_model_with_their_parameter_names(output):
    model = nn.ElmanRNN(3, 4, 2, output=output, seed=0)
    shapes = {name: p.shape for name, p in model.named_parameters()}
    assert shapes == {"U": (4, 3), "W": (4, 4), "b": (4,), "V": (2, 4), "c": (2,)}
    x, h0 = RNG.standard_normal((6, 2, 3)), RNG.standard_normal((2, 4))
    ys, h_T = model(x, h0)
    p = model.state_dict()
    expected, hs = numpy_rnn_forward(x, p["U"], p["W"], p["b"], p["V"], p["c"], h0,
                                     output=output)
    np.testing.assert_allclose(ys.data, expected, rtol=1e-12)
    np.testing.assert_allclose(h_T.data, hs[-1], rtol=1e-12)
    assert model.rnn.U is model.U and model.rnn.W is model.W


def test_default_init_is_uniform_within_one_over_sqrt_hidden():
    H = 16
    for model in (nn.ElmanRNN(3, H, 2, seed=0), nn.LSTM(3, H, seed=0), nn.GRU(3, H, seed=0)):
        for name, p in model.named_parameters():
            assert np.all(np.abs(p.data) <= 1 / np.sqrt(H)), f"{type(model).__name__}.{name}"


def test_same_seed_gives_identical_parameters_and_manual_seed_controls_the_default():
    a, b = nn.ElmanRNN(2, 5, 1, seed=3), nn.ElmanRNN(2, 5, 1, seed=3)
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
    nn.init.manual_seed(11)
    first = nn.RNN(2, 3).W.data.copy()
    nn.init.manual_seed(11)
    np.testing.assert_array_equal(nn.RNN(2, 3).W.data, first)


@pytest.mark.parametrize("rho", [0.5, 1.0, 3.0])
@pytest.mark.parametrize("init", ["default", "orthogonal", "identity"])
def test_spectral_radius_option_sets_rho_of_W(rho, init):
    rnn = nn.RNN(2, 6, init=init, spectral_radius=rho, seed=0)
    assert nn.init.spectral_radius(rnn.W) == pytest.approx(rho, rel=1e-10)


def test_orthogonal_and_identity_inits():
    W = nn.RNN(2, 5, init="orthogonal", seed=0).W.data
    np.testing.assert_allclose(W @ W.T, np.eye(5), atol=1e-12)
    irnn = nn.RNN(2, 5, init="identity", nonlinearity="relu", seed=0)
    np.testing.assert_array_equal(irnn.W.data, np.eye(5))
    np.testing.assert_array_equal(irnn.b.data, np.zeros(5))
    Q = nn.init.orthogonal_(np.empty((8, 3)), rng=0)
    np.testing.assert_allclose(Q.T @ Q, np.eye(3), atol=1e-12)


def test_unrolled_graph_tags_every_step_and_hoists_the_projections():
    model = nn.ElmanRNN(2, 3, 2, seed=0)
    ys, _ = model(RNG.standard_normal((4, 2, 2)), Tensor(np.zeros((2, 3)), requires_grad=True))
    nodes = graph_nodes(ys)
    scopes = {node.scope for node in nodes}
    assert {"input", "output", "t=0", "t=1", "t=2", "t=3"} <= scopes
    for t in range(4):
        ops = sorted(n.name for n in nodes if n.scope == f"t={t}")
        assert ops == ["Addmm", "Tanh"], f"step {t} has {ops}"
    names = [n.name for n in nodes]
    assert names.count("Unbind") == 1 and "GetItem" not in names
    assert names.count("Permute") == 3, "Uᵀ, Wᵀ and Vᵀ are each built once per forward"


def test_step_scopes_nest_under_an_enclosing_scope():
    from tinygrad_rnn import scope
    with scope("batch0"):
        hs, _ = nn.RNN(1, 2, seed=0)(Tensor(np.ones((2, 1, 1)), requires_grad=True))
    assert {"batch0/t=0", "batch0/t=1", "batch0/input"} <= {n.scope for n in graph_nodes(hs)}


# ---------------------------------------------------------------------------- LSTM and GRU
def numpy_lstm(x, h, c, U, W, b):
    """The documented LSTM: gate blocks [i | f | g | o]."""
    H = W.shape[1]
    a = x @ U.T + h @ W.T + b
    i, f, g, o = (a[:, k * H:(k + 1) * H] for k in range(4))
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c), c


def numpy_gru(x, h, U, W, b, b_hn):
    """The documented GRU: gate blocks [r | z | n], r applied to h W_nᵀ + b_hn."""
    H = W.shape[1]
    ax, ah = x @ U.T + b, h @ W.T
    r = sigmoid(ax[:, :H] + ah[:, :H])
    z = sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
    n = np.tanh(ax[:, 2 * H:] + r * (ah[:, 2 * H:] + b_hn))
    return (1 - z) * n + z * h


@pytest.mark.parametrize("with_state", [False, True])
def test_lstm_follows_the_documented_gate_order(with_state):
    lstm = nn.LSTM(3, 4, seed=0)
    x = RNG.standard_normal((5, 2, 3))
    h, c = (RNG.standard_normal((2, 4)), RNG.standard_normal((2, 4))) if with_state else \
        (np.zeros((2, 4)), np.zeros((2, 4)))
    hs, (h_T, c_T) = lstm(x, (h, c) if with_state else None)
    U, W, b = (p.data for p in lstm.parameters())
    for t in range(5):
        h, c = numpy_lstm(x[t], h, c, U, W, b)
        np.testing.assert_allclose(hs.data[t], h, rtol=1e-12, err_msg=f"h at step {t}")
    np.testing.assert_allclose(c_T.data, c, rtol=1e-12)
    cell = nn.LSTMCell(3, 4)
    cell.load_state_dict(lstm.state_dict())
    zeros = np.zeros((2, 4))
    np.testing.assert_allclose(cell(x[0])[0].data, numpy_lstm(x[0], zeros, zeros, U, W, b)[0],
                               rtol=1e-12)


@pytest.mark.parametrize("with_state", [False, True])
def test_gru_follows_the_documented_gate_order(with_state):
    gru = nn.GRU(3, 4, seed=0)
    x = RNG.standard_normal((5, 2, 3))
    h = RNG.standard_normal((2, 4)) if with_state else np.zeros((2, 4))
    hs, h_T = gru(x, h if with_state else None)
    U, W, b, b_hn = (p.data for p in gru.parameters())
    for t in range(5):
        h = numpy_gru(x[t], h, U, W, b, b_hn)
        np.testing.assert_allclose(hs.data[t], h, rtol=1e-12, err_msg=f"h at step {t}")
    cell = nn.GRUCell(3, 4)
    cell.load_state_dict(gru.state_dict())
    np.testing.assert_allclose(cell(x[0], h).data, numpy_gru(x[0], h, U, W, b, b_hn),
                               rtol=1e-12)
    zeros = np.zeros((2, 4))  # the cell's h = None is h = 0, where b_hn still counts
    np.testing.assert_allclose(cell(x[0]).data, numpy_gru(x[0], zeros, U, W, b, b_hn),
                               rtol=1e-12)


# ------------------------------------------------------------------------------ bad input
SEQUENCE_LAYERS = {
    "RNN": lambda: nn.RNN(3, 4), "ElmanRNN": lambda: nn.ElmanRNN(3, 4, 2),
    "LSTM": lambda: nn.LSTM(3, 4), "GRU": lambda: nn.GRU(3, 4),
}
CELLS = {"RNNCell": lambda: nn.RNNCell(3, 4), "LSTMCell": lambda: nn.LSTMCell(3, 4),
         "GRUCell": lambda: nn.GRUCell(3, 4)}


@pytest.mark.parametrize("name", SEQUENCE_LAYERS)
@pytest.mark.parametrize("shape", [(2, 3), (5, 2, 7), (0, 2, 3), (1, 5, 2, 3)])
def test_sequence_layers_name_expected_and_actual_input_shapes(name, shape):
    with pytest.raises(ValueError) as info:
        SEQUENCE_LAYERS[name]()(np.zeros(shape))
    message = str(info.value)
    assert name in message and "(T, B, 3)" in message and str(shape) in message, message


@pytest.mark.parametrize("name", SEQUENCE_LAYERS)
def test_sequence_layers_name_expected_and_actual_state_shapes(name):
    layer = SEQUENCE_LAYERS[name]()
    bad = np.zeros((3, 4))  # batch is 2
    state = (bad, np.zeros((2, 4))) if name == "LSTM" else bad
    with pytest.raises(ValueError, match=r"\(2, 4\).*\(3, 4\)"):
        layer(np.zeros((5, 2, 3)), state)


@pytest.mark.parametrize("name", CELLS)
def test_cells_name_expected_and_actual_shapes(name):
    with pytest.raises(ValueError, match=r"\(B, 3\).*\(2, 5\)"):
        CELLS[name]()(np.zeros((2, 5)))


def test_lstm_state_must_be_a_pair():
    with pytest.raises(TypeError, match=r"tuple \(h, c\)"):
        nn.LSTM(3, 4)(np.zeros((2, 1, 3)), np.zeros((1, 4)))


@pytest.mark.parametrize("make", [
    lambda: nn.RNN(3, 4, nonlinearity="softsign"), lambda: nn.RNNCell(3, 4, nonlinearity="gelu"),
    lambda: nn.ElmanRNN(3, 4, 2, nonlinearity="elu"),
])
def test_unknown_nonlinearity_is_a_clear_error(make):
    expected = r"unknown nonlinearity '\w+'; expected one of \['relu', 'sigmoid', 'tanh'\]"
    with pytest.raises(ValueError, match=expected):
        make()


@pytest.mark.parametrize("make, fragment", [
    (lambda: nn.ElmanRNN(3, 4, 2, output="sigmoid"), "output must be one of"),
    (lambda: nn.RNN(3, 4, init="xavier"), "init must be one of"),
    (lambda: nn.RNN(0, 4), "input_size must be a positive int"),
    (lambda: nn.LSTM(3, 2.5), "hidden_size must be a positive int"),
    (lambda: nn.Linear(3, -1), "out_features must be a positive int"),
    (lambda: nn.MLP([3]), "at least two layer sizes"),
    (lambda: nn.MLP([3, 4], output_activation="swish"), "unknown activation 'swish'"),
    (lambda: nn.RNN(3, 4, spectral_radius=-1.0), "rho must be finite and >= 0"),
    (lambda: nn.RNN(3, 4, seed="x"), "seed must be"),
])
def test_bad_constructor_arguments_are_clear_errors(make, fragment):
    with pytest.raises((ValueError, TypeError), match=fragment):
        make()


def test_linear_and_mlp_name_the_expected_feature_size():
    with pytest.raises(ValueError, match=r"Linear: expected input of shape \(\.\.\., 3\), got"):
        nn.Linear(3, 2)(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        nn.MLP([3, 4, 1])(np.zeros((4, 5)))


def test_non_numeric_input_is_a_type_error():
    with pytest.raises(TypeError, match="RNN: input x must be a Tensor or an array of numbers"):
        nn.RNN(3, 4)([["a", "b", "c"]])


@pytest.mark.parametrize("loss, args, fragment", [
    (nn.SquaredError(), (Tensor(np.zeros((2, 3))), np.zeros((3, 2))), "squared_error"),
    (nn.MSELoss(), (Tensor(np.zeros((2, 3))), np.zeros(3)), "mse_loss"),
    (nn.CrossEntropyLoss(), (Tensor(np.zeros((2, 3))), np.array([0, 3])), "cross_entropy"),
    (nn.CrossEntropyLoss(), (Tensor(np.zeros((2, 3))), np.array([0.5, 1.0])), "integer"),
    (nn.SquaredError(), (np.zeros(2), np.zeros(2)), "expected a Tensor"),
])
def test_losses_reject_bad_input_clearly(loss, args, fragment):
    with pytest.raises((ValueError, TypeError), match=fragment):
        loss(*args)


def test_activation_modules_reject_non_tensors():
    with pytest.raises(TypeError, match="Tanh: expected a Tensor"):
        nn.Tanh()(np.zeros(3))
