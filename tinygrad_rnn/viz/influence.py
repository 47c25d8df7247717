"""Two maps of gradient flow: how h_s influences h_t, and how ‖∂E/∂h_t‖ changes over training.

`influence_matrix` gives ‖∂h_t/∂h_s‖₂ for every s ≤ t, exactly. The engine has no forward mode,
so it uses reverse mode with a batch trick: the sequence is copied H times along the batch, and
the backward from h_t with cotangent e_i on copy i gives row i of ∂h_t/∂h_s in copy i's h_s, for
every s at once. That is one backward per t, T in all.

`flow_over_training` trains a model and records ‖∂E/∂h_t‖ for every t every `every` steps, the
rows of the training-step × time-step heatmap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import nn, optim
from ..functional import squared_error
from ..tensor import Tensor, stack
from .flow import _unroll, hidden_grad_norms


def _rows(matrix: np.ndarray) -> list[list[float | None]]:
    return [[float(f"{v:.4g}") if np.isfinite(v) else None for v in row] for row in matrix]


@dataclass
class Influence:
    """matrix[t, s] = ‖∂h_t/∂h_s‖₂ for s ≤ t (NaN above the diagonal), t, s = 0..T−1."""

    matrix: np.ndarray
    label: str = "‖∂h_t/∂h_s‖₂ (spectral norm), s ≤ t"

    def to_dict(self) -> dict[str, Any]:
        return {"matrix": _rows(self.matrix), "label": self.label}


def influence_matrix(model: Any, x: Any, h0: Any = None) -> Influence:
    """‖∂h_t/∂h_s‖₂ for all s ≤ t of `model` (anything with unroll(x, h0)) on the first
    sequence of x (T, B, I), exact up to float rounding. Cost: T backward passes."""
    data = np.asarray(x.data if isinstance(x, Tensor) else x, dtype=np.float64)
    if data.ndim != 3:
        raise ValueError(f"influence_matrix: x must be (T, B, I), got shape {data.shape}")
    params = list(getattr(model, "parameters", lambda: [])())
    kept = [None if p.grad is None else np.array(p.grad) for p in params]  # copies: the
    # passes below accumulate into .grad in place, and must not change a training gradient
    probe = _unroll(model, Tensor(data[:, :1]), h0)
    H = probe[0].shape[-1]
    hs = _unroll(model, Tensor(np.repeat(data[:, :1], H, axis=1)), h0)
    for h in hs:
        h.retain_grad()
    T = len(hs)
    out = np.full((T, T), np.nan)
    eye = np.eye(H)
    for t in range(T):
        for h in hs[:t + 1]:
            h.grad = None
        hs[t].backward(eye, retain_graph=True)
        jac = np.stack([h.grad if h.grad is not None else np.zeros((H, H)) for h in hs[:t + 1]])
        out[t, :t + 1] = np.linalg.svd(jac, compute_uv=False)[:, 0]
    for p, grad in zip(params, kept):
        p.grad = grad
    return Influence(out)


@dataclass
class TrainingFlow:
    """norms[k, t] = ‖∂E/∂h_t‖ after train_steps[k] optimizer steps."""

    train_steps: list[int]
    norms: np.ndarray
    losses: list[float]
    label: str = "‖∂E/∂h_t‖ (rows: training step, columns: time step t)"

    def to_dict(self) -> dict[str, Any]:
        return {"train_steps": self.train_steps, "norms": _rows(self.norms),
                "losses": [float(f"{v:.4g}") for v in self.losses], "label": self.label}


def flow_over_training(model: Any, x: Any, targets: Any, steps: int = 40, every: int = 4,
                       lr: float = 1e-2, clip: float | None = 1.0,
                       readout: Callable[[list[Tensor]], Tensor] | None = None,
                       extra_params: Any = ()) -> TrainingFlow:
    """Train `model` with Adam on (x, targets) for `steps` steps, E = ½ Σ_t ||y_t − g_t||²
    with y = readout(hs), and record ‖∂E/∂h_t‖ for every t before step 0 and after every
    `every` steps. extra_params: the readout's own parameters, if it has any."""
    if steps < 0 or every < 1:
        raise ValueError(f"flow_over_training: need steps >= 0 and every >= 1, got {steps}, "
                         f"{every}")
    readout = readout or getattr(model, "readout", None) or stack
    params = list({id(p): p for p in [*model.parameters(), *extra_params]}.values())
    opt = optim.Adam(params, lr=lr)
    recorded, rows, losses = [], [], []
    for step in range(steps + 1):
        if step % every == 0 or step == steps:
            recorded.append(step)
            rows.append(hidden_grad_norms(model, x, targets, loss="all", readout=readout))
        if step == steps:
            break
        opt.zero_grad()
        E = squared_error(readout(_unroll(model, x, None)), targets)
        E.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(params, clip)
        losses.append(E.item())
        opt.step()
    return TrainingFlow(recorded, np.array(rows), losses)

