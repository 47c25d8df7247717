"""The explorer's script: plain JavaScript, no library, run inline by the page (see page.py).

Sections: indexes over the embedded data, tooltip, legend and controls, the overview strip and
parameter rows (brush, zoom), the detail graph (layout, clusters, edges, nodes, pan and zoom),
search, the two heatmaps, and start-up. `window.explorer` exposes expand(a, b) for scripts.
"""

SCRIPT = r"""
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const NONE = 0, ZERO = 1, FINITE = 2, NONFINITE = 3;
const STATE_FILL = ["#f2f2f2", "#ffffff", null, "#ffd6d6"];
const STATE_TEXT = ["not computed yet", "exactly zero", "finite", "NaN or Inf"];
const MAX_EXPAND = 40;  // steps drawn at once in the detail
const SVG = "http://www.w3.org/2000/svg";
const S = { norm: "l2", range: null, query: "", view: [0, D.T] };
const N = D.nodes, E = D.edges, nNodes = N.id.length;

function el(tag, attrs, parent) {
  const e = document.createElementNS(SVG, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}
function fmt(v) {
  if (v === null || v === undefined) return "—";
  return v === 0 ? "0" : v.toExponential(2);
}
function color(value, state, scale) {
  if (state !== FINITE) return STATE_FILL[state];
  const lo = Math.log10(scale[0]), hi = Math.log10(scale[1]);
  const f = Math.min(1, Math.max(0, (Math.log10(Math.max(value, 1e-300)) - lo) / (hi - lo)));
  return D.colormap[Math.round(f * (D.colormap.length - 1))];
}
function gradText(cols, i, what) {
  const st = cols.state[i];
  if (st !== FINITE && st !== ZERO) return what + ": " + STATE_TEXT[st];
  return what + ": L2 " + fmt(cols.l2[i]) + "  RMS " + fmt(cols.rms[i]) + "  max " +
    fmt(cols.max[i]);
}

// ------------------------------------------------------------------------ indexes
const stepIndex = new Map(D.steps.map((t, i) => [t, i]));
const byStep = new Map();
for (let i = 0; i < nNodes; i++) {
  const t = N.step[i];
  if (t >= 0) { if (!byStep.has(t)) byStep.set(t, []); byStep.get(t).push(i); }
}
const outEdges = Array.from({ length: nNodes }, () => []);
const inEdges = Array.from({ length: nNodes }, () => []);
for (let k = 0; k < E.src.length; k++) { outEdges[E.src[k]].push(k); inEdges[E.dst[k]].push(k); }

// ------------------------------------------------------------------------ tooltip
const tip = document.getElementById("tooltip");
function showTip(evt, text) {
  tip.textContent = text; tip.hidden = false;
  const x = Math.min(evt.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
  const y = Math.min(evt.clientY + 14, window.innerHeight - tip.offsetHeight - 8);
  tip.style.left = x + "px"; tip.style.top = y + "px";
}
function hideTip() { tip.hidden = true; }
function nodeText(i) {
  const kind = ["op", "parameter", "input"][N.kind[i]];
  const lines = [D.nodes.ops[N.op[i]] + "  [" + N.id[i] + "]  (" + kind + ")",
    "scope: " + (D.nodes.scopes[N.scope[i]] || "—"), "shape: " + D.nodes.shapes[N.shape[i]]];
  if (N.vmin[i] !== null) lines.push("value: min " + fmt(N.vmin[i]) + "  mean " +
    fmt(N.vmean[i]) + "  max " + fmt(N.vmax[i]));
  if (N.kind[i] === 2) lines.push("no gradient: does not require grad");
  else lines.push(gradText(N, i, N.kind[i] === 0 ? "|∂E/∂out|" : "|grad|"));
  lines.push("state: " + STATE_TEXT[N.state[i]]);
  return lines.join("\n");
}

// ------------------------------------------------------------------------ legend, controls
function drawLegend() {
  const sc = D.scale[S.norm], stops = D.colormap.map((c, i) =>
    c + " " + (100 * i / (D.colormap.length - 1)).toFixed(1) + "%").join(",");
  const legend = document.getElementById("legend");
  legend.innerHTML = "";
  const lo = document.createElement("span"); lo.textContent = fmt(sc[0]);
  const bar = document.createElement("span"); bar.className = "bar";
  bar.style.background = "linear-gradient(to right," + stops + ")";
  bar.title = "log scale";
  const hi = document.createElement("span"); hi.textContent = fmt(sc[1]) + " (log scale)";
  legend.append(lo, bar, hi);
  for (const st of [NONE, ZERO, NONFINITE]) {
    const s = document.createElement("span"); s.className = "swatch";
    s.textContent = ["∅ ", "0 ", "", "NaN/Inf "][st] + STATE_TEXT[st];
    s.style.background = STATE_FILL[st];
    s.style.border = (st === NONE ? "1px dotted #9a9a9a" : st === ZERO ? "1px dashed #222" :
      "2px double #d1001f");
    legend.append(s);
  }
}
const normSelect = document.getElementById("norm");
for (const n of D.norms) {
  const o = document.createElement("option"); o.value = n;
  o.textContent = { l2: "L2", rms: "RMS", max: "max |g|" }[n]; normSelect.append(o);
}
normSelect.addEventListener("change", () => { S.norm = normSelect.value; redraw(); });

// ------------------------------------------------------------------------ overview
const ovHost = document.getElementById("overview");
const ov = el("svg", { id: "overview-strip", preserveAspectRatio: "none" }, ovHost);
const ovCells = el("g", {}, ov), ovMarks = el("g", {}, ov);
const brush = el("rect", { class: "brush", y: 0, height: 40, x: 0, width: 0 }, ov);
const cells = [];
for (let i = 0; i < D.T; i++) {
  cells.push(el("rect", { x: i, y: 0, width: 1.02, height: 34, "data-step": D.steps[i] },
    ovCells));
}
function paintOverview() {
  const sc = D.scale[S.norm], g = D.step_grad;
  for (let i = 0; i < D.T; i++) cells[i].setAttribute("fill", color(g[S.norm][i], g.state[i], sc));
  ov.setAttribute("viewBox", S.view[0] + " 0 " + Math.max(1, S.view[1] - S.view[0]) + " 40");
  for (const row of paramRows) row.paint();
  const last = Math.min(D.T - 1, Math.ceil(S.view[1]) - 1);
  const first = D.steps[Math.floor(S.view[0])];
  document.getElementById("axis-from").textContent = D.T ? "t=" + first : "";
  document.getElementById("axis-to").textContent = D.T ? "t=" + D.steps[last] : "";
  placeBrush();
}
function placeBrush() {
  if (!S.range) { brush.setAttribute("width", 0); return; }
  const a = stepIndex.get(S.range[0]), b = stepIndex.get(S.range[1]);
  brush.setAttribute("x", a); brush.setAttribute("width", b - a + 1);
}
function indexAt(evt) {
  const r = ov.getBoundingClientRect();
  const f = (evt.clientX - r.left) / r.width;
  return Math.max(0, Math.min(D.T - 1, Math.floor(S.view[0] + f * (S.view[1] - S.view[0]))));
}
let dragFrom = null;
ov.addEventListener("mousedown", (evt) => { dragFrom = indexAt(evt); evt.preventDefault(); });
window.addEventListener("mouseup", (evt) => {
  if (dragFrom === null) return;
  const to = indexAt(evt), a = Math.min(dragFrom, to), b = Math.max(dragFrom, to);
  dragFrom = null;
  expand(D.steps[a], D.steps[b]);
});
ov.addEventListener("mousemove", (evt) => {
  const i = indexAt(evt), g = D.step_grad;
  if (dragFrom !== null) {
    brush.setAttribute("x", Math.min(dragFrom, i));
    brush.setAttribute("width", Math.abs(i - dragFrom) + 1);
  }
  showTip(evt, "t=" + D.steps[i] + "\n" + gradText(g, i, "|∂E/∂outputs of the step|") +
    "\n" + (byStep.get(D.steps[i]) || []).length + " ops");
});
ov.addEventListener("mouseleave", hideTip);
ov.addEventListener("wheel", (evt) => {
  evt.preventDefault();
  const r = ov.getBoundingClientRect(), f = (evt.clientX - r.left) / r.width;
  const span = S.view[1] - S.view[0], at = S.view[0] + f * span;
  const next = Math.min(D.T, Math.max(8, span * (evt.deltaY > 0 ? 1.25 : 0.8)));
  const x0 = Math.max(0, Math.min(D.T - next, at - f * next));
  S.view = [x0, x0 + next];
  paintOverview();
}, { passive: false });
ov.addEventListener("dblclick", () => { S.view = [0, D.T]; paintOverview(); });

// one canvas row per shared parameter: its per-step contributions, summing to .grad
const paramRows = [];
const paramHost = document.getElementById("params");
const ORDER = ["U", "W", "b", "V", "c"];
const rank = (name) => (ORDER.indexOf(name) + 1) || ORDER.length + 1;
for (const p of [...D.params].sort((p, q) => rank(p.name) - rank(q.name))) {
  const row = document.createElement("div"); row.className = "prow";
  row.setAttribute("data-param", p.name);
  const name = document.createElement("span"); name.className = "pname";
  const canvas = document.createElement("canvas");
  row.append(name, canvas); paramHost.append(row);
  const label = () => p.name + " " + p.shape + "  ‖grad‖ " + fmt(p.grad[S.norm]);
  row.paint = () => {
    name.textContent = label();
    const w = Math.max(1, Math.round(canvas.clientWidth)), ctx = canvas.getContext("2d");
    canvas.width = w; canvas.height = 12;
    const sc = D.scale[S.norm], span = S.view[1] - S.view[0];
    for (let x = 0; x < w; x++) {
      const i = Math.min(D.T - 1, Math.floor(S.view[0] + (x + 0.5) / w * span));
      ctx.fillStyle = color(p.steps[S.norm][i], p.steps.state[i], sc);
      ctx.fillRect(x, 0, 1, 12);
    }
  };
  canvas.addEventListener("mousemove", (evt) => {
    const r = canvas.getBoundingClientRect(), span = S.view[1] - S.view[0];
    const i = Math.min(D.T - 1, Math.floor(S.view[0] + (evt.clientX - r.left) / r.width * span));
    const other = p.other.map((o) => "  " + o.bucket + ": " + fmt(o[S.norm])).join("\n");
    showTip(evt, p.name + " at t=" + D.steps[i] + "\n" + gradText(p.steps, i, "contribution") +
      "\nthe contributions of all steps" + (other ? " and\n" + other + "\n" : " ") +
      "sum to .grad (max |Σ − grad| = " + fmt(p.sum_error) + ")");
  });
  canvas.addEventListener("mouseleave", hideTip);
  paramRows.push(row);
}

// ------------------------------------------------------------------------ detail graph
const detailHost = document.getElementById("detail");
const dsvg = el("svg", { id: "detail-graph" }, detailHost);
const world = el("g", {}, dsvg);
let box = { x: 0, y: 0, w: 1000, h: 460 };

function expand(a, b) {
  if (D.T === 0) return;
  let ia = stepIndex.get(a), ib = stepIndex.get(b);
  if (ib - ia + 1 > MAX_EXPAND) ib = ia + MAX_EXPAND - 1;
  S.range = [D.steps[ia], D.steps[ib]];
  placeBrush();
  drawDetail();
}

function subgraph() {
  if (!D.T) return new Map(N.id.slice(0, 600).map((_, i) => [i, "in"]));  // no time steps
  const [a, b] = S.range, inside = new Set(), shown = new Map();
  for (let t = a; t <= b; t++) for (const i of byStep.get(t) || []) inside.add(i);
  for (const i of inside) shown.set(i, "in");
  for (const i of inside) for (const k of inEdges[i].concat(outEdges[i])) {
    const j = E.src[k] === i ? E.dst[k] : E.src[k];
    if (shown.has(j)) continue;
    shown.set(j, N.step[j] < 0 ? "context" : "stub");
  }
  for (const [j, how] of [...shown]) {  // the parameter behind a hoisted Wᵀ, drawn above it
    if (how !== "context" || N.kind[j] !== 0) continue;
    for (const k of inEdges[j]) if (N.kind[E.src[k]] === 1) shown.set(E.src[k], "context");
  }
  return shown;
}

function layout(shown) {
  // rank = longest path from the sources among the drawn nodes, as dot does left to right
  const ids = [...shown.keys()], rank = new Map(), pending = new Map();
  for (const i of ids) {
    pending.set(i, inEdges[i].filter((k) => shown.has(E.src[k]) && N.kind[E.src[k]] === 0)
      .length);
  }
  const ready = ids.filter((i) => pending.get(i) === 0 && N.kind[i] === 0);
  for (const i of ready) rank.set(i, 0);
  while (ready.length) {
    const i = ready.pop();
    for (const k of outEdges[i]) {
      const j = E.dst[k];
      if (!shown.has(j)) continue;
      rank.set(j, Math.max(rank.get(j) || 0, rank.get(i) + 1));
      pending.set(j, pending.get(j) - 1);
      if (pending.get(j) === 0) ready.push(j);
    }
  }
  const pos = new Map(), columns = new Map();
  for (const i of ids) if (N.kind[i] === 0) {
    const r = rank.get(i) || 0;
    if (!columns.has(r)) columns.set(r, []);
    columns.get(r).push(i);
  }
  const W = 118, H = 40, TOP = 90;
  for (const [r, col] of columns) {
    col.sort((x, y) => (N.step[x] - N.step[y]) || (x - y));
    col.forEach((i, k) => pos.set(i, { x: 20 + r * W, y: TOP + k * H }));
  }
  // leaves (parameters and inputs) drawn once, in a row above their consumers
  const leaves = ids.filter((i) => N.kind[i] !== 0).map((i) => {
    const xs = outEdges[i].filter((k) => pos.has(E.dst[k])).map((k) => pos.get(E.dst[k]).x);
    return [i, xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 20];
  }).sort((p, q) => p[1] - q[1]);
  let last = -1e9;
  for (const [i, x] of leaves) {
    last = Math.max(x, last + W);
    pos.set(i, { x: last, y: 20 });
  }
  return pos;
}

function drawDetail() {
  world.innerHTML = "";
  const shown = subgraph(), pos = layout(shown), [a, b] = S.range;
  const ops = [...shown.values()].filter((v) => v === "in").length;
  const what = D.T ? "t=" + a + " … t=" + b : "the graph (it has no time-step scopes)";
  document.getElementById("detail-title").textContent = "Op-level graph of " + what +
    " (" + ops + " ops; drag to pan, wheel to zoom)";
  const layers = [el("g", {}, world), el("g", {}, world), el("g", {}, world)];
  for (let t = a; t <= b; t++) drawCluster(layers[0], t, pos);
  for (let k = 0; k < E.src.length; k++) drawEdge(layers[1], k, shown, pos);
  for (const [i, p] of pos) drawNode(layers[2], i, p, shown.get(i));
  const xs = [...pos.values()].map((p) => p.x), ys = [...pos.values()].map((p) => p.y);
  box = { x: Math.min(...xs) - 20, y: Math.min(...ys) - 30, w: 0, h: 0 };
  box.w = Math.max(...xs) + 120 - box.x;
  box.h = Math.max(460, Math.max(...ys) + 60 - box.y);
  setBox();
  applySearch();
}
function drawCluster(layer, t, pos) {
  const at = (byStep.get(t) || []).filter((i) => pos.has(i)).map((i) => pos.get(i));
  if (!at.length) return;
  const xs = at.map((p) => p.x), ys = at.map((p) => p.y);
  const x0 = Math.min(...xs) - 8, y0 = Math.min(...ys) - 20;
  const x1 = Math.max(...xs) + 96, y1 = Math.max(...ys) + 34;
  el("rect", { class: "cluster", x: x0, y: y0, width: x1 - x0, height: y1 - y0, rx: 6,
    "data-cluster": t }, layer);
  el("text", { class: "cluster-label", x: x0 + 6, y: y0 + 13 }, layer).textContent = "t=" + t;
}
function edgeWidth(k) {
  const st = E.state[k], sc = D.scale[S.norm];
  if (st === NONFINITE) return 3;
  if (st !== FINITE) return 0.8;
  const lo = Math.log10(sc[0]), hi = Math.log10(sc[1]);
  const f = Math.min(1, Math.max(0, (Math.log10(E[S.norm][k]) - lo) / (hi - lo)));
  return 0.7 + 3.8 * f;
}
function drawEdge(layer, k, shown, pos) {
  const s = E.src[k], d = E.dst[k];
  if (!pos.has(s) || !pos.has(d) || shown.get(s) === "stub" && shown.get(d) === "stub") return;
  const p = pos.get(s), q = pos.get(d), st = E.state[k], leaf = N.kind[s] !== 0;
  const x2 = q.x, y2 = q.y + 13;
  const path = leaf
    ? `M${p.x + 44},${p.y + 26} C${p.x + 44},${y2 - 30} ${x2 - 30},${y2} ${x2},${y2}`
    : `M${p.x + 88},${p.y + 13} C${p.x + 118},${p.y + 13} ${x2 - 30},${y2} ${x2},${y2}`;
  const stroke = st === NONFINITE ? "#d1001f" : (leaf ? "#3a3a3a55" : "#3a3a3a");
  const dash = st === NONE ? "2,3" : st === ZERO ? "6,3" : "none";
  el("path", { class: "edge", d: path, "stroke-width": edgeWidth(k).toFixed(2), stroke: stroke,
    "stroke-dasharray": dash }, layer);
}
function gradAttr(i) {
  if (N.kind[i] === 2 || N.state[i] === NONE) return "none";
  return N.state[i] === NONFINITE ? "NaN" : String(N.l2[i]);
}
function drawNode(layer, i, p, how) {
  const kind = ["op", "param", "input"][N.kind[i]], op = D.nodes.ops[N.op[i]];
  const g = el("g", { class: "node " + kind + " " + how, transform: `translate(${p.x},${p.y})`,
    "data-node": N.id[i], "data-op": op, "data-node-step": N.step[i],
    "data-grad-l2": gradAttr(i) }, layer);
  const fill = N.kind[i] === 2 ? "#ffffff" : color(N[S.norm][i], N.state[i], D.scale[S.norm]);
  const dash = N.state[i] === NONE ? "2,2" : N.state[i] === ZERO ? "5,2" : "none";
  el("rect", { width: 88, height: 26, rx: N.kind[i] === 0 ? 5 : 0, fill: fill,
    "stroke-dasharray": dash, opacity: how === "stub" ? 0.45 : 1 }, g);
  const dark = luminance(fill) < 0.3;
  const name = how === "stub" ? op + " t=" + N.step[i] : op;
  const text = (y, color, size, value) => {
    el("text", { x: 44, y: y, "text-anchor": "middle", fill: color, "font-size": size }, g)
      .textContent = value;
  };
  text(11, dark ? "#fff" : "#111", 10, name);
  text(22, dark ? "#ddd" : "#555", 8, D.nodes.shapes[N.shape[i]]);
  g.addEventListener("mousemove", (evt) => showTip(evt, nodeText(i)));
  g.addEventListener("mouseleave", hideTip);
}
function luminance(hex) {
  const c = [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16) / 255)
    .map((v) => v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4));
  return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
}
function setBox() { dsvg.setAttribute("viewBox", `${box.x} ${box.y} ${box.w} ${box.h}`); }
let pan = null;
dsvg.addEventListener("mousedown", (evt) => { pan = [evt.clientX, evt.clientY, box.x, box.y]; });
window.addEventListener("mousemove", (evt) => {
  if (!pan) return;
  const r = dsvg.getBoundingClientRect(), k = Math.max(box.w / r.width, box.h / r.height);
  box.x = pan[2] - (evt.clientX - pan[0]) * k;
  box.y = pan[3] - (evt.clientY - pan[1]) * k;
  setBox();
});
window.addEventListener("mouseup", () => { pan = null; });
dsvg.addEventListener("wheel", (evt) => {
  evt.preventDefault();
  const r = dsvg.getBoundingClientRect(), f = evt.deltaY > 0 ? 1.2 : 1 / 1.2;
  const fx = (evt.clientX - r.left) / r.width, fy = (evt.clientY - r.top) / r.height;
  box.x += box.w * fx * (1 - f); box.y += box.h * fy * (1 - f); box.w *= f; box.h *= f; setBox();
}, { passive: false });

// ------------------------------------------------------------------------ search
const search = document.getElementById("search");
search.addEventListener("input", () => {
  S.query = search.value.trim().toLowerCase();
  applySearch();
});
search.addEventListener("keydown", (evt) => {
  if (evt.key !== "Enter" || !S.query) return;
  const hit = firstMatchAfter(S.range ? S.range[1] : -1);
  if (hit !== null) expand(hit, D.steps[Math.min(D.T - 1, stepIndex.get(hit) + 2)]);
});
function matches(i) { return S.query && D.nodes.ops[N.op[i]].toLowerCase().includes(S.query); }
function firstMatchAfter(t) {
  for (const s of D.steps) if (s > t && (byStep.get(s) || []).some(matches)) return s;
  for (const s of D.steps) if ((byStep.get(s) || []).some(matches)) return s;
  return null;
}
function applySearch() {
  let count = 0;
  const steps = new Set();
  ovMarks.innerHTML = "";
  if (S.query) for (let i = 0; i < nNodes; i++) if (matches(i)) {
    count++;
    if (N.step[i] >= 0) steps.add(N.step[i]);
  }
  for (const t of steps) {
    el("rect", { class: "mark", x: stepIndex.get(t), y: 35, width: 1, height: 5 }, ovMarks);
  }
  document.getElementById("matches").textContent = S.query ?
    count + " ops match in " + steps.size + " steps (Enter: next)" : "";
  for (const g of world.querySelectorAll(".node")) {
    const i = nodeIndex.get(g.getAttribute("data-node"));
    g.classList.toggle("match", !!S.query && matches(i));
    g.classList.toggle("dim", !!S.query && !matches(i));
  }
}
const nodeIndex = new Map(N.id.map((id, i) => [id, i]));

// ------------------------------------------------------------------------ heatmaps
function heatmap(canvasId, rows, label, rowName, colName) {
  const canvas = document.getElementById(canvasId);
  canvas.parentElement.hidden = false;
  const nr = rows.length, nc = rows.length ? rows[0].length : 0;
  const values = rows.flat().filter((v) => v !== null && v > 0);
  const lo = Math.min(...values), hi = Math.max(...values);
  const sc = [lo, hi > lo ? hi : lo * 10];
  canvas.width = Math.max(1, nc); canvas.height = Math.max(1, nr);
  canvas.style.height = Math.min(360, Math.max(60, nr * 6)) + "px";
  const ctx = canvas.getContext("2d"), img = ctx.createImageData(nc, nr);
  for (let r = 0; r < nr; r++) for (let c = 0; c < nc; c++) {
    const v = rows[r][c], o = 4 * (r * nc + c);
    const hex = v === null ? "#ffffff" : v === 0 ? "#ffffff" : color(v, FINITE, sc);
    img.data[o] = parseInt(hex.slice(1, 3), 16); img.data[o + 1] = parseInt(hex.slice(3, 5), 16);
    img.data[o + 2] = parseInt(hex.slice(5, 7), 16); img.data[o + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  document.getElementById(canvasId + "-label").textContent = label + " · colour: log scale " +
    fmt(sc[0]) + " … " + fmt(sc[1]);
  canvas.addEventListener("mousemove", (evt) => {
    const rect = canvas.getBoundingClientRect();
    const c = Math.min(nc - 1, Math.floor((evt.clientX - rect.left) / rect.width * nc));
    const r = Math.min(nr - 1, Math.floor((evt.clientY - rect.top) / rect.height * nr));
    showTip(evt, rowName(r) + ", " + colName(c) + ": " + fmt(rows[r][c]));
  });
  canvas.addEventListener("mouseleave", hideTip);
}
if (D.training) {
  const tr = D.training;
  heatmap("training", tr.norms, tr.label, (r) => "training step " + tr.train_steps[r],
    (c) => "t=" + c);
}
if (D.influence) {
  const inf = D.influence;
  heatmap("influence", inf.matrix, inf.label, (r) => "t=" + r, (c) => "s=" + c);
}

// ------------------------------------------------------------------------ start
function redraw() { drawLegend(); paintOverview(); if (S.range) drawDetail(); }
window.addEventListener("resize", () => paintOverview());
redraw();
if (D.T > 0) expand(D.steps[Math.max(0, D.T - 4)], D.steps[D.T - 1]);
else { S.range = [0, -1]; drawDetail(); }
window.explorer = { expand, data: D, state: S };
"""
