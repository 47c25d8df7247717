"""The user-facing drawing API: `draw(loss)` -> graphviz.Digraph, `to_dot`, `save`, and
`render_unrolled` (the notes' Elman RNN on a random sequence, drawn after backward)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import graphviz

from ..io import atomic_write
from .bounds import DOT_TIMEOUT, choose_view
from .colors import NORM_TEXT, LogColormap
from .contrib import param_contributions
from .render import Painter
from .trace import NORMS, Graph, trace
from .views import VIEWS

FORMATS = ("dot", "svg", "png", "pdf")
INSTALL_HINT = ("Install Graphviz, which provides `dot`: `sudo apt-get install graphviz` "
                "(Debian/Ubuntu), `brew install graphviz` (macOS), `conda install graphviz`, or "
                "see https://graphviz.org/download/.")


class GraphvizNotFound(RuntimeError):
    """The Graphviz `dot` program is not installed (the DOT file was still written)."""


class RenderTimeout(RuntimeError):
    """`dot` did not finish within the time limit (nothing was written)."""


def draw(tensor: Any, params: Any = None, view: str = "op", norm: str = "l2",
         vmin: float | None = None, vmax: float | None = None, max_nodes: int | None = 400,
         collapse_k: int = 3, title: str | None = None,
         max_steps: int | None = None) -> graphviz.Digraph:
    """The unrolled graph behind `tensor` (call after `loss.backward(keep_node_grads=True)`),
    coloured by |grad|.

    view: "op" (every primitive), "cell" (one node per time step), "collapsed" (first and last
    `collapse_k` steps kept, the middle folded) or "collapsed-cell". norm: "l2", "rms", "max".
    vmin/vmax fix the colour scale so that two pictures compare. params: {name: tensor} or a
    Module, to name the leaves. Returns a graphviz.Digraph (it displays itself in Jupyter).
    Long graphs fold so that the picture stays readable (viz.bounds has the rules): max_steps
    (default: 12 in the op view, 40 in the cell view) and max_nodes (None: no limit of your own).
    """
    if norm not in NORMS:
        raise ValueError(f"draw: norm must be one of {NORMS}, got {norm!r}")
    if view not in VIEWS + ("collapsed-op", "collapsed-cell"):
        raise ValueError(f"draw: view must be one of {VIEWS + ('collapsed-cell',)}, got {view!r}")
    graph = tensor if isinstance(tensor, Graph) else trace(tensor, params)
    shown = choose_view(graph, view, collapse_k, max_nodes, max_steps)
    contribs = {n.id: param_contributions(graph, n) for n in graph.params()}
    values = [e.grad.norm(norm) for e in shown.edges]
    for n in shown.nodes:
        stats = n.per_step.values() if n.per_step else [n.grad]
        values += [s.norm(norm) for s in stats]
    cmap = LogColormap.span(values, vmin, vmax)
    if title is None:
        steps = len(graph.steps)
        title = (f"{steps} steps unrolled · {shown.kind} view · fill: |∂E/∂node| "
                 f"({NORM_TEXT[norm]})")
    return Painter(shown, cmap, norm, contribs, {}).digraph(title)


def to_dot(tensor: Any, **kwargs: Any) -> str:
    """The DOT source of `draw(tensor, **kwargs)` (no Graphviz binary needed)."""
    return draw(tensor, **kwargs).source


def _atomic_write(path: Path, data: bytes, overwrite: bool = True) -> None:
    atomic_write(path, lambda f: f.write(data), make_dirs=True, exclusive=not overwrite)


def save(picture: Any, path: str | os.PathLike, dpi: int = 96,
         timeout: float = DOT_TIMEOUT, overwrite: bool = True) -> Path:
    """Write a Digraph (or DOT source string) to `path`; the suffix picks the format
    (.dot/.gv, .svg, .png, .pdf). Raises GraphvizNotFound, after writing `path.dot`, when the
    `dot` program is missing, and RenderTimeout when `dot` takes more than `timeout` seconds.
    overwrite=False never replaces an existing file, neither `path` nor the `.dot` fallback:
    FileExistsError instead (checked as the file is put in place, see io.atomic_write)."""
    path = Path(path)
    source = picture.source if hasattr(picture, "source") else str(picture)
    fmt = path.suffix.lower().lstrip(".")
    if fmt in ("dot", "gv"):
        _atomic_write(path, source.encode("utf-8"), overwrite)
        return path
    if fmt not in FORMATS:
        raise ValueError(f"save: unknown format {path.suffix!r} of {path}; use one of "
                         f"{', '.join('.' + f for f in FORMATS)}")
    dot = shutil.which("dot")
    if dot is None:
        dot_path = path.with_suffix(".dot")
        _atomic_write(dot_path, source.encode("utf-8"), overwrite)
        raise GraphvizNotFound(f"save: cannot render {path.name}: the Graphviz `dot` program is "
                               f"not on PATH. The DOT source was written to {dot_path}. "
                               + INSTALL_HINT)
    args = [dot, f"-T{fmt}"] + ([f"-Gdpi={dpi}"] if fmt == "png" else [])
    try:
        done = subprocess.run(args, input=source.encode("utf-8"), capture_output=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:  # run() has already killed dot
        raise RenderTimeout(
            f"save: dot did not finish {path.name} within {timeout:g} s; draw less: "
            "view='collapsed' or 'cell', a smaller max_steps or max_nodes, save as .dot, or "
            "viz.explore(loss) for an interactive HTML view of any length") from None
    if done.returncode != 0:
        raise RuntimeError(f"save: dot failed to render {path.name} (exit {done.returncode}): "
                           f"{done.stderr.decode(errors='replace').strip()}")
    _atomic_write(path, done.stdout, overwrite)
    return path


def elman_example(steps: int = 5, hidden: int = 4, seed: int = 0, nonlinearity: str = "tanh",
                  spectral_radius: float | None = None, loss: str = "all", input_size: int = 3,
                  output_size: int = 2) -> tuple[Any, Any]:
    """The notes' Elman RNN on a random sequence, after E.backward(): returns (model, E).

    loss="all": E = ½ Σ_t ||y_t − g_t||² (the notes' E); loss="last": only the last step's term.
    """
    import numpy as np

    from .. import nn
    from ..functional import squared_error
    from ..tensor import Tensor

    if loss not in ("all", "last"):
        raise ValueError(f"elman_example: loss must be 'all' or 'last', got {loss!r}")
    rng = np.random.default_rng(seed)
    model = nn.ElmanRNN(input_size, hidden, output_size, nonlinearity=nonlinearity,
                        spectral_radius=spectral_radius, seed=seed)
    x = Tensor(rng.standard_normal((steps, 1, input_size)))
    g = Tensor(rng.standard_normal((steps, 1, output_size)))
    x.name, g.name = "x", "g"
    ys, _ = model(x)
    E = squared_error(ys, g) if loss == "all" else squared_error(ys[steps - 1], g[steps - 1])
    E.backward(keep_node_grads=True)
    return model, E


def render_unrolled(steps: int = 5, hidden: int = 4, out: str | os.PathLike = "unrolled.svg",
                    view: str = "op", fmt: str | None = None, seed: int = 0,
                    nonlinearity: str = "tanh", spectral_radius: float | None = None,
                    loss: str = "all", norm: str = "l2", vmin: float | None = None,
                    vmax: float | None = None, max_nodes: int | None = 400,
                    collapse_k: int = 3, dpi: int = 96, max_steps: int | None = None,
                    overwrite: bool = True) -> Path:
    """Build the notes' Elman RNN, backprop E on a random sequence, draw it, write `out`.

    fmt ("svg", "png", "pdf", "dot"; default: from the suffix of out) replaces out's suffix.
    Writes the .dot and raises GraphvizNotFound if the `dot` program is missing.
    overwrite=False never replaces an existing file (see `save`).
    """
    out = Path(out)
    fmt = (fmt or out.suffix.lstrip(".") or "svg").lower()
    if fmt not in FORMATS:
        raise ValueError(f"render_unrolled: fmt must be one of {FORMATS}, got {fmt!r}")
    out = out.with_suffix("." + fmt)
    model, E = elman_example(steps, hidden, seed, nonlinearity, spectral_radius, loss)
    radius = "" if spectral_radius is None else f", ρ(W) = {spectral_radius:g}"
    title = (f"Elman RNN (σ = {nonlinearity}{radius}), {steps} steps unrolled · "
             f"fill: |∂E/∂node| ({NORM_TEXT[norm]})" + (" · E on the last step"
                                                        if loss == "last" else ""))
    picture = draw(E, params=model, view=view, norm=norm, vmin=vmin, vmax=vmax,
                   max_nodes=max_nodes, collapse_k=collapse_k, title=title, max_steps=max_steps)
    return save(picture, out, dpi=dpi, overwrite=overwrite)

