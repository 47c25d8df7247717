"""Properties of the backward engine itself: accumulation, broadcasting, retain_graph, graph
cutting, hooks, depth, freeing, scopes and the public `Function` extension point."""

import gc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import Function, Tensor, gradcheck, no_grad, scope
from tinygrad_rnn.autograd import toposort
from tinygrad_rnn.testing import arrays, broadcastable_shapes, computation_graphs, shapes


def _leaf(a):
    return Tensor(a, requires_grad=True)


# ------------------------------------------------------------------------------ accumulation


@given(x=arrays(shapes()), coefs=st.lists(st.floats(-2, 2), min_size=1, max_size=6))
def test_reused_tensor_receives_the_sum_of_all_its_uses(x, coefs):
    t = _leaf(x)
    out = t * coefs[0]
    for c in coefs[1:]:
        out = out + t * c
    out.sum().backward()
    expected = np.full(x.shape, np.sum(np.array(coefs)))
    np.testing.assert_allclose(t.grad, expected, rtol=1e-12, atol=1e-12,
                               err_msg=f"a tensor used {len(coefs)} times lost contributions")


def test_tensor_added_to_itself_gets_gradient_two_even_when_0d():
    x = _leaf(0.0)
    ((x + x) + (x + x)).backward()
    assert x.grad == 4.0, f"0-d x+x used twice must give 4, got {x.grad}"


def test_diamond_gradient_sums_both_paths():
    x = _leaf([0.3, -1.2])
    a, b = x.tanh(), x * x
    (a * b).sum().backward()
    xs = np.array([0.3, -1.2])
    expected = (1 - np.tanh(xs) ** 2) * xs ** 2 + np.tanh(xs) * 2 * xs
    np.testing.assert_allclose(x.grad, expected, rtol=1e-12)


def test_leaf_grad_accumulates_across_backward_calls_until_zeroed():
    x = _leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])
    x.zero_grad()
    assert x.grad is None


def test_backward_never_mutates_or_aliases_the_callers_grad_array():
    g = np.array([1.0, 2.0])
    x = _leaf([0.0, 0.0])
    (x + 1.0).backward(g)  # Add hands g through unchanged to the leaf
    (x + 1.0).backward(g)  # the second call accumulates into x.grad in place
    np.testing.assert_array_equal(g, [1.0, 2.0], err_msg="backward mutated the caller's grad")
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])
    assert not np.shares_memory(x.grad, g), "x.grad aliases the caller's array"


def _expected_broadcast_grad(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """d/dx sum(x * y) by perturbing one element of x at a time (no unbroadcast involved)."""
    grad = np.zeros(x.shape)
    for idx in np.ndindex(*x.shape):
        basis = np.zeros(x.shape)
        basis[idx] = 1.0
        grad[idx] = np.sum(basis * y)
    return grad


@given(data=st.data(), pair=broadcastable_shapes())
def test_broadcast_gradients_sum_back_to_each_input_shape(data, pair):
    x, y = data.draw(arrays(pair[0])), data.draw(arrays(pair[1]))
    tx, ty = _leaf(x), _leaf(y)
    (tx * ty).sum().backward()
    assert tx.grad.shape == x.shape and ty.grad.shape == y.shape, (
        f"grads {tx.grad.shape}, {ty.grad.shape} for inputs {x.shape}, {y.shape}")
    np.testing.assert_allclose(tx.grad, _expected_broadcast_grad(x, y), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ty.grad, _expected_broadcast_grad(y, x), rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------- retain_graph / free


@given(graph=computation_graphs())
def test_two_backward_passes_with_retain_graph_give_exactly_twice_the_gradient(graph):
    program, inputs = graph
    leaves = [_leaf(a) for a in inputs]
    out = program(*leaves).sum()
    out.backward(retain_graph=True)
    first = [t.grad.copy() for t in leaves]
    out.backward(retain_graph=True)
    for i, (t, g) in enumerate(zip(leaves, first)):
        np.testing.assert_array_equal(t.grad, 2 * g, err_msg=f"input {i} of {program}")


def test_backward_frees_saved_values_of_every_consumed_node():
    x = _leaf([0.5, -0.5])
    out = ((x * x).tanh() / (x.exp() + 1)).sum()
    nodes = toposort(out._ctx)
    assert any(n.saved_tensors for n in nodes), "the graph should save values before backward"
    out.backward()
    kept = [n.name for n in nodes if n.saved_tensors is not None or not n.freed]
    assert not kept, f"nodes still holding saved values after backward: {kept}"


def test_retain_graph_keeps_saved_values():
    x = _leaf([0.5, -0.5])
    out = (x * x).sum()
    out.backward(retain_graph=True)
    mul = out._ctx.parents[0]._ctx
    assert mul.saved_tensors is not None and not mul.freed


def test_intermediate_grad_is_not_kept_unless_retain_grad():
    x = _leaf([1.0, 2.0])
    hidden, kept = x * 2, x * 3
    kept.retain_grad()
    (hidden * kept).sum().backward()
    assert hidden.grad is None, "an intermediate nobody asked for must not keep .grad"
    np.testing.assert_array_equal(kept.grad, [2.0, 4.0])


def test_node_records_the_gradient_that_arrived_and_what_it_sent():
    x = _leaf([1.0, 2.0])
    y = x * 3
    y.sum().backward(retain_graph=True, keep_node_grads=True)
    np.testing.assert_array_equal(y._ctx.out_grad, [1.0, 1.0])
    np.testing.assert_array_equal(y._ctx.in_grads[0], [3.0, 3.0])
    assert y._ctx.in_grads[1] is None, "the constant 3 needs no gradient"


# ---------------------------------------------------------------------- cutting the graph


def test_no_grad_records_no_graph_and_restores_recording():
    x = _leaf([1.0])
    with no_grad():
        y = x * 2
    assert not y.requires_grad and y._ctx is None
    assert (x * 2).requires_grad, "recording must resume after the no_grad block"


def test_enable_grad_inside_no_grad_records_again():
    x = _leaf([1.0])
    with no_grad(), tg.enable_grad():
        y = x * 2
    assert y.requires_grad


def test_detach_cuts_the_gradient_path():
    x = _leaf([1.5, -2.0])
    (x * 2 + x.detach() * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_inputs_that_do_not_require_grad_get_no_gradient():
    x, c = _leaf([1.0, 2.0]), Tensor([3.0, 4.0])
    (x * c).sum().backward()
    assert c.grad is None
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


# ---------------------------------------------------------------------------------- hooks


def test_leaf_hook_fires_with_the_gradient_and_can_replace_it():
    x = _leaf([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.copy()) or g * 10)
    (x * 3).sum().backward()
    np.testing.assert_array_equal(seen[0], [3.0, 3.0])
    np.testing.assert_array_equal(x.grad, [30.0, 30.0])


def test_intermediate_hook_replaces_the_gradient_flowing_to_parents():
    x = _leaf([1.0, 2.0])
    h = x * 2
    h.register_hook(lambda g: np.zeros_like(g) + 5.0)
    (h * h).sum().backward()
    np.testing.assert_array_equal(x.grad, [10.0, 10.0])  # d h/dx = 2 times the replaced 5


def test_removed_hook_no_longer_fires():
    x = _leaf([1.0])
    calls = []
    remove = x.register_hook(lambda g: calls.append(1))
    remove()
    (x * 2).sum().backward()
    assert calls == [], "a removed hook must not be called"


# ------------------------------------------------------------------------- depth and dtype


def test_100k_deep_chain_backpropagates_without_recursion():
    x = _leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad == 1.0


def test_big_backward_restores_the_cycle_collector_even_when_it_raises():
    x = _leaf(1.0)
    y = x
    for _ in range(1500):  # big enough for backward to pause the cycle collector
        y = y * 1.0
    y.backward()
    assert gc.isenabled(), "backward left Python's cycle collector disabled"
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()
    assert gc.isenabled(), "a failing backward left Python's cycle collector disabled"


@given(graph=computation_graphs(max_steps=5))
def test_float32_graph_keeps_float32_values_and_gradients(graph):
    program, inputs = graph
    leaves = [Tensor(a, requires_grad=True, dtype=np.float32) for a in inputs]
    out = program(*leaves)
    assert out.dtype == np.float32, f"{program} produced {out.dtype} from float32 inputs"
    out.sum().backward()
    assert all(t.grad.dtype == np.float32 for t in leaves), [t.grad.dtype for t in leaves]


# ------------------------------------------------------------------------------- scopes


def test_scope_tags_nodes_and_nests_with_slashes():
    x = _leaf([1.0])
    with scope("rnn"):
        with scope("t=3"):
            inner = x * 2
        outer = inner + 1
    after = outer * 3
    assert inner._ctx.scope == "rnn/t=3"
    assert outer._ctx.scope == "rnn"
    assert after._ctx.scope is None


def test_scope_is_restored_when_the_block_raises():
    with pytest.raises(ValueError), scope("broken"):
        raise ValueError("boom")
    assert (_leaf([1.0]) * 2)._ctx.scope is None


# -------------------------------------------------------------- user-defined Function


class Cube(Function):
    """out = x³;  dout/dx = 3x²"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x


class ScaledProduct(Function):
    """out = s·x·y;  dx = s·y·g, dy = s·x·g. Records which gradients backward computed."""

    computed: list = []

    @staticmethod
    def forward(ctx, x, y, scale=1.0):
        ctx.save_for_backward(x, y)
        ctx.scale = scale
        return scale * x * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        ScaledProduct.computed.append((need_x, need_y))
        return (ctx.scale * y * g if need_x else None), (ctx.scale * x * g if need_y else None)


@given(x=arrays(shapes()))
def test_user_defined_function_passes_gradcheck(x):
    assert gradcheck(lambda t: Cube.apply(t), [x], atol=1e-6, rtol=1e-5)


@given(data=st.data(), pair=broadcastable_shapes())
def test_user_defined_two_input_function_passes_gradcheck_with_broadcasting(data, pair):
    x, y = data.draw(arrays(pair[0])), data.draw(arrays(pair[1]))
    assert gradcheck(lambda a, b: ScaledProduct.apply(a, b, scale=0.5), [x, y],
                     atol=1e-6, rtol=1e-5)


def test_needs_input_grad_lets_backward_skip_constant_inputs():
    ScaledProduct.computed.clear()
    x, c = _leaf([1.0, 2.0]), Tensor([3.0, 4.0])
    ScaledProduct.apply(x, c, scale=2.0).sum().backward()
    assert ScaledProduct.computed == [(True, False)]
    np.testing.assert_array_equal(x.grad, [6.0, 8.0])


def test_user_function_is_a_graph_node_with_name_and_scope():
    x = _leaf([2.0])
    with scope("mine"):
        y = Cube.apply(x)
    assert y._ctx.name == "Cube" and y._ctx.scope == "mine" and y._ctx.parents == (x,)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [12.0])


def test_plain_backward_keeps_no_node_gradients_and_keeping_them_changes_no_leaf_grad():
    def run(keep):
        x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
        y = (x.tanh() * x).sum()
        y.backward(keep_node_grads=keep)
        return x, y

    x_on, y_on = run(True)
    x_off, y_off = run(False)
    assert np.array_equal(x_on.grad, x_off.grad), "keeping node gradients must not change .grad"
    assert y_on._ctx.out_grad is not None and y_on._ctx.in_grads is not None
    assert y_on._ctx.grads_kept is True
    assert y_off._ctx.out_grad is None and y_off._ctx.in_grads is None
    assert y_off._ctx.grads_kept is False


def test_tracing_a_graph_whose_backward_kept_nothing_says_how_to_keep_them():
    from tinygrad_rnn import viz

    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x.tanh() * x).sum()
    viz.trace(y)  # before any backward: drawable, every gradient "not computed yet"
    y.backward()
    with pytest.raises(RuntimeError, match=r"keep_node_grads=True"):
        viz.trace(y)
    with pytest.raises(RuntimeError, match=r"keep_node_grads=True"):
        viz.draw(y)


def test_keep_freed_memory_reports_whether_it_applied():
    import sys

    from tinygrad_rnn.memory import keep_freed_memory
    applied = keep_freed_memory()
    assert isinstance(applied, bool)
    if not sys.platform.startswith("linux"):
        assert applied is False


def test_a_tuple_inside_an_index_accumulates_repeated_rows():
    a = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    a[(0, 0), :].sum().backward()
    assert np.array_equal(a.grad, [[2, 2], [0, 0], [0, 0]])


def test_numpy_operands_on_the_left_give_tensors_not_object_arrays():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    for y in (np.float64(2) * x, np.ones(3) + x, np.ones((2, 3)) @ x):
        assert isinstance(y, Tensor) and y.dtype == np.float64, type(y)
    (np.float64(2) * x).sum().backward()
    assert np.array_equal(x.grad, [2.0, 2.0, 2.0])


def test_large_float64_recurrence_uses_a_row_major_weight_copy_and_drops_it_after_backward():
    """dual.matmul_t multiplies a large float64 g @ W by a row-major copy of the saved Wᵀ,
    shared by every step of one pass: the gradients must equal plain numpy's, the copy must be
    gone after the pass, and a weight changed between passes must not be served stale."""
    from tinygrad_rnn import dual, ops

    rng = np.random.default_rng(0)
    B, H, T = 32, 128, 4
    assert B * H * H >= dual.NT_MIN  # (the size the path is for)
    W = Tensor(rng.standard_normal((H, H)) * 0.1, requires_grad=True)
    h0 = rng.standard_normal((B, H))
    xs = [rng.standard_normal((B, H)) for _ in range(T)]

    def numpy_grad(w):
        hs, h = [h0], h0
        for x in xs:
            h = np.tanh(x + h @ w.T)
            hs.append(h)
        gw, gh = np.zeros_like(w), np.ones((B, H))
        for t in range(T, 0, -1):
            ga = gh * (1 - hs[t] ** 2)
            gw += ga.T @ hs[t - 1]
            gh = ga @ w + (1.0 if t > 1 else 0.0)
        return gw

    for _ in range(2):
        WT, h, outs = W.T, Tensor(h0, requires_grad=True), []
        for x in xs:
            h = ops.Addmm.apply(Tensor(x), h, WT).tanh()
            outs.append(h)
        W.grad = None
        sum(o.sum() for o in outs).backward()
        assert not dual._LAYOUTS
        np.testing.assert_allclose(W.grad, numpy_grad(W.data), rtol=1e-12, atol=1e-12)
        with no_grad():
            W *= 0.5  # the next pass must use the new weight, not a copy of the old one
