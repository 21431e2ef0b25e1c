// Task and pipeline states (Airflow's names; Prefect's are mapped to them on the server), their
// colours, and the small pieces the Pipelines pages share.
import { enc, fmtMs } from "./api.js";
import { h } from "./dom.js";

export const STATES = {
  success: { color: "#16a34a", tint: "#f0fdf4", label: "success" },
  failed: { color: "#dc2626", tint: "#fef2f2", label: "failed" },
  upstream_failed: { color: "#ea580c", tint: "#fff7ed", label: "upstream failed" },
  up_for_retry: { color: "#d97706", tint: "#fffbeb", label: "up for retry" },
  running: { color: "#2563eb", tint: "#eff6ff", label: "running" },
  queued: { color: "#64748b", tint: "#f8fafc", label: "queued" },
  skipped: { color: "#db2777", tint: "#fdf2f8", label: "skipped" },
  cancelled: { color: "#6b7280", tint: "#f9fafb", label: "cancelled" },
};
const OTHER = { color: "#6b7280", tint: "#f9fafb" };
// The order states are listed in (counts, legends).
export const ORDER = Object.keys(STATES);

export const stateOf = (name) => STATES[name] || { ...OTHER, label: String(name).replaceAll("_", " ") };
export const pipelineUrl = (id) => `/pipelines/${enc(id)}`;
export const pipelinesUrl = (query) => `/pipelines${query ? `?${new URLSearchParams(query)}` : ""}`;

export function stateBadge(name) {
  const s = stateOf(name);
  return h("span", { class: "badge state", dataset: { state: name }, style: { background: s.tint, color: s.color, borderColor: s.color } }, s.label);
}

// "3 success · 1 failed ...", as coloured chips (states in a fixed order, unknown ones last).
export function stateCounts(counts) {
  const names = [...ORDER.filter((k) => counts[k]), ...Object.keys(counts).filter((k) => !ORDER.includes(k))];
  return h(
    "span",
    { class: "state-counts" },
    names.map((k) => h("span", { class: "state-count", dataset: { state: k }, title: `${counts[k]} ${stateOf(k).label}` }, h("span", { class: "dot", style: { background: stateOf(k).color } }), String(counts[k]))),
  );
}

export function stateLegend(present) {
  const names = ORDER.filter((k) => present.has(k)).concat([...present].filter((k) => !ORDER.includes(k)));
  return h(
    "span",
    { class: "legend state-legend" },
    names.map((k) => h("span", { class: "legend-item" }, h("span", { class: "swatch", style: { background: stateOf(k).color } }), stateOf(k).label)),
  );
}

export { fmtMs };

// Start to end (now for a run still running), or null.
export function spanMs(item, now = Date.now()) {
  if (!item.start_time) return null;
  const stop = item.end_time || (item.status === "RUNNING" ? now : null);
  return stop ? Math.max(0, stop - item.start_time) : null;
}

export function pipelinesHint() {
  return h(
    "div",
    { class: "hint", id: "pipelines-hint" },
    h("p", {}, "No pipeline runs yet. Airflow DAG runs and Prefect flow runs show here with their task runs once an adapter records them:"),
    h("p", {}, h("strong", {}, "Airflow: "), "install the adapter where the scheduler and workers run; every DAG run is recorded, with no change to the DAGs."),
    h("pre", { class: "snippet" }, "pip install flowtrack-airflow"),
    h("p", {}, h("strong", {}, "Prefect: "), "install ", h("code", {}, "flowtrack-prefect"), " and put ", h("code", {}, "@tracked"), " on top of the flow:"),
    h(
      "pre",
      { class: "snippet" },
      'from prefect import flow, task\nfrom flowtrack_prefect import tracked\n\n@task\ndef train(): ...\n\n@tracked(experiment="churn")\n@flow\ndef pipeline():\n    train()',
    ),
  );
}
