// Small SVG charts of the compare page: parallel coordinates and a scatter plot. A few hundred
// runs at most, so SVG (one element per run) is simple and crisp.
import { fmtNum } from "./api.js";

const NS = "http://www.w3.org/2000/svg";

export function s(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = String(text);
  return el;
}

// An axis for a list of values: numeric when every present value is a number, else categorical.
export function axis(values, padded = false) {
  const present = values.filter((v) => v !== undefined && v !== null && v !== "");
  const nums = present.map(Number);
  if (present.length && nums.every(Number.isFinite)) {
    const min = Math.min(...nums);
    const max = Math.max(...nums);
    let lo = min;
    let hi = max;
    if (lo === hi) {
      lo -= 1;
      hi += 1;
    }
    if (padded) {
      const margin = (hi - lo) * 0.06;
      lo -= margin;
      hi += margin;
    }
    const pos = (v) => (v === undefined || v === null || v === "" ? null : (Number(v) - lo) / (hi - lo));
    // Ticks at the data's own lowest, middle and highest values.
    const values = min === max ? [min] : [min, (min + max) / 2, max];
    return { kind: "number", pos, ticks: values.map((v) => ({ label: fmtNum(v), p: pos(v) })) };
  }
  const cats = [...new Set(present.map(String))].sort();
  const step = cats.length > 1 ? 1 / (cats.length - 1) : 0;
  const pos = (v) => (v === undefined || v === null ? null : cats.length > 1 ? cats.indexOf(String(v)) * step : 0.5);
  return { kind: "category", pos, ticks: cats.map((c) => ({ label: c, p: pos(c) })) };
}

// dims: [{label, values: [per run]}]; colors: per run; names: per run.
export function parallelCoordinates(dims, colors, names, { width = 900, height = 320 } = {}) {
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "plot parallel", role: "img" });
  const top = 28;
  const bottom = height - 24;
  const left = 60;
  const right = width - 60;
  const gap = dims.length > 1 ? (right - left) / (dims.length - 1) : 0;
  const axes = dims.map((d) => axis(d.values));
  const y = (p) => bottom - p * (bottom - top);
  names.forEach((name, i) => {
    const points = [];
    dims.forEach((d, j) => {
      const p = axes[j].pos(d.values[i]);
      if (p !== null) points.push(`${left + j * gap},${y(p)}`);
    });
    const line = s("polyline", { points: points.join(" "), fill: "none", stroke: colors[i], "stroke-width": 2, "stroke-opacity": 0.8 });
    line.append(s("title", {}, name));
    svg.append(line);
  });
  dims.forEach((d, j) => {
    const x = left + j * gap;
    svg.append(s("line", { x1: x, x2: x, y1: top, y2: bottom, stroke: "#9ca3af" }));
    svg.append(s("text", { x, y: top - 10, "text-anchor": "middle", class: "axis-label" }, d.label));
    for (const t of axes[j].ticks) svg.append(s("text", { x: x + 6, y: y(t.p) + 4, class: "tick" }, t.label));
  });
  return svg;
}

// points: [{x, y, color, label}]
export function scatter(points, xLabel, yLabel, { width = 640, height = 360 } = {}) {
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "plot scatter", role: "img" });
  const pad = { l: 64, r: 20, t: 16, b: 44 };
  const xa = axis(points.map((p) => p.x), true);
  const ya = axis(points.map((p) => p.y), true);
  const X = (v) => pad.l + xa.pos(v) * (width - pad.l - pad.r);
  const Y = (v) => height - pad.b - ya.pos(v) * (height - pad.t - pad.b);
  svg.append(s("rect", { x: pad.l, y: pad.t, width: width - pad.l - pad.r, height: height - pad.t - pad.b, fill: "#fafbfc", stroke: "#e5e7eb" }));
  for (const t of xa.ticks) {
    svg.append(s("text", { x: pad.l + t.p * (width - pad.l - pad.r), y: height - pad.b + 16, "text-anchor": "middle", class: "tick" }, t.label));
  }
  for (const t of ya.ticks) {
    svg.append(s("text", { x: pad.l - 6, y: height - pad.b - t.p * (height - pad.t - pad.b) + 4, "text-anchor": "end", class: "tick" }, t.label));
  }
  svg.append(s("text", { x: (width + pad.l) / 2, y: height - 6, "text-anchor": "middle", class: "axis-label" }, xLabel));
  svg.append(s("text", { x: 14, y: height / 2, "text-anchor": "middle", transform: `rotate(-90 14 ${height / 2})`, class: "axis-label" }, yLabel));
  for (const p of points) {
    if (xa.pos(p.x) === null || ya.pos(p.y) === null) continue;
    const dot = s("circle", { cx: X(p.x), cy: Y(p.y), r: 6, fill: p.color, "fill-opacity": 0.85, stroke: "#fff" });
    dot.append(s("title", {}, `${p.label}: ${p.x}, ${p.y}`));
    svg.append(dot);
  }
  return svg;
}
