"""Gradient flow through time, measured by real backward passes through the unrolled model.

`hidden_grad_norms` gives ‖∂E/∂h_t‖ for every t (the gradient that reaches step t),
`jacobian_norms` gives ‖∂h_T/∂h_k‖₂ for every k, and `sweep` runs both over the spectral radius
of W and the nonlinearity, with an LSTM for contrast and a gradient-clipping run as the remedy
for explosion. Nothing here is a synthetic matmul chain: every number comes from `backward`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import nn, optim
from ..functional import squared_error
from ..tensor import Tensor, stack


def _unroll(model: Any, x: Any, h0: Any) -> list[Tensor]:
    if not hasattr(model, "unroll"):
        raise TypeError(f"flow: {type(model).__name__} has no unroll(x, h0) returning the "
                        "per-step hidden states (nn.RNN, nn.ElmanRNN, nn.LSTM and nn.GRU do)")
    return model.unroll(x, h0)


def hidden_grad_norms(model: Any, x: Any, targets: Any, h0: Any = None, loss: str = "last",
                      readout: Callable[[list[Tensor]], Tensor] | None = None) -> np.ndarray:
    """‖∂E/∂h_t‖₂ for t = 1..T (index t−1), from one backward pass with h_t retained.

    E = ½ Σ ||y − g||² over the last step only (loss="last", so everything reaching h_t for
    t < T came back through the recurrence) or over all steps (loss="all"). y = readout(hs):
    by default `model.readout` if the model has one (ElmanRNN), else the hidden states.
    x (T, B, I); targets (T, B, O) or, for loss="last", (B, O).
    """
    if loss not in ("last", "all"):
        raise ValueError(f"hidden_grad_norms: loss must be 'last' or 'all', got {loss!r}")
    hs = _unroll(model, x, h0)
    for h in hs:
        h.retain_grad()
    readout = readout or getattr(model, "readout", None) or stack
    ys = readout(hs)
    g = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    if loss == "last":
        ys, g = ys[len(hs) - 1], (g[-1] if g.ndim == ys.ndim else g)
    squared_error(ys, g).backward()
    return np.array([np.linalg.norm(h.grad) if h.grad is not None else 0.0 for h in hs])


def jacobian_norms(model: Any, x: Any, h0: Any = None, method: str = "spectral",
                   probes: int = 8, seed: int = 0) -> np.ndarray:
    """‖∂h_T/∂h_k‖ for k = 1..T (index k−1; the last entry is ‖I‖ = 1), averaged over the batch.

    method="spectral": the exact spectral norm, from H backward passes from h_T with each unit
    cotangent e_i (each pass gives row i of every ∂h_T/∂h_k at once). method="random": the RMS
    of ‖vᵀ ∂h_T/∂h_k‖ over `probes` random unit cotangents v, an estimate of ‖J‖_F/√H.
    """
    if method not in ("spectral", "random"):
        raise ValueError(f"jacobian_norms: method must be 'spectral' or 'random', got {method!r}")
    hs = _unroll(model, x, h0)
    for h in hs:
        h.retain_grad()
    B, H = hs[-1].shape
    rng = np.random.default_rng(seed)
    n = H if method == "spectral" else probes
    rows = np.zeros((len(hs), B, n, H))
    for i in range(n):
        if method == "spectral":
            v = np.zeros((B, H))
            v[:, i] = 1.0
        else:
            v = rng.standard_normal((B, H))
            v /= np.linalg.norm(v, axis=1, keepdims=True)
        for h in hs:
            h.grad = None
        hs[-1].backward(v, retain_graph=True)
        for k, h in enumerate(hs):
            if h.grad is not None:
                rows[k, :, i] = h.grad
    if method == "spectral":
        return np.linalg.norm(rows, ord=2, axis=(2, 3)).mean(axis=1)
    return np.sqrt((np.linalg.norm(rows, axis=3) ** 2).mean(axis=2)).mean(axis=1)


def per_step_factor(norms: np.ndarray) -> float:
    """The geometric rate r of norms ≈ C rᵈ, d = steps back from the end (least squares on log)."""
    d = np.arange(len(norms))[::-1]
    ok = np.isfinite(norms) & (norms > 0) & (d > 0)
    if ok.sum() < 2:
        return float("nan")
    slope = np.polyfit(d[ok], np.log(norms[ok]), 1)[0]
    return float(np.exp(slope))


@dataclass
class FlowCurve:
    """One model's gradient flow: ‖∂E/∂h_t‖ and ‖∂h_T/∂h_k‖ for t, k = 1..T."""

    label: str
    kind: str  # "rnn" or "lstm"
    nonlinearity: str | None
    radius: float | None
    grad_norms: np.ndarray
    jac_norms: np.ndarray

    @property
    def rate(self) -> float:
        return per_step_factor(self.jac_norms)


@dataclass
class ClipRun:
    """SGD on an exploding model: the loss and the (pre-clipping) gradient norm per step."""

    label: str
    max_norm: float | None
    losses: np.ndarray
    grad_norms: np.ndarray


@dataclass
class FlowResults:
    T: int
    H: int
    curves: list[FlowCurve]
    clip_runs: list[ClipRun] = field(default_factory=list)
    clip_setup: dict[str, Any] = field(default_factory=dict)


def _task(T: int, B: int, size: int, seed: int) -> tuple[Tensor, np.ndarray]:
    rng = np.random.default_rng(seed)
    return Tensor(rng.standard_normal((T, B, size))), rng.standard_normal((T, B, size))


def measure(model: Any, x: Tensor, targets: np.ndarray, readout: Any = None) -> tuple:
    """(‖∂E/∂h_t‖, ‖∂h_T/∂h_k‖) of one model on one sequence."""
    return (hidden_grad_norms(model, x, targets, readout=readout),
            jacobian_norms(model, x))


def sweep(radii: Sequence[float] = (0.5, 0.9, 1.0, 1.1, 1.5),
          nonlinearities: Sequence[str] = ("tanh", "relu"), T: int = 50, H: int = 32,
          input_size: int = 4, seed: int = 0, lstm: bool = True, clip: bool = True) -> FlowResults:
    """Gradient flow of the Elman RNN for every (radius of W, nonlinearity), plus LSTMs
    (default init, and forget-gate bias 3) and, if clip, the clipping remedy."""
    x, g = _task(T, 1, input_size, seed)
    curves = []
    for nonlinearity in nonlinearities:
        for rho in radii:
            model = nn.ElmanRNN(input_size, H, input_size, nonlinearity=nonlinearity,
                                spectral_radius=rho, seed=seed)
            curves.append(FlowCurve(f"{nonlinearity}, ρ={rho:g}", "rnn", nonlinearity, rho,
                                    *measure(model, x, g)))
    if lstm:
        for bias in (0.0, 3.0):
            lstm_model = nn.LSTM(input_size, H, seed=seed)  # (with a bias: the default)
            assert lstm_model.b is not None
            lstm_model.b.data[H:2 * H] = bias  # gate order i, f, g, o: the forget gate's bias
            head = nn.Linear(H, input_size, seed=seed)
            curves.append(FlowCurve(f"LSTM, forget bias {bias:g}", "lstm", None, None,
                                    *measure(lstm_model, x, g,
                                             lambda hs, head=head: head(stack(hs)))))
    results = FlowResults(T, H, curves)
    if clip:
        results.clip_runs, results.clip_setup = clip_experiment(T=T, H=H, seed=seed)
    return results


def clip_experiment(radius: float = 1.5, nonlinearity: str = "relu", T: int = 50, H: int = 32,
                    steps: int = 100, lr: float = 0.05, max_norm: float = 1.0, batch: int = 8,
                    input_size: int = 4, seed: int = 0) -> tuple[list[ClipRun], dict]:
    """SGD on an echo task (y_t = x_{t−1}) with an exploding W, without and with
    `nn.utils.clip_grad_norm_`. A run stops at the first non-finite loss."""
    x, _ = _task(T, batch, input_size, seed)
    g = np.concatenate([np.zeros_like(x.data[:1]), x.data[:-1]])
    runs = [_train(x, g, radius, nonlinearity, H, steps, lr, limit, seed)
            for limit in (None, max_norm)]
    setup = {"radius": radius, "nonlinearity": nonlinearity, "T": T, "H": H, "lr": lr,
             "max_norm": max_norm, "batch": batch, "task": "echo y_t = x_{t-1}"}
    return runs, setup


def _train(x: Tensor, g: np.ndarray, radius: float, nonlinearity: str, H: int, steps: int,
           lr: float, max_norm: float | None, seed: int) -> ClipRun:
    I, B = x.shape[2], x.shape[1]
    model = nn.ElmanRNN(I, H, I, nonlinearity=nonlinearity, spectral_radius=radius, seed=seed)
    opt = optim.SGD(model.parameters(), lr=lr)
    losses, norms = [], []
    with np.errstate(all="ignore"):  # the unclipped run is expected to overflow
        for _ in range(steps):
            opt.zero_grad()
            ys, _ = model(x)
            loss = squared_error(ys, g) * (1.0 / B)
            loss.backward()
            # With T=1, h_0 = 0 so W is never used and gets no gradient: it adds 0 to the norm.
            grads = [p.grad for p in model.parameters() if p.grad is not None]
            total = float(np.sqrt(sum(float(np.vdot(d, d)) for d in grads)))
            if max_norm is not None:  # (it skips the parameters without a gradient too)
                nn.utils.clip_grad_norm_(model.parameters(), max_norm)
            losses.append(loss.item())
            norms.append(total)
            if not (np.isfinite(losses[-1]) and np.isfinite(total)):
                break
            opt.step()
    label = "no clipping" if max_norm is None else f"clip_grad_norm_(max_norm={max_norm:g})"
    return ClipRun(label, max_norm, np.array(losses), np.array(norms))


def format_table(results: FlowResults, distances: Sequence[int] = (0, 5, 10, 20, 30, 49)) -> str:
    """A text table: ‖∂E/∂h_t‖ and ‖∂h_T/∂h_k‖ at some distances T−t from the loss."""
    distances = [d for d in distances if d < results.T]
    head = f"{'model':<26}" + "".join(f"{'d=' + str(d):>10}" for d in distances)
    head += f"{'factor':>9}"
    lines = []
    for title, attr in (("‖∂E/∂h_t‖ (E on the last step)", "grad_norms"),
                        ("‖∂h_T/∂h_k‖₂ (spectral norm)", "jac_norms")):
        lines += [title, head, "-" * len(head)]
        for c in results.curves:
            values = getattr(c, attr)
            cells = "".join(f"{values[results.T - 1 - d]:>10.2e}" for d in distances)
            lines.append(f"{c.label:<26}{cells}{per_step_factor(values):>9.3f}")
        lines.append("")
    lines.append("d: steps back from the loss (T − t, or T − k). factor: the fitted per-step "
                 "growth (> 1) or decay (< 1) of the norm going back in time.")
    for run in results.clip_runs:
        end = run.losses[-1]
        status = (f"diverged (loss {end:.3g}) at step {len(run.losses) - 1}"
                  if not np.isfinite(end) else f"loss {run.losses[0]:.3g} → {end:.3g}")
        lines.append(f"SGD, {run.label:<34} first |grad| {run.grad_norms[0]:.2e}; {status}")
    return "\n".join(lines)
