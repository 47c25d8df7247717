"""softmax, log_softmax and logsumexp take PyTorch's `dim` and keep numpy's `axis` as an alias."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_rnn import Tensor, gradcheck
from tinygrad_rnn import functional as F
from tinygrad_rnn.testing import arrays, shapes


def np_logsumexp(x, axis, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


@given(st.data())
def test_dim_and_axis_agree_for_every_dim_including_negative(data):
    x = data.draw(arrays(shapes(1, 3), -1e4, 1e4))
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    lse = np_logsumexp(x, dim, keepdims=True)
    expected = {"log_softmax": x - lse, "softmax": np.exp(x - lse)}
    for name in ("softmax", "log_softmax"):
        fn = getattr(F, name)
        by_dim, by_axis = fn(Tensor(x), dim=dim).data, fn(Tensor(x), axis=dim).data
        np.testing.assert_array_equal(by_dim, by_axis)
        # x - lse and (x - m) - log Σ exp(x - m) round differently: near 0 (a dominant max, as
        # at x = [2, -7]) the relative error of either is ~1e-12, so compare to |x| eps too
        np.testing.assert_allclose(by_dim, expected[name], rtol=1e-12,
                                   atol=1e-15 * max(1.0, float(np.abs(x).max())))
    np.testing.assert_allclose(F.logsumexp(Tensor(x), dim).data, np_logsumexp(x, dim),
                               rtol=1e-12)


def test_dim_defaults_to_the_last_axis():
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(F.softmax(Tensor(x)).data, F.softmax(Tensor(x), dim=-1).data)
    np.testing.assert_array_equal(F.logsumexp(Tensor(x)).data, np_logsumexp(x, -1))


def test_logsumexp_takes_a_tuple_of_dims_and_keepdim_as_pytorch():
    x = np.arange(12.0).reshape(2, 3, 2) / 7
    out = F.logsumexp(Tensor(x), dim=(0, 2), keepdim=True)
    assert out.shape == (1, 3, 1)
    np.testing.assert_allclose(out.data, np_logsumexp(x, (0, 2), keepdims=True), rtol=1e-14)
    assert F.logsumexp(Tensor(x), axis=1, keepdims=True).shape == (2, 1, 2)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
def test_dim_and_axis_together_are_an_error(name):
    with pytest.raises(TypeError, match=f"{name}: got dim=0 and its alias axis=1"):
        getattr(F, name)(Tensor(np.zeros((2, 2))), dim=0, axis=1)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
@given(x=arrays(shapes(2, 3), -5.0, 5.0))
def test_softmax_family_over_dim_0_matches_central_differences(name, x):
    fn = getattr(F, name)
    assert gradcheck(lambda t: fn(t, dim=0), [Tensor(x, requires_grad=True)])
