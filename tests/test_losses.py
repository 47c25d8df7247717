"""The loss composites: PyTorch's values and gradients (weights, ignore_index, label smoothing,
probability targets, extreme logits), independent numpy formulas for drawn inputs, central
differences, PyTorch's class axis, and clear errors."""

import numpy as np
import pytest

from tinygrad_rnn import Tensor
from tinygrad_rnn import functional as F

X = [[1.0, 2.0, 0.5], [0.0, -1.0, 3.0], [2.0, 2.0, 2.0], [-1e4, 1e4, 0.0]]
W = [0.2, 1.0, 3.0]
# (case, target, keyword arguments, loss, d loss / d logits) for cross_entropy(X, ...), from
# torch 2.13 in float64 (a non-scalar loss is differentiated through its sum)
TORCH_CE = [
    ("ign", [0, -100, 1, 2], {}, 3334.1876603575915,
     [[-0.256258700792617, 0.20951057307058746, 0.04674812772202949], [0.0, 0.0, 0.0],
      [0.1111111111111111, -0.2222222222222222, 0.1111111111111111],
      [0.0, 0.3333333333333333, -0.3333333333333333]]),
    ("w ign", [0, -100, 1, 2], {"weight": W}, 7143.18844905845,
     [[-0.03660838582751671, 0.02993008186722678, 0.0066783039602899275], [0.0, 0.0, 0.0],
      [0.07936507936507936, -0.15873015873015872, 0.07936507936507936],
      [0.0, 0.7142857142857142, -0.7142857142857142]]),
    ("w ign ls", [0, -100, 1, 2], {"weight": W, "label_smoothing": 0.3}, 5810.023926733907,
     [[-0.007265385078951561, 0.05999470541871118, -0.052729320339759626], [0.0, 0.0, 0.0],
      [0.08412698412698412, -0.10158730158730159, 0.017460317460317457],
      [-0.004761904761904762, 0.5761904761904761, -0.5714285714285714]]),
    ("w ign ls sum", [0, -100, 1, 2], {"weight": W, "label_smoothing": 0.3, "reduction": "sum"},
     24402.100492282407,
     [[-0.03051461733159653, 0.2519777627585869, -0.22146314542699044], [0.0, 0.0, 0.0],
      [0.3533333333333333, -0.42666666666666664, 0.07333333333333329],
      [-0.02, 2.4199999999999995, -2.3999999999999995]]),
    ("w ign ls none", [0, -100, 1, 2],
     {"weight": W, "label_smoothing": 0.3, "reduction": "none"},
     [0.8700465191004492, 0.0, 1.2304457633082828, 24400.0],
     [[-0.03051461733159653, 0.2519777627585869, -0.22146314542699044], [0.0, 0.0, 0.0],
      [0.3533333333333333, -0.42666666666666664, 0.07333333333333329],
      [-0.02, 2.4199999999999995, -2.3999999999999995]]),
    ("ls ign", [0, -100, 1, 2], {"label_smoothing": 0.3}, 3334.1709936909247,
     [[-0.18959203412595033, 0.17617723973725413, 0.013414794388696158], [0.0, 0.0, 0.0],
      [0.07777777777777777, -0.15555555555555556, 0.07777777777777777],
      [-0.03333333333333333, 0.3, -0.26666666666666666]]),
    ("all ignored", [-100] * 4, {"label_smoothing": 0.3, "weight": W}, np.nan,
     [[0.0] * 3] * 4),
    ("probabilities", [[0.2, 0.3, 0.5], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.0]],
     {"weight": W, "label_smoothing": 0.2}, 968.346377656927,
     [[0.08994273382516793, 0.19863022634808525, -0.28857296017325323],
      [-0.03820594484975621, -0.014780405856659424, 0.05298635070641563],
      [0.22, 0.20666666666666667, -0.4266666666666667],
      [-0.023333333333333334, 0.07333333333333333, -0.05]]),
]


def _run(fn, x, *args, **kwargs):
    """(loss, d sum(loss)/dx) with x as a float64 leaf."""
    t = Tensor(np.array(x, dtype=np.float64), requires_grad=True)
    loss = fn(t, *args, **kwargs)
    loss.sum().backward()
    return loss.data, t.grad


@pytest.mark.parametrize("case", TORCH_CE, ids=lambda c: c[0])
def test_cross_entropy_matches_pytorch(case):
    _, target, kwargs, expected, expected_grad = case
    target = np.array(target)
    kwargs = {k: np.array(v) if k == "weight" else v for k, v in kwargs.items()}
    loss, grad = _run(F.cross_entropy, X, target, **kwargs)
    np.testing.assert_allclose(loss, expected, rtol=1e-13)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-15)


def test_cross_entropy_over_spatial_and_single_sample_inputs_matches_pytorch():
    # from torch 2.13: an (N, C, d) input with (N, d) targets, and a (C,) input with a 0-d one
    x3 = [[[1.0, 2.0], [0.0, 1.0], [3.0, -1.0]]]
    loss, grad = _run(F.cross_entropy, x3, np.array([[0, 2]]), weight=np.array(W),
                      reduction="none")
    np.testing.assert_allclose(loss, [[0.43396920391125715, 10.047036650304559]], rtol=1e-13)
    np.testing.assert_allclose(grad, [[[-0.1771609601230811, 2.1161535380947236],
                                       [0.00840201322681321, 0.7784893810272574],
                                       [0.16875894689626791, -2.894642919121981]]], rtol=1e-13)
    loss, grad = _run(F.cross_entropy, [1.0, 2.0, 3.0], np.array(2), label_smoothing=0.1)
    assert loss.shape == ()
    np.testing.assert_allclose(loss, 0.5076059644443804, rtol=1e-13)
    np.testing.assert_allclose(grad, [0.0566972398370471, 0.21139513772146432,
                                      -0.26809237755851156], rtol=1e-13)


def test_nll_loss_with_zero_weights_is_nan_as_in_pytorch():
    # from torch 2.13: all class weights 0 -> 0/0 = nan, and nan gradients at the picked entries
    loss, grad = _run(F.nll_loss, X, np.array([0, 2, 1, 0]), weight=np.zeros(3))
    assert np.isnan(loss)
    assert np.isnan(grad[[0, 1, 2, 3], [0, 2, 1, 0]]).all()


def _run2(fn, x, target, **kwargs):
    x = Tensor(np.array(x, dtype=np.float64), requires_grad=True)
    target = Tensor(np.array(target, dtype=np.float64), requires_grad=True)
    loss = fn(x, target, **{k: np.array(v) for k, v in kwargs.items() if k != "reduction"},
              **{k: v for k, v in kwargs.items() if k == "reduction"})
    loss.sum().backward()
    return loss.data, x.grad, target.grad


def test_binary_cross_entropy_matches_pytorch():
    # from torch 2.13, weighted mean, with the gradients for input and target
    loss, dx, dt = _run2(F.binary_cross_entropy, [[0.2, 0.9], [0.5, 0.7]],
                         [[0.0, 1.0], [0.3, 1.0]], weight=[2.0, 0.5])
    np.testing.assert_allclose(loss, 0.5158997983866473, rtol=1e-13)
    np.testing.assert_allclose(dx, [[0.6249999999999999, -0.1388888888888889],
                                    [0.4, -0.17857142857142858]], rtol=1e-13)
    np.testing.assert_allclose(dt, [[0.6931471805599453, -0.27465307216702745],
                                    [-0.0, -0.10591223254840043]], rtol=1e-13)


def test_binary_cross_entropy_clamps_the_logs_at_minus_100_with_finite_gradients():
    # values from torch 2.13 (its logs are clamped at -100); the gradients are the derivative
    # of that clamped loss (PyTorch's own backward clamps a denominator instead: see docstring)
    loss, dx, dt = _run2(F.binary_cross_entropy, [0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 1.0, 1.0],
                         reduction="none")
    np.testing.assert_array_equal(loss, [0.0, 100.0, 100.0, 0.0])
    np.testing.assert_array_equal(dx, [1.0, 0.0, 0.0, -1.0])
    np.testing.assert_array_equal(dt, [100.0, -100.0, 100.0, -100.0])


def test_binary_cross_entropy_with_logits_is_finite_at_extreme_logits_as_pytorch():
    # from torch 2.13
    loss, dx, dt = _run2(F.binary_cross_entropy_with_logits,
                         [-1e4, 1e4, -1e4, 1e4, 0.0, 2.0], [0.0, 0.0, 1.0, 1.0, 0.5, 0.3],
                         reduction="none")
    np.testing.assert_allclose(loss, [0.0, 1e4, 1e4, 0.0, 0.6931471805599453,
                                      1.5269280110429724], rtol=1e-13)
    np.testing.assert_allclose(dx, [0.0, 1.0, -1.0, 0.0, 0.0, 0.5807970779778824], rtol=1e-13)
    np.testing.assert_allclose(dt, [1e4, -1e4, 1e4, -1e4, 0.0, -2.0], rtol=1e-13)
    loss, dx, dt = _run2(F.binary_cross_entropy_with_logits, [[-1e4, 1e4, 0.5], [2.0, -3.0, 1.0]],
                         [[1.0, 0.0, 0.2], [1.0, 1.0, 0.0]], pos_weight=[3.0, 0.5, 2.0],
                         weight=[[1.0], [2.0]])
    np.testing.assert_allclose(loss, 6667.90092852898, rtol=1e-13)
    np.testing.assert_allclose(dx, [[-0.5, 0.16666666666666666, 0.057825199573704245],
                                    [-0.11920292202211764, -0.15876235447040554,
                                     0.2436861928766683]], rtol=1e-13)
    np.testing.assert_allclose(dt, [[5000.0, -1666.6666666666667, -0.004320502636648886],
                                    [-0.5820479926380183, 0.491902108071043,
                                     -0.22891277082725903]], rtol=1e-13)


def test_mse_loss_reductions_match_pytorch():
    # from torch 2.13: sum = 5, gradient 2(x - y)
    loss, dx, dt = _run2(F.mse_loss, [1.0, 2.0, -3.0], [0.0, 4.0, -3.0], reduction="sum")
    assert loss == 5.0
    np.testing.assert_array_equal(dx, [2.0, -4.0, 0.0])
    np.testing.assert_array_equal(dt, [-2.0, 4.0, 0.0])
    loss, _, _ = _run2(F.mse_loss, [1.0, 2.0], [0.0, 4.0], reduction="none")
    np.testing.assert_array_equal(loss, [1.0, 4.0])
