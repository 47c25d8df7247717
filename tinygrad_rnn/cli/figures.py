"""The demo's forecast figure (matplotlib, written atomically)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor


def forecast_figure(path: Path, task: Any, model: Any, result: dict[str, float],
                    history: list[tuple[int, float, float]], steps_per_epoch: int = 1,
                    start_year: float | None = None, per_year: int = 12) -> None:
    """Top: held-out truth, one-step forecasts and persistence (original units). Bottom: loss.

    With start_year, the x axis shows calendar years (`per_year` values a year)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..viz.plot import save_figure  # atomic: a half-written picture never replaces one

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6.5), height_ratios=(3, 2))
    _plot_forecast(top, task, model, result, start_year, per_year)
    _plot_loss(bottom, history, steps_per_epoch)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def _plot_forecast(ax: Any, task: Any, model: Any, result: dict[str, float],
                   start_year: float | None, per_year: int) -> None:
    with no_grad():
        ys, _ = model(Tensor(task.series[:-1].reshape(-1, 1, 1)))
    pred = ys.data.reshape(-1)[task.n_train - 1:] * task.std + task.mean
    truth = task.raw[task.n_train:]
    if start_year is None:
        when, xlabel = np.arange(truth.size), "time step of the held-out period"
    else:
        when, xlabel = start_year + (task.n_train + np.arange(truth.size)) / per_year, "year"
    ax.plot(when, truth, color="black", lw=1.6, label="observed")
    ax.plot(when, pred, color="tab:blue", lw=1.4,
            label=f"RNN one-step forecast (RMSE {result['rmse_units']:.2f})")
    ax.plot(when, task.raw[task.n_train - 1:-1], color="tab:orange", lw=1, ls="--",
            label=f"persistence (RMSE {result['rmse_persistence_units']:.2f})")
    ax.set(title=f"Held-out forecast: {task.label}, last {truth.size} values",
           xlabel=xlabel, ylabel=task.units)
    ax.legend(loc="upper left", fontsize=9)


def _plot_loss(ax: Any, history: list[tuple[int, float, float]], steps_per_epoch: int) -> None:
    ax.set(title="training loss E per chunk (truncated BPTT)", xlabel="step", ylabel="E")
    if not history:
        return
    steps, losses, _ = (np.asarray(v) for v in zip(*history))
    ax.plot(steps, losses, color="tab:blue", lw=0.6, alpha=0.35, label="each chunk")
    n = max(1, steps_per_epoch)
    if steps.size >= 2 * n:
        m = steps.size // n * n
        ax.plot(steps[:m].reshape(-1, n)[:, -1], losses[:m].reshape(-1, n).mean(axis=1),
                color="tab:blue", lw=1.8, label="epoch mean")
    ax.set_yscale("log")
    ax.legend(loc="upper right", fontsize=9)
