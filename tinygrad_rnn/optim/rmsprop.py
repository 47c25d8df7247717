"""RMSprop, plain or centered, with momentum and weight decay (PyTorch's rule)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .adam import lerp_
from .optimizer import Optimizer, ParamGroup, Params, scratch_like

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """v = αv + (1−α)g²;  a = √(v − ḡ²) + ε (centered, ḡ = αḡ + (1−α)g) or √v + ε;
    p −= lr·g/a, or with momentum b = μb + g/a, p −= lr·b.  g = grad + λp.
    """

    buffers = ("square_avg", "momentum_buffer", "grad_avg")
    required = ("step", "square_avg")
    nonnegative = ("lr", "alpha", "eps", "weight_decay", "momentum")
    flags = ("centered", "maximize")

    def __init__(self, params: Params, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, *, maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps,
                                  "weight_decay": weight_decay, "momentum": momentum,
                                  "centered": centered, "maximize": maximize})

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: ParamGroup) -> None:
        if "square_avg" not in state:
            state.update(step=0, square_avg=np.zeros_like(p))
        state["step"] += 1
        if group["maximize"]:
            g = -g
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        alpha, v = group["alpha"], state["square_avg"]
        tmp = scratch_like(p, g)  # the temporaries, in the order the formulas round them
        v *= alpha
        square = np.multiply(g, g, out=tmp)
        square *= 1 - alpha
        v += square
        if group["centered"]:
            g_avg = _buffer(state, "grad_avg", p)
            lerp_(g_avg, g, 1 - alpha, tmp)
            var = np.multiply(g_avg, g_avg, out=tmp)
            avg = np.sqrt(np.subtract(v, var, out=var), out=var)
        else:
            avg = np.sqrt(v, out=tmp)
        avg += group["eps"]
        ratio = np.divide(g, avg, out=avg)  # g / avg
        if group["momentum"] > 0:
            buf = _buffer(state, "momentum_buffer", p)
            buf *= group["momentum"]
            buf += ratio
            p -= np.multiply(buf, group["lr"], out=ratio)
        else:
            ratio *= group["lr"]
            p -= ratio


def _buffer(state: dict[str, Any], key: str, p: np.ndarray) -> np.ndarray:
    buf = state.get(key)
    if buf is None:
        buf = state[key] = np.zeros_like(p)
    return buf
