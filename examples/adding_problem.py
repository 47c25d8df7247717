"""Long-range memory: the Elman RNN against the LSTM on the adding problem as the lag grows.

Each input sequence has T steps of [value, marker]: values uniform in [0, 1], exactly two
markers (one in each half). The target, given only after the last step, is the sum of the
two marked values, so the network must hold the first marked value for up to T steps.
Predicting the mean 1.0 scores MSE ≈ 1/6 ≈ 0.167: that is the bar a model has to clear to show
it remembers anything at all.

  Elman RNN   the notes' model h_t = tanh(U x_t + W h_{t−1} + b), y = V h_T + c
  LSTM        nn.LSTM (forget-gate bias initialised to 1, the usual choice) + a Linear head

Both: 32 hidden units, fresh batches of 64 every step, Adam (lr 0.01), gradient norm clipped
to 1, the same number of steps for every lag. Each is scored on 1000 held-out sequences.

    python examples/adding_problem.py --out pictures/ [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# Before numpy loads OpenBLAS: these matrices are small, and BLAS threads only fight over the
# cores (measured: the input-projection gradient, (2, 3200) @ (3200, 128), took 100 ms with
# threads on a busy 2-core machine and 0.3 ms without; the whole run 4x less CPU time).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a clone, uninstalled

from tinygrad_rnn import Tensor, data, nn, no_grad, optim  # noqa: E402
from tinygrad_rnn.cli.errors import (  # noqa: E402  the command line's checks
    CLIError,
    nonnegative_int,
    positive_int,
    writable,
)
from tinygrad_rnn.functional import mse_loss  # noqa: E402
from tinygrad_rnn.io import atomic_write  # noqa: E402
from tinygrad_rnn.train import tbptt_step  # noqa: E402

HIDDEN, BATCH, LR, CLIP = 32, 64, 1e-2, 1.0
TOLERANCE = 0.04  # Hochreiter & Schmidhuber (1997): a sequence is solved if |error| < 0.04
TEST_SEED = 10**6  # the training batches use seeds 1, 2, ...; the test set never overlaps
COLORS = {"Elman RNN": "tab:red", "LSTM": "tab:blue"}


class ElmanLast(nn.Module):
    """The notes' Elman RNN read out at the last step only: y = V h_T + c.

    x (T, B, 2) → (y (B, 1), h_T), the (output, state) pair every recurrent model returns."""

    def __init__(self, hidden: int, seed: int) -> None:
        super().__init__()
        self.net = nn.ElmanRNN(2, hidden, 1, seed=seed)

    def forward(self, x: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        ys, h = self.net(x, state)
        return ys[-1], h


class LSTMLast(nn.Module):
    """LSTM, then a Linear head on h_T. x (T, B, 2) → (y (B, 1), (h_T, c_T))."""

    def __init__(self, hidden: int, seed: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(2, hidden, seed=seed)
        self.lstm.b.data[hidden: 2 * hidden] = 1.0  # gate order i, f, g, o: remember by default
        self.head = nn.Linear(hidden, 1, seed=seed + 1)

    def forward(self, x: Tensor, state: tuple | None = None) -> tuple[Tensor, tuple]:
        _, (h_T, c_T) = self.lstm(x, state)
        return self.head(h_T), (h_T, c_T)


MODELS = {"Elman RNN": ElmanLast, "LSTM": LSTMLast}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for the pictures")
    parser.add_argument("--quick", action="store_true", help="a few seconds, for smoke tests")
    parser.add_argument("--lags", type=lag, nargs="+", default=None,
                        help="sequence lengths T (default 10 25 50; quick 5 10)")
    parser.add_argument("--steps", type=positive_int, default=None,
                        help="training steps per model and lag (default 600; quick 30)")
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (0)")
    parser.add_argument("--force", action="store_true", help="overwrite an earlier picture")
    args = parser.parse_args(argv)
    try:  # refused before any training, like the command line: nothing overwritten blindly
        args.picture = writable(Path(args.out) / "adding_problem.png", args.force, "--out")
    except CLIError as e:
        parser.error(str(e))
    return args


def lag(text: str) -> int:
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be at least 2 (two marked values), got {text}")
    return value


def evaluate(model: nn.Module, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Test MSE and the fraction of sequences with |error| < TOLERANCE."""
    with no_grad():
        pred = model(Tensor(x))[0].numpy()
    err = pred - y
    return float(np.mean(err ** 2)), float(np.mean(np.abs(err) < TOLERANCE))


def train(name: str, T: int, steps: int, test: tuple, seed: int) -> dict:
    """Train one model at one lag; the test MSE is recorded 10 times along the way."""
    model = MODELS[name](HIDDEN, seed)
    opt = optim.Adam(model.parameters(), lr=LR)
    curve, every = [], max(1, steps // 10)
    start = time.perf_counter()
    for step in range(1, steps + 1):
        x, y = data.adding_problem(T, BATCH, seed=seed * 100_000 + step)
        # one truncated-BPTT step whose chunk is the whole sequence: full BPTT from h_0 = 0
        tbptt_step(model, x, y, mse_loss, opt, clip=CLIP)
        if step % every == 0 or step == steps:
            curve.append((step, evaluate(model, *test)[0]))
    mse, solved = evaluate(model, *test)
    return {"mse": mse, "solved": solved, "curve": curve, "seconds": time.perf_counter() - start}


def plot(results: dict, lags: list[int], baselines: dict, path: Path, force: bool = False
         ) -> None:
    """Left: final test MSE relative to the baseline against T. Right: learning curves."""
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    ax, ax_curve = fig.subplots(1, 2)
    for name, color in COLORS.items():
        rel = [results[name, T]["mse"] / baselines[T] for T in lags]
        ax.plot(lags, rel, "o-", color=color, lw=2, ms=7, label=name)
        for T, ls in zip(lags, ("-", "--", ":", "-.") * 3):
            steps, mse = zip(*results[name, T]["curve"])
            ax_curve.plot(steps, np.array(mse) / baselines[T], color=color, ls=ls,
                          label=f"{name}, T = {T}")
    for a in (ax, ax_curve):
        a.axhline(1.0, color="black", ls="--", lw=1)
        a.set(yscale="log", ylabel="test MSE / MSE of predicting 1.0")
    ax.text(lags[0], 0.8, "baseline: predict 1.0", fontsize=9, va="top")
    ax.set(title="after training: lower is better", xlabel="lag T (sequence length)",
           xticks=lags)
    ax.legend()
    ax_curve.set(title="test error while training", xlabel="training step (batch of 64)")
    ax_curve.legend(fontsize=8, ncols=2)
    atomic_write(path, lambda f: fig.savefig(f, dpi=100, format="png"), exclusive=not force)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    lags = args.lags or ([5, 10] if args.quick else [10, 25, 50])
    steps = args.steps or (30 if args.quick else 600)
    n_test = 200 if args.quick else 1000
    start = time.perf_counter()
    print(f"Adding problem: {steps} steps of batch {BATCH} per model and lag, hidden {HIDDEN}; "
          f"{n_test} test sequences per lag. 'solved' = share with |error| < {TOLERANCE}.")
    print(f"{'T':>4} {'model':<11} {'test MSE':>9} {'/ baseline':>11} {'solved':>7} {'time':>6}")
    results, baselines = {}, {}
    for T in lags:
        test = data.adding_problem(T, n_test, seed=TEST_SEED + T)
        baselines[T] = float(np.mean((test[1] - 1.0) ** 2))
        for name in MODELS:
            r = results[name, T] = train(name, T, steps, test, args.seed)
            print(f"{T:>4} {name:<11} {r['mse']:>9.4f} {r['mse'] / baselines[T]:>10.3f}x "
                  f"{r['solved']:>6.0%} {r['seconds']:>5.1f}s", flush=True)
        print(f"{T:>4} {'predict 1.0':<11} {baselines[T]:>9.4f} {1:>10.3f}x")
    picture = args.picture
    plot(results, lags, baselines, picture, args.force)
    seconds = time.perf_counter() - start
    print(f"({seconds:.1f} s) wrote {picture}")
    return {"results": results, "baselines": baselines, "lags": lags, "pictures": [picture],
            "seconds": seconds}


if __name__ == "__main__":
    try:
        main()
    except ValueError as e:  # a setting the data cannot take: one line, like the command line
        sys.exit(f"{Path(__file__).name}: error: {e}")
