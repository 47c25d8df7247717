"""Parameter groups carry their own hyperparameters; state_dict has PyTorch's layout and resumes
bit-identically (also through a checkpoint file); a state_dict that does not fit raises one
ValueError naming each misfit and changes nothing; the library's old flat format still loads."""

import numpy as np
import pytest

import tinygrad_rnn.nn as nn
import tinygrad_rnn.optim as optim
from tinygrad_rnn.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from tinygrad_rnn.io import load_npz, save_npz

GRADS = [[0.5, -1.0, 2.0], [-0.3, 0.2, 0.1], [1.5, 0.0, -0.7], [0.25, -0.5, 0.0]]


def two_groups(make, **second):
    """An optimizer over a (3,) and a (2, 3) parameter in two groups; `second` for group 1."""
    a, b = nn.Parameter([1.0, -2.0, 0.5]), nn.Parameter(np.arange(6.0).reshape(2, 3) / 5)
    return make([{"params": [a]}, {"params": [b], **second}]), a, b


def apply(opt, params, grads):
    for g in grads:
        for k, p in enumerate(params):
            p.grad = np.broadcast_to(np.array(g) * (k + 1), p.shape).copy()
        opt.step()


MAKERS = {
    "SGD": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01),
    "Adam": lambda ps: optim.Adam(ps, lr=0.1, betas=(0.5, 0.6), amsgrad=True),
    "AdamW": lambda ps: optim.AdamW(ps, lr=0.1),
    "Adagrad": lambda ps: optim.Adagrad(ps, lr=0.3, lr_decay=0.1),
    "RMSprop": lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
}


# --------------------------------------------------------------------------- param_groups
def test_groups_with_different_lr_update_differently():
    opt, a, b = two_groups(lambda gs: optim.SGD(gs, lr=0.1), lr=1.0)
    a.grad, b.grad = np.ones(3), np.ones((2, 3))
    before_a, before_b = a.data.copy(), b.data.copy()
    opt.step()
    np.testing.assert_allclose(before_a - a.data, 0.1)
    np.testing.assert_allclose(before_b - b.data, 1.0)


def test_a_group_takes_missing_hyperparameters_from_the_defaults():
    opt, _, _ = two_groups(lambda gs: optim.SGD(gs, lr=0.1, momentum=0.5), momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.1]
    assert [g["momentum"] for g in opt.param_groups] == [0.5, 0.9]
    assert opt.defaults["momentum"] == 0.5


def test_per_group_momentum_gives_each_group_its_own_rule():
    opt, a, b = two_groups(lambda gs: optim.SGD(gs, lr=0.1), momentum=0.9)
    apply(opt, [a, b], GRADS[:2])
    assert a not in opt.state or "momentum_buffer" not in opt.state[a]
    np.testing.assert_allclose(opt.state[b]["momentum_buffer"][0],
                               0.9 * 2 * np.array(GRADS[0]) + 2 * np.array(GRADS[1]))


def test_add_param_group_inherits_defaults_and_refuses_a_parameter_twice():
    a, b = nn.Parameter([1.0]), nn.Parameter([2.0])
    opt = optim.Adam([a], lr=0.01)
    opt.add_param_group({"params": b, "lr": 0.1})  # a single tensor is one parameter
    assert opt.param_groups[1]["params"] == [b] and opt.param_groups[1]["betas"] == (0.9, 0.999)
    with pytest.raises(ValueError, match="appear in more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [a]}, {"params": [a]}])
    with pytest.raises(ValueError, match=r"Adam \(parameter group 2\): lr must be"):
        opt.add_param_group({"params": [nn.Parameter([0.0])], "lr": -1.0})
    assert len(opt.param_groups) == 2


# ------------------------------------------------------------------------------ state_dict
def test_state_dict_has_pytorchs_layout_with_copies():
    opt, a, b = two_groups(lambda gs: optim.Adam(gs, lr=0.1), lr=0.5)
    b.grad = np.ones((2, 3))
    opt.step()
    state = opt.state_dict()
    assert set(state) == {"state", "param_groups"}
    assert list(state["state"]) == [1]  # a had no gradient, so no state
    assert set(state["state"][1]) == {"step", "exp_avg", "exp_avg_sq"}
    assert state["state"][1]["step"] == 1
    assert state["param_groups"] == [
        {"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False,
         "maximize": False, "params": [0]},
        {"lr": 0.5, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False,
         "maximize": False, "params": [1]}]
    state["state"][1]["exp_avg"][...] = 7
    state["param_groups"][0]["lr"] = 9.0
    assert not np.any(opt.state[b]["exp_avg"] == 7) and opt.param_groups[0]["lr"] == 0.1


@pytest.mark.parametrize("name", MAKERS)
def test_state_dict_round_trip_resumes_identically(name):
    whole, a, b = two_groups(MAKERS[name], lr=0.05)
    apply(whole, [a, b], GRADS)
    first, a2, b2 = two_groups(MAKERS[name], lr=0.05)
    apply(first, [a2, b2], GRADS[:2])
    resumed, a3, b3 = two_groups(MAKERS[name])  # group 1's lr comes from the state_dict
    a3.data, b3.data = a2.data.copy(), b2.data.copy()
    resumed.load_state_dict(first.state_dict())
    assert resumed.param_groups[1]["lr"] == 0.05
    apply(resumed, [a3, b3], GRADS[2:])
    np.testing.assert_array_equal(a3.data, a.data, err_msg=name)
    np.testing.assert_array_equal(b3.data, b.data, err_msg=name)


@pytest.mark.parametrize("name", MAKERS)
def test_state_dict_through_a_checkpoint_file_resumes_identically(name, tmp_path):
    whole, a, b = two_groups(MAKERS[name])
    apply(whole, [a, b], GRADS)
    first, a2, b2 = two_groups(MAKERS[name])
    apply(first, [a2, b2], GRADS[:3])
    save_checkpoint(tmp_path / "c.npz", Checkpoint({}, {"a": a2.data, "b": b2.data},
                                                   first.state_dict()))
    loaded = load_checkpoint(tmp_path / "c.npz")
    resumed, a3, b3 = two_groups(MAKERS[name])
    a3.data, b3.data = loaded.model["a"], loaded.model["b"]
    resumed.load_state_dict(loaded.optimizer)
    apply(resumed, [a3, b3], GRADS[3:])
    np.testing.assert_array_equal(a3.data, a.data, err_msg=name)
    np.testing.assert_array_equal(b3.data, b.data, err_msg=name)


def test_a_pytorch_state_dict_loads_float_steps_and_empty_momentum_buffers():
    p = nn.Parameter([1.0, 2.0])
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    opt.load_state_dict({"state": {0: {"momentum_buffer": None}}, "param_groups": [
        {"lr": 0.2, "momentum": 0.9, "dampening": 0, "weight_decay": 0, "nesterov": False,
         "maximize": False, "foreach": None, "differentiable": False, "fused": None,
         "params": [0]}]})
    assert opt.param_groups[0]["lr"] == 0.2 and opt.state[p] == {}
    adam = optim.Adam([p])
    adam.load_state_dict({"state": {0: {"step": np.float32(3.0), "exp_avg": [0.0, 0.0],
                                        "exp_avg_sq": [1.0, 1.0]}},
                          "param_groups": [{**adam.defaults, "params": [0]}]})
    assert adam.state[p]["step"] == 3 and isinstance(adam.state[p]["step"], int)


# ---------------------------------------------------------------------- refused, unchanged
def stepped_adam():
    opt, a, b = two_groups(lambda gs: optim.Adam(gs, lr=0.1))
    apply(opt, [a, b], GRADS[:1])
    return opt


def fragment_cases():
    def set_state(i, key, value):
        return lambda s: s["state"][i].__setitem__(key, value)
    return [
        (lambda s: s["param_groups"].pop(), "the state_dict has 1 parameter groups, this "
                                            "optimizer has 2"),
        (lambda s: s["param_groups"][1]["params"].append(5),
         "parameter group 1 has 2 parameters in the state_dict, but 1 in this optimizer"),
        (set_state(1, "exp_avg", np.zeros(6)),
         "state[1]['exp_avg'] is float64 (6,), but parameter 1 is float64 (2, 3)"),
        (set_state(0, "momentum_buffer", np.zeros(3)), "state[0] has an unexpected entry "
                                                       "'momentum_buffer'"),
        (lambda s: s["state"][0].pop("exp_avg_sq"), "state[0] lacks 'exp_avg_sq'"),
        (set_state(0, "step", -2), "state[0]['step'] is -2, not a count >= 0"),
        (lambda s: s["state"].__setitem__(7, {}), "'state' has an entry for parameter 7"),
        (lambda s: s["param_groups"][1].__setitem__("betas", (0.9, 2.0)),
         "Adam (parameter group 1 of the state_dict): betas must be two numbers in [0, 1)"),
        (lambda s: s["param_groups"][0].__setitem__("lr", -1.0), "lr must be a finite number"),
        (lambda s: s.pop("state"), "expected {'state': dict, 'param_groups': list}"),
    ]


@pytest.mark.parametrize("change, fragment", fragment_cases())
def test_load_state_dict_names_what_does_not_fit_and_changes_nothing(change, fragment):
    source, target = stepped_adam(), stepped_adam()
    target.param_groups[0]["lr"] = 0.3
    state = source.state_dict()
    state["param_groups"][0]["lr"] = 0.7  # would be loaded if the rest fitted
    change(state)
    before = target.state_dict()
    with pytest.raises(ValueError) as info:
        target.load_state_dict(state)
    assert fragment in str(info.value), str(info.value)
    after = target.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for i, entry in before["state"].items():
        for key, value in entry.items():
            np.testing.assert_array_equal(after["state"][i][key], value)


def test_several_misfits_are_reported_together():
    state = stepped_adam().state_dict()
    state["state"][0]["exp_avg"] = np.zeros(4)
    state["state"][1]["step"] = "three"
    with pytest.raises(ValueError) as info:
        stepped_adam().load_state_dict(state)
    assert "state[0]['exp_avg']" in str(info.value) and "state[1]['step']" in str(info.value)


# --------------------------------------------------------------------- the old flat format
def flat_adam():
    """What the library's optim.Adam(lr=0.1, betas=(0.5, 0.6)).state_dict() gave after two
    steps of GRADS[:2] from [1, -2, 0.5] (the format old checkpoints hold)."""
    p = nn.Parameter([1.0, -2.0, 0.5])
    opt = optim.Adam([p], lr=0.1, betas=(0.5, 0.6))
    apply(opt, [p], GRADS[:2])
    s = opt.state[p]
    return p, {"optimizer": "Adam", "lr": 0.1, "betas": [0.5, 0.6], "eps": 1e-8,
               "weight_decay": 0.0, "state.0.step": 2, "state.0.exp_avg": s["exp_avg"].copy(),
               "state.0.exp_avg_sq": s["exp_avg_sq"].copy()}, opt


def test_the_old_flat_format_loads_and_resumes_identically_also_from_an_npz(tmp_path):
    p, flat, original = flat_adam()
    save_npz(tmp_path / "old.npz", {k: np.asarray(v) for k, v in flat.items()})
    arrays, _ = load_npz(tmp_path / "old.npz")  # every value a 0-d or 1-d array
    for state in (flat, arrays):
        q = nn.Parameter(p.data)
        resumed = optim.Adam([q])
        resumed.load_state_dict(state)
        assert resumed.param_groups[0]["betas"] == (0.5, 0.6)
        p_copy = nn.Parameter(p.data)
        again = optim.Adam([p_copy], lr=0.1, betas=(0.5, 0.6))
        again.load_state_dict(original.state_dict())
        apply(resumed, [q], GRADS[2:])
        apply(again, [p_copy], GRADS[2:])
        np.testing.assert_array_equal(q.data, p_copy.data)


def test_the_old_flat_adagrad_had_no_step_count():
    p = nn.Parameter([1.0, 2.0])
    opt = optim.Adagrad([p])
    opt.load_state_dict({"optimizer": "Adagrad", "lr": 0.1, "eps": 1e-8, "weight_decay": 0.0,
                         "initial_accumulator_value": 0.0, "state.0.sum": np.ones(2)})
    assert opt.state[p]["step"] == 0 and opt.param_groups[0]["eps"] == 1e-8
    assert opt.param_groups[0]["lr_decay"] == 0.0  # not in the flat format: kept


@pytest.mark.parametrize("change, fragment", [
    (lambda s: s.update({"state.0.exp_avg": np.zeros(5)}), "state[0]['exp_avg'] is float64 (5,)"),
    (lambda s: s.update({"state.3.exp_avg": np.zeros(3)}), "entry for parameter 3"),
    (lambda s: s.update({"state.x": np.zeros(3)}), "unexpected key 'state.x'"),
    (lambda s: s.pop("lr"), "missing key 'lr'"),
    (lambda s: s.update(optimizer="SGD"), "belongs to a SGD optimizer"),
])
def test_the_old_flat_format_names_the_bad_key(change, fragment):
    _, flat, _ = flat_adam()
    change(flat)
    with pytest.raises(ValueError) as info:
        optim.Adam([nn.Parameter(np.ones(3))]).load_state_dict(flat)
    assert fragment in str(info.value), str(info.value)


def test_an_optimizer_without_a_flat_format_refuses_one():
    with pytest.raises(ValueError, match="expected {'state': ..., 'param_groups': ...}"):
        optim.RMSprop([nn.Parameter([1.0])]).load_state_dict({"lr": 0.1})
    with pytest.raises(TypeError, match="expected a dict"):
        optim.RMSprop([nn.Parameter([1.0])]).load_state_dict([("lr", 0.1)])
