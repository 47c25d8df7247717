"""Optimizers follow PyTorch's update rules exactly, their state survives an .npz round trip,
and gradient clipping returns the total norm and clips in place."""

import numpy as np
import pytest

import tinygrad_rnn.nn as nn
import tinygrad_rnn.optim as optim
from tinygrad_rnn import Tensor
from tinygrad_rnn.io import load_npz, save_npz

GRADS = [np.array([0.5, -1.0, 2.0]), np.array([-0.3, 0.2, 0.1]), np.array([1.5, 0.0, -0.7])]
START = np.array([1.0, -2.0, 0.5])


def run(make_optimizer, steps=3, dtype=np.float64):
    """Apply GRADS[k] as the gradient at step k; return the parameter after each step."""
    p = nn.Parameter(START, dtype=dtype)
    opt = make_optimizer([p])
    history = []
    for g in GRADS[:steps]:
        p.grad = g.astype(dtype)
        opt.step()
        history.append(p.data.copy())
    return history


def reference_sgd(lr, momentum=0.0, weight_decay=0.0, nesterov=False):
    p, buf, out = START.copy(), None, []
    for g in GRADS:
        d = g + weight_decay * p
        if momentum:
            buf = d.copy() if buf is None else momentum * buf + d
            d = d + momentum * buf if nesterov else buf
        p = p - lr * d
        out.append(p)
    return out


@pytest.mark.parametrize("kwargs", [
    {"lr": 0.1}, {"lr": 0.1, "momentum": 0.9}, {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.1},
    {"lr": 0.1, "momentum": 0.9, "nesterov": True},
])
def test_sgd_follows_the_pytorch_update_rule(kwargs):
    got = run(lambda ps: optim.SGD(ps, **kwargs))
    for step, (a, b) in enumerate(zip(got, reference_sgd(**kwargs))):
        np.testing.assert_allclose(a, b, rtol=1e-14, err_msg=f"SGD {kwargs} step {step}")


def test_adam_follows_the_bias_corrected_update_rule():
    lr, b1, b2, eps = 0.01, 0.8, 0.9, 1e-8
    p, m, v, expected = START.copy(), np.zeros(3), np.zeros(3), []
    for t, g in enumerate(GRADS, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        expected.append(p)
    got = run(lambda ps: optim.Adam(ps, lr=lr, betas=(b1, b2), eps=eps))
    for step, (a, b) in enumerate(zip(got, expected)):
        np.testing.assert_allclose(a, b, rtol=1e-13, err_msg=f"Adam step {step}")


def test_adagrad_follows_the_min_char_rnn_update_rule():
    lr, eps = 0.1, 1e-8
    p, s, expected = START.copy(), np.zeros(3), []
    for g in GRADS:
        s = s + g * g
        p = p - lr * g / (np.sqrt(s) + eps)
        expected.append(p)
    for step, (a, b) in enumerate(zip(run(lambda ps: optim.Adagrad(ps, lr=lr)), expected)):
        np.testing.assert_allclose(a, b, rtol=1e-14, err_msg=f"Adagrad step {step}")


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), lambda ps: optim.Adam(ps, lr=0.1),
    lambda ps: optim.Adagrad(ps, lr=0.5),
])
def test_optimizers_keep_float32_parameters_float32(make):
    assert all(p.dtype == np.float32 for p in run(make, dtype=np.float32))


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.5), lambda ps: optim.Adam(ps, lr=0.1),
    lambda ps: optim.Adagrad(ps, lr=0.5),
])
def test_optimizers_minimise_a_quadratic(make):
    target = np.array([1.0, -2.0, 3.0])
    p = nn.Parameter(np.zeros(3))
    opt = make([p])
    for _ in range(300):
        opt.zero_grad()
        ((p - target) ** 2).sum().backward()
        opt.step()
    np.testing.assert_allclose(p.data, target, atol=1e-2)


def test_parameters_without_a_gradient_are_left_alone():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = np.ones(2)
    opt.step()
    np.testing.assert_array_equal(b.data, np.ones(2))
    assert "state.1.exp_avg" not in opt.state_dict()


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
    lambda ps: optim.Adam(ps, lr=0.1, betas=(0.5, 0.6)), lambda ps: optim.Adagrad(ps, lr=0.3),
])
def test_state_dict_through_an_npz_file_resumes_exactly(make, tmp_path):
    uninterrupted = run(make)[-1]
    p = nn.Parameter(START)
    opt = make([p])
    for g in GRADS[:2]:
        p.grad = g
        opt.step()
    state = opt.state_dict()
    save_npz(tmp_path / "opt.npz", {k: np.asarray(v) for k, v in state.items()})
    arrays, _ = load_npz(tmp_path / "opt.npz")
    assert all(a.dtype != object for a in arrays.values())
    resumed_p = nn.Parameter(p.data)
    resumed = make([resumed_p])
    resumed.load_state_dict(arrays)
    resumed_p.grad = GRADS[2]
    resumed.step()
    np.testing.assert_array_equal(resumed_p.data, uninterrupted)


def test_state_dict_keys_are_flat_and_values_plain():
    p = nn.Parameter(np.ones((2, 2)))
    opt = optim.Adam([p], lr=0.1)
    p.grad = np.ones((2, 2))
    opt.step()
    state = opt.state_dict()
    assert state["optimizer"] == "Adam" and state["betas"] == [0.9, 0.999]
    assert set(state) == {"optimizer", "lr", "betas", "eps", "weight_decay", "state.0.step",
                          "state.0.exp_avg", "state.0.exp_avg_sq"}
    state["state.0.exp_avg"][...] = 7  # a copy
    assert not np.any(opt.state[0]["exp_avg"] == 7)


@pytest.mark.parametrize("change, fragment", [
    (lambda s: s.update({"state.0.exp_avg": np.zeros(5)}), "wrong shape for key 'state.0.exp_avg'"),
    (lambda s: s.update({"state.3.exp_avg": np.zeros(4)}), "unexpected key 'state.3.exp_avg'"),
    (lambda s: s.pop("lr"), "missing key 'lr'"),
    (lambda s: s.update(optimizer="SGD"), "belongs to a SGD optimizer"),
])
def test_load_state_dict_names_the_bad_key(change, fragment):
    p = nn.Parameter(np.ones(4))
    opt = optim.Adam([p])
    p.grad = np.ones(4)
    opt.step()
    state = opt.state_dict()
    change(state)
    with pytest.raises(ValueError) as info:
        optim.Adam([nn.Parameter(np.ones(4))]).load_state_dict(state)
    assert fragment in str(info.value)


@pytest.mark.parametrize("make, fragment", [
    (lambda: optim.SGD([], lr=0.1), "empty parameter list"),
    (lambda: optim.SGD([np.ones(2)], lr=0.1), "not a Tensor"),
    (lambda: optim.SGD(Tensor([1.0], requires_grad=True), lr=0.1), "single Tensor"),
    (lambda: optim.SGD([Tensor([1.0])], lr=0.1), "requires_grad=True"),
    (lambda: optim.SGD([Tensor([1.0], requires_grad=True) * 2], lr=0.1), "leaf"),
    (lambda: optim.SGD([nn.Parameter([1.0])] * 2, lr=0.1), "appears twice"),
    (lambda: optim.SGD([nn.Parameter([1.0])], lr=-1), "lr must be a finite number >= 0"),
    (lambda: optim.SGD([nn.Parameter([1.0])], lr=0.1, nesterov=True), "nesterov"),
    (lambda: optim.Adam([nn.Parameter([1.0])], betas=(0.9, 1.0)), "betas"),
    (lambda: optim.Adagrad([nn.Parameter([1.0])], eps=float("nan")), "eps"),
])
def test_bad_optimizer_arguments_are_clear_errors(make, fragment):
    with pytest.raises((ValueError, TypeError), match=fragment):
        make()


# ---------------------------------------------------------------------------------- clipping
def params_with_grads(*grads):
    out = []
    for g in grads:
        p = nn.Parameter(np.zeros_like(g))
        p.grad = np.array(g, dtype=float)
        out.append(p)
    return out


def test_clip_grad_norm_returns_the_total_norm_and_scales_to_max_norm():
    params = params_with_grads([3.0, 0.0], [0.0, 4.0])
    total = nn.utils.clip_grad_norm_(params, max_norm=1.0)
    assert total == pytest.approx(5.0, rel=1e-15)
    clipped = np.sqrt(sum(np.sum(p.grad ** 2) for p in params))
    assert clipped == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(params[0].grad / params[1].grad[1], [0.75, 0.0])


def test_clip_grad_norm_leaves_small_gradients_alone_and_supports_the_max_norm():
    params = params_with_grads([0.3, -0.4])
    assert nn.utils.clip_grad_norm_(params, 1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(params[0].grad, [0.3, -0.4])
    assert nn.utils.clip_grad_norm_(params, 1.0, norm_type=float("inf")) == pytest.approx(0.4)


def test_clip_grad_norm_reports_non_finite_norms():
    params = params_with_grads([np.inf, 1.0])
    assert nn.utils.clip_grad_norm_(params, 1.0) == np.inf
    with pytest.raises(RuntimeError, match="total gradient norm is inf"):
        nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)


def test_clip_grad_value_clamps_every_element():
    params = params_with_grads([-3.0, 0.5, 2.0])
    nn.utils.clip_grad_value_(params, 1.0)
    np.testing.assert_array_equal(params[0].grad, [-1.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="clip_value must be >= 0"):
        nn.utils.clip_grad_value_(params, -1.0)
