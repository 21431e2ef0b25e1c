// Page 5, one dataset: its versions (digest, size, files, the run that wrote it, the runs that
// read it) and the lineage graph of the chosen version.
import { api, datasetUrl, enc, fmtAgo, fmtBytes, fmtTime, runUrl } from "../api.js";
import { card, crumbs, h } from "../dom.js";
import { commentCounts, countBadge, discussionCard } from "../discussion.js";
import { lineageCard } from "../lineage.js";

const SHOWN_READERS = 5;

export async function render(root) {
  const name = decodeURIComponent(location.pathname.slice("/data/".length));
  document.title = `${name} · data · flowtrack`;
  const { versions, total } = await api("/api/v1/ui/dataset-versions", { query: { name } });
  const wanted = new URLSearchParams(location.search).get("version");
  const chosen = versions.find((v) => v.version_id === wanted) || versions[0];
  const counts = await commentCounts("dataset_version", versions.map((v) => v.version_id));

  root.append(
    crumbs(h("a", { href: "/data" }, "Data"), h("span", {}, name)),
    h("div", { class: "page-head" }, h("h1", {}, name), h("span", { class: "muted" }, `${total.toLocaleString()} version${total === 1 ? "" : "s"}`)),
    card("Versions", versionsTable(name, versions, chosen, counts), total > versions.length ? h("p", { class: "muted" }, `Showing the newest ${versions.length} of ${total.toLocaleString()} versions.`) : null),
    lineageCard(`/api/v1/ui/lineage/dataset-versions/${enc(chosen.version_id)}`, `Lineage of version ${chosen.digest.slice(0, 12)}`),
    discussionCard({
      path: `/api/v1/dataset-versions/${enc(chosen.version_id)}/comments`,
      title: `Discussion of version ${chosen.digest.slice(0, 12)}`,
      cli: `flowtrack data comment ${chosen.version_id} "text"`,
    }),
  );
}

function runLinks(runs) {
  return runs.map((r, i) => [i ? ", " : "", h("a", { href: runUrl(r.run_id), class: "run-link" }, r.run_name || r.run_id.slice(0, 8))]);
}

function versionsTable(name, versions, chosen, counts) {
  const rows = versions.map((v) => {
    const more = v.readers - Math.min(v.read_by.length, SHOWN_READERS);
    return h(
      "tr",
      { dataset: { versionId: v.version_id }, class: v.version_id === chosen.version_id ? "chosen" : "" },
      h("td", {}, h("a", { href: datasetUrl(name, v.version_id), class: "mono", title: `${v.algorithm}:${v.digest}` }, v.digest.slice(0, 12)), " ", countBadge(counts[v.version_id], datasetUrl(name, v.version_id))),
      h("td", { class: "num" }, fmtBytes(v.size)),
      h("td", { class: "num" }, v.file_count.toLocaleString()),
      h("td", {}, h("span", { class: "badge", title: v.mode === "reference" ? "a fingerprint of the files' metadata; nothing copied" : "content hashed and kept in a cache" }, v.mode)),
      h("td", { class: "mono small uri", title: v.uri }, v.uri),
      h("td", { title: fmtTime(v.created_time) }, fmtAgo(v.created_time)),
      h("td", { class: "written-by" }, v.written_by.length ? runLinks(v.written_by) : h("span", { class: "muted" }, "—")),
      h("td", { class: "read-by" }, v.read_by.length ? runLinks(v.read_by.slice(0, SHOWN_READERS)) : h("span", { class: "muted" }, v.readers ? "" : "no run yet"), more > 0 ? h("span", { class: "muted" }, ` and ${more} more`) : null),
    );
  });
  return h(
    "div",
    { class: "table-scroll" },
    h(
      "table",
      { class: "table", id: "dataset-versions" },
      h("thead", {}, h("tr", {}, ["Version (digest)", "Size", "Files", "Mode", "Where", "Created", "Written by", "Read by"].map((t, i) => h("th", { class: [1, 2].includes(i) ? "num" : "" }, t)))),
      h("tbody", {}, rows),
    ),
  );
}
