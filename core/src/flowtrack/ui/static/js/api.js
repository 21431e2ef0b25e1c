// The JSON API, and how its values are shown.

export class ApiError extends Error {
  constructor(status, body, fallback) {
    super((body && body.message) || fallback);
    this.status = status;
    this.body = body || {};
  }
}

export async function api(path, { method = "GET", body, query } = {}) {
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === null || v === undefined) continue;
      for (const item of Array.isArray(v) ? v : [v]) params.append(k, item);
    }
    const text = params.toString();
    if (text) url += (url.includes("?") ? "&" : "?") + text;
  }
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    throw new ApiError(0, null, `the server did not answer (${err.message}); is it running?`);
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch (_) {
    payload = null;
  }
  if (!response.ok) throw new ApiError(response.status, payload, `${response.status} ${response.statusText}`);
  return payload;
}

export const enc = encodeURIComponent;
export const runUrl = (id) => `/runs/${enc(id)}`;
export const experimentUrl = (id) => `/experiments/${enc(id)}`;
export const compareUrl = (ids) => `/compare?runs=${ids.map(enc).join(",")}`;
export const modelUrl = (name, version) => `/models/${enc(name)}${version ? `?version=${enc(version)}` : ""}`;
export const datasetUrl = (name, versionId) => `/data/${enc(name)}${versionId ? `?version=${enc(versionId)}` : ""}`;

export function fmtTime(ms) {
  if (!ms) return "";
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fmtAgo(ms, now = Date.now()) {
  if (!ms) return "never";
  const s = Math.round((now - ms) / 1000);
  if (s < 45) return "just now";
  const units = [
    [60, "minute"],
    [3600, "hour"],
    [86400, "day"],
    [86400 * 30, "month"],
    [86400 * 365, "year"],
  ];
  let [size, name] = units[0];
  for (const u of units) if (s >= u[0]) [size, name] = u;
  const n = Math.max(1, Math.round(s / size));
  return `${n} ${name}${n === 1 ? "" : "s"} ago`;
}

export function fmtDuration(run) {
  const { start_time: start, end_time: end, status } = run.info;
  if (!start) return "";
  const stop = end || (status === "RUNNING" ? Date.now() : null);
  if (!stop) return "";
  return fmtMs(stop - start);
}

// A duration in ms: "350 ms", "4.2 s", "3 min 20 s", "2 h 5 min".
export function fmtMs(ms) {
  if (ms === null || ms === undefined) return "";
  let s = Math.max(0, ms / 1000);
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s.toFixed(1)} s`;
  const parts = [];
  for (const [size, unit] of [[86400, "d"], [3600, "h"], [60, "min"]]) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)} ${unit}`);
      s %= size;
    }
  }
  if (parts.length < 2) parts.push(`${Math.round(s)} s`);
  return parts.slice(0, 2).join(" ");
}

export function durationMs(run) {
  const { start_time: start, end_time: end, status } = run.info;
  if (!start) return null;
  const stop = end || (status === "RUNNING" ? Date.now() : null);
  return stop ? stop - start : null;
}

export function fmtNum(value) {
  if (value === null || value === undefined || value === "") return "";
  if (typeof value === "string") return value; // "NaN", "Infinity"
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(3);
  return String(Number(value.toPrecision(5)));
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i ? v.toFixed(1) : v} ${units[i]}`;
}

export function num(value) {
  if (typeof value === "number") return value;
  if (value === "NaN") return NaN;
  if (value === "Infinity") return Infinity;
  if (value === "-Infinity") return -Infinity;
  return null;
}
