"""Engine overhead against bare numpy, measured in one process (a script, not a timed test).

    python benchmarks/bench_engine.py [--quick]

Table 1, per op on a 1-element tensor and on (128, 128) tensors: the median time of the bare
numpy forward, of the engine forward (graph recorded), and of forward + backward, each as a
ratio to the numpy version of the same work (the forward, resp. forward plus the hand-written
numpy backward). Goal: at most about 2x on small ops, about 1x on large ones.
Table 2, backward through chains of 1e3, 1e4, 1e5 nodes: the µs per node must stay flat
(linear growth of the total).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

# One BLAS thread for both sides: on a shared 2-core machine, multithreaded BLAS timings of the
# same matmul swing by 100x from run to run, which would drown the engine's overhead.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tinygrad_rnn import Tensor  # noqa: E402
from tinygrad_rnn.memory import keep_freed_memory  # noqa: E402


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-a))


# name -> (numpy forward, numpy forward + backward given g, engine forward); binary ops take 2.
OPS: dict[str, tuple[Callable, Callable, Callable]] = {
    "add": (lambda a, b: a + b,
            lambda a, b, g: (a + b, g, g),
            lambda x, y: x + y),
    "mul": (lambda a, b: a * b,
            lambda a, b, g: (a * b, g * b, g * a),
            lambda x, y: x * y),
    "matmul": (lambda a, b: a @ b,
               lambda a, b, g: (a @ b, g @ b.T, a.T @ g),
               lambda x, y: x @ y),
    "tanh": (lambda a, b: np.tanh(a),
             lambda a, b, g: (lambda o: (o, g * (1 - o * o)))(np.tanh(a)),
             lambda x, y: x.tanh()),
    "sigmoid": (lambda a, b: _sigmoid(a),
                lambda a, b, g: (lambda o: (o, g * o * (1 - o)))(_sigmoid(a)),
                lambda x, y: x.sigmoid()),
    "sum": (lambda a, b: a.sum(),
            lambda a, b, g: (a.sum(), np.broadcast_to(g, a.shape)),
            lambda x, y: x.sum()),
}


def median_us(fn: Callable[[], object], budget_s: float, repeats: int) -> float:
    """Median over `repeats` runs of the mean time per call, in µs (loop size auto-chosen)."""
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    number = max(1, int(budget_s / repeats / once))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number * 1e6)
    return statistics.median(samples)


def bench_op(name: str, shape: tuple[int, ...], budget_s: float, repeats: int) -> dict:
    np_fwd, np_fwd_bwd, engine_fwd = OPS[name]
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(shape), rng.standard_normal(shape)
    x, y = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    g = np.ones(np_fwd(a, b).shape)

    def engine_step() -> None:
        x.grad = y.grad = None
        engine_fwd(x, y).backward(g)

    return {
        "numpy": median_us(lambda: np_fwd(a, b), budget_s, repeats),
        "numpy_fb": median_us(lambda: np_fwd_bwd(a, b, g), budget_s, repeats),
        "fwd": median_us(lambda: engine_fwd(x, y), budget_s, repeats),
        "fwd_bwd": median_us(engine_step, budget_s, repeats),
    }


def bench_chain(n_nodes: int, repeats: int) -> tuple[float, float]:
    """Median forward and backward seconds for y = tanh(y) * c repeated until n_nodes nodes."""
    forwards, backwards = [], []
    for _ in range(repeats):
        x = Tensor(np.full(4, 0.5), requires_grad=True)
        start = time.perf_counter()
        y = x
        for _ in range(n_nodes // 2):
            y = y.tanh() * 1.0001
        forwards.append(time.perf_counter() - start)
        seed = np.ones(4)
        start = time.perf_counter()
        y.backward(seed)
        backwards.append(time.perf_counter() - start)
        del y
    return statistics.median(forwards), statistics.median(backwards)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (noisier numbers)")
    parser.add_argument("--default-malloc", action="store_true",
                        help="leave glibc's defaults (skip tinygrad_rnn.memory.keep_freed_memory)")
    args = parser.parse_args(argv)
    budget, repeats = (0.05, 5) if args.quick else (0.4, 9)
    kept = False if args.default_malloc else keep_freed_memory()
    print(f"glibc keeps freed memory (tinygrad_rnn.memory.keep_freed_memory): {kept}")

    print(f"per-op medians of {repeats} runs (µs per call); ratio = engine / numpy; "
          f"BLAS threads: {os.environ['OPENBLAS_NUM_THREADS']}")
    print(f"{'op':8} {'size':>10} {'numpy':>9} {'fwd':>9} {'ratio':>6}   "
          f"{'numpy f+b':>9} {'fwd+bwd':>9} {'ratio':>6}")
    for shape in [(1, 1), (128, 128)]:
        for name in OPS:
            r = bench_op(name, shape, budget, repeats)
            print(f"{name:8} {str(shape):>10} {r['numpy']:9.2f} {r['fwd']:9.2f} "
                  f"{r['fwd'] / r['numpy']:5.1f}x   {r['numpy_fb']:9.2f} {r['fwd_bwd']:9.2f} "
                  f"{r['fwd_bwd'] / r['numpy_fb']:5.1f}x")

    print("note: a large fwd+bwd pays for the leaf .grad copies and, with --default-malloc,\n"
          "for page faults: glibc returns freed 128 KB blocks to the OS and faults them back.")

    print("\nchains y = tanh(y) * c on shape (4,): medians; backward must grow linearly, so "
          "µs/node stays flat")
    print(f"{'nodes':>8} {'forward ms':>11} {'backward ms':>12} {'bwd µs/node':>12} "
          f"{'vs 1e3':>7}")
    first = None
    for n_nodes in (1_000, 10_000, 100_000):
        fwd, bwd = bench_chain(n_nodes, max(3, (3_000 if args.quick else 30_000) // n_nodes))
        per_node = bwd / n_nodes * 1e6
        first = first or per_node
        print(f"{n_nodes:8d} {fwd * 1e3:11.1f} {bwd * 1e3:12.1f} {per_node:12.2f} "
              f"{per_node / first:6.2f}x")


if __name__ == "__main__":
    main()
