"""The explorer page: HTML skeleton and style; the script is in page_script.py. All of it goes
inline into one file (no library, no request).

The script reads the JSON block `#data` (see explore.explorer_data) and draws:
- the overview: one SVG cell per time step (`data-step`), coloured by the step's output
  gradient, and one row per shared parameter (`data-param`) with its per-step contributions;
- the detail: the op-level graph of the brushed step range, laid out like the static op view
  (data flows left to right, one box per time step, parameters drawn once above), every node
  with `data-op` and `data-grad-l2` (a number, or "none" when no gradient was computed);
- tooltips, search by op name, the norm switch, pan and zoom, and, when present, the training
  heatmap and the influence matrix (canvas).
"""

from .page_script import SCRIPT

__all__ = ["TEMPLATE", "STYLE", "SCRIPT"]

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<header>
  <h1>{title}</h1>
  <div id="controls">
    <label>norm <select id="norm"></select></label>
    <label>search ops <input id="search" type="search" placeholder="e.g. Tanh" size="14"></label>
    <span id="matches"></span>
    <span id="legend"></span>
  </div>
</header>
<section id="overview-section">
  <h2>Every time step <small>fill: gradient at the step's outputs (‖∂E/∂h_t‖); drag to
  expand a range, wheel to zoom, double-click to reset</small></h2>
  <div id="overview"><span class="pname">‖∂E/∂h_t‖ per step</span></div>
  <div id="axis"><span id="axis-from"></span><span id="axis-to"></span></div>
  <div id="params"></div>
</section>
<section id="detail-section">
  <h2 id="detail-title">Op-level graph</h2>
  <div id="detail"></div>
</section>
<section id="training-section" hidden>
  <h2>Gradient flow over training <small id="training-label"></small></h2>
  <canvas id="training" data-heatmap="training"></canvas>
</section>
<section id="influence-section" hidden>
  <h2>Influence matrix <small id="influence-label"></small></h2>
  <canvas id="influence" data-heatmap="influence"></canvas>
</section>
<div id="tooltip" role="tooltip" hidden></div>
<script id="data" type="application/json">{data}</script>
<script>{script}</script>
</body>
</html>
"""

STYLE = """
body { font: 13px Helvetica, Arial, sans-serif; margin: 0 16px 24px; color: #222; }
header { position: sticky; top: 0; background: #fff; z-index: 2; padding: 8px 0;
  border-bottom: 1px solid #ddd; }
h1 { font-size: 17px; margin: 4px 0; }
h2 { font-size: 14px; margin: 14px 0 6px; }
h2 small, #controls { font-weight: normal; color: #555; }
#controls { display: flex; gap: 16px; align-items: center; flex-wrap: wrap; }
#legend { display: inline-flex; gap: 8px; align-items: center; }
.bar { width: 160px; height: 12px; border: 1px solid #999; display: inline-block; }
.swatch { padding: 1px 5px; font-size: 11px; }
#overview { display: flex; align-items: center; }
#overview svg { flex: 1; min-width: 0; height: 46px; display: block; cursor: crosshair;
  border: 1px solid #ccc; }
.pname { width: 150px; flex: none; font-size: 11px; white-space: nowrap; overflow: hidden; }
.prow { display: flex; align-items: center; margin-top: 2px; }
.prow canvas { flex: 1; height: 12px; border: 1px solid #ddd; min-width: 0; }
#detail { border: 1px solid #ccc; height: 460px; overflow: hidden; }
#detail svg { width: 100%; height: 100%; cursor: grab; display: block; }
.node rect { stroke: #333; stroke-width: 1; }
.node text { font-size: 10px; pointer-events: none; }
.node.param rect { stroke-width: 2.2; }
.node.input rect { fill: #fff; stroke: #9a9a9a; }
.node.dim { opacity: 0.25; }
.node.match rect { stroke: #d1001f; stroke-width: 3; }
.cluster { fill: #f4f4f6; stroke: #c8c8d0; }
.cluster-label { font-size: 11px; fill: #555; }
.edge { fill: none; }
.brush { fill: rgba(209, 0, 31, 0.15); stroke: #d1001f; stroke-width: 1.5;
  vector-effect: non-scaling-stroke; pointer-events: none; }
#axis { display: flex; justify-content: space-between; font-size: 11px; color: #555;
  margin-left: 150px; }
.mark { fill: #d1001f; }
canvas[data-heatmap] { border: 1px solid #ccc; image-rendering: pixelated; width: 100%;
  max-width: 900px; }
#tooltip { position: fixed; background: #fffff4; border: 1px solid #888; padding: 5px 7px;
  font-size: 11px; white-space: pre; pointer-events: none; z-index: 5;
  box-shadow: 1px 2px 4px rgba(0,0,0,.2); }
"""
