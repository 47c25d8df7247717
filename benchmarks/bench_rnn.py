"""RNN training-step benchmark: the engine against the hand-written numpy BPTT oracle.

One training step of the notes' model y_t = V h_t + c, h_t = tanh(U x_t + W h_{t-1} + b):
forward over T steps, the notes' loss E = ½ Σ ||y_t − g_t||², full BPTT and an SGD step.

    (a) engine  nn.ElmanRNN(I, H, O=I) + functional.squared_error + backward + optim.SGD.step
    (b) numpy   testing.reference.numpy_rnn_train_step: BPTT written by hand (the baseline)
    (c) torch   the same primitive loop in PyTorch eager, only if `import torch` works

All run in this process on identical parameters and data. The runs are interleaved
(engine, numpy, torch, engine, numpy, torch, ...) and repeated; the table shows medians of
the per-step time and the ratio engine/numpy against the targets. Before timing, each size
checks once (float64) that the engine's gradients equal the oracle's, so both sides do the
same computation.

    python benchmarks/bench_rnn.py [--quick] [--repeat N] [--sizes small,medium,large]
                                   [--default-malloc] [--record-grads]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tinygrad_rnn import Tensor, nn, optim, record_grads  # noqa: E402
from tinygrad_rnn.functional import squared_error  # noqa: E402
from tinygrad_rnn.memory import keep_freed_memory  # noqa: E402
from tinygrad_rnn.testing.reference import (  # noqa: E402
    numpy_rnn_forward_backward,
    numpy_rnn_train_step,
)

try:  # optional third column; never installed by this project
    import torch
except ImportError:
    torch = None

LR = 1e-5  # small, so that repeated steps keep the parameters (and the work) the same


@dataclass(frozen=True)
class Size:
    name: str
    B: int
    I: int
    H: int
    T: int
    target: float  # engine/numpy ratio to stay within


SIZES = {
    "small": Size("small", B=1, I=1, H=16, T=50, target=8.0),
    "medium": Size("medium", B=32, I=16, H=128, T=50, target=1.5),
    "large": Size("large", B=64, I=64, H=512, T=100, target=1.5),
}


def make_problem(size: Size, dtype: type, seed: int = 0):
    """An ElmanRNN (O = I), its parameters as a dict of numpy copies, and data x, g."""
    model = nn.ElmanRNN(size.I, size.H, size.I, seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((size.T, size.B, size.I)).astype(dtype)
    g = rng.standard_normal((size.T, size.B, size.I)).astype(dtype)
    params = {k: v.copy() for k, v in model.state_dict().items()}
    return model, params, x, g


RECORD_GRADS = False  # a training loop that draws nothing; --record-grads measures the default


def engine_step_fn(model: nn.ElmanRNN, x: np.ndarray, g: np.ndarray) -> Callable[[], float]:
    opt = optim.SGD(model.parameters(), lr=LR)
    xt, gt = Tensor(x), Tensor(g)

    def step() -> float:
        opt.zero_grad()
        ys, _ = model(xt)
        loss = squared_error(ys, gt)
        with record_grads(RECORD_GRADS):
            loss.backward()
        opt.step()
        return loss.item()
    return step


def numpy_step_fn(params: dict, x: np.ndarray, g: np.ndarray) -> Callable[[], float]:
    return lambda: numpy_rnn_train_step(x, g, params, LR)


def torch_step_fn(params: dict, x: np.ndarray, g: np.ndarray) -> Callable[[], float] | None:
    """PyTorch eager running the same primitive loop (hoisted input/output matmuls)."""
    if torch is None:
        return None
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    xt, gt = torch.from_numpy(x), torch.from_numpy(g)
    opt = torch.optim.SGD(list(p.values()), lr=LR)
    T, B, I = x.shape

    def step() -> float:
        opt.zero_grad()
        xp = (xt.reshape(T * B, I) @ p["U"].T + p["b"]).reshape(T, B, -1)
        h, hs, WT = None, [], p["W"].T
        for xp_t in xp.unbind(0):
            h = torch.tanh(xp_t) if h is None else torch.tanh(xp_t + h @ WT)
            hs.append(h)
        ys = (torch.stack(hs).reshape(T * B, -1) @ p["V"].T + p["c"]).reshape(T, B, -1)
        loss = 0.5 * ((ys - gt) ** 2).sum()
        loss.backward()
        opt.step()
        return loss.item()
    return step


def check_same_computation(size: Size) -> float:
    """Max relative difference between engine and oracle gradients (float64); raises if > 1e-9."""
    model, params, x, g = make_problem(size, np.float64, seed=123)
    model.zero_grad()
    ys, _ = model(Tensor(x))
    loss = squared_error(ys, Tensor(g))
    loss.backward()
    E, grads = numpy_rnn_forward_backward(x, g, *(params[k] for k in ("U", "W", "b", "V", "c")))
    worst = abs(loss.item() - E) / max(abs(E), 1e-300)
    for name, p in model.named_parameters():
        scale = max(float(np.abs(grads[name]).max()), 1e-300)
        worst = max(worst, float(np.abs(p.grad - grads[name]).max()) / scale)
    if worst > 1e-9:
        raise AssertionError(f"{size.name}: engine and numpy oracle disagree (max relative "
                             f"difference {worst:.2e}); the benchmark would compare different "
                             "computations")
    return worst


def calibrate(step: Callable[[], float], budget_s: float) -> int:
    """Steps per round so that one round takes about budget_s (at least 1)."""
    start = time.perf_counter()
    step()
    once = time.perf_counter() - start
    return max(1, min(100, int(budget_s / max(once, 1e-6))))


def time_steps(step: Callable[[], float], n: int, out: list[float]) -> None:
    """Append the milliseconds of each of n consecutive steps (gc stays on, as in training)."""
    for _ in range(n):
        start = time.perf_counter()
        step()
        out.append((time.perf_counter() - start) * 1e3)


def bench(size: Size, dtype: type, repeat: int, budget_s: float) -> dict[str, float]:
    """Interleaved rounds; returns the median ms/step per contender over all timed steps.

    The median of single steps (not of blocks) is robust to the multi-100-ms stalls that
    other processes on this 2-core machine cause now and then in threaded BLAS calls.
    """
    model, params, x, g = make_problem(size, dtype)
    steps = {"engine": engine_step_fn(model, x, g),
             "numpy": numpy_step_fn({k: v.copy() for k, v in params.items()}, x, g)}
    torch_step = torch_step_fn(params, x, g)
    if torch_step is not None:
        steps["torch"] = torch_step
    for step in steps.values():  # warm up (allocations, BLAS threads, caches)
        step()
    counts = {name: calibrate(step, budget_s) for name, step in steps.items()}
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeat):
        for name, step in steps.items():
            gc.collect()
            time_steps(step, counts[name], times[name])
    return {name: statistics.median(ts) for name, ts in times.items()}


def machine_note() -> str:
    blas = {k: v for k, v in os.environ.items() if "BLAS" in k or k.startswith("OMP_")}
    return (f"python {platform.python_version()}, numpy {np.__version__}, "
            f"{os.cpu_count()} CPUs, {platform.machine()}, torch "
            f"{torch.__version__ if torch else 'not installed'}, env {blas or '{}'}")


def format_row(size: Size, dtype: type, med: dict[str, float]) -> str:
    ratio = med["engine"] / med["numpy"]
    verdict = "PASS" if ratio <= size.target else "MISS"
    torch_cols = ""
    if "torch" in med:
        torch_cols = f" {med['torch']:10.3f} {med['torch'] / med['numpy']:7.2f}x"
    shape = f"B={size.B} I={size.I} H={size.H} T={size.T}"
    return (f"{size.name:<7} {shape:<24} {np.dtype(dtype).name:<8} {med['engine']:10.3f} "
            f"{med['numpy']:10.3f}{torch_cols} {ratio:7.2f}x  <= {size.target:g}x  {verdict}")


def header() -> str:
    torch_cols = f" {'torch ms':>10} {'torch/np':>8}" if torch is not None else ""
    return (f"{'size':<7} {'shape':<24} {'dtype':<8} {'engine ms':>10} {'numpy ms':>10}"
            f"{torch_cols} {'eng/np':>8}  {'target':<8} result")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds, short ones")
    parser.add_argument("--repeat", type=int, default=None, help="interleaved rounds")
    parser.add_argument("--sizes", default="small,medium,large", help="comma-separated subset")
    parser.add_argument("--default-malloc", action="store_true",
                        help="leave glibc's defaults (skip tinygrad_rnn.memory.keep_freed_memory)")
    parser.add_argument("--record-grads", action="store_true",
                        help="keep every node's gradient for viz (the default outside training)")
    args = parser.parse_args(argv)
    repeat = args.repeat or (3 if args.quick else 9)
    budget = 0.05 if args.quick else 0.25
    sizes = [SIZES[name] for name in args.sizes.split(",")]
    print(f"# {time.strftime('%Y-%m-%d %H:%M')}  {machine_note()}")
    global RECORD_GRADS
    RECORD_GRADS = args.record_grads
    kept = False if args.default_malloc else keep_freed_memory()
    print(f"# glibc keeps freed memory (tinygrad_rnn.memory.keep_freed_memory, as the CLI does): "
          f"{kept}; engine backward runs with record_grads({RECORD_GRADS})")
    print(f"# median ms per training step over {repeat} interleaved rounds; lower ratio is better")
    for size in sizes:
        print(f"# {size.name}: engine vs oracle gradients agree to "
              f"{check_same_computation(size):.1e} (float64, max relative difference)")
    print(header())
    missed = 0
    for size in sizes:
        for dtype in (np.float64, np.float32):
            med = bench(size, dtype, repeat, budget)
            print(format_row(size, dtype, med), flush=True)
            missed += med["engine"] / med["numpy"] > size.target
    print(f"# {missed} target(s) missed" if missed else "# all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
