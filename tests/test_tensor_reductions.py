"""Reductions and scans of issue 10: values and gradients against torch 2.13 (hard-coded),
numpy formulas (hypothesis), and the conventions at ties, zeros and empty tensors."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_rnn import Tensor, gradcheck
from tinygrad_rnn.testing import arrays, axes, shapes, with_zeros


def _value_and_grad(fn, *values, cotangent=None):
    xs = [Tensor(v, requires_grad=True) for v in values]
    out = fn(*xs)
    loss = out.sum() if cotangent is None else (out * Tensor(cotangent)).sum()
    loss.backward()
    return out.data, [x.grad for x in xs]


def _close(actual, expected, what):
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12, err_msg=what)


# ------------------------------------------------------------- torch 2.13 reference values
# Each expected value below was computed with torch 2.13 (float64).

def test_prod_gradient_with_one_and_with_several_zeros_equals_torch():
    out, (g,) = _value_and_grad(lambda x: x.prod(1), [[2., 0., 3.], [0., 0., 4.], [1., 2., 3.]])
    _close(out, [0.0, 0.0, 6.0], "prod")
    _close(g, [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0], [6.0, 3.0, 2.0]], "prod grad")


def test_cumprod_gradient_with_zeros_equals_torch():
    out, (g,) = _value_and_grad(lambda x: x.cumprod(1),
                                [[2., 0., 3., 0., 5.], [1., 2., 0., 4., 0.5]])
    _close(out, [[2, 0, 0, 0, 0], [1, 2, 0, 0, 0]], "cumprod")
    _close(g, [[1.0, 8.0, 0.0, 0.0, 0.0], [3.0, 1.0, 14.0, 0.0, 0.0]], "cumprod grad")


def test_logcumsumexp_is_stable_at_1e4_and_equals_torch():
    out, (g,) = _value_and_grad(lambda x: x.logcumsumexp(0), [1e4, -1e4, 0.5, 1e4],
                                cotangent=[1., -2., 3., -0.5])
    _close((out * [1., -2., 3., -0.5]).sum(), 14999.65342640972, "logcumsumexp")
    np.testing.assert_allclose(g, [1.7500000000029332, 0.0, 0.0, -0.2499999999999138],
                               rtol=1e-9, atol=1e-12)


def test_cumsum_gradient_is_the_reversed_cumsum():
    _, (g,) = _value_and_grad(lambda x: x.cumsum(0), [1., 2., 3.], cotangent=[1., 2., 3.])
    _close(g, [6.0, 5.0, 3.0], "cumsum grad")


def test_norms_and_their_gradients_equal_torch_including_zero():
    out, (g,) = _value_and_grad(lambda x: x.norm(dim=1), [[3., 4.], [0., 0.]])
    _close(out, [5.0, 0.0], "norm")
    _close(g, [[0.6, 0.8], [0.0, 0.0]], "2-norm grad (0 at 0, as torch)")
    out, (g,) = _value_and_grad(lambda x: x.norm(p=1), [[3., -4.], [0., 0.]])
    _close(out, 7.0, "1-norm")
    _close(g, [[1.0, -1.0], [0.0, 0.0]], "1-norm grad")
    out, (g,) = _value_and_grad(lambda x: x.norm(p=math.inf, dim=1), [[3., -3.], [1., 2.]])
    _close(out, [3.0, 2.0], "inf-norm")
    _close(g, [[0.5, -0.5], [0.0, 1.0]], "inf-norm grad: ties share")


def test_norm_does_not_overflow_or_underflow():  # torch 2.13 gives inf and 0 here
    np.testing.assert_allclose(Tensor([1e200, 1e200]).norm().item(), math.sqrt(2) * 1e200)
    np.testing.assert_allclose(Tensor([1e-200, 1e-200]).norm().item(), math.sqrt(2) * 1e-200)
    assert Tensor([np.inf, 1.0]).norm().item() == np.inf
    assert np.isnan(Tensor([np.nan, 1.0]).norm().item())


def test_var_and_std_equal_torch():
    out, (g,) = _value_and_grad(lambda x: x.var(0), [[1., 2.], [3., 5.], [4., 4.]])
    _close(out, [2.3333333333333335, 2.3333333333333335], "var")
    _close(g, [[-1.6666666666666665, -1.6666666666666665], [0.3333333333333335,
               1.3333333333333335], [1.3333333333333335, 0.3333333333333335]], "var grad")
    out, (g,) = _value_and_grad(lambda x: x.std(1, correction=0), [[1., 2.], [3., 3.]])
    _close(out, [0.5, 0.0], "std")
    _close(g, [[-0.5, 0.5], [0.0, 0.0]], "std grad: 0 on a constant row, as torch")
    x = Tensor([[1., 2.], [3., 5.]])
    _close(x.std(1, unbiased=False).data, x.std(1, correction=0).data, "unbiased=False")


def test_var_with_too_few_elements_is_nan_or_inf_as_torch():
    assert np.isnan(Tensor([2.]).var().item())
    assert Tensor([2., 3.]).var(correction=3).item() == np.inf


def test_amin_shares_ties_while_min_dim_picks_the_first_index_as_torch():
    x = [[1., 1., 3.], [2., 0., 0.]]
    out, (g,) = _value_and_grad(lambda t: t.amin(1), x)
    _close(g, [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]], "amin grad")
    t = Tensor(x, requires_grad=True)
    values, indices = t.min(1)
    values.sum().backward()
    assert indices.tolist() == [0, 1] and indices.dtype == np.int64
    _close(t.grad, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], "min(dim) grad")


def test_max_forms_follow_torch_and_numpy():
    t = Tensor([[1., 5.], [5., 2.]], requires_grad=True)
    assert t.max(1)._fields == ("values", "indices")
    assert t.max(1, keepdim=True).values.shape == (2, 1)
    assert t.max(axis=1).shape == (2,)  # numpy's spelling returns the values, as amax
    assert t.max(axis=(0, 1)).item() == 5.0
    np.testing.assert_array_equal(t.max(Tensor([[2., 2.], [2., 9.]])).data, [[2, 5], [5, 9]])
    t.max().backward()
    _close(t.grad, [[0, 0.5], [0.5, 0]], "max() shares ties (torch)")


def test_argmax_and_argmin_take_the_first_of_ties_as_torch():
    x = Tensor([[1., 3., 3.], [2., 2., 0.]])
    assert x.argmax(1).tolist() == [1, 0]
    assert Tensor([[1., 3., 3.], [3., 2., 0.]]).argmax().item() == 1
    assert x.argmin(0, keepdim=True).tolist() == [[0, 1, 1]]
    assert x.argmax(keepdim=True).shape == (1, 1)
    with pytest.raises(ValueError, match="argmax.*empty"):
        Tensor(np.zeros((0, 2))).argmax()


# ------------------------------------------------------------------- dim and its aliases


def test_every_reduction_takes_dim_keepdim_and_the_numpy_aliases():
    x = Tensor(np.arange(6.0).reshape(2, 3) + 1)
    for name in ("sum", "mean", "prod", "amax", "amin", "var", "std", "norm", "any", "all",
                 "logsumexp"):
        f = getattr(x, name)
        a = f(dim=1, keepdim=True).data
        np.testing.assert_array_equal(a, f(axis=1, keepdims=True).data, err_msg=name)
        assert a.shape == (2, 1), name
        with pytest.raises(TypeError, match="both|alias"):
            f(dim=1, axis=1)
    with pytest.raises(TypeError, match="both"):
        x.sum(1, keepdim=True, keepdims=True)


@pytest.mark.parametrize("dim", [0, -1, (0,), None])
def test_a_0d_tensor_accepts_dim_0_and_minus_1_as_torch(dim):
    x = Tensor(3.0, requires_grad=True)
    for name in ("sum", "mean", "prod", "amax", "amin", "norm"):
        out = getattr(x, name)(dim=dim)
        assert out.shape == () and out.item() == 3.0, name
    assert x.cumsum(0).item() == 3.0 and x.cumprod(-1).item() == 3.0
    assert x.argmax(0).item() == 0 and x.max(0).values.item() == 3.0
    with pytest.raises(ValueError, match="sum.*dim 1"):
        x.sum(dim=1)


def test_negative_dims_and_scan_dims():
    x = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(Tensor(x).cumsum(-2).data, np.cumsum(x, axis=-2))
    np.testing.assert_array_equal(Tensor(x).prod(dim=(-1, 0)).data, np.prod(x, axis=(2, 0)))
    with pytest.raises(TypeError, match="cumsum: dim is required"):
        Tensor(x).cumsum()
    with pytest.raises(ValueError, match="cumprod: dim 3"):
        Tensor(x).cumprod(3)


def test_empty_tensors_reduce_as_torch():
    e = Tensor(np.zeros((0, 3)), requires_grad=True)
    np.testing.assert_array_equal(e.sum(0).data, [0, 0, 0])
    np.testing.assert_array_equal(e.prod(0).data, [1, 1, 1])
    assert e.cumsum(0).shape == (0, 3) and e.cumprod(0).shape == (0, 3)
    assert e.norm().item() == 0.0
    (e.prod(0).sum() + e.cumprod(0).sum() + e.logcumsumexp(0).sum()).backward()
    assert e.grad.shape == (0, 3)


# ------------------------------------------------------------- properties against numpy


@given(data=st.data())
def test_prod_and_cumprod_gradients_equal_the_product_of_the_others(data):
    """dprod/dx_j = Π_{k≠j} x_k, written out by brute force, zeros included."""
    x = data.draw(with_zeros(data.draw(arrays(shapes(1, 1, 1, 5), -2, 2))))
    t = Tensor(x, requires_grad=True)
    t.prod().backward()
    others = [np.prod(np.delete(x, j)) for j in range(x.size)]
    np.testing.assert_allclose(t.grad, others, rtol=1e-12, atol=1e-12)
    t = Tensor(x, requires_grad=True)
    t.cumprod(0).sum().backward()
    brute = [sum(np.prod(np.delete(x[: i + 1], j)) for i in range(j, x.size))
             for j in range(x.size)]
    np.testing.assert_allclose(t.grad, brute, rtol=1e-12, atol=1e-12)


@given(x=arrays(shapes(1, 3)), data=st.data())
def test_reductions_equal_numpy(x, data):
    axis = data.draw(axes(x.ndim))
    t = Tensor(x)
    np.testing.assert_allclose(t.prod(axis=axis).data, np.prod(x, axis=axis), rtol=1e-12)
    np.testing.assert_allclose(t.amin(axis=axis).data, np.min(x, axis=axis))
    np.testing.assert_allclose(t.norm(dim=axis).data,
                               np.sqrt(np.sum(x * x, axis=axis)), rtol=1e-12, atol=1e-12)
    n = x.size if axis is None else math.prod(
        x.shape[a] for a in ((axis,) if isinstance(axis, int) else axis))
    if n > 1:
        np.testing.assert_allclose(t.var(axis=axis).data, np.var(x, axis=axis, ddof=1),
                                   rtol=1e-9, atol=1e-12)
    d = data.draw(st.integers(-x.ndim, x.ndim - 1))
    np.testing.assert_allclose(t.cumsum(d).data, np.cumsum(x, axis=d), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(t.logcumsumexp(d).data, np.logaddexp.accumulate(x, axis=d),
                               rtol=1e-12)
    np.testing.assert_array_equal(t.argmax(d).data, np.argmax(x, axis=d))


@given(x=arrays(shapes(1, 2, 1, 3)), p=st.sampled_from([1, 2, 3, math.inf, "fro"]))
def test_norm_gradients_match_central_differences(x, p):
    x = np.where(np.abs(x) < 0.1, 0.5, x)  # off the kink of |x| (the 1- and inf-norms)
    x = x + np.arange(x.size).reshape(x.shape) * 1e-3  # no ties for the inf-norm
    assert gradcheck(lambda t: t.norm(p=p), [x], eps=1e-6, atol=1e-6, rtol=1e-5)


@given(x=arrays(shapes(1, 2, 2, 3)), correction=st.sampled_from([0, 1]))
def test_var_and_std_gradients_match_central_differences(x, correction):
    x = x + np.arange(x.size).reshape(x.shape)  # never constant
    assert gradcheck(lambda t: t.std(correction=correction) + t.var(0, correction=correction
                                                                    ).sum(),
                     [x], eps=1e-6, atol=1e-6, rtol=1e-5)
