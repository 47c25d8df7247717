"""Build the Graphviz picture of a `View`: one cluster per time step laid out left to right,
parameters drawn once outside the clusters, fill from the |grad| colour map, edge width from the
gradient each edge carried, full statistics in tooltips, and a legend in the graph label."""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import Any

import graphviz
import numpy as np

from .colors import (
    NORM_TEXT,
    STATE_MARK,
    STATE_NODE_STYLE,
    STATE_TEXT,
    LogColormap,
    colorbar_label,
    edge_style,
    fmt,
    node_style,
)
from .fold import grad_range, member_stats
from .trace import GradStat, Node
from .views import View, VNode

FONT = "Helvetica"
MAX_STRIP = 48  # the per-step contribution strip of a parameter shows at most this many cells
# A safety net only (the views fold long graphs well before): dot scales a larger drawing down.
MAX_WIDTH_PT, MAX_HEIGHT_PT = 5000, 5000


def _h(text: str) -> str:
    return escape(str(text), quote=False)


def grad_lines(stat: GradStat, what: str = "|grad|") -> list[str]:
    if stat.state in ("none", "nonfinite"):
        return [f"{what}: {STATE_TEXT[stat.state]}"]
    return [f"{what}: L2 {fmt(stat.norm('l2'))}  RMS {fmt(stat.norm('rms'))}  "
            f"max {fmt(stat.norm('max'))}"]


def node_tooltip(n: Node, extra: list[str]) -> str:
    lines = [f"{n.op}  [{n.id}]  ({n.kind})", f"scope: {n.scope or '—'}",
             f"shape: {n.shape}  dtype: {n.dtype}"]
    if n.n_outputs > 1:
        lines.append(f"outputs: {n.n_outputs}")
    if n.value:
        v = n.value
        lines.append(f"value: min {fmt(v['min'])}  mean {fmt(v['mean'])}  max {fmt(v['max'])}")
    if n.kind == "input":
        lines.append("no gradient: does not require grad")
    else:
        lines += grad_lines(n.grad, "|∂E/∂out|" if n.kind == "op" else "|grad|")
    return "\n".join(lines + extra)


def group_tooltip(v: VNode, extra: list[str]) -> str:
    lines = [f"{v.label}  ({v.kind}: {len(v.members)} ops)"]
    lines += grad_lines(v.grad, "|∂E/∂outputs|")
    if v.grad_in is not None:
        lines += grad_lines(v.grad_in, "|grad sent to inputs|")
    return "\n".join(lines + extra)


class Painter:
    """Turns a `View` into a graphviz.Digraph with one colour map for nodes and edges."""

    def __init__(self, view: View, cmap: LogColormap, norm: str,
                 contribs: dict[str, dict[Any, np.ndarray]], notes: dict[str, list[str]]) -> None:
        self.view, self.cmap, self.norm = view, cmap, norm
        self.contribs, self.notes = contribs, notes

    def digraph(self, title: str) -> graphviz.Digraph:
        row = "cell" in self.view.kind  # cells in one row, inputs above, outputs below
        g = self.canvas(title, row)
        by_cluster: dict[Any, list[VNode]] = {}
        for v in self.view.nodes:
            by_cluster.setdefault(v.cluster, []).append(v)
        self.step_clusters(g, by_cluster)
        if row:
            self.row_layout(g, by_cluster.get(None, []))
        else:
            for v in by_cluster.get(None, ()):
                self.node(g, v)
        self.edges(g)
        return g

    def canvas(self, title: str, row: bool) -> graphviz.Digraph:
        """The empty picture: left to right for the op views, top to bottom for a row of cells."""
        g = graphviz.Digraph("unrolled", graph_attr={
            "rankdir": "TB" if row else "LR", "newrank": "true",
            "nodesep": "0.3" if row else "0.18", "ranksep": "0.6" if row else "0.32",
            "fontname": FONT, "labelloc": "t", "labeljust": "l", "bgcolor": "white",
            "pad": "0.25", "tooltip": title, "label": self.legend(title),
            "size": f"{MAX_WIDTH_PT / 72:.2f},{MAX_HEIGHT_PT / 72:.2f}"})
        g.attr("node", fontname=FONT, fontsize="10", shape="box", height="0.3",
               margin="0.06,0.03")
        g.attr("edge", fontname=FONT, fontsize="8")
        return g

    def step_clusters(self, g: graphviz.Digraph, by_cluster: dict[Any, list[VNode]]) -> None:
        """The op views: one cluster per time step holding that step's ops."""
        for step in self.view.clusters():
            with g.subgraph(name=f"cluster_t{step}") as c:
                c.attr(label=f"t={step}", style="rounded,filled", fillcolor="#f4f4f6",
                       color="#c8c8d0", fontsize="11", fontcolor="#555555", penwidth="1",
                       margin="6", id=f"cluster_t{step}")
                for v in by_cluster[step]:
                    self.node(c, v)

    def row_layout(self, g: graphviz.Digraph, outside: list[VNode]) -> None:
        """The cell views: the spine of cells in one rank, and each leaf that feeds a single
        node off the spine in that node's rank."""
        beside = self.beside()
        for v in outside:
            if not _on_spine(v) and v.id not in beside:
                self.node(g, v)
        with g.subgraph(name="spine") as r:
            r.attr(rank="same")
            for v in outside:
                if _on_spine(v):
                    self.node(r, v)
        nodes = {v.id: v for v in self.view.nodes}
        for i, (target, leaves) in enumerate(_invert(beside).items()):
            with g.subgraph(name=f"beside{i}") as r:
                r.attr(rank="same")
                r.node(target)
                for leaf in leaves:
                    self.node(r, nodes[leaf])

    def edges(self, g: graphviz.Digraph) -> None:
        spine = {v.id for v in self.view.nodes if _on_spine(v)}
        for i, e in enumerate(self.view.edges):
            attrs = edge_style(e.grad, self.cmap, self.norm)
            if e.src in spine and e.dst in spine:
                attrs["weight"] = "8"  # keep the hidden-state spine straight
            elif e.grad.state == "finite":
                attrs["color"] = "#3a3a3a70"  # fan-out/fan-in edges: behind the spine
            merged = f" ({e.count} edges merged)" if e.count > 1 else ""
            tip = "\n".join([f"{e.src} → {e.dst}{merged}"] + grad_lines(e.grad, "|grad carried|"))
            g.edge(e.src, e.dst, id=f"e{i}", tooltip=tip, **attrs)

    def beside(self) -> dict[str, str]:
        """Leaves that feed exactly one node off the spine go into that node's rank (so U and b
        sit next to the input projection instead of in a row of their own)."""
        spine = {v.id for v in self.view.nodes if _on_spine(v)}
        kinds = {v.id: v.kind for v in self.view.nodes}
        targets: dict[str, set[str]] = {}
        for e in self.view.edges:
            if kinds.get(e.src) in ("param", "input"):
                targets.setdefault(e.src, set()).add(e.dst)
        return {leaf: next(iter(ts)) for leaf, ts in targets.items()
                if len(ts) == 1 and not ts & spine}

    # ----------------------------------------------------------------------------- nodes
    def node(self, g: graphviz.Digraph, v: VNode) -> None:
        extra = _counted("folded in", self.view.hidden.get(v.id, ()))
        extra += [f"absorbed: {m.op} [{m.id}]" for m in v.members[1:] if v.kind == "param"]
        extra += self.notes.get(v.id, [])
        if v.kind in ("op", "param", "input"):
            tooltip = node_tooltip(v.members[0], extra + self.split_lines(v))
        else:
            tooltip = group_tooltip(v, self.fold_lines(v) + extra)
        attrs = self.style(v)
        if _on_spine(v):
            attrs["group"] = "spine"
        g.node(v.id, label=self.label(v), tooltip=tooltip, id=v.id, **attrs)

    def fold_lines(self, v: VNode) -> list[str]:
        """The true range of what a fold holds: the per-step output gradients, min (at t) …
        max (at t), then the gradient at every folded op's output."""
        lines = []
        if v.per_step:
            steps = grad_range(v.per_step, self.norm)
            bad = steps["nonfinite"]
            if bad:
                lines.append(f"{len(bad)} steps NaN/Inf, the last at t={max(bad)}")
            if steps["lo"] is not None:
                (lo, lo_v), (hi, hi_v) = steps["lo"], steps["hi"]
                lines.append(f"per step: {fmt(lo_v)} (t={lo}) … {fmt(hi_v)} (t={hi})")
        ops = grad_range(member_stats(v.members), self.norm)
        if ops["nonfinite"] and not v.per_step:
            lines.append(f"{len(ops['nonfinite'])} ops NaN/Inf")
        if ops["lo"] is not None:
            by_id = {m.id: m for m in v.members}
            (lo, lo_v), (hi, hi_v) = ops["lo"], ops["hi"]
            lines.append(f"per op: {fmt(lo_v)} ({by_id[lo].op} {lo}) … {fmt(hi_v)} "
                         f"({by_id[hi].op} {hi})")
        if ops["none"]:
            lines.append(f"{ops['none']} ops: gradient not computed yet")
        nonfinite = bool(ops["nonfinite"]) or any(s.state == "nonfinite"
                                                 for s in (v.per_step or {}).values())
        if (v.per_step or ops["lo"] is not None) and not nonfinite:
            lines.append(f"fill: the median, {fmt(v.fill[self.norm].norm(self.norm))}")
        return lines

    def style(self, v: VNode) -> dict[str, str]:
        """Maps the statistic the view chose for the fill (`v.fill`, see views.fill_stat) to a
        style; the shape and border follow the node's kind."""
        if v.kind == "input":
            return {"shape": "note", "style": "filled", "fillcolor": "#ffffff",
                    "color": "#9a9a9a", "fontcolor": "#555555"}
        attrs = node_style(v.fill[self.norm], self.cmap, self.norm)
        if v.kind == "param":
            attrs["style"] = attrs["style"].replace("rounded,", "")
            attrs["penwidth"] = str(max(2.0, float(attrs.get("penwidth", "1"))))
            attrs["margin"] = "0.1,0.05"
        elif v.kind == "fold":
            attrs["shape"] = "box3d"
            attrs["style"] = attrs["style"].replace("rounded,", "")
            attrs["margin"] = "0.14,0.08"
        elif v.kind in ("cell", "scope"):
            attrs["margin"] = "0.1,0.05"
        return attrs

    def label(self, v: VNode) -> str:
        mark = STATE_MARK[v.grad.state] if v.kind != "input" else ""
        sub = v.sub + (f" · {mark}" if mark else "")
        if v.kind == "param":
            head = f'<B>{_h(v.label)}</B> <FONT POINT-SIZE="8">{_h(sub)}</FONT>'
            strip = self.strip(v)
            if not strip:
                return f"<{head}>"
            return (f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">'
                    f'<TR><TD>{head}</TD></TR><TR><TD>{strip}</TD></TR></TABLE>>')
        lines = [f"<B>{_h(v.label)}</B>" if v.kind in ("cell", "fold", "scope") else _h(v.label)]
        if v.kind == "fold":
            lines += [f'<FONT POINT-SIZE="8">{_h(t)}</FONT>' for t in self.fold_lines(v)[:1]]
        elif v.kind in ("cell", "scope"):
            lines.append(f'<FONT POINT-SIZE="8">out {fmt(v.grad.norm(self.norm))}</FONT>')
            if v.grad_in is not None and v.grad_in.present:
                lines.append(f'<FONT POINT-SIZE="8">in {fmt(v.grad_in.norm(self.norm))}</FONT>')
        if v.kind != "cell":
            lines.append(f'<FONT POINT-SIZE="8">{_h(sub)}</FONT>')
        return "<" + "<BR/>".join(lines) + ">"

    # ------------------------------------------------------------ per-step contributions
    def buckets(self, v: VNode) -> list[tuple[str, GradStat, bool]]:
        """The parameter's gradient split by time step, folded steps summed into one cell:
        (label, stat, whether it is a time step rather than a scope such as "input")."""
        parts = self.contribs.get(v.id)
        if not parts:
            return []
        fold = self.view.folded
        out: list[tuple[str, GradStat, bool]] = []
        folded: np.ndarray | None = None
        for key, g in parts.items():
            if fold is not None and isinstance(key, int) and fold[0] <= key <= fold[1]:
                folded = g if folded is None else folded + g
                if key == fold[1]:
                    out.append((f"t={fold[0]}…{fold[1]}", GradStat.of(folded), True))
                continue
            step = isinstance(key, int)
            out.append((f"t={key}" if step else str(key), GradStat.of(g), step))
        return out

    def split_lines(self, v: VNode) -> list[str]:
        parts = [(name, stat) for name, stat, _ in self.buckets(v)]
        if len(parts) < 2:
            return []
        lines = [f"per-step contributions ({NORM_TEXT[self.norm]}), summing to .grad:"]
        shown = parts if len(parts) <= 24 else parts[:12] + [("…", GradStat())] + parts[-12:]
        for name, stat in shown:
            lines.append(f"  {name}: {fmt(stat.norm(self.norm))}" if name != "…" else "  …")
        return lines

    def strip(self, v: VNode) -> str:
        """A row of small cells, one per step, coloured by that step's contribution."""
        parts = [(n, s) for n, s, step in self.buckets(v) if step]
        if len(parts) < 2 or len(parts) > MAX_STRIP:
            return ""
        cells = []
        for name, stat in parts:
            if stat.state == "finite":
                value = stat.norm(self.norm)
                assert value is not None  # a finite stat has a gradient
                color, style = self.cmap.color(value), ""
            else:
                color = STATE_NODE_STYLE[stat.state]["fillcolor"]
                style = ' STYLE="dashed"' if stat.state == "zero" else ""
            wide = 16 if "…" in name else 9
            cells.append(f'<TD BGCOLOR="{color}" BORDER="1" COLOR="#555555"{style} '
                         f'WIDTH="{wide}" HEIGHT="9" FIXEDSIZE="TRUE" '
                         f'TOOLTIP="{_h(name)}: {fmt(stat.norm(self.norm))}"></TD>')
        return ('<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="1" CELLPADDING="0"><TR>'
                + "".join(cells) + "</TR></TABLE>")

    # --------------------------------------------------------------------------- legend
    def legend(self, title: str) -> str:
        def swatch(state: str, text: str) -> str:
            s = STATE_NODE_STYLE[state]
            style = {"none": "dotted", "zero": "dashed", "nonfinite": "solid"}[state]
            border = "2" if state == "nonfinite" else "1"
            return (f'<TD BGCOLOR="{s["fillcolor"]}" COLOR="{s["color"]}" BORDER="{border}" '
                    f'STYLE="{style}" CELLPADDING="3"><FONT POINT-SIZE="9" '
                    f'COLOR="{s["fontcolor"]}">{_h(text)}</FONT></TD>')
        bar = colorbar_label(self.cmap, self.norm)[1:-1]
        states = "".join(swatch(s, text) for s, text in (("none", "∅ not computed yet"),
                                                          ("zero", "0 exactly zero"),
                                                          ("nonfinite", "NaN or Inf")))
        note = ("edge width: |grad| that flowed along the edge · dotted: none · "
                "parameter strip: its gradient split by time step")
        return (f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="4" CELLPADDING="0">'
                f'<TR><TD ALIGN="LEFT" COLSPAN="4"><FONT POINT-SIZE="14"><B>{_h(title)}</B>'
                f'</FONT></TD></TR><TR><TD>{bar}</TD>{states}</TR>'
                f'<TR><TD ALIGN="LEFT" COLSPAN="4"><FONT POINT-SIZE="9" COLOR="#555555">'
                f'{_h(note)}</FONT></TD></TR></TABLE>>')


def _counted(what: str, items: Any, most: int = 8) -> list[str]:
    """One tooltip line per distinct item, with its count, the most common first (a fold can
    hold thousands of constants, and dot rejects a string over 16 kB)."""
    counts = Counter(items)
    lines = [f"{what}: {item}" + (f" ×{n}" if n > 1 else "")
             for item, n in counts.most_common(most)]
    if len(counts) > most:
        lines.append(f"{what}: {len(counts) - most} more kinds")
    return lines


def _invert(mapping: dict[str, str]) -> dict[str, list]:
    out: dict[str, list] = {}
    for key, value in mapping.items():
        out.setdefault(value, []).append(key)
    return out


def _on_spine(v: VNode) -> bool:
    """Nodes of a time step (ops inside a step, cells, the folded middle) form the spine."""
    return v.cluster is not None or v.kind in ("cell", "fold")
