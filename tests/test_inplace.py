"""Versions and in-place updates: PyTorch's rules, and never a silently wrong gradient."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_rnn import REGISTRY, Tensor, nn, no_grad, optim
from tinygrad_rnn.autograd import _root, toposort
from tinygrad_rnn.testing import OP_INPUTS, arrays, broadcastable_shapes, join_outputs

MODIFIED = r"modified by an in-place operation"


def _loss(name, inputs, attrs, cotangent=None):
    out = join_outputs(REGISTRY[name].apply(*inputs, **attrs))
    if cotangent is None:
        cotangent = np.linspace(-1.0, 1.0, out.data.size).reshape(out.shape)
    return out, (out * cotangent).sum(), cotangent


def _change(t: Tensor, how: str) -> None:
    """One in-place change through the library, under no_grad (as an optimizer makes it)."""
    data = t.data
    with no_grad():
        if how == "data=":
            t.data = np.logical_not(data) if data.dtype == bool else data + 1
        elif data.dtype == bool:
            t.copy_(np.logical_not(data))
        elif how == "+=":
            t += 1
        elif how == "mul_":
            t.mul_(2)
        else:
            t.copy_(data + 1)


def _saved_roots(node):
    return {id(_root(s)) for s in node.saved_tensors if isinstance(s, np.ndarray)}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_inplace_change_of_an_input_raises_if_saved_and_leaves_the_gradient_exact_if_not(name):
    """For every primitive: change one input in place between forward and backward. If the op
    saved that input's buffer, backward raises; otherwise the gradients are exactly those of the
    forward-time values (so an unsaved tensor may change freely)."""

    @given(case=OP_INPUTS[name](), data=st.data())
    def check(case, data):
        fresh = case.inputs()
        _, reference_loss, cotangent = _loss(name, fresh, case.attrs)
        reference_loss.backward()
        expected = [t.grad for t in fresh]

        inputs = case.inputs()
        out, loss, _ = _loss(name, inputs, case.attrs, cotangent)
        k = data.draw(st.integers(0, len(inputs) - 1), label="changed input")
        how = data.draw(st.sampled_from(["+=", "mul_", "copy_", "data="]), label="how")
        saved = any(id(_root(inputs[k].data)) in _saved_roots(n) for n in toposort(loss._ctx))
        _change(inputs[k], how)
        if saved:
            with pytest.raises(RuntimeError, match=MODIFIED):
                loss.backward()
            return
        loss.backward()
        for i, (t, g) in enumerate(zip(inputs, expected)):
            if g is None:
                assert t.grad is None
            else:
                np.testing.assert_array_equal(t.grad, g, err_msg=f"{name}: input {i} after "
                                              f"input {k} changed by {how}")

    check()


# ------------------------------------------------------------------- the bugs this fixes


def test_optimizer_step_between_forward_and_retained_backward_raises():
    model = nn.ElmanRNN(2, 3, 1, seed=0)
    x = np.random.default_rng(0).standard_normal((4, 2, 2))
    ys, _ = model(x)
    loss = (ys * ys).sum()
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match=MODIFIED) as info:
        loss.backward()
    message = str(info.value)
    assert "shape" in message and "version" in message, message


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: optim.Adam(ps, lr=0.1),
    lambda ps: optim.Adagrad(ps, lr=0.1),
])
def test_every_optimizer_step_bumps_the_version_of_what_it_updates(make):
    w = Tensor([1.0, 2.0], requires_grad=True)
    unused = Tensor([3.0], requires_grad=True)
    opt = make([w, unused])
    (w * w).sum().backward()
    opt.step()
    assert w._version == 1 and unused._version == 0, "only parameters with a gradient change"


def test_error_names_the_op_its_time_step_and_the_shape():
    model = nn.ElmanRNN(1, 4, 1, seed=1)
    ys, _ = model(np.ones((3, 1, 1)))
    loss = (ys * ys).sum()
    with no_grad():
        model.W += 0.01
    with pytest.raises(RuntimeError, match=MODIFIED) as info:
        loss.backward()
    message = str(info.value)
    assert "t=" in message and "(4, 4)" in message, message


def test_sgd_written_by_hand_with_minus_equals_updates_the_parameter_itself():
    model = nn.Linear(3, 2, seed=0)
    before = {name: p for name, p in model.named_parameters()}
    values = {name: p.data.copy() for name, p in before.items()}
    loss = (model(Tensor(np.ones((4, 3)))) ** 2).sum()
    loss.backward()
    with no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    for name, p in model.named_parameters():
        assert p is before[name], f"{name}: -= must keep the parameter object"
        assert p.is_leaf and p.requires_grad
        np.testing.assert_allclose(p.data, values[name] - 0.1 * p.grad)
        assert p._version == 1


def test_inplace_on_a_leaf_that_requires_grad_raises_pytorchs_error_outside_no_grad():
    w = Tensor([1.0, 2.0], requires_grad=True)
    for update in (lambda: w.__iadd__(1), lambda: w.mul_(2), lambda: w.zero_()):
        with pytest.raises(RuntimeError, match="a leaf tensor that requires grad is used in an "
                                               "in-place operation"):
            update()
    assert w.is_leaf and w._version == 0
    np.testing.assert_array_equal(w.data, [1.0, 2.0])


def test_inplace_on_a_recorded_result_raises_instead_of_a_wrong_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    with pytest.raises(RuntimeError, match=r"in-place update of the output of Mul"):
        y += 1
    with pytest.raises(RuntimeError, match=r"operand requires grad"):
        Tensor([0.0, 0.0]).add_(x)


def test_changing_a_saved_output_under_no_grad_raises_at_backward():
    x = Tensor([0.5, -0.5], requires_grad=True)
    y = x.tanh()  # Tanh saves its output
    with no_grad():
        y *= 2
    with pytest.raises(RuntimeError, match=MODIFIED) as info:
        y.sum().backward()
    assert "Tanh" in str(info.value)


def test_a_change_through_an_alias_or_a_view_is_seen():
    w = Tensor(np.eye(2), requires_grad=True)
    x = Tensor([[1.0, 2.0], [3.0, 4.0]])
    loss = (x[0] @ w).sum()  # MatMul saves the view x[0]
    x.detach()[1].fill_(7)  # a view of an alias: still x's buffer (PyTorch shares versions)
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_assigning_data_bumps_the_version_and_is_caught():
    w = Tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    w.data = np.array([5.0, 6.0])
    assert w._version == 1
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_a_tensor_no_backward_needs_may_change_freely():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0])
    loss = (a + b).sum()  # Add saves nothing
    with no_grad():
        b += 10
    loss.backward()
    np.testing.assert_array_equal(a.grad, [1.0, 1.0])


def test_changes_after_backward_do_not_affect_the_next_forward():
    w = Tensor([1.0, 2.0], requires_grad=True)
    for _ in range(3):  # forward, backward, step: the usual loop never trips the check
        w.grad = None
        (w * w).sum().backward()
        with no_grad():
            w -= 0.1 * w.grad
    np.testing.assert_allclose(w.data, np.array([1.0, 2.0]) * 0.8 ** 3)


# ----------------------------------------------------------------- in-place operators


INPLACE = {"+=": np.add, "-=": np.subtract, "*=": np.multiply, "/=": np.true_divide}


def _apply(t, op, other):
    if op == "+=":
        t += other
    elif op == "-=":
        t -= other
    elif op == "*=":
        t *= other
    else:
        t /= other
    return t


@given(shapes=broadcastable_shapes(2), op=st.sampled_from(sorted(INPLACE)), data=st.data(),
       as_tensor=st.booleans())
def test_inplace_operators_under_no_grad_keep_identity_and_give_numpys_values(shapes, op, data,
                                                                             as_tensor):
    target_shape = np.broadcast_shapes(*shapes)
    a = data.draw(arrays(target_shape), label="a")
    b = data.draw(arrays(shapes[1], low=0.5, high=3.0), label="b")
    p = Tensor(a, requires_grad=True)
    module = nn.Module()
    module.p = nn.Parameter(a)
    for t in (p, module.p):
        before = t
        with no_grad():
            t = _apply(t, op, Tensor(b) if as_tensor else b)
        assert t is before and t.is_leaf and t.requires_grad and t._version == 1
        np.testing.assert_array_equal(t.data, INPLACE[op](a, b))
    assert next(iter(module.parameters())) is module.p


def test_inplace_methods_follow_pytorch():
    t = Tensor([1.0, 2.0, 3.0])
    assert t.add_(1, alpha=2) is t
    np.testing.assert_array_equal(t.data, [3.0, 4.0, 5.0])
    t.sub_(Tensor([1.0, 1.0, 1.0]), alpha=3).mul_(2).div_(4)
    np.testing.assert_array_equal(t.data, [0.0, 0.5, 1.0])
    t.fill_(7)
    np.testing.assert_array_equal(t.data, [7.0, 7.0, 7.0])
    t.copy_(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(t.data, [1.0, 2.0, 3.0])
    t.zero_()
    np.testing.assert_array_equal(t.data, [0.0, 0.0, 0.0])
    assert t._version == 7


def test_inplace_errors_name_the_op_the_shapes_and_the_dtypes():
    ints = Tensor(np.array([1, 2, 3]))
    with pytest.raises(RuntimeError, match=r"/=.*float64.*int64"):
        ints /= 2
    with pytest.raises(ValueError, match=r"\+=.*\(2, 3\).*\(3,\)"):
        floats = Tensor([1.0, 2.0, 3.0])
        floats += np.ones((2, 3))
    assert ints._version == 0, "a refused update changes nothing"


@pytest.mark.parametrize("dtype", [np.bool_, np.int32, np.float32])
def test_zero_works_for_every_dtype_as_in_pytorch(dtype):
    t = Tensor(np.ones(3, dtype=dtype))
    assert t.zero_() is t and t.dtype == dtype
    np.testing.assert_array_equal(t.data, np.zeros(3, dtype=dtype))

