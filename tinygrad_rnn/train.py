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
from .nn.utils import clip_grad_norm_
from .tensor import Tensor

__all__ = ["TBPTTResult", "tbptt", "detach_state", "full_bptt_gradients"]


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
    params = list(model.parameters())
    if not step:
        model.zero_grad()
    for start in range(0, x.shape[0], chunk_len):
        stop = start + chunk_len
        if step:
            optimizer.zero_grad()
        outputs, state = model(x[start:stop], detach_state(state))
        loss = loss_fn(outputs, y[start:stop])
        loss.backward()
        result.losses.append(float(loss.item()))
        if clip is not None:
            result.grad_norms.append(clip_grad_norm_(params, clip))
        if step:
            optimizer.step()
    result.state = detach_state(state)
    return result


def full_bptt_gradients(model: Module, inputs: Any, targets: Any,
                        loss_fn: Callable[[Tensor, Any], Tensor],
                        state: Any = None) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and {name: gradient} of the whole sequence by plain backprop (no truncation)."""
    _check(model, inputs, targets, 1)
    model.zero_grad()
    outputs, _ = model(inputs, state)
    loss = loss_fn(outputs, targets)
    loss.backward()
    grads = {name: (p.grad.copy() if p.grad is not None else np.zeros_like(p.data))
             for name, p in model.named_parameters()}
    return float(loss.item()), grads
