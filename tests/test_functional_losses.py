"""Losses against independent numpy formulas for drawn shapes, weights, ignored targets, label
smoothing and reductions; central differences; PyTorch's class axis; and clear errors."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_rnn import Tensor, gradcheck
from tinygrad_rnn import functional as F
from tinygrad_rnn.testing import arrays

IGNORE = -100


def np_log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def np_cross_entropy(x, target, weight, reduction, smoothing, ignore=IGNORE):
    """PyTorch's definition, written over a (samples, C) layout."""
    target_shape = target.shape
    if x.ndim == 1:
        x, target = x[None], target[None]
    c = x.shape[1]
    rows = np.moveaxis(x, 1, -1).reshape(-1, c)
    t = target.reshape(-1)
    w = np.ones(c) if weight is None else weight
    logp = np_log_softmax(rows, -1)
    valid = t != ignore
    safe = np.where(valid, t, 0)
    nll = -logp[np.arange(t.size), safe] * w[safe] * valid
    smooth = -(logp * w).sum(-1) * valid
    per = (1 - smoothing) * nll + smoothing / c * smooth
    if reduction == "none":
        return per.reshape(target_shape)
    if reduction == "sum":
        return per.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        return per.sum() / (w[safe] * valid).sum()


@st.composite
def class_problems(draw):
    """(logits, integer targets, weight or None) with classes on dim 1 (dim 0 if 1-D)."""
    ndim = draw(st.sampled_from([1, 2, 2, 3]))
    c = draw(st.integers(1, 4))
    shape = (c,) if ndim == 1 else (draw(st.integers(0, 4)), c) + (
        (draw(st.integers(1, 3)),) if ndim == 3 else ())
    x = draw(arrays(shape, -30.0, 30.0))
    if x.size and draw(st.booleans()):  # some extreme logits
        x.flat[draw(st.integers(0, x.size - 1))] = draw(st.sampled_from([-1e4, 1e4]))
    target_shape = () if ndim == 1 else shape[:1] + shape[2:]
    t = np.array(draw(st.lists(st.integers(0, c - 1), min_size=int(np.prod(target_shape)),
                               max_size=int(np.prod(target_shape)))), dtype=np.int64)
    t = t.reshape(target_shape)
    ignored = draw(st.lists(st.booleans(), min_size=t.size, max_size=t.size))
    t = np.where(np.array(ignored, dtype=bool).reshape(t.shape) & draw(st.booleans()), IGNORE, t)
    weight = draw(st.none() | arrays((c,), 0.1, 3.0))
    return x, np.asarray(t), weight


REDUCTIONS = st.sampled_from(["mean", "sum", "none"])
SMOOTHING = st.sampled_from([0.0, 0.0, 0.1, 0.5, 1.0])


@given(class_problems(), REDUCTIONS, SMOOTHING)
def test_cross_entropy_matches_a_numpy_formula(problem, reduction, smoothing):
    x, t, w = problem
    out = F.cross_entropy(Tensor(x), t, weight=w, reduction=reduction,
                          label_smoothing=smoothing)
    expected = np_cross_entropy(x, t, w, reduction, smoothing)
    assert out.shape == np.shape(expected), f"shape {out.shape} != {np.shape(expected)}"
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-10,
                               err_msg=f"x={x}, t={t}, w={w}")


@given(class_problems(), REDUCTIONS)
def test_nll_loss_matches_a_numpy_formula(problem, reduction):
    x, t, w = problem
    logp = np_log_softmax(x, 1 if x.ndim >= 2 else 0)
    out = F.nll_loss(Tensor(logp), t, weight=w, reduction=reduction)
    np.testing.assert_allclose(out.data, np_cross_entropy(x, t, w, reduction, 0.0),
                               rtol=1e-10, atol=1e-10)


@given(class_problems(), st.sampled_from(["sum", "none"]), SMOOTHING)
def test_cross_entropy_gradient_matches_central_differences(problem, reduction, smoothing):
    x, t, w = problem
    x = np.clip(x, -5, 5)  # finite differences of a 1e4 logit lose every digit
    assert gradcheck(lambda z: F.cross_entropy(z, t, weight=w, reduction=reduction,
                                               label_smoothing=smoothing),
                     [Tensor(x, requires_grad=True)], atol=1e-6, rtol=1e-5)


@st.composite
def probability_problems(draw):
    n, c = draw(st.integers(0, 4)), draw(st.integers(1, 4))
    x = draw(arrays((n, c), -5.0, 5.0))
    p = draw(arrays((n, c), 0.0, 1.0)) + 1e-3
    return x, p / p.sum(axis=1, keepdims=True), draw(st.none() | arrays((c,), 0.1, 3.0))


@given(probability_problems(), REDUCTIONS, SMOOTHING)
def test_cross_entropy_with_probability_targets_matches_numpy_and_differences(
        problem, reduction, smoothing):
    x, p, w = problem
    c = x.shape[1]
    q = p * (1 - smoothing) + smoothing / c
    per = -(np_log_softmax(x, 1) * q * (np.ones(c) if w is None else w)).sum(1)
    expected = {"none": per, "sum": per.sum(), "mean": per.mean() if per.size else np.nan}
    out = F.cross_entropy(Tensor(x), p, weight=w, reduction=reduction, label_smoothing=smoothing)
    np.testing.assert_allclose(out.data, expected[reduction], rtol=1e-12, atol=1e-12)
    if x.size and reduction != "none":  # both the logits and the probabilities get gradients
        assert gradcheck(lambda z, y: F.cross_entropy(z, y, weight=w, reduction=reduction,
                                                      label_smoothing=smoothing),
                         [Tensor(x, requires_grad=True), Tensor(p, requires_grad=True)])


def test_the_class_axis_is_dim_1_as_in_pytorch():
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((2, 5, 3)), rng.integers(0, 5, size=(2, 3))  # (N, C, d), (N, d)
    rows = Tensor(x).permute(0, 2, 1).reshape(-1, 5)
    np.testing.assert_allclose(F.cross_entropy(Tensor(x), t).data,
                               F.cross_entropy(rows, t.reshape(-1)).data, rtol=1e-14)


def test_empty_batch_mean_is_nan_and_sum_is_zero_with_empty_gradients():
    for kwargs in ({}, {"weight": np.ones(3), "label_smoothing": 0.2}, {"reduction": "sum"}):
        x = Tensor(np.zeros((0, 3)), requires_grad=True)
        loss = F.cross_entropy(x, np.zeros(0, dtype=np.int64), **kwargs)
        loss.backward()
        assert (loss.item() == 0) if kwargs.get("reduction") == "sum" else np.isnan(loss.item())
        assert x.grad.shape == (0, 3)


def test_cross_entropy_keeps_float32():
    x = Tensor(np.zeros((2, 3), dtype=np.float32), requires_grad=True)
    loss = F.cross_entropy(x, np.array([0, IGNORE]), weight=np.ones(3), label_smoothing=0.1)
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32


# ------------------------------------------------------------------- elementwise losses


def np_bce(x, y, w):
    with np.errstate(divide="ignore"):
        return -w * (y * np.maximum(np.log(x), -100) + (1 - y) * np.maximum(np.log1p(-x), -100))


@given(arrays((3, 2), 0.0, 1.0), arrays((3, 2), 0.0, 1.0), arrays((2,), 0.0, 2.0), REDUCTIONS)
def test_binary_cross_entropy_matches_numpy_and_differences(x, y, w, reduction):
    per = np_bce(x, y, w)
    expected = {"none": per, "sum": per.sum(), "mean": per.mean()}[reduction]
    out = F.binary_cross_entropy(Tensor(x), y, weight=w, reduction=reduction)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-300)
    inner_x, inner_y = np.clip(x, 0.05, 0.95), np.clip(y, 0.05, 0.95)  # ± eps stays in [0, 1]
    assert gradcheck(lambda a, b: F.binary_cross_entropy(a, b, weight=w, reduction="sum"),
                     [Tensor(inner_x, requires_grad=True), Tensor(inner_y, requires_grad=True)])


@given(arrays((3, 2), -50.0, 50.0), arrays((3, 2), 0.0, 1.0), arrays((2,), 0.1, 3.0),
       arrays((3, 1), 0.0, 2.0), REDUCTIONS)
def test_binary_cross_entropy_with_logits_matches_numpy_and_differences(x, y, p, w, reduction):
    per = w * ((1 - y) * x + (1 + (p - 1) * y) * np.logaddexp(0, -x))
    expected = {"none": per, "sum": per.sum(), "mean": per.mean()}[reduction]
    out = F.binary_cross_entropy_with_logits(Tensor(x), y, weight=w, pos_weight=p,
                                             reduction=reduction)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda *t: F.binary_cross_entropy_with_logits(
        t[0], t[1], weight=t[3], pos_weight=t[2], reduction="sum"),
        [Tensor(np.clip(x, -8, 8), requires_grad=True), Tensor(y, requires_grad=True),
         Tensor(p, requires_grad=True), Tensor(w, requires_grad=True)])


@given(arrays((2, 3), -1e4, 1e4), st.sampled_from([0.0, 1.0]))
def test_binary_cross_entropy_with_logits_is_finite_for_any_logit(x, y):
    t = Tensor(x, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(t, np.full(x.shape, y), reduction="sum")
    loss.backward()
    assert np.isfinite(loss.item()) and np.all(np.isfinite(t.grad))


@given(arrays((2, 3)), arrays((2, 3)), REDUCTIONS)
def test_mse_loss_matches_numpy_and_differences(x, y, reduction):
    per = (x - y) ** 2
    expected = {"none": per, "sum": per.sum(), "mean": per.mean()}[reduction]
    np.testing.assert_allclose(F.mse_loss(Tensor(x), y, reduction=reduction).data, expected,
                               rtol=1e-12, atol=1e-300)
    assert gradcheck(lambda a, b: F.mse_loss(a, b, reduction=reduction),
                     [Tensor(x, requires_grad=True), Tensor(y, requires_grad=True)])


def test_squared_error_is_still_the_notes_half_sum():
    assert F.squared_error(Tensor([1.0, 2.0]), [0.0, 4.0]).item() == 2.5


# ------------------------------------------------------------------------------- errors


def _raises(error, *fragments):
    return pytest.raises(error, match="(?s)" + "".join(f"(?=.*{re.escape(f)})"
                                                       for f in fragments))


LOGITS = Tensor(np.zeros((2, 3)))


@pytest.mark.parametrize("call, error, fragments", [
    (lambda: F.cross_entropy(LOGITS, np.array([0, 1, 2])), ValueError,
     ("cross_entropy", "(3,)", "(2, 3)", "(2,)")),
    (lambda: F.cross_entropy(LOGITS, np.array([0, 3])), ValueError, ("cross_entropy", "[0, 3)")),
    (lambda: F.cross_entropy(LOGITS, np.array([0, -1])), ValueError, ("cross_entropy", "-1")),
    (lambda: F.cross_entropy(LOGITS, np.array([0.0, 1.0])), TypeError,
     ("cross_entropy", "integer", "(2, 3)")),
    (lambda: F.cross_entropy(LOGITS, np.array([True, False])), TypeError,
     ("cross_entropy", "integer", "bool")),
    (lambda: F.cross_entropy(LOGITS, np.array([0, 1]), reduction="avg"), ValueError,
     ("cross_entropy", "'avg'")),
    (lambda: F.cross_entropy(LOGITS, np.array([0, 1]), label_smoothing=1.5), ValueError,
     ("cross_entropy", "label_smoothing", "[0, 1]")),
    (lambda: F.cross_entropy(LOGITS, np.array([0, 1]), weight=np.ones(2)), ValueError,
     ("cross_entropy", "weight", "(3,)", "(2,)")),
    (lambda: F.cross_entropy(LOGITS, np.zeros((2, 3)), ignore_index=1), ValueError,
     ("cross_entropy", "ignore_index")),
    (lambda: F.cross_entropy(Tensor(1.0), np.array(0)), ValueError,
     ("cross_entropy", "0-d")),
    (lambda: F.nll_loss(LOGITS, np.array([0, 5])), ValueError, ("nll_loss", "[0, 3)", "5")),
    (lambda: F.nll_loss(LOGITS, np.array([0, 1]), reduction="mean "), ValueError,
     ("nll_loss", "reduction")),
    (lambda: F.binary_cross_entropy(Tensor([0.5, 1.5]), [0.0, 1.0]), ValueError,
     ("binary_cross_entropy", "input", "between 0 and 1", "1.5")),
    (lambda: F.binary_cross_entropy(Tensor([0.5]), [2.0]), ValueError,
     ("binary_cross_entropy", "target", "between 0 and 1")),
    (lambda: F.binary_cross_entropy(Tensor([0.5, 0.5]), [[1.0, 0.0]]), ValueError,
     ("binary_cross_entropy", "(2,)", "(1, 2)")),
    (lambda: F.binary_cross_entropy(Tensor([0.5, 0.5]), [1.0, 0.0], weight=np.ones(3)),
     ValueError, ("binary_cross_entropy", "weight", "(3,)", "(2,)")),
    (lambda: F.binary_cross_entropy_with_logits(LOGITS, np.zeros(3)), ValueError,
     ("binary_cross_entropy_with_logits", "(2, 3)", "(3,)")),
    (lambda: F.binary_cross_entropy_with_logits(LOGITS, np.zeros((2, 3)),
                                                pos_weight=np.ones(2)), ValueError,
     ("binary_cross_entropy_with_logits", "pos_weight", "(2,)")),
    (lambda: F.mse_loss(LOGITS, np.zeros(2)), ValueError, ("mse_loss", "(2, 3)", "(2,)")),
    (lambda: F.mse_loss(LOGITS, np.zeros((2, 3)), reduction="batchmean"), ValueError,
     ("mse_loss", "'batchmean'")),
    (lambda: F.nll_loss(np.zeros((2, 3)), np.array([0, 1])), TypeError,
     ("nll_loss", "expected a Tensor")),
])
def test_bad_loss_arguments_are_clear_errors(call, error, fragments):
    with _raises(error, *fragments):
        call()


def test_a_target_equal_to_ignore_index_may_lie_outside_the_classes():
    out = F.cross_entropy(LOGITS, np.array([5, 1]), ignore_index=5)
    np.testing.assert_allclose(out.item(), np.log(3), rtol=1e-14)
