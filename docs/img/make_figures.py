"""Regenerate the pictures of docs/visualization.md: `python docs/img/make_figures.py`.

Every figure is produced by tinygrad_rnn.viz from a real forward and backward pass.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from tinygrad_rnn import nn
from tinygrad_rnn.functional import squared_error
from tinygrad_rnn.viz import draw, elman_example, render_unrolled, save, write_flow_figure

HERE = Path(__file__).resolve().parent


def main() -> None:
    for fmt in ("svg", "png"):
        render_unrolled(steps=5, hidden=4, out=HERE / f"unrolled_op_5.{fmt}", view="op")
    render_unrolled(steps=30, hidden=8, out=HERE / "unrolled_cell_30.png", view="cell")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the max_nodes fallback warning is the point here
        render_unrolled(steps=2000, hidden=8, out=HERE / "collapsed_2000.png", view="op")
    render_unrolled(steps=2000, hidden=8, out=HERE / "collapsed_cell_2000.png",
                    view="collapsed-cell")
    for name, nonlinearity, radius in (("vanishing", "tanh", 0.5), ("exploding", "relu", 1.5)):
        render_unrolled(steps=20, hidden=8, out=HERE / f"{name}_cell_20.png", view="cell",
                        nonlinearity=nonlinearity, spectral_radius=radius, loss="last",
                        vmin=1e-9, vmax=1e6)
    before_backward()
    overflow()
    path, table = write_flow_figure(HERE / "gradient_flow.png")
    (HERE / "gradient_flow.txt").write_text(table + "\n")
    print(table)


def before_backward() -> None:
    """The same 3-step graph before and after backward: grey dotted means 'not computed yet'."""
    rng = np.random.default_rng(0)
    model = nn.ElmanRNN(3, 4, 2, seed=0)
    ys, _ = model(rng.standard_normal((3, 1, 3)))
    E = squared_error(ys, rng.standard_normal((3, 1, 2)))
    title = "Before E.backward(): every gradient is 'not computed yet', never a fake 0"
    save(draw(E, params=model, title=title), HERE / "before_backward_op_3.png")


def overflow() -> None:
    """ReLU with ρ(W) = 1.5 over 2,000 steps: the forward pass overflows and NaN appears."""
    with np.errstate(all="ignore"):
        model, E = elman_example(steps=2000, hidden=8, nonlinearity="relu", spectral_radius=1.5)
    title = "ReLU, ρ(W) = 1.5, 2,000 steps: h_t overflows, E = inf, and backward makes NaN/Inf"
    save(draw(E, params=model, view="collapsed-cell", title=title), HERE / "nan_2000.png")


if __name__ == "__main__":
    main()
