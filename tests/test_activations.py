"""The activation composites: PyTorch's values and gradients (kinks and ±1e4 included), an
independent numpy formula for every input hypothesis draws, and central differences."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_rnn import Tensor, gradcheck
from tinygrad_rnn import functional as F
from tinygrad_rnn.testing import arrays, away_from_zero, shapes

X = [-1e4, -1.0, 0.0, 1.0, 1e4]
# name: (input, keyword arguments, output, d(sum output)/d input), from torch 2.13 in float64
TORCH = {
    "softplus": (X, {}, [0.0, 0.31326168751822286, 0.6931471805599453, 1.3132616875182228,
                         1e4], [0.0, 0.2689414213699951, 0.5, 0.7310585786300049, 1.0]),
    "leaky_relu": (X, {}, [-100.0, -0.01, 0.0, 1.0, 1e4], [0.01, 0.01, 0.01, 1.0, 1.0]),
    "elu": (X, {}, [-1.0, -0.6321205588285577, 0.0, 1.0, 1e4],
            [0.0, 0.36787944117144233, 1.0, 1.0, 1.0]),
    "selu": (X, {}, [-1.7580993408473766, -1.1113307378125625, 0.0, 1.0507009873554805,
                     10507.009873554805],
             [0.0, 0.646768603034814, 1.7580993408473766, 1.0507009873554805,
              1.0507009873554805]),
    "celu": (X, {}, [-1.0, -0.6321205588285577, 0.0, 1.0, 1e4],
             [0.0, 0.36787944117144233, 1.0, 1.0, 1.0]),
    "silu": (X, {}, [-0.0, -0.2689414213699951, 0.0, 0.7310585786300049, 1e4],
             [-0.0, 0.07232948812851325, 0.5, 0.9276705118714869, 1.0]),
    "mish": (X, {}, [-0.0, -0.30340146137410895, 0.0, 0.8650983882673103, 1e4],
             [0.0, 0.059216755877395014, 0.6, 1.0490362200997922, 1.0]),
    "logsigmoid": (X, {}, [-1e4, -1.3132616875182228, -0.6931471805599453,
                           -0.31326168751822286, 0.0],
                   [1.0, 0.7310585786300049, 0.5, 0.2689414213699951, 0.0]),
    "softsign": (X, {}, [-0.9999000099990001, -0.5, 0.0, 0.5, 0.9999000099990001],
                 [9.998000299960897e-09, 0.25, 1.0, 0.25, 9.998000299960897e-09]),
    "gelu": (X, {"approximate": "tanh"}, [-0.0, -0.15880800939172324, 0.0, 0.8411919906082768,
                                          1e4],
             [0.0, -0.08296408384578252, 0.5, 1.0829640838457826, 1.0]),
    "softplus/beta": ([-1e4, 0.0, 10.0, 10.5, 1e4], {"beta": 2.0, "threshold": 21.0},
                      [0.0, 0.34657359027997264, 10.000000001030577, 10.500000000379128, 1e4],
                      [0.0, 0.5, 0.9999999979388464, 0.999999999241744, 1.0]),
    "hardtanh": ([-2.0, -1.0, 0.0, 1.0, 2.0], {}, [-1.0, -1.0, 0.0, 1.0, 1.0],
                 [0.0, 0.0, 1.0, 0.0, 0.0]),
    "relu6": ([-1.0, 0.0, 3.0, 6.0, 7.0], {}, [0.0, 0.0, 3.0, 6.0, 6.0],
              [0.0, 0.0, 1.0, 0.0, 0.0]),
    "leaky_relu/slope": ([-2.0, 0.0, 2.0], {"negative_slope": 0.2}, [-0.4, 0.0, 2.0],
                         [0.2, 0.2, 1.0]),
    "elu/alpha": ([-2.0, 0.0, 2.0], {"alpha": 2.0}, [-1.7293294335267746, 0.0, 2.0],
                  [0.2706705664732254, 2.0, 1.0]),
    "celu/alpha": ([-2.0, 0.0, 2.0], {"alpha": 2.0}, [-1.2642411176571153, 0.0, 2.0],
                   [0.36787944117144233, 1.0, 1.0]),
}
# exact gelu (approximate="none"), from torch 2.13 in float64
TORCH_GELU = (X, [-0.0, -0.15865525393145702, 0.0, 0.841344746068543, 1e4],
              [0.0, -0.08331547058768635, 0.5, 1.0833154705876864, 1.0])


def _value_and_grad(fn, x, **kwargs):
    t = Tensor(np.array(x, dtype=np.float64), requires_grad=True)
    out = fn(t, **kwargs)
    out.sum().backward()
    return out.data, t.grad


@pytest.mark.parametrize("case", sorted(TORCH))
def test_activation_values_and_gradients_match_pytorch_at_kinks_and_extremes(case):
    x, kwargs, expected, expected_grad = TORCH[case]
    out, grad = _value_and_grad(getattr(F, case.split("/")[0]), x, **kwargs)
    np.testing.assert_allclose(out, expected, rtol=1e-13, atol=1e-300, err_msg=f"{case} value")
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-13, atol=1e-16,
                               err_msg=f"{case} gradient")


needs_erf = pytest.mark.skipif(not hasattr(Tensor, "erf"),
                               reason="exact gelu needs the primitive Tensor.erf (not yet added)")


@needs_erf
def test_exact_gelu_matches_pytorch():
    x, expected, expected_grad = TORCH_GELU
    out, grad = _value_and_grad(F.gelu, x)
    np.testing.assert_allclose(out, expected, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-13, atol=1e-16)


def test_exact_gelu_without_erf_raises_not_implemented(monkeypatch):
    if hasattr(Tensor, "erf"):
        monkeypatch.delattr(Tensor, "erf")
    with pytest.raises(NotImplementedError, match="gelu.*erf"):
        F.gelu(Tensor([1.0]))


# ------------------------------------------------------------ independent numpy formulas


def _np_gelu(x):
    return 0.5 * x * (1 + np.vectorize(math.erf, otypes=[float])(x / math.sqrt(2)))


SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805
REFERENCE = {
    "softplus": lambda x: np.where(x > 20, x, np.logaddexp(0, x)),
    "logsigmoid": lambda x: -np.logaddexp(0, -x),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.01 * x),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0))),
    "celu": lambda x: np.maximum(x, 0) + np.minimum(0, np.expm1(np.minimum(x, 0))),
    "silu": lambda x: x / (1 + np.exp(-np.clip(x, -700, 700))),
    "mish": lambda x: x * np.tanh(np.logaddexp(0, x)),
    "hardtanh": lambda x: np.clip(x, -1, 1),
    "relu6": lambda x: np.clip(x, 0, 6),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "gelu": lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))),
}
KWARGS = {"gelu": {"approximate": "tanh"}}
EXTREMES = st.sampled_from([-1e4, -745.0, -50.0, -1e-12, 0.0, 1e-12, 20.0, 50.0, 1e4])
VALUES = st.one_of(st.floats(-30, 30, allow_subnormal=False), EXTREMES)


@pytest.mark.parametrize("name", sorted(REFERENCE))
@given(data=st.lists(VALUES, min_size=0, max_size=8))
def test_activation_matches_an_independent_numpy_formula_with_finite_gradients(name, data):
    x = np.array(data, dtype=np.float64)
    out, grad = _value_and_grad(getattr(F, name), x, **KWARGS.get(name, {}))
    expected = REFERENCE[name](x)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-300,
                               err_msg=f"{name} at {x.tolist()}")
    assert np.all(np.isfinite(grad)), f"{name}: non-finite gradient {grad} at {x.tolist()}"


@needs_erf
@given(data=st.lists(VALUES, min_size=0, max_size=8))
def test_exact_gelu_matches_erf(data):
    x = np.array(data, dtype=np.float64)
    out, grad = _value_and_grad(F.gelu, x)
    np.testing.assert_allclose(out, _np_gelu(x), rtol=1e-12, atol=1e-300)
    assert np.all(np.isfinite(grad))


KINKS = {"hardtanh": (-1.0, 1.0), "relu6": (0.0, 6.0)}


@pytest.mark.parametrize("name", sorted(REFERENCE))
@given(data=arrays(shapes(0, 3), -4.0, 4.0))
def test_activation_gradient_matches_central_differences(name, data):
    x = away_from_zero(data, 0.05)  # off the kink at 0 (and the threshold, far away)
    for kink in KINKS.get(name, ()):
        x = np.where(np.abs(x - kink) < 0.05, kink + 0.1, x)
    kwargs = KWARGS.get(name, {})
    fn = getattr(F, name)
    assert gradcheck(lambda t: fn(t, **kwargs), [Tensor(x, requires_grad=True)],
                     atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_activation_keeps_float32_and_shape(name):
    x = Tensor(np.array([[-1e4, -0.5], [0.0, 1e4]], dtype=np.float32), requires_grad=True)
    out = getattr(F, name)(x, **KWARGS.get(name, {}))
    out.sum().backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32 and out.shape == (2, 2)
    assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(x.grad))


def test_softplus_with_a_negative_beta_matches_pytorch():
    # from torch 2.13: softplus([0, -10.5, 1e4, -1e4], beta=-2)
    out, grad = _value_and_grad(F.softplus, [0.0, -10.5, 1e4, -1e4], beta=-2.0)
    np.testing.assert_allclose(out, [-0.34657359027997264, -10.5, -0.0, -1e4], rtol=1e-13)
    np.testing.assert_allclose(grad, [0.5, 1.0, 0.0, 1.0], rtol=1e-13)


def test_softplus_keeps_precision_where_exp_is_tiny():
    # log1p(e^-40) = 4.248354255291589e-18: log(1 + e^-40) would round it to 0
    out, grad = _value_and_grad(F.softplus, [-40.0])
    np.testing.assert_allclose(out, [4.248354255291589e-18], rtol=1e-14)
    np.testing.assert_allclose(grad, [4.248354255291589e-18], rtol=1e-14)


def test_elu_keeps_precision_near_zero():
    # from torch 2.13: elu(-1e-10, alpha=2) = -1.9999999999000001e-10 (an expm1, not exp − 1)
    out, grad = _value_and_grad(F.elu, [-1e-10], alpha=2.0)
    np.testing.assert_allclose(out, [-1.9999999999000001e-10], rtol=1e-14)
    np.testing.assert_allclose(grad, [1.9999999998], rtol=1e-14)


def test_nan_passes_through_hardtanh_and_leaky_relu_with_pytorchs_slopes():
    # from torch 2.13: hardtanh(nan) = nan with gradient 1; leaky_relu(nan) has gradient 0.01
    for fn, slope in ((F.hardtanh, 1.0), (F.leaky_relu, 0.01)):
        out, grad = _value_and_grad(fn, [np.nan])
        assert np.isnan(out[0]) and grad[0] == slope


@pytest.mark.parametrize("fn, kwargs, fragment", [
    (F.hardtanh, {"min_val": 1.0, "max_val": 0.0}, "hardtanh: min_val"),
    (F.celu, {"alpha": 0.0}, "celu: alpha cannot be 0"),
    (F.gelu, {"approximate": "exact"}, "gelu: approximate must be"),
])
def test_bad_activation_arguments_are_clear_errors(fn, kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        fn(Tensor([0.5]), **kwargs)


@pytest.mark.parametrize("name", sorted(REFERENCE) + ["softmax", "logsumexp"])
def test_activation_rejects_a_non_tensor_naming_itself(name):
    with pytest.raises(TypeError, match=f"{name}: expected a Tensor"):
        getattr(F, name)(np.zeros(3))
