"""Property tests: for random hyperparameters, gradients and step counts, every optimizer agrees
with an independent numpy transcription of its documented update rule (docs/optim.md).

The references below are written from the formulas, functionally (new arrays each step, no
in-place updates, no shared code with tinygrad_rnn.optim), so an error in the library's
in-place bookkeeping (a buffer aliased to the gradient, a step counter off by one, weight decay
applied twice) shows up as a mismatch.
"""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn.nn as nn
import tinygrad_rnn.optim as optim

RTOL, ATOL = 1e-9, 1e-12  # the references round in a different order than the library


def unit(low=0.0, high=0.99):
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


@st.composite
def trajectories(draw):
    """A start point and 1-5 gradients of one shape of 1-4 elements."""
    n = draw(st.integers(1, 4))
    steps = draw(st.integers(1, 5))
    value = st.floats(-5, 5, allow_nan=False, allow_infinity=False)
    start = np.array(draw(st.lists(value, min_size=n, max_size=n)))
    grads = [np.array(draw(st.lists(value, min_size=n, max_size=n))) for _ in range(steps)]
    return start, grads


def library(make, start, grads):
    p = nn.Parameter(start)
    opt = make([p])
    out = []
    for g in grads:
        p.grad = g.copy()
        opt.step()
        out.append(p.data.copy())
    return out


def check(name, kwargs, got, expected):
    for step, (a, b) in enumerate(zip(got, expected)):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL,
                                   err_msg=f"{name}({kwargs}) after step {step + 1}")


# ------------------------------------------------------------------------------ references
def sgd_reference(start, grads, lr, momentum, dampening, weight_decay, nesterov, maximize):
    p, buf, out = start, None, []
    for g in grads:
        d = (-g if maximize else g) + weight_decay * p
        if momentum:
            buf = d if buf is None else momentum * buf + (1 - dampening) * d
            d = d + momentum * buf if nesterov else buf
        p = p - lr * d
        out.append(p)
    return out


def adam_reference(start, grads, lr, betas, eps, weight_decay, amsgrad, maximize, decoupled):
    b1, b2 = betas
    p, m, v, v_max, out = start, 0 * start, 0 * start, 0 * start, []
    for t, g in enumerate(grads, start=1):
        g = -g if maximize else g
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        v_max = np.maximum(v_max, v)
        v_hat = (v_max if amsgrad else v) / (1 - b2 ** t)
        p = p - lr * (m / (1 - b1 ** t)) / (np.sqrt(v_hat) + eps)
        out.append(p)
    return out


def adagrad_reference(start, grads, lr, lr_decay, weight_decay, initial_accumulator_value, eps,
                      maximize):
    p, s, out = start, np.full_like(start, initial_accumulator_value), []
    for t, g in enumerate(grads, start=1):
        g = (-g if maximize else g) + weight_decay * p
        s = s + g * g
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s) + eps)
        out.append(p)
    return out


def rmsprop_reference(start, grads, lr, alpha, eps, weight_decay, momentum, centered, maximize):
    p, v, g_avg, buf, out = start, 0 * start, 0 * start, 0 * start, []
    for g in grads:
        g = (-g if maximize else g) + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        if centered:
            g_avg = g_avg + (1 - alpha) * (g - g_avg)
            a = np.sqrt(v - g_avg * g_avg) + eps
        else:
            a = np.sqrt(v) + eps
        if momentum > 0:
            buf = momentum * buf + g / a
            p = p - lr * buf
        else:
            p = p - lr * g / a
        out.append(p)
    return out


# ----------------------------------------------------------------------------------- tests
@settings(deadline=None)
@given(trajectories(), unit(0, 1), unit(), unit(), unit(0, 0.5), st.booleans(), st.booleans())
def test_sgd_matches_its_update_rule(path, lr, momentum, dampening, weight_decay, nesterov,
                                     maximize):
    if nesterov:
        momentum, dampening = max(momentum, 0.1), 0.0
    kwargs = {"lr": lr, "momentum": momentum, "dampening": dampening,
              "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize}
    start, grads = path
    check("SGD", kwargs, library(lambda ps: optim.SGD(ps, **kwargs), start, grads),
          sgd_reference(start, grads, **kwargs))


@settings(deadline=None)
@given(trajectories(), unit(1e-4, 0.5), unit(0, 0.95), unit(0, 0.999), unit(1e-8, 1e-2),
       unit(0, 0.5), st.booleans(), st.booleans(), st.booleans())
def test_adam_and_adamw_match_their_update_rule(path, lr, beta1, beta2, eps, weight_decay,
                                                amsgrad, maximize, decoupled):
    kwargs = {"lr": lr, "betas": (beta1, beta2), "eps": eps, "weight_decay": weight_decay,
              "amsgrad": amsgrad, "maximize": maximize}
    cls = optim.AdamW if decoupled else optim.Adam
    start, grads = path
    check(cls.__name__, kwargs, library(lambda ps: cls(ps, **kwargs), start, grads),
          adam_reference(start, grads, decoupled=decoupled, **kwargs))


@settings(deadline=None)
@given(trajectories(), unit(1e-3, 1), unit(0, 1), unit(0, 0.5), unit(0, 1), unit(1e-10, 1e-2),
       st.booleans())
def test_adagrad_matches_its_update_rule(path, lr, lr_decay, weight_decay, initial, eps,
                                         maximize):
    kwargs = {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
              "initial_accumulator_value": initial, "eps": eps, "maximize": maximize}
    start, grads = path
    check("Adagrad", kwargs, library(lambda ps: optim.Adagrad(ps, **kwargs), start, grads),
          adagrad_reference(start, grads, **kwargs))


@settings(deadline=None)
@given(trajectories(), unit(1e-4, 0.1), unit(0.1, 0.99), unit(1e-3, 1e-1), unit(0, 0.5),
       unit(0, 0.9), st.booleans(), st.booleans())
def test_rmsprop_matches_its_update_rule(path, lr, alpha, eps, weight_decay, momentum, centered,
                                         maximize):
    kwargs = {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
              "momentum": momentum, "centered": centered, "maximize": maximize}
    start, grads = path
    check("RMSprop", kwargs, library(lambda ps: optim.RMSprop(ps, **kwargs), start, grads),
          rmsprop_reference(start, grads, **kwargs))


@settings(deadline=None)
@given(trajectories(), unit(1e-3, 1), unit(1e-3, 1))
def test_two_groups_step_as_two_optimizers(path, lr_a, lr_b):
    """Groups are independent: one optimizer with two groups equals two optimizers."""
    start, grads = path
    a, b = nn.Parameter(start), nn.Parameter(start)
    both = optim.Adam([{"params": [a], "lr": lr_a}, {"params": [b], "lr": lr_b}])
    for g in grads:
        a.grad, b.grad = g.copy(), -g
        both.step()
    alone_a = library(lambda ps: optim.Adam(ps, lr=lr_a), start, grads)[-1]
    alone_b = library(lambda ps: optim.Adam(ps, lr=lr_b), start, [-g for g in grads])[-1]
    np.testing.assert_array_equal(a.data, alone_a)
    np.testing.assert_array_equal(b.data, alone_b)
    assert math.isfinite(float(a.data.sum()))
