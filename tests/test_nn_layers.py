"""nn: train/eval modes, requires_grad_, zero_grad(set_to_none), the containers Sequential,
ModuleList and ModuleDict, Dropout, Embedding, LayerNorm, and the loss modules' keyword
arguments."""

import numpy as np
import pytest

import tinygrad_rnn.nn as nn
from tinygrad_rnn import Tensor, functional
from tinygrad_rnn.gradcheck import gradcheck

RNG = np.random.default_rng(0)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3, seed=0)
        self.drop = nn.Dropout(0.5, generator=0)
        self.layers = nn.ModuleList([nn.Linear(3, 3, seed=1), nn.Tanh()])

    def forward(self, x):
        return self.layers[0](self.drop(self.lin(x)))


# ---------------------------------------------------------------------------------- modes
def test_train_and_eval_set_training_on_every_submodule_and_return_self():
    block = Block()
    assert all(m.training for m in block.modules())
    assert block.eval() is block and not any(m.training for m in block.modules())
    assert block.train() is block and all(m.training for m in block.modules())
    block.train(False)
    assert not block.layers[1].training


def test_train_mode_must_be_a_bool():
    with pytest.raises(TypeError, match="Block.train: mode must be a bool"):
        Block().train("no")


def test_requires_grad_false_freezes_every_parameter():
    block = Block()
    assert block.requires_grad_(False) is block
    assert not any(p.requires_grad for p in block.parameters())
    block.requires_grad_()
    assert all(p.requires_grad for p in block.parameters())


def test_zero_grad_sets_none_by_default_and_fresh_zeros_on_request():
    block = Block()
    block(Tensor(RNG.standard_normal((2, 3)))).sum().backward()
    grads = {name: p.grad for name, p in block.named_parameters()}
    block.zero_grad(set_to_none=False)
    for name, p in block.named_parameters():
        assert p.grad is not grads[name] and not p.grad.any(), name
        assert grads[name].any() or name.startswith("layers.1"), "old arrays are left alone"
    block.zero_grad()
    assert all(p.grad is None for p in block.parameters())


# ----------------------------------------------------------------------------- containers
def test_sequential_names_children_like_pytorch_and_supports_list_operations():
    seq = nn.Sequential(nn.Linear(2, 3, seed=0), nn.Tanh())
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
    seq.append(nn.Linear(3, 1, seed=1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear) and isinstance(seq[1], nn.Tanh)
    assert [n for n, _ in seq.named_parameters()][-2:] == ["2.weight", "2.bias"]
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is seq[0]
    x = Tensor(RNG.standard_normal((4, 2)))
    np.testing.assert_allclose(seq(x).data, seq[2](seq[1](seq[0](x))).data)
    seq.insert(0, nn.Identity())
    assert [n for n, _ in seq.named_parameters()][:2] == ["1.weight", "1.bias"]
    del seq[0]
    assert [n for n, _ in seq.named_parameters()][:2] == ["0.weight", "0.bias"]
    with pytest.raises(IndexError, match="Sequential: index 5 is out of range for 3 modules"):
        seq[5]
    with pytest.raises(TypeError, match="Sequential.append: argument is a int, not a Module"):
        seq.append(3)


def test_module_list_registers_parameters_and_round_trips_a_state_dict():
    layers = nn.ModuleList([nn.Linear(2, 2, seed=i) for i in range(2)])
    layers.extend([nn.Linear(2, 1, seed=2)])
    layers.insert(1, nn.Linear(2, 2, seed=3))
    assert len(layers) == 4 and [type(m) for m in layers] == [nn.Linear] * 4
    names = [n for n, _ in layers.named_parameters()]
    assert names == [f"{i}.{w}" for i in range(4) for w in ("weight", "bias")]
    state = layers.state_dict()
    other = nn.ModuleList([nn.Linear(2, 2, seed=9) for _ in range(3)] + [nn.Linear(2, 1)])
    other.load_state_dict(state)
    for (name, a), (_, b) in zip(layers.named_parameters(), other.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)
    layers[0] = nn.Linear(2, 2, seed=5)
    assert layers[0].weight is not other[0].weight
    assert isinstance(layers[1:], nn.ModuleList) and len(layers[1:]) == 3


def test_module_dict_registers_parameters_by_key_and_behaves_as_a_dict():
    heads = nn.ModuleDict({"mean": nn.Linear(3, 1, seed=0), "scale": nn.Linear(3, 1, seed=1)})
    assert [n for n, _ in heads.named_parameters()] == ["mean.weight", "mean.bias",
                                                         "scale.weight", "scale.bias"]
    assert list(heads) == ["mean", "scale"] and "mean" in heads and len(heads) == 2
    heads["extra"] = nn.Tanh()
    assert heads.keys() == ["mean", "scale", "extra"]
    assert isinstance(heads.pop("extra"), nn.Tanh) and "extra" not in heads
    restored = nn.ModuleDict([("mean", nn.Linear(3, 1)), ("scale", nn.Linear(3, 1))])
    restored.load_state_dict(heads.state_dict())
    np.testing.assert_array_equal(restored["scale"].weight.data, heads["scale"].weight.data)
    with pytest.raises(KeyError, match="would hide an attribute"):
        heads["keys"] = nn.Tanh()
    with pytest.raises(KeyError, match="without '.'"):
        heads["a.b"] = nn.Tanh()


def test_a_module_inside_a_container_inside_a_module_gets_a_dotted_name():
    assert [n for n, _ in Block().named_parameters()] == [
        "lin.weight", "lin.bias", "layers.0.weight", "layers.0.bias"]


# -------------------------------------------------------------------------------- dropout
def test_dropout_scales_kept_units_by_one_over_keep_in_train_and_is_identity_in_eval():
    x = Tensor(np.ones((200, 50)))
    drop = nn.Dropout(0.3, generator=np.random.default_rng(0))
    y = drop(x).data
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.7], rtol=1e-15)
    assert abs((y == 0).mean() - 0.3) < 0.02
    assert drop.eval()(x) is x
    assert nn.Dropout(0.0)(x) is x


def test_dropout_with_the_same_seed_draws_the_same_masks():
    x = Tensor(np.ones((4, 5)))
    a, b = nn.Dropout(0.5, generator=7), nn.Dropout(0.5, generator=7)
    np.testing.assert_array_equal(a(x).data, b(x).data)
    assert not np.array_equal(a(x).data, nn.Dropout(0.5, generator=8)(x).data)


def test_dropout_gradient_is_the_mask_over_keep():
    x = Tensor(np.ones((3, 4)), requires_grad=True)
    y = nn.Dropout(0.5, generator=1)(x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)  # x = 1: y is exactly mask / (1 − p)


def test_dropout_p_one_gives_zeros_and_bad_p_is_a_value_error():
    np.testing.assert_array_equal(nn.Dropout(1.0)(Tensor(np.ones(3))).data, np.zeros(3))
    for p in (-0.1, 1.5, "half"):
        with pytest.raises(ValueError, match=r"Dropout: p must be a probability in \[0, 1\]"):
            nn.Dropout(p)


# ------------------------------------------------------------------------------ embedding
def test_embedding_looks_up_rows_and_repeated_indices_accumulate_gradients():
    emb = nn.Embedding(5, 3, seed=0)
    idx = np.array([[1, 3, 1], [0, 1, 4]])
    y = emb(idx)
    assert y.shape == (2, 3, 3)
    np.testing.assert_array_equal(y.data, emb.weight.data[idx])
    y.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad[:, 0], [1, 3, 0, 1, 1])


def test_embedding_padding_row_starts_at_zero_and_gets_no_gradient():
    emb = nn.Embedding(4, 2, padding_idx=-1, seed=0)
    assert emb.padding_idx == 3 and not emb.weight.data[3].any()
    emb.weight.data[3] = 5.0  # as PyTorch, the row's value is still looked up
    y = emb(np.array([3, 0, 3]))
    np.testing.assert_array_equal(y.data[0], [5.0, 5.0])
    (y * y).sum().backward()
    assert not emb.weight.grad[3].any() and emb.weight.grad[0].any()


def test_embedding_from_pretrained_is_frozen_by_default():
    table = np.arange(6.0).reshape(3, 2)
    emb = nn.Embedding.from_pretrained(table)
    assert not emb.weight.requires_grad
    np.testing.assert_array_equal(emb(np.array([2])).data, [[4.0, 5.0]])
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad


def test_embedding_rejects_bad_indices_and_arguments():
    emb = nn.Embedding(3, 2)
    with pytest.raises(ValueError, match=r"Embedding: indices must lie in \[0, 3\), got values "
                                         r"from 0 to 3"):
        emb(np.array([0, 3]))
    with pytest.raises(TypeError, match="Embedding: indices must be integers"):
        emb(np.array([0.5]))
    with pytest.raises(ValueError, match=r"padding_idx must be an int in \[-3, 3\)"):
        nn.Embedding(3, 2, padding_idx=3)


# ------------------------------------------------------------------------------ layernorm
def test_layer_norm_normalises_the_last_axes_with_the_biased_variance():
    x = RNG.standard_normal((4, 2, 3)) * 3 + 1
    norm = nn.LayerNorm((2, 3), eps=1e-5)
    norm.weight.data = RNG.standard_normal((2, 3))
    norm.bias.data = RNG.standard_normal((2, 3))
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = ((x - mean) ** 2).mean(axis=(1, 2), keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-5) * norm.weight.data + norm.bias.data
    np.testing.assert_allclose(norm(x).data, expected, rtol=1e-12)
    plain = nn.LayerNorm(3, elementwise_affine=False)
    assert list(plain.parameters()) == []
    np.testing.assert_allclose(plain(x).data.mean(axis=-1), 0, atol=1e-12)
    assert plain(Tensor(x.astype(np.float32))).dtype == np.float32


def test_layer_norm_grad_matches_central_differences():
    norm = nn.LayerNorm(4)
    norm.weight.data, norm.bias.data = RNG.standard_normal(4), RNG.standard_normal(4)

    def f(x, w, b):
        return nn.functional_call(norm, {"weight": w, "bias": b}, x)
    assert gradcheck(f, [Tensor(RNG.standard_normal((3, 4)), requires_grad=True),
                         norm.weight, norm.bias])


def test_layer_norm_names_the_expected_trailing_shape():
    with pytest.raises(ValueError, match=r"LayerNorm: expected input of shape \(\.\.\., 2, 3\), "
                                         r"got shape \(4, 3\)"):
        nn.LayerNorm((2, 3))(np.zeros((4, 3)))


# --------------------------------------------------------------------------------- losses
def test_loss_modules_pass_their_keyword_arguments_to_functional():
    logits = Tensor(RNG.standard_normal((5, 3)))
    target = np.array([0, 2, 1, 2, -100])
    weight = np.array([0.2, 1.0, 3.0])
    kwargs = {"weight": weight, "ignore_index": -100, "reduction": "sum"}
    assert nn.CrossEntropyLoss(**kwargs, label_smoothing=0.1)(logits, target).item() == \
        functional.cross_entropy(logits, target, **kwargs, label_smoothing=0.1).item()
    logp = functional.log_softmax(logits, axis=1)
    np.testing.assert_array_equal(nn.NLLLoss(reduction="none")(logp, target).data,
                                  functional.nll_loss(logp, target, reduction="none").data)
    assert nn.NLLLoss(weight=weight)(logp, target).item() == \
        functional.nll_loss(logp, target, weight=weight).item()
    y, g = Tensor(RNG.standard_normal((2, 3))), RNG.standard_normal((2, 3))
    assert nn.MSELoss(reduction="sum")(y, g).item() == pytest.approx(((y.data - g) ** 2).sum())


def test_loss_modules_show_their_settings():
    assert repr(nn.CrossEntropyLoss(label_smoothing=0.2)) == \
        "CrossEntropyLoss(ignore_index=-100, reduction='mean', label_smoothing=0.2)"
