"""Edge cases that must not turn into NaN or a wrong error: each expected value is PyTorch's.

The values were read off torch 2.13 (CPU, float64) and written in as literals; torch is never
imported here.
"""

import warnings

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, gradcheck
from tinygrad_rnn import functional as F
from tinygrad_rnn.autograd import Function
from tinygrad_rnn.gradcheck import GradcheckError

INF, NAN = np.inf, np.nan


def _grads(fn, *values):
    leaves = [Tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for v in values]
    out = fn(*leaves)
    out.sum().backward()
    return out.data, [leaf.grad for leaf in leaves]


# ------------------------------------------------------------------------- pow at a zero base

# (base, exponent) -> (value, d/d base, d/d exponent), from torch: x ** y with both tensors
POW_AT_ZERO = {
    (0.0, 0.0): (1.0, 0.0, 0.0),
    (0.0, 2.0): (0.0, 0.0, 0.0),
    (0.0, 0.5): (0.0, INF, 0.0),
    (0.0, 1.0): (0.0, 1.0, 0.0),
    (0.0, -1.0): (INF, -INF, -INF),
    (0.0, -0.5): (INF, -INF, -INF),
    (2.0, 0.0): (1.0, 0.0, np.log(2.0)),
    (-1.0, 0.5): (NAN, NAN, NAN),
}


@pytest.mark.parametrize("base, exponent", sorted(POW_AT_ZERO))
def test_pow_with_a_tensor_exponent_matches_pytorch_at_a_zero_base(base, exponent):
    value, d_base, d_exponent = POW_AT_ZERO[(base, exponent)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the forward's own 0 ** -1 = inf
        out, (gx, gy) = _grads(lambda x, y: x ** y, [base], [exponent])
    np.testing.assert_array_equal(out, [value])
    np.testing.assert_array_equal(gx, [d_base], err_msg="d/d base")
    np.testing.assert_array_equal(gy, [d_exponent], err_msg="d/d exponent")


@pytest.mark.parametrize("base, exponent", sorted(POW_AT_ZERO))
def test_pow_with_a_python_exponent_matches_pytorch_at_a_zero_base(base, exponent):
    value, d_base, _ = POW_AT_ZERO[(base, exponent)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out, (gx,) = _grads(lambda x: x ** exponent, [base])
    np.testing.assert_array_equal(out, [value])
    np.testing.assert_array_equal(gx, [d_base])


@pytest.mark.parametrize("base, exponent", sorted(POW_AT_ZERO))
def test_pow_with_a_python_base_matches_pytorch_at_a_zero_base(base, exponent):
    value, _, d_exponent = POW_AT_ZERO[(base, exponent)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out, (gy,) = _grads(lambda y: base ** y, [exponent])
    np.testing.assert_array_equal(out, [value])
    np.testing.assert_array_equal(gy, [d_exponent])


def test_pow_at_zero_keeps_the_gradient_finite_where_pytorch_does_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # backward masks 0 ** -1 and log(0) silently
        _, (gx, gy) = _grads(lambda x, y: x ** y, [0.0, 0.0, 3.0], [0.0, 2.0, 2.0])
    np.testing.assert_array_equal(gx, [0.0, 0.0, 6.0])
    np.testing.assert_array_equal(gy, [0.0, 0.0, 9.0 * np.log(3.0)])


def test_sqrt_at_zero_has_pytorchs_infinite_gradient():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out, (gx,) = _grads(lambda x: x.sqrt(), [0.0, 4.0])
    np.testing.assert_array_equal(out, [0.0, 2.0])
    np.testing.assert_array_equal(gx, [INF, 0.25])


# ------------------------------------------------------------------ logsumexp, softmax with inf

# row -> (torch value, torch gradient of the sum of the outputs)
LOGSUMEXP = {
    (INF, 0.0, 1.0): (INF, [NAN, 0.0, 0.0]),
    (-INF, -INF): (-INF, [NAN, NAN]),
    (INF, -INF): (INF, [NAN, 0.0]),
    (INF, INF): (INF, [NAN, NAN]),
    (-INF, 0.0, 1.0): (1.3132616875182228, [0.0, 0.2689414213699951, 0.7310585786300049]),
    (-INF, 2.0, -INF): (2.0, [0.0, 1.0, 0.0]),
}
SOFTMAX = {
    (INF, 0.0, 1.0): ([NAN, NAN, NAN], [NAN, NAN, NAN]),
    (-INF, -INF): ([NAN, NAN], [NAN, NAN]),
    (INF, -INF): ([NAN, NAN], [NAN, NAN]),
    (-INF, 0.0, 1.0): ([0.0, 0.26894142136999516, 0.7310585786300049], [0.0, 0.0, 0.0]),
    (-INF, 2.0, -INF): ([0.0, 1.0, 0.0], [0.0, 0.0, 0.0]),
}
LOG_SOFTMAX = {
    (INF, 0.0, 1.0): ([NAN, NAN, NAN], [NAN, NAN, NAN]),
    (-INF, -INF): ([NAN, NAN], [NAN, NAN]),
    (INF, INF): ([NAN, NAN], [NAN, NAN]),
    (-INF, 0.0, 1.0): ([-INF, -1.3132616875182228, -0.31326168751822286],
                       [1.0, 0.1931757358900147, -1.1931757358900148]),
    (-INF, 2.0, -INF): ([-INF, 0.0, -INF], [1.0, -2.0, 1.0]),
}


def _check_row(fn, row, value, grad):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # inf - inf in the forward, as numpy says
        out, (g,) = _grads(lambda x: fn(x, axis=-1), [list(row)])
    np.testing.assert_allclose(out, np.reshape(value, out.shape), rtol=1e-14)
    np.testing.assert_allclose(g, [grad], rtol=1e-14)


@pytest.mark.parametrize("row", list(LOGSUMEXP), ids=str)
def test_logsumexp_with_inf_matches_pytorch(row):
    _check_row(F.logsumexp, row, [LOGSUMEXP[row][0]], LOGSUMEXP[row][1])


@pytest.mark.parametrize("row", list(SOFTMAX), ids=str)
def test_softmax_with_inf_matches_pytorch(row):
    _check_row(F.softmax, row, [SOFTMAX[row][0]], SOFTMAX[row][1])


@pytest.mark.parametrize("row", list(LOG_SOFTMAX), ids=str)
def test_log_softmax_with_inf_matches_pytorch(row):
    _check_row(F.log_softmax, row, [LOG_SOFTMAX[row][0]], LOG_SOFTMAX[row][1])


def test_logsumexp_of_an_all_minus_inf_row_is_minus_inf_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = F.logsumexp(Tensor([[-INF, -INF], [0.0, 0.0]]), axis=-1)
    np.testing.assert_allclose(out.data, [-INF, np.log(2.0)])


# -------------------------------------------------------------------------------- empty tensors


def test_softmax_and_log_softmax_of_an_empty_batch_are_empty_with_empty_gradients():
    for fn in (F.softmax, F.log_softmax):
        x = Tensor(np.zeros((0, 3)), requires_grad=True)
        out = fn(x, axis=-1)
        assert out.shape == (0, 3)
        out.sum().backward()
        assert x.grad.shape == (0, 3), fn.__name__


def test_logsumexp_over_an_empty_axis_is_minus_inf_as_in_pytorch():
    out = F.logsumexp(Tensor(np.zeros((2, 0))), axis=1)
    np.testing.assert_array_equal(out.data, [-INF, -INF])


def test_cross_entropy_of_an_empty_batch_is_nan_as_in_pytorch_with_an_empty_gradient():
    logits = Tensor(np.zeros((0, 3)), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.cross_entropy(logits, np.zeros(0, dtype=np.int64))
        loss.backward()
    assert loss.shape == () and np.isnan(loss.data)
    assert logits.grad.shape == (0, 3)


@pytest.mark.parametrize("method", ["sum", "mean", "max"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_over_a_non_empty_axis_of_an_empty_tensor_are_empty(method, keepdims):
    x = Tensor(np.zeros((0, 3)), requires_grad=True)
    out = getattr(x, method)(axis=1, keepdims=keepdims)
    assert out.shape == ((0, 1) if keepdims else (0,))
    out.sum().backward()
    assert x.grad.shape == (0, 3)


def test_sum_over_an_empty_axis_is_zero_as_in_pytorch():
    x = Tensor(np.zeros((3, 0)), requires_grad=True)
    out = x.sum(axis=1)
    np.testing.assert_array_equal(out.data, [0.0, 0.0, 0.0])
    out.sum().backward()
    assert x.grad.shape == (3, 0)


def test_mean_over_an_empty_axis_is_nan_as_in_pytorch_without_a_numpy_warning():
    x = Tensor(np.zeros((3, 0)), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = x.mean(axis=1)
        full = Tensor(np.zeros(0, dtype=np.float32)).mean()
        out.sum().backward()
    np.testing.assert_array_equal(out.data, [NAN, NAN, NAN])
    assert np.isnan(full.data) and full.dtype == np.float32
    assert x.grad.shape == (3, 0)


@pytest.mark.parametrize("axis", [None, 0, (0, 1)])
def test_max_over_an_empty_axis_raises_a_clear_value_error(axis):
    with pytest.raises(ValueError, match=r"max: cannot reduce over the empty axis 0 .*\(0, 3\)"):
        Tensor(np.zeros((0, 3))).max(axis=axis)


# ---------------------------------------------------------------------------------- gradcheck


class _NanBackward(Function):
    """out = 2x, but backward puts a NaN at element [0, 1]."""

    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, g):
        grad = 2 * g
        grad[0, 1] = np.nan
        return grad


class _StepToInf(Function):
    """out = inf where x > 0 else 0; backward says inf (or -inf): numeric (inf - 0) / 2ε = inf."""

    sign = 1.0

    @staticmethod
    def forward(ctx, x):
        return np.where(x > 0, np.inf, 0.0)

    @staticmethod
    def backward(ctx, g):
        return np.full_like(g, _StepToInf.sign * np.inf)


@pytest.mark.parametrize("mode", ["full", "random"])
def test_gradcheck_fails_on_a_nan_gradient_and_names_the_element(mode):
    with pytest.raises(GradcheckError, match=r"NaN") as info:
        gradcheck(lambda x: _NanBackward.apply(x), [np.ones((2, 2))], mode=mode)
    assert "[0, 1]" in str(info.value)
    assert gradcheck(lambda x: _NanBackward.apply(x), [np.ones((2, 2))], mode=mode,
                     raise_exception=False) is False


@pytest.mark.parametrize("mode", ["full", "random"])
def test_gradcheck_fails_when_only_the_numeric_side_is_nan(mode):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(GradcheckError, match="numeric is NaN"):
            gradcheck(lambda x: x.sqrt(), [np.array([0.0])], mode=mode)  # sqrt(-ε) is NaN


def test_gradcheck_accepts_the_identical_infinity_on_both_sides():
    _StepToInf.sign = 1.0
    assert gradcheck(lambda x: _StepToInf.apply(x), [np.array([0.0])])


def test_gradcheck_rejects_opposite_infinities():
    _StepToInf.sign = -1.0
    try:
        with pytest.raises(GradcheckError, match=r"analytic is -Inf, numeric is \+Inf"):
            gradcheck(lambda x: _StepToInf.apply(x), [np.array([0.0])])
    finally:
        _StepToInf.sign = 1.0


def test_gradcheck_fails_on_an_infinite_analytic_gradient_against_a_finite_numeric_one():
    class InfBackward(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            return np.full_like(g, np.inf)

    for mode in ("full", "random"):
        with pytest.raises(GradcheckError, match=r"analytic.* is \+Inf"):
            gradcheck(lambda x: InfBackward.apply(x), [np.ones(3)], mode=mode)


# -------------------------------------------------------------------------------------- hooks


def test_a_leaf_hook_returning_a_wrong_shape_is_blamed_naming_the_tensor_and_both_shapes():
    w = Tensor([1.0, 2.0], requires_grad=True)
    w.name = "w"

    def widen(grad):
        return np.ones(3)

    w.register_hook(widen)
    with pytest.raises(RuntimeError) as info:
        (w * 2).sum().backward()
    message = str(info.value)
    for fragment in ("hook", "widen", "'w'", "(2,)", "(3,)", "leaf"):
        assert fragment in message, f"{fragment!r} missing from: {message}"


def test_a_non_leaf_hook_returning_a_wrong_shape_names_the_op_that_made_the_tensor():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with tg.scope("t=3"):
        h = x.tanh()
    h.register_hook(lambda grad: Tensor(np.ones((2, 2))))
    with pytest.raises(RuntimeError) as info:
        (h * 3).sum().backward()
    message = str(info.value)
    for fragment in ("hook", "Tanh", "t=3", "(2,)", "(2, 2)"):
        assert fragment in message, f"{fragment!r} missing from: {message}"
    assert "Mul" not in message  # the op below the hook is not to blame


def test_a_retained_named_non_leaf_is_named_in_the_hook_error():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x.tanh()
    h.name = "h"
    h.retain_grad()
    h.register_hook(lambda grad: np.ones(5))
    with pytest.raises(RuntimeError, match=r"'h' of shape \(2,\).*\(5,\)"):
        h.sum().backward()


def test_hooks_may_return_a_tensor_or_an_array_of_the_right_shape():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 1.0
    h.register_hook(lambda grad: Tensor(grad * 10))
    x.register_hook(lambda grad: grad.tolist())  # a list becomes an array too
    h.sum().backward()
    np.testing.assert_array_equal(x.grad, [10.0, 10.0])
