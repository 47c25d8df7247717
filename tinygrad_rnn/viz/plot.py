"""The vanishing/exploding-gradient figure: ‖∂E/∂h_t‖ against steps back from the loss on a log
axis, one line per (spectral radius, nonlinearity), LSTMs for contrast, and gradient clipping as
the remedy for explosion. Uses matplotlib's object API on the Agg canvas (no pyplot state)."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .drawing import _atomic_write
from .flow import FlowResults, format_table, sweep


def _radius_colors(radii: list[float]) -> dict[float, Any]:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    ordered = sorted(set(radii))
    span = max(len(ordered) - 1, 1)
    return {r: cmap(0.05 + 0.85 * i / span) for i, r in enumerate(ordered)}


def _flow_panel(ax: Any, results: FlowResults, nonlinearity: str | None, colors: dict) -> None:
    d = np.arange(results.T)[::-1]  # steps back from the loss, for h_1 .. h_T
    for c in results.curves:
        if c.kind == "rnn" and c.nonlinearity == nonlinearity:
            ax.plot(d, c.grad_norms, color=colors[c.radius], lw=2.0, label=f"ρ(W) = {c.radius:g}")
    for c in results.curves:
        if c.kind == "lstm":
            style = "-" if "3" in c.label else ":"
            ax.plot(d, c.grad_norms, color="#111111", lw=1.6, ls=style, label=c.label)
    ax.set_yscale("log")
    ax.set_xlim(0, max(results.T - 1, 1))  # T = 1 is one point; matplotlib needs a span
    ax.set_title(f"Elman RNN, σ = {nonlinearity}", fontsize=11)
    ax.set_xlabel(r"steps back from the loss, $T - t$")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, which="major", color="#dddddd", lw=0.6)


def _clip_panel(ax: Any, results: FlowResults) -> None:
    """Training loss per SGD step; a diverging run leaves through the top, marked where it went."""
    setup = results.clip_setup
    finite_all = np.concatenate([r.losses[np.isfinite(r.losses)] for r in results.clip_runs])
    clipped = [r for r in results.clip_runs if r.max_norm is not None]
    span = np.concatenate([r.losses[np.isfinite(r.losses)] for r in clipped]) if clipped else (
        finite_all)
    top, bottom = float(span.max()) * 30, float(span.min()) / 3
    for run in results.clip_runs:
        color = "#d1001f" if run.max_norm is None else "#21918c"
        steps = np.arange(len(run.losses))
        shown = np.where(np.isfinite(run.losses), run.losses, np.inf)
        ax.plot(steps, np.minimum(shown, top * 10), color=color, lw=2.0, label=run.label)
        if len(run.losses) and not np.isfinite(run.losses[-1]):
            peak = run.losses[np.isfinite(run.losses)].max()
            ax.annotate(f"loss {peak:.0e}, then NaN/Inf at step {len(run.losses) - 1}",
                        (len(run.losses) - 1, top), xytext=(10, -16),
                        textcoords="offset points", color=color, fontsize=9,
                        arrowprops={"arrowstyle": "->", "color": color})
    ax.set_ylim(bottom, top)
    ax.set_yscale("log")
    ax.set_title(f"Remedy: gradient clipping ({setup.get('nonlinearity')}, "
                 f"ρ(W) = {setup.get('radius')})", fontsize=11)
    ax.set_xlabel(f"SGD step (lr = {setup.get('lr')}, echo task)")
    ax.set_ylabel("training loss  E / batch")
    ax.grid(True, which="major", color="#dddddd", lw=0.6)
    ax.legend(fontsize=8, frameon=False, loc="lower left")


def flow_figure(results: FlowResults) -> Figure:
    """The figure as a matplotlib Figure (one panel per nonlinearity, plus clipping)."""
    nonlinearities = list(dict.fromkeys(c.nonlinearity for c in results.curves if c.kind == "rnn"))
    panels = len(nonlinearities) + (1 if results.clip_runs else 0)
    fig = Figure(figsize=(4.6 * panels, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, panels, squeeze=False)[0]
    colors = _radius_colors([c.radius for c in results.curves if c.radius is not None])
    for ax, nonlinearity in zip(axes, nonlinearities):
        _flow_panel(ax, results, nonlinearity, colors)
    if nonlinearities:
        axes[0].set_ylabel(r"$\|\partial E / \partial h_t\|_2$  (log scale)")
        axes[0].legend(fontsize=8, loc="best", framealpha=0.92, edgecolor="#cccccc")
        low = min(ax.get_ylim()[0] for ax in axes[:len(nonlinearities)])
        high = max(ax.get_ylim()[1] for ax in axes[:len(nonlinearities)])
        for ax in axes[:len(nonlinearities)]:
            ax.set_ylim(low, high)  # one scale, so the panels compare
    if results.clip_runs:
        _clip_panel(axes[-1], results)
    fig.suptitle(f"Gradient flow through time, from backward through the unrolled graph "
                 f"(E on the last of T = {results.T} steps, H = {results.H})", fontsize=12)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 110,
                what: str = "save_figure") -> Path:
    """Write a matplotlib figure to `path` (.png, .svg or .pdf), atomically; an SVG carries no
    date, so the same figure gives the same bytes. `what` names the caller in the error."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg", "pdf"):
        raise ValueError(f"{what}: unknown format {path.suffix!r}; use .png, .svg or .pdf")
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=dpi, metadata={"Date": None} if fmt == "svg" else None)
    _atomic_write(path, buffer.getvalue())
    return path


def plot_flow(results: FlowResults, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Write the flow figure to `path` (.png, .svg or .pdf), atomically."""
    return save_figure(flow_figure(results), path, dpi, what="plot_flow")


def write_flow_figure(out: str | os.PathLike = "gradient_flow.png", **sweep_kwargs: Any
                      ) -> tuple[Path, str]:
    """Run `sweep(**sweep_kwargs)`, write the figure to `out`, return (path, table text)."""
    results = sweep(**sweep_kwargs)
    return plot_flow(results, out), format_table(results)
