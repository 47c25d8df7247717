"""Regenerate the pictures of docs/visualization.md: `python docs/img/make_figures.py`.

Every figure is produced by tinygrad_rnn.viz from a real forward and backward pass.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from tinygrad_rnn import Tensor, nn
from tinygrad_rnn.functional import squared_error
from tinygrad_rnn.viz import draw, elman_example, render_unrolled, save, write_flow_figure
from tinygrad_rnn.viz.heatmaps import influence_figure, save_figure, training_figure
from tinygrad_rnn.viz.influence import flow_over_training, influence_matrix

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
    heatmaps()
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


def heatmaps() -> None:
    """The explorer's two maps as figures: ‖∂E/∂h_t‖ over 60 Adam steps of a tanh RNN that
    starts at ρ(W) = 1.5, and the influence matrix of a tanh RNN at ρ(W) = 0.9."""
    rng = np.random.default_rng(0)
    x, g = rng.standard_normal((60, 1, 3)), rng.standard_normal((60, 1, 2))
    model = nn.ElmanRNN(3, 16, 2, spectral_radius=1.5, seed=0)
    flow = flow_over_training(model, Tensor(x), g, steps=60, every=3)
    save_figure(training_figure(flow), HERE / "training_heatmap.png")
    model = nn.ElmanRNN(3, 16, 2, spectral_radius=0.9, seed=0)
    save_figure(influence_figure(influence_matrix(model, x)), HERE / "influence.png")
    # docs/img/explorer.png is the browser test's screenshot:
    #   TINYGRAD_RNN_SCREENSHOTS=docs/img python -m pytest tests/test_browser.py -k screenshot


if __name__ == "__main__":
    main()
