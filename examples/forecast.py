"""Forecasting a real series: the notes' window baseline against the Elman RNN.

Data: monthly Niño 1+2 sea-surface temperature 1950-2010 (`tinygrad_rnn.data`, "elnino").
The last 20% of the months are held out. Every model predicts each held-out month from the
months before it (one step ahead), and all three are scored on exactly the same months:

  persistence   next month = this month (the naive forecast to beat)
  window MLP    the notes' "feed back the N previous outputs" feed-forward network:
                the last `window` months → a tanh MLP → next month (full-batch Adam)
  Elman RNN     h_t = tanh(U x_t + W h_{t−1} + b), y_t = V h_t + c, trained with truncated BPTT
                over the training months; at test time it reads the whole series in order

Values are standardized with statistics of the training part only; errors are in °C.

    python examples/forecast.py --out pictures/ [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a clone, uninstalled

from tinygrad_rnn import Tensor, data, nn, no_grad, optim  # noqa: E402
from tinygrad_rnn.cli.errors import (  # noqa: E402  the command line's checks
    CLIError,
    nonnegative_int,
    positive_int,
    writable,
)
from tinygrad_rnn.functional import mse_loss, squared_error  # noqa: E402
from tinygrad_rnn.io import atomic_write  # noqa: E402
from tinygrad_rnn.train import tbptt  # noqa: E402

SERIES = "elnino"
TEST_FRACTION = 0.2
STYLES = {"persistence": ("tab:gray", ":"), "window MLP": ("tab:blue", "-"),
          "Elman RNN": ("tab:red", "-")}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for the pictures")
    parser.add_argument("--quick", action="store_true", help="a few seconds, for smoke tests")
    parser.add_argument("--window", type=positive_int, default=12,
                        help="months the MLP sees (12)")
    parser.add_argument("--hidden", type=positive_int, default=32,
                        help="hidden units, both models (32)")
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="first seed (0)")
    parser.add_argument("--seeds", type=positive_int, default=5,
                        help="runs with seeds seed, seed+1, ... (5)")
    parser.add_argument("--force", action="store_true", help="overwrite an earlier picture")
    args = parser.parse_args(argv)
    try:  # refused before any training, like the command line: nothing overwritten blindly
        args.picture = writable(Path(args.out) / "forecast.png", args.force, "--out")
    except CLIError as e:
        parser.error(str(e))
    return args


def prepare() -> dict:
    """The series, its train/test split point, and the standardized series (fit on train)."""
    series = data.load_series(SERIES)
    train, _ = data.train_test_split(series, test_fraction=TEST_FRACTION)
    scaler = data.Standardizer().fit(train)
    return {"series": series, "n_train": len(train), "scaler": scaler,
            "z": scaler.transform(series)}


def persistence(d: dict) -> tuple[np.ndarray, np.ndarray]:
    """Held-out indices n (all test months) and the forecast series[n − 1]."""
    idx = np.arange(d["n_train"], len(d["series"]))
    return idx, d["series"][idx - 1]


def fit_window_mlp(d: dict, window: int, hidden: int, steps: int, seed: int):
    """Train on windows whose target lies in the training part; forecast every test month."""
    inputs, targets = data.make_windows(d["z"], window)  # targets[i] = z[i + window]
    target_idx = np.arange(len(targets)) + window
    train = target_idx < d["n_train"]
    mlp = nn.MLP([window, hidden, 1], activation="tanh", seed=seed)
    opt = optim.Adam(mlp.parameters(), lr=1e-2)
    x, y = Tensor(inputs[train]), Tensor(targets[train][:, None])
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = mse_loss(mlp(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with no_grad():
        pred = mlp(Tensor(inputs[~train])).numpy()[:, 0]
    return target_idx[~train], d["scaler"].inverse_transform(pred), losses


def fit_rnn(d: dict, hidden: int, epochs: int, chunk: int, seed: int):
    """Truncated BPTT over the training months (one stream); forecast by reading the series."""
    z = d["z"]
    rnn = nn.ElmanRNN(1, hidden, 1, seed=seed)
    opt = optim.Adam(rnn.parameters(), lr=3e-3)
    x_train = z[: d["n_train"] - 1].reshape(-1, 1, 1)  # (T, B=1, 1): month t → month t + 1
    y_train = z[1: d["n_train"]].reshape(-1, 1, 1)
    losses = []
    for _ in range(epochs):
        result = tbptt(rnn, x_train, y_train, squared_error, opt, chunk_len=chunk, clip=5.0)
        losses.append(result.total_loss * 2 / len(x_train))  # per-month mean squared error
    with no_grad():  # run over the whole series; ys[t] forecasts month t + 1
        ys, _ = rnn(Tensor(z[:-1].reshape(-1, 1, 1)))
    idx = np.arange(d["n_train"], len(z))
    pred = ys.numpy()[idx - 1, 0, 0]
    return idx, d["scaler"].inverse_transform(pred), losses


def scores(truth: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    err = pred - truth
    return float(np.sqrt(np.mean(err ** 2))), float(np.mean(np.abs(err)))


def plot(d: dict, forecasts: dict, losses: dict, path: Path, force: bool = False) -> None:
    """Held-out months (truth and forecasts), forecast errors, and the training curves."""
    fig = Figure(figsize=(10, 9), layout="constrained")
    ax, ax_err, ax_loss = fig.subplots(3, 1, height_ratios=[3, 2, 2])
    truth_idx = forecasts["persistence"][0]
    ax.plot(1950 + truth_idx / 12, d["series"][truth_idx], color="black", lw=2.2, label="truth")
    for name, (idx, pred) in forecasts.items():
        color, ls = STYLES[name]
        years = 1950 + idx / 12
        ax.plot(years, pred, color=color, ls=ls, lw=1.4, label=name)
        ax_err.plot(years, pred - d["series"][idx], color=color, ls=ls, lw=1.2, label=name)
    ax.set(title="Niño 1+2 SST, held-out months: one-step-ahead forecasts (seed 0)",
           xlabel="year", ylabel="°C")
    ax.legend(ncols=4, loc="upper left")
    ax_err.axhline(0, color="black", lw=0.8)
    ax_err.set(title="forecast − truth", xlabel="year", ylabel="°C")
    for name, curve in losses.items():
        ax_loss.plot(np.linspace(0, 1, len(curve)), curve, color=STYLES[name][0], label=name)
    ax_loss.set(yscale="log", title="training loss (standardized units, training months only)",
                xlabel="fraction of training", ylabel="mean squared error")
    ax_loss.legend()
    atomic_write(path, lambda f: fig.savefig(f, dpi=100, format="png"), exclusive=not force)


def run_seed(d: dict, args: argparse.Namespace, seed: int) -> tuple[dict, dict]:
    """All three forecasts (name → (held-out indices, °C)) and the two training curves."""
    mlp_steps, rnn_epochs = (60, 3) if args.quick else (1500, 60)
    forecasts = {"persistence": persistence(d)}
    *forecasts["window MLP"], mlp_losses = fit_window_mlp(d, args.window, args.hidden,
                                                          mlp_steps, seed)
    *forecasts["Elman RNN"], rnn_losses = fit_rnn(d, args.hidden, rnn_epochs, 24, seed)
    forecasts = {k: tuple(v) for k, v in forecasts.items()}
    return forecasts, {"window MLP": mlp_losses, "Elman RNN": rnn_losses}


def month_name(index: int) -> str:
    """Series index → "YYYY-MM" (the series starts in January 1950)."""
    return f"{1950 + index // 12}-{index % 12 + 1:02d}"


def report(d: dict, runs: list[tuple[dict, dict]]) -> dict:
    """Print RMSE/MAE per model (mean and range over seeds); return them."""
    n_train, n = d["n_train"], len(d["series"])
    print(f"El Niño 1+2 SST: {n} months, train {n_train}, held out the last {n - n_train} "
          f"({month_name(n_train)} to {month_name(n - 1)}); one-step-ahead forecasts, errors "
          f"in °C, mean over {len(runs)} seed(s) [min-max]")
    print(f"{'model':<12} {'RMSE °C':>21} {'MAE °C':>21}  RMSE / persistence")
    table = {}
    for name in runs[0][0]:
        per_seed = np.array([scores(d["series"][f[name][0]], f[name][1]) for f, _ in runs])
        table[name] = {"rmse": float(per_seed[:, 0].mean()), "mae": float(per_seed[:, 1].mean()),
                       "rmse_per_seed": per_seed[:, 0].tolist(),
                       "mae_per_seed": per_seed[:, 1].tolist()}
    base = table["persistence"]["rmse"]
    for name, row in table.items():
        cells = [f"{np.mean(v):.3f} [{np.min(v):.3f}-{np.max(v):.3f}]"
                 for v in (row["rmse_per_seed"], row["mae_per_seed"])]
        print(f"{name:<12} {cells[0]:>21} {cells[1]:>21}  {row['rmse'] / base:5.2f}")
    return table


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    start = time.perf_counter()
    d = prepare()
    seeds = range(args.seed, args.seed + (1 if args.quick else args.seeds))
    runs = [run_seed(d, args, seed) for seed in seeds]
    table = report(d, runs)
    picture = args.picture
    plot(d, *runs[0], picture, args.force)
    seconds = time.perf_counter() - start
    print(f"(window = {args.window} months, hidden = {args.hidden}, {len(runs)} seed(s); "
          f"{seconds:.1f} s) wrote {picture}")
    forecasts, losses = runs[0]
    return {"scores": table, "test_indices": {k: v[0] for k, v in forecasts.items()},
            "losses": losses, "pictures": [picture], "seconds": seconds}


if __name__ == "__main__":
    try:
        main()
    except ValueError as e:  # a setting the data cannot take: one line, like the command line
        sys.exit(f"{Path(__file__).name}: error: {e}")
