// Metric charts on uPlot (vendored, window.uPlot). Histories come downsampled by the server
// (max_points), so a chart never draws more points than its width can show.
import { api, enc, num } from "./api.js";
import { h } from "./dom.js";

export const MAX_POINTS = 1000;
// Steps are whole numbers: never a tick at step 0.2.
const STEP_INCRS = [1, 2, 5].flatMap((m) => Array.from({ length: 16 }, (_, e) => m * 10 ** e)).sort((a, b) => a - b);

// window: {min, max} steps, for a zoomed chart: the server downsamples only that range.
export async function history(runId, key, window = null) {
  const query = { key, max_points: MAX_POINTS };
  if (window) Object.assign(query, { min_step: window.min, max_step: window.max });
  const data = await api(`/api/v1/runs/${enc(runId)}/metrics/history`, { query });
  const ys = data.values.map((v) => {
    const n = num(v);
    return Number.isFinite(n) ? n : null;
  });
  const total = data.points ?? data.steps.length;
  return { steps: data.steps, times: data.timestamps.map((t) => t / 1000), ys, downsampled: total > data.steps.length };
}

// A series of one run's metric that can fetch a zoomed window's detail (step axis only).
export function metricSeries(runId, key, hist, mode, label, color) {
  const series = { label, color, xs: mode === "step" ? hist.steps : hist.times, ys: hist.ys };
  if (mode === "step" && hist.downsampled) {
    series.fetchWindow = async (min, max) => {
      const w = await history(runId, key, { min, max });
      return { xs: w.steps, ys: w.ys };
    };
  }
  return series;
}

// series: [{label, color, xs, ys, fetchWindow?}]; xMode "step" or "time" (seconds since the
// epoch). A series with fetchWindow(min, max) was downsampled: zooming in fetches the window's
// own points, so a 100,000-point history shows its detail without ever sending all of it.
export function lineChart(container, series, { xMode = "step", height = 220 } = {}) {
  const base = aligned(series);
  const width = Math.max(240, container.clientWidth || 480);
  const current = { series };
  const detail = zoomDetail(container, current);
  const xs = base[0];
  const opts = {
    width,
    height,
    // One x value: a small window around it, not uPlot's default span of years.
    scales: { x: xs.length === 1 ? { time: xMode === "time", auto: false, range: [xs[0] - 1, xs[0] + 1] } : { time: xMode === "time" } },
    axes: [
      { label: xMode === "time" ? "" : "step", stroke: "#6b7280", grid: { stroke: "#eef0f3" }, ...(xMode === "step" ? { incrs: STEP_INCRS } : {}) },
      { stroke: "#6b7280", grid: { stroke: "#eef0f3" }, size: 60 },
    ],
    cursor: { drag: { x: true, y: false } },
    series: [
      { label: xMode === "time" ? "time" : "step" },
      ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, spanGaps: true, points: { show: s.xs.length < 60 } })),
    ],
    hooks: detail ? { setScale: [detail] } : {},
  };
  const plot = new window.uPlot(opts, base, container);
  container.dataset.points = String(xs.length);
  // New points of a running run: redrawn and rescaled, unless the user is zoomed in.
  container.updateChart = (next) => {
    current.series = next;
    if (container.dataset.detail) return;
    const data = aligned(next);
    plot.setData(data);
    container.dataset.points = String(data[0].length);
  };
  const resize = new ResizeObserver(() => {
    const w = container.clientWidth;
    if (w && Math.abs(w - plot.width) > 4) plot.setSize({ width: w, height });
  });
  resize.observe(container);
  return plot;
}

function aligned(series) {
  const xs = alignX(series);
  const index = new Map(xs.map((x, i) => [x, i]));
  const columns = series.map((s) => {
    const col = new Array(xs.length).fill(null);
    s.xs.forEach((x, i) => {
      col[index.get(x)] = s.ys[i];
    });
    return col;
  });
  return [xs, ...columns];
}

// The setScale hook that swaps a zoomed window's detail in (and the overview back out when the
// zoom is reset). Debounced, and a newer zoom wins over an older answer still on its way.
function zoomDetail(container, current) {
  if (!current.series.some((s) => s.fetchWindow)) return null;
  let timer = null;
  let asked = "";
  let zoomed = false;
  return (u, key) => {
    if (key !== "x") return;
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const min = Math.floor(u.scales.x.min);
      const max = Math.ceil(u.scales.x.max);
      const wanted = `${min}:${max}`;
      if (wanted === asked) return;
      asked = wanted;
      const series = current.series;
      const lo = Math.min(...series.map((s) => s.xs[0]));
      const hi = Math.max(...series.map((s) => s.xs[s.xs.length - 1]));
      if (min <= lo && max >= hi) {
        if (zoomed) setPoints(u, container, aligned(series), "");
        zoomed = false;
        return;
      }
      try {
        const windows = await Promise.all(series.map((s) => (s.fetchWindow ? s.fetchWindow(min, max) : null)));
        if (asked !== wanted) return;
        const merged = series.map((s, i) => (windows[i] ? { ...s, ...spliceWindow(s, windows[i], min, max) } : s));
        zoomed = true;
        setPoints(u, container, aligned(merged), wanted);
      } catch (err) {
        // The overview stays; the detail is a refinement, not worth an error box.
        container.dataset.detail = `failed: ${err.message}`;
      }
    }, 150);
  };
}

function setPoints(u, container, data, window) {
  u.setData(data, false);
  container.dataset.points = String(data[0].length);
  container.dataset.detail = window;
}

function spliceWindow(s, w, min, max) {
  const before = [];
  const after = [];
  s.xs.forEach((x, i) => {
    if (x < min) before.push(i);
    else if (x > max) after.push(i);
  });
  return {
    xs: [...before.map((i) => s.xs[i]), ...w.xs, ...after.map((i) => s.xs[i])],
    ys: [...before.map((i) => s.ys[i]), ...w.ys, ...after.map((i) => s.ys[i])],
  };
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
