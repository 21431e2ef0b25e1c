// Building the page. Everything shown comes from user data (run names, params, tags), so it is
// only ever put in as text nodes or attribute values: never innerHTML.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "style" && typeof value === "object") Object.assign(el.style, value);
    else if (key === "href") el.setAttribute("href", safeHref(value));
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// Links built from user data (a URL tag) must not run script: only http(s), our own paths and
// fragments of this page (the run page's section bar).
export function safeHref(value) {
  const text = String(value);
  if (text.startsWith("/") && !text.startsWith("//")) return text;
  if (text.startsWith("#")) return text;
  try {
    const url = new URL(text);
    if (url.protocol === "http:" || url.protocol === "https:") return url.href;
  } catch (_) {
    /* not a URL */
  }
  return "#";
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function main() {
  return clear(document.getElementById("main"));
}

export function card(title, ...children) {
  return h("section", { class: "card" }, title ? h("h2", {}, title) : null, ...children);
}

export function empty(message, ...more) {
  return h("div", { class: "empty" }, h("p", {}, message), ...more);
}

export function code(text) {
  return h("code", { class: "code" }, text);
}

export function statusBadge(status) {
  return h("span", { class: `badge status-${String(status).toLowerCase()}` }, status);
}

export function crumbs(...items) {
  const nav = h("nav", { class: "crumbs" });
  items.filter(Boolean).forEach((item, i) => {
    if (i) nav.append(h("span", { class: "sep" }, "›"));
    nav.append(item);
  });
  return nav;
}

// A modal asking for one value (or just OK/Cancel without a label). Resolves to the value
// (trimmed), true for a plain confirm, or null when cancelled. `submit` may throw to keep the
// dialog open with the error shown. Other controls go in `fields`, and `read()` then gives
// the value.
export function ask({ title, label, value = "", ok = "OK", danger = false, text, fields, read, submit }) {
  return new Promise((resolve) => {
    const input = label ? h("input", { type: "text", value, "aria-label": label }) : null;
    const error = h("p", { class: "form-error", role: "alert" });
    const dialog = h(
      "dialog",
      { class: "dialog" },
      h(
        "form",
        { method: "dialog" },
        h("h3", {}, title),
        text ? h("p", {}, text) : null,
        input ? h("label", {}, label, input) : null,
        fields || null,
        error,
        h(
          "div",
          { class: "actions" },
          h("button", { type: "button", class: "btn", value: "cancel", onclick: () => close(null) }, "Cancel"),
          h("button", { type: "submit", class: danger ? "btn danger" : "btn primary", value: "ok" }, ok),
        ),
      ),
    );
    const close = (result) => {
      dialog.close();
      dialog.remove();
      resolve(result);
    };
    dialog.querySelector("form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const result = read ? read() : input ? input.value.trim() : true;
      try {
        if (submit) await submit(result);
        close(result);
      } catch (err) {
        error.textContent = err.message;
      }
    });
    dialog.addEventListener("cancel", () => resolve(null));
    document.body.append(dialog);
    dialog.showModal();
    if (input) input.select();
  });
}
