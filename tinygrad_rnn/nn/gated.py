"""Gated recurrent units, built like `nn.RNN`: one input projection for all steps, one (B, gH)
matmul per step, gates split with a reshape and one multi-output `unbind`. No backward anywhere.

Gate order (the row blocks of U (gH, I), W (gH, H) and b (gH,), as in PyTorch):
  LSTM  [i | f | g | o]   i = σ(·ᵢ), f = σ(·_f), g = tanh(·_g), o = σ(·ₒ)
                          c_t = f ⊙ c_{t−1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)
  GRU   [r | z | n]       r = σ(x U_rᵀ + h W_rᵀ + b_r),  z = σ(x U_zᵀ + h W_zᵀ + b_z)
                          n = tanh(x U_nᵀ + b_n + r ⊙ (h W_nᵀ + b_hn)),  h_t = (1 − z) ⊙ n + z ⊙ h
(· = x_t Uᵀ + h_{t−1} Wᵀ + b restricted to the gate's block.) b is PyTorch's b_ih + b_hh, except
the GRU's n block, which is b_in alone: its b_hn sits inside r ⊙ (…), a parameter of its own, so
the GRU equals torch.nn.GRU with copied weights (docs/nn.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..autograd import scope
from ..tensor import Tensor, cat, stack
from . import init as _init
from .checks import check_sequence, check_size, check_state, check_step_input
from .module import Module, Parameter
from .rnn import RecurrentLayer, make_rnn_params, project_inputs, step_scopes
from .stacked import (
    configure,
    describe,
    final_state,
    initial_states,
    layer_output,
    make_direction_params,
    run_layers,
    step_order,
    time_major_input,
)

State = tuple[Tensor, Tensor]


def _lstm_step(gx: Tensor, state: State | None, WT: Tensor, H: int) -> State:
    """gx = x_t Uᵀ + b (B, 4H), state (h, c) or None (zeros) → (h_t, c_t)."""
    gates = gx if state is None else ops.Addmm.apply(gx, state[0], WT)  # gx + h Wᵀ
    i, f, g, o = gates.reshape(gates.shape[0], 4, H).unbind(1)
    i, g, o = i.sigmoid(), g.tanh(), o.sigmoid()
    c = i * g if state is None else f.sigmoid() * state[1] + i * g  # c_0 = 0 drops f ⊙ c
    return o * c.tanh(), c


def _gru_step(xr: Tensor, xz: Tensor, xn: Tensor, h: Tensor | None, WT: Tensor,
              hidden_bias: tuple[Tensor, Tensor] | None, H: int) -> Tensor:
    """x_t's three projected gate blocks (B, H) each, h (B, H) or None (zeros) → h_t.

    hidden_bias: (b_hn (H,), [0 | 0 | b_hn] (3H,)) or None (no bias).
    """
    if h is None:  # h_0 = 0: h Wᵀ = 0, so r only scales b_hn
        z = xz.sigmoid()
        n = xn.tanh() if hidden_bias is None else (xn + xr.sigmoid() * hidden_bias[0]).tanh()
        return n - z * n
    hW = h @ WT if hidden_bias is None else ops.Addmm.apply(hidden_bias[1], h, WT)
    hr, hz, hn = hW.reshape(h.shape[0], 3, H).unbind(1)
    r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    return n + z * (h - n)


def _hidden_bias(b_hn: Tensor | None) -> tuple[Tensor, Tensor] | None:
    """(b_hn, [0 | 0 | b_hn]): the second is added to h Wᵀ by the step's one addmm."""
    if b_hn is None:
        return None
    zeros = Tensor(np.zeros(2 * b_hn.shape[0], dtype=b_hn.dtype))
    return b_hn, cat([zeros, b_hn])


def _init_gated(module: Any, input_size: int, hidden_size: int, gates: int, bias: bool,
                seed: Any, dtype: Any, layer: str) -> np.random.Generator:
    module.input_size = check_size(input_size, "input_size", layer)
    module.hidden_size = check_size(hidden_size, "hidden_size", layer)
    rng = make_rnn_params(module, gates, bias, dtype, seed, layer)
    if gates == 3:  # the GRU's b_hn (H,), drawn after U, W, b as PyTorch's other biases
        H = module.hidden_size
        module.b_hn = (Parameter(_init.default_(np.empty(H), H, rng), dtype=module.W.dtype)
                       if bias else None)
    if module._stacked:
        make_direction_params(module, gates, bias, gates == 3, module.W.dtype, rng)
    module._dropout_rng = rng
    return rng


def _check_lstm_state(state: Any, batch: int, module: RecurrentLayer, layer: str) -> State | None:
    if state is None:
        return None
    if not isinstance(state, (tuple, list)) or len(state) != 2:
        raise TypeError(f"{layer}: state must be a tuple (h, c) of two (B, H) tensors or None, "
                        f"got {type(state).__name__}")
    dtype, H = module.W.dtype, module.hidden_size
    return (check_state(state[0], batch, H, dtype, layer, "h0"),
            check_state(state[1], batch, H, dtype, layer, "c0"))


def _lstm_states(module: RecurrentLayer, state: Any, batch: int) -> list[State | None]:
    """(h0, c0), each (D·num_layers, B, H), split per direction; None → Nones."""
    if state is None:
        return [None] * (module.num_layers * (2 if module.bidirectional else 1))
    if not isinstance(state, (tuple, list)) or len(state) != 2:
        raise TypeError(f"LSTM: state must be a tuple (h0, c0) of two (num_layers * "
                        f"num_directions, B, H) tensors or None, got {type(state).__name__}")
    hs = initial_states(module, state[0], batch, "LSTM", "h0")
    cs = initial_states(module, state[1], batch, "LSTM", "c0")
    return [(h, c) for h, c in zip(hs, cs)]  # type: ignore[misc]


class LSTMCell(RecurrentLayer):
    """One LSTM step (gate order i, f, g, o). Parameters U (4H, I), W (4H, H), b (4H,).

    x_t (B, I), state (h, c) each (B, H) or None (zeros) → (h_t, c_t).
    """

    _gates = 4

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, seed: Any = None,
                 dtype: Any = np.float64) -> None:
        super().__init__()
        _init_gated(self, input_size, hidden_size, 4, bias, seed, dtype, "LSTMCell")

    def forward(self, x_t: Any, state: Any = None) -> State:
        x_t = check_step_input(x_t, self.input_size, self.W.dtype, "LSTMCell")
        state = _check_lstm_state(state, x_t.shape[0], self, "LSTMCell")
        gx = x_t @ self.U.T
        gx = gx + self.b if self.b is not None else gx
        return _lstm_step(gx, state, self.W.T, self.hidden_size)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"


class LSTM(RecurrentLayer):
    """An LSTM unrolled over time (gate order i, f, g, o). Parameters U (4H, I), W (4H, H),
    b (4H,), and the same per extra layer and direction (U_l1, W_reverse, …; see stacked.py).

    x (T, B, I), state (h0, c0) each (B, H) or None → hs (T, B, H), (h_T, c_T) each (B, H).
    With num_layers > 1 or bidirectional, as PyTorch: h0, c0, h_n and c_n are
    (D·num_layers, B, H) and the output (T, B, D·H); batch_first=True makes x and the output
    (B, T, ·). `dropout` acts between layers in training mode only.
    """

    _gates = 4

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, seed: Any = None, dtype: Any = np.float64
                 ) -> None:
        super().__init__()
        configure(self, num_layers, batch_first, bidirectional, dropout, "LSTM")
        _init_gated(self, input_size, hidden_size, 4, bias, seed, dtype, "LSTM")

    def _run(self, x: Any, state: Any) -> tuple[list[Tensor], State]:
        x = check_sequence(x, self.input_size, self.W.dtype, "LSTM")
        state = _check_lstm_state(state, x.shape[1], self, "LSTM")
        WT, H, hs = self.W.T, self.hidden_size, []
        with step_scopes() as at_step:  # (the T slices too, made with the collector paused)
            steps = project_inputs(x, self.U, self.b).unbind(0)
            for t, gx in enumerate(steps):
                at_step(t)
                state = _lstm_step(gx, state, WT, H)
                hs.append(state[0])
        return hs, state

    def _run_stacked(self, x: Any, state: Any) -> tuple[Tensor, State]:
        x = time_major_input(self, x, "LSTM")
        out, finals = run_layers(self, x, _lstm_states(self, state, x.shape[1]),
                                 _lstm_direction)
        return out, (final_state([h for h, _ in finals]), final_state([c for _, c in finals]))

    def unroll(self, x: Any, state: Any = None) -> list[Tensor]:
        """The T outputs h_1 … h_T, each (B, D·H), connected through the graph (for a stacked
        layer: the top layer's, both directions concatenated)."""
        if self._stacked:
            return list(self._run_stacked(x, state)[0].unbind(0))
        return self._run(x, state)[0]

    def forward(self, x: Any, state: Any = None) -> tuple[Tensor, State]:
        if self._stacked:
            out, final = self._run_stacked(x, state)
            return layer_output(self, out), final
        hs, final = self._run(x, state)
        return stack(hs), final

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + describe(self)


def _lstm_direction(module: LSTM, sfx: str, x: Tensor, state: State | None, reverse: bool
                    ) -> tuple[list[Tensor], State]:
    """One direction of one layer of a stacked LSTM, states in time order."""
    U, W, b = getattr(module, "U" + sfx), getattr(module, "W" + sfx), getattr(module, "b" + sfx)
    WT, H = W.T, module.hidden_size
    with step_scopes() as at_step:
        steps = project_inputs(x, U, b).unbind(0)
        hs: list[Any] = [None] * len(steps)
        for t in step_order(len(steps), reverse):
            at_step(t)
            state = _lstm_step(steps[t], state, WT, H)
            hs[t] = state[0]
    assert state is not None
    return hs, state


class GRUCell(RecurrentLayer):
    """One GRU step (gate order r, z, n). Parameters U (3H, I), W (3H, H), b (3H,), b_hn (H,).

    x_t (B, I), h (B, H) or None (zeros) → h_t (B, H).
    """

    _gates = 3
    b_hn: Parameter | None

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, seed: Any = None,
                 dtype: Any = np.float64) -> None:
        super().__init__()
        _init_gated(self, input_size, hidden_size, 3, bias, seed, dtype, "GRUCell")

    def forward(self, x_t: Any, h: Any = None) -> Tensor:
        x_t = check_step_input(x_t, self.input_size, self.W.dtype, "GRUCell")
        B, H = x_t.shape[0], self.hidden_size
        h = None if h is None else check_state(h, B, H, self.W.dtype, "GRUCell", "h")
        gx = x_t @ self.U.T
        gx = gx + self.b if self.b is not None else gx
        xr, xz, xn = gx.reshape(B, 3, H).unbind(1)
        return _gru_step(xr, xz, xn, h, self.W.T, _hidden_bias(self.b_hn), H)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"


class GRU(RecurrentLayer):
    """A GRU unrolled over time (gate order r, z, n). Parameters U (3H, I), W (3H, H),
    b (3H,), b_hn (H,), and the same per extra layer and direction (U_l1, b_hn_reverse, …).

    x (T, B, I), h0 (B, H) or None → hs (T, B, H), h_T (B, H). With num_layers > 1 or
    bidirectional, as PyTorch: h0 and h_n are (D·num_layers, B, H) and the output
    (T, B, D·H); batch_first=True makes x and the output (B, T, ·). `dropout` acts between
    layers in training mode only.
    """

    _gates = 3
    b_hn: Parameter | None

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, seed: Any = None, dtype: Any = np.float64
                 ) -> None:
        super().__init__()
        configure(self, num_layers, batch_first, bidirectional, dropout, "GRU")
        _init_gated(self, input_size, hidden_size, 3, bias, seed, dtype, "GRU")

    def unroll(self, x: Any, h0: Any = None) -> list[Tensor]:
        """The T outputs h_1 … h_T, each (B, D·H), connected through the graph (for a stacked
        layer: the top layer's, both directions concatenated)."""
        if self._stacked:
            return list(self._run_stacked(x, h0)[0].unbind(0))
        x = check_sequence(x, self.input_size, self.W.dtype, "GRU")
        h = None if h0 is None else check_state(h0, x.shape[1], self.hidden_size, self.W.dtype,
                                                "GRU")
        return _gru_direction(self, "", x, h, False)[0]

    def forward(self, x: Any, h0: Any = None) -> tuple[Tensor, Tensor]:
        if self._stacked:
            out, h_n = self._run_stacked(x, h0)
            return layer_output(self, out), h_n
        hs = self.unroll(x, h0)
        return stack(hs), hs[-1]

    def _run_stacked(self, x: Any, h0: Any) -> tuple[Tensor, Tensor]:
        x = time_major_input(self, x, "GRU")
        states = initial_states(self, h0, x.shape[1], "GRU")
        out, finals = run_layers(self, x, states, _gru_direction)
        return out, final_state(finals)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + describe(self)


def _gru_direction(module: GRU, sfx: str, x: Tensor, h: Tensor | None, reverse: bool
                   ) -> tuple[list[Tensor], Tensor]:
    """One direction of one GRU layer, states in time order (the default layer's loop too)."""
    U, W, b = getattr(module, "U" + sfx), getattr(module, "W" + sfx), getattr(module, "b" + sfx)
    (T, B, _), H = x.shape, module.hidden_size
    xp = project_inputs(x, U, b)
    WT = W.T
    hs: list[Any] = [None] * T
    with step_scopes() as at_step:
        with scope("input"):  # (T, B, 3H) → 3T slices (B, H): r, z, n for each step
            blocks = xp.reshape(T, B, 3, H).permute(0, 2, 1, 3).reshape(3 * T, B, H).unbind(0)
            hidden_bias = _hidden_bias(getattr(module, "b_hn" + sfx))
        for t in step_order(T, reverse):
            at_step(t)
            h = _gru_step(blocks[3 * t], blocks[3 * t + 1], blocks[3 * t + 2], h, WT,
                          hidden_bias, H)
            hs[t] = h
    assert h is not None
    return hs, h


class GatedModel(Module):
    """An LSTM or GRU core with the notes' read-out: y_t = V h_t + c.

    Parameters: V (O, H), c (O,), core.U (gH, I), core.W (gH, H), core.b (gH,) and, for the
    GRU, core.b_hn (H,).
    x (T, B, I) → ys (T, B, O) and the final state ((h, c) for the LSTM, h for the GRU).
    """

    def __init__(self, kind: str, input_size: int, hidden_size: int, output_size: int,
                 seed: int | None = None) -> None:
        super().__init__()
        if kind not in ("lstm", "gru"):
            raise ValueError(f"GatedModel: kind must be 'lstm' or 'gru', got {kind!r}")
        rng = np.random.default_rng(seed)
        self.core = (LSTM if kind == "lstm" else GRU)(input_size, hidden_size, seed=rng)
        self.kind, self.output_size = kind, check_size(output_size, "output_size", "GatedModel")
        bound = 1.0 / np.sqrt(hidden_size)
        self.V = Parameter(rng.uniform(-bound, bound, (output_size, hidden_size)))
        self.c = Parameter(rng.uniform(-bound, bound, (output_size,)))

    def unroll(self, x: Any, state: Any = None) -> list[Tensor]:
        return self.core.unroll(x, state)

    def readout(self, hs: list[Tensor]) -> Tensor:
        """ys = stack(hs) Vᵀ + c, one matmul for all steps (scope "output")."""
        T, (B, H) = len(hs), hs[0].shape
        with scope("output"):
            z = stack(hs).reshape(T * B, H) @ self.V.T + self.c
            return z.reshape(T, B, self.output_size)

    def forward(self, x: Any, state: Any = None) -> tuple[Tensor, Any]:
        hs, final = self.core(x, state)
        T, B, H = hs.shape
        with scope("output"):
            z = hs.reshape(T * B, H) @ self.V.T + self.c
        return z.reshape(T, B, self.output_size), final
