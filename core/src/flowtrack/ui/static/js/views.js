// Pieces several pages show: errors, run sources, run links.
import { api, runUrl } from "./api.js";
import { h } from "./dom.js";

const TITLES = {
  0: "The server did not answer",
  400: "Bad request",
  401: "Not signed in",
  403: "Not allowed",
  404: "Not found",
  409: "Conflict",
  503: "Store unavailable",
};

export function errorView(err) {
  const status = err.status ?? null;
  const title = TITLES[status] || "Something went wrong";
  return h(
    "section",
    { class: "card error-page", role: "alert" },
    h("h1", {}, status ? `${status} · ${title}` : title),
    h("p", { class: "error-message" }, err.message || String(err)),
    h("p", {}, h("a", { href: "/" }, "Back to the experiments")),
  );
}

export function errorBox(err) {
  return h("div", { class: "error-box", role: "alert" }, err.message || String(err));
}

// Where a run ran, and a link to the orchestrator's own page when one is known: the run's
// source reference `url`, or the tag `flowtrack.source.url` (docs/ui.md).
export function sourceCell(run) {
  const type = run.info.source_type || "python";
  const ref = run.info.source_ref || {};
  const url = (typeof ref.url === "string" && ref.url) || run.data.tags["flowtrack.source.url"];
  const badge = h("span", { class: `badge source source-${type}` }, type);
  const detail = sourceDetail(type, ref, run.data.tags);
  const title = detail ? `${type}: ${detail}` : type;
  if (url) {
    return h("a", { href: url, class: "source-link", target: "_blank", rel: "noopener noreferrer", title: `${title}: open ${url}` }, badge, " ↗");
  }
  return h("span", { title }, badge);
}

export function sourceDetail(type, ref, tags) {
  const pick = (...keys) => keys.map((k) => ref[k] ?? tags[`${type}.${k}`]).filter((v) => v !== undefined && v !== null && v !== "");
  if (type === "airflow") return pick("dag_id", "task_id", "run_id").join(" / ");
  if (type === "prefect") return pick("flow_run_id", "task_run_id").join(" / ");
  if (type === "k8s") return pick("namespace", "pod").join(" / ");
  if (type === "spark") return pick("app_id", "app_name").join(" / ");
  return "";
}

export function runLink(run) {
  return h("a", { href: runUrl(run.info.run_id), class: "run-link" }, run.info.run_name || run.info.run_id.slice(0, 8));
}

export function demoHint() {
  return h(
    "div",
    { class: "hint" },
    h("p", {}, "No runs yet: run ", h("code", {}, "./scripts/demo"), " or call ", h("code", {}, "flowtrack.start_run()"), " from your code:"),
    h(
      "pre",
      { class: "snippet" },
      'import flowtrack\n\nflowtrack.set_experiment("my-experiment")\nwith flowtrack.start_run():\n    flowtrack.log_param("alpha", 0.5)\n    flowtrack.log_metric("auc", 0.91)',
    ),
  );
}

export const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#4b5563", "#ea580c"];
export const color = (i) => PALETTE[i % PALETTE.length];

export function stageBadge(stage) {
  const name = stage || "None";
  return h("span", { class: `badge stage stage-${name.toLowerCase()}` }, name);
}

// run id -> run name, for the ids given (unknown or unreadable ones are left out).
export async function runNames(ids) {
  const wanted = [...new Set(ids.filter(Boolean))];
  if (!wanted.length) return new Map();
  const { runs } = await api("/api/v1/runs/get", { method: "POST", body: { run_ids: wanted } }).catch(() => ({ runs: [] }));
  return new Map(runs.map((r) => [r.info.run_id, r.info.run_name]));
}
