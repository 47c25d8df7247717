"""Colour by |grad|: a log-scale, colour-blind-safe sequential map, plus styles for the states
that are not a number on that scale (not computed yet, exactly zero, NaN/Inf) and the legend."""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Any

from .trace import GradStat

# Styles of the three states that never take a colour from the map. They differ in fill, border
# style and label mark, so they stay apart in grey-scale print and for colour-blind readers.
STATE_NODE_STYLE: dict[str, dict[str, str]] = {
    "none": {"style": "rounded,filled,dotted", "fillcolor": "#f2f2f2", "color": "#9a9a9a",
             "fontcolor": "#8a8a8a", "penwidth": "1.2"},
    "zero": {"style": "rounded,filled,dashed", "fillcolor": "#ffffff", "color": "#222222",
             "fontcolor": "#222222", "penwidth": "1.4"},
    "nonfinite": {"style": "rounded,filled,bold", "fillcolor": "#ffd6d6", "color": "#d1001f",
                  "fontcolor": "#8b0000", "penwidth": "2.2", "peripheries": "2"},
}
STATE_MARK = {"none": "∅", "zero": "0", "nonfinite": "NaN/Inf", "finite": ""}
STATE_TEXT = {"none": "not computed yet", "zero": "exactly zero", "nonfinite": "NaN or Inf",
              "finite": "finite"}
NORM_TEXT = {"l2": "L2 norm", "rms": "RMS", "max": "max |g|"}


def _hex(rgb: Any) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(round(255 * c)) for c in rgb[:3]))


def luminance(color: str) -> float:
    """Relative luminance (WCAG) of a '#rrggbb' colour, 0 (black) .. 1 (white)."""
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (int(color[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


@dataclass
class LogColormap:
    """Maps |g| in [vmin, vmax] to a colour on a log10 scale (values outside are clipped).

    Fixed vmin/vmax make two pictures comparable; `span` picks them from the data.
    """

    vmin: float
    vmax: float
    name: str = "viridis"

    def __post_init__(self) -> None:
        if not (self.vmin > 0 and self.vmax > 0 and math.isfinite(self.vmin)
                and math.isfinite(self.vmax)):
            raise ValueError(f"LogColormap: vmin and vmax must be finite and > 0, got "
                             f"vmin={self.vmin}, vmax={self.vmax}")
        if self.vmin > self.vmax:
            raise ValueError(f"LogColormap: vmin={self.vmin} is larger than vmax={self.vmax}")
        if self.vmin == self.vmax:  # one value only: give it a decade either side
            self.vmin, self.vmax = self.vmin / 10, self.vmax * 10
        from matplotlib import colormaps

        self._cmap = colormaps[self.name]

    @classmethod
    def span(cls, values: Any, vmin: float | None = None, vmax: float | None = None,
             name: str = "viridis") -> LogColormap:
        """A map whose range is the positive finite `values` (or the given vmin/vmax)."""
        positive = [v for v in values if v is not None and math.isfinite(v) and v > 0]
        lo = vmin if vmin is not None else (min(positive) if positive else 1e-3)
        hi = vmax if vmax is not None else (max(positive) if positive else 1.0)
        if lo > hi and vmin is None:  # a given vmax below all the data: keep the user's end
            lo = hi / 10
        elif lo > hi and vmax is None:
            hi = lo * 10
        return cls(lo, hi, name)

    def fraction(self, value: float) -> float:
        """Position of value in [0, 1] on the log scale."""
        lo, hi = math.log10(self.vmin), math.log10(self.vmax)
        return min(1.0, max(0.0, (math.log10(max(value, 1e-300)) - lo) / (hi - lo)))

    def color(self, value: float) -> str:
        return _hex(self._cmap(self.fraction(value)))

    def ticks(self) -> list[float]:
        """Powers of ten inside the range (at most about six of them)."""
        lo, hi = math.ceil(math.log10(self.vmin) - 1e-9), math.floor(math.log10(self.vmax) + 1e-9)
        step = max(1, math.ceil((hi - lo + 1) / 6))
        return [10.0 ** e for e in range(lo, hi + 1, step)]


def node_style(stat: GradStat, cmap: LogColormap, norm: str) -> dict[str, str]:
    """Graphviz attributes of a node whose gradient is summarised by `stat`."""
    state = stat.state
    if state != "finite":
        return dict(STATE_NODE_STYLE[state])
    value = stat.norm(norm)
    assert value is not None  # a finite stat has a gradient
    fill = cmap.color(value)
    text = "#ffffff" if luminance(fill) < 0.3 else "#111111"
    return {"style": "rounded,filled", "fillcolor": fill, "color": "#333333",
            "fontcolor": text, "penwidth": "1.0"}


def edge_style(stat: GradStat, cmap: LogColormap, norm: str) -> dict[str, str]:
    """Edge width grows with the log of the gradient that flowed along it."""
    state = stat.state
    if state == "none":
        return {"style": "dotted", "color": "#b0b0b0", "penwidth": "0.8", "arrowsize": "0.5"}
    if state == "zero":
        return {"style": "dashed", "color": "#6a6a6a", "penwidth": "0.8", "arrowsize": "0.5"}
    if state == "nonfinite":
        return {"style": "bold", "color": "#d1001f", "penwidth": "3.0", "arrowsize": "0.7"}
    value = stat.norm(norm)
    assert value is not None  # "finite": a gradient is present
    frac = cmap.fraction(value)
    return {"color": "#3a3a3a", "penwidth": f"{0.7 + 3.8 * frac:.2f}",
            "arrowsize": f"{0.45 + 0.35 * frac:.2f}"}


def fmt(value: float | None) -> str:
    """Short scientific notation: 1.2e-03, '0', 'nan', '—' (not computed)."""
    if value is None:
        return "—"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if value == 0:
        return "0"
    return f"{value:.2e}".replace("e+0", "e+").replace("e-0", "e-")


def short(value: float) -> str:
    """Two significant digits: 1.3e-1, 1e-3 (for decades), 0."""
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.1e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if mantissa.endswith(".0") else mantissa
    return f"{mantissa}e{int(exponent)}"


def colorbar_label(cmap: LogColormap, norm: str, cells: int = 30, span: int = 6) -> str:
    """An HTML-like Graphviz label: a colour bar of equal cells with tick labels under it.

    Each label spans `span` cells and is small enough to fit, so the cells stay equal.
    """
    lo, hi = math.log10(cmap.vmin), math.log10(cmap.vmax)

    def cell_color(i: int) -> str:  # in log space: vmax / vmin can overflow a float
        return cmap.color(10.0 ** (lo + (hi - lo) * (i + 0.5) / cells))
    bar = "".join(f'<TD BGCOLOR="{cell_color(i)}" WIDTH="8" HEIGHT="12"></TD>'
                  for i in range(cells))
    # vmin and vmax at the ends, powers of ten between them where they do not collide
    ticks = [(0, "LEFT", short(cmap.vmin))]
    for t in cmap.ticks():
        start = round(cmap.fraction(t) * cells) - span // 2
        if span <= start <= cells - 2 * span and start >= ticks[-1][0] + span:
            ticks.append((start, "CENTER", short(t)))
    ticks.append((cells - span, "RIGHT", short(cmap.vmax)))
    row, col = [], 0
    for start, align, text in ticks:
        if start > col:
            row.append(f'<TD COLSPAN="{start - col}"></TD>')
        row.append(f'<TD COLSPAN="{span}" ALIGN="{align}"><FONT POINT-SIZE="8">{escape(text)}'
                   f'</FONT></TD>')
        col = start + span
    title = f"|∂E/∂node| ({NORM_TEXT[norm]}, log scale)"
    return (f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">'
            f'<TR><TD COLSPAN="{cells}" ALIGN="LEFT"><FONT POINT-SIZE="10"><B>{escape(title)}'
            f'</B></FONT></TD></TR><TR>{bar}</TR><TR>{"".join(row)}</TR></TABLE>>')
