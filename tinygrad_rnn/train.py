"""Truncated backpropagation through time.

Full BPTT backpropagates the loss of a whole sequence through every step of the unrolled graph.
Truncated BPTT (Williams & Peng, 1990; the min-char-rnn loop) splits time into chunks of
`chunk_len` steps, backpropagates each chunk's loss through that chunk only, and carries the
hidden state to the next chunk *detached*: same values, no graph behind them. The forward
values are exactly those of one long run; only gradient paths longer than a chunk are cut.
With chunk_len >= T there is one chunk, so truncated BPTT is full BPTT.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .nn.module import Module
from .nn.utils import clip_grad_norm_, clip_grad_value_
from .tensor import Tensor

__all__ = ["StepResult", "TrainingDiverged", "TBPTTResult", "tbptt", "tbptt_step",
           "detach_state", "full_bptt_gradients"]


class TrainingDiverged(ArithmeticError):
    """A step's loss or gradient norm was not finite; the parameters were left unchanged."""


@dataclass
class StepResult:
    """What one `tbptt_step` produced."""

    loss: float
    grad_norm: float | None  # the gradient norm before clipping (None without `clip`)
    state: Any  # the state after the chunk, detached: the next chunk's starting state


@dataclass
class TBPTTResult:
    """What one pass of `tbptt` over a sequence produced."""

    losses: list[float] = field(default_factory=list)  # one per chunk
    grad_norms: list[float] = field(default_factory=list)  # before clipping, when clip is set
    state: Any = None  # the final hidden state (a tensor or a tuple), detached

    @property
    def total_loss(self) -> float:
        return float(sum(self.losses))

    @property
    def n_chunks(self) -> int:
        return len(self.losses)


def detach_state(state: Any) -> Any:
    """Cut the graph behind a hidden state: a Tensor, a tuple/list of them (LSTM), or None."""
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(s) for s in state)
    raise TypeError(f"detach_state: a state must be a Tensor, a tuple of tensors or None, got "
                    f"{type(state).__name__}")


def _time_major(array: Any, what: str) -> Any:
    data = array.data if isinstance(array, Tensor) else np.asarray(array)
    if data.ndim < 2:
        raise ValueError(f"tbptt: {what} must be time-major with shape (T, B, ...), got shape "
                         f"{data.shape}")
    return data


def _check(model: Any, inputs: Any, targets: Any, chunk_len: Any) -> tuple[Any, Any]:
    if not isinstance(model, Module):
        raise TypeError(f"tbptt: model must be an nn.Module, got {type(model).__name__}")
    if isinstance(chunk_len, bool) or not isinstance(chunk_len, (int, np.integer)) \
            or chunk_len <= 0:
        raise ValueError(f"tbptt: chunk_len must be a positive int, got {chunk_len!r}")
    x, y = _time_major(inputs, "inputs"), _time_major(targets, "targets")
    if x.ndim != 3:
        raise ValueError(f"tbptt: inputs must be time-major 3-D (T, B, I), got shape {x.shape}")
    if y.shape[:2] != x.shape[:2]:
        raise ValueError(f"tbptt: targets of shape {y.shape} do not match inputs of shape "
                         f"{x.shape} in the first two axes (T, B)")
    return x, y


def tbptt_step(model: Module, x: Any, y: Any, loss_fn: Callable[[Tensor, Any], Tensor],
               optimizer: Any = None, state: Any = None, clip: float | None = None,
               clip_value: float | None = None, check_finite: bool = False) -> StepResult:
    """One step of truncated BPTT on one chunk, the loop body every trainer here shares.

    optimizer.zero_grad() (if an optimizer is given), outputs, new_state = model(x, state
    detached), loss_fn(outputs, y).backward(), clip the gradient norm to `clip` and/or every
    element to ±`clip_value`, optimizer.step(). Without an optimizer the gradients are only
    accumulated (nothing is zeroed or updated). check_finite: raise TrainingDiverged, before the
    update, if the loss or the gradient norm is NaN or infinite.
    """
    if optimizer is not None:
        optimizer.zero_grad()
    x = x if isinstance(x, Tensor) else Tensor(x)
    outputs, new_state = model(x, detach_state(state))
    loss = loss_fn(outputs, y)
    value = float(loss.item())
    if check_finite and not np.isfinite(value):
        raise TrainingDiverged(f"the loss became {value}")
    loss.backward()
    params = list(model.parameters())
    norm = None if clip is None else float(clip_grad_norm_(params, clip))
    if check_finite and norm is not None and not np.isfinite(norm):
        finite = all(np.all(np.isfinite(p.grad)) for p in params if p.grad is not None)
        raise TrainingDiverged("the gradient norm overflowed (every gradient is finite but "
                               "huge)" if finite else f"the gradient norm became {norm}")
    if clip_value is not None:
        clip_grad_value_(params, clip_value)
    if optimizer is not None:
        optimizer.step()
    return StepResult(value, norm, detach_state(new_state))


def tbptt(model: Module, inputs: Any, targets: Any, loss_fn: Callable[[Tensor, Any], Tensor],
          optimizer: Any, chunk_len: int, clip: float | None = None, state: Any = None,
          step: bool = True) -> TBPTTResult:
    """Train `model` on one sequence with truncated BPTT; returns losses and the final state.

    inputs (T, B, I) and targets (T, B, ...) are time-major; `model(x_chunk, state)` must return
    (outputs, new_state), as RNN/ElmanRNN/GRU (a tensor state) and LSTM (an (h, c) tuple) do.
    For each chunk: optimizer.zero_grad(), loss_fn(outputs, target_chunk).backward(), clip the
    gradient norm to `clip` if given, optimizer.step(). With step=False the optimizer is not
    used (it may be None): gradients are zeroed once at the start and accumulate over all
    chunks, so with chunk_len >= T they are exactly the full-BPTT gradients.
    """
    x, y = _check(model, inputs, targets, chunk_len)
    if step and optimizer is None:
        raise ValueError("tbptt: an optimizer is needed unless step=False")
    result = TBPTTResult()
    if not step:
        model.zero_grad()
    for start in range(0, x.shape[0], chunk_len):
        stop = start + chunk_len
        done = tbptt_step(model, x[start:stop], y[start:stop], loss_fn,
                          optimizer if step else None, state, clip)
        result.losses.append(done.loss)
        if done.grad_norm is not None:
            result.grad_norms.append(done.grad_norm)
        state = done.state
    result.state = state
    return result


def full_bptt_gradients(model: Module, inputs: Any, targets: Any,
                        loss_fn: Callable[[Tensor, Any], Tensor],
                        state: Any = None) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and {name: gradient} of the whole sequence by plain backprop (no truncation)."""
    _check(model, inputs, targets, 1)
    model.zero_grad()
    loss = tbptt_step(model, inputs, targets, loss_fn, state=state).loss
    grads = {name: (p.grad.copy() if p.grad is not None else np.zeros_like(p.data))
             for name, p in model.named_parameters()}
    return loss, grads
