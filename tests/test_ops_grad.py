"""Every primitive in REGISTRY: backward matches central differences on hypothesis-drawn inputs.

The parametrisation comes from the registry itself, so a new op without an input strategy in
`tinygrad_rnn.testing.OP_INPUTS` fails here instead of going untested.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import REGISTRY, Tensor, gradcheck
from tinygrad_rnn import functional as F
from tinygrad_rnn.testing import (
    OP_INPUTS,
    OpCase,
    arrays,
    computation_graphs,
    join_outputs,
    op_inputs,
    shapes,
    tensors,
)

# Inputs are O(1) float64 values mapped away from kinks and poles, so a correct backward agrees
# with central differences (eps = 1e-6) to far better than these tolerances.
EPS, ATOL, RTOL = 1e-6, 1e-6, 1e-5


def _check_op(name: str, case: OpCase) -> None:
    op = REGISTRY[name]

    def fn(*tensors):
        return join_outputs(op.apply(*tensors, **case.attrs))

    names = [f"{name} arg {i} (shape {np.shape(a)})" for i, a in enumerate(case.args)]
    assert gradcheck(fn, case.inputs(), eps=EPS, atol=ATOL, rtol=RTOL, names=names)


def _inputs_of(name: str):
    """The input strategy of a registered op; a registered op without one fails its test."""
    if name not in OP_INPUTS:
        pytest.fail(f"op {name} is in REGISTRY but has no input strategy: add one to "
                    f"tinygrad_rnn.testing.OP_INPUTS (see register_op_inputs)")
    return OP_INPUTS[name]()


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_op_backward_matches_central_differences(name):

    @given(case=_inputs_of(name))
    def check(case):
        _check_op(name, case)

    check()


def test_every_strategy_belongs_to_a_registered_op():
    stale = sorted(set(OP_INPUTS) - set(REGISTRY))
    assert not stale, f"OP_INPUTS has strategies for ops that are not in REGISTRY: {stale}"


@given(graph=computation_graphs())
def test_random_graph_with_reuse_and_diamonds_matches_central_differences(graph):
    program, inputs = graph
    assert gradcheck(program, inputs, eps=EPS, atol=ATOL, rtol=RTOL)


@given(graph=computation_graphs(max_steps=6))
def test_random_graph_matches_random_direction_check(graph):
    program, inputs = graph
    assert gradcheck(program, inputs, eps=EPS, atol=ATOL, rtol=RTOL, mode="random")


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_op_keeps_float32_in_forward_and_backward(name):

    @given(case=_inputs_of(name))
    def check(case):
        tensors = case.inputs(dtype=np.float32)
        out = join_outputs(REGISTRY[name].apply(*tensors, **case.attrs))
        if name == "Cast":  # its job is to change the dtype: only the gradient keeps float32
            out.sum().backward()
            assert all(t.grad.dtype == np.float32 for t in tensors if t.requires_grad)
            return
        assert out.dtype == np.float32, f"{name} turned float32 inputs into {out.dtype}"
        out.backward(np.ones(out.shape, dtype=np.float32))
        for i, t in enumerate(tensors):
            if t.requires_grad:
                assert t.grad.dtype == np.float32, f"{name} input {i} grad is {t.grad.dtype}"

    check()


@pytest.mark.parametrize("name", sorted(n for n, op in REGISTRY.items() if op.exact_grads))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_ops_that_claim_exact_grads_return_each_inputs_shape_and_dtype(name, dtype):
    """The engine skips its shape/dtype check (and the unbroadcast) for an op with
    exact_grads, so its backward must already give every input's shape and dtype, also
    when an input broadcasts."""
    op = REGISTRY[name]

    @given(case=_inputs_of(name), data=st.data())
    def check(case, data):
        tensors = case.inputs(dtype=dtype)
        outs = op.apply(*tensors, **case.attrs)
        outs = outs if isinstance(outs, tuple) else (outs,)
        node = outs[0]._ctx
        seeds = [data.draw(arrays(o.shape)).astype(dtype) for o in outs]
        grads = node.backward(node, *seeds)
        grads = grads if isinstance(grads, tuple) else (grads,)
        assert len(grads) == len(tensors)
        for i, (t, g, need) in enumerate(zip(tensors, grads, node.needs_input_grad)):
            if g is None or not need:
                continue
            assert (g.shape, g.dtype) == (t.shape, t.dtype), (
                f"{name} input {i}: gradient {g.shape} {g.dtype} for {t.shape} {t.dtype}")

    check()


# -------------------------------------------------------------------------- kink conventions


def _grad_of(fn, values):
    x = Tensor(values, requires_grad=True)
    fn(x).sum().backward()
    return x.grad


def test_relu_gradient_at_zero_is_zero():
    np.testing.assert_array_equal(_grad_of(lambda x: x.relu(), [-1.0, 0.0, 2.0]), [0, 0, 1])


def test_abs_gradient_at_zero_is_zero():
    np.testing.assert_array_equal(_grad_of(lambda x: x.abs(), [-1.0, 0.0, 2.0]), [-1, 0, 1])


def test_max_ties_share_the_gradient_equally():
    grad = _grad_of(lambda x: x.max(), [3.0, 1.0, 3.0, 3.0])
    np.testing.assert_allclose(grad, [1 / 3, 0, 1 / 3, 1 / 3], rtol=1e-15)


def test_max_ties_share_per_reduced_row_with_axis_and_keepdims():
    grad = _grad_of(lambda x: x.max(axis=1, keepdims=True), [[2.0, 2.0, 0.0], [1.0, 5.0, 5.0]])
    np.testing.assert_allclose(grad, [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]], rtol=1e-15)


# -------------------------------------------------------------------------------- edge cases


def test_getitem_with_repeated_indices_accumulates():
    grad = _grad_of(lambda x: x[[0, 0, 2, 0]], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(grad, [3.0, 0.0, 1.0])


def test_getitem_repeated_rows_in_a_tuple_index_accumulate():
    grad = _grad_of(lambda x: x[np.array([1, 1]), 1:], np.zeros((2, 3)))
    np.testing.assert_array_equal(grad, [[0, 0, 0], [0, 2, 2]])


@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_softmax_family_is_finite_and_exact_for_huge_logits(scale):
    logits = Tensor(np.array([[1.0, 0.0, -1.0]]) * scale, requires_grad=True)
    probs = F.softmax(logits, axis=-1)
    np.testing.assert_allclose(probs.data, [[1.0, 0.0, 0.0]] if scale > 0 else [[0, 0, 1.0]])
    lse = F.logsumexp(logits, axis=-1)
    np.testing.assert_allclose(lse.data, [abs(scale)], rtol=1e-15)
    log_p = F.log_softmax(logits, axis=-1)
    assert np.all(np.isfinite(log_p.data)), f"log_softmax overflowed: {log_p.data}"
    (log_p.sum() + lse.sum() + probs.sum()).backward()
    assert np.all(np.isfinite(logits.grad)), f"non-finite gradient {logits.grad}"


def test_sigmoid_is_stable_and_exact_for_large_inputs():
    x = Tensor([-1000.0, -40.0, 0.0, 40.0, 1000.0], requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        y = x.sigmoid()
        y.sum().backward()
    np.testing.assert_allclose(y.data[1], np.exp(-40.0) / (1 + np.exp(-40.0)), rtol=1e-14)
    np.testing.assert_array_equal(y.data[[0, 2, 4]], [0.0, 0.5, 1.0])
    assert np.all(np.isfinite(x.grad)) and x.grad[2] == 0.25


@pytest.mark.parametrize("shape_x, shape_y, shape_out", [
    ((3,), (3,), ()), ((3,), (3, 2), (2,)), ((2, 3), (3,), (2,)), ((3,), (4, 3, 2), (4, 2)),
    ((4, 2, 3), (3,), (4, 2)), ((5, 1, 2, 3), (4, 3, 2), (5, 4, 2, 2)),
])
def test_matmul_shapes_and_gradient_shapes(shape_x, shape_y, shape_out):
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal(shape_x), requires_grad=True)
    y = Tensor(rng.standard_normal(shape_y), requires_grad=True)
    out = x @ y
    assert out.shape == shape_out
    np.testing.assert_allclose(out.data, np.matmul(x.data, y.data), rtol=1e-14)
    assert gradcheck(lambda a, b: a @ b, [x, y], atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("method", ["sum", "mean", "max"])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2), (2, -3)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_match_numpy_for_int_and_tuple_axes(method, axis, keepdims):
    data = np.arange(24.0).reshape(2, 3, 4) * 0.37 % 1.9  # no ties
    out = getattr(Tensor(data), method)(axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(out.data, getattr(np, method)(data, axis=axis, keepdims=keepdims))


def test_where_stack_cat_unbind_permute_and_transpose_route_gradients():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    rows = x.unbind(0)
    picked = tg.where(np.array([True, False, True]), rows[0], 10.0)
    out = tg.stack([picked, rows[1]], axis=1).sum() + tg.cat([x.T, x.permute(1, 0)]).sum() * 2
    out.backward()
    np.testing.assert_array_equal(x.grad, [[5, 4, 5], [5, 5, 5]])
    assert x.transpose(0, 1).shape == (3, 2) and x.T.shape == (3, 2)


def test_unbind_with_unused_outputs_gives_zero_gradient_there():
    x = Tensor(np.ones((4, 2)), requires_grad=True)
    steps = x.unbind(0)
    (steps[1] * 2 + steps[3]).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0], [2, 2], [0, 0], [1, 1]])


def test_pow_with_scalar_tensor_and_reflected_exponents():
    x = Tensor([1.5, 2.0], requires_grad=True)
    e = Tensor([2.0, 0.5], requires_grad=True)
    (x ** 2 + x ** e + 2 ** x + x.sqrt()).sum().backward()
    xs, es = np.array([1.5, 2.0]), np.array([2.0, 0.5])
    expected_x = 2 * xs + es * xs ** (es - 1) + 2 ** xs * np.log(2) + 0.5 / np.sqrt(xs)
    np.testing.assert_allclose(x.grad, expected_x, rtol=1e-14)
    np.testing.assert_allclose(e.grad, xs ** es * np.log(xs), rtol=1e-14)


def test_reflected_arithmetic_with_python_scalars():
    x = Tensor([2.0], requires_grad=True)
    (3 - x + 4 / x + 2 * x + 1 + (-x)).sum().backward()
    np.testing.assert_allclose(x.grad, [-1 - 4 / 4 + 2 - 1], rtol=1e-15)


# ------------------------------------------------------- the exported strategies keep promises


@given(x=arrays(shapes(), low=-2.0, high=2.0, dtype=np.float32))
def test_arrays_are_bounded_finite_and_never_subnormal(x):
    assert x.dtype == np.float32 and np.all(np.abs(x) <= 2.0)
    tiny = np.finfo(np.float32).tiny
    assert not np.any((x != 0) & (np.abs(x) < tiny)), f"subnormal value in {x}"


@given(t=tensors(shape=(2, 3)))
def test_tensors_strategy_gives_float64_leaves_requiring_grad(t):
    assert t.shape == (2, 3) and t.dtype == np.float64 and t.requires_grad and t.is_leaf


@given(data=st.data())
def test_op_domains_stay_away_from_poles_and_kinks(data):
    (x,), _ = data.draw(OP_INPUTS["Log"]())
    assert np.all(x >= 0.5), f"Log input too close to the pole at 0: {x}"
    (_, y), _ = data.draw(OP_INPUTS["Div"]())
    assert np.all(np.abs(y) >= 0.5), f"Div denominator too close to 0: {y}"
    for name in ("ReLU", "Abs"):
        (x,), _ = data.draw(OP_INPUTS[name]())
        assert np.all(np.abs(x) >= 0.1), f"{name} input too close to the kink: {x}"
    (x,), _ = data.draw(OP_INPUTS["Max"]())
    gaps = np.diff(np.sort(x.ravel()))
    assert gaps.size == 0 or gaps.min() >= 0.07, f"Max input has near-ties: {x}"


@given(case=OP_INPUTS["Where"]())
def test_where_condition_is_a_constant_bool_input(case):
    cond = case.inputs()[0]
    assert cond.dtype == np.bool_ and not cond.requires_grad


@given(case=OP_INPUTS["GetItem"]())
def test_getitem_integer_array_indices_always_repeat_an_entry(case):
    index = case.attrs["index"]
    for p in index if isinstance(index, tuple) else (index,):
        if isinstance(p, np.ndarray) and p.dtype.kind == "i":
            assert len(p) > len(set(p.tolist())), f"no repeated entry in {p}"


@given(graph=computation_graphs())
def test_computation_graphs_always_contain_a_diamond_at_the_first_input(graph):
    program, inputs = graph
    readers = [k for k, (_, operands) in enumerate(program.steps) if 0 in operands]
    assert len(readers) >= 2, f"v0 should feed two steps in {program}"
    assert program(*[Tensor(a) for a in inputs]).dtype == np.float64


def test_op_inputs_for_an_unknown_op_names_the_fix():
    with pytest.raises(KeyError, match="register_op_inputs"):
        op_inputs("NoSuchOp")
