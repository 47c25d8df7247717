"""Elementwise maps, comparison/logic and indexing ops of issue 10. Values marked 'torch' were
computed with torch 2.13 (float64)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn.functional as F
from tinygrad_rnn import Tensor, gradcheck
from tinygrad_rnn.testing import arrays, broadcastable_shapes, shapes


def _grad(fn, *values):
    xs = [Tensor(v, requires_grad=True) for v in values]
    out = fn(*xs)
    out.sum().backward()
    return out.data, [x.grad for x in xs]


def _close(a, b, what=""):
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15, err_msg=what)


def test_unary_maps_and_gradients_equal_torch():
    out, (g,) = _grad(lambda x: x.sin() + x.cos(), [0.5, -1.0])
    _close(out, [1.3570081004945758, -0.30116867893975674])
    _close(g, [0.39815702328616975, 1.3817732906760363])
    out, (g,) = _grad(lambda x: x.log1p() + x.expm1(), [1e-10, 0.5])
    _close(out, [2e-10, 1.0541863788082926])
    _close(g, [2.0, 2.3153879373667947])
    _close(Tensor([1e-10]).log1p().item(), 9.999999999500001e-11, "log1p is exact for tiny x")
    _close(Tensor([1e-10]).expm1().item(), 1.00000000005e-10, "expm1 is exact for tiny x")
    out, (g,) = _grad(lambda x: x.rsqrt() + x.square() + x.reciprocal() + x.exp2() + x.log2(),
                      [0.5, 2.0])
    _close(out, [4.07842712474619, 10.207106781186548])
    _close(g, [-0.5485653371266206, 7.067159547387626])


def test_maximum_and_minimum_split_ties_in_half_as_torch():
    _, (gx, gy) = _grad(lambda x, y: x.minimum(y), [1., 2., 3.], [1., 3., 2.])
    _close(gx, [0.5, 1.0, 0.0])
    _close(gy, [0.5, 0.0, 1.0])
    _, (gx, gy) = _grad(lambda x, y: x.maximum(y), [3., 1., 3.], [3., 0., 0.])
    _close(gx, [0.5, 1.0, 1.0])
    _close(gy, [0.5, 0.0, 0.0])
    assert np.isnan(Tensor([np.nan]).maximum(Tensor([1.0])).item())


def test_maximum_broadcasts_and_sums_the_gradient_back():
    _, (gx, gy) = _grad(lambda x, y: x.maximum(y), [[1., 5.], [4., 2.]], [3.])
    _close(gx, [[0, 1], [1, 0]])
    _close(gy, [2.0])


def test_clamp_gradients_equal_torch():
    out, (g,) = _grad(lambda x: x.clamp(-1, 1), [-2., -1., 0., 1., 2.])
    _close(out, [-1, -1, 0, 1, 1])
    _close(g, [0, 1, 1, 1, 0], "the bounds themselves pass the gradient (torch)")
    out, (g,) = _grad(lambda x: x.clamp(2, 1), [0., 1.5, 3.])
    _close(out, [1, 1, 1], "min > max gives max (torch)")
    _close(g, [0, 0, 0])
    _, (gx, glo) = _grad(lambda x, lo: x.clamp(min=lo), [1., 2., 3.], [1., 3., 0.])
    _close(gx, [1, 0, 1])
    _close(glo, [0, 1, 0])
    assert Tensor([5.0]).clip(max=2).item() == 2.0 and Tensor([5.0]).clamp_min(6).item() == 6
    assert np.isnan(Tensor([np.nan]).clamp(0, 1).item())
    with pytest.raises(ValueError, match="clamp: at least one"):
        Tensor([1.0]).clamp()


def test_sign_has_zero_gradient_and_maps_nan_to_zero_as_torch():
    out, (g,) = _grad(lambda x: x.sign() * 1.0, [-1.0, 0.0, 1.0, 2.0])
    _close(out, [-1, 0, 1, 1])
    _close(g, [0, 0, 0, 0])
    assert Tensor([np.nan]).sign().item() == 0.0


@given(shapes_xy=broadcastable_shapes(), data=st.data())
def test_elementwise_composites_equal_numpy(shapes_xy, data):
    x = data.draw(arrays(shapes_xy[0]))
    y = data.draw(arrays(shapes_xy[1]))
    t, u = Tensor(x), Tensor(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        checks = {
            "maximum": (t.maximum(u), np.maximum(x, y)),
            "minimum": (t.minimum(u), np.minimum(x, y)),
            "clamp": (t.clamp(-1.0, 1.0), np.clip(x, -1.0, 1.0)),
            "square": (t.square(), x * x),
            "exp2": (t.exp2(), np.exp2(x)),
            "sin": (t.sin(), np.sin(x)),
            "sign": (t.sign(), np.sign(x)),
            "log1p": (t.abs().log1p(), np.log1p(np.abs(x))),
        }
    for name, (ours, expected) in checks.items():
        np.testing.assert_allclose(ours.data, expected, rtol=1e-12, atol=1e-300, err_msg=name)


@given(x=arrays(shapes(0, 2)))
def test_composite_maps_match_central_differences(x):
    x = np.abs(x) + 0.5  # in every map's domain, off the clamp bounds' neighbourhood below
    x = np.where((np.abs(x - 1.5) < 0.05) | (np.abs(x - 1.0) < 0.05), 1.25, x)
    assert gradcheck(lambda t: t.rsqrt() + t.log2() + t.exp2() + t.reciprocal()
                     + t.clamp(1.0, 1.5) + t.square(), [x])


# ---------------------------------------------------------------- comparison and logic


def test_logic_ops_give_bool_tensors():
    a, b = Tensor([True, False]), Tensor([True, True])
    assert (a & b).tolist() == [True, False] and (a | b).tolist() == [True, True]
    assert (~a).tolist() == [False, True] and (a ^ b).tolist() == [False, True]
    assert a.logical_and(b).tolist() == [True, False] and a.logical_not().tolist() == [0, 1]
    x = Tensor([1.0, np.nan, np.inf, -np.inf])
    assert x.isnan().tolist() == [False, True, False, False]
    assert x.isinf().tolist() == [False, False, True, True]
    assert x.isfinite().tolist() == [True, False, False, False]
    assert ((x > 0) | x.isnan()).tolist() == [True, True, True, False]
    with pytest.raises(TypeError, match="~: only bool and integer"):
        ~Tensor([1.0])
    with pytest.raises(TypeError, match="&: needs bool or integer"):
        Tensor([1.0]) & Tensor([True])


def test_any_all_reduce_truth_values():
    x = Tensor([[True, False], [True, True]])
    assert x.any().item() and not x.all().item()
    assert x.all(dim=1).tolist() == [False, True] and x.any(0, keepdim=True).shape == (1, 2)


# -------------------------------------------------------------------------- indexing


def test_gather_scatter_add_index_select_equal_torch():
    out, (g,) = _grad(lambda x: x.gather(1, np.array([[0, 0], [2, 1]])),
                      [[1., 2., 3.], [4., 5., 6.]])
    _close(out, [[1, 1], [6, 5]])
    _close(g, [[2, 0, 0], [0, 1, 1]], "repeated indices accumulate")
    out, (gx, gs) = _grad(lambda x, s: x.scatter_add(0, np.array([[1, 0, 1]]), s),
                          [[1., 2., 3.], [4., 5., 6.]], [[10., 20., 30.]])
    _close(out, [[1, 22, 3], [14, 5, 36]])
    _close(gx, np.ones((2, 3)))
    _close(gs, [[1, 1, 1]])
    out, (g,) = _grad(lambda x: x.index_select(1, np.array([2, 0, 2])),
                      [[1., 2., 3.], [4., 5., 6.]])
    _close(out, [[3, 1, 3], [6, 4, 6]])
    _close(g, [[1, 0, 2], [1, 0, 2]])


def test_scatter_add_accumulates_repeated_targets():
    x = Tensor(np.zeros(3))
    out = x.scatter_add(0, Tensor(np.array([1, 1, 1])), Tensor([1.0, 2.0, 3.0]))
    assert out.tolist() == [0.0, 6.0, 0.0]


def test_indexing_errors_name_the_op_and_shapes():
    x = Tensor(np.zeros((2, 3)))
    with pytest.raises(IndexError, match=r"gather: index values .* dim 1 of size 3"):
        x.gather(1, np.array([[3], [0]]))
    with pytest.raises(ValueError, match=r"gather: index must have the tensor's 2 dims"):
        x.gather(1, np.array([0]))
    with pytest.raises(TypeError, match="index_select: index must be an integer"):
        x.index_select(0, np.array([0.5]))
    with pytest.raises(ValueError, match="scatter_add: src of shape"):
        x.scatter_add(0, np.array([[0, 1]]), Tensor([1.0]))
    with pytest.raises(TypeError, match="masked_fill: mask must be a bool"):
        x.masked_fill(np.array([1, 0, 1]), 0.0)


def test_masked_fill_and_boolean_and_tensor_indices():
    x = Tensor([[1., 2.], [3., 4.]], requires_grad=True)
    y = x.masked_fill(x.data > 2, -1.0)
    assert y.tolist() == [[1, 2], [-1, -1]]
    (y.sum() + x[x > 1.5].sum() + x[Tensor(np.array([0, 0]))].sum()).backward()
    _close(x.grad, [[3, 4], [1, 1]], "mask and repeated index tensors accumulate")


def test_one_hot_equals_torch():
    assert F.one_hot(Tensor(np.array([2, 0]))).tolist() == [[0, 0, 1], [1, 0, 0]]
    assert F.one_hot(np.array([1]), 3).tolist() == [[0, 1, 0]]
    assert F.one_hot(np.array([1]), 3).dtype == np.int64
    with pytest.raises(ValueError, match="one_hot: class values"):
        F.one_hot(np.array([3]), 3)


def test_softmax_family_as_methods_delegate_to_functional():
    x = Tensor([[1., 2.], [3., 4.]])
    _close(x.logsumexp(1).data, [2.313261687518223, 4.313261687518223])  # torch
    _close(x.softmax(-1).data, F.softmax(x, dim=-1).data)
    _close(x.log_softmax(dim=0).data, F.log_softmax(x, dim=0).data)


@given(x=arrays(shapes(1, 3)), data=st.data())
def test_gather_equals_take_along_axis_and_passes_gradcheck(x, data):
    d = data.draw(st.integers(-x.ndim, x.ndim - 1))
    shape = list(x.shape)
    shape[d] = data.draw(st.integers(1, 4))
    index = np.array(data.draw(st.lists(st.integers(0, x.shape[d] - 1), min_size=int(np.prod(
        shape)), max_size=int(np.prod(shape))))).reshape(shape)
    np.testing.assert_array_equal(Tensor(x).gather(d, index).data,
                                  np.take_along_axis(x, index, axis=d))
    assert gradcheck(lambda t: t.gather(d, index), [x])
    src = data.draw(arrays(tuple(shape)))
    manual = x.copy()  # scatter_add written out element by element
    for pos in np.ndindex(*index.shape):
        target = list(pos)
        target[d % x.ndim] = index[pos]
        manual[tuple(target)] += src[pos]
    np.testing.assert_allclose(Tensor(x).scatter_add(d, index, Tensor(src)).data, manual,
                               rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda t, s: t.scatter_add(d, index, s), [x, src])
