// Page 7, one pipeline run (a DAG run, a flow run): its task runs as a graph laid out left to
// right (nodes coloured by state, linking to their run pages; a subflow links to its own graph)
// and a timeline (Gantt) of their durations on a shared time axis. Edges are the upstream tasks
// the adapters record; without them, the data lineage between the tasks; else none.
import { api, enc, fmtTime, runUrl } from "../api.js";
import { card, clear, crumbs, empty, h } from "../dom.js";
import { GAP_X, GAP_Y, H, PAD, W, layout } from "../lineage.js";
import { s } from "../plots.js";
import { fmtMs, pipelineUrl, pipelinesHint, pipelinesUrl, spanMs, stateBadge, stateCounts, stateLegend, stateOf } from "../states.js";

const EDGE_NOTES = {
  recorded: null,
  lineage: "No upstream tasks were recorded for these task runs (an older adapter): the edges are inferred from data lineage, a task that read a dataset version another task wrote.",
  none: "No upstream tasks were recorded for these task runs (an older adapter), and none read data another wrote: they are shown in start order, without edges.",
};

export async function render(root) {
  const runId = decodeURIComponent(location.pathname.split("/")[2]);
  const found = await api(`/api/v1/ui/pipelines/${enc(runId)}`);
  const { run, tasks } = found;
  document.title = `${run.name} · Pipelines · flowtrack`;
  const parent = run.parent && run.parent.pipeline ? run.parent : null;
  root.append(
    crumbs(
      h("a", { href: "/pipelines" }, "Pipelines"),
      h("a", { href: pipelinesUrl({ source: run.source_type, name: run.name }) }, run.name),
      parent ? h("a", { href: pipelineUrl(parent.run_id) }, parent.run_name) : null,
      h("span", {}, run.run_name),
    ),
    h("div", { class: "page-head" }, h("h1", {}, run.name), h("span", { class: "muted" }, run.run_name), stateBadge(run.state), h("span", { class: `badge source source-${run.source_type}` }, run.source_type)),
    facts(run, parent),
  );
  if (!tasks.length) {
    root.append(card("Task runs", empty("This run has no task runs (yet): a DAG run's task instances and a flow run's task runs show here as a graph once they start."), pipelinesHint()));
    return;
  }
  const present = new Set(tasks.map((t) => t.state));
  const note = EDGE_NOTES[found.edges_from];
  root.append(
    h(
      "section",
      { class: "card", id: "graph" },
      h("div", { class: "card-head" }, h("h2", {}, "Graph"), stateLegend(present)),
      note ? h("p", { class: "muted small edges-note", id: "edges-note" }, note) : null,
      drawGraph(tasks, found.edges),
      found.truncated ? h("p", { class: "muted small" }, `Showing the first ${tasks.length.toLocaleString()} task runs.`) : null,
    ),
    h("section", { class: "card", id: "timeline" }, h("div", { class: "card-head" }, h("h2", {}, "Timeline"), h("span", { class: "muted small" }, "hover a bar for its times")), gantt(tasks, run)),
  );
}

function facts(run, parent) {
  const rows = [
    ["Run", h("a", { href: runUrl(run.run_id) }, run.run_name)],
    ["State", stateBadge(run.state)],
    ["Started", fmtTime(run.start_time)],
    ["Ended", run.end_time ? fmtTime(run.end_time) : "—"],
    ["Duration", fmtMs(spanMs(run)) || "—"],
    ["Tasks", h("span", {}, `${Object.values(run.tasks).reduce((a, b) => a + b, 0)} `, stateCounts(run.tasks))],
    parent ? ["Part of", h("a", { href: pipelineUrl(parent.run_id) }, parent.run_name)] : null,
    run.parent && !parent ? ["Parent run", h("a", { href: runUrl(run.parent.run_id) }, run.parent.run_name)] : null,
  ].filter(Boolean);
  return h("section", { class: "card facts" }, h("dl", {}, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
}

const label = (t) => (t.map_index !== null && !t.run_name.endsWith(`[${t.map_index}]`) ? `${t.task}[${t.map_index}]` : t.run_name);
const cut = (text, n) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

function subtitle(t) {
  if (t.subflow) return `${Object.values(t.subflow).reduce((a, b) => a + b, 0)} tasks · ${fmtMs(spanMs(t))}`;
  return [fmtMs(spanMs(t)), t.try_number > 1 ? `try ${t.try_number}` : null, t.map_index !== null ? `map ${t.map_index}` : null].filter(Boolean).join(" · ") || "—";
}

// Without edges the tasks are placed in start order, left to right in rows of up to 5.
function grid(tasks) {
  const cols = Math.min(tasks.length, 5);
  const pos = new Map();
  tasks.forEach((t, i) => pos.set(t.run_id, { x: PAD + (i % cols) * (W + GAP_X), y: PAD + Math.floor(i / cols) * (H + GAP_Y) }));
  const rows = Math.ceil(tasks.length / cols);
  return { pos, width: PAD * 2 + cols * W + (cols - 1) * GAP_X, height: PAD * 2 + rows * H + (rows - 1) * GAP_Y };
}

function drawGraph(tasks, edges) {
  const { pos, width, height } = edges.length
    ? layout({ nodes: tasks.map((t) => ({ key: t.run_id, kind: "run", run_id: t.run_id, run_name: label(t) })), edges })
    : grid(tasks);
  // Fits the card's width, but shrinks to no less than 60 %: a larger DAG scrolls instead.
  const style = `min-width: ${Math.round(width * 0.6)}px`;
  const svg = s("svg", { class: "lineage pipeline-graph", id: "pipeline-graph", viewBox: `0 0 ${width} ${height}`, width, height, style, role: "img", "aria-label": "task graph" });
  const defs = s("defs");
  const marker = s("marker", { id: "arrow-task", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
  marker.append(s("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#94a3b8" }));
  defs.append(marker);
  svg.append(defs);
  for (const e of edges) {
    const a = pos.get(e.source);
    const b = pos.get(e.target);
    if (!a || !b) continue;
    const [x1, y1, x2, y2] = [a.x + W, a.y + H / 2, b.x, b.y + H / 2];
    const bend = Math.max(30, Math.abs(x2 - x1) / 2);
    svg.append(s("path", { d: `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2 - 2} ${y2}`, class: "edge", fill: "none", stroke: "#94a3b8", "stroke-width": 1.6, "marker-end": "url(#arrow-task)", "data-edge": `${e.source} ${e.target}` }));
  }
  for (const t of tasks) {
    const { x, y } = pos.get(t.run_id);
    const st = stateOf(t.state);
    const link = s("a", { href: t.subflow ? pipelineUrl(t.run_id) : runUrl(t.run_id), class: `node task${t.subflow ? " subflow" : ""}`, "data-node": t.run_id, "data-state": t.state, "data-task": label(t) });
    const tip = [`${t.subflow ? "subflow" : "task"} ${label(t)}: ${st.label}`, `start ${fmtTime(t.start_time)}`, t.end_time ? `end ${fmtTime(t.end_time)}` : null, t.try_number > 1 ? `${t.try_number} tries` : null, t.operator || null].filter(Boolean).join("\n");
    link.append(
      s("title", {}, tip),
      s("rect", { x, y, width: W, height: H, rx: 8, fill: st.tint, stroke: st.color, "stroke-width": t.subflow ? 1.8 : 1.2, "stroke-dasharray": t.subflow ? "5 3" : "none", class: "node-box" }),
      s("rect", { x, y, width: 6, height: H, rx: 3, fill: st.color }),
      s("text", { x: x + 16, y: y + 16, class: "node-kind", fill: st.color }, `${t.subflow ? "SUBFLOW · " : ""}${st.label.toUpperCase()}`),
      s("text", { x: x + 16, y: y + 32, class: "node-title" }, cut(label(t), 22)),
      s("text", { x: x + 16, y: y + 46, class: "node-sub" }, cut(subtitle(t), 26)),
    );
    if (t.try_number > 1) {
      link.append(s("circle", { cx: x + W - 14, cy: y + 14, r: 9, fill: "#fff", stroke: st.color }), s("text", { x: x + W - 14, y: y + 18, class: "try-count", "text-anchor": "middle", fill: st.color }, `×${t.try_number}`));
    }
    svg.append(link);
  }
  return h("div", { class: "plot-holder lineage-holder pipeline-graph-holder" }, svg);
}

// Ticks every 1, 2, 5, 10, 15, 30 s, 1, 2, 5, 10, 15, 30 min, 1, 2, 6, 12 h, 1 d: about 8.
const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400].map((x) => x * 1000);

function gantt(tasks, run) {
  const now = Date.now();
  const rows = tasks.filter((t) => t.start_time).sort((a, b) => a.start_time - b.start_time || label(a).localeCompare(label(b)));
  if (!rows.length) return empty("No task run has started yet.");
  const t0 = Math.min(run.start_time || Infinity, ...rows.map((t) => t.start_time));
  const t1 = Math.max(run.end_time || 0, ...rows.map((t) => t.start_time + (spanMs(t, now) || 0)));
  const span = Math.max(1, t1 - t0);
  const width = 1200;
  const left = 220;
  const right = 24;
  const top = 30;
  const rowH = 24;
  const height = top + rows.length * rowH + 10;
  const X = (ms) => left + ((ms - t0) / span) * (width - left - right);
  const svg = s("svg", { class: "gantt", id: "gantt", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "task timeline" });
  const step = STEPS.find((x) => span / x <= 8) || STEPS[STEPS.length - 1];
  for (let ms = 0; ms <= span; ms += step) {
    svg.append(s("line", { x1: X(t0 + ms), x2: X(t0 + ms), y1: top - 6, y2: height - 6, class: "gantt-grid" }));
    svg.append(s("text", { x: X(t0 + ms), y: top - 12, "text-anchor": "middle", class: "tick" }, tick(ms)));
  }
  const tipBox = h("div", { class: "gantt-tip", role: "tooltip", hidden: true });
  rows.forEach((t, i) => {
    const y = top + i * rowH;
    const st = stateOf(t.state);
    const duration = spanMs(t, now);
    const x1 = X(t.start_time);
    const x2 = X(t.start_time + (duration || 0));
    const text = `${label(t)} · ${st.label}\n${fmtTime(t.start_time)} → ${t.end_time ? fmtTime(t.end_time) : "running"}\n${fmtMs(duration) || "—"}${t.try_number > 1 ? ` · ${t.try_number} tries` : ""}`;
    const row = s("a", { href: t.subflow ? pipelineUrl(t.run_id) : runUrl(t.run_id), class: "gantt-row", "data-task": label(t), "data-state": t.state });
    if (i % 2) row.append(s("rect", { x: 0, y, width, height: rowH, class: "gantt-band" }));
    row.append(
      s("text", { x: left - 10, y: y + rowH / 2 + 4, "text-anchor": "end", class: "gantt-label" }, cut(label(t), 28)),
      s("rect", { x: x1, y: y + 5, width: Math.max(3, x2 - x1), height: rowH - 10, rx: 3, fill: st.color, class: "gantt-bar", "data-start": t.start_time, "data-end": t.end_time ?? "" }),
    );
    const bar = row.querySelector(".gantt-bar");
    bar.append(s("title", {}, text));
    row.addEventListener("mouseenter", (ev) => showTip(tipBox, text, ev));
    row.addEventListener("mousemove", (ev) => showTip(tipBox, text, ev));
    row.addEventListener("mouseleave", () => {
      tipBox.hidden = true;
    });
    svg.append(row);
  });
  return h("div", { class: "gantt-holder" }, svg, tipBox);
}

// "0", "+15 s", "+1 min", "+1 min 30 s", "+2 h": ticks fall on whole seconds.
function tick(ms) {
  if (!ms) return "0";
  let s = Math.round(ms / 1000);
  const parts = [];
  for (const [size, unit] of [[86400, "d"], [3600, "h"], [60, "min"], [1, "s"]]) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)} ${unit}`);
      s %= size;
    }
  }
  return `+${parts.slice(0, 2).join(" ")}`;
}

function showTip(box, text, ev) {
  const holder = box.parentElement.getBoundingClientRect();
  clear(box).append(...text.split("\n").map((line, i) => h(i ? "div" : "strong", {}, line)));
  box.hidden = false;
  box.style.left = `${Math.min(ev.clientX - holder.left + 14, holder.width - 260)}px`;
  box.style.top = `${ev.clientY - holder.top + 14}px`;
}
