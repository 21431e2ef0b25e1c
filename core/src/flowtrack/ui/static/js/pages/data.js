// Page 5, data: every dataset (the versions logged under one name) with its latest version.
import { api, datasetUrl, fmtAgo, fmtBytes, fmtTime, runUrl } from "../api.js";
import { card, h } from "../dom.js";

export async function render(root) {
  document.title = "Data · flowtrack";
  const { datasets, truncated } = await api("/api/v1/ui/datasets");
  root.append(h("div", { class: "page-head" }, h("h1", {}, "Data")));
  if (!datasets.length) {
    root.append(card(null, dataHint()));
    return;
  }
  const rows = datasets.map((d) => {
    const v = d.latest;
    return h(
      "tr",
      { dataset: { name: d.name } },
      h("td", {}, h("a", { href: datasetUrl(d.name), class: "strong" }, d.name)),
      h("td", { class: "num" }, d.versions.toLocaleString()),
      h("td", {}, v ? h("a", { href: datasetUrl(d.name, v.version_id), class: "mono small", title: `${v.algorithm}:${v.digest}` }, v.digest.slice(0, 12)) : "—"),
      h("td", { class: "num" }, v ? fmtBytes(v.size) : ""),
      h("td", { class: "num" }, v ? v.file_count.toLocaleString() : ""),
      h("td", { class: "mono small uri", title: v ? v.uri : "" }, v ? v.uri : ""),
      h("td", { class: "written-by" }, d.created_by ? h("a", { href: runUrl(d.created_by.run_id) }, d.created_by.run_name) : h("span", { class: "muted" }, "—")),
      h("td", { title: fmtTime(d.last_created) }, fmtAgo(d.last_created)),
    );
  });
  root.append(
    card(
      null,
      h(
        "table",
        { class: "table", id: "datasets-list" },
        h("thead", {}, h("tr", {}, ["Dataset", "Versions", "Latest version", "Size", "Files", "Where", "Written by", "Last version"].map((t, i) => h("th", { class: [1, 3, 4].includes(i) ? "num" : "" }, t)))),
        h("tbody", {}, rows),
      ),
      truncated ? h("p", { class: "muted" }, "Showing the 5,000 most recent datasets.") : null,
    ),
  );
}

function dataHint() {
  return h(
    "div",
    { class: "hint" },
    h("p", {}, "No data versions yet. Record what a run reads and writes with ", h("code", {}, "flowtrack.log_input()"), " and ", h("code", {}, "flowtrack.log_output()"), ":"),
    h(
      "pre",
      { class: "snippet" },
      'import flowtrack\n\nwith flowtrack.start_run():\n    flowtrack.log_input("data/train.csv")\n    ...\n    flowtrack.log_output("data/features.parquet", name="features")',
    ),
    h("p", { class: "muted small" }, "Files versioned with ", h("code", {}, "flowtrack data add"), " show here once a run logs them (inside the data repo, a run's snapshot uses the repo's cache)."),
  );
}
