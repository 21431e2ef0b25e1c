// Page 6, the registry: every registered model with its latest version, aliases, last update
// and description.
import { api, fmtAgo, fmtTime, modelUrl } from "../api.js";
import { card, h } from "../dom.js";
import { stageBadge } from "../views.js";

const LIMIT = 1000;

export async function render(root) {
  document.title = "Models · flowtrack";
  const { registered_models: models, next_page_token: more } = await api("/api/v1/registered-models", {
    query: { max_results: LIMIT, order_by: "last_updated_timestamp DESC" },
  });
  root.append(h("div", { class: "page-head" }, h("h1", {}, "Models")));
  if (!models.length) {
    root.append(card(null, registerHint()));
    return;
  }
  const rows = models.map((m) => {
    const latest = m.latest_versions.reduce((a, b) => (b.version > (a ? a.version : 0) ? b : a), null);
    const aliases = Object.entries(m.aliases || {}).sort(([a], [b]) => a.localeCompare(b));
    return h(
      "tr",
      { dataset: { model: m.name } },
      h("td", {}, h("a", { href: modelUrl(m.name), class: "strong" }, m.name)),
      h("td", {}, latest ? h("span", {}, h("a", { href: modelUrl(m.name, latest.version) }, `v${latest.version}`), " ", stageBadge(latest.current_stage)) : h("span", { class: "muted" }, "no versions")),
      h("td", {}, aliases.length ? aliases.map(([a, v]) => h("span", { class: "badge alias", title: `${m.name}@${a} is version ${v}` }, `@${a} → v${v}`)) : h("span", { class: "muted" }, "—")),
      h("td", { title: fmtTime(m.last_updated_timestamp) }, fmtAgo(m.last_updated_timestamp)),
      h("td", { class: "description" }, m.description || h("span", { class: "muted" }, "—")),
    );
  });
  root.append(
    card(
      null,
      h(
        "table",
        { class: "table", id: "models" },
        h("thead", {}, h("tr", {}, ["Name", "Latest version", "Aliases", "Last updated", "Description"].map((t) => h("th", {}, t)))),
        h("tbody", {}, rows),
      ),
      more ? h("p", { class: "muted" }, `Showing the ${LIMIT.toLocaleString()} most recently updated models.`) : null,
    ),
  );
}

export function registerHint() {
  return h(
    "div",
    { class: "hint" },
    h("p", {}, "No registered models yet. Register a model a run logged with ", h("code", {}, "flowtrack.register_model()"), ":"),
    h(
      "pre",
      { class: "snippet" },
      'import flowtrack\n\nwith flowtrack.start_run() as run:\n    flowtrack.models.log_model(model, "model")\nflowtrack.register_model(f"runs:/{run.info.run_id}/model", "my-model")',
    ),
  );
}
