"""The explorer of a recurrent model on a random sequence, as `tinygrad-rnn explore` and `demo`
write it: the unrolled graph after backward, the heatmap of ‖∂E/∂h_t‖ over a short training
run of the same model, and the influence matrix of the first steps."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .. import nn
from ..autograd import scope
from ..functional import squared_error
from ..tensor import Tensor, stack
from .explore import Explorer, explore
from .influence import flow_over_training, influence_matrix

MODELS = ("rnn", "lstm", "gru")


def sequence_model(kind: str = "rnn", input_size: int = 3, hidden: int = 8,
                   output_size: int = 2, nonlinearity: str = "tanh",
                   radius: float | None = None, seed: int = 0) -> tuple[Any, Any, dict]:
    """(model, readout, params): the notes' Elman RNN, or an LSTM/GRU with a linear readout
    y_t = V h_t + c applied to all steps at once (scope "output"), and {name: parameter}."""
    if kind == "rnn":
        model = nn.ElmanRNN(input_size, hidden, output_size, nonlinearity=nonlinearity,
                            spectral_radius=radius, seed=seed)
        return model, model.readout, dict(model.named_parameters())
    if kind not in MODELS:
        raise ValueError(f"sequence_model: kind must be one of {MODELS}, got {kind!r}")
    if nonlinearity != "tanh" or radius is not None:
        raise ValueError(f"sequence_model: nonlinearity and radius apply to the Elman RNN only, "
                         f"not to {kind}")
    core = (nn.LSTM if kind == "lstm" else nn.GRU)(input_size, hidden, seed=seed)
    head = nn.Linear(hidden, output_size, seed=seed)

    def readout(hs: list[Tensor]) -> Tensor:
        T, (B, H) = len(hs), hs[0].shape
        with scope("output"):
            z = stack(hs).reshape(T * B, H) @ head.weight.T + head.bias
            return z.reshape(T, B, output_size)
    params = {"U": core.U, "W": core.W, "b": core.b, "V": head.weight, "c": head.bias}
    return core, readout, params


def explore_unrolled(steps: int = 100, kind: str = "rnn", hidden: int = 8,
                     nonlinearity: str = "tanh", radius: float | None = None, seed: int = 0,
                     train_steps: int = 20, every: int = 4, influence_steps: int = 200,
                     train_window: int = 300) -> tuple[Explorer, dict[str, float]]:
    """The explorer page of `kind` unrolled over `steps` random steps, E = ½ Σ_t ||y_t − g_t||².

    train_steps: length of the training run behind the heatmap (0: no heatmap), trained on
    the first min(steps, train_window) steps. influence: the matrix of the first
    min(steps, influence_steps) steps (0: none). Returns the page and the seconds each part
    took."""
    rng = np.random.default_rng(seed)
    x, g = rng.standard_normal((steps, 1, 3)), rng.standard_normal((steps, 1, 2))
    times: dict[str, float] = {}
    began = time.perf_counter()
    model, readout, params = sequence_model(kind, 3, hidden, 2, nonlinearity, radius, seed)
    E = squared_error(readout(model.unroll(Tensor(x))), g)
    E.backward(keep_node_grads=True)
    times["forward+backward"] = time.perf_counter() - began
    training = influence = None
    if train_steps > 0:
        began = time.perf_counter()
        twin, twin_readout, twin_params = sequence_model(kind, 3, hidden, 2, nonlinearity,
                                                         radius, seed)
        extra = (twin_params["V"], twin_params["c"]) if kind != "rnn" else ()
        window = min(steps, train_window)
        training = flow_over_training(twin, Tensor(x[:window]), g[:window], steps=train_steps,
                                      every=every, readout=twin_readout, extra_params=extra)
        training.label += f", Adam lr 1e-2 on the first {window} steps"
        times["training heatmap"] = time.perf_counter() - began
    if influence_steps > 0:
        began = time.perf_counter()
        influence = influence_matrix(model, x[:influence_steps])
        times["influence matrix"] = time.perf_counter() - began
    began = time.perf_counter()
    what = {"rnn": f"Elman RNN (σ = {nonlinearity}" + (
        f", ρ(W) = {radius:g})" if radius is not None else ")"), "lstm": "LSTM", "gru": "GRU"}
    title = f"{what[kind]}, H = {hidden}, {steps} steps unrolled · E = ½ Σ_t ‖y_t − g_t‖²"
    page = explore(E, params=params, title=title, training=training, influence=influence)
    times["page"] = time.perf_counter() - began
    return page, times
