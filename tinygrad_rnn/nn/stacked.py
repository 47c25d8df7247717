"""Stacked, bidirectional and batch-first recurrent layers: PyTorch's `num_layers`,
`bidirectional`, `batch_first` and `dropout`, shared by nn.RNN, nn.LSTM and nn.GRU.

A layer built with the defaults (one layer, one direction, time-major) never comes here: its
forward is the hot path in rnn.py/gated.py. Otherwise each (layer k, direction d) has its own
parameters, named like the first ones with PyTorch's suffix (U_l1, W_reverse, b_l2_reverse;
layer 0 has no layer suffix), and this driver runs them in PyTorch's order:

  x (T, B, I) → layer 0: forward over t = 0…T−1, reverse over t = T−1…0 → cat → (T, B, D·H)
             → dropout (training only) → layer 1 … → output (T, B, D·H)
  h_n = stack of the final states in the order l0, l0_reverse, l1, … → (D·num_layers, B, H)

The recurrence of one direction is the layer's own `runner` (module, suffix, x, state,
reverse) → (states h_1 … h_T in time order, final state). No backward anywhere.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..autograd import scope
from ..tensor import Tensor, cat, stack
from . import init as _init
from .checks import as_input, check_sequence, check_size, check_state
from .layers import check_probability, dropout
from .module import Module, Parameter

Runner = Callable[[Any, str, Tensor, Any, bool], tuple[list[Tensor], Any]]


def suffix(layer: int, direction: int) -> str:
    """Our parameter suffix of (layer, direction): "", "_reverse", "_l1", "_l1_reverse", …"""
    return ("" if layer == 0 else f"_l{layer}") + ("_reverse" if direction else "")


def directions(module: Any) -> list[tuple[int, int, str]]:
    """(layer, direction, suffix) of every direction of every layer, in PyTorch's order."""
    D = 2 if module.bidirectional else 1
    return [(k, d, suffix(k, d)) for k in range(module.num_layers) for d in range(D)]


def _check_flag(value: Any, name: str, layer: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{layer}: {name} must be a bool, got {value!r}")
    return bool(value)


def configure(module: Any, num_layers: Any, batch_first: Any, bidirectional: Any,
              dropout_p: Any, layer: str) -> None:
    """Check and set num_layers, batch_first, bidirectional and dropout (in [0, 1))."""
    module.num_layers = check_size(num_layers, "num_layers", layer)
    module.batch_first = _check_flag(batch_first, "batch_first", layer)
    module.bidirectional = _check_flag(bidirectional, "bidirectional", layer)
    module.dropout = check_probability(dropout_p, "dropout", layer, closed=False)
    if module.dropout > 0 and module.num_layers == 1:
        warnings.warn(f"{layer}: dropout={module.dropout} acts between stacked layers only; "
                      f"with num_layers=1 it does nothing", UserWarning, stacklevel=3)
    module._stacked = module.num_layers > 1 or module.bidirectional or module.batch_first


def make_direction_params(module: Any, gates: int, bias: bool, hidden_bias: bool,
                          dtype: np.dtype, rng: np.random.Generator) -> None:
    """U, W, b (and b_hn) with each suffix but the first "" (which the layer made itself),
    drawn from U(−1/√H, 1/√H). Layer k > 0 reads the (D·H) outputs of the layer below."""
    H, D = module.hidden_size, 2 if module.bidirectional else 1
    for k, _, sfx in directions(module)[1:]:
        inputs = module.input_size if k == 0 else D * H
        shapes: dict[str, tuple[int, ...]] = {"U": (gates * H, inputs), "W": (gates * H, H)}
        if bias:
            shapes["b"] = (gates * H,)
            if hidden_bias:
                shapes["b_hn"] = (H,)
        for name in ("U", "W", "b", "b_hn"):
            if name in shapes:
                param = _init.default_(np.empty(shapes[name]), H, rng)
                setattr(module, name + sfx, Parameter(param, dtype=dtype))
            elif name == "b" or hidden_bias:
                setattr(module, name + sfx, None)


# ------------------------------------------------------------------------------ inputs
def time_major_input(module: Any, x: Any, layer: str) -> Tensor:
    """x (T, B, I), or (B, T, I) with batch_first, checked and returned as (T, B, I)."""
    dtype = module.W.dtype
    if not module.batch_first:
        return check_sequence(x, module.input_size, dtype, layer)
    x = as_input(x, dtype, layer, "input x")
    if x.ndim != 3 or x.shape[2] != module.input_size or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"{layer}: expected input x of shape (B, T, {module.input_size}) "
                         f"(batch_first=True, B >= 1, T >= 1), got shape {x.shape}")
    return x.transpose(0, 1)


def initial_states(module: Any, h0: Any, batch: int, layer: str, what: str = "h0"
                   ) -> list[Tensor | None]:
    """h0 split per direction: (D·num_layers, B, H) → D·num_layers tensors (B, H); None →
    Nones (zeros). With one layer and one direction h0 is (B, H), as the default layer's."""
    count, H, dtype = len(directions(module)), module.hidden_size, module.W.dtype
    if h0 is None:
        return [None] * count
    if count == 1:
        return [check_state(h0, batch, H, dtype, layer, what)]
    h0 = as_input(h0, dtype, layer, what)
    if h0.shape != (count, batch, H):
        raise ValueError(f"{layer}: expected {what} of shape (num_layers * num_directions, B, "
                         f"H) = ({count}, {batch}, {H}), got shape {h0.shape}")
    return list(h0.unbind(0))


def final_state(finals: list[Tensor]) -> Tensor:
    """The final states as h_n: (D·num_layers, B, H), or (B, H) for a single direction."""
    return finals[0] if len(finals) == 1 else stack(finals)


# ----------------------------------------------------------------------------- driver
@contextlib.contextmanager
def _scoped(name: str, named: bool) -> Iterator[None]:
    if not named:
        yield
        return
    with scope(name):
        yield


def run_layers(module: Any, x: Tensor, states: list[Any], runner: Runner
               ) -> tuple[Tensor, list[Any]]:
    """x (T, B, I) time-major → the top layer's outputs (T, B, D·H) and every direction's
    final state in PyTorch's order. Each direction runs in scope "l{k}" / "l{k}_reverse"
    (when there is more than one); dropout acts between layers in training mode only."""
    named = len(states) > 1
    finals: list[Any] = []
    outputs: list[Tensor] = []
    for k, d, sfx in directions(module):
        if d == 0 and k > 0:
            x = _next_input(module, outputs)
            outputs = []
        with _scoped(f"l{k}" + ("_reverse" if d else ""), named):
            hs, final = runner(module, sfx, x, states[len(finals)], d == 1)
        outputs.append(stack(hs))
        finals.append(final)
    return (outputs[0] if len(outputs) == 1 else cat(outputs, axis=2)), finals


def _next_input(module: Any, outputs: list[Tensor]) -> Tensor:
    x = outputs[0] if len(outputs) == 1 else cat(outputs, axis=2)
    if module.training and module.dropout > 0:
        x = dropout(x, module.dropout, module._dropout_rng)
    return x


def step_order(T: int, reverse: bool) -> range:
    return range(T - 1, -1, -1) if reverse else range(T)


def layer_output(module: Any, out: Tensor) -> Tensor:
    """(T, B, D·H) as the caller sees it: (B, T, D·H) with batch_first."""
    return out.transpose(0, 1) if module.batch_first else out


def describe(module: Module) -> str:
    """The non-default options for extra_repr: ", num_layers=2, bidirectional=True", …"""
    parts = []
    for name, default in (("num_layers", 1), ("batch_first", False), ("dropout", 0.0),
                          ("bidirectional", False)):
        value = getattr(module, name)
        if value != default:
            parts.append(f"{name}={value}")
    return "".join(", " + p for p in parts)
