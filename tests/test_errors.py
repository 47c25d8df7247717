"""Bad input raises a clear ValueError/TypeError/RuntimeError that names the op and the shapes."""

import re

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Function, Tensor, detect_anomaly
from tinygrad_rnn import functional as F


def _leaf(shape):
    return Tensor(np.ones(shape), requires_grad=True)


def _raises(error, *fragments):
    """pytest.raises whose message must contain every fragment (literally)."""
    return pytest.raises(error, match="(?s)" + "".join(f"(?=.*{re.escape(f)})" for f in fragments))


# ----------------------------------------------------------------------------- shape errors


def test_matmul_shape_mismatch_names_op_and_both_shapes():
    with _raises(ValueError, "matmul", "(2, 3)", "(4, 5)"):
        _leaf((2, 3)) @ _leaf((4, 5))


def test_matmul_of_a_0d_operand_is_rejected():
    with _raises(ValueError, "matmul", "at least 1-D"):
        _leaf(()) @ _leaf((3,))


@pytest.mark.parametrize("op, name", [
    (lambda a, b: a + b, "Add"), (lambda a, b: a - b, "Sub"), (lambda a, b: a * b, "Mul"),
    (lambda a, b: a / b, "Div"), (lambda a, b: a ** b, "Pow"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_broadcast_mismatch_names_op_and_shapes(op, name):
    with _raises(ValueError, name, "(2, 3)", "(4, 3)", "broadcast"):
        op(_leaf((2, 3)), _leaf((4, 3)))


def test_where_broadcast_mismatch_names_op_and_shapes():
    with _raises(ValueError, "Where", "(2,)", "(3,)"):
        tg.where(np.array([True, False]), _leaf((3,)), 0.0)


@pytest.mark.parametrize("call, fragments", [
    (lambda x: x.reshape(4, 4), ("reshape", "(2, 3)", "(4, 4)")),
    (lambda x: x.permute(0, 0), ("permute", "(2, 3)")),
    (lambda x: x.sum(axis=2), ("sum", "axis 2", "2 dimension")),
    (lambda x: x.mean(axis=(0, 0)), ("mean", "repeats")),
    (lambda x: x.max(axis=-3), ("max", "axis -3")),
    (lambda x: tg.stack([x, _leaf((3, 2))]), ("stack", "(2, 3)", "(3, 2)")),
    (lambda x: tg.cat([x, _leaf((3, 2))], axis=1), ("cat", "(2, 3)", "(3, 2)", "axis 1")),
    (lambda x: tg.stack([]), ("stack", "non-empty")),
    (lambda x: x.sum().unbind(), ("unbind", "0-d")),
    (lambda x: x[:0].max(), ("max", "empty", "(0, 3)")),
    (lambda x: x.item(), ("item", "(2, 3)")),
    (lambda x: bool(x), ("ambiguous", "(2, 3)")),
], ids=lambda v: v[0] if isinstance(v, tuple) else "")
def test_shape_and_axis_errors_name_the_op_and_shape(call, fragments):
    with _raises(ValueError, *fragments):
        call(_leaf((2, 3)))


def test_axis_on_a_0d_tensor_is_a_clear_value_error():
    # a 0-d tensor takes dim 0 and -1, as PyTorch (issue 10); any other dim is an error
    with _raises(ValueError, "sum", "dim 1", "0 dimension"):
        _leaf(()).sum(axis=1)


def test_index_out_of_range_names_getitem_and_shape():
    with _raises(IndexError, "getitem", "(2, 3)"):
        _leaf((2, 3))[5]


# ---------------------------------------------------------------------------- backward errors


def test_non_scalar_backward_without_grad_names_the_shape():
    with _raises(RuntimeError, "backward", "scalar", "(2, 3)"):
        (_leaf((2, 3)) * 2).backward()


def test_backward_with_grad_of_wrong_shape_names_both_shapes():
    with _raises(RuntimeError, "backward", "(3,)", "(2, 3)"):
        (_leaf((2, 3)) * 2).backward(np.ones(3))


def test_backward_of_a_tensor_without_graph_is_explained():
    with _raises(RuntimeError, "does not require grad"):
        Tensor([1.0, 2.0]).sum().backward()


def test_second_backward_through_a_freed_graph_names_the_op_and_retain_graph():
    x = _leaf((2,))
    y = (x.tanh() * 3).sum()
    y.backward()
    with _raises(RuntimeError, "Sum", "second time", "retain_graph=True"):
        y.backward()


def test_hook_returning_a_gradient_of_the_wrong_shape_is_rejected():
    x = _leaf((2, 3))
    x.register_hook(lambda g: np.ones(3))
    with _raises(RuntimeError, "hook", "(2, 3)", "(3,)"):
        (x * 2).sum().backward()


def test_register_hook_on_a_constant_is_rejected():
    with _raises(RuntimeError, "register_hook", "does not require grad"):
        Tensor([1.0]).register_hook(lambda g: g)


class WrongCount(Function):
    @staticmethod
    def forward(ctx, x, y):
        return x + y

    @staticmethod
    def backward(ctx, g):
        return (g,)


class WrongShape(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return np.ones((5, 7))


def test_user_backward_with_wrong_number_of_gradients_names_the_op():
    out = WrongCount.apply(_leaf((2,)), _leaf((2,)))
    with _raises(RuntimeError, "WrongCount.backward", "1 gradients", "2 inputs"):
        out.sum().backward()


def test_user_backward_with_gradient_of_wrong_shape_names_op_and_shapes():
    out = WrongShape.apply(_leaf((2, 3)))
    with _raises(RuntimeError, "WrongShape.backward", "(5, 7)", "(2, 3)"):
        out.sum().backward()


# -------------------------------------------------------------------------------- bad data


@pytest.mark.parametrize("data", ["abc", [1.0, None], {"a": 1}, [object()]])
def test_non_numeric_data_is_a_type_error(data):
    with _raises(TypeError, "Tensor", "numeric"):
        Tensor(data)


@pytest.mark.parametrize("data", [[[1.0, 2.0], [3.0]], [1.0, [2.0, 3.0]]])
def test_ragged_data_is_a_value_error(data):
    with _raises(ValueError, "Tensor", "ragged"):
        Tensor(data)


def test_integer_dtype_cannot_require_grad():
    with _raises(TypeError, "only floating-point"):
        Tensor([1, 2], requires_grad=True, dtype=np.int64)
    with _raises(TypeError, "requires_grad_", "int"):
        Tensor([1, 2]).requires_grad_()


# ----------------------------------------------------------------------------- composites


def test_loss_with_mismatched_shapes_names_loss_and_shapes():
    with _raises(ValueError, "squared_error", "(2, 3)", "(3, 2)"):
        F.squared_error(_leaf((2, 3)), np.zeros((3, 2)))
    with _raises(ValueError, "mse_loss", "(2, 3)", "(2,)"):
        F.mse_loss(_leaf((2, 3)), np.zeros(2))


def test_cross_entropy_rejects_bad_targets():
    with _raises(ValueError, "cross_entropy", "[0, 3)"):
        F.cross_entropy(_leaf((2, 3)), np.array([0, 3]))
    with _raises(TypeError, "cross_entropy", "integer"):
        F.cross_entropy(_leaf((2, 3)), np.array([0.0, 1.0]))
    with _raises(ValueError, "cross_entropy", "(3,)", "(2, 3)"):
        F.cross_entropy(_leaf((2, 3)), np.array([0, 1, 2]))


def test_composite_given_an_array_instead_of_a_tensor_is_a_type_error():
    with _raises(TypeError, "softmax", "ndarray"):
        F.softmax(np.ones(3))


def test_detect_anomaly_names_the_op_that_made_a_nan():
    x = Tensor([-1.0, 1.0], requires_grad=True)
    with np.errstate(invalid="ignore"), detect_anomaly(), _raises(tg.AnomalyError, "Log"):
        x.log()


@pytest.mark.parametrize("call", [lambda y: y.permute(0, 3), lambda y: y.unbind(5),
                                  lambda y: y.unbind(-3), lambda y: y.transpose(0, 2)])
def test_out_of_range_axes_in_movement_ops_are_rejected_not_wrapped(call):
    with pytest.raises(ValueError, match="out of range"):
        call(Tensor(np.ones((2, 3))))
