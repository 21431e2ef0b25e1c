// A small markdown renderer for comments, straight to DOM nodes: it never builds HTML from
// text, so raw HTML in a comment (`<img src=x onerror=...>`, `<script>`) shows as the characters
// typed. What it knows: paragraphs (a newline is a line break, as in GitHub comments), headings,
// **bold**, *italic*, ~~strike~~, `code`, fenced code blocks, > quotes, - and 1. lists, --- rules,
// [links](url) and bare http(s) URLs. Links go only to http(s) or to this server (relative);
// anything else (javascript:, data:, vbscript:) shows as plain text. Images are shown as links
// (a comment never makes the browser fetch from another site).
import { h } from "./dom.js";

// 1-2 code, 3-4 image, 5-6 link, 7 <autolink>, 8 bare URL, 9 **strong**, 10 __strong__,
// 11 ~~strike~~, 12 *em*, 13 _em_, 14 \escape
const INLINE =
  /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)|!\[([^\]]*)\]\(\s*([^)\s]*)(?:\s+"[^"]*")?\s*\)|\[((?:[^[\]]|\[[^\]]*\])*)\]\(\s*([^)\s]*)(?:\s+"[^"]*")?\s*\)|<(https?:\/\/[^\s<>]+)>|(https?:\/\/[^\s<>]*[^\s<>.,:;"')\]!?])|\*\*(?=\S)([\s\S]*?\S)\*\*|__(?=\S)([\s\S]*?\S)__(?!\w)|~~(?=\S)([\s\S]*?\S)~~|\*(?=[^\s*])([\s\S]*?[^\s*])\*(?!\*)|(?<!\w)_(?=[^\s_])([\s\S]*?[^\s_])_(?!\w)|\\([\\`*_{}[\]()#+\-.!~>|])/g;

// The address a link may go to, or null. Whitespace or control characters anywhere are refused
// (browsers drop them inside a scheme: "java\tscript:"); the rest is resolved as the browser
// would and kept only if it is http(s).
export function safeUrl(raw) {
  const text = String(raw ?? "");
  if (!text || /[\u0000-\u0020\u007f-\u009f]/.test(text)) return null;
  let url;
  try {
    url = new URL(text, location.href);
  } catch (_) {
    return null;
  }
  return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
}

function link(target, children, title) {
  const href = safeUrl(target);
  if (!href) return h("span", { class: "md-unsafe-link", title: "link removed: only http(s) and relative links are allowed" }, children);
  const external = new URL(href).origin !== location.origin;
  return h("a", { href, title, target: external ? "_blank" : null, rel: external ? "noopener noreferrer nofollow" : "noopener" }, children);
}

export function inline(text) {
  const out = [];
  let last = 0;
  INLINE.lastIndex = 0;
  const found = [...text.matchAll(INLINE)];
  for (const m of found) {
    if (m.index > last) out.push(text.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[1]) out.push(h("code", {}, m[2].replace(/^ (.*) $/, "$1")));
    else if (m[4] !== undefined && m[0].startsWith("!")) out.push(link(m[4], `image: ${m[3] || m[4]}`, "an image, shown as a link"));
    else if (m[6] !== undefined) out.push(link(m[6], inline(m[5])));
    else if (m[7]) out.push(link(m[7], m[7]));
    else if (m[8]) out.push(link(m[8], m[8]));
    else if (m[9] || m[10]) out.push(h("strong", {}, inline(m[9] || m[10])));
    else if (m[11]) out.push(h("del", {}, inline(m[11])));
    else if (m[12] || m[13]) out.push(h("em", {}, inline(m[12] || m[13])));
    else if (m[14]) out.push(m[14]);
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

// Text with its newlines as line breaks.
function lines(text) {
  return text.split("\n").flatMap((line, i) => (i ? [h("br"), ...inline(line)] : inline(line)));
}

const FENCE = /^ {0,3}(```+|~~~+)\s*([\w+-]*)\s*$/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const BULLET = /^ {0,3}([-*+])\s+(.*)$/;
const NUMBER = /^ {0,3}(\d{1,9})[.)]\s+(.*)$/;

function startsBlock(line) {
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || BULLET.test(line) || NUMBER.test(line);
}

function blocks(source, depth) {
  const src = source.replace(/\r\n?/g, "\n").split("\n");
  const out = [];
  let i = 0;
  while (i < src.length) {
    const line = src[i];
    if (!line.trim()) {
      i += 1;
      continue;
    }
    let m = FENCE.exec(line);
    if (m) {
      const body = [];
      i += 1;
      while (i < src.length && !src[i].trim().startsWith(m[1])) body.push(src[i++]);
      i += 1;
      out.push(h("pre", { class: "md-code" }, h("code", { dataset: m[2] ? { lang: m[2] } : null }, body.join("\n"))));
      continue;
    }
    if ((m = HEADING.exec(line))) {
      // Headings in a comment are section titles inside a card: h3 and smaller.
      out.push(h(`h${Math.min(6, m[1].length + 2)}`, {}, inline(m[2])));
      i += 1;
      continue;
    }
    if (RULE.test(line)) {
      out.push(h("hr"));
      i += 1;
      continue;
    }
    if (QUOTE.test(line)) {
      const quoted = [];
      while (i < src.length && (m = QUOTE.exec(src[i]))) {
        quoted.push(m[1]);
        i += 1;
      }
      // Nesting is bounded: a comment of 1,000 '>' must not exhaust the stack.
      out.push(h("blockquote", {}, depth < 8 ? blocks(quoted.join("\n"), depth + 1) : lines(quoted.join("\n"))));
      continue;
    }
    const ordered = NUMBER.test(line);
    if (ordered || BULLET.test(line)) {
      const pattern = ordered ? NUMBER : BULLET;
      const items = [];
      const start = ordered ? Number(NUMBER.exec(line)[1]) : null;
      while (i < src.length && src[i].trim()) {
        const item = pattern.exec(src[i]);
        if (item) items.push([item[2]]);
        else if (/^\s{2,}/.test(src[i]) || !startsBlock(src[i])) items[items.length - 1].push(src[i].trim());
        else break;
        i += 1;
      }
      out.push(
        h(
          ordered ? "ol" : "ul",
          { start: ordered && start !== 1 ? String(start) : null },
          items.map((parts) => h("li", {}, taskItem(parts.join("\n")))),
        ),
      );
      continue;
    }
    const para = [];
    while (i < src.length && src[i].trim() && (!para.length || !startsBlock(src[i]))) para.push(src[i++]);
    out.push(h("p", {}, lines(para.join("\n"))));
  }
  return out;
}

function taskItem(text) {
  const m = /^\[([ xX])\]\s+([\s\S]*)$/.exec(text);
  if (!m) return lines(text);
  return [h("input", { type: "checkbox", disabled: true, checked: m[1] !== " ", "aria-label": m[1] === " " ? "to do" : "done" }), " ", lines(m[2])];
}

// The rendered markdown, in a <div class="markdown">.
export function renderMarkdown(text) {
  return h("div", { class: "markdown" }, blocks(String(text ?? ""), 0));
}
