// The artifacts browser of the run page: a lazily expanded file tree and a preview pane.
// Previews never run an artifact's code in this page: text goes in as text, images as <img>
// (an SVG in <img> runs no script), HTML in an iframe sandboxed without scripts (its own
// opaque origin), everything else is a download link.
import { api, enc, fmtBytes } from "./api.js";
import { clear, empty, h } from "./dom.js";
import { errorBox } from "./views.js";

const PREVIEW_LIMIT = 2 * 1024 * 1024;
const CSV_ROWS = 500;
const KINDS = {
  image: ["png", "jpg", "jpeg", "gif", "webp", "svg", "bmp"],
  json: ["json"],
  csv: ["csv", "tsv"],
  html: ["html", "htm"],
  text: ["txt", "log", "md", "yaml", "yml", "py", "toml", "cfg", "ini", "sh", "xml", "sql", "r", "ipynb"],
};
const NAMED_TEXT = ["MLmodel", "MANIFEST", "requirements.txt", "Dockerfile", "LICENSE"];

export function kindOf(path) {
  const name = path.split("/").pop();
  if (NAMED_TEXT.includes(name)) return "text";
  const ext = name.includes(".") ? name.split(".").pop().toLowerCase() : "";
  for (const [kind, exts] of Object.entries(KINDS)) if (exts.includes(ext)) return kind;
  return null;
}

const fileUrl = (runId, path) => `/api/v1/runs/${enc(runId)}/artifacts/${path.split("/").map(enc).join("/")}`;

export function artifactsBrowser(runId) {
  const tree = h("ul", { class: "file-tree", id: "artifact-tree" });
  const preview = h("div", { class: "preview", id: "artifact-preview" }, h("p", { class: "muted" }, "Select a file to preview it."));
  const root = h("div", { class: "artifacts" }, h("div", { class: "tree-pane" }, tree), preview);
  listInto(runId, "", tree, preview, true);
  return root;
}

async function listInto(runId, path, ul, preview, top = false) {
  let files;
  try {
    ({ files } = await api(`/api/v1/runs/${enc(runId)}/artifacts`, { query: { path } }));
  } catch (err) {
    ul.append(h("li", {}, errorBox(err)));
    return;
  }
  if (!files.length && top) {
    ul.closest(".artifacts").replaceWith(empty("No artifacts: flowtrack.log_artifact(path) or log_text / log_dict add files."));
    return;
  }
  files.sort((a, b) => Number(b.is_dir) - Number(a.is_dir) || a.path.localeCompare(b.path));
  for (const f of files) {
    const name = f.path.split("/").pop();
    if (f.is_dir) {
      const sub = h("ul", { class: "file-tree", hidden: true });
      let loaded = false;
      const button = h("button", { class: "tree-item dir", "aria-expanded": "false", dataset: { path: f.path }, onclick: async () => {
        const open = sub.hidden;
        sub.hidden = !open;
        button.setAttribute("aria-expanded", String(open));
        button.firstChild.textContent = open ? "▾" : "▸";
        if (open && !loaded) {
          loaded = true;
          await listInto(runId, f.path, sub, preview);
        }
      } }, h("span", { class: "icon" }, "▸"), name);
      ul.append(h("li", {}, button, sub));
    } else {
      const button = h("button", { class: "tree-item file", dataset: { path: f.path }, onclick: () => {
        for (const b of document.querySelectorAll(".tree-item.selected")) b.classList.remove("selected");
        button.classList.add("selected");
        show(runId, f, preview);
      } }, h("span", { class: "icon file-icon" }), name, h("span", { class: "muted small size" }, fmtBytes(f.file_size)));
      ul.append(h("li", {}, button));
    }
  }
}

async function show(runId, file, preview) {
  const url = fileUrl(runId, file.path);
  const kind = kindOf(file.path);
  clear(preview).append(
    h("div", { class: "preview-head" }, h("strong", { class: "mono" }, file.path), h("span", { class: "muted small" }, fmtBytes(file.file_size)), h("a", { class: "btn small", href: url, download: file.path.split("/").pop() }, "Download")),
  );
  const body = h("div", { class: "preview-body", dataset: { kind: kind || "none" } });
  preview.append(body);
  if (!kind) {
    body.append(empty("No preview for this type of file; download it."));
    return;
  }
  if (kind === "image") {
    body.append(h("img", { src: url, alt: file.path, class: "preview-image" }));
    return;
  }
  if ((file.file_size ?? 0) > PREVIEW_LIMIT) {
    body.append(empty(`Too large to preview (${fmtBytes(file.file_size)}); download it.`));
    return;
  }
  try {
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
    const text = await response.text();
    body.append(render(kind, text, file.path));
  } catch (err) {
    body.append(errorBox(err));
  }
}

function render(kind, text, path) {
  if (kind === "json") {
    try {
      return h("pre", { class: "code-block" }, JSON.stringify(JSON.parse(text), null, 2));
    } catch (_) {
      return h("pre", { class: "code-block" }, text);
    }
  }
  if (kind === "csv") return csvTable(text, path.toLowerCase().endsWith(".tsv") ? "\t" : ",");
  if (kind === "html") {
    // sandbox="" : no scripts, no forms, no same-origin access; the document is shown only.
    return h("iframe", { class: "preview-html", sandbox: "", srcdoc: text, title: path, referrerpolicy: "no-referrer" });
  }
  return h("pre", { class: "code-block" }, text);
}

export function parseCsv(text, sep = ",") {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === "") quoted = true;
    else if (c === sep) {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      if (rows.length > CSV_ROWS) break;
    } else field += c;
  }
  if (field !== "" || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

function csvTable(text, sep) {
  const rows = parseCsv(text, sep);
  if (!rows.length) return empty("Empty file.");
  const [head, ...rest] = rows;
  const shown = rest.slice(0, CSV_ROWS);
  return h(
    "div",
    { class: "csv" },
    h(
      "table",
      { class: "table compact" },
      h("thead", {}, h("tr", {}, head.map((c) => h("th", {}, c)))),
      h("tbody", {}, shown.map((r) => h("tr", {}, r.map((c) => h("td", { class: /^-?[\d.eE+-]+$/.test(c) ? "num" : "" }, c))))),
    ),
    rest.length > CSV_ROWS ? h("p", { class: "muted small" }, `First ${CSV_ROWS} rows shown.`) : null,
  );
}
