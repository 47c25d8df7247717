"""RNN training-step benchmark: plain user code on the engine against hand-written numpy BPTT.

The model is h_t = tanh(U x_t + W h_{t-1} + b), y_t = V h_t + c, with O = I, and the notes' loss
E = ½ Σ ||y_t − g_t||². Two ways a user writes it, with no switches and no process-wide
allocator settings:

    (a) engine  nn.RNN(I, H) → nn.Linear(H, O) on the (T, B, H) output → 0.5*((y - g)**2).sum()
                → loss.backward()                           (grads zeroed first; no update)
        numpy   testing.reference.numpy_rnn_forward_backward: forward + BPTT, no update
        torch   torch.nn.RNN → torch.nn.Linear, the same loss, backward (no update)
    (b) engine  nn.ElmanRNN(I, H, O) → functional.squared_error → backward → optim.SGD.step
        numpy   testing.reference.numpy_rnn_train_step: forward + BPTT + the SGD update
        torch   the same primitive loop (hoisted input/output matmuls) + torch.optim.SGD.step

Timing table, one row per size × dtype × variant:
    engine ms, numpy ms   median ms of single steps over all interleaved rounds
    eng/np                engine ms / numpy ms; target and PASS/MISS are for this ratio
    rounds                lowest-highest eng/np of single rounds (per-round medians): noise
    faults, np flt        median minor page faults per engine step and per numpy step (memory
                          glibc handed back to the OS and the next step faulted in again).
                          The oracle runs with a workspace kept across calls (work=), so once
                          warm it allocates nothing and never faults: the best hand-written
                          numpy, not one that pays glibc's page faults (without a workspace
                          it allocates its (T, B, H) arrays per call and, at medium sizes,
                          faults ~2,200 times a step, depending on the heap's state)
Everything runs in this process on identical parameters and data, after checking once
(float64) that the engine's loss and gradients equal the oracle's. Rounds are interleaved
(a-engine, a-numpy, b-engine, b-numpy, ...) and each round times single steps. BLAS runs
single-threaded unless --threads N (set before numpy is imported).

Memory table: peak traced memory (tracemalloc; numpy reports its buffers to it) of ONE
float64 step at B1 I1 H32 O1, minus what was traced when the step began, in MiB.

Torch table (only when `import torch` works; torch is never a dependency): the same rows for
PyTorch eager, interleaved with numpy again. It runs last, so that torch's allocations cannot
change glibc's heap state (and with it the engine's page faults) before the engine's rows.
Torch's allocator is invisible to tracemalloc, so torch has no memory rows.

    python benchmarks/bench_rnn.py [--quick] [--repeat N] [--threads N] [--no-memory]
                                   [--sizes small,medium,large,long] [--variants a,b]
"""

from __future__ import annotations

import os
import sys

from _threads import THREAD_VARS, set_blas_threads  # noqa: E402  (before numpy)

THREADS = set_blas_threads(sys.argv[1:])

import argparse  # noqa: E402
import gc  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

try:  # Unix only; the faults column reads 0 elsewhere
    import resource
except ImportError:
    resource = None

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tinygrad_rnn import Tensor, buffers, nn, optim  # noqa: E402
from tinygrad_rnn.functional import squared_error  # noqa: E402
from tinygrad_rnn.testing.reference import (  # noqa: E402
    numpy_rnn_forward_backward,
    numpy_rnn_train_step,
)

try:  # optional column; never installed by this project
    import torch

    torch.set_num_threads(THREADS)
except ImportError:
    torch = None

LR = 1e-5  # small, so that repeated steps keep the parameters (and the work) the same
NAMES = ("U", "W", "b", "V", "c")  # the oracle's parameter names


@dataclass(frozen=True)
class Size:
    name: str
    B: int
    I: int
    H: int
    T: int
    target: float  # engine/numpy ratio to stay within


SIZES = {
    "small": Size("small", B=1, I=1, H=16, T=50, target=4.0),
    "medium": Size("medium", B=32, I=16, H=128, T=50, target=1.25),
    "large": Size("large", B=64, I=64, H=512, T=100, target=1.15),
    "long": Size("long", B=1, I=1, H=32, T=2000, target=4.0),
}
MEMORY = {2000: 12.0, 10000: 60.0}  # T → engine target, MiB, at B1 I1 H32 O1, float64


@dataclass
class Contender:
    step: Callable[[], float]  # one training step; returns the loss
    grads: Callable[[], dict[str, np.ndarray]] | None = None  # after a step, in oracle names


Problem = tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]  # params, x, g
Factory = Callable[[Problem], Contender]


def make_problem(size: Size, dtype: type, seed: int = 0) -> Problem:
    """Oracle parameters {U, W, b, V, c} (PyTorch's init, from an ElmanRNN) and data x, g."""
    model = nn.ElmanRNN(size.I, size.H, size.I, seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((size.T, size.B, size.I)).astype(dtype)
    g = rng.standard_normal((size.T, size.B, size.I)).astype(dtype)
    return model.state_dict(), x, g


def grads_of(tensors: dict[str, object]) -> Callable[[], dict[str, np.ndarray]]:
    return lambda: {k: np.asarray(t.grad) for k, t in tensors.items()}


# ------------------------------------------------------------------------ the contenders
def engine_a(problem: Problem) -> Contender:
    """nn.RNN + nn.Linear + 0.5*((y - g)**2).sum() + backward, as a user writes it."""
    params, x, g = problem
    T, B, I = x.shape
    rnn = nn.RNN(I, params["W"].shape[0], dtype=x.dtype)
    head = nn.Linear(params["W"].shape[0], params["V"].shape[0], dtype=x.dtype)
    rnn.load_state_dict({k: params[k] for k in ("U", "W", "b")})
    head.load_state_dict({"weight": params["V"], "bias": params["c"]})
    xt, gt = Tensor(x), Tensor(g)

    def step() -> float:
        rnn.zero_grad()
        head.zero_grad()
        hs, _ = rnn(xt)
        y = head(hs)
        loss = 0.5 * ((y - gt) ** 2).sum()
        loss.backward()
        return loss.item()
    tensors = {"U": rnn.U, "W": rnn.W, "b": rnn.b, "V": head.weight, "c": head.bias}
    return Contender(step, grads_of(tensors))


def engine_b(problem: Problem) -> Contender:
    """nn.ElmanRNN + functional.squared_error + backward + optim.SGD.step."""
    params, x, g = problem
    model = nn.ElmanRNN(x.shape[2], params["W"].shape[0], params["V"].shape[0], dtype=x.dtype)
    model.load_state_dict(params)
    opt = optim.SGD(model.parameters(), lr=LR)
    xt, gt = Tensor(x), Tensor(g)

    def step() -> float:
        opt.zero_grad()
        ys, _ = model(xt)
        loss = squared_error(ys, gt)
        loss.backward()
        opt.step()
        return loss.item()
    return Contender(step, grads_of(dict(model.named_parameters())))


def numpy_a(problem: Problem) -> Contender:
    params, x, g = problem
    args, work = [params[k].copy() for k in NAMES], {}
    return Contender(lambda: numpy_rnn_forward_backward(x, g, *args, work=work)[0])


def numpy_b(problem: Problem) -> Contender:
    params, x, g = problem
    own, work = {k: v.copy() for k, v in params.items()}, {}
    return Contender(lambda: numpy_rnn_train_step(x, g, own, LR, work=work))


def torch_a(problem: Problem) -> Contender:
    """torch.nn.RNN + torch.nn.Linear, the same loss, backward (PyTorch's b_hh is zero)."""
    params, x, g = problem
    tt = {k: torch.from_numpy(v) for k, v in params.items()}
    H, O = params["W"].shape[0], params["V"].shape[0]
    rnn = torch.nn.RNN(x.shape[2], H, dtype=tt["W"].dtype)
    head = torch.nn.Linear(H, O, dtype=tt["W"].dtype)
    with torch.no_grad():
        for dst, src in ((rnn.weight_ih_l0, "U"), (rnn.weight_hh_l0, "W"), (rnn.bias_ih_l0, "b"),
                         (head.weight, "V"), (head.bias, "c")):
            dst.copy_(tt[src])
        rnn.bias_hh_l0.zero_()
    xt, gt = torch.from_numpy(x), torch.from_numpy(g)

    def step() -> float:
        rnn.zero_grad(set_to_none=True)
        head.zero_grad(set_to_none=True)
        hs, _ = rnn(xt)
        loss = 0.5 * ((head(hs) - gt) ** 2).sum()
        loss.backward()
        return loss.item()
    tensors = {"U": rnn.weight_ih_l0, "W": rnn.weight_hh_l0, "b": rnn.bias_ih_l0,
               "V": head.weight, "c": head.bias}
    return Contender(step, lambda: {k: t.grad.numpy() for k, t in tensors.items()})


def torch_b(problem: Problem) -> Contender:
    """PyTorch eager running the engine's primitive loop, then torch.optim.SGD.step."""
    params, x, g = problem
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    xt, gt = torch.from_numpy(x), torch.from_numpy(g)
    opt = torch.optim.SGD(list(p.values()), lr=LR)
    T, B, I = x.shape

    def step() -> float:
        opt.zero_grad()
        xp = (xt.reshape(T * B, I) @ p["U"].T + p["b"]).reshape(T, B, -1)
        h, hs, WT = None, [], p["W"].T
        for xp_t in xp.unbind(0):
            h = torch.tanh(xp_t) if h is None else torch.tanh(torch.addmm(xp_t, h, WT))
            hs.append(h)
        ys = (torch.stack(hs).reshape(T * B, -1) @ p["V"].T + p["c"]).reshape(T, B, -1)
        loss = 0.5 * ((ys - gt) ** 2).sum()
        loss.backward()
        opt.step()
        return loss.item()
    return Contender(step, lambda: {k: t.grad.numpy() for k, t in p.items()})


VARIANTS: dict[str, dict[str, Factory]] = {
    "a": {"engine": engine_a, "numpy": numpy_a, "torch": torch_a},
    "b": {"engine": engine_b, "numpy": numpy_b, "torch": torch_b},
}


def contenders(variants: list[str], who: tuple[str, ...]) -> dict[tuple[str, str], Factory]:
    """{(variant, who): factory} for the given contenders ("engine", "numpy", "torch")."""
    return {(v, name): VARIANTS[v][name] for v in variants for name in who}


# ------------------------------------------------------------------------------- checks
def check_same_computation(size: Size, variants: list[str], who: str) -> float:
    """Max relative loss/gradient difference to the oracle (float64); raises if > 1e-9."""
    problem = make_problem(size, np.float64, seed=123)
    params, x, g = problem
    E, want = numpy_rnn_forward_backward(x, g, *(params[k] for k in NAMES))
    worst = 0.0
    for variant in variants:
        contender = VARIANTS[variant][who](problem)
        loss, got = contender.step(), contender.grads()
        errors = [abs(loss - E) / max(abs(E), 1e-300)]
        errors += [float(np.abs(got[k] - want[k]).max()) / max(float(np.abs(want[k]).max()),
                                                                1e-300) for k in NAMES]
        if max(errors) > 1e-9:
            raise AssertionError(f"{size.name} ({variant}) {who}: loss/gradients differ from the "
                                 f"numpy oracle by {max(errors):.2e} (relative); the benchmark "
                                 "would compare different computations")
        worst = max(worst, *errors)
    return worst


# ------------------------------------------------------------------------------- timing
def calibrate(step: Callable[[], float], budget_s: float) -> int:
    """Steps per round so that one round takes about budget_s (1 to 100)."""
    start = time.perf_counter()
    step()
    once = time.perf_counter() - start
    return max(1, min(100, int(budget_s / max(once, 1e-6))))


def minor_faults() -> int:
    """Page faults served without I/O so far: memory the allocator handed back and re-got."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt if resource else 0


@dataclass
class Rounds:
    ms: list[list[float]]  # per round, the ms of each single step
    faults: list[int]  # minor page faults of each step


def time_steps(step: Callable[[], float], n: int, out: Rounds) -> None:
    """Time n consecutive single steps into a new round (gc stays on, as in training)."""
    out.ms.append([])
    for _ in range(n):
        faults, start = minor_faults(), time.perf_counter()
        step()
        out.ms[-1].append((time.perf_counter() - start) * 1e3)
        out.faults.append(minor_faults() - faults)


def bench(size: Size, dtype: type, variants: list[str], who: tuple[str, ...], repeat: int,
          budget_s: float) -> dict[tuple[str, str], Rounds]:
    """Interleaved rounds of the contenders `who` of each variant.

    Medians of single steps (not of blocks) shrug off the stalls that other jobs on a shared
    machine cause now and then.
    """
    problem = make_problem(size, dtype)
    steps = {key: factory(problem).step for key, factory in contenders(variants, who).items()}
    for step in steps.values():  # warm up (allocations, caches)
        step()
    counts = {key: calibrate(step, budget_s) for key, step in steps.items()}
    rounds = {key: Rounds([], []) for key in steps}
    for _ in range(repeat):
        for key, step in steps.items():
            gc.collect()
            time_steps(step, counts[key], rounds[key])
    return rounds


# ------------------------------------------------------------------------------- memory
def peak_step_mib(factory: Factory, T: int) -> float:
    """Peak traced MiB of one float64 step at B1 I1 H32 O1, above what it began with."""
    size = Size("memory", B=1, I=1, H=32, T=T, target=0.0)
    tracemalloc.start()
    try:
        contender = factory(make_problem(size, np.float64))
        contender.step()  # warm-up: first-call caches are not the step's memory
        gc.collect()
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        contender.step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return (peak - start) / 2**20


def memory_table(variants: list[str]) -> int:
    """Print the memory rows; return the number of engine targets missed."""
    print(f"\n# peak traced memory of one step, B=1 I=1 H=32 O=1, float64 (tracemalloc)\n"
          f"{'contender':<30} {'T':>6} {'peak MiB':>9}  {'target':<9} result")
    rows = [(f"({v}) engine", VARIANTS[v]["engine"]) for v in variants]
    rows.append(("numpy oracle (train_step)", numpy_b))
    missed = 0
    for T, target in MEMORY.items():
        for label, factory in rows:
            mib = peak_step_mib(factory, T)
            verdict, goal = "", "-"
            if "engine" in label:
                verdict, goal = ("PASS" if mib <= target else "MISS"), f"<= {target:g}"
                missed += mib > target
            print(f"{label:<30} {T:>6} {mib:9.2f}  {goal:<9} {verdict}".rstrip(), flush=True)
    return missed


# ------------------------------------------------------------------------------- report
def machine_note() -> str:
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    threads = {var: os.environ[var] for var in THREAD_VARS}
    return (f"python {platform.python_version()}, numpy {np.__version__} "
            f"({blas.get('name')} {blas.get('version')}), {os.cpu_count()} CPUs, "
            f"{platform.machine()}, torch {torch.__version__ if torch else 'not importable'}"
            f"{f' ({torch.get_num_threads()} threads)' if torch else ''}, env {threads}")


def machine_speed() -> str:
    """Three fixed workloads, to tell a slower machine from a slower engine across runs: the
    engine's share of a step is mostly Python and small numpy calls, the oracle's mostly BLAS.
    Medians of 7 blocks, per call."""
    rng = np.random.default_rng(0)
    small = rng.standard_normal(16)
    h = rng.standard_normal((32, 128)).astype(np.float32)
    w_t = rng.standard_normal((128, 128)).astype(np.float32).T  # the recurrence's h Wᵀ
    out = np.empty((32, 128), np.float32)  # (into one array: the allocator is not measured)

    def per_call_us(fn: Callable[[], object], calls: int) -> float:
        blocks = []
        for _ in range(7):
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            blocks.append((time.perf_counter() - start) / calls * 1e6)
        return statistics.median(blocks)

    loop = per_call_us(lambda: sum(i * i for i in range(10_000)), 20)
    ufunc = per_call_us(lambda: np.multiply(small, small), 2000)
    gemm = per_call_us(lambda: h.dot(w_t, out=out), 500)
    return (f"machine speed: Python loop {loop / 1e3:.2f} ms, numpy ufunc on 16 floats "
            f"{ufunc:.2f} us, float32 (32,128) @ (128,128)T {gemm:.1f} us")


def header(who: str) -> str:
    extra = f"{'faults':>7} {'np flt':>7}  {'target':<8} result" if who == "engine" else ""
    return (f"{'size':<7} {'shape':<22} {'dtype':<8} {'var':<3} {who + ' ms':>10} "
            f"{'numpy ms':>10} {who[:3] + '/np':>7} {'rounds':>11} {extra}").rstrip()


def ratio_spread(rounds: dict[tuple[str, str], Rounds], variant: str, who: str) -> str:
    """Lowest and highest ratio of the per-round medians: the noise to expect."""
    pairs = zip(rounds[(variant, who)].ms, rounds[(variant, "numpy")].ms)
    ratios = [statistics.median(a) / statistics.median(n) for a, n in pairs]
    return f"{min(ratios):.2f}-{max(ratios):.2f}"


def format_row(size: Size, dtype: type, variant: str, who: str,
               rounds: dict[tuple[str, str], Rounds]) -> tuple[str, bool]:
    """One table row (`who` against numpy) and whether the engine missed its target."""
    ms, numpy = (statistics.median([t for r in rounds[(variant, name)].ms for t in r])
                 for name in (who, "numpy"))
    ratio = ms / numpy
    shape = f"B={size.B} I={size.I} H={size.H} T={size.T}"
    row = (f"{size.name:<7} {shape:<22} {np.dtype(dtype).name:<8} {variant:<3} {ms:10.3f} "
           f"{numpy:10.3f} {ratio:6.2f}x {ratio_spread(rounds, variant, who):>11}")
    if who != "engine":
        return row, False
    faults, np_faults = (statistics.median(rounds[(variant, name)].faults)
                         for name in (who, "numpy"))
    verdict = "PASS" if ratio <= size.target else "MISS"
    return (f"{row} {faults:7.0f} {np_faults:7.0f}  {f'<= {size.target:g}x':<8} {verdict}",
            ratio > size.target)


def timing_table(sizes: list[Size], variants: list[str], who: str, repeat: int,
                 budget_s: float) -> int:
    """Check, time and print `who` against numpy; return the number of targets missed."""
    for size in sizes:
        print(f"# {size.name}: {who} loss and gradients agree with the oracle to "
              f"{check_same_computation(size, variants, who):.1e} (float64, max relative)")
    print(header(who))
    missed = 0
    for size in sizes:
        for dtype in (np.float64, np.float32):
            # Each row is its own workload, as one training run is: the engine's buffer cache
            # starts empty, so the previous size's arrays are not still held (at large they
            # are ~300 MB, which slowed the long rows that follow by about 10%).
            buffers.empty_cache()
            rounds = bench(size, dtype, variants, (who, "numpy"), repeat, budget_s)
            for variant in variants:
                row, miss = format_row(size, dtype, variant, who, rounds)
                print(row, flush=True)
                missed += miss
    return missed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 short rounds")
    parser.add_argument("--repeat", type=int, default=None, help="interleaved rounds (9)")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS (and torch) threads; default 1, set before numpy loads")
    parser.add_argument("--sizes", default=",".join(SIZES), help="comma-separated subset")
    parser.add_argument("--variants", default="a,b", help="comma-separated subset of a,b")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory table")
    args = parser.parse_args(argv)
    for flag, value, known in (("--sizes", args.sizes, SIZES), ("--variants", args.variants,
                                                                 VARIANTS)):
        unknown = [name for name in value.split(",") if name not in known]
        if unknown:
            parser.error(f"{flag}: unknown {unknown}; choose from {','.join(known)}")
    return args


def print_preamble(repeat: int) -> None:
    print(f"# {time.strftime('%Y-%m-%d %H:%M %Z')}  {machine_note()}")
    print(f"# {machine_speed()}")
    print("# (a) engine nn.RNN + nn.Linear + 0.5*((y-g)**2).sum() + backward (no update) "
          "vs numpy_rnn_forward_backward")
    print("# (b) engine nn.ElmanRNN + squared_error + backward + optim.SGD.step "
          "vs numpy_rnn_train_step")
    print(f"# no switches, no allocator settings; median ms of single steps over {repeat} "
          "interleaved rounds; lower ratio is better; faults = median minor page faults "
          "per engine step")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    repeat = args.repeat or (3 if args.quick else 9)
    budget = 0.05 if args.quick else 0.25
    sizes = [SIZES[name] for name in args.sizes.split(",")]
    variants = args.variants.split(",")
    print_preamble(repeat)
    missed = timing_table(sizes, variants, "engine", repeat, budget)
    total = len(sizes) * 2 * len(variants)
    if not args.no_memory:
        missed += memory_table(variants)
        total += len(variants) * len(MEMORY)
    if torch is not None:  # last: its allocations must not change the heap the engine sees
        print("\n# PyTorch eager, interleaved with numpy again; (a) torch.nn.RNN + "
              "torch.nn.Linear, (b) the same primitive loop + torch.optim.SGD")
        timing_table(sizes, variants, "torch", repeat, budget)
    print(f"# {missed} of {total} targets missed" if missed else f"# all {total} targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
