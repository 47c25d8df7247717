"""SGD with momentum, dampening, Nesterov momentum, weight decay and maximize (PyTorch's rule)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .optimizer import Optimizer, ParamGroup, Params, scratch_like

__all__ = ["SGD"]


class SGD(Optimizer):
    """d = g + λp;  b = μb + (1−τ)d (b₁ = d);  p −= lr·b, or lr·(d + μb) with nesterov=True.

    g is −grad with maximize=True; μ = momentum, τ = dampening, λ = weight_decay.
    """

    buffers = ("momentum_buffer",)
    nonnegative = ("lr", "momentum", "dampening", "weight_decay")
    flags = ("nesterov", "maximize")
    legacy_keys = ("lr", "momentum", "weight_decay", "nesterov")

    def __init__(self, params: Params, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov,
                                  "maximize": maximize})

    def _check_extra(self, group: Mapping[str, Any], name: str) -> None:
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"{name}: nesterov=True needs momentum > 0 and dampening = 0, got "
                             f"momentum={group['momentum']!r}, dampening={group['dampening']!r}")

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: ParamGroup) -> None:
        if group["maximize"]:
            g = -g
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        momentum = group["momentum"]
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(g, dtype=p.dtype)
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * g if group["dampening"] else g
            g = g + momentum * buf if group["nesterov"] else buf
        # p −= lr·g through a reused buffer: a fresh lr·g temporary of a large weight (128 KiB
        # and up) is a new mmap that page-faults in on every step
        p -= np.multiply(g, group["lr"], out=scratch_like(p, g))
