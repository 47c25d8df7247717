"""Adam (with amsgrad) and AdamW, the same rule with decoupled weight decay (PyTorch's rules)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .optimizer import Optimizer, ParamGroup, Params, scratch_like

__all__ = ["Adam", "AdamW", "lerp_"]


class Adam(Optimizer):
    """m = β₁m + (1−β₁)g;  v = β₂v + (1−β₂)g²;  p −= lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε).

    g = grad + λp (−grad with maximize=True); amsgrad=True uses v̂ = max(v̂, v) for v.
    """

    buffers = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    required = ("step", "exp_avg", "exp_avg_sq")
    nonnegative = ("lr", "eps", "weight_decay")
    flags = ("amsgrad", "maximize")
    legacy_keys = ("lr", "betas", "eps", "weight_decay")
    decoupled = False  # AdamW: weight decay shrinks p directly instead of entering g

    def __init__(self, params: Params, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "betas": _pair(betas), "eps": eps,
                                  "weight_decay": weight_decay, "amsgrad": amsgrad,
                                  "maximize": maximize})

    def _check_extra(self, group: Mapping[str, Any], name: str) -> None:
        betas = group["betas"]
        ok = isinstance(betas, (tuple, list)) and len(betas) == 2 and all(
            isinstance(b, (int, float, np.floating)) and not isinstance(b, bool) and 0 <= b < 1
            for b in betas)
        if not ok:
            raise ValueError(f"{name}: betas must be two numbers in [0, 1), got {betas!r}")

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: ParamGroup) -> None:
        if group["maximize"]:
            g = -g
        lr, weight_decay = group["lr"], group["weight_decay"]
        if weight_decay and self.decoupled:
            p *= 1 - lr * weight_decay
        elif weight_decay:
            g = g + weight_decay * p
        beta1, beta2 = group["betas"]
        if "exp_avg" not in state:
            state.update(step=0, exp_avg=np.zeros_like(p), exp_avg_sq=np.zeros_like(p))
        state["step"] = step = state["step"] + 1
        m, v = state["exp_avg"], state["exp_avg_sq"]
        # every temporary in one reused buffer, in the same operations and order as
        # `v += (1 − β₂)·(g·g)` … `p −= lr/(1 − β₁ᵗ) · (m / denom)` (so the same roundings):
        # fresh temporaries of a large weight were new memory, page-faulted in every step
        tmp = scratch_like(p, g)
        lerp_(m, g, 1 - beta1, tmp)
        v *= beta2
        square = np.multiply(g, g, out=tmp)
        square *= 1 - beta2
        v += square
        if group["amsgrad"]:
            v_max = state.get("max_exp_avg_sq")
            if v_max is None:
                v_max = state["max_exp_avg_sq"] = np.zeros_like(p)
            np.maximum(v_max, v, out=v_max)
            v = v_max
        denom = np.sqrt(v, out=tmp)
        denom /= (1 - beta2 ** step) ** 0.5
        denom += group["eps"]
        update = np.divide(m, denom, out=tmp)
        update *= lr / (1 - beta1 ** step)
        p -= update


class AdamW(Adam):
    """p ← p·(1 − lr·λ), then Adam's step without weight decay in g (Loshchilov & Hutter)."""

    decoupled = True

    def __init__(self, params: Params, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)


def lerp_(a: np.ndarray, b: np.ndarray, weight: float, scratch: np.ndarray | None = None
          ) -> None:
    """a ← a + weight·(b − a) in place, in the form PyTorch's lerp_ rounds like. `scratch`
    (a's shape and dtype, as from `optimizer.scratch_like`) holds the temporaries."""
    diff = np.subtract(b, a, out=scratch)
    if abs(weight) < 0.5:
        diff *= weight
        a += diff
    else:
        diff *= 1 - weight
        np.subtract(b, diff, out=a)


def _pair(betas: Any) -> Any:
    """Two betas as a tuple of floats (left as given if malformed, for the check to name)."""
    try:
        return (float(betas[0]), float(betas[1])) if len(betas) == 2 else betas
    except (TypeError, ValueError, IndexError):
        return betas
