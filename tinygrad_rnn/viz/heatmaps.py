"""The two heatmaps as matplotlib figures (PNG, SVG or PDF): gradient flow over training
(training step × time step) and the influence matrix ‖∂h_t/∂h_s‖₂, both on a log colour scale
with viridis, like the graph pictures. Object API on the Agg canvas, no pyplot state."""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from .influence import Influence, TrainingFlow
from .plot import save_figure

__all__ = ["influence_figure", "save_figure", "training_figure"]


def _log_norm(values: np.ndarray) -> LogNorm:
    positive = values[np.isfinite(values) & (values > 0)]
    lo, hi = (float(positive.min()), float(positive.max())) if positive.size else (1e-3, 1.0)
    return LogNorm(lo, hi if hi > lo else lo * 10)


def training_figure(flow: TrainingFlow) -> Figure:
    """Rows: training steps (top = start), columns: time steps, colour: ‖∂E/∂h_t‖."""
    fig = Figure(figsize=(8, 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    data = np.where(flow.norms > 0, flow.norms, np.nan)
    n, T = data.shape
    image = ax.imshow(data, aspect="auto", cmap="viridis", norm=_log_norm(data),
                      interpolation="nearest", extent=(-0.5, T - 0.5, n - 0.5, -0.5))
    ticks = np.linspace(0, n - 1, min(n, 6)).round().astype(int)
    ax.set_yticks(ticks, [str(flow.train_steps[i]) for i in ticks])
    ax.set_xlabel("time step t")
    ax.set_ylabel("training step")
    ax.set_title("Gradient flow over training: ‖∂E/∂h_t‖", fontsize=11)
    fig.colorbar(image, ax=ax, label="‖∂E/∂h_t‖ (log scale)")
    return fig


def influence_figure(influence: Influence) -> Figure:
    """matrix[t, s] = ‖∂h_t/∂h_s‖₂ for s ≤ t; the upper triangle is empty."""
    fig = Figure(figsize=(5.2, 4.4), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    image = ax.imshow(influence.matrix, cmap="viridis", norm=_log_norm(influence.matrix),
                      interpolation="nearest", origin="upper")
    ax.set_xlabel("s (earlier state)")
    ax.set_ylabel("t (later state)")
    ax.set_title("Influence ‖∂h_t/∂h_s‖₂, s ≤ t", fontsize=11)
    fig.colorbar(image, ax=ax, label="spectral norm (log scale)")
    return fig
