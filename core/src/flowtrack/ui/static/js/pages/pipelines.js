// Page 7, pipelines: orchestrator runs that hold task runs (Airflow DAG runs, Prefect flow runs),
// newest first, filterable by source and by name (DAG id, flow name), PAGE at a time; each with
// its state, start, duration and task counts per state (counted on the server).
import { api, fmtAgo, fmtTime, runUrl } from "../api.js";
import { card, clear, empty, h } from "../dom.js";
import { errorBox } from "../views.js";
import { fmtMs, pipelineUrl, pipelinesHint, spanMs, stateBadge, stateCounts } from "../states.js";

const PAGE = 50;

export async function render(root) {
  document.title = "Pipelines · flowtrack";
  const query = new URLSearchParams(location.search);
  const state = { source: query.get("source") || "", name: query.get("name") || "", offset: Math.max(0, Number(query.get("offset")) || 0) };
  const first = await fetchPage(state);
  root.append(h("div", { class: "page-head" }, h("h1", {}, "Pipelines"), h("span", { class: "muted" }, "DAG runs and flow runs with their task runs")));
  if (!first.total && !first.names.length) {
    root.append(card(null, pipelinesHint()));
    return;
  }
  const sources = [...new Set(first.names.map((n) => n.source))].sort();
  const sourceSelect = h("select", { id: "pipeline-source", "aria-label": "Source" }, h("option", { value: "" }, "All sources"), sources.map((s) => h("option", { value: s, selected: s === state.source }, s)));
  const nameSelect = h("select", { id: "pipeline-name", "aria-label": "Pipeline" });
  const fillNames = () => {
    clear(nameSelect).append(h("option", { value: "" }, "All pipelines"));
    for (const n of first.names.filter((x) => !state.source || x.source === state.source)) {
      nameSelect.append(h("option", { value: n.name, selected: n.name === state.name }, `${n.name} (${n.runs.toLocaleString()})`));
    }
  };
  fillNames();
  const summary = h("span", { class: "muted", id: "pipelines-summary" });
  const holder = h("div", { class: "table-scroll" });
  const pager = h("div", { class: "table-footer pager" });
  const show = async (page) => {
    const q = {};
    if (state.source) q.source = state.source;
    if (state.name) q.name = state.name;
    if (state.offset) q.offset = state.offset;
    const text = new URLSearchParams(q).toString();
    history.replaceState(null, "", location.pathname + (text ? `?${text}` : ""));
    try {
      const found = page || (await fetchPage(state));
      draw(found, holder, summary, pager, (offset) => {
        state.offset = offset;
        show();
      });
    } catch (err) {
      clear(holder).append(errorBox(err));
    }
  };
  sourceSelect.addEventListener("change", () => {
    state.source = sourceSelect.value;
    state.name = "";
    state.offset = 0;
    fillNames();
    show();
  });
  nameSelect.addEventListener("change", () => {
    state.name = nameSelect.value;
    state.offset = 0;
    show();
  });
  root.append(
    h("div", { class: "toolbar" }, h("label", { class: "inline" }, "Source ", sourceSelect), h("label", { class: "inline" }, "Pipeline ", nameSelect)),
    h("div", { class: "card table-card" }, h("div", { class: "table-head" }, summary), holder, pager),
  );
  await show(first);
}

function fetchPage(state) {
  return api("/api/v1/ui/pipelines", { query: { source: state.source || null, name: state.name || null, offset: state.offset || null, limit: PAGE } });
}

function draw(found, holder, summary, pager, go) {
  const { pipelines, total, offset } = found;
  summary.textContent = total ? `${(offset + 1).toLocaleString()}–${(offset + pipelines.length).toLocaleString()} of ${total.toLocaleString()} pipeline runs` : "";
  clear(holder);
  clear(pager);
  if (!pipelines.length) {
    holder.append(empty("No pipeline run matches: choose another source or pipeline."));
    return;
  }
  holder.append(
    h(
      "table",
      { class: "table", id: "pipelines" },
      h("thead", {}, h("tr", {}, ["Pipeline", "Run", "Source", "State", "Started", "Duration", "Tasks"].map((t) => h("th", {}, t)))),
      h(
        "tbody",
        {},
        pipelines.map((p) =>
          h(
            "tr",
            { dataset: { runId: p.run_id } },
            h("td", {}, h("a", { href: pipelineUrl(p.run_id), class: "strong pipeline-link" }, p.name)),
            h("td", { class: "small" }, h("a", { href: runUrl(p.run_id), class: "muted", title: "the run page" }, p.run_name)),
            h("td", {}, h("span", { class: `badge source source-${p.source_type}` }, p.source_type)),
            h("td", {}, stateBadge(p.state)),
            h("td", { title: fmtTime(p.start_time) }, fmtAgo(p.start_time)),
            h("td", { class: "num" }, fmtMs(spanMs(p)) || "—"),
            h("td", {}, stateCounts(p.tasks)),
          ),
        ),
      ),
    ),
  );
  const newer = h("button", { class: "btn", id: "newer", disabled: offset === 0, onclick: () => go(Math.max(0, offset - PAGE)) }, "‹ Newer");
  const older = h("button", { class: "btn", id: "older", disabled: offset + pipelines.length >= total, onclick: () => go(offset + PAGE) }, "Older ›");
  pager.append(newer, older);
}
