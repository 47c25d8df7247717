"""The time step of a node is data (`node.step`), set by `autograd.time_steps`, never parsed."""

from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest

from tinygrad_rnn import Tensor, nn
from tinygrad_rnn.autograd import (
    STATE,
    detect_anomaly,
    enable_grad,
    no_grad,
    scope,
    time_steps,
    toposort,
)


def _leaf() -> Tensor:
    return Tensor(np.ones(2), requires_grad=True)


def test_at_step_sets_the_integer_step_and_the_display_scope():
    x = _leaf()
    with time_steps() as at_step:
        at_step(0)
        a = x * 2
        at_step(7)
        b = a + 1
    after = b * 3
    assert (a._ctx.step, a._ctx.scope) == (0, "t=0")
    assert (b._ctx.step, b._ctx.scope) == (7, "t=7")
    assert (after._ctx.step, after._ctx.scope) == (None, None), "the block restores both"


def test_a_users_scope_named_like_a_step_is_only_a_label():
    x = _leaf()
    with scope("t=2"):
        y = x * 2
    with scope("enc"), scope("t=5"):
        z = x * 3
    assert y._ctx.scope == "t=2" and y._ctx.step is None
    assert z._ctx.scope == "enc/t=5" and z._ctx.step is None


def test_steps_nest_under_a_scope_and_a_scope_inside_a_step_keeps_the_step():
    x = _leaf()
    with scope("enc"), time_steps() as at_step:
        at_step(3)
        with scope("gates"):
            g = x * 2
        h = g + 1
    assert (g._ctx.scope, g._ctx.step) == ("enc/t=3/gates", 3)
    assert (h._ctx.scope, h._ctx.step) == ("enc/t=3", 3)


def test_an_inner_time_loop_restores_the_outer_step():
    x = _leaf()
    with time_steps() as outer:
        outer(1)
        with time_steps() as inner:
            inner(4)
            a = x * 2
        b = a + 1
    assert (a._ctx.scope, a._ctx.step) == ("t=1/t=4", 4)
    assert (b._ctx.scope, b._ctx.step) == ("t=1", 1)


def test_at_step_refuses_a_step_that_is_not_an_integer():
    with time_steps() as at_step, pytest.raises(TypeError):
        at_step("3")
    assert STATE.step is None and STATE.scope is None


def test_every_switch_is_restored_when_its_block_raises():
    for block in (no_grad, enable_grad, detect_anomaly, lambda: scope("s"), time_steps):
        before = (STATE.grad_enabled, STATE.scope, STATE.step, STATE.anomaly)
        with pytest.raises(ValueError), block() as at_step:
            if callable(at_step):
                at_step(2)
            raise ValueError("boom")
        after = (STATE.grad_enabled, STATE.scope, STATE.step, STATE.anomaly)
        assert after == before, f"{block} left STATE at {after}, was {before}"


@pytest.mark.parametrize("make", [lambda: nn.RNN(2, 3, seed=0), lambda: nn.LSTM(2, 3, seed=0),
                                  lambda: nn.GRU(2, 3, seed=0)], ids=["RNN", "LSTM", "GRU"])
def test_recurrent_layers_tag_step_t_with_the_integer_t(make):
    out, _ = make()(Tensor(np.ones((4, 1, 2)), requires_grad=True))
    nodes = toposort(out._ctx)
    steps = {n.step for n in nodes}
    assert steps == {None, 0, 1, 2, 3}
    for n in nodes:
        if n.step is not None:
            assert n.scope == f"t={n.step}", f"{n.name} has step {n.step} but scope {n.scope}"
        else:
            assert n.scope is None or not n.scope.startswith("t="), f"{n.name} in {n.scope}"


def test_only_the_engine_writes_the_recording_state():
    package = pathlib.Path(__file__).resolve().parents[1] / "tinygrad_rnn"
    writes = [f"{path.relative_to(package)}:{i}" for path in package.rglob("*.py")
              if path.name != "autograd.py"
              for i, line in enumerate(path.read_text().splitlines(), 1)
              if re.search(r"\bSTATE\.\w+\s*=[^=]", line)]
    assert not writes, f"STATE is written outside autograd.py at {writes}"
