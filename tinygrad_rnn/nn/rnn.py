"""The seed's recurrent unit h_t = σ(U x_t + W h_{t−1} + b), its unrolled layer, and the notes'
full model y_t = φ(V h_t + c). No backward anywhere: BPTT is the engine's generic backward pass
over the unrolled graph.

Hot-path layout (a loop over primitives, with everything that does not depend on h hoisted):
  x (T, B, I) ─reshape→ addmm(b, ·, Uᵀ) (T·B, H) ─reshape→ (T, B, H) ─unbind→ T slices  "input"
  for t:  h = σ(addmm(xp_t, h, Wᵀ))     2 nodes per step, Wᵀ built once        step t ("t={t}")
  ElmanRNN: stack(h) ─reshape→ addmm(c, ·, Vᵀ) (T·B, O) ─φ→ (T, B, O)           scope "output"
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from .. import ops
from ..autograd import gc_paused, scope, time_steps
from ..functional import linear, softmax
from ..tensor import Tensor, stack
from . import init as _init
from .checks import (
    OUTPUTS,
    check_nonlinearity,
    check_sequence,
    check_size,
    check_state,
    check_step_input,
)
from .module import Module, Parameter, float_dtype
from .stacked import (
    configure,
    describe,
    directions,
    final_state,
    initial_states,
    layer_output,
    make_direction_params,
    run_layers,
    step_order,
    time_major_input,
)
from .torch_layout import from_torch, to_torch


def project_inputs(x: Tensor, U: Tensor, b: Tensor | None) -> Tensor:
    """All steps at once: x (T, B, I) → x Uᵀ + b of shape (T, B, G), one matmul (scope "input")."""
    with scope("input"):
        return linear(x, U, b)


@contextlib.contextmanager
def step_scopes() -> Iterator[Callable[[int], None]]:
    """`with step_scopes() as at_step:` … `at_step(t)` marks the nodes that follow as time step
    t (`node.step == t`, scope "t={t}" nested under any enclosing scope), through the engine's
    `autograd.time_steps`. The cycle collector is paused meanwhile (the loop makes no cycles;
    see autograd.gc_paused)."""
    with time_steps() as at_step, gc_paused():
        yield at_step


# ---------------------------------------------------------------------------------- layers
class RecurrentLayer(Module):
    """What every recurrent layer has: its sizes and U (gH, I), W (gH, H), b (gH,) or None,
    set by `make_rnn_params` (g gates per unit: 1 here, 4 for the LSTM, 3 for the GRU).

    The stacking options default to one time-major, unidirectional layer; `_stacked` is True
    when any differs, and sends forward through stacked.py instead of the hot path.
    """

    input_size: int
    hidden_size: int
    U: Parameter
    W: Parameter
    b: Parameter | None
    num_layers: int = 1
    batch_first: bool = False
    bidirectional: bool = False
    dropout: float = 0.0
    _stacked: bool = False
    _dropout_rng: np.random.Generator
    _gates: int = 1  # row blocks of U, W and b: 1 here, 4 for the LSTM, 3 for the GRU

    def load_torch_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> None:
        """Copy in a PyTorch state dict of the same layer (numpy arrays or anything with
        `.data`/`__array__`, keyed weight_ih_l0, bias_hh_l1_reverse, …; see torch_layout.py)."""
        from_torch(self, state, strict)

    def torch_state_dict(self) -> dict[str, np.ndarray]:
        """The parameters as numpy arrays under PyTorch's names (bias_hh = 0, GRU: b_hn)."""
        return to_torch(self)


class RNNCell(RecurrentLayer):
    """One step of the seed's recurrent unit: h_t = σ(x_t Uᵀ + h Wᵀ + b).

    Parameters: U (H, I), W (H, H), b (H,).  x_t (B, I), h (B, H) or None (zeros) → h_t (B, H).
    """

    nonlinearity: str
    _act: Callable[[Tensor], Tensor]

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh",
                 bias: bool = True, seed: Any = None, dtype: Any = np.float64) -> None:
        super().__init__()
        self.input_size = check_size(input_size, "input_size", "RNNCell")
        self.hidden_size = check_size(hidden_size, "hidden_size", "RNNCell")
        self._act = check_nonlinearity(nonlinearity, "RNNCell")
        self.nonlinearity = nonlinearity
        make_rnn_params(self, 1, bias, dtype, seed, "RNNCell")

    def forward(self, x_t: Any, h: Any = None) -> Tensor:
        dtype = self.W.dtype
        x_t = check_step_input(x_t, self.input_size, dtype, "RNNCell")
        z = x_t @ self.U.T
        if h is not None:  # h = None means zeros, which add nothing
            h = check_state(h, x_t.shape[0], self.hidden_size, dtype, "RNNCell", "h")
            z = z + h @ self.W.T
        return self._act(z + self.b if self.b is not None else z)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, nonlinearity={self.nonlinearity!r}"


def make_rnn_params(module: RecurrentLayer, gates: int, bias: bool, dtype: Any, seed: Any,
                     layer: str) -> np.random.Generator:
    """U (gH, I), W (gH, H), b (gH,) drawn from U(−1/√H, 1/√H), the PyTorch default."""
    H, I = module.hidden_size, module.input_size
    dtype = float_dtype(dtype, layer)
    rng = _init.get_rng(seed)
    for name, shape in (("U", (gates * H, I)), ("W", (gates * H, H)), ("b", (gates * H,))):
        if name == "b" and not bias:
            module.b = None
            continue
        param = Parameter(np.empty(shape), dtype=np.float64)
        _init.default_(param, H, rng)
        param.data = param.data.astype(dtype)
        setattr(module, name, param)
    return rng


class RNN(RecurrentLayer):
    """The seed's recurrent unit unrolled over time: h_t = σ(x_t Uᵀ + h_{t−1} Wᵀ + b).

    Parameters: U (H, I), W (H, H), b (H,) (PyTorch's weight_ih_l0, weight_hh_l0 and
    bias_ih_l0 + bias_hh_l0), and the same per extra layer and direction (U_l1, W_reverse, …;
    see stacked.py).  x (T, B, I), h0 (B, H) or None (zeros) → hs (T, B, H), h_T (B, H).
    With num_layers > 1 or bidirectional, as PyTorch: h0 and h_n are (D·num_layers, B, H) and
    the output (T, B, D·H); batch_first=True makes x and the output (B, T, ·). `dropout` acts
    between layers in training mode only. `init` ("default" | "orthogonal" | "identity") and
    `spectral_radius` choose every W for vanishing/exploding-gradient experiments.
    """

    nonlinearity: str
    _act: Callable[[Tensor], Tensor]

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, init: str = "default",
                 spectral_radius: float | None = None, seed: Any = None,
                 dtype: Any = np.float64) -> None:
        super().__init__()
        configure(self, num_layers, batch_first, bidirectional, dropout, "RNN")
        rng = _setup_recurrent(self, input_size, hidden_size, nonlinearity, bias, init,
                               spectral_radius, seed, dtype, "RNN")
        if self._stacked:
            make_direction_params(self, 1, bias, False, self.W.dtype, rng)
            for _, _, sfx in directions(self)[1:]:
                _init.init_recurrent_(getattr(self, "W" + sfx), init, spectral_radius, rng,
                                      "RNN")
                if init == "identity" and bias:
                    _init.zeros_(getattr(self, "b" + sfx))
        self._dropout_rng = rng

    def unroll(self, x: Any, h0: Any = None) -> list[Tensor]:
        """The T outputs h_1 … h_T, each (B, D·H), connected through the graph (for a stacked
        layer: the top layer's, both directions concatenated)."""
        if self._stacked:
            return list(self._run_stacked(x, h0)[0].unbind(0))
        return rnn_unroll(self, x, h0, "RNN")

    def forward(self, x: Any, h0: Any = None) -> tuple[Tensor, Tensor]:
        if self._stacked:
            out, h_n = self._run_stacked(x, h0)
            return layer_output(self, out), h_n
        hs = rnn_unroll(self, x, h0, "RNN")
        return stack(hs), hs[-1]

    def _run_stacked(self, x: Any, h0: Any) -> tuple[Tensor, Tensor]:
        x = time_major_input(self, x, "RNN")
        states = initial_states(self, h0, x.shape[1], "RNN")
        out, finals = run_layers(self, x, states, _rnn_direction)
        return out, final_state(finals)

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, nonlinearity={self.nonlinearity!r}"
                + describe(self))


def _rnn_direction(module: RNN, sfx: str, x: Tensor, h: Tensor | None, reverse: bool
                   ) -> tuple[list[Tensor], Tensor]:
    """One direction of one layer of a stacked RNN: h_t = σ(xp_t + h Wᵀ), in time order."""
    U, W, b = getattr(module, "U" + sfx), getattr(module, "W" + sfx), getattr(module, "b" + sfx)
    act, addmm, WT = module._act, ops.Addmm.apply, W.T
    with step_scopes() as at_step:
        steps = project_inputs(x, U, b).unbind(0)
        hs: list[Any] = [None] * len(steps)
        for t in step_order(len(steps), reverse):
            at_step(t)
            h = act(steps[t]) if h is None else act(addmm(steps[t], h, WT))
            hs[t] = h
    assert h is not None
    return hs, h


def _setup_recurrent(module: RNN | ElmanRNN, input_size: int, hidden_size: int, nonlinearity: str,
                     bias: bool, scheme: str, rho: float | None, seed: Any, dtype: Any,
                     layer: str) -> np.random.Generator:
    module.input_size = check_size(input_size, "input_size", layer)
    module.hidden_size = check_size(hidden_size, "hidden_size", layer)
    module._act = check_nonlinearity(nonlinearity, layer)
    module.nonlinearity = nonlinearity
    rng = make_rnn_params(module, 1, bias, dtype, seed, layer)
    _init.init_recurrent_(module.W, scheme, rho, rng, layer)
    if scheme == "identity" and module.b is not None:
        _init.zeros_(module.b)  # IRNN: W = I and b = 0
    return rng


def rnn_unroll(module: Any, x: Any, h0: Any, layer: str) -> list[Tensor]:
    """h_t = σ(xp_t + h_{t−1} Wᵀ) for t = 1..T with xp = x Uᵀ + b hoisted out of the loop."""
    dtype = module.W.dtype
    x = check_sequence(x, module.input_size, dtype, layer)
    h = None if h0 is None else check_state(h0, x.shape[1], module.hidden_size, dtype, layer)
    act, addmm = module._act, ops.Addmm.apply
    WT = module.W.T
    hs = []
    with step_scopes() as at_step:  # (the T slices too: they are made with the collector paused)
        steps = project_inputs(x, module.U, module.b).unbind(0)
        for t, xp_t in enumerate(steps):
            at_step(t)
            h = act(xp_t) if h is None else act(addmm(xp_t, h, WT))  # xp_t + h Wᵀ; h0 = 0: no W
            hs.append(h)
    return hs


class ElmanRNN(RecurrentLayer):
    """The notes' full model: h_t = σ(U x_t + W h_{t−1} + b), y_t = φ(V h_t + c).

    Parameters: U (H, I), W (H, H), b (H,), V (O, H), c (O,); φ is "identity" or "softmax".
    x (T, B, I), h0 (B, H) or None → ys (T, B, O), h_T (B, H). Train it with
    `functional.squared_error(ys, targets)`, the notes' E = ½ Σ_t Σ_i ||y_t − g_t||².
    """

    nonlinearity: str
    _act: Callable[[Tensor], Tensor]

    def __init__(self, input_size: int, hidden_size: int, output_size: int,
                 nonlinearity: str = "tanh", output: str = "identity", bias: bool = True,
                 init: str = "default", spectral_radius: float | None = None, seed: Any = None,
                 dtype: Any = np.float64) -> None:
        super().__init__()
        if output not in OUTPUTS:
            raise ValueError(f"ElmanRNN: output must be one of {OUTPUTS}, got {output!r}")
        self.output_size = check_size(output_size, "output_size", "ElmanRNN")
        rng = _setup_recurrent(self, input_size, hidden_size, nonlinearity, bias, init,
                               spectral_radius, seed, dtype, "ElmanRNN")
        self.output = output
        shape_v, shape_c = (self.output_size, self.hidden_size), (self.output_size,)
        self.V = Parameter(_init.default_(np.empty(shape_v), self.hidden_size, rng), dtype=dtype)
        self.c = (Parameter(_init.default_(np.empty(shape_c), self.hidden_size, rng), dtype=dtype)
                  if bias else None)

    @property
    def rnn(self) -> RNN:
        """The recurrent part as an `nn.RNN` sharing this model's U, W, b."""
        view = RNN.__new__(RNN)
        Module.__init__(view)
        for name in ("input_size", "hidden_size", "nonlinearity", "_act", "U", "W", "b"):
            setattr(view, name, getattr(self, name))
        return view

    def unroll(self, x: Any, h0: Any = None) -> list[Tensor]:
        """The T hidden states h_1 … h_T, each (B, H), connected through the graph."""
        return rnn_unroll(self, x, h0, "ElmanRNN")

    def forward(self, x: Any, h0: Any = None) -> tuple[Tensor, Tensor]:
        hs = self.unroll(x, h0)
        return self.readout(hs), hs[-1]

    def readout(self, hs: list[Tensor]) -> Tensor:
        """ys = φ(stack(hs) Vᵀ + c) of shape (T, B, O), one matmul for all steps."""
        T, (B, H) = len(hs), hs[0].shape
        with scope("output"):
            z = linear(stack(hs).reshape(T * B, H), self.V, self.c)
            if self.output == "softmax":
                z = softmax(z, axis=-1)
            return z.reshape(T, B, self.output_size)

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, {self.output_size}, "
                f"nonlinearity={self.nonlinearity!r}, output={self.output!r}")
