"""Gradient clipping (in place, as PyTorch's `nn.utils`) and saving/loading modules to .npz."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..io import load_npz, save_npz
from ..tensor import Tensor
from .module import Module, functional_call

__all__ = ["clip_grad_norm_", "clip_grad_value_", "save", "load", "functional_call"]


def _grads_of(params: Iterable[Tensor] | Tensor, op: str) -> list[np.ndarray]:
    """The gradient arrays of the parameters that have one (to update in place)."""
    params = [params] if isinstance(params, Tensor) else list(params)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: parameter {i} is a {type(p).__name__}, not a Tensor")
    return [p.grad for p in params if p.grad is not None]


def clip_grad_norm_(params: Iterable[Tensor] | Tensor, max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False) -> float:
    """Scale all gradients by min(1, max_norm / (‖g‖ + 1e-6)), ‖g‖ over all of them together.

    Returns the total norm before clipping (inf/nan are returned as they are, unless
    error_if_nonfinite=True, which raises instead).
    """
    if not (max_norm >= 0):
        raise ValueError(f"clip_grad_norm_: max_norm must be >= 0, got {max_norm}")
    grads = _grads_of(params, "clip_grad_norm_")
    if not grads:
        return 0.0
    norm_type = float(norm_type)
    if norm_type == np.inf:
        total = max(float(np.max(np.abs(g))) for g in grads)
    elif norm_type == 2.0:
        total = float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads)))
    else:
        total = float(sum(float(np.sum(np.abs(g) ** norm_type)) for g in grads)) ** (1 / norm_type)
    if not np.isfinite(total):
        if error_if_nonfinite:
            raise RuntimeError(f"clip_grad_norm_: the total gradient norm is {total}")
        return total
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for g in grads:
            g *= coef
    return total


def clip_grad_value_(params: Iterable[Tensor] | Tensor, clip_value: float) -> None:
    """Clamp every gradient element into [−clip_value, clip_value], in place."""
    if not (clip_value >= 0):
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for g in _grads_of(params, "clip_grad_value_"):
        np.clip(g, -clip_value, clip_value, out=g)


def save(module: Module, path: str | os.PathLike, **metadata: Any) -> None:
    """Write the module's state dict (and JSON-able `metadata`) to an .npz file, atomically."""
    if not isinstance(module, Module):
        raise TypeError(f"save: expected a Module, got {type(module).__name__}")
    meta = {"module": type(module).__name__, **metadata}
    save_npz(path, module.state_dict(), meta)


def load(module: Module, path: str | os.PathLike, strict: bool = True) -> dict[str, Any]:
    """Load parameters saved by `save` into `module` (keys and shapes must match).

    Returns the metadata. Never unpickles.
    """
    if not isinstance(module, Module):
        raise TypeError(f"load: expected a Module, got {type(module).__name__}")
    arrays, metadata = load_npz(path)
    module.load_state_dict(arrays, strict=strict)
    return metadata
