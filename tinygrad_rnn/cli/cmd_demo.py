"""`demo`, the main job: train the notes' RNN on the El Niño series, compare it with persistence,
gradcheck its BPTT gradients, and draw its unfolded graph and the gradient-flow picture.

    h_t = tanh(U x_t + W h_{t−1} + b),  y_t = V h_t + c,  E = ½ Σ_t ||y_t − g_t||²
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from .. import functional as F
from ..io import identity, lock
from ..tensor import Tensor
from .anomaly import cli_detect_anomaly
from .bptt_check import check_model, describe
from .errors import (
    EXIT_FAILURE,
    EXIT_OK,
    CLIError,
    nonnegative_int,
    output_dir,
    positive_int,
    refuse_existing,
    unclaimed,
)
from .figures import forecast_figure
from .progress import plural
from .runs import make_config, model_from_config, optimizer_for, resolve_args
from .tasks import series_task
from .trainer import Settings, Trainer

FILES = {
    "checkpoint": "demo_model.npz",
    "forecast": "forecast.png",
    "graph_cell_svg": "unrolled_cell.svg", "graph_cell_png": "unrolled_cell.png",
    "graph_op_svg": "unrolled_op.svg", "graph_op_png": "unrolled_op.png",
    "flow": "gradient_flow.png",
    "explorer": "explorer.html",
}


def add_parser(sub: Any) -> None:
    p = sub.add_parser("demo", help="the main job: train, compare, gradcheck, draw (< 1 min)",
                       description="Train the notes' RNN on the built-in El Nino series, compare "
                                   "it with persistence, gradcheck it and draw its graphs.")
    p.add_argument("--out", default="out", help="output folder (default out/)")
    p.add_argument("--force", action="store_true", help="overwrite earlier demo files")
    p.add_argument("--quick", action="store_true", help="tiny settings (a few seconds; tests)")
    p.add_argument("--epochs", type=positive_int, help="training epochs (default 60; quick 2)")
    p.add_argument("--hidden", type=positive_int, help="hidden size H (default 32; quick 8)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (0)")
    p.add_argument("--detect-anomaly", action="store_true",
                   help="name the first op whose forward/backward makes NaN or Inf (slow)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def _stage(name: str, began: float) -> None:
    print(f"  [{name}: {time.perf_counter() - began:.1f} s]")


def run(a: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    out = output_dir(a.out)
    files = {key: out / name for key, name in FILES.items()}
    every = list(files.values()) + _dot_fallbacks(files)
    refuse_existing(every, a.force)
    before = {path: identity(path) if path.exists() else None for path in every}
    with contextlib.ExitStack() as held:
        try:  # a second demo into the same folder stops at once
            held.enter_context(lock(files["checkpoint"]))
        except FileExistsError:
            raise CLIError(f"another demo is writing into {out} right now; wait for it to "
                           "finish or choose another --out") from None
        try:
            return _run(a, files, t0)
        except KeyboardInterrupt:  # Ctrl-C leaves no partial output behind
            removed = [p for p, was in before.items() if p.exists() and identity(p) != was]
            for path in removed:
                path.unlink()
            print(f"interrupted: removed the {plural(len(removed), 'file')} this demo had "
                  "written", file=sys.stderr)
            raise


def _dot_fallbacks(files: dict[str, Path]) -> list[Path]:
    return sorted({p.with_suffix(".dot") for key, p in files.items() if key.startswith("graph")})


def _run(a: argparse.Namespace, files: dict[str, Path], t0: float) -> int:
    trainer, task, history = _train(a, files["checkpoint"])
    if trainer is None:
        raise KeyboardInterrupt
    result = task.evaluate(trainer.model)
    for line in task.describe(result):
        print(line)
    began = time.perf_counter()
    passed = _gradcheck(trainer.model, task)
    _stage("gradcheck", began)
    began = time.perf_counter()
    for key, written in _graphs(trainer.model, task, files, a.force).items():
        files[key] = written  # .dot instead of .svg/.png when Graphviz is missing
    _flow(unclaimed(files["flow"], a.force), quick=a.quick)
    _explorer(trainer.model, task, unclaimed(files["explorer"], a.force), quick=a.quick)
    forecast_figure(unclaimed(files["forecast"], a.force), task, trainer.model, result, history,
                    trainer.n_chunks, start_year=1950.0)
    _stage("pictures", began)
    _print_files(files)
    print(f"demo finished in {time.perf_counter() - t0:.1f} s")
    return EXIT_OK if passed else EXIT_FAILURE


def _print_files(files: dict[str, Path]) -> None:
    notes = {"checkpoint": f"trained model (tinygrad-rnn train --resume {files['checkpoint']} "
                           "--epochs N continues it)",
             "forecast": "held-out forecast vs persistence, and the training loss",
             "graph_cell_svg": "unfolded graph, one node per time step, coloured by |dE/dnode|",
             "graph_op_svg": "unfolded graph, every primitive op, coloured by |dE/dnode|",
             "flow": "gradient flow ||dE/dh_t|| over time for several spectral radii of W",
             "explorer": "interactive explorer of the unrolled trained RNN (open in a browser)"}
    print("wrote:")
    for key, path in files.items():
        print(f"  {path}" + (f"  - {notes[key]}" if key in notes else ""))


def _train(a: argparse.Namespace, checkpoint: Path) -> tuple[Trainer | None, Any, list]:
    """The trained trainer (None if Ctrl-C stopped it), the task and (step, loss, |grad|)s."""
    task = series_task("elnino", 0.2)
    hidden = a.hidden or (8 if a.quick else 32)
    epochs = a.epochs or (2 if a.quick else 60)
    args = resolve_args({"hidden": hidden, "epochs": epochs, "seed": a.seed, "lr": 5e-3}, False)
    config = make_config(args, task)
    model = model_from_config(config, a.seed)
    settings = Settings(epochs, args["batch"], args["chunk"], args["clip"], 0)
    trainer = Trainer(task, model, optimizer_for(args, model), settings, config, checkpoint,
                      a.seed)
    trainer.force = a.force
    print("tinygrad-rnn demo: the notes' RNN  h_t = tanh(U x_t + W h_{t-1} + b),  "
          "y_t = V h_t + c,  E = 1/2 sum_t ||y_t - g_t||^2")
    n_test = task.raw.size - task.n_train
    print(f"data: El Nino 1+2 sea-surface temperature, {task.raw.size} months 1950-2010 "
          f"({task.units}); train {task.n_train}, held out {n_test}; standardized")
    print(f"model: ElmanRNN(1, {hidden}, 1), tanh, identity output; truncated BPTT chunks "
          f"T={args['chunk']} x B={args['batch']}, Adam lr {args['lr']:g}, clip {args['clip']:g}, "
          f"{plural(trainer.total, 'step')}")
    sys.stdout.flush()
    with cli_detect_anomaly(a.detect_anomaly):
        outcome = trainer.run(progress=not a.quiet)
    if outcome.interrupted:
        print(f"interrupted at step {outcome.steps}/{outcome.total}")
        return None, task, outcome.history
    print(f"trained {plural(outcome.steps, 'step')} in {outcome.seconds:.1f} s "
          f"(final loss E = {outcome.history[-1][1]:.3f} per chunk)")
    return trainer, task, outcome.history


def _window(task: Any, start: int, T: int) -> tuple[np.ndarray, np.ndarray]:
    s = task.series
    return s[start:start + T].reshape(T, 1, 1), s[start + 1:start + T + 1].reshape(T, 1, 1)


def _gradcheck(model: Any, task: Any) -> bool:
    """Gradcheck the trained model itself (float64) on 5 real steps, and print the verdict."""
    x, g = _window(task, task.n_train - 1, 5)
    verdict = check_model(model, x, lambda ys: F.squared_error(ys, g))
    model.zero_grad()
    print(f"gradcheck of the trained model's BPTT gradients (T=5, all {verdict.n_elements} "
          "parameter elements, central differences, float64):")
    for line in describe(verdict, 5):
        print("  " + line)
    return verdict.passed


def _graphs(model: Any, task: Any, files: dict[str, Path], force: bool = False
            ) -> dict[str, Path]:
    """The unfolded graph of the trained model on a real window, after backward of E.

    Returns {file key: path written}. Without Graphviz's `dot` the DOT source is written
    instead, with one warning line, and the demo goes on. A file that appeared at one of these
    paths while the demo ran is not overwritten without --force.
    """
    from .. import viz

    written: dict[str, Path] = {}
    missing_dot: list[str] = []
    for view, T, keys in (("cell", 24, ("graph_cell_svg", "graph_cell_png")),
                          ("op", 5, ("graph_op_svg", "graph_op_png"))):
        x, g = _window(task, task.n_train - T, T)
        ys, _ = model(Tensor(x))
        E = F.squared_error(ys, g)
        E.backward(keep_node_grads=True)  # keep every node's gradient for the picture
        picture = viz.draw(E, params=model, view=view, title=(
            f"the trained RNN unrolled over {T} months · {view} view · fill: |dE/dnode|"))
        model.zero_grad()
        for key in keys:
            for path in (files[key], files[key].with_suffix(".dot")):
                unclaimed(path, force, written.values())
            try:
                written[key] = viz.save(picture, files[key])
            except viz.GraphvizNotFound:
                written[key] = viz.save(picture, files[key].with_suffix(".dot"))
                missing_dot.append(files[key].name)
    if missing_dot:
        print("tinygrad-rnn: warning: Graphviz's `dot` is not installed, so the DOT sources were "
              f"written instead of {', '.join(missing_dot)}", file=sys.stderr)
    return written


def _flow(path: Path, quick: bool) -> None:
    from .. import viz

    T, H = (20, 8) if quick else (50, 32)
    _, table = viz.write_flow_figure(out=path, T=T, H=H)
    first_block = table.strip().split("\n\n")[0]  # ‖∂E/∂h_t‖; `tinygrad-rnn flow` prints all
    print(f"gradient flow through time (untrained Elman RNNs and LSTMs, T={T}, H={H}):")
    for line in first_block.splitlines():
        print("  " + line)


def _explorer(model: Any, task: Any, path: Path, quick: bool) -> None:
    """The explorer page of the trained model on the last months of the training series."""
    from .. import viz
    from ..viz.influence import influence_matrix

    T = 60 if quick else 240
    x, g = _window(task, task.n_train - T, T)
    E = F.squared_error(model(Tensor(x))[0], g)
    E.backward(keep_node_grads=True)
    page = viz.explore(E, params=model, influence=influence_matrix(model, x), title=(
        f"the trained RNN unrolled over the last {T} training months · E = ½ Σ_t ‖y_t − g_t‖²"))
    model.zero_grad()
    page.save(path)
