// The lineage graph around a run, a dataset version or a model version: runs, dataset versions
// and model versions as nodes, "read", "wrote" and "registered from" as edges, drawn as SVG in
// layers from left (where the data comes from) to right (what was made of it). Every node links
// to its page. The graph is small (the server stops at 150 nodes), so no layout library.
import { api, datasetUrl, fmtBytes, modelUrl, runUrl } from "./api.js";
import { append, card, clear, empty, h } from "./dom.js";
import { s } from "./plots.js";
import { errorBox } from "./views.js";

// Node size and spacing (the pipeline graph draws its nodes in the same layout).
export const W = 190;
export const H = 54;
export const GAP_X = 56;
export const GAP_Y = 16;
export const PAD = 12;
const KINDS = {
  run: { color: "#2563eb", label: "RUN" },
  dataset: { color: "#0891b2", label: "DATASET" },
  model: { color: "#7c3aed", label: "MODEL" },
};
const EDGES = {
  read: { color: "#0369a1", label: "read by" },
  wrote: { color: "#15803d", label: "wrote" },
  registered: { color: "#7c3aed", label: "registered from" },
};

// A card that fetches the graph (GET `path`) when it scrolls into view.
export function lineageCard(path, title = "Lineage") {
  const body = h("div", { class: "lineage-body" }, h("p", { class: "muted" }, "Loading…"));
  const box = card(null, h("div", { class: "card-head" }, h("h2", {}, title), legend()), body);
  box.classList.add("lineage-card");
  const load = async () => {
    try {
      const graph = await api(path);
      append(clear(body), [graph.nodes.length > 1 ? drawGraph(graph) : empty(NOTHING), graph.truncated ? h("p", { class: "muted small" }, "The graph stops at 150 nodes.") : null]);
    } catch (err) {
      clear(body).append(errorBox(err));
    }
  };
  const seen = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) {
      seen.disconnect();
      load();
    }
  });
  seen.observe(box);
  return box;
}

const NOTHING = "Nothing linked yet: a run links to data with flowtrack.log_input(path) and flowtrack.log_output(path), and to models with flowtrack.register_model(...).";

function legend() {
  return h(
    "span",
    { class: "legend lineage-legend" },
    Object.entries(KINDS).map(([, k]) => h("span", { class: "legend-item" }, h("span", { class: "swatch", style: { background: k.color } }), k.label.toLowerCase())),
    Object.entries(EDGES).map(([, e]) => h("span", { class: "legend-item" }, h("span", { class: "edge-swatch", style: { background: e.color } }), e.label)),
  );
}

// Layer = the longest path from a node without predecessors (an edge closing a cycle, such as
// a run that read and wrote the same version, is ignored); then each layer is ordered by the
// mean position of its neighbours, a few sweeps each way.
export function layout(graph) {
  const keys = graph.nodes.map((n) => n.key);
  const preds = new Map(keys.map((k) => [k, []]));
  const succs = new Map(keys.map((k) => [k, []]));
  for (const e of graph.edges) {
    if (!preds.has(e.target) || !succs.has(e.source) || e.source === e.target) continue;
    preds.get(e.target).push(e.source);
    succs.get(e.source).push(e.target);
  }
  const layer = new Map();
  const visiting = new Set();
  const depth = (k) => {
    if (layer.has(k)) return layer.get(k);
    if (visiting.has(k)) return -1;
    visiting.add(k);
    let d = 0;
    for (const p of preds.get(k)) d = Math.max(d, depth(p) + 1);
    visiting.delete(k);
    layer.set(k, d);
    return d;
  };
  keys.forEach(depth);
  const columns = [];
  for (const node of graph.nodes) {
    const d = layer.get(node.key);
    (columns[d] = columns[d] || []).push(node.key);
  }
  const byKey = new Map(graph.nodes.map((n) => [n.key, n]));
  for (const col of columns) col.sort((a, b) => title(byKey.get(a)).localeCompare(title(byKey.get(b))));
  const index = new Map();
  const place = () => columns.forEach((col) => col.forEach((k, i) => index.set(k, i)));
  place();
  const mean = (list, k) => {
    const near = list.get(k).filter((n) => index.has(n));
    return near.length ? near.reduce((t, n) => t + index.get(n), 0) / near.length : index.get(k);
  };
  for (let sweep = 0; sweep < 4; sweep++) {
    const cols = sweep % 2 ? [...columns].reverse() : columns;
    for (const col of cols) {
      const ranked = new Map(col.map((k) => [k, mean(sweep % 2 ? succs : preds, k)]));
      col.sort((a, b) => ranked.get(a) - ranked.get(b));
      col.forEach((k, i) => index.set(k, i));
    }
  }
  const tallest = Math.max(...columns.map((c) => c.length));
  const pos = new Map();
  columns.forEach((col, x) => {
    const offset = ((tallest - col.length) * (H + GAP_Y)) / 2;
    col.forEach((k, y) => pos.set(k, { x: PAD + x * (W + GAP_X), y: PAD + offset + y * (H + GAP_Y) }));
  });
  return { pos, width: PAD * 2 + columns.length * W + (columns.length - 1) * GAP_X, height: PAD * 2 + tallest * H + (tallest - 1) * GAP_Y };
}

function title(node) {
  if (node.kind === "run") return node.run_name || node.run_id.slice(0, 8);
  if (node.kind === "model") return `${node.name} v${node.version}`;
  return node.name;
}

function subtitle(node) {
  if (node.kind === "run") return node.status;
  if (node.kind === "model") return [node.stage !== "None" ? node.stage : "", ...(node.aliases || []).map((a) => `@${a}`)].filter(Boolean).join(" ") || "no stage";
  return `${node.digest.slice(0, 8)} · ${fmtBytes(node.size)} · ${node.file_count} file${node.file_count === 1 ? "" : "s"}`;
}

export function nodeUrl(node) {
  if (node.kind === "run") return runUrl(node.run_id);
  if (node.kind === "model") return modelUrl(node.name, node.version);
  return datasetUrl(node.name, node.version_id);
}

const cut = (text, n) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

export function drawGraph(graph) {
  const { pos, width, height } = layout(graph);
  const root = s("svg", { class: "lineage", id: "lineage-graph", viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": "lineage graph" });
  const defs = s("defs");
  for (const [kind, e] of Object.entries(EDGES)) {
    const marker = s("marker", { id: `arrow-${kind}`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
    marker.append(s("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: e.color }));
    defs.append(marker);
  }
  root.append(defs);
  for (const e of graph.edges) {
    const a = pos.get(e.source);
    const b = pos.get(e.target);
    if (!a || !b) continue;
    const [x1, y1, x2, y2] = [a.x + W, a.y + H / 2, b.x, b.y + H / 2];
    const bend = Math.max(30, Math.abs(x2 - x1) / 2);
    const d = `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2 - 2} ${y2}`;
    const path = s("path", { d, class: `edge edge-${e.kind}`, fill: "none", stroke: EDGES[e.kind].color, "stroke-width": 1.6, "marker-end": `url(#arrow-${e.kind})`, "data-edge": `${e.source} ${e.kind} ${e.target}` });
    path.append(s("title", {}, EDGES[e.kind].label));
    root.append(path);
  }
  for (const node of graph.nodes) {
    const { x, y } = pos.get(node.key);
    const kind = KINDS[node.kind];
    const focus = node.key === graph.root;
    const link = s("a", { href: nodeUrl(node), class: `node node-${node.kind}${focus ? " focus" : ""}`, "data-node": node.key });
    link.append(
      s("title", {}, `${kind.label.toLowerCase()} ${title(node)}${node.kind === "dataset" ? `\n${node.uri}\n${node.algorithm}:${node.digest}` : ""}`),
      s("rect", { x, y, width: W, height: H, rx: 8, fill: focus ? "#eff6ff" : "#fff", stroke: kind.color, "stroke-width": focus ? 2.5 : 1.2 }),
      s("rect", { x, y, width: 6, height: H, rx: 3, fill: kind.color }),
      s("text", { x: x + 16, y: y + 16, class: "node-kind", fill: kind.color }, kind.label),
      s("text", { x: x + 16, y: y + 32, class: "node-title" }, cut(title(node), 22)),
      s("text", { x: x + 16, y: y + 46, class: "node-sub" }, cut(subtitle(node), 25)),
    );
    root.append(link);
  }
  return h("div", { class: "plot-holder lineage-holder" }, root);
}
