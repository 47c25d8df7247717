"""Higher-order reverse mode and forward mode: every primitive's rules, the transforms in
`func`, the checks that catch wrong rules, and the RNN's Hessian.

The registry-driven tests iterate over REGISTRY, so a new primitive without a second
derivative that agrees with central differences of its first, or without a jvp rule, fails.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import (
    REGISTRY,
    Function,
    GradcheckError,
    Tensor,
    func,
    gradcheck,
    gradgradcheck,
    nn,
)
from tinygrad_rnn import dual as D
from tinygrad_rnn.functional import squared_error
from tinygrad_rnn.testing import OP_INPUTS, OpCase, arrays, join_outputs, shapes

EPS, ATOL, RTOL = 1e-6, 1e-5, 1e-4


def _op_fn(name: str, case: OpCase):
    op = REGISTRY[name]
    return lambda *tensors: join_outputs(op.apply(*tensors, **case.attrs))


def _names(name: str, case: OpCase) -> list[str]:
    return [f"{name} arg {i} (shape {np.shape(a)})" for i, a in enumerate(case.args)]


# ------------------------------------------------------------------- every primitive, by registry


def _inputs_of(name):
    """The input strategy of a registered op; a registered op without one fails its test."""
    if name not in OP_INPUTS:
        pytest.fail(f"op {name} has no input strategy in tinygrad_rnn.testing.OP_INPUTS")
    return OP_INPUTS[name]()


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_op_second_derivative_matches_central_differences_of_its_first(name):

    @settings(max_examples=25)
    @given(case=_inputs_of(name))
    def check(case):
        assert gradgradcheck(_op_fn(name, case), case.inputs(), eps=EPS, atol=ATOL, rtol=RTOL,
                             names=_names(name, case))

    check()


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_op_jvp_matches_finite_differences_in_a_random_direction(name):
    assert REGISTRY[name].jvp is not Function.jvp, f"{name} has no jvp rule"

    @given(case=_inputs_of(name))
    def check(case):
        assert gradcheck(_op_fn(name, case), case.inputs(), eps=EPS, atol=ATOL, rtol=RTOL,
                         mode="random", check_forward_ad=True, check_backward_ad=False,
                         names=_names(name, case))

    check()


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_op_jvp_and_vjp_are_adjoint(name):
    """⟨u, J v⟩ (forward mode) = ⟨Jᵀ u, v⟩ (reverse mode), to rounding."""

    @given(case=_inputs_of(name), seed=st.integers(0, 2**16))
    def check(case, seed):
        tensors = case.inputs()
        wrt = [i for i, t in enumerate(tensors) if t.requires_grad]
        fn = _op_fn(name, case)

        def f(*xs):
            args = list(tensors)
            for i, x in zip(wrt, xs):
                args[i] = x
            return fn(*args)

        rng = np.random.default_rng(seed)
        primals = [tensors[i].data for i in wrt]
        vs = [rng.standard_normal(p.shape) for p in primals]
        u = rng.standard_normal(fn(*tensors).shape)
        forward, reverse = func.linearize_check(f, primals, vs, u)
        assert forward == pytest.approx(reverse, rel=1e-9, abs=1e-9)

    check()


# ------------------------------------------------------------------------------ grad, any order


def test_third_derivative_of_tanh_equals_its_formula():
    x = Tensor([-1.5, -0.2, 0.0, 0.7, 2.0], requires_grad=True)
    (d1,) = tg.grad(x.tanh().sum(), x, create_graph=True)
    (d2,) = tg.grad(d1.sum(), x, create_graph=True)
    (d3,) = tg.grad(d2.sum(), x)
    t = np.tanh(x.data)
    np.testing.assert_allclose(d1.data, 1 - t**2, rtol=1e-14)
    np.testing.assert_allclose(d2.data, -2 * t * (1 - t**2), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(d3.data, (1 - t**2) * (6 * t**2 - 2), rtol=1e-13, atol=1e-15)


def test_third_derivative_of_a_composite_matches_central_differences_of_the_second():
    def f(x):  # exp, log, div, pow, matmul, broadcasting and reuse in one function
        A = Tensor([[0.5, -1.0], [2.0, 0.3]])
        y = (A @ x).exp() / (1 + x * x)
        return (y.log() * x).sum() + (x ** 3).sum()

    x0 = np.array([0.3, -0.4])

    def second(x):
        x = x if isinstance(x, Tensor) else Tensor(x, requires_grad=True)
        (g,) = tg.grad(f(x), x, create_graph=True)
        (h,) = tg.grad(g.sum(), x, create_graph=True)
        return h

    x = Tensor(x0, requires_grad=True)
    (third,) = tg.grad(second(x).sum(), x)
    numeric = np.zeros(2)
    for i in range(2):
        e = np.zeros(2)
        e[i] = 1e-5
        numeric[i] = (second(x0 + e).data.sum() - second(x0 - e).data.sum()) / 2e-5
    np.testing.assert_allclose(third.data, numeric, rtol=1e-6, atol=1e-6)
    assert gradgradcheck(f, [x0])


def test_backward_with_create_graph_leaves_a_differentiable_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    assert isinstance(x.grad, Tensor) and x.grad.requires_grad
    np.testing.assert_allclose(x.grad.data, 3 * x.data**2)
    (h,) = tg.grad(x.grad.sum(), x)
    np.testing.assert_allclose(h.data, 6 * x.data)


def test_grad_leaves_dot_grad_alone_and_sums_several_outputs():
    x = Tensor([1.0, -2.0], requires_grad=True)
    a, b = (x * x).sum(), (3 * x).sum()
    ga, gb = tg.grad([a, b], [x, x], retain_graph=True)
    np.testing.assert_allclose(ga.data, 2 * x.data + 3)
    assert x.grad is None


def test_grad_of_an_intermediate_tensor():
    x = Tensor([0.5, 1.5], requires_grad=True)
    h = x.tanh()
    (gh,) = tg.grad((h * h).sum(), h)
    np.testing.assert_allclose(gh.data, 2 * np.tanh(x.data))


def test_allow_unused():
    x, y = Tensor([1.0], requires_grad=True), Tensor([2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="input 1 .*not used.*allow_unused=True"):
        tg.grad((x * 2).sum(), [x, y], retain_graph=True)
    gx, gy = tg.grad((x * 2).sum(), [x, y], allow_unused=True)
    assert gy is None and gx.data.tolist() == [2.0]


def test_grad_errors_name_what_is_wrong():
    x = Tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="input 0 .*does not require grad"):
        tg.grad((x * 2).sum(), Tensor([1.0]))
    with pytest.raises(RuntimeError, match="one-element outputs.*pass grad_outputs"):
        tg.grad(x * Tensor([1.0, 2.0]), x)
    with pytest.raises(RuntimeError, match="output 0 .*does not require grad"):
        tg.grad(Tensor([1.0]), x)


def test_second_derivative_through_a_mixed_dtype_op_goes_through_cast():
    x = Tensor(np.array([0.5, -1.0], dtype=np.float32), requires_grad=True)
    y = x * Tensor(np.array([2.0, 3.0]))  # float32 * float64 -> float64 through a Cast node
    (g,) = tg.grad((y * y).sum(), x, create_graph=True)
    (h,) = tg.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, 2 * np.array([4.0, 9.0]), rtol=1e-6)
    assert h.dtype == np.float32


# ------------------------------------------------------------------------ user-defined functions


class _Square(Function):
    """x², with right rules; the variants below each break one of them."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        return g * (2 * ctx.saved_tensors[0])

    @staticmethod
    def jvp(ctx, x_dot):
        return x_dot * (2 * ctx.saved_tensors[0])


class _SquareConstantSlope(_Square):
    """backward treats x as a constant: right first derivative, wrong second."""

    @staticmethod
    def backward(ctx, g):
        return g * (2 * D.value(ctx.saved_tensors[0]))


class _NumpyBackward(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, g):
        return g * np.cos(np.asarray(ctx.saved_tensors[0]))


def test_a_user_backward_that_cannot_build_a_graph_is_named():
    x = Tensor([0.3], requires_grad=True)
    y = _NumpyBackward.apply(x).sum()
    y.backward(retain_graph=True)  # first order: fine
    np.testing.assert_allclose(x.grad, np.cos(0.3))
    with pytest.raises(RuntimeError, match="_NumpyBackward.backward cannot build a graph"):
        tg.grad(y, x, create_graph=True)


def test_a_user_op_without_jvp_is_named_under_forward_mode():
    with pytest.raises(RuntimeError, match="_NumpyBackward has no jvp rule"):
        func.jvp(lambda x: _NumpyBackward.apply(x), (np.array([0.3]),), (np.array([1.0]),))


def test_gradgradcheck_catches_a_wrong_second_derivative():
    x = np.array([0.3, -0.7])
    assert gradcheck(lambda t: _SquareConstantSlope.apply(t), [x])  # first order is right
    with pytest.raises(GradcheckError, match=r"input 0\[0\]"):
        gradgradcheck(lambda t: _SquareConstantSlope.apply(t), [x])


class _WrongBackward(_Square):
    @staticmethod
    def backward(ctx, g):
        return g * (3 * ctx.saved_tensors[0])  # wrong: 2x


class _WrongJvp(_Square):
    @staticmethod
    def jvp(ctx, x_dot):
        return x_dot * ctx.saved_tensors[0]  # wrong: 2x


def test_fast_mode_catches_a_wrong_rule_and_the_report_names_the_element():
    x = np.array([[0.3, -0.7], [1.1, 0.2]])
    with pytest.raises(GradcheckError, match=r"input 0\[\d, \d\]: analytic"):
        gradcheck(lambda t: _WrongBackward.apply(t), [x], fast_mode=True)
    assert gradcheck(lambda t: _WrongJvp.apply(t), [x], fast_mode=True)


def test_check_forward_ad_catches_a_wrong_jvp_rule():
    x = np.array([0.3, -0.7])
    assert gradcheck(lambda t: _WrongJvp.apply(t), [x])  # reverse mode is right
    with pytest.raises(GradcheckError, match=r"(?s)forward mode.*input 0\[\d\] -> output\[\d\]"):
        gradcheck(lambda t: _WrongJvp.apply(t), [x], check_forward_ad=True)
    with pytest.raises(GradcheckError, match="forward mode, random direction"):
        gradcheck(lambda t: _WrongJvp.apply(t), [x], check_forward_ad=True, mode="random")


# ------------------------------------------------------------------------------------- func


def _f(x):
    A = Tensor(np.array([[1.0, -2.0, 0.5], [0.3, 0.2, -1.0]]))
    return (A @ x.tanh()) * x.sum()


@given(x=arrays((3,)))
def test_jacobian_both_strategies_match_finite_differences(x):
    J = func.jacobian(_f, x).data
    J_fwd = func.jacobian(_f, x, strategy="forward-mode").data
    numeric = np.zeros((2, 3))
    for j in range(3):
        e = np.zeros(3)
        e[j] = 1e-6
        numeric[:, j] = (_f(Tensor(x + e)).data - _f(Tensor(x - e)).data) / 2e-6
    assert J.shape == (2, 3)
    np.testing.assert_allclose(J, numeric, atol=1e-6, rtol=1e-5)
    np.testing.assert_allclose(J_fwd, J, atol=1e-12, rtol=1e-12)


@given(x=arrays(shapes(min_dims=1, max_dims=2, max_side=3)))
def test_hessian_matches_finite_differences_of_the_gradient(x):
    def f(t):
        return (t.tanh() * t).sum() + (t * t).sum() * t.sum()

    H = func.hessian(f, x).data
    assert H.shape == x.shape + x.shape

    def gradient(v):
        t = Tensor(v, requires_grad=True)
        f(t).backward()
        return t.grad

    numeric = np.zeros(x.shape + x.shape)
    for idx in np.ndindex(*x.shape):
        e = np.zeros(x.shape)
        e[idx] = 1e-6
        numeric[(Ellipsis,) + idx] = (gradient(x + e) - gradient(x - e)) / 2e-6
    np.testing.assert_allclose(H, numeric, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(H.reshape(x.size, x.size), H.reshape(x.size, x.size).T,
                               atol=1e-12)


def test_vjp_and_jvp_outputs_and_shapes():
    x = np.array([0.1, 0.2, 0.3])
    out, pullback = func.vjp(_f, x)
    (bar,) = pullback(np.ones(2))
    np.testing.assert_allclose(bar.data, np.ones(2) @ func.jacobian(_f, x).data)
    out2, dot = func.jvp(_f, (x,), (np.ones(3),))
    np.testing.assert_allclose(out.data, out2.data)
    np.testing.assert_allclose(dot.data, func.jacobian(_f, x).data @ np.ones(3))
    with pytest.raises(ValueError, match="tangent 0 has shape"):
        func.jvp(_f, (x,), (np.ones(2),))
    with pytest.raises(TypeError, match="vjp: primals must be numeric, got dtype <U1"):
        func.vjp(_f, np.array(["a", "b", "c"]))
    (bar,) = func.vjp(_f, np.array([0, 1, 2]))[1](np.ones(2))  # integers: as float64
    np.testing.assert_allclose(bar.data, np.ones(2) @ func.jacobian(_f, [0.0, 1.0, 2.0]).data)


# ---------------------------------------------------------------------------------- the RNN


def _rnn_problem(T=12, B=2, H=6, nonlinearity="tanh", seed=0):
    rng = np.random.default_rng(seed)
    model = nn.ElmanRNN(1, H, 1, nonlinearity=nonlinearity, seed=seed)
    x = Tensor(rng.standard_normal((T, B, 1)))
    g = rng.standard_normal((T, B, 1))
    return model, x, g


def _loss_of_W(model, x, g):
    def E(W):
        ys, _ = nn.functional_call(model, {"W": W}, x)
        return squared_error(ys, g)
    return E


def _grad_W(E, W):
    t = Tensor(W, requires_grad=True)
    E(t).backward()
    return t.grad


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_hvp_of_the_notes_loss_matches_finite_differences_of_the_gradient(nonlinearity):
    model, x, g = _rnn_problem(nonlinearity=nonlinearity)
    E = _loss_of_W(model, x, g)
    W = model.W.data.copy()
    v = np.random.default_rng(1).standard_normal(W.shape)
    _, (Hv,) = func.hvp(E, (W,), (v,))
    numeric = (_grad_W(E, W + 1e-5 * v) - _grad_W(E, W - 1e-5 * v)) / 2e-5
    np.testing.assert_allclose(Hv.data, numeric, rtol=1e-5, atol=1e-6)


def test_hvp_through_truncated_bptt_matches_finite_differences():
    """Chunks of 4 steps, the state carried across chunks without its graph (detach): the
    Hessian-vector product of what truncated BPTT differentiates, i.e. with each chunk's
    starting state held fixed. The finite differences hold them fixed too."""
    model, x, g = _rnn_problem(T=12)
    W0 = model.W.data.copy()
    starts = [None]  # the carried states at W0, fixed for the finite differences
    with tg.no_grad():
        for start in range(0, 8, 4):
            starts.append(model(x[start:start + 4], starts[-1])[1])

    def E(W, carried=None):
        h, total = None, None
        for n, start in enumerate(range(0, 12, 4)):
            h = h if carried is None else carried[n]
            ys, h_last = nn.functional_call(model, {"W": W}, x[start:start + 4], h)
            part = squared_error(ys, g[start:start + 4])
            total = part if total is None else total + part
            h = h_last.detach()
        return total

    v = np.random.default_rng(2).standard_normal(W0.shape)
    _, (Hv,) = func.hvp(E, (W0,), (v,))

    def fixed(W):
        return E(W, starts)

    numeric = (_grad_W(fixed, W0 + 1e-5 * v) - _grad_W(fixed, W0 - 1e-5 * v)) / 2e-5
    np.testing.assert_allclose(Hv.data, numeric, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_grad_W(E, W0), _grad_W(fixed, W0), rtol=1e-12)


def test_hvp_of_every_parameter_at_once_is_symmetric():
    model, x, g = _rnn_problem(T=6, H=4)
    names = [n for n, _ in model.named_parameters()]
    values = [p.data.copy() for _, p in model.named_parameters()]

    def E(*params):
        ys, _ = nn.functional_call(model, dict(zip(names, params)), x)
        return squared_error(ys, g)

    rng = np.random.default_rng(3)
    u = [rng.standard_normal(p.shape) for p in values]
    w = [rng.standard_normal(p.shape) for p in values]
    _, Hu = func.hvp(E, tuple(values), tuple(u))
    _, Hw = func.hvp(E, tuple(values), tuple(w))
    lhs = sum(np.vdot(a, b.data) for a, b in zip(w, Hu))
    rhs = sum(np.vdot(a, b.data) for a, b in zip(u, Hw))
    assert lhs == pytest.approx(rhs, rel=1e-10)


def test_jacobian_norms_agree_with_forward_mode_jacobians():
    from tinygrad_rnn.viz import jacobian_norms

    model, x, _ = _rnn_problem(T=8, B=1, H=5)
    norms = jacobian_norms(model, x)
    hs = model.unroll(x)
    T = len(hs)
    for k in range(1, T + 1):
        h_k = hs[k - 1].data

        def rest(h, k=k):  # h_k -> h_T: the recurrence continued over steps k+1 .. T
            return model.rnn.unroll(x[k:], h)[-1] if k < T else h

        J = func.jacobian(rest, h_k, strategy="forward-mode").data.reshape(5, 5)
        assert norms[k - 1] == pytest.approx(np.linalg.norm(J, 2), rel=1e-9)
