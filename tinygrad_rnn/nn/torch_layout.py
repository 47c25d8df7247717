"""PyTorch's parameter names for our recurrent layers, both ways (numpy arrays; torch is never
imported). The layouts, gate orders included, are the same, except the biases:

  ours                 PyTorch (suffix t = _l{k}[_reverse]; none for the cells)
  U{s}   (gH, I_k)     weight_ih{t}
  W{s}   (gH, H)       weight_hh{t}
  b{s}   (gH,)         bias_ih{t} + bias_hh{t}                 (RNN, LSTM: one bias suffices)
                       bias_ih{t} + [bias_hh{t}[:2H] | 0]      (GRU: b_hn cannot be folded in)
  b_hn{s} (H,)         bias_hh{t}[2H:]                         (GRU only)

with our suffix s = "" / "_reverse" for layer 0 and "_l{k}" / "_l{k}_reverse" above it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .module import StateDictError
from .stacked import directions


def _pairs(module: Any) -> list[tuple[str, str]]:
    """(our suffix, PyTorch's suffix) of every direction; a cell has the single ("", "")."""
    if not hasattr(module, "unroll"):
        return [("", "")]
    return [(sfx, f"_l{k}" + ("_reverse" if d else "")) for k, d, sfx in directions(module)]


def _array(state: Mapping[str, Any], key: str) -> np.ndarray:
    value = state[key]
    return np.asarray(getattr(value, "data", value), dtype=np.float64)


def from_torch(module: Any, state: Mapping[str, Any], strict: bool = True) -> None:
    """Load a PyTorch RNN/LSTM/GRU (or cell) state dict, arrays keyed by PyTorch's names.

    Every expected key must be present; with strict=True no other key may be. Shapes are
    checked by `load_state_dict`. Parameters that are not PyTorch's (ElmanRNN's V, c) stay.
    """
    layer, gru, H = type(module).__name__, module._gates == 3, module.hidden_size
    has_bias = module.b is not None
    ours: dict[str, np.ndarray] = {}
    expected = []
    for s, t in _pairs(module):
        names = [f"weight_ih{t}", f"weight_hh{t}"] + ([f"bias_ih{t}", f"bias_hh{t}"]
                                                      if has_bias else [])
        expected += names
        missing = [n for n in names if n not in state]
        if missing:
            raise StateDictError(f"{layer}.load_torch_state_dict: missing key(s) {missing}")
        ours["U" + s], ours["W" + s] = _array(state, names[0]), _array(state, names[1])
        if has_bias:
            b_ih, b_hh = _array(state, names[2]), _array(state, names[3])
            if gru and b_hh.shape == (3 * H,):
                ours["b_hn" + s] = b_hh[2 * H:]
                b_hh = np.concatenate([b_hh[:2 * H], np.zeros(H)])
            ours["b" + s] = b_ih + b_hh if b_ih.shape == b_hh.shape else b_ih
    unexpected = sorted(set(state) - set(expected))
    if strict and unexpected:
        raise StateDictError(f"{layer}.load_torch_state_dict: unexpected key(s) {unexpected}")
    module.load_state_dict(ours, strict=False)


def to_torch(module: Any) -> dict[str, np.ndarray]:
    """Copies of the parameters under PyTorch's names: bias_ih = b and bias_hh = 0 (for the
    GRU, bias_hh = [0 | 0 | b_hn]), which gives PyTorch the same function."""
    out: dict[str, np.ndarray] = {}
    for s, t in _pairs(module):
        out[f"weight_ih{t}"] = getattr(module, "U" + s).data.copy()
        out[f"weight_hh{t}"] = getattr(module, "W" + s).data.copy()
        b = getattr(module, "b" + s)
        if b is None:
            continue
        out[f"bias_ih{t}"] = b.data.copy()
        b_hh = np.zeros_like(b.data)
        if module._gates == 3:
            b_hh[2 * module.hidden_size:] = getattr(module, "b_hn" + s).data
        out[f"bias_hh{t}"] = b_hh
    return out
