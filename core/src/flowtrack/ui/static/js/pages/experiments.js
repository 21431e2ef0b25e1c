// Page 1: the experiments, with run counts and last activity; create, rename, delete.
import { api, enc, experimentUrl, fmtAgo, fmtTime } from "../api.js";
import { ask, card, clear, h } from "../dom.js";
import { demoHint } from "../views.js";

export async function render(root) {
  const body = h("div", {});
  const createButton = h("button", { class: "btn primary", id: "new-experiment", onclick: () => create(body) }, "New experiment");
  root.append(h("div", { class: "page-head" }, h("h1", {}, "Experiments"), createButton), body);
  await load(body);
}

async function load(body) {
  const { experiments, truncated } = await api("/api/v1/ui/experiments");
  clear(body);
  const totalRuns = experiments.reduce((n, e) => n + e.runs, 0);
  if (totalRuns === 0) body.append(card(null, demoHint()));
  if (!experiments.length) return;
  experiments.sort((a, b) => b.last_activity - a.last_activity || a.name.localeCompare(b.name));
  const rows = experiments.map((e) =>
    h(
      "tr",
      { dataset: { experimentId: e.experiment_id } },
      h("td", {}, h("a", { href: experimentUrl(e.experiment_id), class: "strong" }, e.name)),
      h("td", { class: "num" }, e.runs.toLocaleString()),
      h("td", { title: fmtTime(e.last_activity) }, e.last_activity ? fmtAgo(e.last_activity) : h("span", { class: "muted" }, "no runs")),
      h("td", { class: "muted", title: fmtTime(e.creation_time) }, fmtTime(e.creation_time).slice(0, 10)),
      h("td", { class: "muted small" }, e.experiment_id),
      h(
        "td",
        { class: "row-actions" },
        h("button", { class: "btn small", title: `Rename ${e.name}`, onclick: () => rename(body, e) }, "Rename"),
        h("button", { class: "btn small danger-text", title: `Delete ${e.name}`, onclick: () => remove(body, e) }, "Delete"),
      ),
    ),
  );
  body.append(
    card(
      null,
      h(
        "table",
        { class: "table", id: "experiments" },
        h("thead", {}, h("tr", {}, ["Name", "Runs", "Last activity", "Created", "ID", ""].map((t, i) => h("th", { class: i === 1 ? "num" : "" }, t)))),
        h("tbody", {}, rows),
      ),
      truncated ? h("p", { class: "muted" }, "Showing the first 5,000 experiments.") : null,
    ),
  );
}

async function create(body) {
  await ask({
    title: "New experiment",
    label: "Name",
    ok: "Create",
    submit: async (name) => {
      const made = await api("/api/v1/experiments", { method: "POST", body: { name } });
      location.href = experimentUrl(made.experiment_id);
    },
  });
}

async function rename(body, e) {
  const done = await ask({
    title: `Rename experiment`,
    label: "New name",
    value: e.name,
    ok: "Rename",
    submit: (name) => api(`/api/v1/experiments/${enc(e.experiment_id)}`, { method: "PATCH", body: { name } }),
  });
  if (done) await load(body);
}

async function remove(body, e) {
  const done = await ask({
    title: `Delete experiment “${e.name}”?`,
    text: `Its ${e.runs.toLocaleString()} runs go with it. It stays restorable: POST /api/v1/experiments/${e.experiment_id}/restore.`,
    ok: "Delete",
    danger: true,
    submit: () => api(`/api/v1/experiments/${enc(e.experiment_id)}`, { method: "DELETE" }),
  });
  if (done) await load(body);
}
