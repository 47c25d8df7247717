"""The checks every layer of nn shares, in one place: sizes, nonlinearities, and the shapes and
dtypes of inputs and states. Each raises a ValueError/TypeError that names the layer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import ops
from ..tensor import Tensor

NONLINEARITIES: dict[str, Callable[[Tensor], Tensor]] = {
    "tanh": ops.Tanh.apply, "sigmoid": ops.Sigmoid.apply, "relu": ops.ReLU.apply,
}
OUTPUTS = ("identity", "softmax")  # φ of ElmanRNN


# ------------------------------------------------------------------------------- validation
def check_size(value: Any, name: str, layer: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")
    return int(value)


def check_nonlinearity(name: Any, layer: str) -> Callable[[Tensor], Tensor]:
    if name not in NONLINEARITIES:
        raise ValueError(f"{layer}: unknown nonlinearity {name!r}; expected one of "
                         f"{sorted(NONLINEARITIES)}")
    return NONLINEARITIES[name]


def as_input(x: Any, dtype: np.dtype, layer: str, what: str) -> Tensor:
    """Arrays/lists become tensors of the layer's dtype; a tensor must already have it."""
    if not isinstance(x, Tensor):
        try:
            return Tensor(x, dtype=dtype)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{layer}: {what} must be a Tensor or an array of numbers ({e})"
                            ) from None
    if x.dtype != dtype:
        raise TypeError(f"{layer}: {what} has dtype {x.dtype} but the layer's parameters are "
                        f"{dtype}; convert one of them (module.to(...) or Tensor(..., dtype=))")
    return x


def check_sequence(x: Any, input_size: int, dtype: np.dtype, layer: str) -> Tensor:
    """x must be time-major (T, B, input_size) with T, B >= 1."""
    x = as_input(x, dtype, layer, "input x")
    if x.ndim != 3 or x.shape[2] != input_size or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"{layer}: expected input x of shape (T, B, {input_size}) (time-major, "
                         f"T >= 1, B >= 1), got shape {x.shape}")
    return x


def check_step_input(x: Any, input_size: int, dtype: np.dtype, layer: str) -> Tensor:
    """x_t must be (B, input_size)."""
    x = as_input(x, dtype, layer, "input x_t")
    if x.ndim != 2 or x.shape[1] != input_size or x.shape[0] < 1:
        raise ValueError(f"{layer}: expected input x_t of shape (B, {input_size}), got shape "
                         f"{x.shape}")
    return x


def check_state(h: Any, batch: int, hidden_size: int, dtype: np.dtype, layer: str,
                what: str = "h0") -> Tensor:
    """A given state must be (B, H); None means zeros."""
    if h is None:
        return Tensor(np.zeros((batch, hidden_size), dtype=dtype))
    h = as_input(h, dtype, layer, what)
    if h.shape != (batch, hidden_size):
        raise ValueError(f"{layer}: expected {what} of shape (B, H) = ({batch}, {hidden_size}), "
                         f"got shape {h.shape}")
    return h
