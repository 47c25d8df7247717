"""The cost of a Hessian-vector product of the RNN loss, as a multiple of one training step.

The model is the notes' Elman RNN, nn.ElmanRNN(I, H, O = I), float64, with the notes' loss
E = ½ Σ_t ‖y_t − g_t‖² (functional.squared_error). Two contenders, in one process, on the same
model and data:

    step   one first-order training step: zero_grad, forward, E.backward(), optim.SGD.step()
           (lr 1e-5, so that repeated steps keep the work the same)
    hvp    func.hvp(E, all five parameters, five random tangents): forward, the gradient with
           create_graph=True, then the backward of ⟨∇E, v⟩ through the gradient's graph and
           the forward graph (reverse over reverse). Everything func.hvp does is timed,
           including its fresh copies of the primals.

They run in interleaved rounds; each round alternates single calls (step, hvp, step, hvp,
...: about 1 s worth, at least 3 pairs), so that both see the same machine load. Reported:
the median ms of all single calls of each, the ratio hvp / step of those medians (the target
is ≤ 4×), and the spread: the lowest and highest ratio of per-round medians. BLAS runs
single-threaded unless --threads N. Before timing, the hvp is checked once against central
differences of the gradient (H v ≈ (∇E(θ + εv) − ∇E(θ − εv)) / 2ε), so the timed code
computes the right thing.

--profile adds where the time goes: medians of the phases of each (forward, backward with and
without create_graph, the second backward, the SGD step), and cProfile's top functions of the
hvp by own time.

    python benchmarks/bench_hvp.py [--quick] [--repeat N] [--threads N] [--profile]
                                   [--size B,I,H,T]
"""

from __future__ import annotations

import os
import sys

from _threads import set_blas_threads  # noqa: E402  (before numpy)

THREADS = set_blas_threads(sys.argv[1:])

import argparse  # noqa: E402
import cProfile  # noqa: E402
import platform  # noqa: E402
import pstats  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tinygrad_rnn as tg  # noqa: E402
from tinygrad_rnn import Tensor, func, nn, optim  # noqa: E402
from tinygrad_rnn.functional import squared_error  # noqa: E402

LR = 1e-5
TARGET = 4.0


class Problem:
    """The model, the data, a tangent per parameter, and the two timed calls."""

    def __init__(self, B: int, I: int, H: int, T: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.model = nn.ElmanRNN(I, H, I, seed=seed)
        self.x = Tensor(rng.standard_normal((T, B, I)))
        self.g = Tensor(rng.standard_normal((T, B, I)))
        self.names = [n for n, _ in self.model.named_parameters()]
        self.params = [p for _, p in self.model.named_parameters()]
        self.tangents = tuple(rng.standard_normal(p.shape) for p in self.params)
        self.opt = optim.SGD(self.model.parameters(), lr=LR)

    def loss(self, *params: Tensor) -> Tensor:
        ys, _ = nn.functional_call(self.model, dict(zip(self.names, params)), self.x)
        return squared_error(ys, self.g)

    def step(self) -> None:
        self.opt.zero_grad()
        ys, _ = self.model(self.x)
        squared_error(ys, self.g).backward()
        self.opt.step()

    def hvp(self) -> tuple:
        return func.hvp(self.loss, tuple(p.data for p in self.params), self.tangents)[1]

    def gradient(self, values: list[np.ndarray]) -> list[np.ndarray]:
        ts = [Tensor(v, requires_grad=True) for v in values]
        self.loss(*ts).backward()
        return [t.grad for t in ts]

    def check(self, eps: float = 1e-6) -> float:
        """The largest relative error of H v against central differences of the gradient."""
        values = [p.data.copy() for p in self.params]
        hv = [h.data for h in self.hvp()]
        plus = self.gradient([p + eps * v for p, v in zip(values, self.tangents)])
        minus = self.gradient([p - eps * v for p, v in zip(values, self.tangents)])
        numeric = [(a - b) / (2 * eps) for a, b in zip(plus, minus)]
        scale = max(float(np.abs(n).max()) for n in numeric)
        return max(float(np.abs(h - n).max()) for h, n in zip(hv, numeric)) / scale


def calibrate(call: Callable[[], object], budget_s: float) -> int:
    t0 = time.perf_counter()
    call()
    once = time.perf_counter() - t0
    return max(3, int(budget_s / max(once, 1e-9)))


def timed(call: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        call()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def bench(problem: Problem, repeat: int, budget_s: float) -> dict[str, object]:
    for _ in range(2):  # warm up: the engine's buffer cache, BLAS
        problem.step()
        problem.hvp()
    pairs = calibrate(lambda: (problem.step(), problem.hvp()), budget_s)
    steps: list[float] = []
    hvps: list[float] = []
    ratios = []
    for _ in range(repeat):  # one call of each, alternating: both see the same machine load
        s: list[float] = []
        h: list[float] = []
        for _ in range(pairs):
            s += timed(problem.step, 1)
            h += timed(problem.hvp, 1)
        steps += s
        hvps += h
        ratios.append(statistics.median(h) / statistics.median(s))
    step_ms, hvp_ms = statistics.median(steps), statistics.median(hvps)
    return {"step_ms": step_ms, "hvp_ms": hvp_ms, "ratio": hvp_ms / step_ms,
            "lo": min(ratios), "hi": max(ratios), "n_step": len(steps), "n_hvp": len(hvps)}


def phases(problem: Problem, n: int) -> None:
    """Medians of the phases of a training step and of an hvp (the hvp by hand, as func.hvp
    does it, so that each phase can be timed)."""
    model = problem.model

    def step_phases() -> list[float]:
        t = [time.perf_counter()]
        problem.opt.zero_grad()
        ys, _ = model(problem.x)
        E = squared_error(ys, problem.g)
        t.append(time.perf_counter())
        E.backward()
        t.append(time.perf_counter())
        problem.opt.step()
        t.append(time.perf_counter())
        return [(b - a) * 1e3 for a, b in zip(t, t[1:])]

    def hvp_phases() -> list[float]:
        t = [time.perf_counter()]
        xs = [Tensor(p.data.copy(), requires_grad=True) for p in problem.params]
        E = problem.loss(*xs)
        t.append(time.perf_counter())
        gs = tg.grad(E, xs, create_graph=True)
        t.append(time.perf_counter())
        dot = None
        for g, v in zip(gs, problem.tangents):
            term = (g * v).sum()
            dot = term if dot is None else dot + term
        t.append(time.perf_counter())
        tg.grad(dot, xs)
        t.append(time.perf_counter())
        return [(b - a) * 1e3 for a, b in zip(t, t[1:])]

    for _ in range(2):
        step_phases()
        hvp_phases()
    s_rows, h_rows = [], []
    for _ in range(n):
        s_rows.append(step_phases())
        h_rows.append(hvp_phases())
    s, h = np.median(s_rows, axis=0), np.median(h_rows, axis=0)
    print(f"\n# phases, median ms of {n} interleaved calls each")
    print(f"step: forward {s[0]:.2f}  backward {s[1]:.2f}  SGD step {s[2]:.2f}  "
          f"(sum {s.sum():.2f})")
    print(f"hvp:  forward {h[0]:.2f}  grad(create_graph=True) {h[1]:.2f}  ⟨g, v⟩ {h[2]:.2f}  "
          f"second grad {h[3]:.2f}  (sum {h.sum():.2f})")
    print(f"create_graph backward / plain backward: {h[1] / s[1]:.2f}x; "
          f"second grad / plain backward: {h[3] / s[1]:.2f}x")


def profile(problem: Problem, n: int, top: int = 18) -> None:
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        problem.hvp()
    prof.disable()
    print(f"\n# cProfile of {n} hvps, top {top} by own time (ms per hvp)")
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    rows = sorted(stats.items(), key=lambda kv: -kv[1][2])[:top]
    for (path, line, name), (_, nc, tt, ct, _) in rows:
        where = f"{Path(path).name}:{line}({name})" if line else name
        print(f"{tt / n * 1e3:8.2f} own {ct / n * 1e3:8.2f} cum {nc / n:8.0f} calls  {where}")


def machine_note() -> str:
    blas = "?"
    try:
        cfg = np.show_config(mode="dicts")  # type: ignore[call-arg]
        info = cfg["Build Dependencies"]["blas"]
        blas = f"{info.get('name')} {info.get('version')}"
    except Exception:  # noqa: BLE001 (older numpy: no dicts mode)
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  python "
            f"{platform.python_version()}, numpy {np.__version__} ({blas}), {os.cpu_count()} CPUs, "
            f"{platform.machine()}, BLAS threads {THREADS}, load average {load:.2f}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 short rounds")
    parser.add_argument("--repeat", type=int, default=None, help="interleaved rounds (9)")
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (default 1)")
    parser.add_argument("--size", default="32,16,128,50", help="B,I,H,T (default medium)")
    parser.add_argument("--profile", action="store_true", help="phases and cProfile of the hvp")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    B, I, H, T = (int(v) for v in args.size.split(","))
    repeat = args.repeat or (3 if args.quick else 9)
    budget = 0.3 if args.quick else 1.0
    problem = Problem(B, I, H, T)
    print(f"# {machine_note()}")
    print(f"# ElmanRNN B{B} I{I} H{H} T{T} O{I} float64, loss squared_error; hvp over all "
          f"{len(problem.params)} parameters ({sum(p.data.size for p in problem.params)} numbers)")
    error = problem.check()
    print(f"# check: func.hvp against central differences of the gradient, max rel error "
          f"{error:.1e}")
    if error > 1e-5:
        print("# FAILED: the hvp disagrees with finite differences; not timing it")
        return 1
    r = bench(problem, repeat, budget)
    result = "PASS" if r["ratio"] <= TARGET else "MISS"
    print(f"{'step ms':>9} {'hvp ms':>9} {'hvp/step':>9} {'rounds':>13} {'calls':>9} "
          f"{'target':>7} result")
    print(f"{r['step_ms']:9.2f} {r['hvp_ms']:9.2f} {r['ratio']:8.2f}x "
          f"{r['lo']:6.2f}-{r['hi']:.2f}x {r['n_step']:4d}/{r['n_hvp']:<4d} "
          f"{f'≤ {TARGET:g}x':>7} {result}")
    if args.profile:
        phases(problem, 15 if args.quick else 40)
        profile(problem, 10 if args.quick else 30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
