"""The explorer: one self-contained HTML file to look at an unrolled graph of any length.

    loss.backward(keep_node_grads=True)
    viz.explore(loss, params=model).save("explorer.html")    # or display it in Jupyter

The page holds the traced graph as JSON and a small script (page.py) that draws it: an overview
strip with one cell per time step coloured by ‖∂E/∂h_t‖, every shared parameter's per-step
contributions beside it, the op-level graph of any step range you brush, tooltips, search, a
norm switch, pan and zoom, and, when given, the training-step × time-step heatmap and the
influence matrix. It loads nothing from anywhere: its content security policy forbids it.
"""

from __future__ import annotations

import json
import math
import os
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from ..io import atomic_write
from .colors import LogColormap
from .contrib import param_contributions
from .page import SCRIPT, STYLE, TEMPLATE
from .trace import NORMS, STATES, GradStat, Graph, trace
from .views import is_hidden, step_stats

KINDS = ("op", "param", "input")
COLORMAP_SIZE = 64


def _num(value: float | None) -> float | None:
    """Four significant digits keep the file small; None for 'no number'."""
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.4g}")


def _grad_columns(stats: list[GradStat]) -> dict[str, list]:
    out: dict[str, list] = {"state": [STATES.index(s.state) for s in stats]}
    for norm in NORMS:
        out[norm] = [_num(s.norm(norm)) for s in stats]
    return out


def _grad_dict(stat: GradStat) -> dict[str, Any]:
    return {"state": STATES.index(stat.state), **{k: _num(stat.norm(k)) for k in NORMS}}


class _Table:
    """Strings stored once (op names, scopes, shapes), referred to by index."""

    def __init__(self) -> None:
        self.items: list = []
        self.index: dict = {}

    def __call__(self, item: Any) -> int:
        if item not in self.index:
            self.index[item] = len(self.items)
            self.items.append(item)
        return self.index[item]


def _nodes(graph: Graph) -> tuple[dict[str, Any], dict[str, int]]:
    ops, scopes, shapes = _Table(), _Table(), _Table()
    kept = [n for n in graph.nodes if not is_hidden(n)]
    where = {n.id: i for i, n in enumerate(kept)}
    value = [n.value or {} for n in kept]
    columns = {
        "id": [n.id for n in kept], "op": [ops(n.op) for n in kept],
        "kind": [KINDS.index(n.kind) for n in kept],
        "step": [-1 if n.step is None else n.step for n in kept],
        "scope": [scopes(n.scope or "") for n in kept],
        "shape": [shapes("×".join(map(str, n.shape)) or "scalar") for n in kept],
        "vmin": [_num(v.get("min")) for v in value], "vmean": [_num(v.get("mean")) for v in value],
        "vmax": [_num(v.get("max")) for v in value],
        **_grad_columns([n.grad for n in kept])}
    tables = {"ops": ops.items, "scopes": scopes.items, "shapes": shapes.items}
    return {**columns, **tables}, where


def _edges(graph: Graph, where: dict[str, int]) -> dict[str, list]:
    kept = [e for e in graph.edges if e.src in where and e.dst in where]
    return {"src": [where[e.src] for e in kept], "dst": [where[e.dst] for e in kept],
            **_grad_columns([e.grad for e in kept])}


def _params(graph: Graph, steps: list[int], where: dict[str, int]) -> list[dict[str, Any]]:
    out = []
    for node in graph.params():
        parts = param_contributions(graph, node)
        per_step = [GradStat.of(parts[t]) if t in parts else GradStat() for t in steps]
        others = [{"bucket": str(k), **_grad_dict(GradStat.of(g))}
                  for k, g in parts.items() if not isinstance(k, int)]
        grad = node.fn.grad if node.fn is not None else None
        total = sum(parts.values()) if parts else None
        error = (float(np.max(np.abs(total - grad))) if total is not None and grad is not None
                 and np.size(grad) else None)
        out.append({"name": node.op, "node": where[node.id],
                    "shape": "×".join(map(str, node.shape)) or "scalar",
                    "grad": _grad_dict(node.grad), "steps": _grad_columns(per_step),
                    "other": others, "sum_error": None if error is None else _num(error)})
    return out


def _scales(data: dict[str, Any]) -> dict[str, list[float]]:
    """One log scale per norm over everything the page colours, as the static views do."""
    scales = {}
    for norm in NORMS:
        values = list(data["nodes"][norm]) + list(data["edges"][norm])
        values += data["step_grad"][norm]
        for p in data["params"]:
            values += p["steps"][norm] + [o[norm] for o in p["other"]]
        cmap = LogColormap.span([v for v in values if v is not None])
        scales[norm] = [cmap.vmin, cmap.vmax]
    return scales


def _colormap() -> list[str]:
    cmap = LogColormap(1.0, 10.0)
    return [cmap.color(10 ** (i / (COLORMAP_SIZE - 1))) for i in range(COLORMAP_SIZE)]


def explorer_data(graph: Graph, title: str = "unrolled graph", training: Any = None,
                  influence: Any = None) -> dict[str, Any]:
    """Everything the page shows, as plain JSON-ready data (the page's only input)."""
    steps = graph.steps
    per_step = step_stats(graph)
    nodes, where = _nodes(graph)
    data: dict[str, Any] = {
        "title": title, "T": len(steps), "steps": steps, "nodes": nodes,
        "edges": _edges(graph, where),
        "step_grad": _grad_columns([per_step.get(t, GradStat()) for t in steps]),
        "params": _params(graph, steps, where), "norms": list(NORMS), "states": list(STATES),
        "colormap": _colormap()}
    data["scale"] = _scales(data)
    if training is not None:
        data["training"] = training.to_dict()
    if influence is not None:
        data["influence"] = influence.to_dict()
    return data


def _json_for_script(data: dict[str, Any]) -> str:
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/")  # a "</script>" inside a string must not end the block


class Explorer:
    """The explorer page of one graph: `.save(path)`, `.html`, `.data`, and Jupyter display."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.html = TEMPLATE.format(title=escape(data["title"]), style=STYLE, script=SCRIPT,
                                    data=_json_for_script(data))

    def save(self, path: str | os.PathLike) -> Path:
        """Write the page to `path` atomically (readers never see half a file)."""
        path = Path(path)
        payload = self.html.encode("utf-8")
        atomic_write(path, lambda f: f.write(payload), make_dirs=True)
        return path

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{escape(self.html, quote=True)}" style="width:100%;'
                'height:760px;border:1px solid #ddd" sandbox="allow-scripts"></iframe>')


def explore(tensor: Any, params: Any = None, title: str | None = None, training: Any = None,
            influence: Any = None) -> Explorer:
    """The explorer of the graph behind `tensor` (after `backward(keep_node_grads=True)`).

    params: {name: tensor} or a Module, to name the parameters. training: a
    `flow.TrainingFlow` (the heatmap of ‖∂E/∂h_t‖ over training), influence: an
    `influence.Influence` (‖∂h_t/∂h_s‖ for s ≤ t). Returns an `Explorer`.
    """
    graph = tensor if isinstance(tensor, Graph) else trace(tensor, params)
    if title is None:
        title = f"{len(graph.steps)} steps unrolled"
    return Explorer(explorer_data(graph, title, training, influence))
