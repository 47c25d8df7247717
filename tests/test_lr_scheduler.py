"""Learning-rate schedulers follow PyTorch's formulas step by step (numbers from torch 2.13),
match their closed forms (property tests), and resume from state_dict exactly."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn.nn as nn
import tinygrad_rnn.optim as optim
from tinygrad_rnn.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from tinygrad_rnn.optim import lr_scheduler as S

# get_last_lr() after creation and after each of 14 steps, for torch.optim.SGD with two groups
# (lr 0.1 and 0.5), computed with torch 2.13 (torch.optim.lr_scheduler, same arguments) by a
# script run once; ReduceLROnPlateau was stepped with PLATEAU_METRICS.
SCHEDULE_REFERENCE = {
    'StepLR(step_size=3, gamma=0.5)': [
        [0.1, 0.5], [0.1, 0.5], [0.1, 0.5], [0.05, 0.25], [0.05, 0.25], [0.05, 0.25],
        [0.025, 0.125], [0.025, 0.125], [0.025, 0.125], [0.0125, 0.0625], [0.0125, 0.0625],
        [0.0125, 0.0625], [0.00625, 0.03125], [0.00625, 0.03125], [0.00625, 0.03125],
    ],
    'ExponentialLR(gamma=0.9)': [
        [0.1, 0.5], [0.09000000000000001, 0.45], [0.08100000000000002, 0.405],
        [0.07290000000000002, 0.36450000000000005], [0.06561000000000002, 0.32805000000000006],
        [0.05904900000000002, 0.2952450000000001], [0.05314410000000002, 0.2657205000000001],
        [0.04782969000000002, 0.23914845000000007], [0.043046721000000024, 0.21523360500000008],
        [0.03874204890000002, 0.19371024450000007], [0.03486784401000002, 0.17433922005000008],
        [0.03138105960900001, 0.15690529804500009], [0.028242953648100012, 0.14121476824050008],
        [0.025418658283290013, 0.12709329141645007], [0.022876792454961013, 0.11438396227480506],
    ],
    'CosineAnnealingLR(T_max=5, eta_min=0.01)': [
        [0.1, 0.5], [0.09140576474687263, 0.45320916362186214],
        [0.06890576474687263, 0.33070916362186215], [0.04109423525312736, 0.1792908363781379],
        [0.018594235253127367, 0.0567908363781379], [0.01, 0.01],
        [0.018594235253127367, 0.05679083637813787], [0.04109423525312739, 0.17929083637813795],
        [0.06890576474687267, 0.33070916362186226], [0.09140576474687269, 0.45320916362186237],
        [0.10000000000000006, 0.5000000000000002], [0.09140576474687272, 0.4532091636218625],
        [0.06890576474687268, 0.3307091636218623], [0.0410942352531274, 0.17929083637813803],
        [0.01859423525312738, 0.05679083637813795],
    ],
    'CosineAnnealingLR(T_max=3)': [
        [0.1, 0.5], [0.07500000000000001, 0.375], [0.025000000000000015, 0.12500000000000006],
        [0.0, 0.0], [0.024999999999999994, 0.12499999999999997],
        [0.07500000000000005, 0.3750000000000002], [0.10000000000000006, 0.5000000000000002],
        [0.07500000000000007, 0.3750000000000003], [0.025000000000000053, 0.12500000000000025],
        [0.0, 0.0], [0.024999999999999994, 0.12499999999999997],
        [0.0749999999999999, 0.37499999999999956], [0.09999999999999992, 0.4999999999999997],
        [0.07499999999999994, 0.3749999999999998], [0.02500000000000003, 0.12500000000000017],
    ],
    'LambdaLR(1/(1+e))': [
        [0.1, 0.5], [0.05, 0.25], [0.03333333333333333, 0.16666666666666666], [0.025, 0.125],
        [0.020000000000000004, 0.1], [0.016666666666666666, 0.08333333333333333],
        [0.014285714285714285, 0.07142857142857142], [0.0125, 0.0625],
        [0.011111111111111112, 0.05555555555555555], [0.010000000000000002, 0.05],
        [0.009090909090909092, 0.045454545454545456], [0.008333333333333333, 0.041666666666666664],
        [0.007692307692307693, 0.038461538461538464], [0.007142857142857143, 0.03571428571428571],
        [0.006666666666666667, 0.03333333333333333],
    ],
    'LambdaLR([0.95**e, e+1])': [
        [0.1, 0.5], [0.095, 1.0], [0.09025, 1.5], [0.0857375, 2.0], [0.081450625, 2.5],
        [0.07737809374999999, 3.0], [0.07350918906249998, 3.5], [0.06983372960937498, 4.0],
        [0.06634204312890622, 4.5], [0.0630249409724609, 5.0], [0.05987369392383787, 5.5],
        [0.05688000922764597, 6.0], [0.05403600876626367, 6.5], [0.051334208327950485, 7.0],
        [0.04876749791155296, 7.5],
    ],
}
PLATEAU_METRICS = {
    'M1': [
        1.0, 0.95, 0.94, 0.93, 0.92, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.4, 0.4,
    ],
    'M2': [
        0.1, 0.2, 0.2, 0.25, 0.25, 0.2, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9,
    ],
}
PLATEAU_REFERENCE = {
    'min rel': (
        {'mode': 'min', 'factor': 0.5, 'patience': 2, 'threshold': 0.1, 'threshold_mode': 'rel',
         'cooldown': 1, 'min_lr': 0.02},
        'M1', [
            [0.1, 0.5], [0.1, 0.5], [0.1, 0.5], [0.1, 0.5], [0.05, 0.25], [0.05, 0.25],
            [0.05, 0.25], [0.05, 0.25], [0.05, 0.25], [0.025, 0.125], [0.025, 0.125],
            [0.025, 0.125], [0.025, 0.125], [0.025, 0.125], [0.025, 0.125],
        ]),
    'min abs': (
        {'mode': 'min', 'factor': 0.3, 'patience': 1, 'threshold': 0.05, 'threshold_mode': 'abs'},
        'M1', [
            [0.1, 0.5], [0.1, 0.5], [0.1, 0.5], [0.1, 0.5], [0.1, 0.5], [0.03, 0.15], [0.03, 0.15],
            [0.03, 0.15], [0.009, 0.045], [0.009, 0.045], [0.0026999999999999997, 0.0135],
            [0.0026999999999999997, 0.0135], [0.0008099999999999998, 0.00405],
            [0.0008099999999999998, 0.00405], [0.0008099999999999998, 0.00405],
        ]),
    'max rel': (
        {'mode': 'max', 'factor': 0.5, 'patience': 1, 'threshold': 0.1, 'min_lr': [0.01, 0.2],
         'cooldown': 2},
        'M2', [
            [0.1, 0.5], [0.1, 0.5], [0.1, 0.5], [0.1, 0.5], [0.1, 0.5], [0.1, 0.5], [0.05, 0.25],
            [0.05, 0.25], [0.05, 0.25], [0.05, 0.25], [0.025, 0.2], [0.025, 0.2], [0.025, 0.2],
            [0.025, 0.2], [0.0125, 0.2],
        ]),
    'max abs': (
        {'mode': 'max', 'factor': 0.1, 'patience': 0, 'threshold': 0.02, 'threshold_mode': 'abs',
         'eps': 0.05},
        'M2', [
            [0.1, 0.5], [0.1, 0.5], [0.1, 0.5], [0.010000000000000002, 0.05],
            [0.010000000000000002, 0.05], [0.010000000000000002, 0.05],
            [0.010000000000000002, 0.05], [0.010000000000000002, 0.05],
            [0.010000000000000002, 0.05], [0.010000000000000002, 0.05],
            [0.010000000000000002, 0.05], [0.010000000000000002, 0.05],
            [0.010000000000000002, 0.05], [0.010000000000000002, 0.05],
            [0.010000000000000002, 0.05],
        ]),
}


SCHEDULES = {
    "StepLR(step_size=3, gamma=0.5)": lambda o: S.StepLR(o, step_size=3, gamma=0.5),
    "ExponentialLR(gamma=0.9)": lambda o: S.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR(T_max=5, eta_min=0.01)": lambda o: S.CosineAnnealingLR(o, 5, 0.01),
    "CosineAnnealingLR(T_max=3)": lambda o: S.CosineAnnealingLR(o, T_max=3),
    "LambdaLR(1/(1+e))": lambda o: S.LambdaLR(o, lambda e: 1 / (1 + e)),
    "LambdaLR([0.95**e, e+1])": lambda o: S.LambdaLR(o, [lambda e: 0.95 ** e, lambda e: e + 1]),
}


def sgd(lrs=(0.1, 0.5)):
    return optim.SGD([{"params": [nn.Parameter(np.zeros(2))], "lr": lr} for lr in lrs])


def trace(make, steps=14, metrics=None):
    opt = sgd()
    scheduler = make(opt)
    out = [scheduler.get_last_lr()]
    for i in range(steps):
        opt.step()
        scheduler.step() if metrics is None else scheduler.step(metrics[i])
        out.append(scheduler.get_last_lr())
        assert out[-1] == [g["lr"] for g in opt.param_groups]
    return out


@pytest.mark.parametrize("name", SCHEDULES)
def test_each_scheduler_matches_pytorch_step_by_step(name):
    got = trace(SCHEDULES[name])
    for epoch, (a, b) in enumerate(zip(got, SCHEDULE_REFERENCE[name])):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-16, err_msg=f"{name} epoch {epoch}")


@pytest.mark.parametrize("name", PLATEAU_REFERENCE)
def test_reduce_lr_on_plateau_matches_pytorch_step_by_step(name):
    kwargs, metrics, expected = PLATEAU_REFERENCE[name]
    got = trace(lambda o: S.ReduceLROnPlateau(o, **kwargs), metrics=PLATEAU_METRICS[metrics])
    for epoch, (a, b) in enumerate(zip(got, expected)):
        np.testing.assert_allclose(a, b, rtol=1e-14, err_msg=f"{name} {kwargs} epoch {epoch}")


def test_a_scheduler_records_initial_lr_and_counts_epochs():
    opt = sgd()
    scheduler = S.ExponentialLR(opt, gamma=0.5)
    assert scheduler.last_epoch == 0 and scheduler.base_lrs == [0.1, 0.5]
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.5]
    scheduler.step()
    assert scheduler.last_epoch == 1 and scheduler.get_last_lr() == [0.05, 0.25]


# ------------------------------------------------------------------- closed forms (property)
@settings(deadline=None)
@given(st.integers(1, 6), st.floats(0.05, 1.0), st.floats(0, 1.0), st.integers(1, 30))
def test_step_and_exponential_lr_equal_their_closed_forms(step_size, gamma, base, epochs):
    opt_step, opt_exp = sgd([base]), sgd([base])
    step_lr, exp_lr = S.StepLR(opt_step, step_size, gamma), S.ExponentialLR(opt_exp, gamma)
    for epoch in range(1, epochs + 1):
        step_lr.step()
        exp_lr.step()
        assert step_lr.get_last_lr()[0] == pytest.approx(
            base * gamma ** (epoch // step_size), rel=1e-12, abs=1e-300)
        assert exp_lr.get_last_lr()[0] == pytest.approx(base * gamma ** epoch, rel=1e-11,
                                                        abs=1e-300)


@settings(deadline=None)
@given(st.integers(1, 8), st.floats(0.01, 1.0), st.floats(0, 0.5), st.integers(1, 40))
def test_cosine_annealing_follows_the_cosine_between_restarts(t_max, base, eta_min, epochs):
    """PyTorch's recursion reproduces η_min + (base − η_min)(1 + cos(π·t/T_max))/2 (numpy)."""
    eta_min = min(eta_min, base)
    opt = sgd([base])
    scheduler = S.CosineAnnealingLR(opt, t_max, eta_min)
    for t in range(1, epochs + 1):
        scheduler.step()
        closed = eta_min + (base - eta_min) * (1 + np.cos(np.pi * t / t_max)) / 2
        assert scheduler.get_last_lr()[0] == pytest.approx(closed, rel=1e-9, abs=1e-12), t


@settings(deadline=None)
@given(st.lists(st.floats(0, 10), min_size=1, max_size=25), st.sampled_from(["min", "max"]),
       st.sampled_from(["rel", "abs"]), st.integers(0, 3), st.integers(0, 2),
       st.floats(0.1, 0.9), st.floats(0, 0.2), st.floats(0, 0.05))
def test_reduce_lr_on_plateau_matches_an_independent_count(metrics, mode, threshold_mode,
                                                           patience, cooldown, factor,
                                                           threshold, min_lr):
    kwargs = {"mode": mode, "threshold_mode": threshold_mode, "patience": patience,
              "cooldown": cooldown, "factor": factor, "threshold": threshold, "min_lr": min_lr}
    opt = sgd([0.1])
    scheduler = S.ReduceLROnPlateau(opt, **kwargs)
    sign = 1 if mode == "min" else -1
    best, bad, cool, lr = math.inf, 0, 0, 0.1
    for metric in metrics:
        score = sign * metric  # "max" is "min" of the negated metric
        if threshold_mode == "rel":
            better = score < best * (1 - sign * threshold) if best != math.inf else True
        else:
            better = score < best - threshold
        best, bad = (score, 0) if better else (best, bad + 1)
        if cool > 0:
            cool, bad = cool - 1, 0
        if bad > patience:
            new = max(lr * factor, min_lr)
            lr = new if lr - new > 1e-8 else lr
            cool, bad = cooldown, 0
        scheduler.step(metric)
        assert scheduler.get_last_lr() == [pytest.approx(lr, rel=1e-12)], kwargs


# ------------------------------------------------------------------------------ state_dict
@pytest.mark.parametrize("name", [*SCHEDULES, "plateau"])
def test_scheduler_state_dict_resumes_identically_through_a_checkpoint(name, tmp_path):
    make = SCHEDULES.get(name) or (lambda o: S.ReduceLROnPlateau(o, patience=1, cooldown=1))
    metrics = PLATEAU_METRICS["M1"] if name == "plateau" else None
    whole = trace(make, metrics=metrics)
    opt = sgd()
    scheduler = make(opt)
    for i in range(5):
        scheduler.step() if metrics is None else scheduler.step(metrics[i])
    save_checkpoint(tmp_path / "c.npz", Checkpoint({}, {}, opt.state_dict(),
                                                   {"scheduler": scheduler.state_dict()}))
    loaded = load_checkpoint(tmp_path / "c.npz")
    opt2 = sgd()
    scheduler2 = make(opt2)  # PyTorch's order: scheduler first, then the optimizer's state
    opt2.load_state_dict(loaded.optimizer)
    scheduler2.load_state_dict(loaded.train["scheduler"])
    assert scheduler2.last_epoch == 5 and scheduler2.get_last_lr() == whole[5]
    rest = [scheduler2.get_last_lr()]
    for i in range(5, 14):
        scheduler2.step() if metrics is None else scheduler2.step(metrics[i])
        rest.append(scheduler2.get_last_lr())
    assert rest == whole[5:]


def test_lambda_lr_saves_callable_objects_state_but_not_functions():
    class Decay:
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, epoch):
            return self.rate ** epoch

    scheduler = S.LambdaLR(sgd(), [Decay(0.5), lambda e: 1.0])
    state = scheduler.state_dict()
    assert state["lr_lambdas"] == [{"rate": 0.5}, None]
    other = S.LambdaLR(sgd(), [Decay(0.9), lambda e: 1.0])
    other.load_state_dict(state)
    assert other.lr_lambdas[0].rate == 0.5


def test_resuming_with_last_epoch_needs_initial_lr():
    with pytest.raises(KeyError, match="has no 'initial_lr'"):
        S.StepLR(sgd(), step_size=2, last_epoch=3)
    opt = sgd()
    S.StepLR(opt, step_size=2)
    assert S.StepLR(opt, step_size=2, last_epoch=3).last_epoch == 4


@pytest.mark.parametrize("make, error, fragment", [
    (lambda: S.StepLR(object(), 2), TypeError, "StepLR: object is not an Optimizer"),
    (lambda: S.StepLR(sgd(), 0), ValueError, "StepLR: step_size must be an integer >= 1"),
    (lambda: S.ExponentialLR(sgd(), -0.5), ValueError, "ExponentialLR: gamma must be"),
    (lambda: S.CosineAnnealingLR(sgd(), T_max=0), ValueError, "T_max must be an integer"),
    (lambda: S.LambdaLR(sgd(), [lambda e: 1.0]), ValueError, "expected 2 lr_lambdas"),
    (lambda: S.LambdaLR(sgd(), 0.5), TypeError, "lr_lambda must be callable"),
    (lambda: S.ReduceLROnPlateau(sgd(), factor=1.0), ValueError, "factor must be < 1"),
    (lambda: S.ReduceLROnPlateau(sgd(), mode="lowest"), ValueError, "mode must be 'min'"),
    (lambda: S.ReduceLROnPlateau(sgd(), min_lr=[0.1]), ValueError, "expected 2 min_lrs"),
    (lambda: S.ReduceLROnPlateau(sgd(), patience=-1), ValueError, "patience must be"),
])
def test_bad_scheduler_arguments_are_clear_errors(make, error, fragment):
    with pytest.raises(error) as info:
        make()
    assert fragment in str(info.value)


def test_load_state_dict_refuses_what_does_not_fit_and_changes_nothing():
    scheduler = S.StepLR(sgd(), step_size=2)
    before = scheduler.state_dict()
    with pytest.raises(ValueError, match="unexpected keys \\['T_max'\\]"):
        scheduler.load_state_dict({**before, "T_max": 3, "last_epoch": 7})
    with pytest.raises(ValueError, match="base_lrs must hold one value per parameter group"):
        scheduler.load_state_dict({**before, "base_lrs": [0.1], "last_epoch": 7})
    assert scheduler.state_dict() == before
