"""Adagrad with learning-rate decay, weight decay and an initial accumulator (PyTorch's rule)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, ParamGroup, Params, scratch_like

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """g = grad + λp;  s += g²;  p −= lr/(1 + (t−1)·lr_decay) · g / (√s + ε).

    s starts at initial_accumulator_value; t counts the steps; ε = 1e-10 as in PyTorch.
    """

    buffers = ("sum",)
    required = ("step", "sum")
    nonnegative = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")
    flags = ("maximize",)
    legacy_keys = ("lr", "eps", "weight_decay", "initial_accumulator_value")

    def __init__(self, params: Params, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, *, maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value,
                                  "eps": eps, "maximize": maximize})

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: ParamGroup) -> None:
        if "sum" not in state:  # PyTorch fills these at construction; here at the first step
            state.update(step=0, sum=np.full_like(p, group["initial_accumulator_value"]))
        state["step"] = step = state["step"] + 1
        if group["maximize"]:
            g = -g
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        s = state["sum"]
        tmp = scratch_like(p, g)  # the temporaries, in the order the formula rounds them
        s += np.multiply(g, g, out=tmp)
        denom = np.sqrt(s, out=tmp)
        denom += group["eps"]
        update = np.divide(g, denom, out=denom)
        update *= clr
        p -= update
