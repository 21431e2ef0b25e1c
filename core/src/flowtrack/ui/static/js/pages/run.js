// Page 3: one run. Facts, params, metrics (charts), system metrics, artifacts with previews,
// inputs and outputs, child runs, the model versions registered from it, tags.
import { api, datasetUrl, enc, experimentUrl, fmtBytes, fmtDuration, fmtNum, fmtTime, modelUrl, runUrl } from "../api.js";
import { chartCard, history, lineChart, metricSeries, whenVisible, xModeSwitch } from "../charts.js";
import { card, clear, crumbs, empty, h, statusBadge } from "../dom.js";
import { artifactsBrowser } from "../artifacts.js";
import { discussionCard } from "../discussion.js";
import { lineageCard } from "../lineage.js";
import { followRun } from "../live.js";
import { errorBox, runLink, runNames, sourceCell, sourceDetail, stageBadge } from "../views.js";

const SYSTEM = "system/";

export async function render(root) {
  const runId = decodeURIComponent(location.pathname.split("/")[2]);
  const run = await api(`/api/v1/runs/${enc(runId)}`);
  const { info, data } = run;
  document.title = `${info.run_name} · flowtrack`;
  const experiment = await api(`/api/v1/experiments/${enc(info.experiment_id)}`).catch(() => null);
  const parent = info.parent_run_id ? await api(`/api/v1/runs/${enc(info.parent_run_id)}`).catch(() => null) : null;

  root.append(
    crumbs(
      h("a", { href: "/" }, "Experiments"),
      h("a", { href: experimentUrl(info.experiment_id) }, experiment ? experiment.name : `experiment ${info.experiment_id}`),
      parent ? runLink(parent) : null,
      h("span", {}, info.run_name),
    ),
    h("div", { class: "page-head" }, h("h1", {}, info.run_name), statusBadge(info.status), await pipelineLink(run, parent)),
    facts(run, experiment, parent),
  );
  const nav = h("nav", { class: "section-nav" });
  root.append(nav);
  const sections = [];
  const add = (id, title, el) => {
    el.id = id;
    sections.push([id, title]);
    root.append(el);
  };

  const metricKeys = Object.keys(data.metrics).sort();
  const userKeys = metricKeys.filter((k) => !k.startsWith(SYSTEM));
  const systemKeys = metricKeys.filter((k) => k.startsWith(SYSTEM));
  add(
    "overview",
    "Params & metrics",
    h(
      "div",
      { class: "grid-2" },
      card("Parameters", keyValueTable(data.params, "params", "No parameters logged: flowtrack.log_param(key, value).")),
      card(
        "Metrics (latest)",
        keyValueTable(Object.fromEntries(userKeys.map((k) => [k, fmtNum(data.metrics[k])])), "metrics", "No metrics logged: flowtrack.log_metric(key, value, step=...)."),
      ),
    ),
  );
  const chartSections = [];
  if (userKeys.length) add("charts", "Charts", chartsSection("Metric charts", runId, userKeys, chartSections));
  if (systemKeys.length) add("system", "System metrics", chartsSection("System metrics", runId, systemKeys, chartSections));
  add("artifacts", "Artifacts", card("Artifacts", artifactsBrowser(runId)));
  const datasets = card("Inputs & outputs", h("p", { class: "muted" }, "Loading…"));
  add("data", "Inputs & outputs", datasets);
  const childrenCard = card("Child runs", h("p", { class: "muted" }, "Loading…"));
  add("children", "Child runs", childrenCard);
  const modelsCard = card("Registered model versions", h("p", { class: "muted" }, "Loading…"));
  add("models", "Models", modelsCard);
  add("lineage", "Lineage", lineageCard(`/api/v1/ui/lineage/runs/${enc(runId)}`));
  add("tags", "Tags", card("Tags", keyValueTable(data.tags, "tags", "No tags.")));
  const talk = discussionCard({
    path: `/api/v1/runs/${enc(runId)}/comments`,
    cli: `flowtrack runs comment ${runId} "text"`,
    onCount: (n) => {
      const link = nav.querySelector("a[href='#discussion']");
      if (link) link.textContent = n ? `Discussion (${n})` : "Discussion";
    },
  });
  add("discussion", "Discussion", talk);
  for (const [id, title] of sections) nav.append(h("a", { href: `#${id}` }, title));

  if (info.status === "RUNNING") follow(root, runId, metricKeys, chartSections);
  await Promise.all([
    fill(datasets, () => datasetsView(runId)),
    fill(childrenCard, () => childrenView(runId)),
    fill(modelsCard, () => modelsView(runId)),
  ]);
}

// While the run is RUNNING: new points in the charts and the latest values in the table; the
// page is drawn anew when a new metric appears or the run ends (status, end time, duration).
function follow(root, runId, metricKeys, chartSections) {
  // Never throw away a comment being written: say there is news instead of drawing anew.
  const writing = () => [...root.querySelectorAll("textarea")].some((t) => t.value.trim());
  const redraw = () => {
    if (!writing()) return render(clear(root));
    if (root.querySelector("#run-changed")) return null;
    const reload = h("button", { class: "btn", onclick: () => render(clear(root)) }, "Show it");
    root.prepend(h("div", { class: "notice", id: "run-changed", role: "status" }, "This run has changed since the page was drawn. ", reload));
    return null;
  };
  followRun(runId, {
    onEnd: redraw,
    onTick: async (run) => {
      const keys = Object.keys(run.data.metrics).sort();
      if (keys.join("\n") !== metricKeys.join("\n")) {
        redraw();
        return true;
      }
      const latest = Object.fromEntries(keys.filter((k) => !k.startsWith(SYSTEM)).map((k) => [k, fmtNum(run.data.metrics[k])]));
      const table = root.querySelector("[data-kv=metrics]");
      if (table) table.replaceWith(keyValueTable(latest, "metrics", ""));
      await Promise.all(chartSections.map((refresh) => refresh()));
      return false;
    },
  });
}

// An orchestrator's run with task runs opens as a pipeline; one of its task runs links there too.
const ORCHESTRATORS = new Set(["airflow", "prefect", "spark", "k8s"]);

async function pipelineLink(run, parent) {
  const { info } = run;
  if (!ORCHESTRATORS.has(info.source_type)) return null;
  const { run_ids: children } = await api(`/api/v1/runs/${enc(info.run_id)}/children`).catch(() => ({ run_ids: [] }));
  const target = children.length ? info.run_id : parent && parent.info.source_type === info.source_type ? parent.info.run_id : null;
  if (!target) return null;
  return h("a", { href: `/pipelines/${enc(target)}`, class: "btn pipeline-view", id: "pipeline-link" }, target === info.run_id ? "Pipeline graph ›" : "Its pipeline ›");
}

async function fill(box, make) {
  const body = await make().catch((err) => errorBox(err));
  const title = box.querySelector("h2");
  clear(box).append(title, body);
}

function facts(run, experiment, parent) {
  const { info, data } = run;
  const detail = sourceDetail(info.source_type, info.source_ref || {}, data.tags);
  const rows = [
    ["Run ID", h("code", { class: "mono" }, info.run_id)],
    ["Experiment", h("a", { href: experimentUrl(info.experiment_id) }, experiment ? experiment.name : info.experiment_id)],
    ["Status", statusBadge(info.status)],
    ["Started", fmtTime(info.start_time)],
    ["Ended", info.end_time ? fmtTime(info.end_time) : "—"],
    ["Duration", fmtDuration(run) || "—"],
    ["Source", h("span", {}, sourceCell(run), detail ? h("span", { class: "muted small" }, ` ${detail}`) : null)],
    ["User", info.user_id || "—"],
    parent ? ["Parent run", runLink(parent)] : null,
    ["Artifact URI", h("code", { class: "mono small" }, info.artifact_uri)],
  ].filter(Boolean);
  return h("section", { class: "card facts" }, h("dl", {}, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
}

function keyValueTable(map, id, emptyText) {
  const keys = Object.keys(map).sort();
  if (!keys.length) return empty(emptyText);
  return h(
    "table",
    { class: "table kv", dataset: { kv: id } },
    h("tbody", {}, keys.map((k) => h("tr", {}, h("th", { scope: "row" }, k), h("td", { class: id === "metrics" ? "num" : "" }, String(map[k]))))),
  );
}

function chartsSection(title, runId, keys, refreshers) {
  const grid = h("div", { class: "chart-grid" });
  let mode = "step";
  const drawn = new Map(); // key -> chart area, for a running run's refresh
  refreshers.push(() =>
    Promise.all(
      [...drawn].map(async ([key, area]) => {
        if (!area.updateChart) return;
        const hist = await history(runId, key);
        area.updateChart([metricSeries(runId, key, hist, mode, key, "#2563eb")]);
      }),
    ),
  );
  const draw = () => {
    clear(grid);
    drawn.clear();
    for (const key of keys) {
      const [box, area] = chartCard(key);
      grid.append(box);
      whenVisible(box, async () => {
        try {
          const hist = await history(runId, key);
          clear(area);
          if (!hist.ys.length) {
            area.append(empty("No points."));
            return;
          }
          lineChart(area, [metricSeries(runId, key, hist, mode, key, "#2563eb")], { xMode: mode });
          drawn.set(key, area);
        } catch (err) {
          clear(area).append(errorBox(err));
        }
      });
    }
  };
  const head = h("div", { class: "card-head" }, h("h2", {}, title), h("span", { class: "muted small" }, "drag to zoom, double-click to reset"), xModeSwitch((m) => {
    mode = m;
    draw();
  }));
  const section = h("section", { class: "card" }, head, grid);
  draw();
  return section;
}

async function datasetsView(runId) {
  const [inputs, outputs] = await Promise.all(
    ["input", "output"].map((direction) => api(`/api/v1/runs/${enc(runId)}/datasets`, { query: { direction } })),
  );
  const rows = [
    ...inputs.versions.map((d) => ["input", d]),
    ...outputs.versions.map((d) => ["output", d]),
  ];
  if (!rows.length) return empty("No datasets recorded: flowtrack.log_input(path) / flowtrack.log_output(path) in the run records what it read and wrote.");
  const creators = await runNames(rows.map(([, d]) => d.created_by_run_id));
  return h(
    "table",
    { class: "table", id: "datasets" },
    h("thead", {}, h("tr", {}, ["", "Name", "URI", "Version (digest)", "Size", "Files", "Created by"].map((t) => h("th", {}, t)))),
    h(
      "tbody",
      {},
      rows.map(([direction, d]) =>
        h(
          "tr",
          {},
          h("td", {}, h("span", { class: `badge dir-${direction}` }, direction)),
          h("td", {}, h("a", { href: datasetUrl(d.name), class: "strong" }, d.name)),
          h("td", { class: "mono small" }, d.uri),
          h("td", {}, h("a", { href: datasetUrl(d.name, d.version_id), class: "mono small", title: `${d.algorithm}:${d.digest}` }, d.digest.slice(0, 12))),
          h("td", { class: "num" }, fmtBytes(d.size)),
          h("td", { class: "num" }, d.file_count),
          h("td", {}, d.created_by_run_id ? h("a", { href: runUrl(d.created_by_run_id) }, d.created_by_run_id === runId ? "this run" : creators.get(d.created_by_run_id) || d.created_by_run_id.slice(0, 8)) : "—"),
        ),
      ),
    ),
  );
}

async function childrenView(runId) {
  const { run_ids: ids } = await api(`/api/v1/runs/${enc(runId)}/children`);
  if (!ids.length) return empty("No child runs: start_run(nested=True) inside this run makes one.");
  const { runs } = await api("/api/v1/runs/get", { method: "POST", body: { run_ids: ids } });
  return h(
    "table",
    { class: "table", id: "child-runs" },
    h("thead", {}, h("tr", {}, ["Run", "Status", "Started", "Duration", "Source"].map((t) => h("th", {}, t)))),
    h(
      "tbody",
      {},
      runs.map((r) => h("tr", {}, h("td", {}, runLink(r)), h("td", {}, statusBadge(r.info.status)), h("td", {}, fmtTime(r.info.start_time)), h("td", {}, fmtDuration(r)), h("td", {}, sourceCell(r)))),
    ),
  );
}

async function modelsView(runId) {
  const { model_versions: versions } = await api("/api/v1/model-versions", { query: { filter: `run_id = '${runId}'` } });
  if (!versions.length) return empty("No model version was registered from this run: flowtrack.register_model(f\"runs:/{run_id}/model\", name).");
  return h(
    "table",
    { class: "table", id: "model-versions" },
    h("thead", {}, h("tr", {}, ["Model", "Version", "Stage", "Aliases", "Source", "Created"].map((t) => h("th", {}, t)))),
    h(
      "tbody",
      {},
      versions.map((v) =>
        h(
          "tr",
          {},
          h("td", {}, h("a", { href: modelUrl(v.name), class: "strong" }, v.name)),
          h("td", {}, h("a", { href: modelUrl(v.name, v.version) }, `v${v.version}`)),
          h("td", {}, stageBadge(v.current_stage)),
          h("td", {}, (v.aliases || []).map((a) => h("span", { class: "badge alias" }, `@${a}`))),
          h("td", { class: "mono small" }, v.source),
          h("td", {}, fmtTime(v.creation_timestamp)),
        ),
      ),
    ),
  );
}
