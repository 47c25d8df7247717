"""Edge paths of the engine files that the rest of the suite does not reach.

The coverage step of `.ci/run` holds tensor, autograd, ops, functional and gradcheck to 95% of
their lines and branches; each test here pins down what one such path does (its error
message, its result, or that it leaves a gradient alone) rather than only running it.
"""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import AnomalyError, Function, Tensor, detect_anomaly, ops, scope
from tinygrad_rnn import functional as F
from tinygrad_rnn.autograd import unbroadcast
from tinygrad_rnn.gradcheck import gradcheck
from tinygrad_rnn.tensor import as_tensor

# ------------------------------------------------------------------ tensor.py: construction


def test_tensor_from_a_tensor_copies_its_data():
    source = Tensor([1.0, 2.0])
    copy = Tensor(source)
    copy.data[0] = 9.0
    assert source.data.tolist() == [1.0, 2.0]


def test_tensor_with_an_unknown_dtype_is_a_clear_type_error():
    with pytest.raises(TypeError, match="Tensor: data of type list is not numeric"):
        Tensor([1, 2], dtype="not-a-dtype")


@pytest.mark.skipif(np.dtype(np.longdouble) == np.float64, reason="long double is float64 here")
def test_tensor_from_long_double_data_becomes_float64():
    t = Tensor(np.array([1.5], dtype=np.longdouble))
    assert t.dtype == np.float64 and t.data.tolist() == [1.5]


def test_integer_data_with_requires_grad_becomes_float64():
    t = Tensor([1, 2], requires_grad=True)
    assert t.dtype == np.float64


def test_integer_dtype_with_requires_grad_is_refused():
    with pytest.raises(TypeError, match="only floating-point tensors can require gradients"):
        Tensor([1, 2], requires_grad=True, dtype=np.int64)


def test_data_setter_refuses_non_numeric_and_non_float_data_for_a_grad_tensor():
    t = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="Tensor.data: data must be numeric"):
        t.data = np.array(["a", "b"])
    with pytest.raises(TypeError, match="a tensor that requires grad needs floating-point"):
        t.data = np.array([1, 2])
    assert t.data.tolist() == [1.0, 2.0]


def test_tensor_tensor_factory_zeros_and_ones_take_a_shape_tuple():
    assert tg.tensor([1.0], requires_grad=True).requires_grad
    assert tg.zeros((2, 3)).shape == (2, 3) and not tg.zeros((2, 3)).data.any()
    assert tg.ones([2, 3]).shape == (2, 3) and tg.ones([2, 3]).data.all()


def test_as_tensor_returns_a_tensor_unchanged():
    t = Tensor([1.0])
    assert as_tensor(t) is t


def test_stack_and_cat_of_nothing_are_value_errors():
    with pytest.raises(ValueError, match="stack: expected a non-empty sequence"):
        tg.stack([])
    with pytest.raises(ValueError, match="cat: expected a non-empty sequence"):
        tg.cat([])


# ---------------------------------------------------------------- tensor.py: conversions


def test_len_of_a_0d_tensor_is_a_type_error_and_len_counts_rows():
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(Tensor(1.0))
    assert len(Tensor(np.zeros((3, 2)))) == 3


def test_tolist_gives_nested_python_lists():
    assert Tensor([[1.0, 2.0], [3.0, 4.0]]).tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_requires_grad_switches_on_a_leaf_and_refuses_what_it_cannot():
    leaf = Tensor([1.0, 2.0])
    assert leaf.requires_grad_() is leaf and leaf.requires_grad
    (leaf * 3).sum().backward()
    assert leaf.grad.tolist() == [3.0, 3.0]
    with pytest.raises(RuntimeError, match="cannot turn off gradients of a non-leaf"):
        (leaf * 2).requires_grad_(False)
    with pytest.raises(TypeError, match="only floating-point tensors can require gradients"):
        Tensor([1, 2]).requires_grad_()


def test_astype_is_a_detached_copy_of_the_new_dtype():
    x = Tensor([1.5, 2.5], requires_grad=True)
    y = x.astype(np.float32)
    assert y.dtype == np.float32 and y.requires_grad and y.grad_fn is None
    y.data[0] = 0.0
    assert x.data[0] == 1.5


def test_repr_names_the_grad_fn_or_requires_grad():
    x = Tensor([1.0], requires_grad=True)
    assert repr(x) == "Tensor([1.], requires_grad=True)"
    assert repr(x * 2).endswith("grad_fn=<Mul>)")
    assert repr(Tensor([1.0], dtype=np.float32)).endswith("dtype=float32)")


def test_retain_grad_on_a_leaf_changes_nothing():
    x = Tensor([2.0], requires_grad=True)
    x.retain_grad()
    (x * x).sum().backward()
    assert x.grad.tolist() == [4.0]


def test_comparisons_are_elementwise_boolean_tensors_without_a_graph():
    x, y = Tensor([1.0, 2.0, 3.0], requires_grad=True), Tensor([2.0, 2.0, 2.0])
    assert (x <= y).data.tolist() == [True, True, False]
    assert (x > y).data.tolist() == [False, False, True]
    assert (x >= y).data.tolist() == [False, True, True]
    assert not (x >= y).requires_grad


def test_matmul_method_is_the_matmul_operator():
    a, b = Tensor(np.arange(6.0).reshape(2, 3)), Tensor(np.arange(3.0))
    np.testing.assert_array_equal(a.matmul(b).data, (a @ b).data)


def test_permute_takes_a_tuple_and_transpose_of_1d_is_the_identity():
    x = Tensor(np.arange(6.0).reshape(1, 2, 3))
    assert x.permute((2, 0, 1)).shape == (3, 1, 2)
    v = Tensor([1.0, 2.0])
    assert v.transpose().data.tolist() == [1.0, 2.0]


def test_where_method_picks_self_where_the_condition_holds():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = x.where(np.array([True, False, True]), 0.0)
    assert out.data.tolist() == [1.0, 0.0, 3.0]
    out.sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 1.0]


def test_a_tensor_index_selects_like_its_array():
    x = Tensor([10.0, 20.0, 30.0], requires_grad=True)
    picked = x[Tensor([2, 0])]
    assert picked.data.tolist() == [30.0, 10.0]
    picked.sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 1.0]


# ------------------------------------------------------------------------------ autograd.py


class _NoForward(Function):
    pass


class _ForwardOnly(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2


class _Blocks(Function):
    """y = x, but its backward passes no gradient on (as for a non-differentiable input)."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return None


def test_a_function_without_forward_or_backward_raises_not_implemented():
    x = Tensor([1.0], requires_grad=True)
    with pytest.raises(NotImplementedError):
        _NoForward.apply(x)
    y = _ForwardOnly.apply(x)
    with pytest.raises(NotImplementedError):
        y.sum().backward()


def test_node_repr_shows_its_op_and_scope():
    x = Tensor([1.0], requires_grad=True)
    assert repr((x * 2).grad_fn) == "<Mul>"
    with scope("layer"):
        y = x * 2
    assert repr(y.grad_fn) == "<Mul @ layer>"


def test_unbroadcast_returns_a_matching_gradient_itself_and_names_bad_shapes():
    g = np.ones((2, 3))
    assert unbroadcast(g, (2, 3)) is g
    np.testing.assert_array_equal(unbroadcast(g, (3,)), [2.0, 2.0, 2.0])
    with pytest.raises(RuntimeError, match=r"Op.backward returned a gradient of shape \(2, 3\) "
                                           r"for an input of shape \(1, 2, 3\)"):
        unbroadcast(g, (1, 2, 3), "Op")
    with pytest.raises(RuntimeError, match="does not reduce to the input's shape"):
        unbroadcast(g, (2, 4), "Op")


def test_backward_of_a_leaf_gives_it_the_seed_gradient():
    x = Tensor(3.0, requires_grad=True)
    x.backward()
    assert x.grad == 1.0


def test_a_backward_returning_none_leaves_the_inputs_above_it_without_a_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    w = Tensor([5.0, 5.0], requires_grad=True)
    loss = (_Blocks.apply(x * 3) + w).sum()
    loss.backward()
    assert x.grad is None
    assert w.grad.tolist() == [1.0, 1.0]


def test_a_multi_output_node_that_receives_no_gradient_is_skipped():
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    w = Tensor(1.0, requires_grad=True)
    first, _ = x.unbind(0)
    (_Blocks.apply(first).sum() + w).backward()
    assert x.grad is None and w.grad == 1.0


def test_an_unused_output_of_a_multi_output_op_does_not_call_its_hook():
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    first, second = x.unbind(0)
    called = []
    second.register_hook(lambda g: called.append(g))
    first.sum().backward()
    assert called == []
    assert x.grad.tolist() == [[1.0, 1.0], [0.0, 0.0]]


def test_a_hook_that_returns_none_keeps_the_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    seen = []
    y.register_hook(lambda g: seen.append(g.copy()))
    (y * y).sum().backward()
    np.testing.assert_array_equal(seen[0], [4.0, 8.0])
    assert x.grad.tolist() == [8.0, 16.0]


@pytest.mark.parametrize("dense_first", [False, True])
def test_a_weight_used_by_addmm_and_densely_gets_both_contributions(dense_first):
    rng = np.random.default_rng(0)
    c, x = Tensor(rng.standard_normal((4, 2))), Tensor(rng.standard_normal((4, 3)))
    w = Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    # the order of creation is the order in which backward meets the two contributions
    if dense_first:
        dense, mm = (w * w).sum(), ops.Addmm.apply(c, x, w).sum()
    else:  # Addmm's weight gradient arrives as factors xᵀ·g (an OuterSum)
        mm, dense = ops.Addmm.apply(c, x, w).sum(), (w * w).sum()
    (dense + mm).backward()
    np.testing.assert_allclose(w.grad, 2 * w.data + x.data.T @ np.ones((4, 2)), rtol=1e-12)


def test_detect_anomaly_accepts_non_finite_output_from_non_finite_input():
    x = Tensor([np.inf, 1.0], requires_grad=True)
    with detect_anomaly():
        y = x * 2  # inf in, inf out: not the op's fault
    assert y.data.tolist() == [np.inf, 2.0]
    with detect_anomaly(), np.errstate(invalid="ignore"), pytest.raises(AnomalyError, match="Log"):
        Tensor([-1.0], requires_grad=True).log()  # finite in, NaN out: reported


# ---------------------------------------------------------------------- ops.py, functional.py


def test_addmm_refuses_operands_that_do_not_chain():
    c, x, y = Tensor(np.zeros((2, 2))), Tensor(np.zeros((2, 3))), Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"addmm: needs 2-D operands with matching inner sizes, "
                                         r"got shapes \(2, 3\) and \(2, 3\)"):
        ops.Addmm.apply(c, x, y)


def test_stack_along_an_axis_out_of_range_names_the_axis_not_the_shapes():
    pair = [Tensor(np.zeros((2, 2))), Tensor(np.zeros((2, 2)))]
    for axis in (3, -4):
        with pytest.raises(ValueError, match=f"stack: axis {axis} is out of range for stacking "
                                             r"tensors of shape \(2, 2\)"):
            tg.stack(pair, axis=axis)
    assert tg.stack(pair, axis=-3).shape == (2, 2, 2) and tg.stack(pair, axis=2).shape == (2, 2, 2)


def test_functional_identity_returns_its_input():
    x = Tensor([1.0])
    assert F.identity(x) is x


# ----------------------------------------------------------------------------- gradcheck.py


def test_gradcheck_names_a_function_that_stops_returning_a_tensor():
    calls = []

    def fickle(x):
        calls.append(1)
        return x * 2 if len(calls) == 1 else 2.0

    with pytest.raises(TypeError, match="gradcheck: fn must return a Tensor, got float"):
        gradcheck(fickle, [Tensor([1.0], requires_grad=True)])
