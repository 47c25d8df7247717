"""Regenerate the pictures of docs/visualization.md and docs/higher_order.md:
`python docs/img/make_figures.py` (all of them), or `python docs/img/make_figures.py
higher_order` (only docs/higher_order.md's).

Every figure is produced by tinygrad_rnn.viz from a real forward and backward pass.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, func, nn
from tinygrad_rnn.functional import squared_error
from tinygrad_rnn.viz import draw, elman_example, render_unrolled, save, write_flow_figure
from tinygrad_rnn.viz.heatmaps import influence_figure, save_figure, training_figure
from tinygrad_rnn.viz.influence import flow_over_training, influence_matrix

HERE = Path(__file__).resolve().parent


def main() -> None:
    if sys.argv[1:] == ["higher_order"]:
        higher_order()
        return
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
    higher_order()


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


# ------------------------------------------------------------------ docs/higher_order.md


def higher_order() -> None:
    derivative_graphs()
    table = hessian_sharpness()
    (HERE / "hessian_top_eigenvalue.txt").write_text(table + "\n")
    print(table)


def derivative_graphs() -> None:
    """The graphs that create_graph=True builds, drawn by viz.draw: d²/dx² tanh(x) at x = 0.5,
    and ∂h_1/∂W of one Elman step. Each is drawn after a backward through it with
    keep_node_grads=True, so the fill is the gradient of the derivative (for tanh: the third
    derivative flowing back to x)."""
    x = Tensor([0.5], requires_grad=True)
    x.name = "x"
    (d1,) = tg.grad(x.tanh().sum(), x, create_graph=True)
    (d2,) = tg.grad(d1.sum(), x, create_graph=True)
    d2.backward(keep_node_grads=True)  # x.grad = d³/dx³ tanh(0.5)
    title = (f"d²/dx² tanh(x) at x = 0.5 (= {d2.data[0]:.4f}), the graph create_graph built; "
             f"fill: |∂(d²)/∂node|, x.grad = d³ = {x.grad[0]:.4f}")
    save(draw(d2, params={"x": x}, title=title), HERE / "grad_of_grad_tanh.png")

    rng = np.random.default_rng(0)
    model = nn.ElmanRNN(2, 3, 1, seed=0)
    xs = Tensor(rng.standard_normal((1, 1, 2)))
    h0 = Tensor(rng.standard_normal((1, 3)))
    xs.name, h0.name = "x_1", "h_0"
    (h1,) = model.unroll(xs, h0)
    (dW,) = tg.grad(h1.sum(), model.W, create_graph=True)
    v = Tensor(rng.standard_normal(dW.shape))
    v.name = "v"
    (dW * v).sum().backward(keep_node_grads=True)  # the backward an hvp runs through dW
    title = ("∂(Σ h_1)/∂W of one Elman step (create_graph=True), then backward of ⟨∂h_1/∂W, v⟩ "
             "through it; fill: |∂⟨·, v⟩/∂node|")
    save(draw(dW, params=model, title=title), HERE / "rnn_step_grad_graph.png")


def top_hessian_eigenvalue(E, W: np.ndarray, iters: int = 30, seed: int = 0
                           ) -> tuple[float, float]:
    """Power iteration on v -> H v (func.hvp): the eigenvalue of ∂²E/∂W² largest in magnitude,
    with its sign, and the residual ‖Hv − λv‖ / |λ| of the last vector (convergence)."""
    v = np.random.default_rng(seed).standard_normal(W.shape)
    v /= np.linalg.norm(v)
    lam = 0.0
    for _ in range(iters):
        _, (Hv,) = func.hvp(E, (W,), (v,))
        lam = float(np.vdot(v, Hv.data))  # Rayleigh quotient, v normalised
        v = Hv.data / np.linalg.norm(Hv.data)
    _, (Hv,) = func.hvp(E, (W,), (v,))
    lam = float(np.vdot(v, Hv.data))
    return lam, float(np.linalg.norm(Hv.data - lam * v) / abs(lam))


def hessian_sharpness(T: int = 40, B: int = 4, H: int = 16, seed: int = 0) -> str:
    """The top eigenvalue of ∂²E/∂W² against ρ(W) = s for W = s·W0 (W0: the seeded model's W
    scaled to spectral radius 1, U, b, V, c fixed), tanh and relu, next to ‖∂E/∂W‖."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    radii = np.round(np.linspace(0.5, 1.5, 11), 2)
    rng = np.random.default_rng(seed)
    x = Tensor(rng.standard_normal((T, B, 1)))
    g = rng.standard_normal((T, B, 1))
    rows = [f"# ElmanRNN(1, {H}, 1, seed={seed}), T={T}, B={B}; W = ρ·W0 with ρ(W0) = 1; "
            "λ: eigenvalue of ∂²E/∂W² largest in |λ| (30 power iterations on func.hvp); "
            "exact: the same from func.hessian + numpy.linalg.eigvalsh",
            f"{'σ':>5} {'ρ(W)':>5} {'E':>10} {'‖∂E/∂W‖':>10} {'‖∂E/∂W‖²/2E':>12} "
            f"{'λ (power)':>11} {'λ (exact)':>11} {'residual':>9}"]
    results: dict[str, list[tuple[float, float, float, float]]] = {}
    for nonlinearity in ("tanh", "relu"):
        model = nn.ElmanRNN(1, H, 1, nonlinearity=nonlinearity, seed=seed)
        W0 = model.W.data / np.max(np.abs(np.linalg.eigvals(model.W.data)))

        def E(W: Tensor, model: nn.ElmanRNN = model) -> Tensor:
            ys, _ = nn.functional_call(model, {"W": W}, x)
            return squared_error(ys, g)

        for radius in radii:
            W = radius * W0
            lam, residual = top_hessian_eigenvalue(E, W)
            Wt = Tensor(W, requires_grad=True)
            loss = E(Wt)
            loss.backward()
            gnorm = float(np.linalg.norm(Wt.grad))
            eigs = np.linalg.eigvalsh(func.hessian(E, W).data.reshape(H * H, H * H))
            exact = float(eigs[np.argmax(np.abs(eigs))])
            results.setdefault(nonlinearity, []).append((float(radius), lam, gnorm, exact))
            bound = gnorm**2 / (2 * float(loss.data))
            rows.append(f"{nonlinearity:>5} {radius:5.2f} {float(loss.data):10.4g} {gnorm:10.4g} "
                        f"{bound:12.4g} {lam:11.4g} {exact:11.4g} {residual:9.1e}")

    fig = Figure(figsize=(10, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    colors = {"tanh": "#21918c", "relu": "#d1001f"}
    for nonlinearity, points in results.items():
        r, lam, gnorm, exact = (np.array(c) for c in zip(*points))
        color = colors[nonlinearity]
        left.plot(r, np.abs(lam), color=color, lw=1.8, label=f"σ = {nonlinearity}")
        pos, neg = lam > 0, lam < 0
        left.scatter(r[pos], lam[pos], color=color, zorder=3, s=28)
        left.scatter(r[neg], -lam[neg], facecolors="white", edgecolors=color, zorder=3, s=36,
                     lw=1.6)
        left.scatter(r, np.abs(exact), marker="x", color="#111111", s=14, lw=0.9, zorder=4)
        right.plot(r, gnorm, color=color, lw=1.8, marker="o", ms=4, label=f"σ = {nonlinearity}")
    left.scatter([], [], facecolors="white", edgecolors="#444444", label="λ < 0 (hollow)")
    left.scatter([], [], marker="x", color="#111111", s=14, lw=0.9,
                 label="exact (func.hessian + eigvalsh)")
    left.set_title("Sharpness: top eigenvalue |λ| of ∂²E/∂W²", fontsize=11)
    left.set_ylabel("|λ|  (largest in magnitude; log scale)")
    right.set_title("Gradient: ‖∂E/∂W‖", fontsize=11)
    right.set_ylabel("‖∂E/∂W‖  (log scale)")
    for ax in (left, right):
        ax.set_yscale("log")
        ax.set_xlabel("spectral radius ρ(W) = s   (W = s·W0)")
        ax.axvline(1.0, color="#999999", lw=0.8, ls=":")
        ax.grid(True, which="major", color="#dddddd", lw=0.6)
        ax.legend(fontsize=8, frameon=False, loc="upper left")
    fig.suptitle(f"Elman RNN, H = {H}, T = {T}, B = {B}, E = ½ Σ‖y − g‖², only W varies",
                 fontsize=11)
    save_figure(fig, HERE / "hessian_top_eigenvalue.png")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
