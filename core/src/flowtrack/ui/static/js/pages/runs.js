// Page 2: the runs table of one experiment. Columns for chosen params, latest metrics and tags;
// sorting and filtering happen in the server's search (one page of PAGE runs at a time, more
// loaded as the table is scrolled); child runs are folded under their parent.
import { ApiError, api, compareUrl, durationMs, enc, fmtAgo, fmtDuration, fmtNum, fmtTime, runUrl } from "../api.js";
import { commentCounts, countBadge } from "../discussion.js";
import { clear, crumbs, empty, h, statusBadge } from "../dom.js";
import { demoHint, errorBox, sourceCell } from "../views.js";

const PAGE = 100;
const DEFAULT_COLUMNS = 6;
const GROUPS = [
  ["params", "Params"],
  ["metrics", "Metrics"],
  ["tags", "Tags"],
];

export async function render(root) {
  const experimentId = decodeURIComponent(location.pathname.split("/")[2]);
  const query = new URLSearchParams(location.search);
  const [experiment, keys, counts] = await Promise.all([
    api(`/api/v1/experiments/${enc(experimentId)}`),
    api(`/api/v1/ui/experiments/${enc(experimentId)}/columns`),
    api("/api/v1/experiments/run-counts", { method: "POST", body: { experiment_ids: [experimentId] } }),
  ]);
  document.title = `${experiment.name} · flowtrack`;
  const state = {
    experiment,
    keys,
    total: counts.counts[experimentId] ?? 0,
    columns: loadColumns(experimentId, keys),
    filter: query.get("filter") || "",
    order: query.get("order") || "attributes.start_time DESC",
    runs: [],
    token: null,
    selected: new Set(),
    expanded: new Set(),
    loading: false,
    clientSort: null,
  };
  const view = new RunsView(root, state);
  await view.reload();
}

function loadColumns(experimentId, keys) {
  try {
    const saved = JSON.parse(localStorage.getItem(`flowtrack.columns.${experimentId}`) || "null");
    if (saved) {
      const out = {};
      for (const [group] of GROUPS) out[group] = (saved[group] || []).filter((k) => keys[group].includes(k));
      return out;
    }
  } catch (_) {
    /* ignore a bad saved choice */
  }
  return {
    params: keys.params.slice(0, DEFAULT_COLUMNS),
    metrics: keys.metrics.filter((k) => !k.startsWith("system/")).slice(0, DEFAULT_COLUMNS),
    tags: [],
  };
}

const quoteKey = (key) => `\`${key.replaceAll("`", "")}\``;

class RunsView {
  constructor(root, state) {
    this.root = root;
    this.s = state;
    const e = state.experiment;
    this.filterInput = h("input", {
      type: "search",
      id: "filter",
      class: "filter-input",
      value: state.filter,
      placeholder: "metrics.auc > 0.9 and params.alpha = '0.5'",
      spellcheck: "false",
      "aria-label": "Filter runs",
      onkeydown: (ev) => ev.key === "Enter" && this.applyFilter(),
    });
    this.errors = h("div", { id: "filter-error" });
    this.compareButton = h(
      "a",
      {
        class: "btn primary disabled",
        id: "compare",
        href: "#",
        "aria-disabled": "true",
        onclick: (ev) => this.s.selected.size < 2 && ev.preventDefault(),
      },
      "Compare",
    );
    this.summary = h("span", { class: "muted", id: "runs-summary" });
    this.tableHolder = h("div", { class: "table-scroll" });
    this.footer = h("div", { class: "table-footer" });
    this.columnsPanel = h("div", { class: "columns-panel" });
    const chooser = h("details", { class: "columns-chooser" }, h("summary", { class: "btn" }, "Columns"), this.columnsPanel);
    root.append(
      crumbs(h("a", { href: "/" }, "Experiments"), h("span", {}, e.name)),
      h("div", { class: "page-head" }, h("h1", {}, e.name), h("span", { class: "muted" }, `experiment ${e.experiment_id}`)),
      h(
        "div",
        { class: "toolbar" },
        this.filterInput,
        h("button", { class: "btn", onclick: () => this.applyFilter() }, "Search"),
        h("button", { class: "btn", onclick: () => { this.filterInput.value = ""; this.applyFilter(); } }, "Clear"),
        chooser,
        this.compareButton,
      ),
      this.errors,
      h("div", { class: "card table-card" }, h("div", { class: "table-head" }, this.summary), this.tableHolder, this.footer),
    );
    this.drawColumnsPanel();
    // More runs load when the table is scrolled to its last rows (the button does it too).
    this.observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((en) => en.isIntersecting)) this.more();
      },
      { root: this.tableHolder, rootMargin: "0px 0px 150px 0px" },
    );
  }

  async applyFilter() {
    this.s.filter = this.filterInput.value.trim();
    await this.reload();
  }

  setUrl() {
    const q = new URLSearchParams();
    if (this.s.filter) q.set("filter", this.s.filter);
    if (this.s.order !== "attributes.start_time DESC") q.set("order", this.s.order);
    const text = q.toString();
    history.replaceState(null, "", location.pathname + (text ? `?${text}` : ""));
  }

  async reload() {
    this.setUrl();
    this.s.runs = [];
    this.s.token = null;
    this.s.clientSort = null;
    clear(this.errors);
    try {
      await this.fetchPage();
    } catch (err) {
      if (err instanceof ApiError && err.status === 400) {
        this.errors.append(errorBox(err));
        this.draw(true);
        return;
      }
      throw err;
    }
    this.draw();
  }

  async fetchPage() {
    const page = await api("/api/v1/runs/search", {
      method: "POST",
      body: {
        experiment_ids: [this.s.experiment.experiment_id],
        filter: this.s.filter || null,
        order_by: [this.s.order],
        max_results: PAGE,
        page_token: this.s.token,
      },
    });
    this.s.runs.push(...page.runs);
    this.s.token = page.next_page_token;
    const counts = await commentCounts("run", page.runs.map((r) => r.info.run_id));
    this.s.comments = { ...this.s.comments, ...counts };
  }

  async more() {
    if (this.s.loading || !this.s.token) return;
    this.s.loading = true;
    try {
      await this.fetchPage();
      this.draw();
    } catch (err) {
      this.errors.append(errorBox(err));
    } finally {
      this.s.loading = false;
    }
  }

  drawColumnsPanel() {
    const panel = clear(this.columnsPanel);
    for (const [group, label] of GROUPS) {
      const keys = this.s.keys[group];
      const box = h("fieldset", {}, h("legend", {}, `${label} (${keys.length})`));
      if (!keys.length) box.append(h("p", { class: "muted small" }, "none logged"));
      for (const key of keys) {
        const input = h("input", {
          type: "checkbox",
          checked: this.s.columns[group].includes(key),
          onchange: (ev) => {
            const list = this.s.columns[group].filter((k) => k !== key);
            if (ev.target.checked) list.push(key);
            this.s.columns[group] = this.s.keys[group].filter((k) => list.includes(k));
            localStorage.setItem(`flowtrack.columns.${this.s.experiment.experiment_id}`, JSON.stringify(this.s.columns));
            this.draw();
          },
        });
        box.append(h("label", { class: "check" }, input, key));
      }
      panel.append(box);
    }
  }

  sortHeader(label, order, extra = {}) {
    const [current, dir] = this.s.order.split(/ (?=ASC$|DESC$)/);
    const active = !this.s.clientSort && current === order;
    const arrow = active ? (dir === "DESC" ? " ▼" : " ▲") : "";
    return h(
      "th",
      {
        class: `sortable ${extra.class || ""} ${active ? "sorted" : ""}`,
        title: `Sort by ${order}`,
        onclick: () => {
          this.s.order = `${order} ${active && dir === "DESC" ? "ASC" : "DESC"}`;
          this.reload().catch((err) => this.errors.append(errorBox(err)));
        },
      },
      label,
      arrow,
    );
  }

  draw(badFilter = false) {
    const { runs, columns, total } = this.s;
    // Redrawn whole (the tree may change anywhere), at the same scroll position.
    const scroll = [this.tableHolder.scrollTop, this.tableHolder.scrollLeft];
    const holder = clear(this.tableHolder);
    clear(this.footer);
    if (badFilter) {
      this.summary.textContent = `${total.toLocaleString()} runs`;
      holder.append(empty("Fix the filter above (or press Clear) to see the runs."));
      return;
    }
    const shown = runs.length.toLocaleString();
    this.summary.textContent = this.s.filter
      ? `${shown}${this.s.token ? "+" : ""} runs match the filter (of ${total.toLocaleString()})`
      : `${shown} of ${total.toLocaleString()} runs`;
    if (!runs.length) {
      holder.append(this.s.filter ? empty("No run matches this filter.") : demoHint());
      return;
    }
    const groupRow = h(
      "tr",
      { class: "group-row" },
      h("th", { colspan: 6 }, ""),
      GROUPS.map(([g, label]) => (columns[g].length ? h("th", { colspan: columns[g].length, class: `group group-${g}` }, label) : null)),
    );
    const durationSorted = this.s.clientSort;
    const headRow = h(
      "tr",
      {},
      h("th", { class: "select" }, h("input", { type: "checkbox", "aria-label": "Select all", onchange: (ev) => this.selectAll(ev.target.checked) })),
      this.sortHeader("Run", "attributes.run_name"),
      this.sortHeader("Status", "attributes.status"),
      this.sortHeader("Started", "attributes.start_time"),
      h(
        "th",
        {
          class: `sortable ${durationSorted ? "sorted" : ""}`,
          title: "Sort the loaded runs by duration",
          onclick: () => {
            this.s.clientSort = this.s.clientSort === "desc" ? "asc" : "desc";
            this.draw();
          },
        },
        "Duration",
        durationSorted ? (durationSorted === "desc" ? " ▼" : " ▲") : "",
      ),
      this.sortHeader("Source", "attributes.source_type"),
      columns.params.map((k) => this.sortHeader(k, `params.${quoteKey(k)}`, { class: "col-params" })),
      columns.metrics.map((k) => this.sortHeader(k, `metrics.${quoteKey(k)}`, { class: "num col-metrics" })),
      columns.tags.map((k) => this.sortHeader(k, `tags.${quoteKey(k)}`, { class: "col-tags" })),
    );
    const body = h("tbody", {});
    for (const [run, depth, childCount] of this.treeRows()) body.append(this.row(run, depth, childCount));
    holder.append(h("table", { class: "table runs-table", id: "runs" }, h("thead", {}, groupRow, headRow), body));
    [holder.scrollTop, holder.scrollLeft] = scroll;
    this.observer.disconnect();
    if (this.s.token) {
      const button = h("button", { class: "btn", id: "load-more", onclick: () => this.more() }, `Load ${PAGE} more`);
      this.footer.append(button);
      this.observer.observe(body.lastElementChild);
    }
    this.updateCompare();
  }

  // (run, depth, number of loaded children) in display order: a child follows its parent
  // when the parent is loaded and expanded; a child whose parent is not loaded stands alone.
  treeRows() {
    const byId = new Map(this.s.runs.map((r) => [r.info.run_id, r]));
    const children = new Map();
    const roots = [];
    for (const run of this.s.runs) {
      const parent = run.info.parent_run_id;
      if (parent && byId.has(parent) && parent !== run.info.run_id) {
        if (!children.has(parent)) children.set(parent, []);
        children.get(parent).push(run);
      } else roots.push(run);
    }
    if (this.s.clientSort) {
      const sign = this.s.clientSort === "desc" ? -1 : 1;
      roots.sort((a, b) => sign * ((durationMs(a) ?? -1) - (durationMs(b) ?? -1)));
    }
    const out = [];
    const seen = new Set();
    const walk = (run, depth) => {
      if (seen.has(run.info.run_id)) return;
      seen.add(run.info.run_id);
      const kids = children.get(run.info.run_id) || [];
      out.push([run, depth, kids.length]);
      if (this.s.expanded.has(run.info.run_id)) for (const kid of kids) walk(kid, depth + 1);
    };
    for (const run of roots) walk(run, 0);
    return out;
  }

  row(run, depth, childCount) {
    const { info, data } = run;
    const id = info.run_id;
    const toggle = childCount
      ? h(
          "button",
          {
            class: "tree-toggle",
            "aria-expanded": String(this.s.expanded.has(id)),
            title: `${childCount} child run${childCount === 1 ? "" : "s"}`,
            onclick: () => {
              if (this.s.expanded.has(id)) this.s.expanded.delete(id);
              else this.s.expanded.add(id);
              this.draw();
            },
          },
          this.s.expanded.has(id) ? "▾" : "▸",
        )
      : h("span", { class: "tree-spacer" });
    const orphan = info.parent_run_id && depth === 0;
    const name = h(
      "td",
      { class: "run-cell", style: { paddingLeft: `${8 + depth * 20}px` } },
      toggle,
      h("a", { href: runUrl(id), class: "run-link", title: id }, info.run_name || id.slice(0, 8)),
      childCount ? h("span", { class: "count-pill", title: "child runs" }, childCount) : null,
      countBadge((this.s.comments || {})[id], `${runUrl(id)}#discussion`),
      orphan ? h("a", { class: "parent-link muted small", href: runUrl(info.parent_run_id), title: "parent run" }, " ↳ child") : null,
    );
    const cell = (value, cls = "") => h("td", { class: cls, title: value === undefined ? "" : String(value) }, value === undefined ? "" : value);
    return h(
      "tr",
      { dataset: { runId: id }, class: depth ? "child-row" : "" },
      h("td", { class: "select" }, h("input", { type: "checkbox", "aria-label": `Select ${info.run_name}`, checked: this.s.selected.has(id), onchange: (ev) => this.select(id, ev.target.checked) })),
      name,
      h("td", {}, statusBadge(info.status)),
      h("td", { title: fmtTime(info.start_time), class: "nowrap" }, fmtAgo(info.start_time)),
      h("td", { class: "nowrap" }, fmtDuration(run)),
      h("td", {}, sourceCell(run)),
      this.s.columns.params.map((k) => cell(data.params[k], "col-params")),
      this.s.columns.metrics.map((k) => cell(k in data.metrics ? fmtNum(data.metrics[k]) : undefined, "num col-metrics")),
      this.s.columns.tags.map((k) => cell(data.tags[k], "col-tags")),
    );
  }

  select(id, on) {
    if (on) this.s.selected.add(id);
    else this.s.selected.delete(id);
    this.updateCompare();
  }

  selectAll(on) {
    for (const run of this.s.runs) this.select(run.info.run_id, on);
    this.draw();
  }

  updateCompare() {
    const ids = [...this.s.selected];
    const ok = ids.length >= 2;
    this.compareButton.textContent = ids.length ? `Compare ${ids.length} runs` : "Compare";
    this.compareButton.classList.toggle("disabled", !ok);
    this.compareButton.setAttribute("aria-disabled", String(!ok));
    this.compareButton.setAttribute("href", ok ? compareUrl(ids) : "#");
    this.compareButton.title = ok ? "" : "Select two or more runs to compare them";
  }
}
