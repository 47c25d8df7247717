"""What docs/higher_order.md and its figures rely on: the graphs that create_graph=True builds
can be traced and drawn by viz (after a backward through them that keeps node gradients), the
nodes a backward creates keep their node's time step, and the power iteration of
docs/img/make_figures.py finds the Hessian's eigenvalue of largest magnitude."""

import importlib.util
import pathlib

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, func, nn, viz
from tinygrad_rnn.functional import squared_error

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _second_derivative_of_tanh(x0=0.5):
    x = Tensor([x0], requires_grad=True)
    (d1,) = tg.grad(x.tanh().sum(), x, create_graph=True)
    (d2,) = tg.grad(d1.sum(), x, create_graph=True)
    return x, d2


def test_the_graph_of_a_second_derivative_draws_after_a_backward_that_keeps_node_grads():
    x, d2 = _second_derivative_of_tanh()
    d2.backward(keep_node_grads=True)
    t = np.tanh(0.5)
    assert x.grad[0] == pytest.approx((1 - t**2) * (6 * t**2 - 2), rel=1e-12)
    graph = viz.trace(d2, params={"x": x})
    assert sorted(n.op for n in graph.nodes if n.kind == "op") == [
        "Add", "Mul", "Mul", "Mul", "Mul", "Sub", "Tanh"]
    assert all(n.grad.state == "finite" for n in graph.nodes if n.kind != "input")
    source = viz.to_dot(d2, params={"x": x}, title="d2")
    assert "Tanh" in source and "not computed yet" in source  # (the legend's entry)


def test_a_create_graph_graph_without_kept_node_grads_is_a_clear_error():
    _, d2 = _second_derivative_of_tanh()
    with pytest.raises(RuntimeError, match="keep_node_grads=True"):
        viz.trace(d2)


def test_nodes_made_by_a_backward_keep_the_time_step_of_their_node():
    rng = np.random.default_rng(0)
    model = nn.ElmanRNN(2, 3, 1, seed=0)
    (h1,) = model.unroll(Tensor(rng.standard_normal((1, 1, 2))),
                         Tensor(rng.standard_normal((1, 3))))
    (dW,) = tg.grad(h1.sum(), model.W, create_graph=True)
    (dW * Tensor(rng.standard_normal((3, 3)))).sum().backward(keep_node_grads=True)
    graph = viz.trace(dW, params=model)
    in_step = sorted(n.op for n in graph.nodes if n.step == 0)
    assert in_step == ["Addmm", "Mul", "Mul", "Sub", "Tanh"]  # Tanh's backward joins t=0
    assert graph.by_id[graph.root].op == "Permute" and graph.by_id[graph.root].step is None
    viz.to_dot(dW, params=model)


def _make_figures():
    spec = importlib.util.spec_from_file_location("make_figures",
                                                  ROOT / "docs" / "img" / "make_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_power_iteration_on_hvp_finds_the_eigenvalue_of_largest_magnitude(nonlinearity):
    rng = np.random.default_rng(1)
    model = nn.ElmanRNN(1, 4, 1, nonlinearity=nonlinearity, seed=1)
    x, g = Tensor(rng.standard_normal((8, 2, 1))), rng.standard_normal((8, 2, 1))

    def E(W):
        return squared_error(nn.functional_call(model, {"W": W}, x)[0], g)

    W = model.W.data.copy()
    eigs = np.linalg.eigvalsh(func.hessian(E, W).data.reshape(16, 16))
    exact = eigs[np.argmax(np.abs(eigs))]
    lam, residual = _make_figures().top_hessian_eigenvalue(E, W, iters=200)
    assert lam == pytest.approx(exact, rel=1e-6)
    assert residual < 1e-3
