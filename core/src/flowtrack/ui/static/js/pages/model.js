// Page 6, one registered model: its versions (stage, aliases, source run, description) with
// actions to set or delete an alias and to change a stage; for the chosen version, the data its
// source run read and its lineage graph; the audit trail.
import { api, datasetUrl, enc, fmtAgo, fmtBytes, fmtTime, modelUrl, runUrl } from "../api.js";
import { ask, card, clear, crumbs, empty, h } from "../dom.js";
import { commentCounts, countBadge, discussionCard } from "../discussion.js";
import { lineageCard } from "../lineage.js";
import { errorBox, runNames, stageBadge } from "../views.js";

const STAGES = ["None", "Staging", "Production", "Archived"];

export async function render(root) {
  const name = decodeURIComponent(location.pathname.split("/")[2]);
  document.title = `${name} · models · flowtrack`;
  await draw(root, name);
}

async function draw(root, name) {
  const base = `/api/v1/registered-models/${enc(name)}`;
  const [model, { model_versions: versions }, { events }] = await Promise.all([
    api(base),
    api("/api/v1/model-versions", { query: { filter: `name = '${name}'`, order_by: "version_number DESC" } }),
    api(`${base}/history`),
  ]);
  const [runs, counts] = await Promise.all([
    runNames(versions.map((v) => v.run_id)),
    commentCounts("model_version", versions.map((v) => `${name}/${v.version}`)),
  ]);
  const wanted = Number(new URLSearchParams(location.search).get("version"));
  const chosen = versions.find((v) => v.version === wanted) || versions[0] || null;

  clear(root).append(
    crumbs(h("a", { href: "/models" }, "Models"), h("span", {}, name)),
    h("div", { class: "page-head" }, h("h1", {}, name), h("span", { class: "muted" }, `${versions.length} version${versions.length === 1 ? "" : "s"}`)),
    facts(model),
    card(
      "Versions",
      versions.length ? versionsTable(root, name, versions, runs, chosen, counts) : empty(`No versions yet: flowtrack.register_model(f"runs:/{run_id}/model", "${name}") registers one.`),
    ),
  );
  if (chosen) {
    root.append(
      h(
        "div",
        { class: "grid-2", id: "chosen-version" },
        card(`Data read by the source run of v${chosen.version}`, h("div", { id: "version-data" }, h("p", { class: "muted" }, "Loading…"))),
        card(`About v${chosen.version}`, versionFacts(chosen, runs)),
      ),
      lineageCard(`/api/v1/ui/lineage/registered-models/${enc(name)}/versions/${chosen.version}`, `Lineage of v${chosen.version}`),
      discussionCard({
        path: `/api/v1/registered-models/${enc(name)}/versions/${chosen.version}/comments`,
        title: `Discussion of v${chosen.version}`,
        cli: `flowtrack models comment ${name} ${chosen.version} "text"`,
      }),
    );
    fillData(root.querySelector("#version-data"), name, chosen);
  }
  root.append(card("Audit trail", historyTable(events)));
}

function facts(model) {
  const tags = Object.entries(model.tags || {});
  return h(
    "section",
    { class: "card facts" },
    model.description ? h("p", { class: "description-text", id: "model-description" }, model.description) : null,
    h(
      "dl",
      {},
      h("dt", {}, "Created"),
      h("dd", {}, fmtTime(model.creation_timestamp)),
      h("dt", {}, "Last updated"),
      h("dd", { title: fmtTime(model.last_updated_timestamp) }, fmtAgo(model.last_updated_timestamp)),
      h("dt", {}, "Load with"),
      h("dd", {}, h("code", { class: "mono" }, `models:/${model.name}@<alias>`), h("span", { class: "muted small" }, ` or models:/${model.name}/<version>`)),
      h("dt", {}, "Tags"),
      h("dd", {}, tags.length ? tags.map(([k, v]) => h("span", { class: "badge tag" }, `${k}=${v}`)) : "—"),
    ),
  );
}

function runCell(v, runs) {
  if (!v.run_id) return h("span", { class: "mono small" }, v.source);
  return h("a", { href: runUrl(v.run_id), class: "run-link", title: v.source }, runs.get(v.run_id) || v.run_id.slice(0, 8));
}

function versionsTable(root, name, versions, runs, chosen, counts) {
  const redraw = () => draw(root, name);
  const rows = versions.map((v) =>
    h(
      "tr",
      { dataset: { version: v.version }, class: chosen && v.version === chosen.version ? "chosen" : "" },
      h("td", {}, h("a", { href: modelUrl(name, v.version), class: "strong" }, `v${v.version}`), " ", countBadge(counts[`${name}/${v.version}`], modelUrl(name, v.version))),
      h("td", {}, stageBadge(v.current_stage)),
      h(
        "td",
        { class: "aliases" },
        (v.aliases || []).map((a) =>
          h(
            "span",
            { class: "badge alias removable" },
            `@${a}`,
            h("button", { class: "chip-x", title: `Delete the alias @${a}`, "aria-label": `Delete alias ${a}`, onclick: () => deleteAlias(name, a, redraw) }, "×"),
          ),
        ),
      ),
      h("td", {}, runCell(v, runs)),
      h("td", { title: fmtTime(v.creation_timestamp) }, fmtAgo(v.creation_timestamp)),
      h("td", { class: "description" }, v.description || h("span", { class: "muted" }, "—")),
      h(
        "td",
        { class: "row-actions" },
        h("button", { class: "btn small", title: `Point an alias at v${v.version}`, onclick: () => setAlias(name, v, redraw) }, "Set alias"),
        h("button", { class: "btn small", title: `Move v${v.version} to another stage`, onclick: () => changeStage(name, v, redraw) }, "Stage…"),
      ),
    ),
  );
  return h(
    "table",
    { class: "table", id: "versions" },
    h("thead", {}, h("tr", {}, ["Version", "Stage", "Aliases", "Source run", "Created", "Description", ""].map((t) => h("th", {}, t)))),
    h("tbody", {}, rows),
  );
}

function versionFacts(v, runs) {
  return h(
    "dl",
    { class: "kv-list" },
    h("dt", {}, "Source"),
    h("dd", {}, h("code", { class: "mono small" }, v.source)),
    h("dt", {}, "Source run"),
    h("dd", {}, v.run_id ? h("a", { href: runUrl(v.run_id) }, runs.get(v.run_id) || v.run_id) : "—"),
    h("dt", {}, "Registered"),
    h("dd", {}, `${fmtTime(v.creation_timestamp)}${v.user_id ? ` by ${v.user_id}` : ""}`),
    h("dt", {}, "Status"),
    h("dd", {}, v.status),
    h("dt", {}, "Load with"),
    h("dd", {}, h("code", { class: "mono small" }, `models:/${v.name}/${v.version}`)),
  );
}

async function fillData(box, name, v) {
  try {
    const { versions } = await api(`/api/v1/registered-models/${enc(name)}/versions/${v.version}/datasets`);
    clear(box).append(
      versions.length
        ? h(
            "table",
            { class: "table", id: "version-datasets" },
            h("thead", {}, h("tr", {}, ["Dataset", "Version", "Size", "Files"].map((t) => h("th", {}, t)))),
            h(
              "tbody",
              {},
              versions.map((d) =>
                h(
                  "tr",
                  {},
                  h("td", {}, h("a", { href: datasetUrl(d.name), class: "strong" }, d.name)),
                  h("td", {}, h("a", { href: datasetUrl(d.name, d.version_id), class: "mono small", title: `${d.algorithm}:${d.digest}` }, d.digest.slice(0, 12))),
                  h("td", { class: "num" }, fmtBytes(d.size)),
                  h("td", { class: "num" }, d.file_count),
                ),
              ),
            ),
          )
        : empty(v.run_id ? "The source run read no recorded data: flowtrack.log_input(path) in the run records it." : "This version has no source run."),
    );
  } catch (err) {
    clear(box).append(errorBox(err));
  }
}

function historyTable(events) {
  if (!events.length) return empty("No changes recorded.");
  return h(
    "table",
    { class: "table compact", id: "history" },
    h("thead", {}, h("tr", {}, ["When", "User", "Action", "Version", "Detail"].map((t) => h("th", {}, t)))),
    h(
      "tbody",
      {},
      [...events].reverse().map((e) =>
        h(
          "tr",
          {},
          h("td", { class: "nowrap", title: fmtAgo(e.timestamp) }, fmtTime(e.timestamp)),
          h("td", {}, e.user || h("span", { class: "muted" }, "—")),
          h("td", {}, h("span", { class: "badge action" }, e.action)),
          h("td", {}, e.version ? `v${e.version}` : ""),
          h("td", { class: "mono small" }, detailText(e.detail)),
        ),
      ),
    ),
  );
}

function detailText(detail) {
  return Object.entries(detail || {})
    .map(([k, v]) => `${k}: ${v === null ? "none" : typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" · ");
}

async function setAlias(name, v, redraw) {
  const done = await ask({
    title: `Set an alias on ${name} v${v.version}`,
    text: "An alias names one version (models:/name@alias); setting one that exists moves it here.",
    label: "Alias",
    ok: "Set alias",
    submit: (alias) => api(`/api/v1/registered-models/${enc(name)}/aliases/${enc(alias)}`, { method: "PUT", body: { version: v.version } }),
  });
  if (done) await redraw();
}

async function deleteAlias(name, alias, redraw) {
  const done = await ask({
    title: `Delete the alias @${alias}?`,
    text: `models:/${name}@${alias} will no longer resolve.`,
    ok: "Delete alias",
    danger: true,
    submit: () => api(`/api/v1/registered-models/${enc(name)}/aliases/${enc(alias)}`, { method: "DELETE" }),
  });
  if (done) await redraw();
}

async function changeStage(name, v, redraw) {
  const select = h("select", { "aria-label": "Stage" }, STAGES.map((st) => h("option", { value: st, selected: st === v.current_stage }, st)));
  const archive = h("input", { type: "checkbox" });
  const done = await ask({
    title: `Move ${name} v${v.version} to a stage`,
    fields: h(
      "div",
      { class: "fields" },
      h("label", {}, "Stage", select),
      h("label", { class: "check" }, archive, "Archive the other versions in that stage"),
    ),
    read: () => ({ stage: select.value, archive: archive.checked }),
    ok: "Change stage",
    submit: ({ stage, archive: archiveExisting }) =>
      api(`/api/v1/registered-models/${enc(name)}/versions/${v.version}/stage`, {
        method: "POST",
        body: { stage, archive_existing_versions: archiveExisting },
      }),
  });
  if (done) await redraw();
}
