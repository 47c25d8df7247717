"""gradcheck: True for correct gradients, and a report that pinpoints wrong ones."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_rnn import Function, GradcheckError, Tensor, gradcheck
from tinygrad_rnn.testing import arrays, away_from_zero, shapes


class BadSquare(Function):
    """out = x², with the classic bug: backward forgets the factor 2 (returns g·x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        return g * ctx.saved_tensors[0]


class ScaledTanh(Function):
    """out = tanh(x), with backward multiplied by `factor` (factor = 1 is correct)."""

    @staticmethod
    def forward(ctx, x, factor=1.0):
        out = np.tanh(x)
        ctx.save_for_backward(out)
        ctx.factor = factor
        return out

    @staticmethod
    def backward(ctx, g):
        out = ctx.saved_tensors[0]
        return g * (1 - out * out) * ctx.factor


def _bad_square_report(x, **kwargs) -> str:
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda t: BadSquare.apply(t).sum(), [x], **kwargs)
    return str(info.value)


@given(x=arrays(shapes()))
def test_gradcheck_returns_true_for_a_correct_gradient(x):
    assert gradcheck(lambda t: ScaledTanh.apply(t), [x], atol=1e-7, rtol=1e-6) is True


def test_report_names_input_element_values_errors_and_failure_count():
    x = np.array([[1.0, 2.0], [0.0, 3.0]])  # at x = 0 the buggy gradient happens to be right
    report = _bad_square_report(x, names=["weights"])
    assert "3 of 4 elements" in report, report
    worst = report.splitlines()[1]  # worst first: x = 3 has analytic 3, numeric 6
    assert worst.strip().startswith("weights[1, 1]"), report
    assert re.search(r"analytic 3\b", worst) and re.search(r"numeric 6(\.0+)?\b", worst), worst
    assert "abs error 3" in worst and "rel error 0.5" in worst, worst
    assert "weights[1, 0]" not in report, "the correct element must not be reported"


def test_report_names_the_failing_input_among_several():
    def fn(a, b):
        return (a * 2 + BadSquare.apply(b)).sum()

    with pytest.raises(GradcheckError, match=r"input 1\[0\]") as info:
        gradcheck(fn, [np.array([1.0]), np.array([2.0])])
    assert "input 0" not in str(info.value), "input 0 is correct and must not be reported"


def test_report_is_truncated_to_max_report_elements():
    report = _bad_square_report(np.arange(1.0, 11.0), max_report=3)
    assert "10 of 10 elements" in report and "... and 7 more" in report, report
    assert len(report.splitlines()) == 1 + 3 + 1


def test_raise_exception_false_returns_false():
    assert gradcheck(lambda t: BadSquare.apply(t).sum(), [np.ones(3)],
                     raise_exception=False) is False


@given(x=arrays(shapes(min_dims=1)).map(away_from_zero), factor=st.floats(1.01, 3.0))
def test_full_mode_catches_any_gradient_scaled_by_a_wrong_factor(x, factor):
    with pytest.raises(GradcheckError, match="elements differ"):
        gradcheck(lambda t: ScaledTanh.apply(t, factor=factor).sum(), [x], atol=1e-7, rtol=1e-6)


@given(x=arrays(shapes(min_dims=1)).map(away_from_zero), factor=st.floats(1.01, 3.0))
def test_random_mode_catches_a_gradient_scaled_by_a_wrong_factor(x, factor):
    with pytest.raises(GradcheckError, match="random direction"):
        gradcheck(lambda t: ScaledTanh.apply(t, factor=factor).sum(), [x], mode="random",
                  atol=1e-7, rtol=1e-6)


def test_random_mode_checks_a_large_input_with_two_forward_passes():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((200, 300)), rng.standard_normal((300, 50)) * 0.1
    calls = []

    def fn(a, b):
        calls.append(1)
        return (a @ b).tanh()

    assert gradcheck(fn, [x, w], mode="random", atol=1e-6, rtol=1e-6)
    assert len(calls) <= 4, f"random mode needs a handful of forward passes, used {len(calls)}"
    with pytest.raises(GradcheckError, match="input 0, input 1"):
        gradcheck(lambda a, b: ScaledTanh.apply(a @ b, factor=1.001), [x, w], mode="random",
                  atol=1e-6, rtol=1e-6)


def test_gradcheck_works_in_float64_and_leaves_inputs_untouched():
    x = Tensor(np.array([0.3, -0.7], dtype=np.float32), requires_grad=True)
    before = x.data.copy()
    assert gradcheck(lambda t: t.tanh() * t, [x], atol=1e-7, rtol=1e-6)
    np.testing.assert_array_equal(x.data, before)
    assert x.data.dtype == np.float32 and x.grad is None


def test_only_inputs_that_require_grad_are_checked():
    const = Tensor(np.array([1.0, 2.0]))
    assert gradcheck(lambda a, c: (a * c).sum(), [np.array([3.0, 4.0]), const])


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: gradcheck(lambda t: t, [np.ones(2)], mode="sideways"), ValueError, "mode"),
    (lambda: gradcheck(lambda t: t, [Tensor([1.0])]), ValueError, "no input requires"),
    (lambda: gradcheck(lambda t: 3.0, [np.ones(2)]), TypeError, "must return a Tensor"),
    (lambda: gradcheck(lambda t: Tensor([1.0]), [np.ones(2)]), ValueError, "does not depend"),
], ids=["bad-mode", "no-grad-inputs", "non-tensor-output", "constant-output"])
def test_gradcheck_misuse_is_a_clear_error(call, error, fragment):
    with pytest.raises(error, match=fragment):
        call()
