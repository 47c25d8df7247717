"""Anomaly detection names the op, its scope (time step) and the line that created it.

Engine level: `detect_anomaly()` catches a forward that makes NaN/Inf from finite inputs (log of
a negative number) and a backward that does (sqrt at 0 has an infinite derivative). CLI level:
`train --detect-anomaly` turns a diverging run into one line naming the op, the step scope and
the layer line, instead of a NaN loss.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from tinygrad_rnn import AnomalyError, Tensor, detect_anomaly, scope
from tinygrad_rnn.cli import main


def _line_of(marker: str) -> int:
    source, start = inspect.getsourcelines(_forward_log_of_negative)
    source2, start2 = inspect.getsourcelines(_backward_sqrt_at_zero)
    for lines, first in ((source, start), (source2, start2)):
        for i, text in enumerate(lines):
            if marker in text:
                return first + i
    raise AssertionError(marker)


def _forward_log_of_negative() -> None:
    x = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    with scope("t=3"):
        x.log()  # MARK-LOG


def _backward_sqrt_at_zero() -> None:
    x = Tensor(np.array([0.0, 4.0]), requires_grad=True)
    with scope("t=1"):
        y = x.sqrt()  # MARK-SQRT
    y.sum().backward()


def test_forward_anomaly_names_op_scope_and_user_line():
    with np.errstate(all="ignore"), detect_anomaly(), pytest.raises(AnomalyError) as info:
        _forward_log_of_negative()
    message = str(info.value)
    assert "forward of Log" in message, message
    assert "t=3" in message, message
    assert f"test_anomaly.py:{_line_of('MARK-LOG')}" in message, message


def test_backward_anomaly_names_op_scope_and_user_line():
    with np.errstate(all="ignore"), detect_anomaly(), pytest.raises(AnomalyError) as info:
        _backward_sqrt_at_zero()
    message = str(info.value)
    op = Tensor([1.0], requires_grad=True).sqrt()._ctx.name  # sqrt is Pow(x, 0.5) here
    assert f"backward of {op}" in message, message
    assert "t=1" in message, message
    assert f"test_anomaly.py:{_line_of('MARK-SQRT')}" in message, message


def test_without_detect_anomaly_the_same_code_runs_silently():
    with np.errstate(all="ignore"):
        _forward_log_of_negative()
        _backward_sqrt_at_zero()


def test_cli_detect_anomaly_end_to_end(tmp_path, capsys):
    args = ["train", "--nonlinearity", "relu", "--optimizer", "sgd", "--lr", "10", "--clip", "0",
            "--steps", "20", "--hidden", "8", "--quiet", "--checkpoint", str(tmp_path / "c.npz")]
    code = main([*args, "--detect-anomaly"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1, err
    last = err[-1]
    assert last.startswith("tinygrad-rnn: error: anomaly at training step"), last
    assert "forward of Addmm (scope t=" in last, last
    assert "tinygrad_rnn/nn/rnn.py:" in last and "in rnn_unroll" in last, last
    assert not any("Traceback" in line or "Warning" in line for line in err), err
    # without the flag the run still stops with one line, and suggests the flag
    code = main([*args, "--force"])
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 1 and "training diverged" in last and "--detect-anomaly" in last, last


def test_detect_anomaly_catches_an_op_whose_exact_grads_claim_is_false():
    """exact_grads lets the engine skip its shape check; anomaly mode verifies the claim."""
    from tinygrad_rnn import Function

    class BroadcastScale(Function):
        exact_grads = True  # false: y broadcasts, and backward does not sum it back

        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            return x * y

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return g * y, g * x

    x = Tensor(np.ones((2, 3)), requires_grad=True)
    y = Tensor(np.full(3, 2.0), requires_grad=True)
    claim = r"BroadcastScale.*exact_grads.*\(2, 3\).*\(3,\)"
    with detect_anomaly(), pytest.raises(RuntimeError, match=claim):
        BroadcastScale.apply(x, y).sum().backward()
