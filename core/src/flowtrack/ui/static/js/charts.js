// Metric charts on uPlot (vendored, window.uPlot). Histories come downsampled by the server
// (max_points), so a chart never draws more points than its width can show.
import { api, enc, num } from "./api.js";
import { h } from "./dom.js";

export const MAX_POINTS = 1000;

export async function history(runId, key) {
  const data = await api(`/api/v1/runs/${enc(runId)}/metrics/history`, { query: { key, max_points: MAX_POINTS } });
  const ys = data.values.map((v) => {
    const n = num(v);
    return Number.isFinite(n) ? n : null;
  });
  return { steps: data.steps, times: data.timestamps.map((t) => t / 1000), ys };
}

// series: [{label, color, xs, ys}]; xMode "step" or "time" (seconds since the epoch).
export function lineChart(container, series, { xMode = "step", height = 220 } = {}) {
  const xs = alignX(series);
  const index = new Map(xs.map((x, i) => [x, i]));
  const columns = series.map((s) => {
    const col = new Array(xs.length).fill(null);
    s.xs.forEach((x, i) => {
      col[index.get(x)] = s.ys[i];
    });
    return col;
  });
  const width = Math.max(240, container.clientWidth || 480);
  const opts = {
    width,
    height,
    // One x value: a small window around it, not uPlot's default span of years.
    scales: { x: xs.length === 1 ? { time: xMode === "time", auto: false, range: [xs[0] - 1, xs[0] + 1] } : { time: xMode === "time" } },
    axes: [
      { label: xMode === "time" ? "" : "step", stroke: "#6b7280", grid: { stroke: "#eef0f3" } },
      { stroke: "#6b7280", grid: { stroke: "#eef0f3" }, size: 60 },
    ],
    cursor: { drag: { x: true, y: false } },
    series: [
      { label: xMode === "time" ? "time" : "step" },
      ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, spanGaps: true, points: { show: s.xs.length < 60 } })),
    ],
  };
  const plot = new window.uPlot(opts, [xs, ...columns], container);
  const resize = new ResizeObserver(() => {
    const w = container.clientWidth;
    if (w && Math.abs(w - plot.width) > 4) plot.setSize({ width: w, height });
  });
  resize.observe(container);
  return plot;
}

function alignX(series) {
  if (series.length === 1) return series[0].xs.slice();
  const all = new Set();
  for (const s of series) for (const x of s.xs) all.add(x);
  return [...all].sort((a, b) => a - b);
}

export function chartCard(title, subtitle) {
  const plotArea = h("div", { class: "chart-area" }, h("p", { class: "muted small" }, "Loading…"));
  const box = h("div", { class: "chart", dataset: { metric: title } }, h("div", { class: "chart-title" }, h("strong", {}, title), subtitle ? h("span", { class: "muted small" }, subtitle) : null), plotArea);
  return [box, plotArea];
}

// Calls draw(area) once the chart scrolls into view: a run with 50 metrics fetches what is seen.
export function whenVisible(el, draw) {
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) {
      observer.disconnect();
      draw();
    }
  }, { rootMargin: "200px" });
  observer.observe(el);
}

export function xModeSwitch(onChange, initial = "step") {
  const wrap = h("div", { class: "segmented", role: "group", "aria-label": "chart x axis: step or time" });
  for (const [mode, label] of [["step", "Step"], ["time", "Time"]]) {
    const b = h("button", { class: mode === initial ? "active" : "", dataset: { mode }, onclick: () => {
      for (const other of wrap.children) other.classList.toggle("active", other === b);
      onChange(mode);
    } }, label);
    wrap.append(b);
  }
  return wrap;
}
