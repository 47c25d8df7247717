"""`render` (the unfolded graph coloured by |∂E/∂node|), `flow` (gradient flow in time) and
`explore` (the interactive explorer of an unrolled model, one self-contained HTML file)."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from ..viz.views import VIEWS
from .errors import (
    EXIT_FAILURE,
    EXIT_OK,
    CLIError,
    nonnegative_int,
    positive_float,
    positive_int,
    unclaimed,
    writable,
)
from .models import MODELS, NONLINEARITIES, check_sizes

FORMATS = ("svg", "png", "pdf", "dot")
FIGURES = ("png", "svg", "pdf")  # what matplotlib writes for flow
PAGES = ("html", "htm")
SIZE_FLAGS = "--hidden or --steps"


def output_path(out: str, fmt: str | None, default_name: str, formats: tuple[str, ...],
                command: str) -> tuple[Path, str]:
    """--out as (file, format). An existing folder, or a name ending in "/", means a file named
    after `default_name` inside it; a missing suffix comes from --format, else from
    `default_name`; a suffix the command cannot write is refused; --out and --format agree."""
    if not out.strip():
        raise CLIError("--out is empty; give a file name or a folder")
    default = Path(default_name)
    path = Path(out)
    if path.is_dir() or out.endswith(("/", os.sep)):
        path = path / default.stem
    suffix = path.suffix.lower().lstrip(".")
    if suffix and suffix not in formats:
        choices = ", ".join("." + f for f in formats[:-1]) + " or ." + formats[-1]
        raise CLIError(f"--out {out} ends in .{suffix}, which {command} cannot write; it must "
                       f"end in {choices}")
    fmt = fmt or suffix or default.suffix.lstrip(".")
    if suffix and suffix != fmt:
        raise CLIError(f"--out {out} ends in .{suffix} but --format is {fmt}; make them agree")
    return (path if suffix else path.with_name(f"{path.name}.{fmt}")), fmt


def viz_error(e: Exception) -> CLIError:
    """Graphviz or matplotlib problems (a missing `dot`, a failed render) as one line."""
    return CLIError(str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__,
                    EXIT_FAILURE)


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("render", help="draw the unfolded graph of the notes' RNN",
                       description="Build the notes' RNN on a random sequence, backprop E and "
                                   "draw the unrolled graph coloured by gradient magnitude.")
    p.add_argument("--steps", type=positive_int, default=6, help="time steps T (6)")
    p.add_argument("--hidden", type=positive_int, default=4, help="hidden size H (4)")
    p.add_argument("--out", default="out/", help="output file, or a folder to write "
                   "unrolled.FORMAT in (out/, so out/unrolled.svg)")
    p.add_argument("--view", choices=VIEWS, default="op",
                   help="op: every primitive; cell: one node per step; collapsed: the first "
                        "and last steps, the middle folded (op)")
    p.add_argument("--format", choices=FORMATS,
                   help="svg|png|pdf|dot (the suffix of --out; svg if it has none)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (0)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(run=run_render)

    f = sub.add_parser("flow", help="plot ‖∂E/∂h_t‖ over time for several spectral radii",
                       description="Write the gradient-flow figure (vanishing/exploding "
                                   "gradients) and print its table.")
    f.add_argument("--out", default="out/gradient_flow.png",
                   help="output PNG/SVG/PDF file, or a folder to write gradient_flow.png in "
                        "(out/gradient_flow.png)")
    f.add_argument("--steps", type=positive_int, default=50, help="time steps T (50)")
    f.add_argument("--hidden", type=positive_int, default=32, help="hidden size H (32)")
    f.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (0)")
    f.add_argument("--heatmaps", action="store_true",
                   help="also write OUT_training and OUT_influence: ‖∂E/∂h_t‖ over training "
                        "steps, and ‖∂h_t/∂h_s‖ (the explorer's two maps)")
    f.add_argument("--force", action="store_true", help="overwrite an existing file")
    f.set_defaults(run=run_flow)
    add_explore_parser(sub)


def add_explore_parser(sub: Any) -> None:
    x = sub.add_parser("explore", help="write the interactive explorer of an unrolled RNN (HTML)",
                       description="Unroll a recurrent model over a random sequence, backprop "
                                   "E and write one self-contained HTML page: every time step "
                                   "coloured by its gradient, the op-level graph of any range, "
                                   "the gradient over training and the influence matrix.")
    x.add_argument("--steps", type=positive_int, default=100, help="time steps T (100)")
    x.add_argument("--model", choices=MODELS, default="rnn",
                   help="rnn: the notes' Elman RNN; lstm; gru (rnn)")
    x.add_argument("--hidden", type=positive_int, default=8, help="hidden size H (8)")
    x.add_argument("--nonlinearity", choices=NONLINEARITIES,
                   help="σ of the Elman RNN (tanh)")
    x.add_argument("--radius", type=positive_float,
                   help="spectral radius of W, Elman RNN only (none: W as initialised, "
                        "uniform in ±1/√H)")
    x.add_argument("--train-steps", type=nonnegative_int, default=20,
                   help="training steps behind the heatmap (20; 0: no heatmap)")
    x.add_argument("--influence-steps", type=nonnegative_int, default=200,
                   help="steps in the influence matrix (200; 0: none)")
    x.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (0)")
    x.add_argument("--out", default="out/explorer.html",
                   help="output file, or a folder to write explorer.html in "
                        "(out/explorer.html)")
    x.add_argument("--force", action="store_true", help="overwrite an existing file")
    x.set_defaults(run=run_explore)


def run_explore(a: argparse.Namespace) -> int:
    from ..viz.example import explore_unrolled

    if a.model != "rnn" and (a.nonlinearity is not None or a.radius is not None):
        raise CLIError(f"--nonlinearity and --radius apply to --model rnn only, not {a.model}")
    path, _ = output_path(a.out, None, "explorer.html", PAGES, "explore")
    check_sizes(a.model, 3, a.hidden, 2, 1, a.steps, SIZE_FLAGS)
    writable(path, a.force, "--out")
    try:
        page, times = explore_unrolled(a.steps, a.model, a.hidden, a.nonlinearity or "tanh",
                                       a.radius, a.seed, a.train_steps,
                                       influence_steps=a.influence_steps)
        written = page.save(unclaimed(path, a.force))  # checked again at write time
    except (RuntimeError, OSError) as e:
        raise viz_error(e) from None
    took = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in times.items())
    print(f"explorer ({a.steps} steps, {a.model}, H={a.hidden}): {written} "
          f"({written.stat().st_size / 1e6:.1f} MB; {took}); open it in a browser")
    return EXIT_OK


def run_render(a: argparse.Namespace) -> int:
    from .. import viz

    path, fmt = output_path(a.out, a.format, "unrolled.svg", FORMATS, "render")
    check_sizes("rnn", 3, a.hidden, 2, 1, a.steps, SIZE_FLAGS)  # viz.elman_example's model
    writable(path, a.force, "--out")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            written = viz.render_unrolled(a.steps, a.hidden, path, view=a.view, fmt=fmt,
                                          seed=a.seed, overwrite=a.force)
    except viz.GraphvizNotFound as e:
        raise viz_error(e) from None
    except FileExistsError as e:  # the .dot fallback, or a file that appeared meanwhile
        what = " (the DOT source written when Graphviz is missing)" if fmt != "dot" else ""
        raise CLIError(f"{e.filename} already exists{what}; pass --force to overwrite it or "
                       "choose another --out") from None
    except (RuntimeError, OSError) as e:
        raise viz_error(e) from None
    for w in caught:
        print(f"note: {w.message}", file=sys.stderr)
    if any(issubclass(w.category, viz.LargeGraphWarning) for w in caught):
        print(f"note: every step, interactive: tinygrad-rnn explore --steps {a.steps}",
              file=sys.stderr)
    print(f"unfolded graph ({a.steps} steps, H={a.hidden}, {a.view} view): {written}")
    return EXIT_OK


def run_flow(a: argparse.Namespace) -> int:
    from .. import viz

    path, _ = output_path(a.out, None, "gradient_flow.png", FIGURES, "flow")
    # the largest model flow builds (viz.sweep's LSTM) at clip_experiment's batch of 8
    check_sizes("lstm", 4, a.hidden, 4, 8, a.steps, SIZE_FLAGS)
    maps = [path.with_name(f"{path.stem}_{name}{path.suffix}") for name in ("training",
                                                                            "influence")]
    for target in [path] + (maps if a.heatmaps else []):
        writable(target, a.force, "--out")
    try:
        results = viz.sweep(T=a.steps, H=a.hidden, seed=a.seed)
        written = viz.plot_flow(results, unclaimed(path, a.force))  # checked again now
        table = viz.format_table(results)
        if a.heatmaps:
            _write_heatmaps(maps, a.steps, a.hidden, a.seed, a.force)
    except (RuntimeError, OSError, ValueError) as e:
        raise viz_error(e) from None
    print(table.rstrip())
    print(f"gradient-flow figure: {written}")
    if a.heatmaps:
        print(f"heatmaps: {maps[0]} (‖∂E/∂h_t‖ over training), {maps[1]} (‖∂h_t/∂h_s‖₂)")
    return EXIT_OK


def _write_heatmaps(paths: list[Path], T: int, H: int, seed: int, force: bool) -> None:
    """The explorer's two maps as figures, for a tanh Elman RNN at ρ(W) = 1 on T random steps.
    A file that appeared at one of `paths` meanwhile is not replaced without `force`."""
    import numpy as np

    from ..nn import ElmanRNN
    from ..tensor import Tensor
    from ..viz.heatmaps import influence_figure, save_figure, training_figure
    from ..viz.influence import flow_over_training, influence_matrix

    rng = np.random.default_rng(seed)
    x, g = rng.standard_normal((T, 1, 4)), rng.standard_normal((T, 1, 4))
    model = ElmanRNN(4, H, 4, spectral_radius=1.0, seed=seed)
    save_figure(influence_figure(influence_matrix(model, x)), unclaimed(paths[1], force))
    flow = flow_over_training(model, Tensor(x), g, steps=40, every=2)
    save_figure(training_figure(flow), unclaimed(paths[0], force))
