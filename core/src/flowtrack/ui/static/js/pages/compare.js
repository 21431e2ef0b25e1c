// Page 4: compare runs (chosen in the runs table): params side by side with differences marked,
// latest metrics, overlaid metric charts, parallel coordinates and a scatter of any two values.
import { api, enc, experimentUrl, fmtNum } from "../api.js";
import { chartCard, history, lineChart, metricSeries, whenVisible, xModeSwitch } from "../charts.js";
import { card, clear, crumbs, empty, h, statusBadge } from "../dom.js";
import { parallelCoordinates, scatter } from "../plots.js";
import { color, errorBox, runLink } from "../views.js";

const MAX_RUNS = 100;

export async function render(root) {
  const ids = (new URLSearchParams(location.search).get("runs") || "").split(",").map((s) => s.trim()).filter(Boolean);
  root.append(crumbs(h("a", { href: "/" }, "Experiments"), h("span", {}, "Compare runs")));
  if (ids.length < 2) {
    root.append(card("Compare runs", empty("Select two or more runs in an experiment's runs table, then press Compare.")));
    return;
  }
  const { runs } = await api("/api/v1/runs/get", { method: "POST", body: { run_ids: ids.slice(0, MAX_RUNS) } });
  if (runs.length < 2) {
    root.append(card("Compare runs", empty(`Found ${runs.length} of the ${ids.length} runs asked for; at least two are needed.`)));
    return;
  }
  document.title = `Compare ${runs.length} runs · flowtrack`;
  const colors = runs.map((_, i) => color(i));
  const experimentIds = [...new Set(runs.map((r) => r.info.experiment_id))];
  const experiments = await Promise.all(experimentIds.map((e) => api(`/api/v1/experiments/${enc(e)}`).catch(() => null)));
  root.append(
    h("div", { class: "page-head" }, h("h1", {}, `Comparing ${runs.length} runs`), h("span", { class: "muted" }, "in ", experiments.filter(Boolean).map((e, i) => [i ? ", " : "", h("a", { href: experimentUrl(e.experiment_id) }, e.name)]))),
    legend(runs, colors),
    paramsCard(runs),
    metricsCard(runs),
    chartsCard(runs, colors),
    parallelCard(runs, colors),
    scatterCard(runs, colors),
  );
}

function legend(runs, colors) {
  return h("div", { class: "legend card" }, runs.map((r, i) => h("span", { class: "legend-item" }, h("span", { class: "swatch", style: { background: colors[i] } }), runLink(r), " ", statusBadge(r.info.status))));
}

function unionKeys(runs, field) {
  const keys = new Set();
  for (const r of runs) for (const k of Object.keys(r.data[field])) keys.add(k);
  return [...keys].sort();
}

function sideBySide(runs, field, format, id) {
  const keys = unionKeys(runs, field);
  if (!keys.length) return empty(`No ${field} logged by these runs.`);
  const onlyDiff = h("input", { type: "checkbox", id: `${id}-only-diff` });
  const rows = keys.map((k) => {
    const values = runs.map((r) => (k in r.data[field] ? format(r.data[field][k]) : undefined));
    const differs = new Set(values.map((v) => (v === undefined ? "\u0000missing" : v))).size > 1;
    return h("tr", { class: differs ? "differs" : "same", dataset: { key: k } }, h("th", { scope: "row" }, k), values.map((v) => h("td", { class: v === undefined ? "missing" : "" }, v === undefined ? "—" : v)));
  });
  const table = h(
    "table",
    { class: "table compare-table", id },
    h("thead", {}, h("tr", {}, h("th", {}, ""), runs.map((r) => h("th", {}, runLink(r))))),
    h("tbody", {}, rows),
  );
  onlyDiff.addEventListener("change", () => table.classList.toggle("only-diff", onlyDiff.checked));
  const differing = rows.filter((r) => r.classList.contains("differs")).length;
  return h("div", {}, h("label", { class: "check inline" }, onlyDiff, `Only the ${differing} that differ`), h("div", { class: "table-scroll" }, table));
}

function paramsCard(runs) {
  return card("Parameters", sideBySide(runs, "params", String, "compare-params"));
}

function metricsCard(runs) {
  return card("Metrics (latest)", sideBySide(runs, "metrics", fmtNum, "compare-metrics"));
}

function chartsCard(runs, colors) {
  const keys = unionKeys(runs, "metrics");
  const grid = h("div", { class: "chart-grid" });
  let mode = "step";
  const draw = () => {
    clear(grid);
    for (const key of keys) {
      const [box, area] = chartCard(key);
      grid.append(box);
      whenVisible(box, async () => {
        try {
          const having = runs.map((r, i) => [r, i]).filter(([r]) => key in r.data.metrics);
          const hists = await Promise.all(having.map(([r]) => history(r.info.run_id, key)));
          clear(area);
          lineChart(
            area,
            having.map(([r, i], j) => metricSeries(r.info.run_id, key, hists[j], mode, r.info.run_name, colors[i])),
            { xMode: mode },
          );
        } catch (err) {
          clear(area).append(errorBox(err));
        }
      });
    }
  };
  draw();
  const head = h("div", { class: "card-head" }, h("h2", {}, "Metric charts"), h("span", { class: "muted small" }, "drag to zoom, double-click to reset"), xModeSwitch((m) => {
    mode = m;
    draw();
  }));
  return h("section", { class: "card", id: "compare-charts" }, head, keys.length ? grid : empty("No metrics logged by these runs."));
}

function select(options, value, onChange, label) {
  const el = h("select", { "aria-label": label, onchange: (ev) => onChange(ev.target.value) }, options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)));
  return el;
}

function valueOf(run, choice) {
  const [field, ...rest] = choice.split(":");
  const key = rest.join(":");
  return run.data[field][key];
}

function choices(runs) {
  return [
    ...unionKeys(runs, "params").map((k) => [`params:${k}`, `param ${k}`]),
    ...unionKeys(runs, "metrics").map((k) => [`metrics:${k}`, `metric ${k}`]),
  ];
}

function parallelCard(runs, colors) {
  const params = unionKeys(runs, "params");
  const metrics = unionKeys(runs, "metrics");
  const holder = h("div", { class: "plot-holder", id: "parallel" });
  if (!params.length || !metrics.length) return card("Parallel coordinates", empty("Needs params and metrics logged by these runs."));
  let metric = metrics[0];
  const draw = () => {
    const dims = [...params.map((k) => ({ label: k, values: runs.map((r) => r.data.params[k]) })), { label: metric, values: runs.map((r) => r.data.metrics[metric]) }];
    clear(holder).append(parallelCoordinates(dims, colors, runs.map((r) => r.info.run_name)));
  };
  draw();
  return h(
    "section",
    { class: "card" },
    h("div", { class: "card-head" }, h("h2", {}, "Parallel coordinates"), h("label", { class: "inline" }, "params against ", select(metrics.map((m) => [m, m]), metric, (v) => { metric = v; draw(); }, "metric"))),
    holder,
  );
}

function scatterCard(runs, colors) {
  const options = choices(runs);
  if (options.length < 1) return card("Scatter", empty("Needs params or metrics logged by these runs."));
  const holder = h("div", { class: "plot-holder", id: "scatter" });
  let x = options.find(([v]) => v.startsWith("params:"))?.[0] || options[0][0];
  let y = options.find(([v]) => v.startsWith("metrics:"))?.[0] || options[options.length - 1][0];
  const label = (v) => options.find(([o]) => o === v)?.[1] || v;
  const draw = () => {
    const points = runs.map((r, i) => ({ x: valueOf(r, x), y: valueOf(r, y), color: colors[i], label: r.info.run_name }));
    clear(holder).append(scatter(points, label(x), label(y)));
  };
  draw();
  return h(
    "section",
    { class: "card" },
    h(
      "div",
      { class: "card-head" },
      h("h2", {}, "Scatter"),
      h("label", { class: "inline" }, "x ", select(options, x, (v) => { x = v; draw(); }, "scatter x")),
      h("label", { class: "inline" }, "y ", select(options, y, (v) => { y = v; draw(); }, "scatter y")),
    ),
    holder,
  );
}
