// The Discussion card of the run, dataset version and model version pages: comments (markdown,
// rendered by markdown.js), replies in threads, a box to write one with a preview, and edit and
// delete for the comments the server marks `editable` (yours; every comment for an admin or
// without --auth). Also the comment-count badges other tables show.
import { api, fmtAgo, fmtTime } from "./api.js";
import { ask, clear, h } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { errorBox } from "./views.js";

const PAGE = 1000;

// Every comment of a target (all pages).
async function load(path) {
  const out = [];
  let token = null;
  do {
    const page = await api(path, { query: { max_results: PAGE, page_token: token } });
    out.push(...page.comments);
    token = page.next_page_token;
  } while (token);
  return out;
}

// A card for the comments at `path` (e.g. /api/v1/runs/<id>/comments). `cli` is the command
// that comments from a terminal, for the empty state; `onCount` hears the number of comments.
export function discussionCard({ path, cli, title = "Discussion", onCount }) {
  const count = h("span", { class: "badge count", hidden: true });
  const list = h("div", { class: "comments", "aria-live": "polite" }, h("p", { class: "muted" }, "Loading…"));
  const section = h("section", { class: "card discussion" }, h("div", { class: "card-head" }, h("h2", {}, title), count), list);
  const refresh = async () => {
    try {
      const comments = await load(path);
      const live = comments.filter((c) => !c.deleted).length;
      count.hidden = !live;
      count.textContent = `${live} comment${live === 1 ? "" : "s"}`;
      if (onCount) onCount(live);
      clear(list).append(thread(comments, path, refresh, cli));
    } catch (err) {
      clear(list).append(errorBox(err));
    }
  };
  section.append(composer({ label: "Leave a comment", ok: "Comment", submit: (body) => api(path, { method: "POST", body: { body } }), done: refresh }));
  refresh();
  return section;
}

function thread(comments, path, refresh, cli) {
  if (!comments.length) {
    return h(
      "div",
      { class: "empty comments-empty" },
      h("p", {}, "No comments yet"),
      h("p", { class: "muted small" }, "Start the discussion below", cli ? [" or from a terminal: ", h("code", {}, cli)] : null, "."),
    );
  }
  const replies = new Map();
  for (const c of comments) if (c.reply_to) replies.set(c.reply_to, [...(replies.get(c.reply_to) || []), c]);
  const roots = comments.filter((c) => !c.reply_to || !comments.some((p) => p.comment_id === c.reply_to));
  return h(
    "ol",
    { class: "comment-list" },
    roots.map((root) => {
      const answers = replies.get(root.comment_id) || [];
      const replyBox = h("div", { class: "reply-box" });
      const openReply = () => {
        if (replyBox.firstChild) return replyBox.querySelector("textarea").focus();
        replyBox.append(
          composer({
            label: "Reply",
            ok: "Reply",
            autofocus: true,
            submit: (body) => api(path, { method: "POST", body: { body, reply_to: root.comment_id } }),
            done: refresh,
            cancel: () => clear(replyBox),
          }),
        );
      };
      return h(
        "li",
        { class: "thread" },
        commentView(root, refresh, root.deleted ? null : openReply),
        answers.length ? h("ol", { class: "replies" }, answers.map((c) => h("li", {}, commentView(c, refresh, openReply)))) : null,
        replyBox,
      );
    }),
  );
}

function initials(name) {
  return (name || "?").trim().slice(0, 1).toUpperCase() || "?";
}

function commentView(c, refresh, onReply) {
  const author = c.author || "anonymous";
  if (c.deleted) {
    return h("article", { class: "comment deleted", dataset: { commentId: c.comment_id } }, h("p", { class: "muted" }, "This comment was deleted."));
  }
  const body = h("div", { class: "comment-body" }, renderMarkdown(c.body));
  const edited = c.updated_time > c.created_time;
  const article = h(
    "article",
    { class: "comment", id: `comment-${c.comment_id}`, dataset: { commentId: c.comment_id } },
    h("span", { class: "avatar", "aria-hidden": "true" }, initials(author)),
    h(
      "div",
      { class: "comment-main" },
      h(
        "header",
        { class: "comment-head" },
        h("strong", { class: "comment-author" }, author),
        h("a", { class: "comment-time muted", href: `#comment-${c.comment_id}` }, h("time", { datetime: new Date(c.created_time).toISOString(), title: fmtTime(c.created_time) }, fmtAgo(c.created_time))),
        edited ? h("span", { class: "comment-edited muted small", title: `edited ${fmtTime(c.updated_time)}` }, "edited") : null,
        h(
          "span",
          { class: "comment-actions" },
          onReply ? h("button", { class: "btn link", type: "button", onclick: onReply }, "Reply") : null,
          c.editable ? h("button", { class: "btn link", type: "button", onclick: () => edit(c, body, refresh) }, "Edit") : null,
          c.editable ? h("button", { class: "btn link danger", type: "button", onclick: () => remove(c, refresh) }, "Delete") : null,
        ),
      ),
      body,
    ),
  );
  return article;
}

function edit(c, body, refresh) {
  const original = Array.from(body.childNodes);
  clear(body).append(
    composer({
      label: "Edit comment",
      ok: "Save",
      value: c.body,
      autofocus: true,
      submit: (text) => api(`/api/v1/comments/${c.comment_id}`, { method: "PATCH", body: { body: text } }),
      done: refresh,
      cancel: () => clear(body).append(...original),
    }),
  );
}

async function remove(c, refresh) {
  const done = await ask({
    title: "Delete this comment?",
    text: "It is removed for everyone; replies to it stay.",
    ok: "Delete",
    danger: true,
    submit: () => api(`/api/v1/comments/${c.comment_id}`, { method: "DELETE" }),
  });
  if (done) await refresh();
}

// A markdown box with Write and Preview tabs. `submit(text)` posts it; `done()` redraws.
function composer({ label, ok, value = "", autofocus = false, submit, done, cancel }) {
  const textarea = h("textarea", {
    class: "comment-input",
    rows: 4,
    "aria-label": label,
    placeholder: "Markdown: **bold**, *italic*, `code`, [a link](https://…), - lists, > quotes",
  });
  textarea.value = value;
  const preview = h("div", { class: "comment-preview", hidden: true });
  const error = h("div", { class: "form-error", role: "alert" });
  const send = h("button", { class: "btn primary", type: "submit", disabled: !value.trim() }, ok);
  const tab = (name, showPreview) =>
    h(
      "button",
      {
        type: "button",
        role: "tab",
        class: showPreview ? "tab" : "tab active",
        "aria-selected": showPreview ? "false" : "true",
        onclick: (event) => {
          for (const t of event.target.parentElement.children) {
            t.classList.toggle("active", t === event.target);
            t.setAttribute("aria-selected", t === event.target ? "true" : "false");
          }
          textarea.hidden = showPreview;
          preview.hidden = !showPreview;
          if (showPreview) clear(preview).append(textarea.value.trim() ? renderMarkdown(textarea.value) : h("p", { class: "muted" }, "Nothing to preview."));
          else textarea.focus();
        },
      },
      name,
    );
  const form = h(
    "form",
    { class: "composer" },
    h("div", { class: "tabs", role: "tablist" }, tab("Write", false), tab("Preview", true)),
    textarea,
    preview,
    error,
    h(
      "div",
      { class: "composer-foot" },
      h("span", { class: "muted small" }, "Markdown is supported; HTML is shown as text."),
      h("span", { class: "spacer" }),
      cancel ? h("button", { class: "btn", type: "button", onclick: cancel }, "Cancel") : null,
      send,
    ),
  );
  textarea.addEventListener("input", () => {
    send.disabled = !textarea.value.trim();
  });
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!textarea.value.trim()) return;
    send.disabled = true;
    error.textContent = "";
    try {
      await submit(textarea.value);
      textarea.value = "";
      form.querySelector(".tab").click(); // back to Write
      await done();
    } catch (err) {
      error.textContent = err.message;
      send.disabled = false;
    }
  });
  if (autofocus) setTimeout(() => textarea.focus(), 0);
  return form;
}

// target id -> number of comments, for badges in tables; {} when the call fails (a badge is
// a nicety, never a reason for a page to fail).
export async function commentCounts(kind, ids) {
  const wanted = [...new Set(ids.filter(Boolean).map(String))];
  if (!wanted.length) return {};
  try {
    const { counts } = await api("/api/v1/comments/counts", { method: "POST", body: { target_kind: kind, target_ids: wanted } });
    return counts;
  } catch (_) {
    return {};
  }
}

// A speech bubble, drawn here rather than an emoji (a machine without an emoji font would show
// a box).
function bubble() {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "bubble");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", "M3 2.5h10a1.5 1.5 0 0 1 1.5 1.5v6A1.5 1.5 0 0 1 13 11.5H7.5L4.5 14v-2.5H3A1.5 1.5 0 0 1 1.5 10V4A1.5 1.5 0 0 1 3 2.5z");
  svg.append(path);
  return svg;
}

export function countBadge(n, href) {
  if (!n) return null;
  const label = `${n} comment${n === 1 ? "" : "s"}`;
  return h(href ? "a" : "span", { class: "badge comments-badge", href, title: label, "aria-label": label }, bubble(), String(n));
}
